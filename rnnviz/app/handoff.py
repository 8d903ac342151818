"""A model handed from another page to the Cell stepper, inside one browser session.

The Forecast and Text labs train models the stepper can open: a student presses "Open in the Cell stepper"
and sees that model's gates, cell state and diagram on a stretch of its own data (a window of the series, a
stretch of text). The model cannot travel in the URL (it is parameters, not settings), so the lab puts an
:class:`Offer` in the session's state and switches page; the stepper shows the offer instead of its generated
cell until the student dismisses it. Session state belongs to one browser session, so one student's offer is
never seen by another.

The offer is plain data: the cell's kind and state dict (PyTorch names), the input sequence ``x`` (T, D) the
cell is fed, a title saying where it came from, and optional labels for the steps (the characters of the text,
the dates of the series) and for the input's columns. The stepper builds the cell with
``weights.from_state_dict`` and runs ``studies.run`` on ``x``, as for an uploaded ``.npz``.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass

import numpy as np

from rnnviz.engine import weights

KEY = "_handoff.stepper"
MAX_STEPS = 500  # the stepper's longest sequence (its "length" setting's top)


@dataclass(frozen=True, eq=False)
class Offer:
    kind: str  # "rnn", "lstm", "gru"
    state_dict: dict  # PyTorch names, float arrays
    x: np.ndarray  # (T, D): what the cell is fed, step by step
    title: str  # where it came from, for the page: "the LSTM trained in the Forecast lab on the Nile"
    source: str  # the page to go back to, as st.page_link takes it: "pages/5_Forecast_lab.py"
    step_labels: tuple = ()  # one per step, or empty: a character, a date
    input_labels: tuple = ()  # one per input column, or empty: "flow (scaled)", the vocabulary

    def check(self) -> None:
        """ValueError unless the offer can be shown: the cell builds from its state dict, ``x`` is a finite
        (T, D) array with D the cell's input size and 1 <= T <= MAX_STEPS, and the labels fit."""
        weights.from_state_dict(self.kind, self.state_dict)  # raises with the weights' own message
        x = np.asarray(self.x)
        if x.ndim != 2 or not 1 <= x.shape[0] <= MAX_STEPS:
            raise ValueError(f"the sequence must be (steps, inputs) with 1 to {MAX_STEPS} steps, got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("the sequence has values that are not finite numbers")
        size = self.cell().input_size
        if x.shape[1] != size:
            raise ValueError(f"the sequence has {x.shape[1]} inputs per step; the cell takes {size}")
        if self.step_labels and len(self.step_labels) != x.shape[0]:
            raise ValueError(f"{len(self.step_labels)} step labels for {x.shape[0]} steps")
        if self.input_labels and len(self.input_labels) != size:
            raise ValueError(f"{len(self.input_labels)} input labels for {size} inputs")

    def cell(self):
        return weights.from_state_dict(self.kind, self.state_dict)


def offer(state: MutableMapping, item: Offer) -> None:
    """Put ``item`` where the stepper looks (``state`` is ``st.session_state``); checked first (ValueError)."""
    item.check()
    state[KEY] = item


def current(state: MutableMapping) -> Offer | None:
    """The offer waiting in this session, if any."""
    item = state.get(KEY)
    return item if isinstance(item, Offer) else None


def dismiss(state: MutableMapping) -> None:
    state.pop(KEY, None)
