"""Colour scales as numbers: a value to its colour (for the diagram's boxes), a whole (T, H) array to a PNG
(for the heatmaps, drawn as layout images so that Plotly's animation cannot erase them), and the matching
Plotly colour axis for the colour bar.

A scale is pinned (states -1..1, gates 0..1) or fitted to the data (the cell state, differences); values
beyond a fitted range are clipped to its end colour and marked with a dot, so a colour never lies.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from plotly.colors import sample_colorscale

from rnnviz.figures.theme import GATE_SCALE, STATE_SCALE

_LEVELS = 256


@lru_cache(maxsize=16)
def _lut(colorscale: str) -> np.ndarray:
    """(256, 3) uint8: the colour scale sampled evenly from its low to its high end."""
    colors = sample_colorscale(colorscale, list(np.linspace(0.0, 1.0, _LEVELS)))
    return np.array([[float(c) for c in color[4:-1].split(",")] for color in colors]).round().astype(np.uint8)


class _PerScale(dict):
    """colour scale name -> a list over the 256 levels, computed on first use."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, colorscale: str) -> list[str]:
        self[colorscale] = self.make(_lut(colorscale))
        return self[colorscale]


def _inks(lut: np.ndarray) -> list[str]:
    rgb = lut / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    luminance = linear @ [0.2126, 0.7152, 0.0722]
    black = (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05)  # contrast with black beats white's
    return ["#000000" if b else "#FFFFFF" for b in black]


_HEX = _PerScale(lambda lut: ["#{:02X}{:02X}{:02X}".format(*row) for row in lut])
_INK = _PerScale(_inks)


@dataclass(frozen=True)
class Scale:
    """Values from ``lo`` to ``hi`` on a Plotly colour scale; ``title`` names it on its colour bar."""

    title: str
    colorscale: str
    lo: float
    hi: float

    def levels(self, values: np.ndarray) -> np.ndarray:
        """Index into the 256 colours for each value (clipped to the range; NaN at the low end)."""
        v = np.nan_to_num(np.asarray(values, dtype=float), nan=self.lo, posinf=self.hi, neginf=self.lo)
        frac = (np.clip(v, self.lo, self.hi) - self.lo) / (self.hi - self.lo)
        return np.round(frac * (_LEVELS - 1)).astype(int)

    def rgb(self, values: np.ndarray) -> np.ndarray:
        return _lut(self.colorscale)[self.levels(values)]

    def colors(self, values) -> list[str]:
        """Hex colours of many values at once."""
        return [_HEX[self.colorscale][k] for k in self.levels(np.atleast_1d(values))]

    def inks(self, values) -> list[str]:
        """Black or white for each value, whichever reads better on its colour (WCAG relative luminance)."""
        return [_INK[self.colorscale][k] for k in self.levels(np.atleast_1d(values))]

    def color(self, value: float) -> str:
        return self.colors(value)[0]

    def ink(self, value: float) -> str:
        return self.inks(value)[0]

    def outside(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        return (v < self.lo) | (v > self.hi)

    def coloraxis(self, y: float, length: float, x: float) -> dict:
        return dict(
            colorscale=colorscale_json(self.colorscale),
            cmin=self.lo,
            cmax=self.hi,
            colorbar=dict(title=dict(text=self.title, side="right"), len=length, y=y, yanchor="top", x=x, thickness=14),
        )


@lru_cache(maxsize=32)  # a handful of names
def colorscale_json(name: str) -> list:
    """A named colour scale as Plotly writes it into a figure's JSON (its stops, which Plotly's validation
    expands the name to), so that a figure built as a dictionary sends the same; shared: never change it."""
    import plotly.graph_objects as go

    return go.layout.Coloraxis(colorscale=name).to_plotly_json()["colorscale"]


STATE = Scale("state", STATE_SCALE, -1.0, 1.0)
GATE = Scale("gate", GATE_SCALE, 0.0, 1.0)

_NICE = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)


def nice_ceiling(value: float) -> float:
    """The smallest of 0.01, 0.02, 0.05, 0.1, ... 100 at or above ``value`` (100 beyond)."""
    return next((n for n in _NICE if n >= value), _NICE[-1])


def fitted(title: str, values, *, floor: float = 0.01, quantile: float = 0.99) -> Scale:
    """A symmetric diverging scale whose range covers ``quantile`` of |values| (rounded up to a nice number),
    so a few outliers do not wash out the rest; values beyond it are marked in the image."""
    a = np.abs(np.asarray(values, dtype=float))
    a = a[np.isfinite(a)]
    top = float(np.quantile(a, quantile)) if a.size else 0.0
    bound = nice_ceiling(max(top, floor))
    return Scale(title, STATE_SCALE, -bound, bound)


def heatmap_png(values: np.ndarray, scale: Scale, cell: tuple[int, int] = (6, 8)) -> str:
    """A (T, H) array as a PNG data URI: time to the right, unit 0 at the bottom, each value a block of
    ``cell`` = (width, height) pixels (browsers smooth a 1-pixel-per-value image when they stretch it).
    Values outside the scale's range get a dot in the middle of their block."""
    values = np.asarray(values, dtype=float)
    w, h = cell
    rgb = scale.rgb(values.T[::-1])  # (H, T, 3), top row = last unit
    outside = scale.outside(values.T[::-1])
    block = np.repeat(np.repeat(rgb, h, axis=0), w, axis=1)  # (H*h, T*w, 3)
    if outside.any():
        rows, cols = np.nonzero(outside)
        dot = np.where(rgb[rows, cols].mean(axis=1, keepdims=True) > 128, 0, 255).astype(np.uint8)  # (n, 1)
        for dy in (h // 2 - 1, h // 2):
            for dx in (w // 2 - 1, w // 2):
                block[rows * h + dy, cols * w + dx] = dot
    return png_data_uri(block)


def png_data_uri(rgb: np.ndarray) -> str:
    """An (height, width, 3) uint8 array as a ``data:image/png;base64,...`` URI (no dependency needed)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rgb.reshape(height, -1)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
