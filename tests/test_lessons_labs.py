"""The lessons on the backward pass, a real series and a found cell: every number their reveals print is read
back out of the figure's JSON (or recomputed by the engine beside it), and every lesson's link opens the view its
figure draws (the same models, rows, view and settings, and on Gradient flow the figure's anchor)."""

import base64
import json
import re
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from rnnviz.content import DATA as DATA_DIR
from rnnviz.content import lesson_labs, lessons
from rnnviz.engine import analysis
from rnnviz.engine import forecast as fc
from rnnviz.engine import text as tx
from tests.helpers import open_page


def view(name: str) -> tuple[lessons.Lesson, dict, dict, str]:
    """A lesson at its settings: the lesson, its measurement, its figure's JSON and its reveal's text."""
    L = lessons.lesson(lessons.number_of(name))
    m = L.measure({})
    return L, m, json.loads(L.figure(m).to_json()), L.reveal(m).text


def numbers(text: str) -> list[float]:
    """The numbers in a text, as printed (1,502 and 8.1e-04 and −0.60 included)."""
    found = re.findall(r"[-−+]?\d[\d,]*(?:\.\d+)?(?:e[-+]\d+)?", text)
    return [float(n.replace(",", "").replace("−", "-")) for n in found]


def printed(value: float) -> str:
    return lesson_labs.fmt(value)


def trace(spec: dict, name: str) -> dict:
    (t,) = [t for t in spec["data"] if t.get("name") == name]
    return t


def array(v) -> np.ndarray:
    """A figure JSON's array: a list, or plotly's typed array ({"dtype", "bdata", "shape"})."""
    if isinstance(v, dict):
        flat = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        shape = [int(n) for n in str(v.get("shape", len(flat))).split(",")]
        return flat.reshape(shape).astype(float)
    return np.asarray(v, dtype=float)


def ys(t: dict) -> np.ndarray:
    return array(t["y"])


# --------------------------------------------------------------------------------------------------
# The backward pass


def test_the_backward_lessons_reveal_reads_its_curves():
    L, m, spec, text = view("backward")
    rnn = ys(trace(spec, lesson_labs.BACKWARD_NAME.format("RNN")))
    lstm = ys(trace(spec, lesson_labs.BACKWARD_NAME.format("LSTM")))
    assert rnn[0] == lstm[0] == 1  # each curve starts at the loss: all of it
    (line,) = [s for s in spec["layout"]["shapes"] if s.get("y0") == s.get("y1")]
    assert line["y0"] == analysis.VANISHED and line["line"]["dash"] == "dot"  # the notice's dotted line
    lag = int(np.flatnonzero(rnn < line["y0"])[0])  # read off the drawn curve
    last = len(rnn) - 1
    assert f"{lag} steps back (step {last - lag} of the Cell stepper's 0 to {last})" in text
    assert f"where it is {printed(rnn[lag])}" in text
    assert f"×{rnn[lag] ** (1 / lag):.3f} per step" in text
    assert f"There the LSTM's is {printed(lstm[lag])}, {lstm[lag] / rnn[lag]:.0f} times more" in text
    assert f"the RNN keeps {printed(rnn[last])} of it and the LSTM {printed(lstm[last])}" in text
    k = lesson_labs.SETTLED
    assert f"(to {printed(lstm[k])} {k} steps back), then stays between {printed(lstm[k:].min())} and " in text
    assert f" and {printed(lstm[k:].max())}: its gradient" in text
    assert f"forget gate averaging {m['forget_mean']:.2f}" in text
    forget = m["records"]["lstm"].trace.gates["forget"]
    assert m["forget_mean"] == pytest.approx(float(np.mean(forget)))
    assert (
        L.reveal(m).answer
        == L.options[[lo <= lag and (hi is None or lag < hi) for lo, hi in lesson_labs.BACKWARD_BINS].index(True)]
    )


def test_the_backward_lessons_curves_are_the_gradient_flow_pages():
    """The same loss as Gradient flow: its curve at the same settings, divided by its value at lag 0."""
    _, _, spec, _ = view("backward")
    config = lesson_labs.BACKWARD
    for kind in lesson_labs.BACKWARD_KINDS:
        cell = type(config)(**{**config.__dict__, "kind": kind}).make_cell()
        norms = analysis.gradient_vs_lag(cell, config.make_input()).h_norm
        drawn = ys(trace(spec, lesson_labs.BACKWARD_NAME.format(kind.upper())))
        assert np.allclose(drawn, norms / norms[0], rtol=1e-9, atol=0), kind


def test_the_backward_reveal_says_never_when_the_curve_stays_above():
    _, m, _, _ = view("backward")
    flat = {k: np.ones_like(v) for k, v in m["left"].items()}
    index, text = lesson_labs.reveal_backward({**m, "left": flat, "lag": None})
    assert index == len(lesson_labs.BACKWARD_OPTIONS) - 1 and "never falls below" in text


# --------------------------------------------------------------------------------------------------
# A real series


def test_the_real_series_lessons_bars_are_the_forecast_errors_and_the_reveal_reads_them():
    L, m, spec, text = view("real")
    (bars,) = spec["data"]
    drawn = dict(zip(bars["x"], ys(bars), strict=True))
    again = fc.run(fc.load_series(lesson_labs.REAL).values, lesson_labs.REAL_CONFIG, ("lstm",))  # recomputed
    names = {"LSTM": "lstm", **{b: b for b in fc.BASELINES}}
    assert set(drawn) == set(names)
    for shown, method in names.items():
        assert drawn[shown] == pytest.approx(again.errors[method]["mae"], rel=1e-6), shown
    assert f"the LSTM's mean absolute error is {drawn['LSTM']:.3g} sunspots" in text
    for b in fc.BASELINES:
        assert f"{b} {drawn[b]:.3g} (the LSTM's error is {drawn['LSTM'] / drawn[b]:.2f} of it)" in text
    beaten = sum(drawn["LSTM"] < drawn[b] for b in fc.BASELINES)
    assert L.reveal(m).answer == L.options[0 if beaten == 3 else 2 if beaten == 0 else 1]
    test_years = m["result"].split.n - m["result"].split.val_end
    assert f"on the last {test_years} years" in text


def test_the_real_series_reveal_names_the_baselines_it_loses_to():
    _, m, _, _ = view("real")
    worse = {**m["mae"], "lstm": (m["mae"]["persistence"] + m["mae"]["seasonal naive"]) / 2}
    index, text = lesson_labs.reveal_real({**m, "mae": worse})
    assert index == 1 and "It beats persistence" in text
    index, _ = lesson_labs.reveal_real({**m, "mae": {**m["mae"], "lstm": 1e9}})
    assert index == 2


# --------------------------------------------------------------------------------------------------
# A found cell


def test_the_found_cell_is_the_finders_best_and_the_reveal_reads_the_figure():
    L, m, spec, text = view("cell")
    best = m["best"]
    corpus = tx.builtin_corpus(lesson_labs.TEXT_CORPUS)
    idx = corpus.encode()[: lesson_labs.TEXT_CHARS]
    depth = tx.text_features(corpus.text[: len(idx)])["bracket depth"]
    acts = tx.activations(tx.load_model(DATA_DIR / "text" / "language_lstm.npz"), idx)
    r = {(q, j): v for q, a in acts.items() for j, v in enumerate(tx.correlations(a, depth))}
    top = max(r, key=lambda k: abs(r[k]))
    assert (best.quantity, best.unit) == top and best.r == pytest.approx(r[top])
    assert f"{best.label()} follows the true depth best, at r = {r[top]:+.2f}" in text
    assert f"of the model's {len(r)} units" in text
    # the coloured text is that unit on those characters
    (heat,) = [t for t in spec["data"] if t["type"] == "heatmap"]
    z, index = array(heat["z"]), array(heat["customdata"]).astype(int)
    shown = index >= 0
    assert np.allclose(z[shown], acts[best.quantity][index[shown], best.unit])
    assert heat["meta"] == lesson_labs.SHOWN_BEFORE  # the one trace the veil leaves: the question is about it
    unit = acts[best.quantity][:, best.unit]
    lo, hi = np.percentile(unit, [2, 98])
    if hi <= 0 or lo >= 0:  # one sign: coloured over the unit's own range, not the symmetric one
        assert (heat["zmin"], heat["zmax"]) == pytest.approx((lo, hi))
        assert np.mean((unit >= lo) & (unit <= hi)) >= 0.95
    # the lower panel is the unit's mean at each true depth; the reveal's numbers are its ends
    panel = trace(spec, lesson_labs.DEPTH_TRACE)
    mean, count = ys(panel), array(panel["customdata"]).astype(int)
    values = acts[best.quantity][:, best.unit]
    assert np.allclose(mean, [values[depth == d].mean() for d in range(int(depth.max()) + 1)])
    last = len(mean) - 1
    assert f"from {mean[0]:+.2f} at depth 0 ({count[0]:,} characters) to {mean[last]:+.2f} at depth {last}" in text
    assert f"({count[last]:,})" in text
    assert L.reveal(m).answer == L.options[0 if abs(r[top]) < 0.4 else 1 if abs(r[top]) < 0.8 else 2]


def test_a_unit_of_one_sign_gets_one_hue_over_its_range_and_a_mixed_one_keeps_its_scale():
    ramp = np.linspace(1, 2, 101)
    assert lesson_labs.text_colours(-ramp)["colorscale"] == lesson_labs.ONE_SIGN[-1]
    assert lesson_labs.text_colours(ramp)["colorscale"] == lesson_labs.ONE_SIGN[1]
    assert lesson_labs.text_colours(ramp)["zmin"] == pytest.approx(1.02)
    assert lesson_labs.text_colours(ramp - 1.5) == {}


def test_the_veil_hides_the_answer_but_keeps_the_text_the_question_is_about():
    _, m, _, _ = view("cell")
    fig = lessons.veil(lesson_labs.figure_text(m))
    opacity = {t.meta: t.opacity for t in fig.data}
    assert opacity == {lesson_labs.SHOWN_BEFORE: None, None: 0}


# --------------------------------------------------------------------------------------------------
# Links that open the view the lesson draws

STEPPER_MODELS = {"rnn": {"RNN"}, "lstm": {"LSTM"}, "gru": {"GRU"}, "rnn_lstm": {"RNN", "LSTM"}}


def query_of(L: lessons.Lesson) -> tuple[str, dict, str]:
    url = urlparse(L.href())
    return url.path, {k: v if len(v) > 1 else v[0] for k, v in parse_qs(url.query).items()}, url.fragment


def drawn_models(spec: dict) -> set[str]:
    names = {str(t.get("name", "")) for t in spec["data"]}
    return {model for model in ("RNN", "LSTM", "GRU") if any(n.startswith(model) for n in names)}


@pytest.mark.parametrize("name", ["recurrence", "forget", "gated", "backward"])
def test_a_stepper_lessons_link_opens_the_models_rows_and_view_its_figure_draws(name):
    L, m, spec, _ = view(name)
    path, query, fragment = query_of(L)
    assert path == "Cell_stepper" and fragment == ""
    models = {"RNN"} if name == "recurrence" else drawn_models(spec)  # lesson 1's heatmap is the RNN's alone
    assert STEPPER_MODELS[query["kind"]] == models
    if name == "recurrence":  # the heatmap holds the values themselves (not minus the run on zeros)
        (heat,) = [t for t in spec["data"] if t["type"] == "heatmap"]
        assert np.allclose(array(heat["z"]), m["run"].h.T, rtol=0, atol=6e-4)  # drawn to 3 decimals
        assert (query["view"], query["rows"]) == ("values", "h")
    elif name == "backward":  # dL/dh of each model
        assert (query["pass"], query["loss"], query["rows"]) == ("backward", lesson_labs.BACKWARD_LOSS, "h")
    else:  # the pulse's effect on h: the run with the pulse minus the run without
        assert spec["layout"]["yaxis"]["title"]["text"] == "pulse left in h_t"
        assert (query["view"], query["rows"]) == ("effect", "h")
    # and the page, opened at that link, draws those models' rows and no other
    at = open_page("pages/1_Cell_stepper.py", timeout=300, **L.link()[1])
    assert not at.exception, [e.value for e in at.exception]
    (chart,) = at.get("plotly_chart")
    page = json.loads(chart.proto.spec)
    titles = [a["text"] for a in page["layout"].get("annotations", []) if str(a.get("text", "")).startswith("<b>")]
    rows = [t for t in titles if "input" not in t]
    if len(models) > 1:
        assert len(rows) == len(models) and {t[3:].split(":")[0] for t in rows} == models, titles
    else:
        assert len(rows) == 1 and ":" not in rows[0], titles


@pytest.mark.parametrize("name", ["vanish", "clip"])
def test_a_gradient_lessons_link_scrolls_to_its_figure(name):
    L = lessons.lesson(lessons.number_of(name))
    path, query, fragment = query_of(L)
    assert path == "Gradient_flow" and fragment == L.anchor
    at = open_page("pages/2_Gradient_flow.py", timeout=300, **L.link()[1])
    assert not at.exception, [e.value for e in at.exception]
    anchors = {h.proto.anchor: h.value for h in at.subheader}
    title = {"vanish": "How far back does the gradient reach?", "clip": "Clipping an exploding gradient"}[name]
    assert anchors.get(fragment) == title


def test_the_real_series_link_builds_the_forecast_labs_config_of_the_lesson():
    L = lessons.lesson(lessons.number_of("real"))
    _, q, _ = query_of(L)
    config = fc.ForecastConfig(  # as pages/5_Forecast_lab.py builds it from its settings
        window=int(q["window"]),
        horizon=int(q["horizon"]),
        season=int(q["season"]) or None,
        hidden_size=int(q["hidden_size"]),
        updates=int(q["updates"]),
        seed=int(q["seed"]),
        difference=q["difference"] == "True",
    )
    assert config == lesson_labs.REAL_CONFIG
    assert (q["source"], q["series"], q["models"]) == ("shipped", lesson_labs.REAL, lesson_labs.REAL_KIND)


def test_the_found_cells_link_opens_the_text_lab_on_its_model_and_quantity():
    L, m, _, _ = view("cell")
    _, q, _ = query_of(L)
    assert (q["corpus"], q["cell"], q["source"]) == (lesson_labs.TEXT_CORPUS, lesson_labs.TEXT_CELL, "shipped")
    assert q["quantity"] == m["best"].quantity
    assert int(q["view"]) == lesson_labs.TEXT_START  # the lab shows the text the lesson colours
    # the pinned stretch still shows what the lesson is about: every depth from 0 to 4
    (heat,) = [t for t in json.loads(lesson_labs.figure_text(m).to_json())["data"] if t["type"] == "heatmap"]
    index = array(heat["customdata"]).astype(int)
    assert index[index >= 0].min() == lesson_labs.TEXT_START
    assert set(m["depth"][index[index >= 0]]) >= {0, 1, 2, 3, 4}


@pytest.mark.parametrize("name", ["train", "gru", "costs"])
def test_a_training_lessons_link_opens_the_lab_on_the_runs_and_models_its_figure_draws(name):
    L = lessons.lesson(lessons.number_of(name))
    data = lessons.load_data()
    spec = json.loads(L.figure(L.measure(data)).to_json())
    path, q, _ = query_of(L)
    assert path == "Training_lab"
    models = q["models"] if isinstance(q["models"], list) else [q["models"]]
    bars = [t for t in spec["data"] if t["type"] == "bar"]
    drawn = set(bars[0]["x"]) if bars else drawn_models(spec)
    assert {lessons.MODEL_NAMES[k] for k in models} == drawn
    record = data["small"] if name == "costs" else data["train"][models[0]]
    settings = lessons.training.settings_of(lessons.training.TrainConfig(**record["config"]))
    for field, value in settings.items():  # the drawn runs' own config, field by field
        assert q[field] == str(value), field
