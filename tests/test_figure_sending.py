"""How built figures reach the browser (rnnviz.app.ui): a shared figure's dictionary is the figure's own, not
a copy, and what is sent is byte for byte what ``Figure.to_dict()`` would have sent."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from rnnviz.app import ui
from rnnviz.engine import backward, studies
from rnnviz.figures import backward as backward_view
from rnnviz.figures import common, equations, stepper
from rnnviz.figures import gradient_flow as gfig


def _stepper(kind: str, length: int, hidden: int, step: int) -> go.Figure:
    config = studies.CellConfig(kind=kind, hidden_size=hidden, length=length, preset="random", seed=3)
    run = studies.run(config.make_cell(), config.make_input())
    detail = stepper.Detail(kind, 1, equations.unit_series(ui.cell_of(run), run.x, run.h, run.c, run.gates, 1))
    return stepper.timeline_figure(run.x, stepper.trace_panels(kind, run.h, run.c, run.gates), step=step, detail=detail)


def _backward() -> go.Figure:
    config = studies.CellConfig(kind="gru", hidden_size=5, length=25, seed=1)
    run = studies.run(config.make_cell(), config.make_input())
    record = backward.backward_pass(ui.cell_of(run), run.x, "unit", 2)
    return backward_view.backward_figure({"gru": record}, ["h", "update"], detail="gru", unit=2, step=None)


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
