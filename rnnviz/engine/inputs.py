"""Input sequences for the pages: presets, and a typed sequence parsed strictly."""

from __future__ import annotations

import re

import numpy as np

PRESETS = {
    "pulse": "A single pulse, then silence",
    "pulse_noise": "A pulse, then noise",
    "sine": "A sine wave",
    "random": "Random values",
    "custom": "Type your own",
}
MAX_LENGTH = 500  # generated sequences (the gradient page goes to 500 steps)
MAX_TYPED = 200  # a typed sequence: the stepper's longest
MAX_CHARS = 5000  # characters of a typed sequence (its text box, and the same text arriving in a URL)
MAX_ABS = 1000.0  # larger inputs only saturate every gate; refuse them with a message instead


def make_sequence(preset: str, length: int, seed: int = 0, input_size: int = 1) -> np.ndarray:
    """A ``(length, input_size)`` sequence. Each feature gets the same signal, except "random", whose
    features are independent. The pulse is at step 0 with height 1."""
    if preset not in PRESETS or preset == "custom":
        raise ValueError(
            f"unknown input preset {preset!r}; expected one of {', '.join(p for p in PRESETS if p != 'custom')}"
        )
    if not 1 <= length <= MAX_LENGTH:
        raise ValueError(f"sequence length must be between 1 and {MAX_LENGTH}, got {length}")
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    if preset == "pulse":
        signal = (t == 0).astype(float)
    elif preset == "pulse_noise":
        signal = np.where(t == 0, 1.0, rng.normal(0.0, 0.2, length))
    elif preset == "sine":
        signal = np.sin(2 * np.pi * t / 20.0)
    else:
        return rng.uniform(-1.0, 1.0, (length, input_size))
    return np.repeat(signal[:, None], input_size, axis=1)


def parse_sequence(text: str, input_size: int = 1) -> np.ndarray:
    """Numbers separated by commas, spaces or new lines, e.g. ``1, 0, 0, 0.5``: a ``(T, input_size)``
    sequence (each number feeds every input feature). Raises ValueError naming the first bad entry."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the sequence is empty: type numbers separated by commas, e.g. 1, 0, 0, 0.5")
    if len(text) > MAX_CHARS:
        raise ValueError(f"the sequence is {len(text):,} characters long; at most {MAX_CHARS:,} are read")
    values = []
    for position, token in enumerate((tok for tok in re.split(r"[,\s;]+", text.strip()) if tok), start=1):
        try:
            value = float(token)
        except ValueError:
            raise ValueError(f"entry {position} ({token[:20]!r}) is not a number") from None
        if not np.isfinite(value):
            raise ValueError(f"entry {position} ({token[:20]!r}) is not a finite number")
        if abs(value) > MAX_ABS:
            raise ValueError(
                f"entry {position} ({value:g}) is too large: keep values between -{MAX_ABS:g} and {MAX_ABS:g}"
            )
        values.append(value)
    if len(values) > MAX_TYPED:
        raise ValueError(f"the sequence has {len(values)} numbers; at most {MAX_TYPED} are allowed")
    return np.repeat(np.array(values)[:, None], input_size, axis=1)
