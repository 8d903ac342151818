"""The Text lab's engine: corpora and their truth, the softmax-over-time loss against finite differences,
truncated BPTT against full BPTT, training by what it means, the unit finder on a hand-built cell and on the
shipped LSTM, the student's own text, and the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnviz.engine import text as tx
from rnnviz.engine.model import Model
from rnnviz.engine.weights import from_state_dict, init_cell

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "rnnviz" / "content" / "data" / "text"


def random_net(kind: str, V: int, H: int, seed: int = 0, dtype=np.float64) -> Model:
    """Every parameter random, biases included (zero biases hide bugs)."""
    rng = np.random.default_rng(seed)
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    params = {
        "weight_ih": rng.normal(0, 0.6, (G * H, V)),
        "weight_hh": rng.normal(0, 0.6, (G * H, H)),
        "bias_ih": rng.normal(0, 0.3, G * H),
        "bias_hh": rng.normal(0, 0.3, G * H),
    }
    cell = from_state_dict(kind, {k: v.astype(dtype) for k, v in params.items()})
    return Model(cell, rng.normal(0, 0.8, (V, H)).astype(dtype), rng.normal(0, 0.3, V).astype(dtype))


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


# --------------------------------------------------------------------------------------------------
# Corpora


def test_scanner_agrees_with_the_generators_own_truth():
    text, truth = tx.bracket_language(30_000, seed=3)
    found = tx.text_features(text)
    assert np.array_equal(found["bracket depth"], truth["bracket depth"])
    assert np.array_equal(found["inside quote"], truth["inside quote"])
    assert truth["bracket depth"].max() >= 4 and truth["inside quote"].mean() > 0.05
    inside = truth["inside quote"].astype(bool)
    assert any(ch in "([{" for ch in np.array(list(text))[inside])  # brackets in quotes exist and do not count


def test_features_by_hand():
    f = tx.text_features('a = ("x(" [1])\n  b')
    assert f["bracket depth"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 1, 0, 0, 0, 0, 0]
    assert f["inside quote"].tolist() == [0] * 5 + [1, 1, 1, 0] + [0] * 9
    assert f["column"][-4:].tolist() == [0, 1, 2, 3] and f["indentation"][-4:].tolist() == [0, 1, 2, 2]
    code = tx.text_features("x = 1  # don't (\ny = (2)", comments=True)
    assert code["inside quote"].max() == 0 and code["bracket depth"][16] == 0


def test_builtin_corpora_are_deterministic_and_encodable():
    lang = tx.builtin_corpus("language")
    assert lang.text == tx.bracket_language()[0] and lang.exact
    assert not np.any(lang.encode() == len(lang.vocab) - 1)  # every character in its vocabulary
    code = tx.builtin_corpus("stdlib")
    assert 50_000 < len(code.text) <= tx.STDLIB_TOTAL_CAP and "def " in code.text
    assert np.mean(code.encode() == len(code.vocab) - 1) < 0.01
    with pytest.raises(ValueError, match="unknown corpus"):
        tx.builtin_corpus("war and peace")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("café".encode("latin-1") * 200, "not UTF-8"),
        (b"x" * (tx.MAX_UPLOAD_BYTES + 1), "limit"),
    ],
)
def test_uploads_that_cannot_be_read_say_why(data, message):
    with pytest.raises(ValueError, match=message):
        tx.read_upload(data)


def test_users_text_is_checked_capped_and_given_a_vocabulary():
    assert tx.read_upload("ﬁne text\r\n".encode("utf-8-sig")) == "ﬁne text\r\n"
    with pytest.raises(ValueError, match="at least"):
        tx.user_corpus("too short")
    with pytest.raises(ValueError, match="empty"):
        tx.user_corpus(" \n\n ")
    with pytest.raises(ValueError, match="control characters"):
        tx.user_corpus("\x01\x02" * 400)
    long = "".join(chr(0x4E00 + k % 300) for k in range(tx.MAX_CHARS + 10))
    corpus, notes = tx.user_corpus(long)
    assert len(corpus.text) == tx.MAX_CHARS and len(corpus.vocab) == tx.MAX_VOCAB + 1 and len(notes) == 2
    assert corpus.vocab[-1] == tx.OTHER and np.any(corpus.encode() == tx.MAX_VOCAB)


# --------------------------------------------------------------------------------------------------
# The loss and its gradients


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_softmax_over_time_gradients_match_finite_differences(kind):
    V, H, T, B = 5, 3, 6, 2
    net = random_net(kind, V, H, seed=1)
    rng = np.random.default_rng(2)
    x, y = rng.integers(V, size=(T, B)), rng.integers(V, size=(T, B))
    h0 = rng.normal(0, 0.5, (B, H))
    c0 = rng.normal(0, 0.5, (B, H)) if kind == "lstm" else None
    r = tx.window_loss(net, x, y, h0, c0)
    eps = 1e-6
    params = net.params
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            moved = {}
            for sign in (1, -1):
                p = {k: v.copy() for k, v in params.items()}
                p[name][i] += sign * eps
                moved[sign] = tx.window_loss(net.with_params(p), x, y, h0, c0, grads=False).loss
            numeric[i] = (moved[1] - moved[-1]) / (2 * eps)
        assert rel_error(r.grads[name], numeric) < 1e-6, name
    numeric = np.zeros_like(h0)
    for i in np.ndindex(h0.shape):
        up, down = h0.copy(), h0.copy()
        up[i] += eps
        down[i] -= eps
        numeric[i] = (tx.window_loss(net, x, y, up, c0).loss - tx.window_loss(net, x, y, down, c0).loss) / (2 * eps)
    assert rel_error(r.d_h0, numeric) < 1e-6


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_truncated_bptt_with_carried_state(kind):
    """Windows that cover the sequence give full BPTT's gradients (checked against finite differences of the
    whole sequence's loss); shorter windows give the same loss (the state is carried) and the same readout
    gradient, but other recurrent gradients (the gradient is cut at each boundary)."""
    V, H, L, B = 4, 3, 12, 2
    net = random_net(kind, V, H, seed=4)
    rng = np.random.default_rng(5)
    x, y = rng.integers(V, size=(L, B)), rng.integers(V, size=(L, B))
    full_loss, full = tx.tbptt_grads(net, x, y, window=L)
    eps = 1e-6
    w = net.params["weight_hh"]
    numeric = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        moved = {}
        for sign in (1, -1):
            p = {k: v.copy() for k, v in net.params.items()}
            p["weight_hh"][i] += sign * eps
            moved[sign] = tx.window_loss(net.with_params(p), x, y, grads=False).loss
        numeric[i] = (moved[1] - moved[-1]) / (2 * eps)
    assert rel_error(full["weight_hh"], numeric) < 1e-6
    assert tx.tbptt_grads(net, x, y, window=L + 5)[1]["weight_hh"] == pytest.approx(full["weight_hh"], rel=1e-12)
    cut_loss, cut = tx.tbptt_grads(net, x, y, window=4)
    assert cut_loss == pytest.approx(full_loss, rel=1e-12)
    assert rel_error(cut["readout.weight"], full["readout.weight"]) < 1e-12
    assert rel_error(cut["weight_hh"], full["weight_hh"]) > 1e-3
    no_carry = sum(tx.window_loss(net, x[s : s + 4], y[s : s + 4]).loss for s in (0, 4, 8)) / 3
    assert abs(no_carry - full_loss) > 1e-6  # carrying the state is what makes the losses agree


def test_streams_cut_the_text_into_contiguous_rows():
    idx = np.arange(23)
    x, y = tx.streams(idx, 4)
    assert x.shape == (5, 4) and x[:, 1].tolist() == [5, 6, 7, 8, 9] and np.array_equal(y, x + 1)


# --------------------------------------------------------------------------------------------------
# Training, sampling, saving


def test_a_short_run_learns_beyond_character_frequencies():
    corpus = tx.builtin_corpus("language")
    run = tx.train_text(tx.TextConfig(cell="lstm", hidden_size=16, steps=200, eval_every=100), corpus)
    first = tx.init_text_model("lstm", corpus.vocab, 16, 0)
    start_bits = tx.bits_per_char(first.net, tx.split(corpus.encode())[1][:5000])
    assert start_bits > run.unigram_bits - 0.1  # an untrained model knows less than the frequencies
    assert run.held_out_bits < run.unigram_bits - 1.0  # trained: it uses the context
    assert run.updates == 200 and len(run.history) == 2 and run.seconds > 0


def test_sampling_draws_from_the_vocabulary_and_sharpens_when_cold():
    model = tx.load_model(SHIPPED / "language_lstm.npz")
    hot = tx.sample(model, "x = ", 300, temperature=1.0, seed=1)
    assert len(hot) == 300 and set(hot) <= set(model.vocab)
    assert hot == tx.sample(model, "x = ", 300, temperature=1.0, seed=1)
    cold = tx.sample(model, "x = ", 300, temperature=0.05, seed=2)
    assert len(set(cold)) < len(set(hot))
    with pytest.raises(ValueError):
        tx.sample(model, "", 5, temperature=0)


def test_a_text_job_is_a_job_spec_that_trains_as_train_text_does():
    """The service's job spec: frozen, hashable, picklable; its run() yields the evaluation points of
    train_text (the same updates: the same code in the same process) with a sample and the parameters."""
    import pickle

    from rnnviz.app import admission, trainer

    corpus = tx.builtin_corpus("language")
    config = tx.TextConfig(cell="gru", hidden_size=8, steps=30, eval_every=10)
    job = tx.TextJob.of(corpus, config)
    assert trainer.is_job_spec(job) and job.config == config and job.own == b"" and job.digest == ""
    assert pickle.loads(pickle.dumps(job)) == job and hash(job) == hash(tx.TextJob.of(corpus, config))
    out = list(job.run())
    run = tx.train_text(config, corpus)
    assert [p.step for p, _ in out] == [10, 20, 30] and out[-1][0].seconds > 0
    assert [(p.step, p.train_bits, p.held_out_bits) for p, _ in out] == [tuple(h) for h in run.history]
    assert all(len(p.sample) == tx.SAMPLE_CHARS and set(p.sample) <= set(corpus.vocab) for p, _ in out)
    back = tx.model_of(pickle.loads(pickle.dumps(out[-1][1])))
    assert back.kind == "gru" and back.vocab == corpus.vocab
    for key, value in run.model.net.cell.state_dict().items():
        assert np.array_equal(back.net.cell.state_dict()[key], value)
    assert np.array_equal(back.net.readout_weight, run.model.net.readout_weight)
    # priced like any press: linear in the updates, and the page's largest budget fits the shared cap at H = 32
    assert admission.model_work(job) == job.work()
    longer = tx.TextJob.of(corpus, tx.TextConfig(cell="gru", hidden_size=8, steps=60, eval_every=20))
    V = len(corpus.vocab)
    per_char = 3 * 8 * (8 + V + 1) + V * (8 + 1)  # GRU products and the readout, per character
    assert longer.work() - job.work() == per_char * 30 * 16 * 50 * 3  # as many evaluations; 30 more updates
    cap = admission.Policy().max_press_work
    for name in tx.BUILTIN:
        press = [tx.TextJob(name, k, 32, 5000, eval_every=250) for k in tx.KINDS]
        assert sum(j.work() for j in press) < cap
    assert sum(tx.TextJob("stdlib", k, 64, 5000, eval_every=250).work() for k in tx.KINDS) > cap


def test_a_text_job_on_the_students_text_carries_it_with_its_digest():
    text = "The owl and the pussy-cat went to sea (in a pea-green boat).\n" * 12
    corpus = tx.user_corpus(text)[0]
    job = tx.TextJob.of(corpus, tx.TextConfig(cell="rnn", hidden_size=4, steps=10, eval_every=5))
    job.check()
    assert job.corpus == "own" and job.own.decode() == corpus.text and len(job.digest) == 64
    assert job.text_corpus() == corpus
    from dataclasses import replace

    with pytest.raises(ValueError, match="digest"):
        replace(job, own=job.own + b"!").check()
    with pytest.raises(ValueError, match="at least"):
        short = b"too short"
        replace(job, own=short, digest=__import__("hashlib").sha256(short).hexdigest()).check()
    with pytest.raises(ValueError, match="unknown corpus"):
        tx.TextJob("war and peace", "lstm", 8, 10).check()
    with pytest.raises(ValueError, match="no text of its own"):
        replace(job, corpus="language").check()


def test_the_prose_text_is_the_shipped_file_with_dialogue_found_by_the_scanner():
    import hashlib

    raw = tx.PROSE_FILE.read_bytes()
    readme = (SHIPPED / "README.md").read_text()
    assert hashlib.sha256(raw).hexdigest() in readme  # the README names the file by its digest
    corpus = tx.builtin_corpus("prose")
    assert corpus.text.lstrip().startswith("ALICE'S ADVENTURES IN WONDERLAND") and corpus.text.rstrip().endswith(
        "THE END"
    )
    assert "\r" not in corpus.text and "\x1a" not in corpus.text and tx.OTHER not in corpus.text
    feats = tx.text_features("`Oh dear!' it's late, `I'm (very) late'\n\n(a", prose=True)
    assert feats["inside quote"].tolist() == [1] * 9 + [0] * 13 + [1] * 16 + [0] * 5  # "it's" closes nothing
    assert feats["bracket depth"].tolist()[26:33] == [0, 1, 1, 1, 1, 1, 0]
    stray = tx.text_features("`a (b\nc\n\nd", prose=True)  # a blank line ends a quote and a bracket
    assert stray["inside quote"].tolist() == [1] * 8 + [0] * 2 and stray["bracket depth"][-1] == 0
    share = tx.corpus_features(corpus)["inside quote"].mean()
    assert 0.2 < share < 0.5  # Alice's dialogue: about a third of the book


def test_save_and_load_round_trip(tmp_path):
    model = tx.init_text_model("gru", "ab\n" + tx.OTHER, 5, seed=3)
    tx.save_model(model, tmp_path / "m.npz")
    back = tx.load_model(tmp_path / "m.npz")
    assert back.vocab == model.vocab and back.kind == "gru"
    for k, v in model.net.params.items():
        assert np.array_equal(back.net.params[k], v)


# --------------------------------------------------------------------------------------------------
# The unit finder


def depth_counter(vocab: str, H: int = 4) -> tx.TextModel:
    """An LSTM whose unit 0 counts bracket depth, set by hand: its input gate opens only on a bracket, whose
    candidate is +0.46 for an opener and -0.46 for a closer; its forget and output gates stay open. The other
    units have small random weights."""
    V = len(vocab)
    cell = init_cell("lstm", V, H, seed=7, dtype=np.float64)
    p = {k: v.copy() * 0.3 for k, v in cell.params.items()}
    i, f, g, o = 0, H, 2 * H, 3 * H  # unit 0's row in each gate block (PyTorch order i, f, g, o)
    for row in (i, f, g, o):
        p["weight_ih"][row] = 0.0
        p["weight_hh"][row] = 0.0
        p["bias_ih"][row] = p["bias_hh"][row] = 0.0
    for k, ch in enumerate(vocab):
        if ch in tx.OPENERS + tx.CLOSERS:
            p["weight_ih"][i, k] = 20.0
            p["weight_ih"][g, k] = 0.5 if ch in tx.OPENERS else -0.5
    p["bias_ih"][i] = -10.0
    p["bias_ih"][f] = 20.0  # f = 1 - 2e-9: no leak over 20,000 characters
    p["bias_ih"][o] = 10.0
    net = Model(from_state_dict("lstm", p), np.zeros((V, H)), np.zeros(V))
    return tx.TextModel(net, vocab)


def test_finder_puts_the_hand_built_depth_counter_first():
    text, truth = tx.bracket_language(20_000, seed=11)
    # the counter cannot see quotes: take the brackets out of the quoted strings (the truth stays the same)
    text = "".join("x" if q and ch in "()[]{}" else ch for ch, q in zip(text, truth["inside quote"], strict=True))
    model = depth_counter(tx.LANGUAGE_VOCAB)
    acts = tx.activations(model, tx.encode(text, model.vocab))
    ranked = tx.rank_units(acts, tx.text_features(text), top=3)
    best = ranked["bracket depth"][0]
    assert (best.quantity, best.unit) == ("c", 0) and best.r > 0.99
    assert ranked["bracket depth"][1].r < 0.99  # nothing else comes close
    assert ranked["inside quote"][0].unit != 0 or ranked["inside quote"][0].quantity not in ("c", "h")


def test_units_on_a_stretch_and_the_other_stretches_where_they_are_on():
    values = np.zeros((40, 4))
    values[10:15, 0] = values[10:15, 2] = 1.0  # units 0 and 2 on at 10..14
    values[25:28, [0, 2]] = 1.0  # and together again at 25..27
    values[30:39, 0] = 1.0  # unit 0 alone: not a match for both
    values[:, 1] = 0.5  # unit 1 always half on: on inside too, but no more than elsewhere
    values[9:16, 3] = 0.9  # unit 3 on from one character before to one after
    on = tx.units_on(values, 10, 15, threshold=0.4, off_around=False)
    assert set(on.tolist()) == {0, 1, 2, 3} and on[-1] == 1
    assert set(tx.units_on(values, 10, 15, threshold=0.4).tolist()) == {0, 2}  # off just before and after
    assert tx.units_on(values, 10, 15, threshold=0.6).tolist() in ([0, 2], [2, 0])
    found = tx.matching_stretches(values, [0, 2], 0.6, exclude=tx.Stretch(10, 15))
    assert found == [tx.Stretch(25, 28)]
    assert tx.matching_stretches(values, [0], 0.6) == [tx.Stretch(30, 39), tx.Stretch(10, 15), tx.Stretch(25, 28)]
    closest = tx.matching_stretches(values, [0], 0.6, exclude=tx.Stretch(0, 3))
    assert closest[0] == tx.Stretch(25, 28)  # the same length as the selection first
    assert tx.matching_stretches(values, [], 0.6) == []
    with pytest.raises(ValueError, match="inside the text"):
        tx.units_on(values, 30, 50, 0.5)


def test_closings_know_how_long_ago_each_bracket_and_quote_opened():
    found = tx.closings("a(b \"x)\" [c]) 'q' ]")
    positions, distances = found["bracket"]
    assert positions.tolist() == [11, 12] and distances.tolist() == [2, 11]  # "]" then ")"; the stray "]" is left out
    assert found["quote"][0].tolist() == [7, 16] and found["quote"][1].tolist() == [3, 2]
    prose = tx.closings("`Oh (dear)!' it's `x\n\n(a) `b'", prose=True)  # Alice's marks; a blank line drops `x
    assert prose["quote"][0].tolist() == [11, 28] and prose["quote"][1].tolist() == [11, 2]
    assert prose["bracket"][0].tolist() == [24] and prose["bracket"][1].tolist() == [2]


def test_next_character_probabilities_agree_with_the_loss_and_share_out_among_closers():
    vocab = "ab()[]{}\n" + tx.OTHER
    net = random_net("lstm", len(vocab), 4, seed=8)
    model = tx.TextModel(net, vocab)
    idx = tx.encode("a(b[a]b){ab}(a", vocab)
    p = tx.next_char_probability(model, idx)
    loss = tx.window_loss(net, idx[:-1, None], idx[1:, None], grads=False).loss
    assert np.isnan(p[0]) and -np.log(p[1:]).mean() == pytest.approx(loss, rel=1e-12)
    shares = [tx.next_char_probability(model, np.append(idx, vocab.index(ch)), among=")]}")[-1] for ch in ")]}"]
    assert sum(shares) == pytest.approx(1.0, rel=1e-12) and all(0 < s < 1 for s in shares)
    labels, means, counts = tx.by_distance(np.arange(10.0), np.array([1, 2, 9]), np.array([1, 4, 200]))
    assert labels[:3] == ["1-2", "3-5", "6-10"] and labels[-1] == "101+"
    assert counts.tolist() == [1, 1, 0, 0, 0, 0, 1] and means[0] == 1.0 and means[-1] == 9.0 and np.isnan(means[2])


# Measured on the shipped LSTM (H = 32, 8000 updates; see its .json): its best unit for bracket depth, c[3], has
# r = -0.62 on the first 20,000 characters of the generated language; after 3000 updates it was 0.56. The same
# LSTM untrained (seed 0) reaches |r| = 0.32 by chance (depth goes with which characters are frequent). The
# threshold sits between them.
DEPTH_THRESHOLD = 0.55


def test_shipped_lstm_has_a_depth_unit():
    corpus = tx.builtin_corpus("language")
    model = tx.load_model(SHIPPED / "language_lstm.npz")
    idx = corpus.encode()[:20_000]
    feats = {k: v[:20_000] for k, v in tx.corpus_features(corpus).items()}
    best = tx.rank_units(tx.activations(model, idx), feats, top=1)["bracket depth"][0]
    untrained = tx.init_text_model("lstm", corpus.vocab, model.hidden_size, seed=0)
    chance = tx.rank_units(tx.activations(untrained, idx), feats, top=1)["bracket depth"][0]
    assert abs(best.r) > DEPTH_THRESHOLD > abs(chance.r)


QUOTE_THRESHOLD = 0.4  # measured: GRU h[3] r = -0.80, LSTM c[16] r = +0.49, RNN at best 0.04, untrained 0.12


def test_shipped_prose_models_with_gates_have_a_unit_for_alices_dialogue():
    """On real prose the gated models found "inside a quote" (Karpathy et al.'s quote cell); the plain RNN of
    the same size and budget did not, and neither does an untrained LSTM by chance."""
    corpus = tx.builtin_corpus("prose")
    idx = corpus.encode()[:20_000]
    quote = {"inside quote": tx.corpus_features(corpus)["inside quote"][:20_000]}

    def best(model):
        return abs(tx.rank_units(tx.activations(model, idx), quote, top=1)["inside quote"][0].r)

    models = {k: tx.load_model(SHIPPED / f"prose_{k}.npz") for k in tx.KINDS}
    untrained = tx.init_text_model("lstm", corpus.vocab, models["lstm"].hidden_size, seed=0)
    assert best(models["gru"]) > QUOTE_THRESHOLD and best(models["lstm"]) > QUOTE_THRESHOLD
    assert best(models["rnn"]) < QUOTE_THRESHOLD / 2 and best(untrained) < QUOTE_THRESHOLD / 2


def test_every_shipped_model_loads_and_its_sidecar_says_how_it_was_made():
    for corpus in tx.BUILTIN:
        for kind in tx.KINDS:
            model = tx.load_model(SHIPPED / f"{corpus}_{kind}.npz")
            meta = json.loads((SHIPPED / f"{corpus}_{kind}.json").read_text())
            assert model.kind == kind and meta["cell"] == kind and meta["corpus"] == corpus
            assert model.vocab == tx.builtin_corpus(corpus).vocab
            assert meta["training_seconds"] > 0 and meta["made_on"]["cpu"] and meta["made_on"]["engine"]
            bits = meta["bits_per_char"]
            assert bits["held_out"] < bits["unigram"]


def test_cli_prints_bits_and_the_best_unit_per_feature():
    out = subprocess.run(
        [sys.executable, "-m", "rnnviz", "text", "--corpus", "language", "--cell", "gru", "--hidden", "8"]
        + ["--steps", "40", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    summary = json.loads(out.stdout)
    assert set(summary["best_unit"]) == set(tx.FEATURES)
    assert all(-1 <= b["r"] <= 1 and b["unit"].startswith("h[") for b in summary["best_unit"].values())
    assert summary["updates"] == 40 and summary["bits_per_char"]["unigram"] > 3


# --------------------------------------------------------------------------------------------------
# The page (AppTest; uploads are driven in the browser test, AppTest cannot upload a file)

TEXT_PAGE = "pages/6_Text_lab.py"


def test_page_loads_and_a_selected_stretch_finds_units_and_other_stretches():
    from tests.helpers import assert_clean, open_page

    at = open_page(TEXT_PAGE)
    assert_clean(at)
    assert any("bits per character" in m.value for m in at.markdown)
    assert len(at.dataframe) >= 1 and at.code  # the units table, the generated sample
    said = " ".join(m.value for m in at.markdown)  # the default stretch: inside the first quoted string
    assert "stay on across the stretch" in said and "other stretches" in said and "inside a quote" in said
    at.number_input(key="text.start").set_value(21)
    at.number_input(key="text.end").set_value(31).run()
    assert_clean(at)
    said = " ".join(m.value for m in at.markdown)
    assert "(10 characters)" in said and "other stretches" in said
    assert at.query_params["start"] == "21" and at.query_params["quantity"] == "output"
    at.text_input(key="text.find").set_value("map = ").run()
    found = [c.value for c in at.caption if "times; showing the first" in c.value]
    first = tx.builtin_corpus("language").text.find("map = ")
    assert found and f"at character {first}." in found[0] and first > 100
    at.checkbox(key="text.off_around").set_value(True)
    at.selectbox(key="text.quantity").set_value("h").run()
    assert_clean(at)
    assert at.warning or "stay on across" in " ".join(m.value for m in at.markdown)
    at.number_input(key="text.start").set_value(40)
    at.number_input(key="text.end").set_value(30).run()  # a stretch that ends before it starts
    assert_clean(at)
    assert any("inside the text" in e.value for e in at.error)


def test_page_trains_on_pasted_text_and_refuses_too_little():
    from tests.helpers import assert_clean, open_page

    at = open_page(TEXT_PAGE, corpus="own")
    assert_clean(at)
    assert any("Paste a text" in i.value for i in at.info)
    at.text_area(key="text.paste").set_value("too short")
    at.button[0].click().run()  # the form's "Use this text"
    assert any("at least 500" in e.value for e in at.error)
    poem = "The quick brown fox (who was 'very' quick) jumps over the lazy dog.\n" * 20
    at.text_area(key="text.paste").set_value(poem)
    at.button[0].click().run()
    assert_clean(at)
    assert any("Press **Train**" in i.value for i in at.info)  # checked, kept; nothing trains before a press
    at.select_slider(key="text.steps").set_value(300)
    at.select_slider(key="text.hidden").set_value(8).run()
    at.button(key="text.train").click().run()
    assert_clean(at)
    assert any("Trained on this server's training service" in m.value for m in at.markdown)
    assert at.session_state["_text.lab"].press.jobs[0].own == poem.encode()


def test_text_figure_draws_every_character_as_typed_with_outlines():
    from rnnviz.figures import text as tfig

    text = "if a <b> & c:\n    x = 'y'\n" + "z" * 100
    values = np.linspace(-1, 1, len(text))
    fig = tfig.text_figure(text, values, "h", title="t", width=20, rows=5, selection=(5, 8), matches=[(15, 40)])
    heat = fig.data[0]
    assert heat.text[0][5:8].tolist() == ["&lt;", "b", "&gt;"] and heat.text[0][9] == "&amp;"  # Plotly's HTML
    assert heat.text[0][13] == tfig.NEWLINE and heat.customdata[1][0] == 14  # a newline ends the row
    assert heat.z[0][0] == -1 and np.isnan(heat.z[0][19])  # the first line is 14 characters: the rest is empty
    assert len(fig.layout.shapes) == 1 + 2  # the selection on one row; the match 15-39 over rows 1 (14-25) and 2
    assert (heat.zmin, heat.zmax) == (-1.0, 1.0)
