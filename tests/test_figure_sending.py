"""How built figures reach the browser (rnnviz.app.ui): a shared figure's dictionary is the figure's own, not
a copy, and what is sent is byte for byte what ``Figure.to_dict()`` would have sent."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from rnnviz.app import ui
from rnnviz.engine import backward, studies
from rnnviz.figures import backward as backward_view
from rnnviz.figures import common, equations, stepper
from rnnviz.figures import gradient_flow as gfig


def _stepper_args(kind: str, length: int, hidden: int, step: int, **options) -> tuple[tuple, dict]:
    config = studies.CellConfig(kind=kind, hidden_size=hidden, length=length, preset="random", seed=3)
    run = studies.run(config.make_cell(), config.make_input())
    detail = stepper.Detail(kind, 1, equations.unit_series(ui.cell_of(run), run.x, run.h, run.c, run.gates, 1))
    panels = stepper.trace_panels(kind, run.h, run.c, run.gates)
    return (run.x, panels), {"step": step, "detail": detail, **options}


def _stepper(kind: str, length: int, hidden: int, step: int) -> go.Figure:
    args, options = _stepper_args(kind, length, hidden, step)
    return stepper.timeline_figure(*args, **options)


def _backward(build=backward_view.backward_figure, kind="gru", **options):
    config = studies.CellConfig(kind=kind, hidden_size=5, length=25, seed=1)
    run = studies.run(config.make_cell(), config.make_input())
    record = backward.backward_pass(ui.cell_of(run), run.x, "unit", 2)
    rows = ["h", "update"] if kind == "gru" else ["h", "c", "forget"]
    return build({kind: record}, rows, detail=kind, unit=2, **{"step": None, **options})


def _gradient_figures() -> list[go.Figure]:
    result = studies.gradient_study(studies.CellConfig(hidden_size=6, length=40, seed=2))
    rnn = result.models["rnn"]
    return [
        gfig.eigen_figure(result.eigenvalues, result.sigma_max),
        gfig.reach_heatmap({"RNN h": rnn.h_norm[::-1], "RNN input x": rnn.x_norm[::-1]}),
        common.lines_figure(
            {"RNN": (np.arange(rnn.h_norm.shape[0]), rnn.h_norm, "#000000", "solid")},
            x_title="lag",
            y_title="norm",
            log_y=True,
        ),
    ]


BUILDERS = {
    "stepper, LSTM at its defaults": lambda: _stepper("lstm", 60, 8, 0),
    "stepper, GRU, a later step": lambda: _stepper("gru", 30, 4, 17),
    "stepper, RNN": lambda: _stepper("rnn", 12, 3, 11),
    "backward": _backward,
    **{f"gradient flow {i}": (lambda i=i: _gradient_figures()[i]) for i in range(3)},
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_a_figures_own_dictionary_sends_what_to_dict_sends(name):
    build = BUILDERS[name]
    expected = pio.to_json(build().to_dict(), validate=False)
    fig = build()
    spec = ui.figure_dict(fig)
    assert pio.to_json(spec, validate=False) == expected
    if isinstance(fig, stepper.AnimatedFigure):
        assert spec["frames"] is fig.built_frames and len(spec["frames"]) > 1


def test_a_figure_class_with_a_to_dict_of_its_own_keeps_it():
    class Marked(go.Figure):
        def to_dict(self):
            return {**super().to_dict(), "marked": True}

    fig = Marked(go.Scatter(x=np.arange(3), y=np.arange(3.0)))
    assert ui.figure_dict(fig)["marked"] is True


def test_a_prebuilt_figure_hands_over_its_dictionary_and_nothing_else():
    spec = ui.figure_dict(_stepper("lstm", 10, 2, 3))
    prebuilt = ui._Prebuilt(spec)
    assert isinstance(prebuilt, go.Figure) and prebuilt.to_dict() is spec
    assert pio.to_json(prebuilt, validate=False) == pio.to_json(spec, validate=False)


SPECS = {
    "LSTM at the stepper's defaults": ("lstm", 60, 8, 0, {}),
    "GRU, a later step, a title": ("gru", 30, 4, 17, {"title": "A model handed over"}),
    "RNN on a projector": ("rnn", 12, 3, 11, {"projector": True}),
    "LSTM, rows only, step labels": ("lstm", 9, 2, 4, {"detail": None, "step_labels": tuple("abcdefghi")}),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_the_stepper_figure_sent_as_built_is_what_plotly_validates_it_to(name):
    """The Cell stepper sends timeline_spec's dictionary without go.Figure's validation: validating it must
    change nothing (no property Plotly would refuse, coerce or fill in), which this checks for each form."""
    kind, length, hidden, step, extra = SPECS[name]
    args, options = _stepper_args(kind, length, hidden, step, **extra)
    validated = pio.to_json(ui.figure_dict(stepper.timeline_figure(*args, **options)), validate=False)
    sent = pio.to_json(ui.figure_dict(stepper.timeline_spec(*args, **options)), validate=False)
    assert json.loads(sent) == json.loads(validated)
    assert len(json.loads(sent)["frames"]) == length


def _gradient_args() -> dict:
    result = studies.gradient_study(studies.CellConfig(hidden_size=6, length=40, seed=2, spectral_radius=0.8))
    rnn, lstm = result.models["rnn"], result.models["lstm"]
    measured = {
        "RNN  dL/dh": (rnn.h_norm, "#000000", "solid", "circle"),
        "LSTM dL/dc": (lstm.c_norm, "#111111", "dash"),
    }
    theory = {"bound": (rnn.theory, "#222222", "dashdot"), "forget path": lstm.theory}
    return {
        "lag": (gfig.lag_spec, gfig.lag_figure, (measured, theory, {"RNN  dL/dh": 30})),
        "lag, titled": (gfig.lag_spec, gfig.lag_figure, (measured, {}, {}, "A title")),
        "reach": (gfig.reach_spec, gfig.reach_heatmap, ({"RNN h": rnn.h_norm[::-1], "LSTM c": lstm.c_norm[::-1]},)),
        "eigenvalues": (gfig.eigen_spec, gfig.eigen_figure, (result.eigenvalues, result.sigma_max)),
    }


@pytest.mark.parametrize("name", ["lag", "lag, titled", "reach", "eigenvalues"])
def test_a_gradient_figure_sent_as_built_is_what_plotly_validates_it_to(name):
    """The Gradient flow page sends these dictionaries without go.Figure's validation: it must change nothing."""
    spec_of, figure_of, args = _gradient_args()[name]
    validated = pio.to_json(ui.figure_dict(figure_of(*args)), validate=False)
    sent = pio.to_json(ui.figure_dict(spec_of(*args)), validate=False)
    assert json.loads(sent) == json.loads(validated)


@pytest.mark.parametrize(
    "kind,options",
    [("gru", {}), ("lstm", {"step": 3, "projector": True}), ("lstm", {"overview": False, "detail_px": 300})],
)
def test_the_backward_figure_sent_as_built_is_what_plotly_validates_it_to(kind, options):
    validated = pio.to_json(ui.figure_dict(_backward(backward_view.backward_figure, kind, **options)), validate=False)
    sent = pio.to_json(ui.figure_dict(_backward(backward_view.backward_spec, kind, **options)), validate=False)
    assert json.loads(sent) == json.loads(validated)
