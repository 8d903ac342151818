"""Pure figure builders: arrays in, ``plotly.graph_objects.Figure`` out. Nothing here calls Streamlit.

Step-by-step animation runs in the browser: heatmaps are drawn once, and each Plotly frame moves only a
thin step marker, so playing 200 steps sends no request to the server.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from rnnviz.theme import COLORS, FONT_SIZE, GATE_SCALE, LABELS, MODEL_COLORS, MODEL_DASH, MODEL_NAMES, STATE_SCALE

STATE_LIKE = {"h", "c", "cell", "new"}  # values in -1 .. 1 (tanh); everything else is a gate in 0 .. 1


def base_layout(fig: go.Figure, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height,
        title=dict(text=title, x=0.0, xanchor="left") if title else None,
        font=dict(size=FONT_SIZE),
        margin=dict(l=70, r=30, t=60 if title else 30, b=50),
        template="plotly_white",
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


def overview_figure(x: np.ndarray, panels: list[Panel], step: int = 0, title: str | None = None) -> go.Figure:
    """The input on top, then one heatmap (time x unit) per panel, with a step marker that Play moves.

    States use a diverging scale centred on zero (-1 .. 1); gates a sequential scale (0 .. 1). Both
    ranges are pinned so the colours mean the same at every step and on every page.
    """
    x = np.asarray(x)
    T = x.shape[0]
    step = int(np.clip(step, 0, T - 1))
    rows = 1 + len(panels)
    titles = [LABELS["x"]] + [p.title for p in panels]
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.06, 0.25 / rows),
        subplot_titles=titles,
        row_heights=[0.6] + [1.0] * len(panels),
    )
    t = np.arange(T)
    for d in range(x.shape[1]):
        fig.add_trace(
            go.Scatter(
                x=t,
                y=_rounded(x[:, d]),
                mode="lines",
                line=dict(color=COLORS["x"], width=3),
                name=f"x[{d}]",
                showlegend=False,
                hovertemplate="t=%{x}<br>x=%{y:.3f}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    for r, panel in enumerate(panels, start=2):
        values = np.asarray(panel.values)
        H = values.shape[1]
        fig.add_trace(
            go.Heatmap(
                z=_rounded(values.T),
                x=t,
                y=np.arange(H),
                coloraxis="coloraxis" if panel.quantity in STATE_LIKE else "coloraxis2",
                hovertemplate=f"{panel.title}<br>t=%{{x}}, unit %{{y}}<br>value %{{z:.3f}}<extra></extra>",
            ),
            row=r,
            col=1,
        )
        fig.update_yaxes(title_text="unit", row=r, col=1, range=[-0.5, H - 0.5])
    # Step markers: one vertical line per row; these are the only traces the frames touch.
    marker_rows = list(range(1, rows + 1))
    spans = [(float(np.min(x)) - 0.1, float(np.max(x)) + 0.1)] + [(-0.5, p.values.shape[1] - 0.5) for p in panels]
    first_marker = len(fig.data)
    for r, (lo, hi) in zip(marker_rows, spans, strict=True):
        fig.add_trace(
            go.Scatter(
                x=[step, step],
                y=[lo, hi],
                mode="lines",
                line=dict(color="#222222", width=3),
                showlegend=False,
                hoverinfo="skip",
            ),
            row=r,
            col=1,
        )
    marker_ids = list(range(first_marker, first_marker + rows))
    fig.frames = [
        go.Frame(name=str(k), traces=marker_ids, data=[go.Scatter(x=[k, k], y=[lo, hi]) for lo, hi in spans])
        for k in range(T)
    ]
    # Subplot titles carry each quantity's colour (and its name, so colour is never the only cue).
    quantities = ["x"] + [p.quantity for p in panels]
    for annotation, quantity in zip(fig.layout.annotations, quantities, strict=False):
        annotation.font = dict(size=FONT_SIZE, color=COLORS.get(quantity, "#000000"))
        annotation.x, annotation.xanchor = 0.0, "left"
    fig.update_xaxes(range=[-0.5, T - 0.5])
    fig.update_xaxes(title_text="time step t", row=rows, col=1)
    fig.update_layout(
        coloraxis=dict(
            colorscale=STATE_SCALE,
            cmin=-1,
            cmax=1,
            cmid=0,
            colorbar=dict(title="state", len=0.45, y=1.0, yanchor="top", x=1.01),
        ),
        coloraxis2=dict(
            colorscale=GATE_SCALE,
            cmin=0,
            cmax=1,
            colorbar=dict(title="gate", len=0.45, y=0.0, yanchor="bottom", x=1.01),
        ),
        showlegend=False,
        **play_controls(T, step),
    )
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
    fig = go.Figure()
    for x0, y0, x1, y1, key, head in wires:
        color = "#9A9A9A" if key == "bus" else COLORS[key]
        width = 3 if key == "bus" else 6
        if head:
            fig.add_annotation(
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
        else:
            fig.add_shape(type="line", x0=x0, y0=y0, x1=x1, y1=y1, line=dict(color=color, width=width))
    for n in nodes:
        label = "relu" if (n.label == "tanh" and kind == "rnn" and nonlinearity == "relu") else n.label
        if n.quantity == "op":
            fig.add_shape(
                type="circle",
                x0=n.x - 0.45,
                x1=n.x + 0.45,
                y0=n.y - 0.45,
                y1=n.y + 0.45,
                line=dict(color="#444444", width=2),
                fillcolor="#F4F4F4",
            )
            fig.add_annotation(x=n.x, y=n.y, text=label, showarrow=False, font=dict(size=FONT_SIZE - 2))
            continue
        value = values.get(n.value)
        fill = "#FFFFFF" if value is None else _value_color(n.quantity, value)
        fig.add_shape(
            type="rect",
            x0=n.x - 0.75,
            x1=n.x + 0.75,
            y0=n.y - 0.55,
            y1=n.y + 0.55,
            line=dict(color=COLORS.get(n.quantity, "#000000"), width=5),
            fillcolor=fill,
        )
        text = label if value is None else f"<b>{label}</b> {value:.2f}"
        color = "#000000" if value is None else _text_on(n.quantity, value)
        fig.add_annotation(x=n.x, y=n.y, text=text, showarrow=False, font=dict(size=FONT_SIZE, color=color))
    fig.update_xaxes(visible=False, range=[-0.2, 12.2], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-0.8, 6.9], fixedrange=True)
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


def lag_figure(
    measured: dict[str, tuple[np.ndarray, str, str]],
    theory: dict[str, np.ndarray],
    overflow: dict[str, int],
    title: str | None = None,
) -> go.Figure:
    """Gradient norm against lag on a log axis. ``measured``: {name: (norms, colour, dash)};
    ``theory``: {name: norms}, drawn thin and grey and named "theory"; ``overflow``: {name: lag}, marked
    with a cross where that curve overflowed."""
    fig = go.Figure()
    for name, (norms, color, dash) in measured.items():
        norms = np.asarray(norms, dtype=float)
        k = np.arange(norms.size)
        keep = np.isfinite(norms) & (norms > 0)
        fig.add_trace(
            go.Scatter(
                x=k[keep],
                y=norms[keep],
                name=name,
                mode="lines",
                line=dict(color=color, dash=dash, width=4),
                hovertemplate=f"{name}<br>lag %{{x}}<br>%{{y:.3g}}<extra></extra>",
            )
        )
    for name, norms in theory.items():
        norms = np.asarray(norms, dtype=float)
        k = np.arange(norms.size)
        keep = np.isfinite(norms) & (norms > 0)
        fig.add_trace(
            go.Scatter(
                x=k[keep],
                y=norms[keep],
                name=f"theory: {name}",
                mode="lines",
                line=dict(color=COLORS["theory"], dash="dashdot", width=2.5),
                hovertemplate=f"theory: {name}<br>lag %{{x}}<br>%{{y:.3g}}<extra></extra>",
            )
        )
    for name, lag in overflow.items():
        norms = np.asarray(measured[name][0], dtype=float)
        finite = norms[:lag][np.isfinite(norms[:lag]) & (norms[:lag] > 0)]
        y = float(finite[-1]) if finite.size else 1.0
        fig.add_trace(
            go.Scatter(
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
    fig.update_xaxes(title_text="lag k (steps back from the loss at the last step)")
    fig.update_yaxes(title_text="gradient norm", type="log", exponentformat="power")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return base_layout(fig, height=500, title=title)


def eigen_figure(eigenvalues: np.ndarray, sigma_max: float, gamma: float = 1.0, title: str | None = None) -> go.Figure:
    """Eigenvalues of W_hh on the complex plane, with the unit circle, the 1/gamma circle (Pascanu et al.:
    vanishing is certain when sigma_max < 1/gamma) and a circle at sigma_max itself."""
    theta = np.linspace(0, 2 * np.pi, 200)
    fig = go.Figure()
    circles = [("unit circle", 1.0, "#222222", "solid")]
    if abs(1 / gamma - 1.0) > 1e-9:
        circles.append((f"1/γ = {1 / gamma:.2f}", 1 / gamma, "#D55E00", "dot"))
    circles.append((f"largest singular value σ_max = {sigma_max:.2f}", sigma_max, "#0072B2", "dash"))
    for name, r, color, dash in circles:
        fig.add_trace(
            go.Scatter(
                x=r * np.cos(theta),
                y=r * np.sin(theta),
                mode="lines",
                name=name,
                line=dict(color=color, dash=dash, width=2.5),
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=eigenvalues.real,
            y=eigenvalues.imag,
            mode="markers",
            name="eigenvalues of W_hh",
            marker=dict(size=11, color=MODEL_COLORS["rnn"], symbol="circle"),
            hovertemplate="%{x:.3f} %{y:+.3f}i<extra></extra>",
        )
    )
    extent = 1.15 * max(1.0, sigma_max, 1 / gamma, float(np.max(np.abs(eigenvalues))) if eigenvalues.size else 1.0)
    fig.update_xaxes(title_text="real part", range=[-extent, extent], zeroline=True)
    fig.update_yaxes(title_text="imaginary part", range=[-extent, extent], scaleanchor="x", scaleratio=1, zeroline=True)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    return base_layout(fig, height=520, title=title)


def reach_heatmap(rows: dict[str, np.ndarray], title: str | None = None) -> go.Figure:
    """log10 of the gradient's size at each step (columns: time, oldest left), one row per model or unit."""
    names = list(rows)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.log10(np.array([np.asarray(rows[n], dtype=float) for n in names]))
    z = np.where(np.isfinite(z), z, np.nan)
    z = np.clip(z, -12, 12)
    fig = go.Figure(
        go.Heatmap(
            z=np.round(z, 3),
            x=np.arange(z.shape[1]),
            y=names,
            colorscale="Viridis",
            zmin=-8,
            zmax=2,
            colorbar=dict(title="log₁₀ |grad|", tickvals=[-8, -6, -4, -2, 0, 2]),
            hovertemplate="%{y}<br>step %{x}<br>log10 = %{z:.2f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="time step t (the loss is at the last step)")
    return base_layout(fig, height=160 + 60 * len(names), title=title)


def clip_figure(norm_plain, loss_plain, norm_clipped, loss_clipped, threshold: float) -> go.Figure:
    """Gradient norm and loss per SGD step, without and with clipping, side by side."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["gradient norm before clipping", "loss"])
    steps = np.arange(len(norm_plain))
    for col, (plain, clipped) in enumerate(((norm_plain, norm_clipped), (loss_plain, loss_clipped)), start=1):
        for name, ys, dash, color in (
            ("no clipping", plain, "solid", "#D55E00"),
            (f"clipped at {threshold:g}", clipped, "dash", "#0072B2"),
        ):
            ys = np.asarray(ys, dtype=float)
            keep = np.isfinite(ys) & (ys > 0)
            fig.add_trace(
                go.Scatter(
                    x=steps[keep],
                    y=ys[keep],
                    name=name,
                    mode="lines+markers",
                    line=dict(color=color, dash=dash, width=3),
                    showlegend=col == 1,
                    legendgroup=name,
                ),
                row=1,
                col=col,
            )
        fig.update_yaxes(type="log", exponentformat="power", dtick=1, row=1, col=col)
        fig.update_xaxes(title_text="training step", row=1, col=col)
    fig.add_hline(
        y=threshold,
        line=dict(color="#0072B2", dash="dot", width=2),
        row=1,
        col=1,
        annotation_text="threshold",
        annotation_position="bottom right",
    )
    finite = np.isfinite(np.asarray(loss_plain, dtype=float))
    if not finite.all():  # mark where the unclipped run stopped being numbers
        last = int(np.argmin(finite)) - 1
        for col, ys in ((1, norm_plain), (2, loss_plain)):
            y = float(np.asarray(ys, dtype=float)[max(last, 0)])
            if np.isfinite(y) and y > 0:
                fig.add_trace(
                    go.Scatter(
                        x=[max(last, 0)],
                        y=[y],
                        mode="markers+text",
                        showlegend=False,
                        marker=dict(symbol="x", size=18, color="#D55E00"),
                        text=[f"no clipping: overflowed after step {max(last, 0)}"],
                        textposition="middle right",
                        textfont=dict(size=FONT_SIZE - 2, color="#D55E00"),
                    ),
                    row=1,
                    col=col,
                )
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.08, x=0))
    return base_layout(fig, height=420)


# --------------------------------------------------------------------------------------------------
# Training


def learning_curves(
    histories: dict[str, list], metric: str, baseline: float, threshold: float, show_train: bool = False
) -> go.Figure:
    """Test metric (and, with ``show_train``, the training metric) and the gradient norm against the
    update step, one colour and dash per model. ``histories``: {kind: [Progress, ...]}."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=[f"held-out test {metric}", "gradient norm (before clipping)"],
        horizontal_spacing=0.12,
    )
    for kind, history in histories.items():
        if not history:
            continue
        steps = [p.step for p in history]
        color, dash = MODEL_COLORS[kind], MODEL_DASH[kind]
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=[p.test_metric for p in history],
                name=f"{MODEL_NAMES[kind]} test",
                mode="lines+markers",
                line=dict(color=color, dash=dash, width=4),
                legendgroup=kind,
            ),
            row=1,
            col=1,
        )
        if show_train:
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=[p.train_metric for p in history],
                    name=f"{MODEL_NAMES[kind]} train",
                    mode="lines",
                    line=dict(color=color, dash="dot", width=2),
                    opacity=0.7,
                    legendgroup=kind,
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=[p.grad_norm for p in history],
                name=f"{MODEL_NAMES[kind]}",
                mode="lines",
                line=dict(color=color, dash=dash, width=3),
                legendgroup=kind,
                showlegend=False,
            ),
            row=1,
            col=2,
        )
    fig.add_hline(
        y=baseline,
        line=dict(color=COLORS["theory"], dash="dot", width=2),
        row=1,
        col=1,
        annotation_text="input-blind baseline",
        annotation_position="top right",
    )
    fig.add_hline(
        y=threshold,
        line=dict(color="#009E73", dash="dash", width=2),
        row=1,
        col=1,
        annotation_text="solved",
        annotation_position="bottom right",
    )
    if metric == "MSE":
        fig.update_yaxes(type="log", exponentformat="power", dtick=1, row=1, col=1)  # decades only
    else:
        fig.update_yaxes(range=[0, 1.02], row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", dtick=1, row=1, col=2)
    fig.update_xaxes(title_text="update step")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.1, x=0))
    return base_layout(fig, height=460)


def sweep_figure(
    lengths: list[int], rates: dict[str, list[float]], n_seeds: int, title: str | None = None
) -> go.Figure:
    """Share of seeds solved against sequence length, one line per model."""
    fig = go.Figure()
    for kind, values in rates.items():
        fig.add_trace(
            go.Scatter(
                x=lengths,
                y=values,
                name=MODEL_NAMES[kind],
                mode="lines+markers",
                line=dict(color=MODEL_COLORS[kind], dash=MODEL_DASH[kind], width=4),
                marker=dict(size=12, symbol={"rnn": "circle", "lstm": "square", "gru": "diamond"}[kind]),
                hovertemplate=f"{MODEL_NAMES[kind]}<br>length %{{x}}<br>%{{y:.0%}} solved<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="sequence length (the lag)", type="log", tickvals=lengths)
    fig.update_yaxes(title_text=f"share of {n_seeds} seeds solved", range=[-0.05, 1.05], tickformat=".0%")
    fig.update_layout(legend=dict(orientation="h", yanchor="bottom", y=1.02, x=1, xanchor="right"))
    return base_layout(fig, height=440, title=title)
