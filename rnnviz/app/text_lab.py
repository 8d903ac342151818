"""The Text lab apart from the page that draws it: the models it reads (shipped, or trained by the shared
training service), the cached readings of their units, a press of Train and its live progress, the student's
own text, and the hand-off of a stretch of text to the Cell stepper.

A press of Train submits three :class:`rnnviz.engine.text.TextJob` (RNN, LSTM and GRU: the same text, the same
budget) to the server's training service as one job of kind "text" (:mod:`rnnviz.app.trainer`): it queues,
trains in a worker process, can be stopped, and an identical press (this session's or another's) replays at
once. A session keeps one :class:`TextLab` in its state with its last :class:`Press`; its end (done, stopped,
failed, lost) is written once, at the top of a script run (:meth:`TextLab.settle`) or by Stop, as in the
Training lab (:mod:`rnnviz.app.lab_state`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import streamlit as st

from rnnviz.app import handoff, lab_state, trainer, ui
from rnnviz.content import DATA
from rnnviz.engine import text as tx
from rnnviz.figures import text as tfig

SHIPPED = DATA / "text"
ANALYSIS_CHARS = 10_000  # characters the units are read on
LONG_RANGE_CHARS = 20_000
CORPORA = {
    "language": "Generated bracket language",
    "stdlib": "Python standard library",
    "prose": "Alice's Adventures in Wonderland",
    "own": "Your own text",
}
# A press's budget in updates per model. Three models of 32 units on the standard library (the largest
# vocabulary) at 5,000 updates cost 5.2e11 work units, under the shared server's cap of 6e11
# (rnnviz.app.admission.Policy); at 64 units a press is refused above about 2,400 updates (stdlib) to 3,600
# (the generated language), so 5,000 is refused there with the reason and 2,000 is not.
STEPS = (300, 1000, 2000, 5000)
HIDDEN = (8, 16, 32, 64)
KEY = "_text.lab"  # the session's TextLab
STEPPER = "pages/1_Cell_stepper.py"
LEAD = 40  # characters before a stretch sent to the stepper with it, to warm up its zero state
PAGE = "pages/6_Text_lab.py"
REPLAYED = {
    None: "",
    "yours": " Replayed: your earlier run of these settings, kept on the server.",
    "other": " Replayed: the same run another session started on this server (training is deterministic: "
    "these are the models your own press would have trained).",
}


# --------------------------------------------------------------------------------------------------
# The models the explorer reads


@st.cache_data(max_entries=12, show_spinner=False)
def shipped(corpus: str, cell: str) -> tuple[tx.TextModel, dict]:
    meta = json.loads((SHIPPED / f"{corpus}_{cell}.json").read_text())
    return tx.load_model(SHIPPED / f"{corpus}_{cell}.npz"), meta


def corpus_of(name: str, own: str | None) -> tx.Corpus:
    return tx.user_corpus(own)[0] if name == "own" else tx.builtin_corpus(name)


@dataclass(frozen=True, eq=False)
class Models:
    """The three models the explorer reads: ``key`` says which (hashable, for the caches), ``rows`` their
    summaries (``tx.summary``'s shape), ``config`` the training settings (window, batch, ...)."""

    key: tuple
    models: dict
    rows: list
    config: dict
    live: bool


def shipped_models(name: str) -> Models:
    loaded = {k: shipped(name, k) for k in tx.KINDS}
    rows = [meta for _, meta in loaded.values()]
    return Models(("shipped", name), {k: m for k, (m, _) in loaded.items()}, rows, rows[0]["config"], False)


def press_models(press: Press, corpus: tx.Corpus) -> Models:
    """The models of a finished press, each at its last evaluation point; one stopped before its first is
    the untrained model, evaluated at update 0 (no update it never had is claimed)."""
    snap = press.snapshot()
    models, rows = {}, []
    train_idx, held_idx = tx.split(corpus.encode())
    for job, history, plain in zip(press.jobs, snap.histories, snap.trained, strict=True):
        config = job.config
        if history and plain is not None:
            model, last = tx.model_of(plain), history[-1]
            bits, updates, seconds = (last.train_bits, last.held_out_bits), last.step, last.seconds
        else:
            model = tx.init_text_model(job.cell, corpus.vocab, job.hidden_size, job.seed)
            probes = (train_idx[: config.eval_chars], held_idx[: config.eval_chars])
            bits, updates, seconds = tuple(tx.bits_per_char(model.net, p) for p in probes), 0, 0.0
        models[job.cell] = model
        rows.append(
            {
                "cell": job.cell,
                "hidden_size": job.hidden_size,
                "updates": updates,
                "seconds": seconds,
                "params": model.net.num_params,
                "bits_per_char": {"train": bits[0], "held_out": bits[1]},
            }
        )
    key = ("live", press.jobs, snap.updates)
    return Models(key, models, rows, asdict(press.jobs[0].config), True)


@st.cache_data(max_entries=8, show_spinner="Reading every unit on the text...")
def read_units(name: str, own: str | None, cell: str, key: tuple, _models: Models) -> dict:
    """Every quantity of model ``cell`` over the text's first ANALYSIS_CHARS characters, the features, and
    the units ranked by correlation with each (``key`` names ``_models``, which is not hashed)."""
    corpus = corpus_of(name, own)
    idx = corpus.encode()[:ANALYSIS_CHARS]
    feats = {k: v[: len(idx)] for k, v in tx.corpus_features(corpus).items()}
    acts = {k: v.astype(np.float32) for k, v in tx.activations(_models.models[cell], idx).items()}
    return dict(
        text=corpus.text[: len(idx)],
        source=corpus.source,
        exact=corpus.exact,
        acts=acts,
        ranked=tx.rank_units(acts, feats, top=5),
        features=feats,
        unigram=tx.unigram_bits(corpus.encode(), len(corpus.vocab)),
    )


@st.cache_data(max_entries=8, show_spinner="Measuring how each model closes brackets and quotes...")
def long_range(name: str, own: str | None, key: tuple, _models: Models) -> dict:
    """For each model: the right closer's share of the closing probability (brackets) and the probability of
    the closing quote, by how many characters ago it was opened."""
    corpus = corpus_of(name, own)
    idx = corpus.encode()[:LONG_RANGE_CHARS]
    found = tx.closings(corpus.text[: len(idx)], prose=name == "prose")
    out = {"bracket": {}, "quote": {}}
    for kind, model in _models.models.items():
        share = tx.next_char_probability(model, idx, among=tx.CLOSERS)
        plain = tx.next_char_probability(model, idx)
        out["bracket"][kind] = tx.by_distance(share, *found["bracket"])
        out["quote"][kind] = tx.by_distance(plain, *found["quote"])
    return out


def first_quote(name: str, own: str | None) -> tuple[int, int] | None:
    """The inside of the text's first quoted stretch of at least 3 characters (a string, a line of dialogue):
    where the stretch selection starts when the student picks a text."""
    text = corpus_of(name, own).text[:ANALYSIS_CHARS]
    positions, distances = tx.closings(text, prose=name == "prose")["quote"]
    for end, distance in zip(positions, distances, strict=True):
        if distance > 3:
            return int(end - distance + 1), int(end)
    return None


def strength(r: float) -> str:
    a = abs(r)
    return "closely" if a >= 0.8 else "clearly" if a >= 0.5 else "loosely" if a >= 0.3 else "hardly"


def best_units_table(ranked: dict) -> list[dict]:
    """The best unit per feature, with its correlation, in words."""
    return [
        {
            "feature": f,
            "best unit": m[0].label(),
            "correlation r": round(m[0].r, 3),
            "in words": f"{m[0].label()} {strength(m[0].r)} follows {f}" + (" (inversely)" if m[0].r < 0 else ""),
        }
        for f, m in ranked.items()
    ]


def matches_words(features: dict, matches: list, exact: bool) -> str:
    """What the other stretches where the selected units are on have in common, against the whole text."""
    quote = np.concatenate([features["inside quote"][m.start : m.end] for m in matches]).mean()
    depth = np.concatenate([features["bracket depth"][m.start : m.end] for m in matches]).mean()
    all_quote, all_depth = features["inside quote"].mean(), features["bracket depth"].mean()
    return (
        f"In these matches **{quote:.0%}** of the characters are inside a quote ({all_quote:.0%} in the "
        f"whole text), and the mean bracket depth is **{depth:.1f}** ({all_depth:.1f} in the whole text)"
        + (": measured against the exact truth." if exact else " (by the scanner).")
    )


# --------------------------------------------------------------------------------------------------
# A press of Train, through the shared training service


def jobs_for(corpus: tx.Corpus, hidden: int, steps: int) -> tuple:
    """The three job specs of a press: same text, same budget, twenty evaluation points each."""
    every = max(steps // 20, 10)
    return tuple(tx.TextJob.of(corpus, tx.TextConfig(k, hidden, steps, eval_every=every)) for k in tx.KINDS)


@dataclass(eq=False)
class Press(lab_state.ServiceRun):
    """One press of Train: its jobs (one per cell), the service's handle, whether it replayed a run ("yours",
    "other" or None), and once over, how it ended and its last snapshot."""

    jobs: tuple
    handle: trainer.Handle
    replayed: str | None = None
    ended: str | None = None  # done, stopped, failed, lost
    final: trainer.Snapshot | None = None

    def snapshot(self) -> trainer.Snapshot:
        return self.final if self.final is not None else self.handle.snapshot()

    def reads(self, corpus: tx.Corpus) -> bool:
        """Whether this press trained on ``corpus`` (the student's text: the same text, by its digest)."""
        return self.jobs[0] == tx.TextJob.of(corpus, self.jobs[0].config)

    def _end(self, snap: trainer.Snapshot) -> None:
        self.final = snap
        if snap.status == "failed":
            self.ended = "lost" if snap.message == trainer.CLOSED else "failed"
        else:
            self.ended = snap.status


@dataclass(eq=False)
class TextLab:
    """A session's Text lab: its last press and the ids of the jobs it started (a later press that attaches
    to one of them replays the student's own run)."""

    press: Press | None = None
    mine: set = field(default_factory=set)

    @classmethod
    def of(cls, state) -> TextLab:
        return state.setdefault(KEY, cls())

    def settle(self, service=None) -> None:
        if self.press is not None:
            self.press.settle(service)

    def submit(self, jobs: tuple, submit) -> Press | None:
        """A press of Train: the same jobs as the live press go on; otherwise ``submit(jobs)`` (the service's,
        bound to the session; None when refused) and the live press of other settings stops."""
        old = self.press
        if old is not None and old.live and old.jobs == jobs:
            return old
        handle = submit(jobs)
        if handle is None:
            return None
        if old is not None and old.live:
            old.stop()
        self.press = Press(jobs, handle, lab_state.replayed_by(handle, self.mine))
        return self.press

    def stop(self) -> None:
        if self.press is not None:
            self.press.stop()


def submitter(service: trainer.TrainingService):
    """The service's submit for this session (kind "text"): a refusal or a bad input is said on the page."""

    def submit(jobs: tuple):
        owner, alive = ui.session_owner(), ui.session_alive()
        return ui.submitted(
            service.submit, jobs, owner=owner, alive=alive, kind="text", bad="That text cannot be trained on"
        )

    return submit


def quote(service: trainer.TrainingService, jobs: tuple) -> str:
    """What a press would meet now (cost, start, or refusal), before it is pressed."""
    return lab_state.quote_text(*service.quote(jobs, ui.session_owner(), kind="text"))


def updates_words(updates) -> str:
    """'update 250' or 'updates 200 to 250': where the models of a stopped press stand."""
    low, high = min(updates), max(updates)
    return f"update {low}" if low == high else f"updates {low} to {high}"


def live_figure(snap: trainer.Snapshot, unigram: float | None):
    histories = {job.cell: list(h) for job, h in zip(snap.configs, snap.histories, strict=True)}
    return tfig.curves_figure(histories, unigram, budget=snap.configs[0].steps)


def watch(press: Press, unigram: float):
    """Placeholders for a live press (progress bar, curves, the latest samples) and the poll that fills them;
    the poll says True once the job finished."""
    bar, chart, samples = st.progress(0.0, text="Waiting for the training service..."), st.empty(), st.empty()
    seen = {"version": -1, "points": 0, "drawn": 0.0, "bar": None}

    def poll() -> bool:
        snap = press.handle.wait(seen["version"], timeout=0.25)
        _ = KEY in st.session_state  # Streamlit's yield point: a click ends this run here
        seen["version"] = snap.version
        if snap.finished:
            return True
        fraction, words = ui.training_progress(snap, press.replayed)
        if (fraction, words := words + lab_state.starts_text(snap)) != seen["bar"]:
            seen["bar"] = (fraction, words)
            bar.progress(fraction, text=words)
        points = sum(map(len, snap.histories))
        if points > seen["points"] and time.monotonic() - seen["drawn"] >= 0.5:
            seen["points"], seen["drawn"] = points, time.monotonic()
            figure = ui.shared_figure(("text.live", snap.configs, points), lambda: live_figure(snap, unigram))
            with chart.container():
                ui.show_figure(figure, key=f"text.live_{points}")
            samples.code(sample_lines(snap), language=None, wrap_lines=True)
        return False

    return poll


def sample_lines(snap: trainer.Snapshot) -> str:
    """Each model's latest sample (generated in the worker at temperature 0.7), one paragraph per model."""
    parts = []
    for job, history in zip(snap.configs, snap.histories, strict=True):
        if history:
            parts.append(f"{ui.KIND_LABELS[job.cell]} at update {history[-1].step}:\n{history[-1].sample}")
    return "\n\n".join(parts)


def train_here(lab: TextLab, service: trainer.TrainingService, corpus: tx.Corpus, hidden: int, steps: int) -> Models:
    """The page's Train and Stop, what a press would meet, the live progress of a press, and its curves and
    samples once it is over; returns its models. Until a press on this text has ended, it polls the live one
    (if any) and stops the script run there: the explorer needs models."""
    st.subheader("Train the three models on this text")
    jobs = jobs_for(corpus, hidden, steps)
    left, right = st.columns(2)
    pressed = left.button("▶ Train", type="primary", width="stretch", key="text.train")
    right.button("■ Stop", width="stretch", key="text.stop", on_click=lambda: TextLab.of(st.session_state).stop())
    notice = st.empty()
    if pressed:
        lab.submit(jobs, submitter(service))
    press = lab.press
    unigram = tx.unigram_bits(corpus.encode(), len(corpus.vocab))
    if press is None or not press.live:
        try:
            notice.caption(quote(service, jobs))
        except ValueError:
            pass  # a text the service refuses: the press says so
    watchers = []
    if press is not None and press.live:
        st.caption(
            f"RNN, LSTM and GRU train in turn in one of the server's training processes, {press.jobs[0].steps} "
            "updates each. Changing the settings now does not stop it." + REPLAYED[press.replayed]
        )
        watchers.append(watch(press, unigram))
    elif press is not None and press.ended == "failed":
        st.error(f"**Training failed:** {ui.literal(press.final.message)}", icon="⚠️")
    elif press is not None and press.ended == "lost":
        st.warning("**Your run was lost:** the server restarted while it trained. Press Train again.", icon="🔌")
    if press is None or press.ended not in ("done", "stopped") or not press.reads(corpus):
        if press is None or not press.live:
            st.info(
                "Press **Train**: the RNN, the LSTM and the GRU learn this text side by side, then the "
                "explorer below reads their units."
            )
        ui.poll_until_one_finishes(watchers)
        st.stop()
    snap = press.snapshot()
    if press.ended == "stopped":
        st.warning(
            f"Stopped at {updates_words(snap.updates)} of {press.jobs[0].steps}: each model is shown at the "
            "last evaluation point it reached (they train in turn)."
            + (" The run goes on for the other sessions watching it." if snap.detached else ""),
            icon="⏹️",
        )
    if press.replayed:
        st.caption(REPLAYED[press.replayed].strip())
    ui.show_figure(live_figure(snap, unigram), key="text.curves")
    with st.expander(f"Samples as they learned (generated at temperature {tx.SAMPLE_TEMPERATURE} at every point)"):
        kind = st.radio("Model", tx.KINDS, format_func=ui.KIND_LABELS.get, horizontal=True, key="text.sample_model")
        history = snap.histories[tx.KINDS.index(kind)]
        st.code("\n\n".join(f"update {p.step}: {p.sample}" for p in history), language=None, wrap_lines=True)
    return press_models(press, corpus)


# --------------------------------------------------------------------------------------------------
# The student's own text


OWN = "text.own_text"  # the student's checked text, kept for the session


def ask_own_text() -> str | None:
    """The paste box and the upload, with their checks said on the page; the session's text (or None)."""
    state = st.session_state
    st.markdown("#### Your text")
    st.caption(
        f"A plain-text file or pasted text: at least {tx.MIN_CHARS} characters; only the first "
        f"{tx.MAX_CHARS:,} are used; files up to {tx.MAX_UPLOAD_BYTES:,} bytes, UTF-8."
    )
    paste_col, upload_col = st.columns(2)
    with paste_col.form("text.paste_form"):
        pasted = st.text_area("Paste text", key="text.paste", height=150)
        if st.form_submit_button("Use this text"):
            checked = ui.guarded(tx.user_corpus, pasted)
            if checked is not None:
                state[OWN] = checked[0].text
    upload = upload_col.file_uploader("or upload a .txt file", type=["txt"], key="text.upload")
    if upload is not None and state.get("text.upload_id") != upload.file_id:
        raw = ui.guarded(tx.read_upload, upload.getvalue())
        checked = None if raw is None else ui.guarded(tx.user_corpus, raw)
        if checked is not None:
            state[OWN], state["text.upload_id"] = checked[0].text, upload.file_id
            for note in checked[1]:
                st.info(note)
        elif state.get(OWN):
            st.caption("The models below still read your previous text.")
    return state.get(OWN)


# --------------------------------------------------------------------------------------------------
# To the Cell stepper


def stepper_offer(model: tx.TextModel, corpus_title: str, text: str, start: int, end: int) -> handoff.Offer:
    """A stretch of text (at most ``handoff.MAX_STEPS`` characters) and the model, as the Cell stepper
    opens it: the one-hot input (T, V), a label per step (the character) and per input (the vocabulary)."""
    end = min(end, start + handoff.MAX_STEPS)
    net = model.net
    x = tx.one_hot(tx.encode(text[start:end], model.vocab), len(model.vocab), np.float64)  # (T, V)
    return handoff.Offer(
        kind=model.kind,
        state_dict={k: np.asarray(v, dtype=np.float64) for k, v in net.cell.state_dict().items()},
        x=x,
        title=f"the {ui.KIND_LABELS[model.kind]} trained on {corpus_title}, characters {start}..{end - 1}",
        source=PAGE,
        step_labels=tuple(tfig.shown_char(ch) for ch in text[start:end]),
        input_labels=tuple(tfig.shown_char(ch) for ch in model.vocab),
    )


def open_in_stepper(offer: handoff.Offer, unit: int) -> None:
    """Offer the stretch to the Cell stepper with ``unit`` on its diagram, and go there."""
    state = st.session_state
    handoff.offer(state, offer)
    state["stepper.unit"], state["stepper.detail_kind"] = unit, offer.kind  # the stepper's own settings
    st.switch_page(STEPPER)
