"""The pure pieces the pages are built from: input parsing, live-number equations, figure builders."""

import numpy as np
import plotly.graph_objects as go
import pytest

import rnnviz
from rnnviz.engine import inputs, studies
from rnnviz.figures import colormaps, diagram, equations, stepper, training_lab


def test_parse_sequence_accepts_commas_spaces_and_newlines():
    x = inputs.parse_sequence("1, 0 -0.5\n2;3", input_size=2)
    np.testing.assert_array_equal(x[:, 0], [1, 0, -0.5, 2, 3])
    assert x.shape == (5, 2) and np.array_equal(x[:, 0], x[:, 1])


@pytest.mark.parametrize("preset", ["pulse", "pulse_noise", "sine", "random"])
def test_presets_have_the_asked_shape_and_are_seeded(preset):
    a = inputs.make_sequence(preset, 37, seed=4, input_size=3)
    assert a.shape == (37, 3) and np.all(np.isfinite(a))
    np.testing.assert_array_equal(a, inputs.make_sequence(preset, 37, seed=4, input_size=3))
    if preset == "pulse":
        assert a[0, 0] == 1 and np.all(a[1:] == 0)


def test_make_sequence_refuses_bad_requests():
    with pytest.raises(ValueError, match="unknown input preset"):
        inputs.make_sequence("square", 10)
    with pytest.raises(ValueError, match="between 1 and 500"):
        inputs.make_sequence("sine", 0)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_unit_values_reproduce_the_trace(kind):
    """The numbers printed under the equations must combine to the value the heatmap shows."""
    cell = rnnviz.init_cell(kind, 2, 5, seed=1, **({"forget_bias": 1.0} if kind != "rnn" else {}))
    x = np.random.default_rng(0).normal(size=(9, 2))
    tr = cell.forward(x)
    sig = rnnviz.sigmoid
    for t, j in ((0, 0), (4, 3), (8, 4)):
        v = equations.unit_values(cell, x, tr.h, tr.c, tr.gates, t, j)
        if kind == "rnn":
            assert np.tanh(v["a"]) == pytest.approx(v["h"], abs=1e-12)
        elif kind == "lstm":
            for gate, fn in (("input", sig), ("forget", sig), ("cell", np.tanh), ("output", sig)):
                assert fn(v["a_" + gate]) == pytest.approx(v[gate], abs=1e-12)
            assert v["forget"] * v["c_prev"] + v["input"] * v["cell"] == pytest.approx(v["c"], abs=1e-12)
            assert v["output"] * np.tanh(v["c"]) == pytest.approx(v["h"], abs=1e-12)
        else:
            assert np.tanh(v["a_in"] + v["reset"] * v["a_hn"]) == pytest.approx(v["new"], abs=1e-12)
            assert (1 - v["update"]) * v["new"] + v["update"] * v["h_prev"] == pytest.approx(v["h"], abs=1e-12)
        lines = equations.equations_with_numbers(kind, v)
        assert len(lines) == len(equations.EQUATIONS[kind])
        assert f"{v['h']:.3f}" in lines[-1][1]


def test_unit_values_checks_its_range():
    cell = rnnviz.init_cell("gru", 1, 3)
    tr = cell.forward(np.zeros((4, 1)))
    with pytest.raises(ValueError, match="step must be"):
        equations.unit_values(cell, tr.x, tr.h, None, tr.gates, 4, 0)


def lstm_timeline(T=40, H=6, step=7, preset="sine", detail=True):
    cell = rnnviz.init_cell("lstm", 1, H, seed=3, forget_bias=1.0)
    run = studies.run(cell, inputs.make_sequence(preset, T))
    series = equations.unit_series(cell, run.x, run.h, run.c, run.gates, 2)
    d = stepper.Detail("lstm", 2, series) if detail else None
    return run, stepper.timeline_figure(
        run.x, stepper.trace_panels("lstm", run.h, run.c, run.gates), step=step, detail=d
    )


def test_timeline_frames_touch_only_scatter_traces_and_heatmaps_are_images():
    run, fig = lstm_timeline()
    frames = fig.built_frames
    panels = 6  # h, c, four gates
    assert len(frames) == 40 and len(fig.layout.images) == panels  # the pictures are layout images
    animated = frames[0]["traces"]
    assert len(animated) == 1 + panels + 2  # a step marker per row, the diagram's boxes, its numbers
    assert all(fig.data[i].type == "scatter" for i in animated)  # frames never re-send a heatmap (plotly.js #4491)
    assert all(set(f) == {"name", "traces", "data"} for f in frames)  # layout is never animated
    assert frames[12]["data"][0]["x"] == [12, 12]
    assert fig.layout.sliders[0].active == 7 and len(fig.layout.sliders[0].steps) == 40
    axes = (fig.layout.coloraxis, fig.layout.coloraxis2, fig.layout.coloraxis3)
    assert {(a.cmin, a.cmax) for a in axes} >= {(-1, 1), (0, 1)}  # states and gates pinned; c has its own range


def test_timeline_figure_is_valid_plotly_frames_included():
    """Frames skip Plotly's validation at run time (it dominated the build), so validate one whole figure here."""
    _, fig = lstm_timeline()
    checked = go.Figure(fig.to_dict())
    assert len(checked.frames) == 40 and checked.frames[3].data[-1].text[0].endswith("step t = 3</b>")


def test_timeline_frames_carry_each_steps_numbers():
    """At frame t the diagram and the lines of numbers show step t of the trace."""
    run, fig = lstm_timeline()
    boxes, lines = fig.built_frames[0]["traces"][-2:]
    for t in (0, 13, 39):
        frame = fig.built_frames[t]
        texts = dict(zip(frame["traces"], frame["data"], strict=True))
        box_text = " ".join(texts[boxes]["text"])
        assert f"{run.c[t, 2]:.2f}" in box_text and f"{run.gates['forget'][t, 2]:.2f}" in box_text
        numbers = " ".join(texts[lines]["text"]).replace("−", "-")
        assert f"{run.h[t, 2]:.3f}" in numbers and f"{run.c[t, 2]:.3f}" in numbers
        assert f"step t = {t}" in texts[lines]["text"][0]


def decode_png(uri: str) -> np.ndarray:
    """(height, width, 3) pixels of an 8-bit RGB PNG data URI without filters (what heatmap_png writes)."""
    import base64
    import zlib

    png = base64.b64decode(uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    return (
        np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + 3 * width)[:, 1:].reshape(height, width, 3)
    )


def hex_of(pixel) -> str:
    return "#" + "".join(f"{int(v):02X}" for v in pixel)


def test_heatmap_image_has_the_values_colours_and_marks_values_beyond_the_range():
    values = np.array([[-1.0, 0.0], [1.0, 5.0]])  # (T=2, H=2)
    scale = colormaps.STATE
    pixels = decode_png(colormaps.heatmap_png(values, scale, cell=(4, 4)))
    assert pixels.shape == (8, 8, 3)  # T * 4 by H * 4 pixels
    assert hex_of(pixels[0, 0]) == scale.color(0.0)  # top row is the last unit: unit 1 at t=0
    assert hex_of(pixels[4, 0]) == scale.color(-1.0)  # unit 0 at t=0
    assert hex_of(pixels[4, 4]) == scale.color(1.0)  # unit 0 at t=1
    block = pixels[0:4, 4:8]  # unit 1 at t=1: 5.0, beyond the pinned range
    assert hex_of(block[0, 0]) == scale.color(1.0)  # clipped to the end colour at its edge
    assert hex_of(block[1, 1]) in ("#000000", "#FFFFFF") and hex_of(block[2, 2]) == hex_of(block[1, 1])  # a dot
    inside = pixels[4:8, 4:8]
    assert hex_of(inside[1, 1]) == scale.color(1.0)  # 1.0 is inside the range: no dot


def test_fitted_scale_covers_the_data_and_marks_outliers():
    c = np.concatenate([np.linspace(-3.2, 3.2, 999), [40.0]])
    scale = colormaps.fitted("c", c, floor=1.0)
    assert scale.lo == -scale.hi and scale.hi >= 3.2 and scale.hi in (5.0, 10.0, 20.0, 50.0)
    assert colormaps.fitted("c", np.zeros(5), floor=1.0).hi == 1.0


def test_largest_stepper_figure_stays_under_one_megabyte():
    """All three cells on one input, 32 units, 200 steps, the default rows: the JSON sent to the browser."""
    runs = {
        k: studies.run(c.make_cell(), c.make_input())
        for k, c in (
            (k, studies.CellConfig(kind=k, hidden_size=32, length=200, preset="random"))
            for k in ("rnn", "lstm", "gru")
        )
    }
    panels = [
        p
        for k, r in runs.items()
        for p in stepper.trace_panels(k, r.h, r.c, r.gates, prefix=k)
        if p.quantity in ("h", "c", "forget", "update")
    ]
    run = runs["lstm"]
    detail = stepper.Detail("lstm", 0, equations.unit_series(ui_cell(run), run.x, run.h, run.c, run.gates, 0))
    fig = stepper.timeline_figure(run.x, panels, detail=detail)
    assert len(fig.to_json()) < 1_000_000


def ui_cell(run):
    return rnnviz.from_state_dict(run.kind, run.state_dict)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cell_diagram_labels_the_values(kind):
    cell = rnnviz.init_cell(kind, 1, 2)
    tr = cell.forward(np.ones((3, 1)))
    v = equations.unit_values(cell, tr.x, tr.h, tr.c, tr.gates, 2, 1)
    fig = diagram.cell_diagram(kind, v)
    texts = " ".join(fig.data[0].text)
    assert f"{v['h']:.2f}" in texts
    for gate in tr.gates:
        assert f"{v[gate]:.2f}" in texts


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_number_lines_show_the_values_that_recombine(kind):
    cell = rnnviz.init_cell(kind, 2, 4, seed=5)
    x = np.random.default_rng(1).normal(size=(6, 2))
    tr = cell.forward(x)
    series = equations.unit_series(cell, x, tr.h, tr.c, tr.gates, 3)
    for t in range(6):
        v = {k: float(a[t]) for k, a in series.items()}
        assert v == equations.unit_values(cell, x, tr.h, tr.c, tr.gates, t, 3)
        text = " ".join(equations.number_lines(kind, v)).replace("−", "-")
        assert f"{v['h']:.3f}" in text


def test_pulse_memory_is_zero_without_a_pulse_effect_and_fades_for_the_rnn():
    cell = studies.CellConfig(kind="rnn", hidden_size=8, spectral_radius=0.5).make_cell()
    memory = studies.pulse_memory(cell, 60)
    assert memory[0] > 0.1 and memory[-1] < 1e-6 * memory[0]


@pytest.mark.parametrize("rows", range(1, 12))
def test_stacked_domains_stay_inside_the_figure(rows):
    domains = stepper._stacked_domains([0.6] + [1.0] * (rows - 1), gap=min(0.06, 0.25 / rows))
    assert all(0.0 <= lo < hi <= 1.0 for lo, hi in domains)
    assert all(a[0] > b[1] for a, b in zip(domains, domains[1:], strict=False))  # top to bottom, no overlap


def test_reference_line_labels_sit_on_their_lines_on_log_axes():
    from rnnviz.engine import training

    history = [training.Progress(25 * i, 0.1, 1.0, 0.1, 0.2 / i, 1.0, False) for i in range(1, 5)]
    fig = training_lab.learning_curves({"lstm": history}, "MSE", 0.167, 0.04)
    notes = {a.text: a.y for a in fig.layout.annotations}
    assert notes["solved"] == pytest.approx(np.log10(0.04))  # Plotly reads annotation y in log10 units
    assert {s.y0 for s in fig.layout.shapes} == {0.167, 0.04}  # but shapes in data units
    accuracy = training_lab.learning_curves({"lstm": history}, "accuracy", 0.25, 0.95)
    assert {a.text: a.y for a in accuracy.layout.annotations}["solved"] == 0.95


def test_presenter_mode_keeps_the_animation_and_enlarges_its_frames():
    """Presenter mode copies a figure with larger type: the stepper's frames must come along, larger too."""
    from rnnviz.app import ui

    run, fig = lstm_timeline()
    for source in (fig, ui.SharedFigure(fig.to_dict())):
        big = ui.presenter_figure(source)
        assert len(big.built_frames) == len(fig.built_frames) == 40
        sizes = [d["textfont"]["size"] for f in big.built_frames for d in f["data"] if "textfont" in d]
        assert sizes and min(sizes) >= ui.PRESENTER_FONT
        assert big.layout.font.size >= ui.PRESENTER_FONT


def test_an_overflowing_state_still_gets_hover_values():
    """A relu RNN with a large recurrent scale grows past float32's range (hypothesis found one at radius 1.55,
    length 111): the hover layers show the float32 limit instead of warning about the cast."""
    huge = np.array([[1e300, -1e300], [np.inf, 2.0]])
    for pick in (None, "rnn"):
        panel = stepper.Panel("h", "h", huge, colormaps.STATE, pick=pick)
        (trace,) = stepper._panel_traces(panel, "2")  # RuntimeWarnings are errors in this suite
        shown = np.asarray(trace["z"] if pick is None else trace["customdata"])
        assert np.isfinite(shown).all()
        assert 2.0 in shown and np.finfo(np.float32).max in shown and -np.finfo(np.float32).max in shown
