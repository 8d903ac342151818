"""Every sentence with a number, checked against the figure it sits beside.

Each check builds the figure at the sentence's own settings, reads the figure's JSON (axis ticks, trace
styles, the plotted values) and compares what the sentence says with it. Each checker returns its problems,
so a test can also show that it catches a wrong sentence: the sentences the app showed before this test
existed (a grid line "ten times less" on an axis with a line every three decades, a rate per step that does
not multiply back to the total, a verdict from a quantity the figure does not plot) are fed to the same
checker and must fail it.
"""

import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from rnnviz.content import lessons
from rnnviz.engine import analysis, studies, tasks
from rnnviz.figures import gradient_flow as gfig
from rnnviz.figures import training_lab
from tests.helpers import GRADIENTS, LAG, SCENARIOS, assert_clean, charts, decoded, open_page, readout, traces, ys

DATA = lessons.load_data()
NUMBER = r"([+-−]?\d[\d,]*\.?\d*(?:e[+-]?\d+)?)"
DASHES = {"solid": "solid", "dot": "dotted", "dash": "dashed", "dashdot": "dash-dotted", "longdash": "long-dashed"}


def spec_of(fig: go.Figure) -> dict:
    """The figure as the browser gets it: its JSON, typed arrays decoded."""
    return decoded(json.loads(fig.to_json()))


def num(text: str) -> float:
    return float(text.replace(",", "").replace("−", "-"))


def near(shown: str, value: float, rel: float = 0.051) -> bool:
    """A number as printed (two significant digits unless ``rel`` says otherwise) against the value."""
    return abs(num(shown) - value) <= rel * abs(value) + 1e-12


def grab(pattern: str, text: str) -> tuple[str, ...]:
    match = re.search(pattern.replace("{N}", NUMBER), text)
    assert match, (pattern, text)
    return match.groups()


def lesson_view(name: str) -> tuple[lessons.Lesson, dict, dict, tuple[str, ...], str, str]:
    """A lesson at its settings: the lesson, its measurement, its figure's JSON, the paragraphs and notice
    as shown beside that figure, and the reveal's text."""
    L = lessons.lesson(lessons.number_of(name))
    m = L.measure(DATA if L.trains else {})
    spec = spec_of(L.figure(m))
    paragraphs, notice = L.words(spec)
    return L, m, spec, paragraphs, notice, L.reveal(m).text


def by_name(spec: dict, name: str) -> dict:
    (trace,) = [t for t in spec["data"] if t.get("name") == name]
    return trace


def style(line: dict) -> str:
    """A line as a student names it, decided here independently of the app's own wording."""
    dash = DASHES[line.get("dash", "solid")]
    return dash if line.get("width") is None else f"{'thick' if line['width'] >= 3 else 'thin'} {dash}"


# --------------------------------------------------------------------------------------------------
# Checkers: the problems of one sentence against one figure


def grid_problems(sentence: str, spec: dict) -> list[str]:
    (factor,) = grab(r"{N} times less", sentence)
    axis = spec["layout"]["yaxis"]
    drawn = np.concatenate([ys(t) for t in spec["data"] if t.get("y") is not None])
    drawn = drawn[np.isfinite(drawn) & (drawn > 0)]
    decades = np.ceil(np.log10(drawn.max())) - np.floor(np.log10(drawn.min()))
    problems = []
    if axis.get("type") != "log" or "dtick" not in axis:
        problems.append(f"the axis sets no decades per grid line: {axis}")
    elif num(factor) != 10 ** axis["dtick"]:
        problems.append(f"says a factor of {factor} per grid line, the axis has 10^{axis['dtick']}")
    elif decades / axis["dtick"] > 7:
        problems.append(f"{decades:g} decades at 10^{axis['dtick']} a line: too many grid lines to read")
    return problems


def style_problems(sentence: str, subject: str, line: dict) -> list[str]:
    """``sentence`` names ``subject``'s style as "<style> <subject>"; does ``line`` draw it so?"""
    said = re.search(rf"((?:thick |thin )?[\w-]+) {subject}", sentence)
    if not said:
        return [f"no style named for {subject!r} in {sentence!r}"]
    words = said.group(1)
    drawn = style(line)
    if words.split()[-1] != drawn.split()[-1] or (len(words.split()) == 2 and words != drawn):
        return [f"says {words!r} {subject}, the figure draws it {drawn!r}"]
    return []


def rate_problems(rate: str, steps: int, total: float) -> list[str]:
    """A rate per step, multiplied ``steps`` times, gives the total shown (to its printed precision)."""
    again = num(rate) ** steps
    if not abs(np.log(again) - np.log(total)) <= 0.06:
        return [f"×{rate} per step over {steps} steps gives {again:.3g}, the total is {total:.3g}"]
    return []


def card_problems(detail: str, y: np.ndarray) -> list[str]:
    """A Gradient flow card against the lag curve it describes (``y[k]``: the size k steps back)."""
    ratio = y[np.isfinite(y)] / y[0]
    problems = []
    if "after" in detail:
        total, steps = grab(r"×{N} after (\d+) steps", detail)
        if not near(total, ratio[int(steps)]):
            problems.append(f"×{total} after {steps} steps, the curve is at ×{ratio[int(steps)]:.3g}")
        if "per step" in detail:
            (rate,) = grab(r"×{N} per step on average", detail)
            problems += rate_problems(rate, int(steps), num(total))
    for pattern, pick in (
        (r"never below ×{N} of its size at the loss \(lowest (\d+) steps back\)", np.argmin),
        (r"down to ×{N} of its size at the loss \((\d+) steps back\)", np.argmin),
        (r"up to ×{N} its size at the loss \((\d+) steps back\)", np.argmax),
    ):
        if re.search(pattern.replace("{N}", NUMBER), detail):
            value, lag = grab(pattern, detail)
            if int(lag) != pick(ratio) or not near(value, ratio[int(lag)]):
                problems.append(f"×{value} at lag {lag}; the curve's is ×{ratio[pick(ratio)]:.3g} at {pick(ratio)}")
            if pick is np.argmin and detail.startswith("never below") and ratio.min() < analysis.KEPT:
                problems.append("called kept, but the curve falls below a tenth")
    if detail.startswith("below 1/1000"):
        (lag,) = grab(r"from (\d+) steps back", detail)
        if int(lag) != np.nonzero(ratio < analysis.VANISHED)[0][0]:
            problems.append(f"below 1/1000 from lag {lag}, the curve from {np.nonzero(ratio < 1e-3)[0][0]}")
    return problems


# --------------------------------------------------------------------------------------------------
# The lessons


def test_lesson_1_equation_numbers_are_the_heatmaps():
    L, m, spec, paragraphs, notice, text = lesson_view("recurrence")
    x_in, rec, total, h = grab(r"b_ih is {N} .*b_hh is {N}\. Their sum {N} .* h_t = {N}", text)
    assert near(total, num(x_in) + num(rec), rel=0.01) and near(h, np.tanh(num(total)), rel=0.01)
    (heatmap,) = [t for t in spec["data"] if t["type"] == "heatmap"]
    z = np.asarray(heatmap["z"], dtype=float)
    assert z.shape == (lessons.RECURRENCE.hidden_size, lessons.RECURRENCE.length)  # "each row ... one unit"
    assert near(h, z[lessons.RECURRENCE_UNIT, lessons.RECURRENCE_STEP], rel=0.01)
    x_trace = next(t for t in spec["data"] if t["type"] == "scatter" and len(ys(t)) == lessons.RECURRENCE.length)
    assert ys(x_trace)[lessons.RECURRENCE_STEP] == 0  # "x_t is 0"
    assert f"{lessons.RECURRENCE.hidden_size} units" in paragraphs[1]


def test_lesson_2_grid_lines_and_the_step_the_pulse_is_gone():
    L, m, spec, paragraphs, notice, text = lesson_view("forget")
    assert grid_problems(notice, spec) == []
    assert grid_problems("Each grid line down the log axis is ten times less".replace("ten", "10"), spec)  # as before
    y = ys(spec["data"][0])
    gone, last, share = grab(r"at step (\d+); at step (\d+) it is {N} of it", text)
    assert int(gone) == np.nonzero(y < analysis.VANISHED * y[0])[0][0]
    assert int(last) == len(y) - 1 and near(share, y[-1] / y[0])
    (line,) = spec["layout"]["shapes"]
    assert line["y0"] == pytest.approx(analysis.VANISHED * y[0])  # the dotted "1/1000 of step 0"


def test_lesson_3_styles_share_and_rate_are_the_figures():
    L, m, spec, paragraphs, notice, text = lesson_view("vanish")
    measured = by_name(spec, lessons.VANISH_MEASURED)
    (theory,) = [t for t in spec["data"] if t["name"].startswith("theory:")]
    assert style_problems(paragraphs[2], "curve is measured", measured["line"]) == []
    assert style_problems(paragraphs[1], "grey theory curve", theory["line"]) == []
    assert theory["line"]["color"] == "#666666"  # grey
    assert style_problems("the dotted grey theory curve", "grey theory curve", theory["line"])  # a wrong style
    y = ys(measured)
    lag, share, rate = grab(r"(\d+) steps back the gradient is {N} of its size at the loss \(×{N} per step", text)
    assert near(share, y[int(lag)] / y[0])
    assert rate_problems(rate, int(lag), num(share)) == []
    (sigma,) = grab(r"σ_max\(W_hh\) is {N}", text)
    assert near(sigma, ys(theory)[1] / ys(theory)[0], rel=0.002)  # the bound's factor per step
    fitted = analysis.classify(m["rnn"].h_norm).factor  # the sentence before: a least-squares fit per step
    assert rate_problems(f"{fitted:.3f}", int(lag), num(share))


def test_lesson_4_losses_and_the_largest_gradient_are_the_figures():
    L, m, spec, paragraphs, notice, text = lesson_view("clip")
    runs = {(t["name"], t.get("yaxis", "y")): ys(t) for t in spec["data"] if t.get("name")}
    plain, clipped = runs["no clipping", "y2"], runs[f"clipped at {lessons.CLIP_THRESHOLD:g}", "y2"]
    steps, loss_plain, loss_clipped = grab(r"after (\d+) SGD steps: loss {N} without clipping, {N} with", text)
    assert int(steps) == len(runs["no clipping", "y"])
    assert near(loss_plain, plain[-1]) and near(loss_clipped, clipped[-1])
    norm, at, before, after = grab(r"was {N} at step (\d+); its loss went from {N} to {N}", text)
    norms = runs["no clipping", "y"]
    assert int(at) == int(np.nanargmax(norms)) and near(norm, np.nanmax(norms))
    assert near(before, plain[int(at)]) and near(after, plain[int(at) + 1])


def test_lesson_5_values_at_the_dotted_line_and_the_rate():
    L, m, spec, paragraphs, notice, text = lesson_view("gated")
    at = lessons.GATED_AT
    assert style_problems(notice, "line marks step", spec["layout"]["shapes"][0]["line"]) == []
    assert spec["layout"]["shapes"][0]["x0"] == at
    curves = {t["name"]: ys(t) for t in spec["data"]}
    rnn, lstm, share_rnn, share_lstm = grab(r"RNN's curve is at {N}, the LSTM's at {N}; that is {N} and {N}", text)
    assert near(rnn, curves["RNN"][at]) and near(lstm, curves["LSTM"][at])
    assert near(share_rnn, curves["RNN"][at] / curves["RNN"][0])
    assert near(share_lstm, curves["LSTM"][at] / curves["LSTM"][0])
    steps, rate = grab(r"Over those (\d+) steps the LSTM's curve shrank by ×{N} per step", text)
    assert rate_problems(rate, int(steps), num(share_lstm)) == []
    (gate,) = grab(r"forget gate, which multiplies the cell state at every step, averaged {N}", text)
    assert rate_problems(gate, at, num(share_lstm))  # "multiplied by about that each step": 0.953^100 is 0.008
    assert lessons.reveal_gated(m).answer == lessons.LESSONS_OPTIONS["gated"][1]  # the LSTM's curve is the higher


def test_lesson_6_baseline_style_and_results_are_the_curves():
    L, m, spec, paragraphs, notice, text = lesson_view("train")
    spec6 = tasks.SPECS[lessons.TRAIN.task]
    baseline = next(s for s in spec["layout"]["shapes"] if s["y0"] == spec6.baseline)
    assert style_problems(notice, "baseline", baseline["line"]) == []
    assert style_problems("Watch the dashed baseline", "baseline", baseline["line"])
    for name in ("RNN", "LSTM"):
        trace = by_name(spec, f"{name} test")
        metric, how = grab(rf"the {name} ends at test MSE {{N}} \(([^)]*)\)", text)
        assert near(metric, ys(trace)[-1], rel=0.006)
        below = np.nonzero(ys(trace) < spec6.threshold)[0]
        solved_at = int(np.asarray(trace["x"])[below[0]]) if below.size else None
        assert how == (f"solved at update {solved_at}" if solved_at else "not solved"), (how, solved_at)
    threshold, base = grab(r"below {N}; always answering the mean scores {N}", text)
    assert num(threshold) == spec6.threshold and near(base, spec6.baseline, rel=0.003)


def test_lesson_7_times_and_parameters_are_the_bars():
    L, m, spec, paragraphs, notice, text = lesson_view("gru")
    bars = {t.get("xaxis", "x"): dict(zip(t["x"], ys(t), strict=True)) for t in spec["data"]}
    lstm_ms, gru_ms = grab(r"LSTM {N} ms, GRU {N} ms per update", text)
    assert near(lstm_ms, bars["x2"]["LSTM"], rel=0.002) and near(gru_ms, bars["x2"]["GRU"], rel=0.002)
    p_lstm, p_gru, pct = grab(r"Parameters: LSTM (\d+), GRU (\d+) \((\d+)%\)", text)
    assert int(p_lstm) == bars["x"]["LSTM"] and int(p_gru) == bars["x"]["GRU"]
    assert abs(int(pct) - 100 * int(p_gru) / int(p_lstm)) <= 0.5


def test_lesson_8_styles_and_scores_are_the_curves():
    L, m, spec, paragraphs, notice, text = lesson_view("costs")
    test, train = by_name(spec, "LSTM test"), by_name(spec, "LSTM training")
    assert style_problems(paragraphs[2], "curve is its", test["line"]) == []
    assert style_problems(paragraphs[2], r"one \(open markers\)", train["line"]) == []
    assert train["marker"]["symbol"].endswith("-open")
    before = "The solid curve is its accuracy on held-out sequences, the dotted one on its own training sequences."
    assert style_problems(before, "curve is its", test["line"]) and style_problems(before, "one on", train["line"])
    train_m, test_m, base = grab(
        r"training accuracy {N} .*held-out accuracy {N} \(the input-blind baseline is {N}", text
    )
    assert near(train_m, ys(train)[-1], rel=0.001) and near(test_m, ys(test)[-1], rel=0.001)
    assert any(s["y0"] == num(base) for s in spec["layout"]["shapes"])
    ms = DATA["timing"]["ms_per_update"]
    lstm_ms, rnn_ms, times = grab(r"{N} ms for the LSTM against {N} ms for the RNN \(×{N}", text)
    assert near(times, num(lstm_ms) / num(rnn_ms)) and near(lstm_ms, ms["lstm"], rel=0.002)


# --------------------------------------------------------------------------------------------------
# The landing page


def verdict_problems(verdict: str, spec: dict) -> list[str]:
    """The landing page's "most kept" against the plotted curves at the dotted line."""
    (line,) = spec["layout"]["shapes"]
    at = {t["name"]: ys(t)[int(line["x0"])] for t in spec["data"]}
    best = max(at, key=at.get)
    tied = sorted(k for k, v in at.items() if at[best] < lessons.SAME_FACTOR * v)
    expected = best if len(tied) == 1 else f"{' and '.join(tied)}, about the same"
    return [] if verdict == expected else [f"verdict {verdict!r}; the curves at the line say {expected!r}: {at}"]


def test_landing_verdict_is_read_off_the_plotted_curves():
    memory = lessons.landing_memory()
    spec = spec_of(lessons.landing_figure(memory))
    verdict, text = lessons.landing_verdict(memory)
    assert verdict_problems(verdict, spec) == []
    assert verdict_problems("LSTM and GRU, about the same", spec)  # the verdict before, from shares of step 1
    (line,) = spec["layout"]["shapes"]
    assert line["x0"] == lessons.LANDING_AT and line["line"]["dash"] == "dot" and "(the dotted line)" in text
    for name in ("RNN", "LSTM", "GRU"):
        (value,) = grab(rf"{name} {{N}}", text.split("read: ")[1])
        assert near(value, ys(by_name(spec, name))[lessons.LANDING_AT])
    winner, ratio, runner = grab(r"The (\w+)'s is {N} times the (\w+)'s", text)
    at = {t["name"]: ys(t)[lessons.LANDING_AT] for t in spec["data"]}
    assert winner == verdict and near(ratio, at[winner] / at[runner])


def test_landing_page_shows_the_verdict_of_its_own_figure():
    at = open_page()
    at.radio(key="home.guess").set_value("LSTM").run()
    assert_clean(at)
    (chart,) = at.get("plotly_chart")
    spec = decoded(json.loads(chart.proto.spec))
    verdict = re.search(r"Most kept: \*\*(.+?)\*\*", at.success[0].value).group(1)
    assert verdict_problems(verdict, spec) == []


# --------------------------------------------------------------------------------------------------
# The Gradient flow cards and the caption under the lag figure


@pytest.mark.parametrize("scenario", range(SCENARIOS))
def test_gradient_cards_and_caption_are_the_lag_curves(scenario):
    at = open_page(GRADIENTS)
    at.sidebar.button[scenario].click().run()
    assert_clean(at)
    lag = traces(charts(at)[LAG])
    names = {"RNN: dL/dh": "RNN  dL/dh", "LSTM: dL/dh": "LSTM dL/dh", "LSTM: dL/dc (cell path)": "LSTM dL/dc"}
    names["GRU: dL/dh"] = "GRU  dL/dh"
    names["LSTM 1997: dL/dc (no forget gate)"] = "LSTM 1997 dL/dc"
    for label, (word, detail) in readout(at).items():
        assert card_problems(detail, ys(lag[names[label]])) == [], (label, word, detail)
    at_lag = next((c.value for c in at.caption if c.value.startswith("At lag")), None)
    if at_lag:
        k, c_far, c_share, rnn_far, rnn_share = grab(
            r"At lag (\d+): .* is {N} \({N} of .* the RNN's {N} \({N} of", at_lag
        )
        c, r = ys(lag["LSTM dL/dc"]), ys(lag["RNN  dL/dh"])
        k = int(k)
        assert near(c_far, c[k]) and near(c_share, c[k] / c[0]) and near(rnn_far, r[k]) and near(rnn_share, r[k] / r[0])


def gradient_settings(at) -> dict:
    """The Gradient flow page's settings as its CellConfig takes them."""
    fields = ("spectral_radius", "forget_bias", "length", "hidden_size", "nonlinearity", "preset", "seed", "dtype")
    return {k: at.session_state[f"gradient.{k}"] for k in fields} | {"seed": int(at.session_state["gradient.seed"])}


@pytest.mark.parametrize("scenario", range(SCENARIOS))
def test_the_carousel_sentence_is_the_1997_curve_and_the_engines_factors(scenario):
    """The caption under the lag figure about the 1997 LSTM: its factor per step and its dL/dc at the lag it
    names are the engine's (recomputed here from the same settings) and the plotted curve's."""
    at = open_page(GRADIENTS)
    at.sidebar.button[scenario].click().run()
    assert_clean(at)
    (text,) = [c.value for c in at.caption if c.value.startswith("The 1997 LSTM")]
    config = studies.CellConfig(**gradient_settings(at))
    model = studies.gradient_study(config, ("lstm1997",)).models["lstm1997"]
    assert np.max(np.abs(model.c_factor - 1.0)) <= 1e-12
    factor, steps, units, lag, value, share = grab(
        r"by (exactly 1|1 to within \S+) at each of the (\d+) steps back, in all (\d+) units .* At lag (\d+) its dL/dc "
        r"is {N}, ×{N} its size",
        text,
    )
    assert factor == ("exactly 1" if np.all(model.c_factor == 1.0) else factor)
    assert int(steps) == model.c_factor.shape[0] - 1 and int(units) == config.hidden_size
    curve = ys(traces(charts(at)[LAG])["LSTM 1997 dL/dc"])
    k = int(lag)
    assert near(value, curve[k]) and near(value, model.c_norm[k]) and near(share, curve[k] / curve[0])


def test_the_carousel_sentence_says_when_there_is_no_carousel():
    k = np.arange(10.0)
    assert "not a carousel" in gfig.carousel_sentence(np.full((10, 3), 0.9), 0.9**k, 5)
    assert "exactly 1" in gfig.carousel_sentence(np.ones((10, 3)), np.ones(10), 5)


def test_the_old_card_sentence_fails_the_check():
    """The default view's cell-path card used to read "×0.94 after 199 steps (×0.993 per step)": a fitted
    rate that multiplies back to 0.25, and "kept" from the last point while the curve dips to 0.2."""
    config = studies.CellConfig(
        hidden_size=16, length=200, preset="pulse_noise", forget_bias=5.0, spectral_radius=1.0, dtype="float64"
    )
    c = studies.gradient_study(config).models["lstm"].c_norm
    assert card_problems(gfig.regime_card(c).detail, c) == []
    assert card_problems("over the whole sequence: ×0.94 after 199 steps (×0.993 per step on average)", c)
    dip = np.r_[np.linspace(1, 0.05, 100), np.linspace(0.05, 0.9, 100)]
    assert card_problems("never below ×0.9 of its size at the loss (lowest 199 steps back)", dip)


# --------------------------------------------------------------------------------------------------
# Captions about how numbers were measured


def test_timing_caption_says_alone_or_shared():
    assert training_lab.timing_caption(0) == "Timed alone on the server."
    assert training_lab.timing_caption(1).startswith("Timed while sharing the server with 1 other run:")
    assert training_lab.timing_caption(3).startswith("Timed while sharing the server with 3 other runs:")
    with pytest.raises(ValueError):
        training_lab.timing_caption(-1)


def test_replay_caption_names_the_machine_and_the_last_digits():
    made_on = DATA["made_on"]
    text = training_lab.replay_caption(made_on)
    assert made_on["cpu"] in text and made_on["blas_kernel"] in text and made_on["numpy"] in text
    assert "may differ in its last digits" in text
    assert "may differ in its last digits" in training_lab.replay_caption(None)
    for name in ("lessons", "sweep_default"):
        shipped = json.loads((lessons.DATA_PATH.parent / f"{name}.json").read_text())["made_on"]
        assert {"engine", "cpu", "numpy", "blas_kernel"} <= set(shipped), name
    papers = json.loads((lessons.DATA_PATH.parent / "papers.json").read_text())["experiments"]
    for name, experiment in papers.items():  # the papers' records say what made them, experiment by experiment
        assert {"cpu", "numpy", "blas_kernel"} <= set(experiment["machine"]), name
        assert all(run["engine"]["engine_sha256"] for run in experiment["runs"]), name
