"""The cell diagram: the textbook picture of one RNN, LSTM, GRU or 1997 LSTM (no forget gate) unit, as geometry
(boxes, operations and wires on a 12 x 7 canvas) and as Plotly pieces. The boxes are one scatter trace, so an
animation frame can recolour and relabel them for each step; wires and operations are layout shapes that never
change.

Each box is filled with its value's colour on the heatmaps' scale, outlined in the quantity's own colour, and
labelled with its name and number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from rnnviz.figures import colormaps
from rnnviz.figures.theme import COLORS, FONT_SIZE


@dataclass(frozen=True)
class Node:
    """A box (a state or gate, filled with its value's colour) or, for quantity "op", a round operation."""

    quantity: str
    label: str
    x: float
    y: float
    value: str | None = None  # key into the step's values


# Wires: (x0, y0, x1, y1, colour key, with arrow head: True, or the head's size for a short arrow whose usual head
# would reach back over the box it leaves). Canvas 0..12 by -0.6..7.
_GATES = ("input", "forget", "output", "reset", "update")
_BUS = 1.5  # the bottom wire that carries h_{t-1} and x_t to every gate


def _bus(gate_xs, end, x_at):
    wires = [(0.8, _BUS, end, _BUS, "bus", False), (x_at, 0.35, x_at, _BUS, "bus", False)]
    return wires + [(gx, _BUS, gx, 2.45, "bus", True) for gx in gate_xs]


_DIAGRAMS = {
    "lstm": (
        [
            Node("c", "c<sub>t-1</sub>", 0.8, 6.0, "c_prev"),
            Node("op", "×", 2.8, 6.0),
            Node("op", "+", 5.5, 6.0),
            Node("c", "c<sub>t</sub>", 11.2, 6.0, "c"),
            Node("forget", "f", 2.8, 3.0, "forget"),
            Node("input", "i", 4.6, 3.0, "input"),
            Node("cell", "g", 6.4, 3.0, "cell"),
            Node("output", "o", 8.2, 3.0, "output"),
            Node("op", "×", 5.5, 4.5),
            Node("op", "tanh", 9.9, 4.5),
            Node("op", "×", 9.9, 3.0),
            Node("h", "h<sub>t-1</sub>", 0.8, _BUS, "h_prev"),
            Node("x", "x<sub>t</sub>", 3.7, -0.1, "x"),
            Node("h", "h<sub>t</sub>", 11.2, _BUS, "h"),
        ],
        [
            (1.55, 6, 2.35, 6, "c", True),
            (3.25, 6, 5.05, 6, "c", True),
            (5.95, 6, 10.45, 6, "c", True),
            (2.8, 3.55, 2.8, 5.55, "forget", True),
            (4.6, 3.55, 5.15, 4.15, "input", True),
            (6.4, 3.55, 5.85, 4.15, "cell", True),
            (5.5, 4.95, 5.5, 5.55, "c", True),
            (9.9, 6.0, 9.9, 4.95, "c", True),
            (9.9, 4.05, 9.9, 3.45, "c", True),
            (8.95, 3.0, 9.45, 3.0, "output", 0.45),  # 10 px between o's box and the ×: a full head covered o's number
            (9.9, 2.55, 9.9, _BUS, "h", False),
            (9.9, _BUS, 10.45, _BUS, "h", True),
        ]
        + _bus((2.8, 4.6, 6.4, 8.2), 8.2, 3.7),
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
            Node("x", "x<sub>t</sub>", 2.9, -0.1, "x"),
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
        + _bus((4.0, 6.0, 8.2), 8.2, 2.9),
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


# The 1997 LSTM: the LSTM's picture without the forget gate, whose box and × on the cell-state line are gone; the
# line runs straight from c_{t-1} into the + (c_t = c_{t-1} + i_t g_t: the "constant error carousel").
_LSTM_NODES, _LSTM_WIRES = _DIAGRAMS["lstm"]
_DIAGRAMS["lstm1997"] = (
    [n for n in _LSTM_NODES if n.quantity != "forget" and not (n.label == "×" and (n.x, n.y) == (2.8, 6.0))],
    [(1.55, 6, 5.05, 6, "c", True)]
    + [w for w in _LSTM_WIRES[2:] if w[4] not in ("forget", "bus")]
    + _bus((4.6, 6.4, 8.2), 8.2, 3.7),
)

# Plotly draws <sub> and <sup> at 70% of the text: on a projector (text of 23 px) that is 16 px. There the
# labels use Unicode's sub- and superscript letters, drawn at the text's own size; a letter Unicode lacks as a
# subscript (f, g, z, T, ...) is written after an underscore.
_SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
_SUP = dict(zip("0123456789+-−T", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻ᵀ", strict=True))


def plain_scripts(text: str) -> str:
    """``text`` with its <sub>...</sub> and <sup>...</sup> written in Unicode sub- and superscripts (or after
    _ and ^ when a letter has none), so that they keep the size of the text around them."""

    def written(match, table: dict, mark: str) -> str:
        inner = match.group(1)
        return "".join(table[c] for c in inner) if all(c in table for c in inner) else mark + inner

    text = re.sub(r"<sub>(.*?)</sub>", lambda m: written(m, _SUB, "_"), text)
    return re.sub(r"<sup>(.*?)</sup>", lambda m: written(m, _SUP, "^"), text)


CANVAS_X = (-0.2, 12.2)
CANVAS_Y = (-0.8, 6.9)
GATES = frozenset(_GATES)


def boxes(kind: str) -> list[Node]:
    """The diagram's value boxes (states and gates), in drawing order."""
    return [n for n in _DIAGRAMS[kind][0] if n.quantity != "op"]


BOX_PX = 42  # a box's size on a wide screen (box_trace): the arrows' standoffs (fixed_parts) must use the same


def edge_px(box_px: float) -> float:
    """From a box's centre to the outside of its 3 px outline, in pixels."""
    return box_px / 2 + 1.5


def _at_box(kind: str, x: float, y: float) -> Node | None:
    """The box whose edge a wire's end (x, y) was drawn to (within 0.8 across and 0.6 up of its centre)."""
    return next((n for n in boxes(kind) if abs(x - n.x) <= 0.8 and abs(y - n.y) <= 0.6), None)


def fixed_parts(
    kind: str, xref: str, yref: str, nonlinearity: str = "tanh", box_px: float = BOX_PX
) -> tuple[list[dict], list[dict]]:
    """The parts that never change: wires (lines, or arrows as annotations) and the round operations, as
    layout shapes and annotations on the axes ``xref``/``yref``. A worded operation (tanh, relu, 1−z) is a wider
    oval: in a circle its label ran over the outline (27 px of "tanh" in 21–24 px, 45 in 31–37 on a projector).

    A box is ``box_px`` pixels wide at every width, the canvas is not: an arrow drawn to a box's edge in canvas
    units ran into the box on a phone (annotations are drawn over the boxes) and over its label, a gate's letter.
    So an arrow that starts or ends at a box is drawn from or to the box's centre and kept off it by a standoff in
    pixels (``standoff``/``startstandoff``: the box's half width, longer for a slanted arrow, which leaves the
    square further out; the phone layout scales them, stepper.narrow_layout), and plain lines lie under the boxes
    (``layer="below"``), which hide their ends."""
    nodes, wires = _DIAGRAMS[kind]
    shapes, notes = [], []
    for x0, y0, x1, y1, key, head in wires:
        color = "#9A9A9A" if key == "bus" else COLORS[key]
        width = 3 if key == "bus" else 6
        if head:
            start, end = _at_box(kind, x0, y0), _at_box(kind, x1, y1)
            x0, y0 = (start.x, start.y) if start else (x0, y0)
            x1, y1 = (end.x, end.y) if end else (x1, y1)
            length = float(np.hypot(x1 - x0, y1 - y0))
            out = edge_px(box_px) * length / max(abs(x1 - x0), abs(y1 - y0))  # to the square's edge
            notes.append(
                dict(
                    x=x1,
                    y=y1,
                    ax=x0,
                    ay=y0,
                    xref=xref,
                    yref=yref,
                    axref=xref,
                    ayref=yref,
                    text="",
                    showarrow=True,
                    arrowhead=2,
                    arrowsize=0.8 if head is True else head,
                    arrowwidth=width,
                    arrowcolor=color,
                    **({"startstandoff": round(out, 1)} if start else {}),
                    **({"standoff": round(out, 1)} if end else {}),
                )
            )
        else:
            shapes.append(
                dict(
                    type="line",
                    x0=x0,
                    y0=y0,
                    x1=x1,
                    y1=y1,
                    xref=xref,
                    yref=yref,
                    line=dict(color=color, width=width),
                    layer="below",
                )
            )
    for n in nodes:
        if n.quantity != "op":
            continue
        label = "relu" if (n.label == "tanh" and kind == "rnn" and nonlinearity == "relu") else n.label
        shapes.append(
            dict(
                type="circle",
                xref=xref,
                yref=yref,
                x0=n.x - (0.75 if len(label) > 1 else 0.45),
                x1=n.x + (0.75 if len(label) > 1 else 0.45),
                y0=n.y - 0.45,
                y1=n.y + 0.45,
                line=dict(color="#444444", width=2),
                fillcolor="#F4F4F4",
            )
        )
        notes.append(
            dict(x=n.x, y=n.y, xref=xref, yref=yref, text=label, showarrow=False, font=dict(size=FONT_SIZE - 2))
        )
    return shapes, notes


def box_styles(kind: str, series: dict[str, np.ndarray], scales: dict[str, colormaps.Scale]) -> list[dict]:
    """Fill colours, labels and label colours of the boxes at every step, from a unit's ``series`` ((T,)
    arrays, as ``explain.unit_series`` gives). ``scales`` maps a quantity to its colour scale (the heatmaps');
    a quantity without one uses the state or gate scale."""
    T = len(next(iter(series.values())))
    columns = []
    for n in boxes(kind):
        values = series.get(n.value)
        if values is None:
            columns.append(([("#FFFFFF")] * T, [n.label] * T, ["#000000"] * T))
            continue
        scale = scales.get(n.quantity) or (colormaps.GATE if n.quantity in GATES else colormaps.STATE)
        columns.append((scale.colors(values), [f"{n.label}<br>{v:.2f}" for v in values], scale.inks(values)))
    return [
        {"color": [c[0][t] for c in columns], "text": [c[1][t] for c in columns], "ink": [c[2][t] for c in columns]}
        for t in range(T)
    ]


def box_style(kind: str, values: dict[str, float], scales: dict[str, colormaps.Scale]) -> dict[str, list]:
    """The boxes' style for one step's ``values`` (floats)."""
    return box_styles(kind, {k: np.array([v]) for k, v in values.items()}, scales)[0]


# The boxes on a phone (the plot under 480 px wide: the canvas is then about 23 px a unit, and two gates are 1.8
# units apart): smaller boxes and numbers, applied in the browser (``meta.narrow``, a ``Plotly.restyle`` update, by
# rnnviz/app/player.py) and kept by the animation's frames, which restyle only colours and texts.
PHONE_BOX = {"marker.size": 34, "marker.line.width": 3, "textfont.size": FONT_SIZE - 3}


def box_trace(kind: str, style: dict[str, list], xaxis: str, yaxis: str, size: int = BOX_PX) -> dict:
    """The boxes as one scatter trace (square markers), styled for one step. Two neighbouring gates are 1.8
    units apart, about 48 px at 1280 px wide: a box of 42 px and its 3 px outline leave a gap (46 and 4 px
    overlapped). ``meta.narrow`` is the trace's phone restyle (:data:`PHONE_BOX`)."""
    nodes = boxes(kind)
    return dict(
        type="scatter",
        x=[n.x for n in nodes],
        y=[n.y for n in nodes],
        mode="markers+text",
        xaxis=xaxis,
        yaxis=yaxis,
        marker=dict(
            symbol="square",
            size=size,
            color=style["color"],
            line=dict(color=[COLORS.get(n.quantity, "#000000") for n in nodes], width=3),
        ),
        text=style["text"],
        textposition="middle center",
        textfont=dict(size=FONT_SIZE - 1, color=style["ink"]),
        hoverinfo="skip",
        showlegend=False,
        cliponaxis=False,
        meta={"narrow": dict(PHONE_BOX)},
    )


def cell_diagram(
    kind: str, values: dict[str, float], title: str | None = None, nonlinearity: str = "tanh"
) -> go.Figure:
    """The diagram alone, for one unit at one step (values from ``explain.unit_values``)."""
    from rnnviz.figures.common import base_layout

    shapes, notes = fixed_parts(kind, "x", "y", nonlinearity)
    fig = go.Figure(
        dict(
            data=[box_trace(kind, box_style(kind, values, {}), "x", "y")],
            layout=dict(
                shapes=shapes,
                annotations=notes,
                xaxis=dict(visible=False, range=list(CANVAS_X), fixedrange=True),
                yaxis=dict(visible=False, range=list(CANVAS_Y), fixedrange=True),
            ),
        )
    )
    return base_layout(fig, height=440, title=title)
