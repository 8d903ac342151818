"""RNN, LSTM and GRU cells in NumPy, with PyTorch's equations and parameter layout.

Each cell defines one step forward and, right beside it, that step's backward. ``Cell.forward`` runs a
sequence and returns a :class:`Trace` (the record the pages plot); ``Cell.backward`` consumes the same
trace and runs backpropagation through time, returning a :class:`Grads`.

This is the fast engine. The textbook step, one equation a line and nothing else, is ``reference.py``:
read that first; the tests hold these cells to it in float64. This module is longer than the project's
~500 lines on purpose (about a third of it docstrings): the three cells share the sequence loop, the
caches and the work arrays that make them fast, and each cell's step forward sits beside its backward;
split up, following one step would mean jumping between files.

Shapes, time-first as in PyTorch: ``T`` steps, ``B`` sequences in a batch, ``D`` inputs, ``H`` hidden
units, ``G`` gates (1 for RNN, 4 for LSTM, 3 for GRU). Inside, every array is batched ``(T, B, ...)``;
an unbatched input ``(T, D)`` gives unbatched results ``(T, H)``.

Parameters (PyTorch names and layout, so ``torch.nn.LSTM(...).state_dict()`` loads as is)::

    weight_ih (G*H, D)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)

How a sequence runs (timed against ``torch.nn`` by benchmarks/bench_engine.py; docs/speed.md has the table):

- The RNN and GRU compute the input projection ``xw_t = W_ih x_t + b_ih + b_hh``, which does not depend
  on the recurrence, for all steps in one matrix product before the loop (the GRU keeps ``b_hn`` apart:
  it sits inside the reset product). The LSTM instead multiplies ``[h_{t-1}; x_t; 1]`` by all its weights
  in one product per step (see ``LSTMCell``). The weight gradients are summed over all steps in one
  batched product after the backward loop.
- Inside the loop every array is feature-major, ``(features, B)``: the equations' column vectors, so
  ``W_hh @ h_prev`` reads as written and each gate is a contiguous block of rows (NumPy costs several
  times more on a strided column block at these sizes).
- Every step writes its values with NumPy's ``out=`` into arrays allocated once for the whole sequence
  (a cache, ``(T, features, B)``), so a step makes no Python objects beyond a few views and nothing is
  stacked afterwards; the trace's ``h``, ``c`` and gates are views of that cache. Backward writes its
  gradients the same way, into a :class:`StepGrads`; its work arrays, which nothing it returns refers
  to, are kept for the next call in the same thread (``_Scratch``: a fresh array of megabytes costs a
  page fault for every 4 KiB).
- The step loops call ``np.dot(..., out=)`` and pass constants as 0-d arrays: at H = 8 a step is a dozen
  NumPy calls on a few hundred numbers, and ``np.matmul``'s extra machinery and the conversion of a
  Python float each cost about a microsecond a call.
- In float32, backward sets recurrent gradients below ``FLUSH_BELOW`` = 2^-102 (about 2e-31, 2^24 times
  float32's smallest normal number) to zero after each step. Gradients that vanish over long sequences
  otherwise pass through the subnormal range below 1.2e-38, where the CPU computes up to a hundred times
  slower (it doubled the backward time of a T=200 run). A flushed value can change a parameter gradient
  only if that gradient is below about 4e-24 (2^-102 over float32's relative precision 2^-24), and
  ``Grads.h`` then shows 0 where it would show a number below 2e-31. Float64 is not flushed: its
  subnormals start near 1e-308, beyond what these sequence lengths reach.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

KINDS = ("rnn", "lstm", "gru")
GATE_COUNT = {"rnn": 1, "lstm": 4, "gru": 3}
GATE_NAMES = {
    "rnn": (),
    "lstm": ("input", "forget", "cell", "output"),
    "gru": ("reset", "update", "new"),
}
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def sigmoid(x, out=None):
    """Logistic function written through tanh: exact, and no overflow for any finite input.

    ``out`` as in NumPy's ufuncs (it may be ``x`` itself).
    """
    if out is None:
        return 0.5 * (1.0 + np.tanh(0.5 * x))
    np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def _as_real_array(name: str, value, kinds: str) -> np.ndarray:
    """``value`` as an array of real numbers (dtype kinds ``kinds``), or a ValueError naming ``name``."""
    try:
        value = np.asarray(value)
    except Exception:  # a ragged list, a tensor that requires grad, ...
        raise ValueError(f"{name} is not an array of numbers") from None
    if value.dtype.kind not in kinds:
        raise ValueError(f"{name} must be numeric and real, got dtype {value.dtype.name}")
    return value


def _checked_params(kind: str, params) -> dict[str, np.ndarray]:
    """Copies of a cell's four parameters after checking their names, dtypes, shapes and values."""
    if not isinstance(params, dict):
        raise ValueError(f"parameters must be a dict of {', '.join(PARAM_NAMES)}, got {type(params).__name__}")
    for name in PARAM_NAMES:
        if name not in params:
            raise ValueError(f"parameters are missing {name}")
    extra = [k for k in params if k not in PARAM_NAMES]
    if extra:
        raise ValueError(f"parameters have {len(extra)} unexpected entries; a cell takes {', '.join(PARAM_NAMES)}")
    values = {}
    for name in PARAM_NAMES:
        value = _as_real_array(name, params[name], "iuf")
        values[name] = value
    W_ih, W_hh, G = values["weight_ih"], values["weight_hh"], GATE_COUNT[kind]
    if W_hh.ndim != 2 or W_hh.shape[1] == 0 or W_hh.shape[0] != G * W_hh.shape[1]:
        raise ValueError(f"weight_hh of a {kind} must have shape ({G}*H, H), got {W_hh.shape}" + _kind_hint(W_hh.shape))
    H = W_hh.shape[1]
    if W_ih.ndim != 2 or W_ih.shape[0] != G * H or W_ih.shape[1] == 0:
        raise ValueError(f"weight_ih of a {kind} with H={H} must have shape ({G * H}, D), got {W_ih.shape}")
    for name in ("bias_ih", "bias_hh"):
        if values[name].shape != (G * H,):
            raise ValueError(f"{name} must have shape ({G * H},), got {values[name].shape}")
    dtype = np.float32 if all(v.dtype == np.float32 for v in values.values()) else np.float64
    checked = {}
    for name, value in values.items():
        checked[name] = np.array(value, dtype=dtype)  # a copy
        if not np.all(np.isfinite(checked[name])):
            raise ValueError(f"{name} contains NaN or infinite values")
    return checked


def _kind_hint(shape) -> str:
    """For a message: the kind a weight_hh of this shape would fit, if any."""
    if len(shape) == 2 and shape[1] and shape[0] % shape[1] == 0:
        guess = {G: kind for kind, G in GATE_COUNT.items()}.get(shape[0] // shape[1])
        if guess:
            return f" (these shapes look like a {guess})"
    return ""


# --------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Trace:
    """What a forward pass computed, step by step: the pages plot it and ``Cell.backward`` consumes it.

    ``h``, ``c`` and every gate are ``(T, [B,] H)``; ``c`` is ``None`` except for the LSTM. ``gates`` holds
    post-activation values: LSTM ``input``, ``forget``, ``cell`` (the candidate g), ``output``; GRU
    ``reset``, ``update``, ``new``; the plain RNN has none. ``overflowed`` is True when a state became
    infinite or NaN (a relu RNN with large recurrent weights can do that). ``h``, ``c`` and the gates are
    views of ``cache``.
    """

    kind: str
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray | None
    h: np.ndarray
    c: np.ndarray | None
    gates: dict[str, np.ndarray]
    batched: bool
    overflowed: bool
    cache: RNNCache | LSTMCache | GRUCache = field(repr=False)  # the whole run, batched, for backward


@dataclass(frozen=True)
class Grads:
    """Gradients from ``Cell.backward``.

    ``params`` has the state-dict keys. ``h`` is the total dL/dh_t, ``(T, [B,] H)``: the gradient arriving
    from outside (``d_h``) plus everything that flows back through the recurrence, with c_t held fixed.
    ``c`` is the total dL/dc_t (LSTM only), which includes the path through h_t = o_t * tanh(c_t).
    ``overflowed`` is True when any gradient is infinite or NaN (exploding regime); the values are then
    left as computed (inf/NaN), never clipped, so a page can show where it happened.
    ``gates`` is dL/d(W_ih x_t + b_ih), ``(T, [B,] G*H)``, rows in PyTorch's gate order: each gate's
    pre-activation gradient (the RNN's d_a_t; for the GRU's n, the gradient of its tanh's argument).
    """

    params: dict[str, np.ndarray]
    x: np.ndarray
    h: np.ndarray
    c: np.ndarray | None
    h0: np.ndarray
    c0: np.ndarray | None
    overflowed: bool
    gates: np.ndarray | None = None


# Caches: what a forward pass keeps for its backward, one array per quantity for the whole sequence,
# feature-major: row t is the (features, B) array of step t. The states carry one extra row in front:
# hs[0] = h0 and hs[t + 1] = h_t, so hs[t] is h_{t-1}.


@dataclass(frozen=True)
class RNNCache:
    xw: np.ndarray  # (T, H, B): W_ih x_t + b_ih + b_hh
    hs: np.ndarray  # (T + 1, H, B)


@dataclass(frozen=True)
class LSTMCache:
    z: np.ndarray  # (T + 1, H + D + 1, B): rows h_{t-1}, x_t, 1 (what step t multiplies by its weights)
    hs: np.ndarray  # (T + 1, H, B): the view z[:, :H], so hs[t + 1] = h_t
    cs: np.ndarray  # (T + 1, H, B): cs[0] = c0, cs[t + 1] = c_t
    act: np.ndarray  # (T, 4H, B): rows o_t, i_t, f_t, g_t (LSTMCell's work order)
    tanh_c: np.ndarray  # (T, H, B): tanh(c_t)


@dataclass(frozen=True)
class GRUCache:
    xw: np.ndarray  # (T, 3H, B): W_ih x_t + b_ih, plus b_hr and b_hz
    hs: np.ndarray  # (T + 1, H, B)
    act: np.ndarray  # (T, 3H, B): rows r_t, z_t, n_t
    hn: np.ndarray  # (T, H, B): W_hn h_{t-1} + b_hn, the part the reset gate multiplies


@dataclass(frozen=True)
class StepGrads:
    """The gradients of every step, feature-major like the caches, filled in by ``step_backward`` one
    row t at a time.

    ``h``, ``c`` ``(T, H, B)``: the total dL/dh_t and dL/dc_t (``c`` for the LSTM only), views of the
    array of state gradients that ``Cell.backward`` passes each step (see there). ``xw``:
    dL/d(W_ih x_t + b_ih) and ``hw``: dL/d(W_hh h_{t-1} + b_hh), both ``(T, G*H, B)``; one and the same
    array for the RNN and LSTM, whose two products add before any nonlinearity (the GRU's reset gate
    multiplies W_hn h_{t-1} + b_hn alone). The LSTM's rows are in its work order (o, i, f, g).
    """

    h: np.ndarray
    c: np.ndarray | None
    xw: np.ndarray
    hw: np.ndarray


# --------------------------------------------------------------------------------------------------
# Cells


class Cell:
    """A single-layer recurrent cell. Subclasses define ``step_forward`` and ``step_backward``, and the
    cache they share (``_new_cache``, ``_gates``)."""

    kind: str = ""

    def __init__(self, params: dict[str, np.ndarray]):
        """``params``: the four arrays under ``PARAM_NAMES`` (PyTorch's names without ``_l0``; see the module
        docstring for their shapes). They are checked (``ValueError`` naming the parameter) and copied: the
        cell owns its parameters. float32 stays float32, any other real dtype becomes float64, and a mix
        becomes float64. Size caps and PyTorch's key names are ``weights.from_state_dict``'s business."""
        self.params = _checked_params(self.kind, params)
        self.hidden_size = self.params["weight_hh"].shape[1]
        self.input_size = self.params["weight_ih"].shape[1]

    # -- plumbing shared by all cells ---------------------------------------------------------------

    @property
    def dtype(self) -> np.dtype:
        return self.params["weight_hh"].dtype

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters under PyTorch's keys, ``_l0`` suffix included, in PyTorch's order:
        ``torch.nn.LSTM(D, H).load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})`` takes it
        as is. (``params`` and ``Grads.params`` use the same names without the suffix.)"""
        return {name + "_l0": self.params[name].copy() for name in PARAM_NAMES}

    def with_params(self, params: dict[str, np.ndarray]) -> Cell:
        """A new cell of the same kind and options with other parameters, checked as ``__init__`` checks them."""
        return type(self)(params, **self._options())

    def _options(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size}, dtype={self.dtype})"
        )

    def _check_input(self, x, h0, c0):
        x = _as_real_array("input", x, "biuf")
        if x.ndim not in (2, 3):
            raise ValueError(f"input must have shape (T, D) or (T, B, D), got {x.shape}")
        batched = x.ndim == 3
        if x.shape[0] == 0:
            raise ValueError("input sequence is empty (T = 0)")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"input has {x.shape[-1]} features per step but the cell expects {self.input_size}")
        if batched and x.shape[1] == 0:
            raise ValueError("input batch is empty (B = 0)")
        if not np.all(np.isfinite(x)):
            raise ValueError("input contains NaN or infinite values")
        dtype = np.promote_types(self.dtype, x.dtype) if x.dtype.kind == "f" else self.dtype
        x3 = x.astype(dtype, copy=False)
        if not batched:
            x3 = x3[:, None, :]
        B, H = x3.shape[1], self.hidden_size
        states = []
        for name, s in (("h0", h0), ("c0", c0)):
            if name == "c0" and not isinstance(self, LSTMCell):
                if s is not None:
                    raise ValueError(f"c0 is only for the LSTM, not {self.kind}")
                states.append(None)
                continue
            if s is None:
                states.append(np.zeros((B, H), dtype))
                continue
            s = _as_real_array(name, s, "biuf").astype(dtype, copy=False)
            expected = (B, H) if batched else (H,)
            if s.shape != expected:
                raise ValueError(f"{name} must have shape {expected}, got {s.shape}")
            if not np.all(np.isfinite(s)):
                raise ValueError(f"{name} contains NaN or infinite values")
            states.append(s.reshape(B, H))
        return x3, batched, states[0], states[1]

    # -- sequence forward and backward --------------------------------------------------------------

    def forward(self, x, h0=None, c0=None) -> Trace:
        """Run the cell over a sequence ``x`` of shape ``(T, D)`` or ``(T, B, D)``; return its trace."""
        x3, batched, h0b, c0b = self._check_input(x, h0, c0)
        p = self._prepared(x3.dtype)
        cache = self._new_cache(x3, h0b, c0b, p)
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(x3.shape[0]):
                self.step_forward(t, cache, p)
            overflowed = not np.all(np.isfinite(cache.hs))
        unbatch = (lambda a: a) if batched else (lambda a: None if a is None else a[:, 0])
        return Trace(
            kind=self.kind,
            x=x3 if batched else x3[:, 0],
            h0=h0b if batched else h0b[0],
            c0=None if c0b is None else (c0b if batched else c0b[0]),
            h=unbatch(_batch_first(cache.hs[1:])),
            c=unbatch(_batch_first(cache.cs[1:])) if isinstance(self, LSTMCell) else None,
            gates={k: unbatch(_batch_first(v)) for k, v in self._gates(cache).items()},
            batched=batched,
            overflowed=overflowed,
            cache=cache,
        )

    def backward(self, trace: Trace, d_h, d_c=None, *, params: bool = True) -> Grads:
        """Backpropagation through time over ``trace``.

        ``d_h`` is dL/dh_t arriving from outside the recurrence (for example from a readout), shaped like
        ``trace.h``; ``d_c`` (LSTM only, optional) likewise for the cell states. The gradient that reaches
        each step from step t+1 (``d_h_next``, ``d_c_next``) is added inside. ``params=False`` leaves out the
        parameters' gradients (``Grads.params`` is empty) for a caller that reads only the states' and the
        input's: a tenth of the pass at 200 steps and 16 units, the same state and input gradients bit for bit.
        """
        if not isinstance(trace, Trace):
            raise ValueError(f"backward takes the Trace that forward returned, got {type(trace).__name__}")
        if trace.kind != self.kind:
            raise ValueError(f"trace is from a {trace.kind} cell, not {self.kind}")
        if trace.x.shape[-1] != self.input_size:
            raise ValueError(f"trace has {trace.x.shape[-1]} input features but the cell expects {self.input_size}")
        d_h3 = self._check_grad("d_h", d_h, trace.h.shape, trace.batched)
        if d_c is not None and not isinstance(self, LSTMCell):
            raise ValueError(f"d_c is only for the LSTM, not {self.kind}")
        d_c3 = None if d_c is None else self._check_grad("d_c", d_c, trace.c.shape, trace.batched)
        x3 = trace.x if trace.batched else trace.x[:, None, :]
        dtype = x3.dtype
        p = self._prepared(dtype)
        T, B, D = x3.shape
        H, GH = self.hidden_size, p["weight_hh"].shape[0]
        d_h_outside = _feature_first(d_h3, dtype, scratch="d_h")
        d_c_outside = None if d_c3 is None else _feature_first(d_c3, dtype, scratch="d_c")
        cache = trace.cache
        xw = _scratch("xw", (T, GH, B), dtype)
        # d_s[t + 1] holds the gradients of the state after step t: the total dL/dh_t, and for the LSTM below
        # it dL/dc_t, like hs[t + 1] = h_t. Step t reads it and writes into d_s[t] what reaches the state
        # before it through the recurrence, to which the outside gradient of step t-1 is added only where
        # there is one (often only the last step has it); d_s[0] is dL/dh0 (and dL/dc0). One array, so
        # one call flushes both.
        S = 2 * H if isinstance(self, LSTMCell) else H
        d_s = np.empty((T + 1, S, B), dtype)
        d_s[T] = 0.0
        outside = np.any(d_h_outside, axis=(1, 2)).tolist()
        grads = StepGrads(
            h=d_s[1:, :H],
            c=d_s[1:, H:] if isinstance(self, LSTMCell) else None,
            xw=xw,
            hw=_scratch("hw", (T, GH, B), dtype) if self.kind == "gru" else xw,
        )
        flush = _Flush((S, B), dtype) if dtype == np.float32 else None  # see the module docstring
        with np.errstate(over="ignore", invalid="ignore"):
            coefficients = self._backward_coefficients(cache)
            for t in reversed(range(T)):
                if outside[t]:
                    d_s[t + 1, :H] += d_h_outside[t]
                if d_c_outside is not None:
                    d_s[t + 1, H:] += d_c_outside[t]
                self.step_backward(t, d_s, cache, grads, p, coefficients)
                if flush is not None:
                    flush(d_s[t])
            params = self._param_grads(grads, cache, x3) if params else {}
            d_x = np.matmul(grads.xw.transpose(0, 2, 1), p["dx_weight"])  # (T, B, D)
            overflowed = not all(np.all(np.isfinite(a)) for a in (d_s, d_x, *params.values()))
        d_a = np.concatenate([xw[:, H:], xw[:, :H]], axis=1) if isinstance(self, LSTMCell) else xw.copy()  # i, f, g, o
        if self.kind == "lstm1997":  # its rows i, g, o: the held-open forget gate is not one of its gates
            d_a = np.delete(d_a, np.s_[H : 2 * H], axis=1)
        unbatch = (lambda a: a) if trace.batched else (lambda a: None if a is None else a[:, 0])
        un0 = (lambda a: a.T) if trace.batched else (lambda a: None if a is None else a[:, 0])
        return Grads(
            params=params,
            x=unbatch(d_x),
            h=unbatch(_batch_first(grads.h)),
            c=None if grads.c is None else unbatch(_batch_first(grads.c)),
            h0=un0(d_s[0, :H]),
            c0=un0(d_s[0, H:]) if isinstance(self, LSTMCell) else None,
            overflowed=overflowed,
            gates=unbatch(_batch_first(d_a)),
        )

    def _prepared(self, dtype) -> dict[str, np.ndarray]:
        """Parameters in the computation's dtype, and what forward and backward multiply by:
        ``in_weight`` and ``in_bias`` ``(G*H, 1)`` make the input projection before the loop; W_hh^T is
        stored contiguously for backward (a product with a transposed view costs BLAS about twice as
        much at these small sizes). ``half`` is 0.5 as a 0-d array (see the module docstring)."""
        p = {k: v.astype(dtype, copy=False) for k, v in self.params.items()}
        p["in_weight"] = p["weight_ih"]
        p["in_bias"] = (p["bias_ih"] + p["bias_hh"])[:, None]
        p["weight_hh_T"] = np.ascontiguousarray(p["weight_hh"].T)  # (H, G*H)
        p["dx_weight"] = p["weight_ih"]  # d_x_t = W_ih^T d_xw_t
        p["half"] = np.array(0.5, dtype)  # a 0-d array: a Python float costs NumPy a conversion on every call
        return p

    def _new_cache(self, x3, h0, c0, p):
        raise NotImplementedError

    def _input_projection(self, x3, p) -> np.ndarray:
        """``W_ih x_t + in_bias`` for every step in one product, ``(T, G*H, B)``: it does not depend on the
        recurrence."""
        xw = np.matmul(p["in_weight"], _feature_first(x3, x3.dtype))
        xw += p["in_bias"]
        return xw

    def _backward_coefficients(self, cache) -> dict:
        """Arrays every backward step reads that depend on the forward pass alone (none by default)."""
        return {}

    def _param_grads(self, grads: StepGrads, cache, x3) -> dict[str, np.ndarray]:
        """The parameter gradients: every step's share, in one batched product each, summed over the steps."""
        params = {
            "weight_ih": np.matmul(grads.xw, x3).sum(axis=0),  # (G*H, B) (B, D) -> (G*H, D)
            "weight_hh": np.matmul(grads.hw, cache.hs[:-1].transpose(0, 2, 1)).sum(axis=0),  # (G*H, H)
            "bias_ih": grads.xw.sum(axis=(0, 2)),
            "bias_hh": grads.hw.sum(axis=(0, 2)) if grads.hw is not grads.xw else None,
        }
        if params["bias_hh"] is None:  # the RNN adds both biases to one pre-activation
            params["bias_hh"] = params["bias_ih"].copy()
        return params

    def _check_grad(self, name, g, shape, batched):
        if shape[-1] != self.hidden_size:
            raise ValueError(f"the trace has {shape[-1]} hidden units but this cell has {self.hidden_size}")
        g = _as_real_array(name, g, "iuf")
        if g.shape != shape:
            raise ValueError(f"{name} must have shape {shape} like the trace, got {g.shape}")
        return g if batched else g[:, None, :]  # inf/NaN allowed: an exploding run reports it as overflowed

    def step(self, x_t, h_prev=None, c_prev=None):
        """One step on one input ``x_t`` of shape ``(D,)`` or ``(B, D)``: returns ``(h_t, c_t)``."""
        x_t = np.asarray(x_t)
        trace = self.forward(x_t[None], h_prev, c_prev)
        return trace.h[0], None if trace.c is None else trace.c[0]


FLUSH_BELOW = 2.0**-102  # float32: 2^24 times its smallest normal number (see the module docstring)


class _Flush:
    """``flush(a)`` sets the entries of ``a`` (of the shape given) smaller than ``FLUSH_BELOW`` in magnitude
    to zero, in place, with scratch arrays made once, so a call allocates nothing."""

    def __init__(self, shape: tuple, dtype):
        self.magnitude, self.tiny = np.empty(shape, dtype), np.empty(shape, bool)
        self.below, self.zero = np.array(FLUSH_BELOW, dtype), np.zeros((), dtype)

    def __call__(self, a: np.ndarray) -> None:
        np.abs(a, out=self.magnitude)
        np.less(self.magnitude, self.below, out=self.tiny)
        np.copyto(a, self.zero, where=self.tiny)


def _batch_first(a: np.ndarray) -> np.ndarray:
    """``(T, H, B)`` as ``(T, B, H)``: a view."""
    return a.transpose(0, 2, 1)


def _feature_first(a: np.ndarray, dtype, scratch: str | None = None) -> np.ndarray:
    """``(T, B, H)`` as a contiguous ``(T, H, B)`` copy (into the scratch array of that name, if given)."""
    if scratch is None:
        return np.ascontiguousarray(a.transpose(0, 2, 1), dtype)
    out = _scratch(scratch, (a.shape[0], a.shape[2], a.shape[1]), dtype)
    np.copyto(out, a.transpose(0, 2, 1))
    return out


SCRATCH_KEPT_BELOW = 64 * 2**20  # bytes: a larger work array is made afresh each call, not kept


class _Scratch(threading.local):
    """Work arrays that backward needs only while it runs, kept for the next call in the same thread.

    A fresh array of megabytes comes from the operating system page by page: each 4 KiB page costs a page
    fault when it is first written, and by default glibc gives the memory back when the array is freed.
    An LSTM forward + backward at (T, B, H) = (100, 32, 64) made some 4,000 faults in a NumPy-only
    process, and took about 25 ms against 15 ms without any (measured by hand: with torch imported, as
    in benchmarks/bench_engine.py, glibc hands out memory differently and few faults remain). Keeping
    backward's work arrays removes about half of them (4,131 to 1,968, and 30.3 to 26.2 ms, in fresh
    processes); the rest are the arrays of the ``Trace`` and the ``Grads``, which the caller keeps.
    Nothing kept here is returned: every array in a ``Grads`` or a ``Trace`` is its own.
    """

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple, dtype) -> np.ndarray:
        a = self.arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = np.empty(shape, dtype)
            if a.nbytes < SCRATCH_KEPT_BELOW:
                self.arrays[name] = a
            else:
                self.arrays.pop(name, None)
        return a


_SCRATCH = _Scratch()


def _scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """The work array ``name`` of this shape and dtype, uninitialised: see ``_Scratch``."""
    return _SCRATCH.get(name, tuple(shape), np.dtype(dtype))


def _states(T, h0, dtype) -> np.ndarray:
    """A ``(T + 1, H, B)`` buffer for a state sequence, row 0 set to ``h0`` given as ``(B, H)``."""
    hs = np.empty((T + 1, h0.shape[1], h0.shape[0]), dtype)
    hs[0] = h0.T
    return hs


def _blocks(a: np.ndarray, n: int) -> list[np.ndarray]:
    """The ``n`` gate blocks of ``a`` ``(T, n*H, B)``: views ``(T, H, B)``."""
    H = a.shape[1] // n
    return [a[:, k * H : (k + 1) * H] for k in range(n)]


class RNNCell(Cell):
    """Elman RNN, as ``torch.nn.RNN``.

    Equations::

        h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)        act = tanh or relu
    """

    kind = "rnn"

    def __init__(self, params, nonlinearity: str = "tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(params)
        self.nonlinearity = nonlinearity

    def _options(self):
        return {"nonlinearity": self.nonlinearity}

    def _new_cache(self, x3, h0, c0, p) -> RNNCache:
        return RNNCache(xw=self._input_projection(x3, p), hs=_states(x3.shape[0], h0, h0.dtype))

    def _gates(self, cache):
        return {}

    def step_forward(self, t, cache: RNNCache, p) -> None:
        """Step t: h_t into ``cache.hs[t + 1]`` from h_{t-1} = ``cache.hs[t]`` (H, B) and
        ``cache.xw[t]`` (H, B) = W_ih x_t + b_ih + b_hh."""
        h_t = np.dot(p["weight_hh"], cache.hs[t], out=cache.hs[t + 1])
        h_t += cache.xw[t]  # the pre-activation a_t, activated in place
        if self.nonlinearity == "tanh":
            np.tanh(h_t, out=h_t)
        else:
            np.maximum(h_t, 0.0, out=h_t)

    def step_backward(self, t, d_s, cache: RNNCache, grads: StepGrads, p, coefficients) -> None:
        """Step t backward: ``d_s[t + 1]`` (H, B) is the total dL/dh_t. Writes d_a_t = dL/da_t into
        ``grads.xw[t]`` and d_h_prev, the gradient reaching h_{t-1} through this step, into ``d_s[t]``.

        Equations::

            d_a_t = d_h_t * (1 - h_t^2)   (tanh)   or   d_h_t * [h_t > 0]   (relu)
            d_h_prev = W_hh^T d_a_t
        """
        d_a_t = np.multiply(d_s[t + 1], coefficients["dh_da"][t], out=grads.xw[t])
        np.dot(p["weight_hh_T"], d_a_t, out=d_s[t])

    def _backward_coefficients(self, cache: RNNCache) -> dict:
        """dh_t/da_t for every step at once: 1 - h_t^2 (tanh) or [h_t > 0] (relu), (T, H, B)."""
        h = cache.hs[1:]
        if self.nonlinearity == "relu":
            return {"dh_da": (h > 0).astype(h.dtype)}
        dh_da = np.multiply(h, h, out=_scratch("rnn.dh_da", h.shape, h.dtype))
        return {"dh_da": np.subtract(1.0, dh_da, out=dh_da)}


class LSTMCell(Cell):
    """Long short-term memory, as ``torch.nn.LSTM`` (parameters in its gate order i, f, g, o).

    Equations, as the code computes them: inside, the gate rows are in the **work order o, i, f, g** (the
    rows of ``a_t`` and of ``LSTMCache.act``), not PyTorch's i, f, g, o::

        z_t = [h_{t-1}; x_t; 1]                                   (H + D + 1, B)   LSTMCache.z[t]
        a_t = [W_hh | W_ih | b_ih + b_hh] z_t, rows o, i, f, g     (4H, B)          LSTMCache.act[t]
        o_t = sigmoid(a_t[0:H])
        i_t = sigmoid(a_t[H:2H])
        f_t = sigmoid(a_t[2H:3H])
        g_t = tanh(a_t[3H:4H])
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    The same step in PyTorch's order, one equation a line and without any of the tricks below, is
    ``reference.lstm_step_forward`` / ``lstm_step_backward``: the tests hold this class to it in float64
    (tests/test_reference.py), so a student can read that one and trust this one.

    How this differs from the textbook step, and why (the same numbers, fewer NumPy calls per step):

    - **Work order.** The gate rows are reordered o, i, f, g: the three sigmoid gates are one block of rows
      (one pass for sigmoid and one for its derivative s (1 - s)), and so are the three whose gradients the
      cell-state gradient multiplies (i, f, g). Gradients go back to PyTorch's order at the end.
    - **Fused arrays, one product per step.** The weights ``[W_hh | W_ih | b_ih + b_hh]`` multiply
      ``z_t = [h_{t-1}; x_t; 1]``, kept in one array (``LSTMCache.z``) whose h rows the previous step wrote:
      the input projection and the bias ride in the recurrent product, and the weight gradients of all
      three come from one batched product with z afterwards.
    - **One tanh for all four gates.** sigmoid(a) = (1 + tanh(a/2)) / 2, and the o, i, f rows of the
      weights are halved (exact in binary floating point), so one tanh gives tanh(a/2) there and g_t itself.
    - **Backward.** Each gate's gradient is a product of d_h_t or d_c_t and a factor that depends on the
      forward pass alone. The factors are computed for all steps at once before the loop
      (``_backward_coefficients``); ``step_backward`` multiplies by d_h_t / d_c_t: five calls and one product.
    - **Preallocated arrays.** Every step writes with ``out=`` into arrays made once per sequence, and
      backward keeps its work arrays (``_Scratch``); see the module docstring.

    Measured gain over ``reference.run_sequence`` (benchmarks/bench_reference.py; forward + backward,
    L = sum(h_{T-1}), median CPU time of 30 interleaved runs, one BLAS thread; AMD EPYC, 2 cores shared,
    Python 3.11.7, NumPy 2.4.6; three runs): at (T, B, D, H) = (100, 32, 8, 64), float32 9.6-10.1 ms
    against 12.1-13.4 ms (1.26-1.39x faster), float64 17.2-18.1 ms against 21.3-22.4 ms (1.22-1.25x); at
    (50, 32, 1, 8), where a step is a few hundred numbers and the cost is the count of NumPy calls,
    0.9-1.1 ms against 2.3-2.8 ms (2.3-2.6x) in both dtypes.
    """

    kind = "lstm"

    def _prepared(self, dtype):
        p = super()._prepared(dtype)
        H, D = self.hidden_size, self.input_size
        weights = np.concatenate([p["weight_hh"], p["weight_ih"], p["in_bias"]], axis=1)  # (4H, H + D + 1)
        weights = np.concatenate([weights[3 * H :], weights[: 3 * H]])  # PyTorch's rows i, f, g, o -> o, i, f, g
        half = np.full((4 * H, 1), 0.5, dtype)
        half[3 * H :] = 1.0  # g keeps its own tanh
        p["weight_z"] = weights * half
        p["weight_hh_T"] = np.ascontiguousarray(weights[:, :H].T)  # (H, 4H), work order, not halved
        p["dx_weight"] = np.ascontiguousarray(weights[:, H : H + D])  # W_ih, work order
        return p

    def _new_cache(self, x3, h0, c0, p) -> LSTMCache:
        (T, B, D), H, dtype = x3.shape, self.hidden_size, x3.dtype
        z = np.empty((T + 1, H + D + 1, B), dtype)
        z[0, :H] = h0.T
        z[:T, H : H + D] = x3.transpose(0, 2, 1)
        z[T, H:] = 0.0  # h_T's row has no input after it
        z[:, H + D] = 1.0
        return LSTMCache(
            z=z,
            hs=z[:, :H],
            cs=_states(T, c0, dtype),
            act=np.empty((T, 4 * H, B), dtype),
            tanh_c=np.empty((T, H, B), dtype),
        )

    def _gates(self, cache: LSTMCache):
        o, i, f, g = _blocks(cache.act, 4)
        return {"input": i, "forget": f, "cell": g, "output": o}

    def step_forward(self, t, cache: LSTMCache, p) -> None:
        """Step t: read z_t = [h_{t-1}; x_t; 1] = ``cache.z[t]`` and c_{t-1} = ``cache.cs[t]``; write o_t, i_t,
        f_t, g_t (``cache.act[t]``, which first holds a_t), c_t, tanh(c_t) and h_t (into ``cache.z[t + 1]``).
        States and gates are (H, B)."""
        H = self.hidden_size
        a_t = np.dot(p["weight_z"], cache.z[t], out=cache.act[t])  # (4H, B); o, i, f rows halved
        np.tanh(a_t, out=a_t)  # every gate overwrites its own pre-activation; g_t is done
        sigmoids = a_t[: 3 * H]  # o_t, i_t, f_t: sigmoid(a) = (1 + tanh(a/2)) / 2
        np.multiply(sigmoids, p["half"], out=sigmoids)
        np.add(sigmoids, p["half"], out=sigmoids)
        o_t, i_t, f_t, g_t = a_t[:H], a_t[H : 2 * H], a_t[2 * H : 3 * H], a_t[3 * H :]
        c_t = np.multiply(f_t, cache.cs[t], out=cache.cs[t + 1])
        tanh_c_t = np.multiply(i_t, g_t, out=cache.tanh_c[t])  # i_t g_t, until tanh(c_t) replaces it
        c_t += tanh_c_t
        np.tanh(c_t, out=tanh_c_t)
        np.multiply(o_t, tanh_c_t, out=cache.hs[t + 1])  # h_t

    def _backward_coefficients(self, cache: LSTMCache) -> dict:
        """The half of each gate's gradient that depends on the forward pass alone, for every step at once;
        ``step_backward`` multiplies by the other half (d_h_t or d_c_t). ``dc_dh`` = o_t (1 - tanh^2 c_t),
        what d_h_t contributes to d_c_t, and ``da`` (T, 4H, B, work order)::

            da[o] = tanh(c_t) * o_t (1 - o_t)      (d_a_t[o] = d_h_t * da[o])
            da[i] = g_t * i_t (1 - i_t)            (d_a_t[i] = d_c_t * da[i])
            da[f] = c_{t-1} * f_t (1 - f_t)        (d_a_t[f] = d_c_t * da[f])
            da[g] = i_t * (1 - g_t^2)              (d_a_t[g] = d_c_t * da[g])

        ``da_ifg`` is the view of the i, f, g blocks at once. The derivatives come from the cached gates."""
        o, i, f, g = _blocks(cache.act, 4)
        tanh_c = cache.tanh_c
        dc_dh = np.multiply(tanh_c, tanh_c, out=_scratch("lstm.dc_dh", tanh_c.shape, tanh_c.dtype))
        np.subtract(1.0, dc_dh, out=dc_dh)
        dc_dh *= o
        da = _scratch("lstm.da", cache.act.shape, cache.act.dtype)
        d_o, d_i, d_f, d_g = _blocks(da, 4)
        H = d_o.shape[1]
        sigmoids, d_sigmoids = cache.act[:, : 3 * H], da[:, : 3 * H]  # o, i, f: one block of rows
        np.subtract(1.0, sigmoids, out=d_sigmoids)
        d_sigmoids *= sigmoids
        for out, times in ((d_o, tanh_c), (d_i, g), (d_f, cache.cs[:-1])):
            out *= times
        np.multiply(g, g, out=d_g)
        np.subtract(1.0, d_g, out=d_g)
        d_g *= i
        T, H4, B = da.shape
        return {"dc_dh": dc_dh, "da": da, "da_ifg": da[:, H4 // 4 :].reshape(T, 3, H4 // 4, B)}

    def step_backward(self, t, d_s, cache: LSTMCache, grads: StepGrads, p, coefficients) -> None:
        """Step t backward. ``d_s[t + 1]`` (2H, B) holds the total dL/dh_t and, below it, d_c_next, the
        gradient reaching c_t through c_{t+1}, which becomes the total dL/dc_t here, in place. Writes
        d_a_t = dL/da_t (4H, B, work order) into ``grads.xw[t]`` and [d_h_prev; d_c_prev], the gradients
        reaching h_{t-1} and c_{t-1}, into ``d_s[t]``.

        Equations (the factors after d_h_t and d_c_t are ``coefficients``, computed before the loop by
        ``_backward_coefficients``; this method does the multiplications by d_h_t and d_c_t)::

            d_c_t = d_c_next + d_h_t * o_t (1 - tanh^2 c_t)
            d_a_t[o] = d_h_t * tanh(c_t) * o_t (1 - o_t)
            d_a_t[i] = d_c_t * g_t * i_t (1 - i_t)
            d_a_t[f] = d_c_t * c_{t-1} * f_t (1 - f_t)
            d_a_t[g] = d_c_t * i_t * (1 - g_t^2)
            d_h_prev = W_hh^T d_a_t          d_c_prev = d_c_t * f_t
        """
        H = self.hidden_size
        d_h_t, d_c_t, d_prev = d_s[t + 1, :H], d_s[t + 1, H:], d_s[t]
        d_a_t = grads.xw[t]
        np.multiply(d_h_t, coefficients["da"][t, :H], out=d_a_t[:H])  # d_a_t[o] = d_h_t * da[o]
        np.multiply(d_h_t, coefficients["dc_dh"][t], out=d_prev[H:])  # d_prev[H:] as scratch
        d_c_t += d_prev[H:]  # d_c_t = d_c_next + d_h_t * o_t (1 - tanh^2 c_t)
        np.multiply(d_c_t, coefficients["da_ifg"][t], out=d_a_t[H:].reshape(3, H, -1))  # d_a_t[i, f, g] at once
        np.multiply(d_c_t, cache.act[t, 2 * H : 3 * H], out=d_prev[H:])  # d_c_prev = d_c_t * f_t
        np.dot(p["weight_hh_T"], d_a_t, out=d_prev[:H])

    def _param_grads(self, grads: StepGrads, cache: LSTMCache, x3) -> dict[str, np.ndarray]:
        H, D = self.hidden_size, self.input_size
        T, H4, _ = grads.xw.shape
        each = _scratch("lstm.d_z", (T, H4, H + D + 1), grads.xw.dtype)
        d_z = np.matmul(grads.xw, cache.z[:-1].transpose(0, 2, 1), out=each).sum(axis=0)  # (4H, H+D+1): W_hh, W_ih, b
        d_z = np.concatenate([d_z[H:], d_z[:H]])  # rows o, i, f, g -> PyTorch's i, f, g, o
        return {
            "weight_ih": d_z[:, H : H + D].copy(),
            "weight_hh": d_z[:, :H].copy(),
            "bias_ih": d_z[:, H + D].copy(),
            "bias_hh": d_z[:, H + D].copy(),
        }


class GRUCell(Cell):
    """Gated recurrent unit, as ``torch.nn.GRU`` (gate order r, z, n; b_hn inside the reset product).

    Equations::

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    """

    kind = "gru"

    def _prepared(self, dtype):
        p = super()._prepared(dtype)
        H = self.hidden_size
        p["in_bias"][2 * H :, 0] = p["bias_ih"][2 * H :]  # b_hn stays out: the reset gate multiplies it
        p["bias_hn"] = p["bias_hh"][2 * H :, None]  # (H, 1)
        return p

    def _new_cache(self, x3, h0, c0, p) -> GRUCache:
        (T, B, _), H, dtype = x3.shape, self.hidden_size, x3.dtype
        return GRUCache(
            xw=self._input_projection(x3, p),
            hs=_states(T, h0, dtype),
            act=np.empty((T, 3 * H, B), dtype),
            hn=np.empty((T, H, B), dtype),
        )

    def _gates(self, cache: GRUCache):
        return dict(zip(GATE_NAMES["gru"], _blocks(cache.act, 3), strict=True))

    def step_forward(self, t, cache: GRUCache, p) -> None:
        """Step t: read h_{t-1} = ``cache.hs[t]``, write r_t, z_t, n_t (``cache.act[t]``), W_hn h_{t-1} + b_hn
        (``cache.hn[t]``) and h_t.

        ``cache.xw[t]`` (3H, B) = W_ih x_t + b_ih, plus b_hr and b_hz; states and gates are (H, B).
        """
        H = self.hidden_size
        h_prev, xw_t = cache.hs[t], cache.xw[t]
        hw_t = np.dot(p["weight_hh"], h_prev)  # (3H, B): W_hr h_{t-1}, W_hz h_{t-1}, W_hn h_{t-1}
        act_t = cache.act[t]
        r_t, z_t, n_t = act_t[:H], act_t[H : 2 * H], act_t[2 * H :]
        rz_t = np.add(xw_t[: 2 * H], hw_t[: 2 * H], out=act_t[: 2 * H])
        sigmoid(rz_t, out=rz_t)  # r_t and z_t in one call
        hn_t = np.add(hw_t[2 * H :], p["bias_hn"], out=cache.hn[t])
        np.multiply(r_t, hn_t, out=n_t)
        n_t += xw_t[2 * H :]
        np.tanh(n_t, out=n_t)
        h_t = np.multiply(z_t, h_prev, out=cache.hs[t + 1])
        h_t += (1.0 - z_t) * n_t

    def step_backward(self, t, d_s, cache: GRUCache, grads: StepGrads, p, coefficients) -> None:
        """Step t backward. ``d_s[t + 1]`` (H, B) is the total dL/dh_t. Writes dL/d(W_ih x_t + b_ih) into
        ``grads.xw[t]`` and dL/d(W_hh h_{t-1} + b_hh) into ``grads.hw[t]``, both (3H, B), and d_h_prev into
        ``d_s[t]``.

        Equations::

            d_n_t = d_h_t * (1 - z_t)            d_a_n = d_n_t * (1 - n_t^2)
            d_z_t = d_h_t * (h_{t-1} - n_t)      d_a_z = d_z_t * z_t (1 - z_t)
            d_r_t = d_a_n * hn_t                 d_a_r = d_r_t * r_t (1 - r_t)
            d_xw_t = [d_a_r, d_a_z, d_a_n]       d_hw_t = [d_a_r, d_a_z, d_a_n * r_t]
            d_h_prev = d_h_t * z_t + W_hh^T d_hw_t
        """
        H, d_h_t = self.hidden_size, d_s[t + 1]
        act_t, h_prev = cache.act[t], cache.hs[t]
        r_t, z_t, n_t = act_t[:H], act_t[H : 2 * H], act_t[2 * H :]
        d_hw_t, d_xw_t = grads.hw[t], grads.xw[t]
        d_a_n = np.multiply(d_h_t * (1.0 - z_t), 1.0 - n_t * n_t, out=d_xw_t[2 * H :])
        np.multiply(d_a_n * cache.hn[t], r_t * (1.0 - r_t), out=d_hw_t[:H])  # d_a_r
        np.multiply(d_h_t * (h_prev - n_t), z_t * (1.0 - z_t), out=d_hw_t[H : 2 * H])  # d_a_z
        np.multiply(d_a_n, r_t, out=d_hw_t[2 * H :])
        d_xw_t[: 2 * H] = d_hw_t[: 2 * H]  # r and z: the two products add before the sigmoid
        d_h_prev = np.dot(p["weight_hh_T"], d_hw_t, out=d_s[t])
        d_h_prev += d_h_t * z_t


CELL_CLASSES = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}


# --------------------------------------------------------------------------------------------------
# The 1997 LSTM: a cell of its own, outside KINDS (the three cells the lessons compare)


class LSTM1997Cell(LSTMCell):
    """The LSTM of Hochreiter & Schmidhuber (1997): input and output gates, **no forget gate**. Its cell
    state only accumulates (the "constant error carousel"): the gradient along c is carried back unchanged,
    step after step, neither vanishing nor exploding. The forget gate came three years later (Gers,
    Schmidhuber & Cummins 2000, "Learning to forget"), because a state that can only grow saturates on long
    or continual input.

    Parameters: PyTorch-like names with **3 row blocks, i, g, o** (``weight_ih (3H, D)``, ``weight_hh (3H,
    H)``, ``bias_ih``, ``bias_hh (3H,)``), the LSTM's layout with the forget block left out. The GRU has 3
    blocks too, so ``weights.infer_kind`` cannot tell the two apart from shapes: it answers "gru", and a
    1997 cell is loaded by naming its kind ("lstm1997").

    Equations::

        i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    Where it differs from the paper: the paper squashes the cell input with g(x) = 4 sigmoid(x) - 2 (range
    [-2, 2]) and the cell output with h(x) = 2 sigmoid(x) - 1 = tanh(x/2) (range [-1, 1]); we use tanh for
    both, as today's LSTM does. The paper's memory cells came in blocks sharing their gates, its gates also
    saw the cells' outputs through the same recurrent weights (as here), and it truncated the gradient at
    the cell's input (error flows back only through the carousel); this cell is trained by full
    backpropagation through time.

    How it runs: as an :class:`LSTMCell` whose forget gate is held at exactly 1 (zero weights, a bias of
    ``_OPEN`` = 100, where float32's and float64's sigmoid are 1.0 exactly, so f_t (1 - f_t) = 0 and no
    gradient reaches that bias), so it shares the LSTM's fast step; the parameters and their gradients are
    the three blocks above. The textbook step is ``reference.lstm1997_step_forward``.
    """

    kind = "lstm1997"
    _OPEN = 100.0

    def _prepared(self, dtype):
        # built from ``self.params`` on every call, as the other cells do, so that a change to them shows
        return LSTMCell(with_open_forget_gate(self.params, self._OPEN))._prepared(dtype)

    def _gates(self, cache: LSTMCache):
        gates = super()._gates(cache)
        del gates["forget"]
        return gates

    def _param_grads(self, grads: StepGrads, cache: LSTMCache, x3) -> dict[str, np.ndarray]:
        H = self.hidden_size
        return {k: np.delete(v, np.s_[H : 2 * H], axis=0) for k, v in super()._param_grads(grads, cache, x3).items()}


def with_open_forget_gate(params: dict[str, np.ndarray], bias: float) -> dict[str, np.ndarray]:
    """A 1997 cell's parameters (rows i, g, o) as an LSTM's (rows i, f, g, o) with a forget gate of zero
    weights and total bias ``bias``."""
    H = params["weight_hh"].shape[1]
    out = {}
    for name, value in params.items():
        forget = np.zeros((H, *value.shape[1:]), value.dtype)
        if name == "bias_ih":
            forget += bias
        out[name] = np.concatenate([value[:H], forget, value[H:]])
    return out


GATE_COUNT["lstm1997"] = 3
GATE_NAMES["lstm1997"] = ("input", "cell", "output")
CELL_CLASSES["lstm1997"] = LSTM1997Cell
ALL_KINDS = (*KINDS, "lstm1997")  # every kind the engine trains; KINDS stays the three the lessons compare
