"""Figures of the Text lab: text coloured by one unit's activation, gate saturation per unit, bits per
character side by side (at the end of training and as it learns), and how well each model closes what was
opened long ago. Pure builders: data in, Plotly figure out.

The text is drawn as a heatmap whose cells are characters (``texttemplate``): one row per line of the text
(long lines wrap), so the colour under each character is the unit's value right after reading it. Plotly reads
``<``, ``>`` and ``&`` in text as its own small HTML; they are written as entities so any text shows as typed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnnviz.figures.colormaps import GATE, STATE, Scale, fitted
from rnnviz.figures.common import base_layout, phone_titles
from rnnviz.figures.theme import COLORS, LABELS, MODEL_COLORS, MODEL_DASH, MODEL_NAMES, MODEL_SYMBOLS

NEWLINE = "↵"
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def shown_char(ch: str) -> str:
    """How one character is written in a cell: newline as ↵, Plotly's HTML characters as entities."""
    if ch == "\n":
        return NEWLINE
    return _ENTITIES.get(ch, ch)


def char_grid(text: str, start: int, width: int, rows: int) -> tuple[np.ndarray, int]:
    """Where each character from ``start`` lands: ``(N, 3)`` int rows of (index, row, column), for as many
    characters as fill ``rows`` rows of ``width``; and the index after the last one placed."""
    placed, row, col, i = [], 0, 0, start
    while i < len(text) and row < rows:
        placed.append((i, row, col))
        if text[i] == "\n" or col == width - 1:
            row, col = row + 1, 0
        else:
            col += 1
        i += 1
    return np.array(placed, dtype=int).reshape(-1, 3), i


def scale_for(quantity: str, values: np.ndarray) -> Scale:
    """Gates 0..1 (sequential); h -1..1 (diverging, centred on 0); c fitted to its range (diverging)."""
    if quantity == "h":
        return STATE
    if quantity == "c":
        return fitted("c", values)
    if quantity in ("cell", "new"):
        return Scale("candidate", STATE.colorscale, -1.0, 1.0)
    return GATE


def _outline(grid: np.ndarray, start: int, end: int, **line) -> list[dict]:
    """Rectangles around the characters of [start, end) that are on screen, one per row they span."""
    shapes = []
    inside = grid[(grid[:, 0] >= start) & (grid[:, 0] < end)]
    for row in np.unique(inside[:, 1]):
        cols = inside[inside[:, 1] == row, 2]
        shapes.append(
            dict(type="rect", x0=cols.min() - 0.5, x1=cols.max() + 0.5, y0=row - 0.5, y1=row + 0.5, line=line)
        )
    return shapes


def text_figure(
    text: str,
    values: np.ndarray,
    quantity: str,
    *,
    title: str,
    start: int = 0,
    width: int = 72,
    rows: int = 20,
    selection: tuple[int, int] | None = None,
    matches: Sequence[tuple[int, int]] = (),
) -> go.Figure:
    """``text`` from ``start`` coloured by ``values`` (one per character). ``selection`` gets a thick
    outline, each of ``matches`` a dashed one."""
    grid, _ = char_grid(text, start, width, rows)
    n_rows = int(grid[:, 1].max()) + 1 if len(grid) else 1
    z = np.full((n_rows, width), np.nan)
    chars = np.full((n_rows, width), "", dtype=object)
    index = np.full((n_rows, width), -1)
    for i, r, c in grid:
        z[r, c], chars[r, c], index[r, c] = values[i], shown_char(text[i]), i
    scale = scale_for(quantity, values)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            text=chars,
            texttemplate="%{text}",
            textfont=dict(size=14, family="monospace"),  # 15 px: neighbours touched at 1280 px
            customdata=index,
            hovertemplate="character %{customdata}: %{z:.3f}<extra></extra>",
            colorscale=scale.colorscale,
            zmin=scale.lo,
            zmax=scale.hi,
            xgap=1,
            ygap=1,
            colorbar=dict(title=dict(text=LABELS.get(quantity, quantity), side="right"), thickness=14),
        )
    )
    shapes = []
    for s, e in matches:
        shapes += _outline(grid, s, e, color="#000000", width=2, dash="dash")
    if selection is not None:
        shapes += _outline(grid, *selection, color="#000000", width=4)
    first = [int(grid[grid[:, 1] == r, 0].min()) for r in range(n_rows)] if len(grid) else [start]
    fig.update_layout(shapes=shapes)
    fig.update_xaxes(visible=False, range=[-0.5, width - 0.5], zeroline=False)
    fig.update_yaxes(
        autorange="reversed",
        tickvals=list(range(n_rows)),
        ticktext=[str(i) for i in first],
        title="first character of the row",
        showgrid=False,
        zeroline=False,
        tickfont=dict(size=12),
    )
    base_layout(fig, height=90 + 26 * n_rows, title=title)
    # a phone (rnnviz/app/ui.py applies it under 480 px): a character per 4 px cell is unreadable and runs into
    # its neighbours, so the colours stay and the characters show on hover
    fig.update_layout(margin=dict(l=80, r=20, t=50, b=10), meta={"phone_style": {"texttemplate": ""}})
    return phone_titles(fig)


def saturation_figure(saturation: dict[str, tuple[np.ndarray, np.ndarray]], kind: str) -> go.Figure:
    """Each unit of each sigmoid gate as a point: the fraction of characters on which it is below 0.1 (x)
    and above 0.9 (y), as in Karpathy, Johnson & Fei-Fei (2015), figure 3."""
    fig = go.Figure()
    symbols = ("circle", "square", "diamond", "triangle-up")
    for k, (gate, (low, high)) in enumerate(saturation.items()):
        fig.add_trace(
            go.Scatter(
                x=low,
                y=high,
                mode="markers",
                name=LABELS.get(gate, gate),
                marker=dict(color=COLORS.get(gate, "#333333"), size=11, symbol=symbols[k % 4], line=dict(width=1)),
                customdata=np.arange(len(low)),
                hovertemplate="unit %{customdata}: below 0.1 on %{x:.0%}, above 0.9 on %{y:.0%}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[1, 0],
            mode="lines",
            line=dict(color="#666666", dash="dot", width=2),
            name="always saturated",
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(title="fraction of characters below 0.1 (gate shut)", range=[-0.02, 1.02], tickformat=".0%")
    fig.update_yaxes(title="fraction above 0.9 (gate open)", range=[-0.02, 1.02], tickformat=".0%")
    base_layout(fig, height=460, title=f"{MODEL_NAMES[kind]}: how often each gate unit saturates")
    return phone_titles(fig, xaxis="share below 0.1 (shut)")


def bits_figure(rows: Sequence[dict], unigram: float) -> go.Figure:
    """Bits per character on training and held-out text, one pair of bars per model; the unigram entropy
    (a model that ignores context) as a line."""
    fig = go.Figure()
    names = [f"{MODEL_NAMES[r['cell']]}<br>{r['params']:,} parameters" for r in rows]
    for part, pattern in (("train", ""), ("held_out", "/")):
        fig.add_trace(
            go.Bar(
                x=names,
                y=[r["bits_per_char"][part] for r in rows],
                name="training text" if part == "train" else "held-out text",
                marker=dict(color=[MODEL_COLORS[r["cell"]] for r in rows], pattern_shape=pattern),
                texttemplate="%{y:.2f}",
                textposition="outside",
            )
        )
    fig.add_hline(
        y=unigram,
        line=dict(color="#666666", dash="dash", width=2),
        annotation_text=f"no context: {unigram:.2f}",
        annotation_position="top right",
    )
    fig.update_yaxes(title="bits per character", rangemode="tozero")
    fig.update_layout(barmode="group")
    base_layout(fig, height=380, title="Bits per character (lower is better): same text, same budget")
    return phone_titles(fig)


def long_range_figure(series: dict, *, title: str, y_title: str, chance: float | None = None) -> go.Figure:
    """One line per model: ``series[kind] = (labels, means, counts)`` over distance bins (characters since
    the opener); ``chance`` as a dotted line, labelled."""
    fig = go.Figure()
    seen = np.any([counts > 0 for _, _, counts in series.values()], axis=0)  # distances that occur at all
    for kind, (labels, means, counts) in series.items():
        fig.add_trace(
            go.Scatter(
                x=np.asarray(labels)[seen],
                y=np.asarray(means)[seen],
                name=MODEL_NAMES[kind],
                mode="lines+markers",
                line=dict(color=MODEL_COLORS[kind], dash=MODEL_DASH[kind], width=3),
                marker=dict(symbol=MODEL_SYMBOLS[kind], size=11),
                customdata=np.asarray(counts)[seen],
                hovertemplate="%{x} characters: %{y:.2f} (%{customdata} closings)<extra>"
                + MODEL_NAMES[kind]
                + "</extra>",
            )
        )
    if chance is not None:
        fig.add_hline(
            y=chance,
            line=dict(color="#666666", dash="dot", width=2),
            annotation_text=f"chance: {chance:.2f}",
            annotation_position="bottom right",
        )
    fig.update_xaxes(title="characters since it was opened", type="category")
    fig.update_yaxes(title=y_title, range=[0, 1.05])
    base_layout(fig, height=440, title=title)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.42, yanchor="top"), margin=dict(b=120))
    return fig


def curves_figure(histories: dict, unigram: float | None = None, budget: int | None = None) -> go.Figure:
    """Bits per character against updates, one panel per model side by side (same axes): held-out text
    thick, training text thin with open markers; ``histories[kind]`` is a list of points with ``step``,
    ``train_bits`` and ``held_out_bits`` (``rnnviz.engine.text.TextPoint``). ``unigram``: a model without
    context, dashed; ``budget`` fixes the x-axis to the whole run, so a run still training shows how far it is."""
    kinds = list(histories)
    fig = make_subplots(rows=1, cols=len(kinds), shared_yaxes=True, subplot_titles=[MODEL_NAMES[k] for k in kinds])
    top = unigram or 1.0
    for col, kind in enumerate(kinds, start=1):
        points = histories[kind]
        steps = [p.step for p in points]
        color, dash, symbol = MODEL_COLORS[kind], MODEL_DASH[kind], MODEL_SYMBOLS[kind]
        for part, width, mark, label in (
            ("held_out_bits", 4, symbol, "held-out"),
            ("train_bits", 1.5, f"{symbol}-open", "training"),
        ):
            values = [getattr(p, part) for p in points]
            top = max([top, *values])
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=values,
                    name=f"{MODEL_NAMES[kind]} {label}",
                    mode="lines+markers",
                    line=dict(color=color, dash=dash, width=width),
                    marker=dict(symbol=mark, size=8),
                    legendgroup=kind,
                    hovertemplate=f"update %{{x}}: %{{y:.3f}} bits per character ({label})<extra></extra>",
                ),
                row=1,
                col=col,
            )
        if unigram is not None:
            label = dict(annotation_text=f"no context: {unigram:.2f}", annotation_position="top right")
            fig.add_hline(
                y=unigram,
                line=dict(color="#666666", dash="dash", width=2),
                row=1,
                col=col,
                **(label if col == 1 else {}),
            )
        fig.update_xaxes(title_text="update", range=[0, budget * 1.03] if budget else None, row=1, col=col)
    fig.update_yaxes(title_text="bits per character", range=[0, top * 1.08], row=1, col=1)
    base_layout(fig, height=380, title="Bits per character as they learn: held-out (thick), training (thin)")
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"), margin=dict(b=110, t=90))
    return fig
