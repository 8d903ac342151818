"""The Forecast lab's state, apart from the page that draws it: a press of Train as jobs of the shared
training service (one ``forecast.ForecastJob`` per model), how it moves from one status to the next, and
the offer of a trained model to the Cell stepper. No Streamlit here, so every transition is tested without
a page; the page keeps one :class:`Lab` in the session's state and only draws it.

A press follows the Training lab's life (``rnnviz.app.lab_state``)::

    idle --press--> queued --> running --> done | stopped | failed | lost

``queued`` and ``running`` are read from the service's job; the end states are written once, by
:meth:`Lab.settle` (at the top of every script run) or by Stop, never by a poll. An identical press (the
same series and settings, from this or any session) attaches to the job already made and replays it at
once: training is deterministic, so it is the run this press would have trained.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

import numpy as np

from rnnviz.app import handoff
from rnnviz.app.lab_state import LOST, ServiceRun, replayed_by
from rnnviz.app.trainer import CLOSED, Handle, Snapshot
from rnnviz.engine import forecast as fc

KEY = "_forecast.lab"  # the session's Lab in its state (private, like _lab.state)
PAGE = "pages/5_Forecast_lab.py"
STEPPER = "pages/1_Cell_stepper.py"
__all__ = ["LOST", "Lab", "ForecastRun", "jobs_for", "live_models", "stepper_offer"]


def jobs_for(values: np.ndarray, config: fc.ForecastConfig, kinds) -> tuple[fc.ForecastJob, ...]:
    """One job per model of a press, in the page's order of models."""
    return tuple(fc.ForecastJob.of(values, config, kind) for kind in kinds)


def live_models(snap: Snapshot) -> dict:
    """``{kind: forecast.TrainedModel}`` of every model with a point so far, for the live learning curves."""
    return {
        job.kind: payload.model(history)
        for job, history, payload in zip(snap.configs, snap.histories, snap.trained, strict=True)
        if history and payload is not None
    }


@dataclass(eq=False)
class ForecastRun(ServiceRun):
    """One press of Train: its jobs (what was pressed, not what the sidebar says now), the series it trains on
    (values, time labels, name and unit), the service's handle, and once it has ended, how (``ended``) and
    the result (a ``forecast.ForecastResult`` of the models at their kept parameters)."""

    jobs: tuple
    series: fc.Series
    handle: Handle | None = None
    replayed: str | None = None  # None, "yours" or "other"
    ended: str | None = None
    result: fc.ForecastResult | None = None
    message: str | None = None
    detached: bool = False

    @property
    def config(self) -> fc.ForecastConfig:
        return self.jobs[0].config

    @property
    def status(self) -> str:
        if self.ended is not None:
            return self.ended
        return "queued" if self.handle.status == "queued" else "running"

    def _end(self, snap: Snapshot) -> None:
        self.detached = snap.detached
        if snap.status == "failed":
            self.ended = "lost" if snap.message == CLOSED else "failed"
            self.message = snap.message
            return
        self.ended = "done" if snap.status == "done" else "stopped"
        self.result = fc.collect(self.series.values, self.config, snap.configs, snap.histories, snap.trained)

    def stopped_at(self) -> str:
        """'update 240 of 600' (every model alike) or 'updates 200 to 240 of 600'."""
        ups = [m.history[-1].update for m in self.result.models.values()] or [0]
        at = f"update {ups[0]}" if min(ups) == max(ups) else f"updates {min(ups)} to {max(ups)}"
        return f"{at} of {self.config.updates}"


@dataclass(eq=False)
class Lab:
    """What the Forecast lab keeps for one session: the last press and the ids of the jobs it started (a later
    press that attaches to one of them replays the student's own run)."""

    run: ForecastRun | None = None
    mine: set = field(default_factory=set)
    lost: bool = False  # the page found a run of a restarted server in its URL (lab_state.lost_in_url)

    @classmethod
    def of(cls, state: MutableMapping) -> Lab:
        return state.setdefault(KEY, cls())

    def settle(self, service=None) -> None:
        if self.run is not None:
            self.run.settle(service)

    def press(self, jobs: tuple, series: fc.Series, submit: Callable) -> ForecastRun | None:
        """A press of Train: the same jobs as the live run go on; otherwise ``submit(jobs)`` (None when the
        page refused it and said why), and a live run of other settings is stopped."""
        old = self.run
        if old is not None and old.live and old.jobs == jobs:
            return old
        handle = submit(jobs)
        if handle is None:
            return None
        self.lost = False
        if old is not None and old.live:
            old.handle.stop()
        self.run = ForecastRun(jobs, series, handle, replayed_by(handle, self.mine))
        return self.run

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()


def table_columns(rows: list[dict], horizon: int) -> tuple[dict, tuple]:
    """The table of errors as the page shows it (``ForecastResult.table()`` rows), and its number columns."""
    numbers = ("MAE", "RMSE", "MAE / seasonal naive", "MAE 1 step", f"MAE {horizon} steps")
    keys = ("mae", "rmse", "relative_mae", "mae_first_step", "mae_last_step")
    columns = {"method": [fc.NAMES.get(r["method"], r["method"]) for r in rows]}
    columns.update({name: [r[key] for r in rows] for name, key in zip(numbers, keys, strict=True)})
    columns["parameters"] = [r["params"] for r in rows]
    columns["ms / update"] = [r["ms_per_update"] for r in rows]
    return columns, numbers


def forecast_columns(result: fc.ForecastResult, methods) -> dict:
    """The forecasts' CSV: one row per (origin, step ahead), the truth and every method's forecast."""
    K = result.config.horizon
    columns = {
        "origin": np.repeat(result.origins, K),
        "step": np.tile(np.arange(1, K + 1), len(result.origins)),
        "truth": result.truth.ravel(),
    }
    columns.update({m: result.forecasts[m].ravel() for m in methods})
    return columns


SETUP_TEXT = (
    "- **Window** W: the model reads the last W values, one per step, and its last hidden state is read out "
    "by a linear layer as the forecast of the next value.\n"
    "- **Horizon** K: for K steps ahead the forecast is fed back as the newest input, K times (recursive).\n"
    "- **Split in time**: training, validation, test, in this order; never shuffled across time.\n"
    "- **Scaling**: mean and standard deviation of the training part only.\n"
    "- **Changes** (the toggle): the networks and the linear AR model v[t] - v[t-1], scaled on the training "
    "part's changes, and their forecasts are summed back onto the last known value.\n"
    "- **Training**: Adam (learning rate 0.01, gradient-norm clipping at 1), mini-batches of 32 windows, "
    "mean squared error of the next value; the forget gate (LSTM) and update gate (GRU) start biased to +1. "
    "Each model is one job of the server's training service; the models of a press train in turn, one "
    "evaluation interval each.\n"
    "- **Baselines**: persistence repeats the last value; seasonal naive repeats the value one season earlier "
    "(persistence when no season is set); linear AR is a least-squares line through the same window."
)


def stepper_offer(run: ForecastRun, kind: str, title: str) -> handoff.Offer:
    """The trained ``kind`` of a finished run, for the Cell stepper: fed the window it reads at the first test
    origin (scaled as it was trained; the changes when it forecasts changes), each step labelled with its
    time in the series (or its position when the series has no labels). ``title`` names the series."""
    result, series = run.result, run.series
    model = result.models[kind]
    x, positions = fc.model_window(result, series.values, int(result.origins[0]))
    labels = tuple(series.labels[p] for p in positions) if series.labels else tuple(f"#{p}" for p in positions)
    what = f"change in {series.unit or 'value'}" if result.config.difference else series.unit or "value"
    return handoff.Offer(
        kind=kind,
        state_dict=model.forecaster.cell().state_dict(),
        x=x,
        title=f"the {fc.NAMES[kind]} trained in the Forecast lab on {title}, window {labels[0]} to {labels[-1]}",
        source=PAGE,
        step_labels=labels,
        input_labels=(f"{what} (scaled)",),
    )
