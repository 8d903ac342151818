"""Figures of the gradient page: gradient against lag, the eigenvalues of W_hh, which steps still reach
the loss, and clipping. Pure builders: arrays in, ``plotly.graph_objects.Figure`` (or caption text) out.

Every axis is scaled to what was measured; theory is drawn only inside that range, each theory curve in
a style of its own and named "theory: ...".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from rnnviz.engine.analysis import KEPT, VANISHED
from rnnviz.figures.colormaps import colorscale_json
from rnnviz.figures.common import _curve, _hline, _side_by_side, base_layout, figure_spec
from rnnviz.figures.theme import COLORS, FONT_SIZE, LINE_COLORS, MODEL_COLORS, REACH_SCALE, TEXT_COLORS

AXIS_PAD = 0.5  # decades of room above and below the measured curves on a log axis
REACH_DECADES = 6  # the reach map's colours saturate at 10^±6 times the size at the loss
REACH_WITHIN = 3  # "reaches the loss": within a factor 10^3 of its size there (analysis.VANISHED)

# Theory curves: thin, no markers, a dash of their own (the measured curves are thick, with markers).
THEORY_STYLES = [(COLORS["theory"], "dashdot"), (TEXT_COLORS["c"], "longdashdot"), (COLORS["theory"], "longdash")]


def log_range(curves, pad: float = AXIS_PAD) -> list[float] | None:
    """[low, high] in log10 units spanning the finite, positive values of ``curves``, with ``pad`` decades
    either side (None when there is nothing to draw)."""
    values = np.concatenate([np.ravel(np.asarray(c, dtype=float)) for c in curves]) if curves else np.zeros(0)
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return None
    low, high = float(np.log10(values.min())), float(np.log10(values.max()))
    return [low - pad, high + pad]


def lag_figure(*args, **kwargs) -> go.Figure:
    """:func:`lag_spec`'s Figure."""
    return go.Figure(lag_spec(*args, **kwargs))


def lag_spec(
    measured: dict[str, tuple],
    theory: dict[str, object],
    overflow: dict[str, int],
    title: str | None = None,
) -> dict:
    """Gradient norm against lag on a log axis scaled to the measured curves.

    ``measured``: {name: (norms, colour, dash) or (norms, colour, dash, symbol)}, thick lines with a marker
    every few lags. ``theory``: {name: norms or (norms, colour, dash)}, thin, named "theory: <name>", drawn
    only inside the measured range (and then named "... (clipped to the chart)"). ``overflow``:
    {name: lag}, a cross where that measured curve overflowed."""
    y_range = log_range([entry[0] for entry in measured.values()])
    data = []
    for name, entry in measured.items():
        norms, color, dash = entry[:3]
        symbol = entry[3] if len(entry) > 3 else "circle"
        k, y = _curve(np.arange(np.size(norms)), norms, log_y=True)
        data.append(
            dict(
                type="scatter",
                x=k,
                y=y,
                name=name,
                mode="lines+markers",
                line=dict(color=color, dash=dash, width=4),
                marker=dict(symbol=symbol, size=11, color=color, maxdisplayed=12),
                hovertemplate=f"{name}<br>lag %{{x}}<br>%{{y:.3g}}<extra></extra>",
            )
        )
    for i, (name, entry) in enumerate(theory.items()):
        if isinstance(entry, tuple):
            norms, color, dash = entry
        else:
            norms, (color, dash) = entry, THEORY_STYLES[i % len(THEORY_STYLES)]
        k, y = _curve(np.arange(np.size(norms)), norms, log_y=True)
        label = f"theory: {name}"
        if y_range is not None:
            inside = (np.log10(y) >= y_range[0]) & (np.log10(y) <= y_range[1])
            if not inside.any():
                continue  # nothing of it is on the chart: it says nothing about these curves
            if not inside.all():
                label += " (clipped to the chart)"
                y = np.where(inside, y, np.nan)  # the line breaks where it leaves the chart
        data.append(
            dict(
                type="scatter",
                x=k,
                y=y,
                name=label,
                mode="lines",
                line=dict(color=color, dash=dash, width=2.5),
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
                textfont=dict(size=FONT_SIZE, color=TEXT_COLORS["x"]),
                showlegend=False,
            )
        )
    yaxis = dict(title=dict(text="gradient norm"), type="log", exponentformat="power")
    if y_range is not None:
        yaxis["range"] = y_range
    layout = dict(
        xaxis=dict(  # two lines: one was cut at a phone's width
            title=dict(text="lag k: steps back from the loss<br>(the loss is at the last step)"),
            automargin=True,
        ),
        yaxis=yaxis,
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    return figure_spec(data, layout, height=540, title=title)


def eigen_figure(*args, **kwargs) -> go.Figure:
    """:func:`eigen_spec`'s Figure."""
    return go.Figure(eigen_spec(*args, **kwargs))


def eigen_spec(eigenvalues: np.ndarray, sigma_max: float, gamma: float = 1.0, title: str | None = None) -> dict:
    """Eigenvalues of W_hh on the complex plane, with the unit circle, the 1/gamma circle (Pascanu et al.:
    vanishing is certain when sigma_max < 1/gamma), the spectral radius rho = max |eigenvalue| (what the
    page's slider sets) and the largest singular value sigma_max >= rho."""
    theta = np.linspace(0, 2 * np.pi, 120)
    rho = float(np.max(np.abs(eigenvalues))) if eigenvalues.size else 0.0
    circles = [("unit circle", 1.0, "#222222", "solid")]
    if abs(1 / gamma - 1.0) > 1e-9:
        circles.append((f"1/γ = {1 / gamma:.2f}", 1 / gamma, LINE_COLORS["forget"], "dot"))
    circles.append((f"spectral radius ρ = max |λ| = {rho:.2f}", rho, MODEL_COLORS["rnn"], "dot"))
    circles.append((f"largest singular value σ_max = {sigma_max:.2f}", sigma_max, LINE_COLORS["h"], "dash"))
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
            name="eigenvalues λ of W_hh",
            marker=dict(size=11, color=MODEL_COLORS["rnn"], symbol="circle"),
            hovertemplate="%{x:.3f} %{y:+.3f}i<extra></extra>",
        )
    )
    extent = 1.15 * max(1.0, sigma_max, 1 / gamma, rho)
    layout = dict(
        xaxis=dict(title=dict(text="real part"), range=[-extent, extent], zeroline=True),
        yaxis=dict(
            title=dict(text="imaginary part"), range=[-extent, extent], scaleanchor="x", scaleratio=1, zeroline=True
        ),
        legend=dict(orientation="h", yanchor="top", y=-0.2, x=0),
    )
    return figure_spec(data, layout, height=560, title=title)


# --------------------------------------------------------------------------------------------------
# The readout cards: one gradient curve in a word and a sentence, judged over the whole curve


CARD_RULES = (
    "Each gradient's size k steps back, divided by its size at the loss, over the whole curve: **exploding** "
    f"once it is more than ×{1 / VANISHED:g} (or overflows), **vanishing** once it is below 1/{1 / VANISHED:g}, "
    f"**growing** once it is more than ×{1 / KEPT:g}, **kept** when it never falls below {KEPT:g}, **fading** "
    "otherwise. *Per step on average* is the factor that, multiplied once per step, gives the size at the far end."
)


@dataclass(frozen=True)
class Card:
    word: str  # exploding, vanishing, growing, kept, fading (CARD_RULES), or "no gradient"
    detail: str  # the numbers behind the word, read off the curve


def per_step(total: float, steps: int) -> float:
    """The average factor per step that, multiplied ``steps`` times, gives ``total`` (a geometric mean)."""
    return float(total) ** (1 / steps)


def regime_card(norms: np.ndarray) -> Card:
    """The word and sentence of one lag-first gradient curve (``norms[k]``: its size k steps back from the
    loss), from its ratios to ``norms[0]`` at every lag, so a curve that dips and recovers is judged by its
    dip, not by its last point."""
    norms = np.asarray(norms, dtype=float)
    bad = ~np.isfinite(norms)
    overflow = int(np.argmax(bad)) if bad.any() else None
    usable = norms[:overflow]
    if not usable.size or not usable[0] > 0:
        return Card("no gradient", "the gradient at the loss is zero")
    ratio = usable / usable[0]
    steps = ratio.size - 1
    last = float(ratio[-1])
    end = f"×{last:.2g} after {steps} steps" if last >= 1e-2 else f"×{last:.1e} after {steps} steps"
    if 0 < last < np.inf and steps:
        end += f" (×{per_step(last, steps):.4f} per step on average)"
    if overflow is not None:
        return Card("exploding", f"overflowed {overflow} steps back; ×{ratio[-1]:.1e} one step before")
    above = np.nonzero(ratio > 1 / VANISHED)[0]
    if above.size:
        return Card("exploding", f"above ×{1 / VANISHED:g} its size at the loss from {above[0]} steps back; {end}")
    below = np.nonzero(ratio < VANISHED)[0]
    if below.size:
        return Card("vanishing", f"below 1/{1 / VANISHED:g} of its size at the loss from {below[0]} steps back; {end}")
    top, bottom = int(np.argmax(ratio)), int(np.argmin(ratio))
    if ratio[top] > 1 / KEPT:
        return Card("growing", f"up to ×{ratio[top]:.2g} its size at the loss ({top} steps back); {end}")
    if ratio[bottom] >= KEPT:
        return Card(
            "kept", f"never below ×{ratio[bottom]:.2g} of its size at the loss (lowest {bottom} steps back); {end}"
        )
    return Card("fading", f"down to ×{ratio[bottom]:.1e} of its size at the loss ({bottom} steps back); {end}")


def carousel_sentence(c_factor: np.ndarray, c_norm: np.ndarray, lag: int) -> str:
    """The 1997 LSTM's card in words, from its numbers: how far the engine's cell-state factors dc_t/dc_{t-1}
    (``c_factor``, (T, H), time order) are from 1, and its cell-path gradient ``c_norm`` (lag-first) at ``lag``."""
    factors = np.asarray(c_factor, dtype=float)[1:]  # the steps the gradient passes between states
    c_norm = np.asarray(c_norm, dtype=float)
    if not factors.size or not c_norm.size or not c_norm[0] > 0:
        return "The 1997 LSTM has no earlier step for its cell-state gradient to reach."
    off = float(np.max(np.abs(factors - 1.0)))
    if off > 1e-12:
        return f"The 1997 LSTM's cell-state factor per step is up to {off:.2g} away from 1 here: not a carousel."
    how = "exactly 1" if off == 0 else f"1 to within {off:.0e}"
    lag = min(lag, c_norm.shape[0] - 1)
    left = c_norm[lag] / c_norm[0]
    return (
        f"The 1997 LSTM (no forget gate) multiplies its cell-state gradient by {how} at each of the "
        f"{factors.shape[0]} steps back, in all {factors.shape[1]} units (the engine's ∂c_t/∂c_t−1): nothing "
        f"along c decays, the constant error carousel. At lag {lag} its dL/dc is {c_norm[lag]:.2g}, "
        f"×{left:.2g} its size at the loss (what joins it from h on the way adds up, and is never forgotten)."
    )


# --------------------------------------------------------------------------------------------------
# Which steps can still change the loss


def reach_ratios(rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each row (time order, the loss at its last finite entry) divided by its value at the loss:
    1 means as large as at the loss. Entries after the loss stay NaN; overflowed ones stay inf."""
    out = {}
    for name, values in rows.items():
        values = np.asarray(values, dtype=float)
        usable = np.nonzero(np.isfinite(values) & (values > 0))[0]
        if not usable.size:
            out[name] = np.full(values.shape, np.nan)
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            out[name] = values / values[usable[-1]]
    return out


def reach_heatmap(*args, **kwargs) -> go.Figure:
    """:func:`reach_spec`'s Figure."""
    return go.Figure(reach_spec(*args, **kwargs))


def reach_spec(rows: dict[str, np.ndarray], title: str | None = None) -> dict:
    """log10 of each row's gradient size relative to its size at the loss (columns: time, oldest left,
    the loss at the right), on a diverging scale centred on "as large as at the loss" and pinned at
    10^±REACH_DECADES, so a colour means the same at every setting."""
    ratios = reach_ratios(rows)
    names = list(ratios)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(np.array([ratios[n] for n in names]))
    z = np.where(np.isnan(z), np.nan, np.clip(z, -REACH_DECADES, REACH_DECADES))  # inf: overflowed, top colour
    d = REACH_DECADES
    ticks = [-d, -REACH_WITHIN, 0, REACH_WITHIN, d]
    labels = [f"≤ 10⁻{d}: cut off", "10⁻³", "1: as at the loss", "10³", f"≥ 10{_sup(d)}: exploded"]
    trace = dict(
        type="heatmap",
        z=np.round(z, 3),
        x=np.arange(z.shape[1]),
        y=names,
        colorscale=colorscale_json(REACH_SCALE),  # the stops, as Plotly's validation would write them
        zmin=-d,
        zmax=d,
        zmid=0,
        colorbar=dict(  # the title beside the bar: above it, it touched the top label
            title=dict(text="size ÷ size at the loss", side="right"),
            tickvals=ticks,
            ticktext=labels,
            len=1.0,
        ),
        hovertemplate="%{y}<br>step %{x}<br>log₁₀(size ÷ size at the loss) = %{z:.2f}<extra></extra>",
    )
    layout = dict(
        xaxis=dict(title=dict(text="time step t<br>(the loss is at the last step)"), automargin=True),
        yaxis=dict(autorange="reversed"),
    )
    return figure_spec([trace], layout, height=200 + 55 * len(names), title=title)


def _sup(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))


def reach_summary(values: np.ndarray) -> str:
    """One row of the reach map in words, from the same ratios the colours show."""
    ratio = reach_ratios({"row": values})["row"]
    usable = np.nonzero(np.isfinite(ratio) | np.isinf(ratio))[0]
    if not usable.size:
        return "no gradient"
    loss = usable[-1]
    back = ratio[: loss + 1][::-1]  # lag-first from the loss
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(back)
    outside = np.nonzero(~(np.abs(logs) <= REACH_WITHIN))[0]
    if not outside.size:
        return f"within ×1000 of its size at the loss at all {loss + 1} steps"
    lag = int(outside[0])
    if logs[lag] > 0:
        return f"more than 1000× its size at the loss from {lag} steps back (purple)"
    return f"below 1/1000 of its size at the loss from {lag} steps back (orange)"


def reach_caption(rows: dict[str, np.ndarray]) -> str:
    """What the reach map shows at these settings, rows with the same reading grouped (Markdown)."""
    groups: dict[str, list[str]] = {}
    for name, values in rows.items():
        groups.setdefault(reach_summary(values), []).append(name)
    return "; ".join(f"{', '.join(f'**{n}**' for n in names)}: {text}" for text, names in groups.items()) + "."


# --------------------------------------------------------------------------------------------------
# Clipping


def clip_figure(norm_plain, loss_plain, norm_clipped, loss_clipped, threshold: float) -> go.Figure:
    """Gradient norm and loss per SGD step, without and with clipping, side by side; each log axis is
    scaled to the finite values of both runs."""
    layout = _side_by_side(["gradient norm before clipping", "loss"])
    steps = np.arange(len(norm_plain))
    plain_color, clipped_color = LINE_COLORS["forget"], LINE_COLORS["h"]
    data = []
    for col, (plain, clipped) in enumerate(((norm_plain, norm_clipped), (loss_plain, loss_clipped)), start=1):
        suffix = "" if col == 1 else "2"
        for name, ys, dash, color, symbol in (
            ("no clipping", plain, "solid", plain_color, "x"),
            (f"clipped at {threshold:g}", clipped, "dash", clipped_color, "circle"),
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
                    marker=dict(symbol=symbol, size=9, color=color),
                    showlegend=col == 1,
                    legendgroup=name,
                )
            )
        curves = [plain, clipped] + ([[threshold]] if col == 1 else [])
        y_range = log_range(curves, pad=0.3)
        layout[f"yaxis{suffix}"].update(type="log", exponentformat="power", minorloglabels="none")  # decades only
        if y_range is not None:
            layout[f"yaxis{suffix}"].update(range=y_range)
        layout[f"xaxis{suffix}"].update(title=dict(text="training step"))
    shape, note = _hline(threshold, "y", clipped_color, "dot", "threshold", log=True)
    note["font"]["color"] = TEXT_COLORS["h"]
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
                        marker=dict(symbol="x", size=18, color=plain_color),
                        text=[f"no clipping: overflowed after step {last}"],
                        textposition="middle right",
                        textfont=dict(size=FONT_SIZE - 2, color=TEXT_COLORS["forget"]),
                    )
                )
    layout["legend"] = dict(orientation="h", yanchor="bottom", y=1.08, x=0)
    return base_layout(go.Figure(dict(data=data, layout=layout)), height=420)
