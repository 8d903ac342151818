"""Text lab: character-level RNN, LSTM and GRU on text, and the units that learn to track brackets and quotes.

Thin: the models, their cached readings, a press of Train through the shared training service and the hand-off
to the Cell stepper live in rnnviz.app.text_lab; the figures in rnnviz.figures.text.
"""

import numpy as np
import streamlit as st

from rnnviz.app import text_lab as tl
from rnnviz.app import ui
from rnnviz.engine import text as tx
from rnnviz.figures import text as tfig
from rnnviz.figures.theme import LABELS

ui.setup_page(
    "text",
    "Text lab",
    "🔤",
    "A character-level model reads text one character at a time and predicts the next. To do that well it must "
    "remember things: am I inside a quote, how many brackets are open, how far into the line am I? Here you "
    "look for the units that learned to track them, by their correlation with the true answer, and by "
    "picking a stretch of text and asking which units are on exactly there (as LSTMVis does).",
)

S = ui.Settings(
    "text",
    [
        ui.Setting("corpus", "language", options=tuple(tl.CORPORA)),
        ui.Setting("cell", "lstm", options=tx.KINDS),
        ui.Setting("source", "shipped", options=("shipped", "live")),
        ui.Setting("hidden", 16, options=tl.HIDDEN),
        ui.Setting("steps", 1000, options=tl.STEPS),
        ui.Setting("view", 0, low=0, high=tl.ANALYSIS_CHARS),
        ui.Setting("start", 20, low=0, high=tl.ANALYSIS_CHARS),
        ui.Setting("end", 32, low=1, high=tl.ANALYSIS_CHARS),
        ui.Setting("quantity", "output", options=("h", "c", *tx.GATE_NAMES["lstm"], *tx.GATE_NAMES["gru"])),
        ui.Setting("threshold", 0.5, low=-1.0, high=5.0),
        ui.Setting("off_around", False),
        ui.Setting("temperature", 0.7, low=0.1, high=2.0),
    ],
)
lab = tl.TextLab.of(st.session_state)


def to_quote() -> None:
    """A new text: select its first quoted stretch (the own text has none before it is given)."""
    if S["corpus"] != "own" and (stretch := tl.first_quote(S["corpus"], None)) is not None:
        S.update(dict(start=stretch[0], end=stretch[1], view=0))


service = ui.training_service()
lab.settle(service)

# ---- sidebar: text, model ------------------------------------------------------------------------------------
with st.sidebar:
    st.markdown("### Text")
    st.radio("Text to read", tuple(tl.CORPORA), format_func=tl.CORPORA.get, key=S.key("corpus"), on_change=to_quote)
    st.markdown("### Model")
    st.radio("Cell", tx.KINDS, format_func=ui.KIND_LABELS.get, key=S.key("cell"), horizontal=True)
    own_corpus = S["corpus"] == "own"
    if own_corpus:
        S["source"] = "live"  # no model ships for a text only you have
    st.radio(
        "Model",
        ("shipped", "live"),
        format_func={"shipped": "Shipped (trained by the project)", "live": "Train here, now"}.get,
        key=S.key("source"),
        disabled=own_corpus,
    )
    if S["source"] == "live":
        st.select_slider("Hidden units H", tl.HIDDEN, key=S.key("hidden"))
        st.select_slider(
            "Updates", tl.STEPS, key=S.key("steps"), help="Each of the three models; windows of 50 characters x 16"
        )

own = tl.ask_own_text() if own_corpus else None
if own_corpus and not own:
    st.info("Paste a text or upload a .txt file to train a model on it.")
    st.stop()
corpus = tl.corpus_of(S["corpus"], own)
name, kind = ui.KIND_LABELS[S["cell"]], S["cell"]
S.sync_url()

# ---- 0. training here, through the server's training service (rnnviz.app.text_lab.train_here) -------------
if S["source"] == "live":
    models = tl.train_here(lab, service, corpus, S["hidden"], S["steps"])  # stops the script until it has them
else:
    models = tl.shipped_models(S["corpus"])

data = ui.guarded(tl.read_units, S["corpus"], own, kind, models.key, models)
if data is None:
    st.stop()
model: tx.TextModel = models.models[kind]
text, acts, features = data["text"], data["acts"], data["features"]

# ---- 1. how well each model predicts ----------------------------------------------------------------------------
st.subheader("1 · How well does it predict the next character?")
st.caption(f"The text: {data['source']}")
ui.show_figure(tfig.bits_figure(models.rows, data["unigram"]), key="text.bits")
mine = next(r for r in models.rows if r["cell"] == kind)
held, uni = mine["bits_per_char"]["held_out"], data["unigram"]
st.markdown(
    f"The {name} predicts held-out text (the last 10%, never trained on) at **{held:.2f} bits per character**; a "
    f"model that knows only how often each character occurs needs **{uni:.2f}**. Context saves "
    f"{uni - held:.2f} bits a character ({1 - held / uni:.0%})."
    + (
        f" Trained on this server's training service, all three on the same text with the same budget: "
        f"{mine['updates']} updates in {mine['seconds']:.1f} s of training for the {name}."
        if models.live
        else " Same text, same budget of updates for all three models; the project's command "
        "`scripts/make_text_models.py` trained them (its .json beside each model says how long it took)."
    )
)
cfg = models.config
with st.expander("How it trains: truncated backpropagation through time, with the state carried"):
    st.markdown(
        f"The training text (the first 90%) is cut into {cfg['batch']} streams, read side by side. Each update "
        f"reads the next **window of {cfg['window']} characters** of every stream, computes the softmax loss "
        f"at every character and backpropagates through those {cfg['window']} steps only. The state at the "
        "end of a window is where the next window starts (carried), so the model sees an unbroken text, but no "
        "gradient crosses a window's edge: nothing is learned about dependencies longer than the window, "
        "except by luck. The first two windows of stream 0:"
    )
    w = cfg["window"]
    st.code(
        text[:w] + "\n--- window 2 (the state from window 1 carried in) ---\n" + text[w : 2 * w],
        language=None,
        wrap_lines=True,
    )

t_col, p_col = st.columns([1, 2])
with t_col:
    st.slider("Temperature", 0.1, 2.0, step=0.1, key=S.key("temperature"))
    st.caption("Low: the most likely characters, repetitive. High: more surprising, more mistakes.")
generated = tx.sample(model, text[:40], 300, temperature=S["temperature"], seed=0)
p_col.markdown("**Generated by the model** (after the first 40 characters of the text):")
p_col.code(generated, language=None)

# ---- 2. units found by correlation -----------------------------------------------------------------------------
st.subheader("2 · Units that track the text's structure")
st.caption(
    "Truth per character: "
    + (
        "exact, recorded by the generator."
        if data["exact"]
        else "from a scanner of quotes and brackets (an approximation for real text)."
    )
    + f" Read on the first {len(text):,} characters."
)
st.dataframe(tl.best_units_table(data["ranked"]), hide_index=True, width="stretch")
choices = [m for f in data["ranked"] for m in data["ranked"][f]]
chosen = st.selectbox(
    "Colour the text by",
    range(len(choices)),
    format_func=lambda k: f"{choices[k].feature}: {choices[k].label()} (r = {choices[k].r:+.2f})",
    key="text.unit_choice",
)
unit = choices[chosen]
view_col, find_col = st.columns([2, 1])
view_col.slider("Show the text from character", 0, max(len(text) - 1, 0), step=50, key=S.key("view"))
wanted = find_col.text_input("or find", key="text.find", placeholder="a word, a bracket...")
view_start = S["view"]
if wanted:
    hits = text.count(wanted)
    if hits:
        view_start = text.rfind("\n", 0, text.find(wanted)) + 1
        find_col.caption(f"{hits} times; showing the first, at character {text.find(wanted)}.")
    else:
        find_col.caption(f"Not in the first {len(text):,} characters.")
values = acts[unit.quantity][:, unit.unit]
fig = tfig.text_figure(
    text, values, unit.quantity, start=view_start, title=f"{LABELS.get(unit.quantity, unit.quantity)}, unit {unit.unit}"
)
ui.show_figure(fig, key="text.unit_fig")
st.caption(
    f"Each character is coloured by {unit.label()} right after the model has read it. Its correlation with "
    f"{unit.feature} is r = {unit.r:+.2f}: it {tl.strength(unit.r)} follows it."
)

# ---- 3. select a stretch -> matching units -> other stretches ------------------------------------------------
st.subheader("3 · Select a stretch: which units are on exactly there, and where else?")
quantities = tx.quantities(kind)
if S["quantity"] not in quantities:
    S["quantity"] = "h"
c1, c2, c3, c4 = st.columns(4)
c1.number_input("From character", 0, len(text) - 2, key=S.key("start"))
c2.number_input("To character (not included)", 1, len(text), key=S.key("end"))
c3.selectbox("Units of", quantities, format_func=lambda q: LABELS.get(q, q), key=S.key("quantity"))
c4.number_input("On means at least", -1.0, 5.0, step=0.05, key=S.key("threshold"))
st.checkbox(
    "Only units that are off just before and just after the stretch (as LSTMVis selects)",
    key=S.key("off_around"),
    help="Without it, a unit that is on almost everywhere counts as on in any stretch.",
)
start, end = int(S["start"]), int(S["end"])
q_values = acts[S["quantity"]]
on = ui.guarded(tx.units_on, q_values, start, end, S["threshold"], S["off_around"])
if on is not None:
    st.markdown(f"Selected: {ui.literal(repr(text[start:end]))} ({end - start} characters).")
    if len(on) == 0:
        st.warning(
            f"No unit of {LABELS.get(S['quantity'])} stays at or above {S['threshold']} on every selected "
            "character" + (" and below it just before and after" if S["off_around"] else "") + ". Lower the "
            "threshold, shorten the stretch, untick the box above, or try another quantity."
        )
    else:
        units = on[:3]
        unit_names = ", ".join(f"{S['quantity']}[{u}]" for u in units)
        matches = tx.matching_stretches(q_values, units, S["threshold"], exclude=tx.Stretch(start, end))
        st.markdown(
            f"**{len(on)} units** stay on across the stretch; the 3 most specific to it (highest there compared "
            f"with elsewhere): **{unit_names}**. "
            + (
                f"They are on together in **{len(matches)} other stretches** (those closest in length first)."
                if matches
                else "They are on together nowhere else: the stretch is unique to them."
            )
        )
        shown = q_values[:, units].min(axis=1)  # all of them on <=> the lowest is on
        around = [(start, end)] + [(m.start, m.end) for m in matches]
        look = st.selectbox(
            "Look at",
            range(len(around)),
            format_func=lambda k: "your stretch" if k == 0 else f"match {k}: characters {around[k][0]}-{around[k][1]}",
            key="text.look",
        )
        view = text.rfind("\n", 0, max(around[min(look, len(around) - 1)][0] - 60, 0)) + 1
        ui.show_figure(
            tfig.text_figure(
                text,
                shown,
                S["quantity"],
                start=view,
                rows=10,
                selection=(start, end),
                matches=[(m.start, m.end) for m in matches],
                title="The lowest of the selected units; your stretch outlined, other matches dashed",
            ),
            key="text.stretch_fig",
        )
        if matches:
            st.markdown(tl.matches_words(features, matches, data["exact"]))
            st.dataframe(
                [{"from": m.start, "to": m.end, "text": text[m.start : m.end]} for m in matches],
                hide_index=True,
                width="stretch",
            )

    gate_unit = int(on[0]) if len(on) else unit.unit  # the selection's most specific unit, else the coloured one
    lead = max(0, start - tl.LEAD)
    if st.button(f"Open unit {gate_unit}'s gates on this stretch in the Cell stepper", key="text.to_stepper"):
        offer = ui.guarded(tl.stepper_offer, model, corpus.title, text, lead, end)
        if offer is not None:
            tl.open_in_stepper(offer, gate_unit)
    st.caption(
        f"The stepper starts from a zero state, so the {start - lead} characters before your stretch go with it "
        f"(characters {lead} to {min(end, lead + tl.handoff.MAX_STEPS) - 1}): by the stretch, the state is "
        "close to the one the model has here."
    )

# ---- 4. saturation -----------------------------------------------------------------------------------------------
if kind != "rnn":
    st.subheader("4 · How often each gate is shut or wide open")
    sat = tx.saturation(acts, kind)
    ui.show_figure(tfig.saturation_figure(sat, kind), key="text.saturation")
    keep = "forget" if kind == "lstm" else "update"
    low, high = sat[keep]
    st.markdown(
        f"Of {len(low)} {keep}-gate units, **{int(np.sum(high > 0.5))}** are above 0.9 on more than half the "
        f"characters (they keep their memory), and **{int(np.sum(low > 0.5))}** below 0.1 on more than half "
        "(they reset it). Karpathy, Johnson & Fei-Fei (2015) found such right-saturated forget gates in LSTMs "
        "trained on text: units that remember across many characters."
    )

# ---- 5. long range ---------------------------------------------------------------------------------------------
st.subheader("5 · Long range: closing what was opened long ago")
far = tl.long_range(S["corpus"], own, models.key, models)
b_col, q_col = st.columns(2)
with b_col:
    ui.show_figure(
        tfig.long_range_figure(
            far["bracket"],
            title="Which bracket closes?",
            y_title="share given to the right closer",
            chance=1 / 3,
        ),
        key="text.far_brackets",
    )
with q_col:
    ui.show_figure(
        tfig.long_range_figure(far["quote"], title="Does the quote close here?", y_title="probability of the quote"),
        key="text.far_quotes",
    )
labels, means, counts = far["bracket"][kind]
far_bin = max((k for k in range(len(labels)) if counts[k] >= 20), default=None)
if far_bin is not None:
    window = cfg["window"]
    st.markdown(
        f"Left: when a closing bracket comes, how much of the probability the model gives to closing brackets "
        f"goes to the right one, `)`, `]` or `}}` (a third is a guess). The {name} gets **{means[0]:.2f}** right "
        f"when the bracket opened {labels[0]} characters ago and **{means[far_bin]:.2f}** at {labels[far_bin]} "
        f"characters ({counts[far_bin]} closings). It trained on windows of {window} characters: truncated BPTT "
        f"never showed it a gradient from a bracket opened more than {window} characters earlier."
    )
st.caption(f"Measured on the first {tl.LONG_RANGE_CHARS:,} characters of the text, from a zero state.")

with st.expander("What this page does not do yet"):
    st.markdown("- No lesson walks through one found cell yet.")
