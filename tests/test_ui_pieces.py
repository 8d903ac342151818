"""The pure pieces the pages are built from: input parsing, live-number equations, figure builders."""

import numpy as np
import pytest

import rnnviz
from rnnviz import experiments, explain, figures, inputs, training_figures


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
        v = explain.unit_values(cell, x, tr.h, tr.c, tr.gates, t, j)
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
        lines = explain.equations_with_numbers(kind, v)
        assert len(lines) == len(explain.EQUATIONS[kind])
        assert f"{v['h']:.3f}" in lines[-1][1]


def test_unit_values_checks_its_range():
    cell = rnnviz.init_cell("gru", 1, 3)
    tr = cell.forward(np.zeros((4, 1)))
    with pytest.raises(ValueError, match="step must be"):
        explain.unit_values(cell, tr.x, tr.h, None, tr.gates, 4, 0)


def test_overview_animates_only_the_step_markers():
    run = experiments.run(rnnviz.init_cell("lstm", 1, 6), inputs.make_sequence("sine", 40))
    fig = figures.overview_figure(run.x, figures.trace_panels("lstm", run.h, run.c, run.gates), step=7)
    rows = 1 + 6  # input, h, c, four gates
    assert len(fig.frames) == 40
    marker_ids = list(fig.frames[0].traces)
    assert len(marker_ids) == rows
    assert all(fig.data[i].type == "scatter" for i in marker_ids)  # heatmaps are never re-sent
    assert list(fig.frames[12].data[0].x) == [12, 12]
    assert fig.layout.sliders[0].active == 7 and len(fig.layout.sliders[0].steps) == 40
    assert fig.layout.coloraxis.cmin == -1 and fig.layout.coloraxis2.cmax == 1  # pinned colour ranges


def test_largest_stepper_figure_stays_under_one_megabyte():
    config = experiments.CellConfig(kind="lstm", hidden_size=32, length=200, preset="random")
    run = experiments.run(config.make_cell(), config.make_input())
    fig = figures.overview_figure(run.x, figures.trace_panels("lstm", run.h, run.c, run.gates))
    assert len(fig.to_json()) < 1_000_000


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cell_diagram_labels_the_values(kind):
    cell = rnnviz.init_cell(kind, 1, 2)
    tr = cell.forward(np.ones((3, 1)))
    v = explain.unit_values(cell, tr.x, tr.h, tr.c, tr.gates, 2, 1)
    fig = figures.cell_diagram(kind, v)
    texts = " ".join(a.text for a in fig.layout.annotations if a.text)
    assert f"{v['h']:.2f}" in texts
    for gate in tr.gates:
        assert f"{v[gate]:.2f}" in texts


def test_pulse_memory_is_zero_without_a_pulse_effect_and_fades_for_the_rnn():
    cell = experiments.CellConfig(kind="rnn", hidden_size=8, spectral_radius=0.5).make_cell()
    memory = experiments.pulse_memory(cell, 60)
    assert memory[0] > 0.1 and memory[-1] < 1e-6 * memory[0]


@pytest.mark.parametrize("rows", range(1, 12))
def test_stacked_domains_stay_inside_the_figure(rows):
    domains = figures._stacked_domains([0.6] + [1.0] * (rows - 1), gap=min(0.06, 0.25 / rows))
    assert all(0.0 <= lo < hi <= 1.0 for lo, hi in domains)
    assert all(a[0] > b[1] for a, b in zip(domains, domains[1:], strict=False))  # top to bottom, no overlap


def test_reference_line_labels_sit_on_their_lines_on_log_axes():
    from rnnviz import training

    history = [training.Progress(25 * i, 0.1, 1.0, 0.1, 0.2 / i, 1.0, False) for i in range(1, 5)]
    fig = training_figures.learning_curves({"lstm": history}, "MSE", 0.167, 0.04)
    notes = {a.text: a.y for a in fig.layout.annotations}
    assert notes["solved"] == pytest.approx(np.log10(0.04))  # Plotly reads annotation y in log10 units
    assert {s.y0 for s in fig.layout.shapes} == {0.167, 0.04}  # but shapes in data units
    accuracy = training_figures.learning_curves({"lstm": history}, "accuracy", 0.25, 0.95)
    assert {a.text: a.y for a in accuracy.layout.annotations}["solved"] == 0.95
