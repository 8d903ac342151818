"""Pure figure builders: arrays in, ``plotly.graph_objects.Figure`` out. Nothing here calls Streamlit.

Step-by-step animation runs in the browser: heatmaps are drawn once, and each Plotly frame moves only a
thin step marker, so playing 200 steps sends no request to the server.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import sample_colorscale

from rnnviz.theme import COLORS, FONT_SIZE, GATE_SCALE, LABELS, MODEL_COLORS, MODEL_DASH, MODEL_NAMES, STATE_SCALE

STATE_LIKE = {"h", "c", "cell", "new"}  # values in -1 .. 1 (tanh); everything else is a gate in 0 .. 1
_TEMPLATE = pio.templates["plotly_white"]  # resolved once: looking it up by name on every figure costs more


def base_layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height,
        title=dict(text=title, x=0.0, xanchor="left") if title else None,
        font=dict(size=FONT_SIZE),
        margin=dict(l=70, r=30, t=60 if title else 30, b=50),
        template=_TEMPLATE,
        hoverlabel=dict(font_size=FONT_SIZE),
    )
    return fig


@dataclass(frozen=True)
class Panel:
    """One heatmap row of the overview: ``values`` is ``(T, H)``; ``quantity`` picks colour and scale."""

    title: str
    quantity: str
    values: np.ndarray


def _rounded(a: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(a, dtype=float), 4)  # four decimals are plenty on screen; halves the JSON


def play_controls(n_frames: int, active: int, prefix: str = "step ", duration: int = 120) -> dict:
    """Play/Pause buttons and a time slider driving frames named "0" .. "n-1"."""
    animate = dict(frame=dict(duration=duration, redraw=False), transition=dict(duration=0), fromcurrent=True)
    return dict(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=-0.02,
                xanchor="left",
                yanchor="top",
                pad=dict(t=10, r=10),
                showactive=False,
                buttons=[
                    dict(label="▶ Play", method="animate", args=[None, animate]),
                    dict(
                        label="❚❚ Pause",
                        method="animate",
                        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")],
                    ),
                ],
            )
        ],
        sliders=[
            dict(
                active=active,
                x=0.2,
                len=0.8,
                y=-0.02,
                yanchor="top",
                currentvalue=dict(prefix=prefix, font=dict(size=FONT_SIZE)),
                pad=dict(t=10),
                steps=[
                    dict(
                        label=str(k),
                        method="animate",
                        args=[[str(k)], dict(frame=dict(duration=0, redraw=False), mode="immediate")],
                    )
                    for k in range(n_frames)
                ],
            )
        ],
    )


def _stacked_domains(heights: list[float], gap: float) -> list[tuple[float, float]]:
    """Vertical paper domains, top to bottom, for rows of the given relative heights."""
    usable = 1.0 - gap * (len(heights) - 1)
    domains, top = [], 1.0
    for h in heights:
        size = usable * h / sum(heights)
        domains.append((max(top - size, 0.0), min(top, 1.0)))  # clamp float rounding (e.g. -1e-16)
        top -= size + gap
    return domains


def overview_figure(x: np.ndarray, panels: list[Panel], step: int = 0, title: str | None = None) -> go.Figure:
    """The input on top, then one heatmap (time x unit) per panel, with a step marker that Play moves.

    States use a diverging scale centred on zero (-1 .. 1); gates a sequential scale (0 .. 1). Both
    ranges are pinned so the colours mean the same at every step and on every page. The figure is built
    as one dictionary and validated once: adding 200 frames one object at a time costs Plotly several
    times longer.
    """
    x = np.asarray(x)
    T = x.shape[0]
    step = int(np.clip(step, 0, T - 1))
    rows = 1 + len(panels)
    domains = _stacked_domains([0.6] + [1.0] * len(panels), gap=min(0.06, 0.25 / rows))
    t = np.arange(T)
    titles = [(LABELS["x"], "x")] + [(p.title, p.quantity) for p in panels]
    layout, annotations, data = {}, [], []
    for r in range(1, rows + 1):
        suffix = "" if r == 1 else str(r)
        layout[f"xaxis{suffix}"] = dict(
            domain=[0, 1],
            anchor=f"y{suffix}",
            range=[-0.5, T - 0.5],
            showticklabels=r == rows,
            **({} if r == 1 else {"matches": "x"}),
            **({"title": {"text": "time step t"}} if r == rows else {}),
        )
        layout[f"yaxis{suffix}"] = dict(domain=list(domains[r - 1]), anchor=f"x{suffix}")
        text, quantity = titles[r - 1]
        annotations.append(
            dict(
                text=text,
                x=0,
                xref="paper",
                xanchor="left",
                y=domains[r - 1][1],
                yref="paper",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=FONT_SIZE, color=COLORS.get(quantity, "#000000")),
            )
        )
    for d in range(x.shape[1]):
        data.append(
            dict(
                type="scatter",
                x=t,
                y=_rounded(x[:, d]),
                mode="lines",
                xaxis="x",
                yaxis="y",
                line=dict(color=COLORS["x"], width=3),
                name=f"x[{d}]",
                hovertemplate="t=%{x}<br>x=%{y:.3f}<extra></extra>",
            )
        )
    spans = [(float(np.min(x)) - 0.1, float(np.max(x)) + 0.1)]
    for r, panel in enumerate(panels, start=2):
        values = np.asarray(panel.values)
        H = values.shape[1]
        data.append(
            dict(
                type="heatmap",
                z=_rounded(values.T),
                x=t,
                y=np.arange(H),
                xaxis=f"x{r}",
                yaxis=f"y{r}",
                coloraxis="coloraxis" if panel.quantity in STATE_LIKE else "coloraxis2",
                hovertemplate=f"{panel.title}<br>t=%{{x}}, unit %{{y}}<br>value %{{z:.3f}}<extra></extra>",
            )
        )
        layout[f"yaxis{r}"].update(title={"text": "unit"}, range=[-0.5, H - 0.5])
        spans.append((-0.5, H - 0.5))
    # Step markers: one vertical line per row; these are the only traces the frames touch.
    first_marker = len(data)
    for r, (lo, hi) in enumerate(spans, start=1):
        suffix = "" if r == 1 else str(r)
        data.append(
            dict(
                type="scatter",
                x=[step, step],
                y=[lo, hi],
                mode="lines",
                xaxis=f"x{suffix}",
                yaxis=f"y{suffix}",
                line=dict(color="#222222", width=3),
                hoverinfo="skip",
            )
        )
    marker_ids = list(range(first_marker, first_marker + rows))
    frames = [
        dict(name=str(k), traces=marker_ids, data=[dict(type="scatter", x=[k, k], y=[lo, hi]) for lo, hi in spans])
        for k in range(T)
    ]
    layout.update(
        annotations=annotations,
        coloraxis=dict(
            colorscale=STATE_SCALE,
            cmin=-1,
            cmax=1,
            cmid=0,
            colorbar=dict(title=dict(text="state"), len=0.45, y=1.0, yanchor="top", x=1.01),
        ),
        coloraxis2=dict(
            colorscale=GATE_SCALE,
            cmin=0,
            cmax=1,
            colorbar=dict(title=dict(text="gate"), len=0.45, y=0.0, yanchor="bottom", x=1.01),
        ),
        showlegend=False,
        **play_controls(T, step),
    )
    fig = go.Figure(dict(data=data, layout=layout, frames=frames))
    return base_layout(fig, height=150 + 150 * rows, title=title)


def trace_panels(
    kind: str, h: np.ndarray, c: np.ndarray | None, gates: dict[str, np.ndarray], prefix: str = ""
) -> list[Panel]:
    """The overview rows for one cell: h, then c (LSTM), then its gates in PyTorch order."""
    panels = [Panel(prefix + LABELS["h"], "h", h)]
    if c is not None:
        panels.append(Panel(prefix + LABELS["c"], "c", c))
    panels += [Panel(prefix + LABELS[name], name, values) for name, values in gates.items()]
    return panels


# --------------------------------------------------------------------------------------------------
# The cell diagram: the familiar picture, coloured by the values of one unit at one step.


@dataclass(frozen=True)
class Node:
    """A box (a state or gate, filled with its value's colour) or, for quantity "op", a round operation."""

    quantity: str
    label: str
    x: float
    y: float
    value: str | None = None  # key into the step's values


# Wires: (x0, y0, x1, y1, colour key, with arrow head). Canvas 0..12 by -0.6..7.
_GATES = ("input", "forget", "output", "reset", "update")
_BUS = 1.5  # the bottom wire that carries h_{t-1} and x_t to every gate


def _bus(gate_xs, end):
    wires = [(0.8, _BUS, end, _BUS, "bus", False), (1.9, 0.35, 1.9, _BUS, "bus", False)]
    return wires + [(gx, _BUS, gx, 2.45, "bus", True) for gx in gate_xs]


_DIAGRAMS = {
    "lstm": (
        [
            Node("c", "c<sub>t-1</sub>", 0.8, 6.0, "c_prev"),
            Node("op", "×", 3.0, 6.0),
            Node("op", "+", 5.4, 6.0),
            Node("c", "c<sub>t</sub>", 11.2, 6.0, "c"),
            Node("forget", "f", 3.0, 3.0, "forget"),
            Node("input", "i", 4.6, 3.0, "input"),
            Node("cell", "g", 6.2, 3.0, "cell"),
            Node("output", "o", 8.2, 3.0, "output"),
            Node("op", "×", 5.4, 4.5),
            Node("op", "tanh", 9.8, 4.5),
            Node("op", "×", 9.8, 3.0),
            Node("h", "h<sub>t-1</sub>", 0.8, _BUS, "h_prev"),
            Node("x", "x<sub>t</sub>", 1.9, -0.1, "x"),
            Node("h", "h<sub>t</sub>", 11.2, _BUS, "h"),
        ],
        [
            (1.55, 6, 2.55, 6, "c", True),
            (3.45, 6, 4.95, 6, "c", True),
            (5.85, 6, 10.45, 6, "c", True),
            (3.0, 3.55, 3.0, 5.55, "forget", True),
            (4.6, 3.55, 5.1, 4.15, "input", True),
            (6.2, 3.55, 5.7, 4.15, "cell", True),
            (5.4, 4.95, 5.4, 5.55, "c", True),
            (9.8, 6.0, 9.8, 4.95, "c", True),
            (9.8, 4.05, 9.8, 3.45, "c", True),
            (8.95, 3.0, 9.35, 3.0, "output", True),
            (9.8, 2.55, 9.8, _BUS, "h", False),
            (9.8, _BUS, 10.45, _BUS, "h", True),
        ]
        + _bus((3.0, 4.6, 6.2, 8.2), 8.2),
    ),
    "gru": (
        [
            Node("h", "h<sub>t-1</sub>", 0.8, 6.0, "h_prev"),
            Node("op", "×", 4.0, 6.0),
            Node("op", "+", 8.2, 6.0),
            Node("h", "h<sub>t</sub>", 11.2, 6.0, "h"),
            Node("update", "z", 4.0, 3.0, "update"),
            Node("reset", "r", 6.0, 3.0, "reset"),
            Node("new", "n", 8.2, 3.0, "new"),
            Node("op", "1−z", 6.0, 4.5),
            Node("op", "×", 8.2, 4.5),
            Node("h", "h<sub>t-1</sub>", 0.8, _BUS, "h_prev"),
            Node("x", "x<sub>t</sub>", 1.9, -0.1, "x"),
        ],
        [
            (1.55, 6, 3.55, 6, "h", True),
            (4.45, 6, 7.75, 6, "h", True),
            (8.65, 6, 10.45, 6, "h", True),
            (4.0, 3.55, 4.0, 5.55, "update", True),
            (4.5, 3.4, 5.5, 4.2, "update", True),
            (6.45, 4.5, 7.75, 4.5, "update", True),
            (8.2, 3.55, 8.2, 4.05, "new", True),
            (8.2, 4.95, 8.2, 5.55, "h", True),
            (6.75, 3.0, 7.45, 3.0, "reset", True),
        ]
        + _bus((4.0, 6.0, 8.2), 8.2),
    ),
    "rnn": (
        [
            Node("h", "h<sub>t-1</sub>", 0.8, 3.5, "h_prev"),
            Node("x", "x<sub>t</sub>", 6.0, 0.6, "x"),
            Node("op", "tanh", 6.0, 3.5),
            Node("h", "h<sub>t</sub>", 11.2, 3.5, "h"),
        ],
        [(1.55, 3.5, 5.5, 3.5, "h", True), (6.0, 1.15, 6.0, 3.0, "bus", True), (6.5, 3.5, 10.45, 3.5, "h", True)],
    ),
}


def _value_color(quantity: str, value: float) -> str:
    if quantity in _GATES:
        return sample_colorscale(GATE_SCALE, [float(np.clip(value, 0, 1))])[0]
    return sample_colorscale(STATE_SCALE, [float(np.clip((value + 1) / 2, 0, 1))])[0]


def _text_on(quantity: str, value: float) -> str:
    """Black or white, whichever reads on the fill."""
    dark_fill = value < 0.55 if quantity in _GATES else abs(value) > 0.6
    return "#FFFFFF" if dark_fill else "#000000"


def cell_diagram(
    kind: str, values: dict[str, float], title: str | None = None, nonlinearity: str = "tanh"
) -> go.Figure:
    """The cell as textbooks draw it, for one unit at one step. Each state or gate box is filled with its
    value's colour (the heatmaps' scales), outlined in the quantity's own colour, and labelled with its
    name and number; the cell-state (LSTM) or hidden-state (GRU) path runs along the top."""
    nodes, wires = _DIAGRAMS[kind]
    shapes, annotations = [], []  # collected, then set once: Plotly re-validates on every add_shape
    for x0, y0, x1, y1, key, head in wires:
        color = "#9A9A9A" if key == "bus" else COLORS[key]
        width = 3 if key == "bus" else 6
        if head:
            annotations.append(
                dict(
                    x=x1,
                    y=y1,
                    ax=x0,
                    ay=y0,
                    xref="x",
                    yref="y",
                    axref="x",
                    ayref="y",
                    text="",
                    showarrow=True,
                    arrowhead=2,
                    arrowsize=0.8,
                    arrowwidth=width,
                    arrowcolor=color,
                )
            )
        else:
            shapes.append(dict(type="line", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color=color, width=width)))
    for n in nodes:
        label = "relu" if (n.label == "tanh" and kind == "rnn" and nonlinearity == "relu") else n.label
        if n.quantity == "op":
            shapes.append(
                dict(
                    type="circle",
                    x0=n.x - 0.45,
                    x1=n.x + 0.45,
                    y0=n.y - 0.45,
                    y1=n.y + 0.45,
                    line=dict(color="#444444", width=2),
                    fillcolor="#F4F4F4",
                )
            )
            annotations.append(dict(x=n.x, y=n.y, text=label, showarrow=False, font=dict(size=FONT_SIZE - 2)))
            continue
        value = values.get(n.value)
        fill = "#FFFFFF" if value is None else _value_color(n.quantity, value)
        shapes.append(
            dict(
                type="rect",
                x0=n.x - 0.75,
                x1=n.x + 0.75,
                y0=n.y - 0.55,
                y1=n.y + 0.55,
                line=dict(color=COLORS.get(n.quantity, "#000000"), width=5),
                fillcolor=fill,
            )
        )
        text = label if value is None else f"<b>{label}</b> {value:.2f}"
        color = "#000000" if value is None else _text_on(n.quantity, value)
        annotations.append(dict(x=n.x, y=n.y, text=text, showarrow=False, font=dict(size=FONT_SIZE, color=color)))
    fig = go.Figure(
        layout=dict(
            shapes=shapes,
            annotations=annotations,
            xaxis=dict(visible=False, range=[-0.2, 12.2], fixedrange=True),
            yaxis=dict(visible=False, range=[-0.8, 6.9], fixedrange=True),
        )
    )
    return base_layout(fig, height=440, title=title)


# --------------------------------------------------------------------------------------------------
# Line figures shared by several pages


def lines_figure(
    series: dict[str, tuple[np.ndarray, np.ndarray, str, str]],
    *,
    x_title: str,
    y_title: str,
    log_y: bool = False,
    title: str | None = None,
    height: int = 420,
) -> go.Figure:
    """Named lines: ``{name: (x, y, color, dash)}``. Non-finite and (on a log axis) non-positive points
    are left out, so an overflowing curve simply stops where it overflowed."""
    fig = go.Figure()
    for name, (xs, ys, color, dash) in series.items():
        ys = np.asarray(ys, dtype=float)
        keep = np.isfinite(ys) & ((ys > 0) if log_y else True)
        fig.add_trace(
            go.Scatter(
                x=np.asarray(xs)[keep], y=ys[keep], name=name, mode="lines", line=dict(color=color, dash=dash, width=4)
            )
        )
    fig.update_xaxes(title_text=x_title)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", exponentformat="power")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return base_layout(fig, height=height, title=title)


def model_style(kind: str) -> tuple[str, str]:
    return MODEL_COLORS[kind], MODEL_DASH[kind]


def model_name(kind: str) -> str:
    return MODEL_NAMES[kind]


# --------------------------------------------------------------------------------------------------
# Gradient flow


def _curve(xs, ys, log_y: bool) -> tuple[np.ndarray, np.ndarray]:
    """Points that can be drawn: finite, and positive on a log axis (an overflowed curve just stops)."""
    xs, ys = np.asarray(xs), np.asarray(ys, dtype=float)
    keep = np.isfinite(ys) & ((ys > 0) if log_y else True)
    return xs[keep], ys[keep]


def _side_by_side(titles: list[str]) -> dict:
    """Layout of two subplots in one row, with their titles, built directly (make_subplots is slow)."""
    return dict(
        xaxis=dict(domain=[0.0, 0.44], anchor="y"),
        yaxis=dict(anchor="x"),
        xaxis2=dict(domain=[0.56, 1.0], anchor="y2"),
        yaxis2=dict(anchor="x2"),
        annotations=[
            dict(
                text=text,
                x=x,
                xref="paper",
                xanchor="center",
                y=1.0,
                yref="paper",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=FONT_SIZE),
            )
            for text, x in zip(titles, (0.22, 0.78), strict=True)
        ],
    )


def _hline(
    y: float, axis: str, color: str, dash: str, label: str, position: str = "bottom", log: bool = False
) -> tuple[dict, dict]:
    """A horizontal reference line across one subplot, and its label. On a log axis Plotly places shapes
    in data units but annotations in log10 units, so the label's y is converted."""
    suffix = axis[1:]
    shape = dict(
        type="line",
        xref=f"x{suffix} domain",
        x0=0,
        x1=1,
        yref=f"y{suffix}",
        y0=y,
        y1=y,
        line=dict(color=color, dash=dash, width=2),
    )
    note = dict(
        text=label,
        xref=f"x{suffix} domain",
        x=1,
        xanchor="right",
        yref=f"y{suffix}",
        y=float(np.log10(y)) if log else y,
        yanchor="top" if position == "bottom" else "bottom",
        showarrow=False,
        font=dict(size=FONT_SIZE - 2, color=color),
    )
    return shape, note


def lag_figure(
    measured: dict[str, tuple[np.ndarray, str, str]],
    theory: dict[str, np.ndarray],
    overflow: dict[str, int],
    title: str | None = None,
) -> go.Figure:
    """Gradient norm against lag on a log axis. ``measured``: {name: (norms, colour, dash)};
    ``theory``: {name: norms}, drawn thin and grey and named "theory"; ``overflow``: {name: lag}, marked
    with a cross where that curve overflowed."""
    data = []
    for name, (norms, color, dash) in measured.items():
        k, y = _curve(np.arange(np.size(norms)), norms, log_y=True)
        data.append(
            dict(
                type="scatter",
                x=k,
                y=y,
                name=name,
                mode="lines",
                line=dict(color=color, dash=dash, width=4),
                hovertemplate=f"{name}<br>lag %{{x}}<br>%{{y:.3g}}<extra></extra>",
            )
        )
    for name, norms in theory.items():
        k, y = _curve(np.arange(np.size(norms)), norms, log_y=True)
        data.append(
            dict(
                type="scatter",
                x=k,
                y=y,
                name=f"theory: {name}",
                mode="lines",
                line=dict(color=COLORS["theory"], dash="dashdot", width=2.5),
                hovertemplate=f"theory: {name}<br>lag %{{x}}<br>%{{y:.3g}}<extra></extra>",
            )
        )
    for name, lag in overflow.items():
        _, finite = _curve(np.arange(lag), np.asarray(measured[name][0], dtype=float)[:lag], log_y=True)
        y = float(finite[-1]) if finite.size else 1.0
        data.append(
            dict(
                type="scatter",
                x=[lag],
                y=[y],
                mode="markers+text",
                name=f"{name} overflowed",
                marker=dict(symbol="x", size=18, color=measured[name][1], line=dict(width=2)),
                text=[f"overflow at lag {lag}"],
                textposition="top left",
                textfont=dict(size=FONT_SIZE),
                showlegend=False,
            )
        )
    fig = go.Figure(
        dict(
            data=data,
            layout=dict(
                xaxis=dict(title=dict(text="lag k (steps back from the loss at the last step)")),
                yaxis=dict(title=dict(text="gradient norm"), type="log", exponentformat="power"),
                legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
            ),
        )
    )
    return base_layout(fig, height=500, title=title)


def eigen_figure(eigenvalues: np.ndarray, sigma_max: float, gamma: float = 1.0, title: str | None = None) -> go.Figure:
    """Eigenvalues of W_hh on the complex plane, with the unit circle, the 1/gamma circle (Pascanu et al.:
    vanishing is certain when sigma_max < 1/gamma) and a circle at sigma_max itself."""
    theta = np.linspace(0, 2 * np.pi, 120)
    circles = [("unit circle", 1.0, "#222222", "solid")]
    if abs(1 / gamma - 1.0) > 1e-9:
        circles.append((f"1/γ = {1 / gamma:.2f}", 1 / gamma, "#D55E00", "dot"))
    circles.append((f"largest singular value σ_max = {sigma_max:.2f}", sigma_max, "#0072B2", "dash"))
    data = [
        dict(
            type="scatter",
            x=np.round(r * np.cos(theta), 4),
            y=np.round(r * np.sin(theta), 4),
            mode="lines",
            name=name,
            line=dict(color=color, dash=dash, width=2.5),
            hoverinfo="skip",
        )
        for name, r, color, dash in circles
    ]
    data.append(
        dict(
            type="scatter",
            x=eigenvalues.real,
            y=eigenvalues.imag,
            mode="markers",
            name="eigenvalues of W_hh",
            marker=dict(size=11, color=MODEL_COLORS["rnn"], symbol="circle"),
            hovertemplate="%{x:.3f} %{y:+.3f}i<extra></extra>",
        )
    )
    extent = 1.15 * max(1.0, sigma_max, 1 / gamma, float(np.max(np.abs(eigenvalues))) if eigenvalues.size else 1.0)
    fig = go.Figure(
        dict(
            data=data,
            layout=dict(
                xaxis=dict(title=dict(text="real part"), range=[-extent, extent], zeroline=True),
                yaxis=dict(
                    title=dict(text="imaginary part"),
                    range=[-extent, extent],
                    scaleanchor="x",
                    scaleratio=1,
                    zeroline=True,
                ),
                legend=dict(orientation="h", yanchor="top", y=-0.2, x=0),
            ),
        )
    )
    return base_layout(fig, height=520, title=title)


def reach_heatmap(rows: dict[str, np.ndarray], title: str | None = None) -> go.Figure:
    """log10 of the gradient's size at each step (columns: time, oldest left), one row per model or unit."""
    names = list(rows)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.log10(np.array([np.asarray(rows[n], dtype=float) for n in names]))
    z = np.clip(np.where(np.isfinite(z), z, np.nan), -12, 12)
    fig = go.Figure(
        dict(
            data=[
                dict(
                    type="heatmap",
                    z=np.round(z, 3),
                    x=np.arange(z.shape[1]),
                    y=names,
                    colorscale="Viridis",
                    zmin=-8,
                    zmax=2,
                    colorbar=dict(title=dict(text="log₁₀ |grad|"), tickvals=[-8, -6, -4, -2, 0, 2]),
                    hovertemplate="%{y}<br>step %{x}<br>log10 = %{z:.2f}<extra></extra>",
                )
            ],
            layout=dict(xaxis=dict(title=dict(text="time step t (the loss is at the last step)"))),
        )
    )
    return base_layout(fig, height=160 + 60 * len(names), title=title)


def clip_figure(norm_plain, loss_plain, norm_clipped, loss_clipped, threshold: float) -> go.Figure:
    """Gradient norm and loss per SGD step, without and with clipping, side by side."""
    layout = _side_by_side(["gradient norm before clipping", "loss"])
    steps = np.arange(len(norm_plain))
    data = []
    for col, (plain, clipped) in enumerate(((norm_plain, norm_clipped), (loss_plain, loss_clipped)), start=1):
        suffix = "" if col == 1 else "2"
        for name, ys, dash, color in (
            ("no clipping", plain, "solid", "#D55E00"),
            (f"clipped at {threshold:g}", clipped, "dash", "#0072B2"),
        ):
            xs, ys = _curve(steps, ys, log_y=True)
            data.append(
                dict(
                    type="scatter",
                    x=xs,
                    y=ys,
                    name=name,
                    mode="lines+markers",
                    xaxis=f"x{suffix}",
                    yaxis=f"y{suffix}",
                    line=dict(color=color, dash=dash, width=3),
                    showlegend=col == 1,
                    legendgroup=name,
                )
            )
        layout[f"yaxis{suffix}"].update(type="log", exponentformat="power", dtick=1)
        layout[f"xaxis{suffix}"].update(title=dict(text="training step"))
    shape, note = _hline(threshold, "y", "#0072B2", "dot", "threshold", log=True)
    layout.update(shapes=[shape])
    layout["annotations"].append(note)
    finite = np.isfinite(np.asarray(loss_plain, dtype=float))
    if not finite.all():  # mark where the unclipped run stopped being numbers
        last = max(int(np.argmin(finite)) - 1, 0)
        for suffix, ys in (("", norm_plain), ("2", loss_plain)):
            y = float(np.asarray(ys, dtype=float)[last])
            if np.isfinite(y) and y > 0:
                data.append(
                    dict(
                        type="scatter",
                        x=[last],
                        y=[y],
                        mode="markers+text",
                        showlegend=False,
                        xaxis=f"x{suffix}",
                        yaxis=f"y{suffix}",
                        marker=dict(symbol="x", size=18, color="#D55E00"),
                        text=[f"no clipping: overflowed after step {last}"],
                        textposition="middle right",
                        textfont=dict(size=FONT_SIZE - 2, color="#D55E00"),
                    )
                )
    layout["legend"] = dict(orientation="h", yanchor="bottom", y=1.08, x=0)
    return base_layout(go.Figure(dict(data=data, layout=layout)), height=420)
