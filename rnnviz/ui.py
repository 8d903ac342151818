"""Shared Streamlit helpers: page setup and navigation, settings kept in the URL, cached engine calls,
and turning engine errors into messages. The only module under rnnviz/ that imports streamlit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from rnnviz import cells, experiments

PAGES = [
    ("app.py", "Start here", "🏠"),
    ("pages/1_Cell_stepper.py", "Cell stepper", "🔬"),
    ("pages/2_Gradient_flow.py", "Gradient flow", "📉"),
    ("pages/3_Training_lab.py", "Training lab", "🏋️"),
    ("pages/4_Papers.py", "Papers", "📜"),
]

KIND_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def setup_page(title: str, icon: str, intro: str) -> None:
    """Page config, the sidebar navigation, the title and a one-paragraph introduction."""
    st.set_page_config(page_title=f"{title} · rnnviz", page_icon=icon, layout="wide")
    with st.sidebar:
        st.markdown("## rnnviz")
        st.caption("Why LSTMs remember what plain RNNs forget")
        for path, label, page_icon in PAGES:
            st.page_link(path, label=label, icon=page_icon)
        st.divider()
    st.title(f"{icon} {title}")
    st.markdown(intro)


# --------------------------------------------------------------------------------------------------
# Settings in the URL: a teacher sends a link and the class opens the same view.


def url_default(key: str, default, *, options: Sequence | None = None, low=None, high=None) -> None:
    """Seed the widget state ``key`` once per session from the URL, if the URL holds a valid value;
    anything else in the URL (junk, out of range) is ignored and the default used."""
    if key in st.session_state:
        return
    value = default
    raw = st.query_params.get(key)
    if raw is not None:
        try:
            if isinstance(default, bool):
                parsed = {"true": True, "false": False}[raw.lower()]
            else:
                parsed = type(default)(raw)
                if isinstance(parsed, float) and not np.isfinite(parsed):
                    raise ValueError(raw)
            if options is not None and parsed not in options:
                raise ValueError(raw)
            if low is not None and not low <= parsed <= high:
                raise ValueError(raw)
            value = parsed
        except (ValueError, KeyError):
            pass
    st.session_state[key] = value


def sync_url(keys: Sequence[str]) -> None:
    """Write the current widget values into the URL's query string."""
    st.query_params.from_dict({k: str(st.session_state[k]) for k in keys if k in st.session_state})


# --------------------------------------------------------------------------------------------------
# Cached engine calls, keyed on small frozen configs.


@st.cache_data(max_entries=64, show_spinner=False)
def cached_run(config: experiments.CellConfig) -> experiments.Run:
    cell = config.make_cell()
    return experiments.run(cell, config.make_input())


@st.cache_data(max_entries=16, show_spinner=False)
def cached_uploaded_run(data: bytes, nonlinearity: str, config: experiments.CellConfig) -> experiments.Run:
    import io

    cell = cells.load_npz(io.BytesIO(data), nonlinearity=nonlinearity)
    return experiments.run(cell, config.make_input(cell.input_size))


def cell_of(run: experiments.Run) -> cells.Cell:
    return cells.from_state_dict(run.kind, run.state_dict, nonlinearity=run.nonlinearity)


def guarded(action: Callable, *args, **kwargs):
    """Call ``action``; on ValueError show the message in the page and return None."""
    try:
        return action(*args, **kwargs)
    except ValueError as err:
        st.error(f"**That input cannot be used:** {err}", icon="⚠️")
        return None


def show_figure(fig: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(
        fig, width="stretch", theme=None, key=key, config={"displaylogo": False, "toImageButtonOptions": {"scale": 2}}
    )


def csv_bytes(columns: dict[str, np.ndarray]) -> bytes:
    """A CSV with one column per named 1-D array (equal lengths)."""
    names = list(columns)
    table = np.column_stack([np.asarray(columns[n], dtype=float) for n in names])
    lines = [",".join(names)] + [",".join(f"{v:.6g}" for v in row) for row in table]
    return ("\n".join(lines) + "\n").encode()


def run_columns(run: experiments.Run, prefix: str = "") -> dict[str, np.ndarray]:
    """A run as CSV columns: t, x, then h/c/gates per unit."""
    T = run.h.shape[0]
    columns = {"t": np.arange(T)} if not prefix else {}
    for d in range(run.x.shape[1]):
        columns[f"{prefix}x{d}"] = run.x[:, d]
    arrays = {"h": run.h, **({"c": run.c} if run.c is not None else {}), **run.gates}
    for name, values in arrays.items():
        for j in range(values.shape[1]):
            columns[f"{prefix}{name}_{j}"] = values[:, j]
    return columns
