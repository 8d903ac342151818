"""RNN, LSTM and GRU cells in NumPy, with PyTorch's equations and parameter layout.

Each cell defines one step forward and, right beside it, that step's backward. ``Cell.forward`` runs a
sequence and returns a :class:`Trace` (the record the pages plot); ``Cell.backward`` consumes the same
trace and runs backpropagation through time, returning a :class:`Grads`.

Shapes, time-first as in PyTorch: ``T`` steps, ``B`` sequences in a batch, ``D`` inputs, ``H`` hidden
units, ``G`` gates (1 for RNN, 4 for LSTM, 3 for GRU). Inside, every array is batched ``(T, B, ...)``;
an unbatched input ``(T, D)`` gives unbatched results ``(T, H)``.

Parameters (PyTorch names and layout, so ``torch.nn.LSTM(...).state_dict()`` loads as is)::

    weight_ih (G*H, D)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)

How a sequence runs (fast enough to match ``torch.nn`` at these sizes; benchmarks/bench_engine.py):

- The input projection ``xw_t = W_ih x_t + b_ih + b_hh`` does not depend on the recurrence, so it is
  computed for all steps in one matrix product before the loop (the GRU keeps ``b_hn`` apart: it sits
  inside the reset product). The weight gradients are likewise summed over all steps in one batched
  product after the backward loop. The steps themselves only see ``xw_t``.
- Inside the loop every array is feature-major, ``(features, B)``: the equations' column vectors, so
  ``W_hh @ h_prev`` reads as written and each gate is a contiguous block of rows (NumPy costs several
  times more on a strided column block at these sizes).
- Every step writes its values with NumPy's ``out=`` into arrays allocated once for the whole sequence
  (a cache, ``(T, features, B)``), so a step makes no Python objects beyond a few views and nothing is
  stacked afterwards; the trace's ``h``, ``c`` and gates are views of that cache. Backward writes its
  gradients the same way, into a :class:`StepGrads`.
- In float32, backward sets recurrent gradients below ``FLUSH_BELOW`` = 2^-102 (about 2e-31, 2^24 times
  float32's smallest normal number) to zero after each step. Gradients that vanish over long sequences
  otherwise pass through the subnormal range below 1.2e-38, where the CPU computes up to a hundred times
  slower (it doubled the backward time of a T=200 run). A flushed value can change a parameter gradient
  only if that gradient is below about 4e-24 (2^-102 over float32's relative precision 2^-24), and
  ``Grads.h`` then shows 0 where it would show a number below 2e-31. Float64 is not flushed: its
  subnormals start near 1e-308, beyond what these sequence lengths reach.
"""

from __future__ import annotations

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
    """

    params: dict[str, np.ndarray]
    x: np.ndarray
    h: np.ndarray
    c: np.ndarray | None
    h0: np.ndarray
    c0: np.ndarray | None
    overflowed: bool


# Caches: what a forward pass keeps for its backward, one array per quantity for the whole sequence,
# feature-major: row t is the (features, B) array of step t. The states carry one extra row in front:
# hs[0] = h0 and hs[t + 1] = h_t, so hs[t] is h_{t-1}.


@dataclass(frozen=True)
class RNNCache:
    hs: np.ndarray  # (T + 1, H, B)


@dataclass(frozen=True)
class LSTMCache:
    hs: np.ndarray  # (T + 1, H, B)
    cs: np.ndarray  # (T + 1, H, B): cs[0] = c0, cs[t + 1] = c_t
    act: np.ndarray  # (T, 4H, B): rows i_t, f_t, g_t, o_t
    tanh_c: np.ndarray  # (T, H, B): tanh(c_t)


@dataclass(frozen=True)
class GRUCache:
    hs: np.ndarray  # (T + 1, H, B)
    act: np.ndarray  # (T, 3H, B): rows r_t, z_t, n_t
    hn: np.ndarray  # (T, H, B): W_hn h_{t-1} + b_hn, the part the reset gate multiplies


@dataclass(frozen=True)
class StepGrads:
    """The gradients of every step, feature-major like the caches, filled in by ``step_backward`` one
    row t at a time.

    ``h``, ``c`` ``(T, H, B)``: the total dL/dh_t and dL/dc_t (``c`` for the LSTM only). ``xw``:
    dL/d(W_ih x_t + b_ih) and ``hw``: dL/d(W_hh h_{t-1} + b_hh), both ``(T, G*H, B)``; one and the same
    array for the RNN and LSTM, whose two products add before any nonlinearity (the GRU's reset gate
    multiplies W_hn h_{t-1} + b_hn alone).
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
        self.params = params
        self.hidden_size = params["weight_hh"].shape[1]
        self.input_size = params["weight_ih"].shape[1]

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
        """A new cell of the same kind with other parameters (checked like a state dict)."""
        from rnnviz.weights import from_state_dict  # weights.py builds on this module

        return from_state_dict(self.kind, params, **self._options())

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
            if name == "c0" and self.kind != "lstm":
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
        xw = np.matmul(p["in_weight"], _feature_first(x3, x3.dtype))  # (T, G*H, B): W_ih x_t for every t
        xw += p["in_bias"]
        cache = self._new_cache(xw.shape[0], h0b, c0b)
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(xw.shape[0]):
                self.step_forward(t, xw[t], cache, p)
            overflowed = not np.all(np.isfinite(cache.hs))
        unbatch = (lambda a: a) if batched else (lambda a: None if a is None else a[:, 0])
        return Trace(
            kind=self.kind,
            x=x3 if batched else x3[:, 0],
            h0=h0b if batched else h0b[0],
            c0=None if c0b is None else (c0b if batched else c0b[0]),
            h=unbatch(_batch_first(cache.hs[1:])),
            c=unbatch(_batch_first(cache.cs[1:])) if self.kind == "lstm" else None,
            gates={k: unbatch(_batch_first(v)) for k, v in self._gates(cache).items()},
            batched=batched,
            overflowed=overflowed,
            cache=cache,
        )

    def backward(self, trace: Trace, d_h, d_c=None) -> Grads:
        """Backpropagation through time over ``trace``.

        ``d_h`` is dL/dh_t arriving from outside the recurrence (for example from a readout), shaped like
        ``trace.h``; ``d_c`` (LSTM only, optional) likewise for the cell states. The gradient that reaches
        each step from step t+1 (``d_h_next``, ``d_c_next``) is added inside.
        """
        if not isinstance(trace, Trace):
            raise ValueError(f"backward takes the Trace that forward returned, got {type(trace).__name__}")
        if trace.kind != self.kind:
            raise ValueError(f"trace is from a {trace.kind} cell, not {self.kind}")
        if trace.x.shape[-1] != self.input_size:
            raise ValueError(f"trace has {trace.x.shape[-1]} input features but the cell expects {self.input_size}")
        d_h3 = self._check_grad("d_h", d_h, trace.h.shape, trace.batched)
        if d_c is not None and self.kind != "lstm":
            raise ValueError(f"d_c is only for the LSTM, not {self.kind}")
        d_c3 = None if d_c is None else self._check_grad("d_c", d_c, trace.c.shape, trace.batched)
        x3 = trace.x if trace.batched else trace.x[:, None, :]
        dtype = x3.dtype
        p = self._prepared(dtype)
        T, B, D = x3.shape
        H, GH = self.hidden_size, p["weight_hh"].shape[0]
        d_h_outside = _feature_first(d_h3, dtype)
        d_c_outside = None if d_c3 is None else _feature_first(d_c3, dtype)
        cache = trace.cache
        xw = np.empty((T, GH, B), dtype)
        grads = StepGrads(
            h=np.empty((T, H, B), dtype),
            c=np.empty((T, H, B), dtype) if self.kind == "lstm" else None,
            xw=xw,
            hw=np.empty_like(xw) if self.kind == "gru" else xw,
        )
        flush = dtype == np.float32  # see the module docstring: subnormal numbers are slow
        d_h_next = np.zeros((H, B), dtype)  # dL/dh_t through step t+1
        d_c_next = np.zeros((H, B), dtype) if self.kind == "lstm" else None
        with np.errstate(over="ignore", invalid="ignore"):
            for t in reversed(range(T)):
                d_h_t = np.add(d_h_outside[t], d_h_next, out=grads.h[t])  # the total dL/dh_t
                if d_c_outside is not None:
                    d_c_next = d_c_next + d_c_outside[t]
                d_h_next, d_c_next = self.step_backward(t, d_h_t, d_c_next, cache, grads, p)
                if flush:
                    _flush_tiny(d_h_next)
                    if d_c_next is not None:
                        _flush_tiny(d_c_next)
            # every step's share, in one batched product each, summed over the steps
            params = {
                "weight_ih": np.matmul(grads.xw, x3).sum(axis=0),  # (G*H, B) (B, D) -> (G*H, D)
                "weight_hh": np.matmul(grads.hw, cache.hs[:-1].transpose(0, 2, 1)).sum(axis=0),  # (G*H, H)
                "bias_ih": grads.xw.sum(axis=(0, 2)),
                "bias_hh": grads.hw.sum(axis=(0, 2)) if self.kind == "gru" else None,
            }
            if params["bias_hh"] is None:  # the RNN and LSTM add both biases to one pre-activation
                params["bias_hh"] = params["bias_ih"].copy()
            d_x = np.matmul(grads.xw.transpose(0, 2, 1), p["weight_ih"])  # (T, B, D)
            overflowed = not all(np.all(np.isfinite(a)) for a in (grads.h, d_x, *params.values()))
        unbatch = (lambda a: a) if trace.batched else (lambda a: None if a is None else a[:, 0])
        un0 = (lambda a: a.T) if trace.batched else (lambda a: None if a is None else a[:, 0])
        return Grads(
            params=params,
            x=unbatch(d_x),
            h=unbatch(_batch_first(grads.h)),
            c=None if grads.c is None else unbatch(_batch_first(grads.c)),
            h0=un0(d_h_next),
            c0=None if d_c_next is None else un0(d_c_next),
            overflowed=overflowed,
        )

    def _prepared(self, dtype) -> dict[str, np.ndarray]:
        """Parameters in the computation's dtype, and what forward and backward multiply by:
        ``in_weight`` and ``in_bias`` ``(G*H, 1)`` make the input projection before the loop; W_hh^T is
        stored contiguously for backward (a product with a transposed view costs BLAS about twice as
        much at these small sizes)."""
        p = {k: v.astype(dtype, copy=False) for k, v in self.params.items()}
        p["in_weight"] = p["weight_ih"]
        p["in_bias"] = (p["bias_ih"] + p["bias_hh"])[:, None]
        p["weight_hh_T"] = np.ascontiguousarray(p["weight_hh"].T)  # (H, G*H)
        return p

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


def _flush_tiny(a: np.ndarray) -> None:
    """Set the entries of ``a`` smaller than ``FLUSH_BELOW`` in magnitude to zero, in place."""
    np.copyto(a, 0, where=np.abs(a) < FLUSH_BELOW)


def _batch_first(a: np.ndarray) -> np.ndarray:
    """``(T, H, B)`` as ``(T, B, H)``: a view."""
    return a.transpose(0, 2, 1)


def _feature_first(a: np.ndarray, dtype) -> np.ndarray:
    """``(T, B, H)`` as a contiguous ``(T, H, B)`` copy."""
    return np.ascontiguousarray(a.transpose(0, 2, 1), dtype)


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

    def _new_cache(self, T, h0, c0) -> RNNCache:
        return RNNCache(hs=_states(T, h0, h0.dtype))

    def _gates(self, cache):
        return {}

    def step_forward(self, t, xw_t, cache: RNNCache, p) -> None:
        """Step t: h_t into ``cache.hs[t + 1]`` from h_{t-1} = ``cache.hs[t]`` (H, B) and
        ``xw_t`` (H, B) = W_ih x_t + b_ih + b_hh."""
        h_t = np.matmul(p["weight_hh"], cache.hs[t], out=cache.hs[t + 1])
        h_t += xw_t  # the pre-activation a_t, activated in place
        if self.nonlinearity == "tanh":
            np.tanh(h_t, out=h_t)
        else:
            np.maximum(h_t, 0.0, out=h_t)

    def step_backward(self, t, d_h_t, d_c_next, cache: RNNCache, grads: StepGrads, p):
        """Step t backward: ``d_h_t`` (H, B) is the total dL/dh_t. Writes d_a_t = dL/da_t into
        ``grads.xw[t]`` and returns ``(d_h_prev, None)``, the gradient reaching h_{t-1} through this step.

        Equations::

            d_a_t = d_h_t * (1 - h_t^2)   (tanh)   or   d_h_t * [h_t > 0]   (relu)
            d_h_prev = W_hh^T d_a_t
        """
        h_t = cache.hs[t + 1]
        dh_da = 1.0 - h_t * h_t if self.nonlinearity == "tanh" else h_t > 0
        d_a_t = np.multiply(d_h_t, dh_da, out=grads.xw[t])
        return p["weight_hh_T"] @ d_a_t, None


class LSTMCell(Cell):
    """Long short-term memory, as ``torch.nn.LSTM`` (gate order i, f, g, o).

    Equations::

        a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh      (4H, B): rows i, f, g, o
        i_t = sigmoid(a_t[0:H])
        f_t = sigmoid(a_t[H:2H])
        g_t = tanh(a_t[2H:3H])
        o_t = sigmoid(a_t[3H:4H])
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)
    """

    kind = "lstm"

    def _prepared(self, dtype):
        # sigmoid(a) = (1 + tanh(a/2)) / 2. Forward multiplies by copies of W_ih, W_hh and the biases whose
        # i, f, o rows are halved (exact in binary floating point: the same bits as halving a_t), so one
        # tanh call over all 4H rows gives tanh(a/2) for i, f, o and g_t = tanh(a_g) itself.
        p = super()._prepared(dtype)
        H = self.hidden_size
        half = np.full((4 * H, 1), 0.5, dtype)
        half[2 * H : 3 * H] = 1.0
        p["in_weight"] = p["weight_ih"] * half
        p["in_bias"] = p["in_bias"] * half
        p["rec_weight"] = p["weight_hh"] * half
        return p

    def _new_cache(self, T, h0, c0) -> LSTMCache:
        H, B = h0.shape[1], h0.shape[0]
        return LSTMCache(
            hs=_states(T, h0, h0.dtype),
            cs=_states(T, c0, h0.dtype),
            act=np.empty((T, 4 * H, B), h0.dtype),
            tanh_c=np.empty((T, H, B), h0.dtype),
        )

    def _gates(self, cache: LSTMCache):
        return dict(zip(GATE_NAMES["lstm"], _blocks(cache.act, 4), strict=True))

    def step_forward(self, t, xw_t, cache: LSTMCache, p) -> None:
        """Step t: read h_{t-1} = ``cache.hs[t]`` and c_{t-1} = ``cache.cs[t]``, write i_t, f_t, g_t, o_t
        (``cache.act[t]``, which first holds a_t), c_t, tanh(c_t) and h_t.

        ``xw_t`` (4H, B) = W_ih x_t + b_ih + b_hh (i, f, o rows halved: see ``_prepared``); states and
        gates are (H, B).
        """
        H = self.hidden_size
        a_t = np.matmul(p["rec_weight"], cache.hs[t], out=cache.act[t])  # (4H, B), i, f, o rows halved
        a_t += xw_t
        np.tanh(a_t, out=a_t)  # every gate overwrites its own pre-activation; g_t is done
        i_t, f_t, g_t, o_t = a_t[:H], a_t[H : 2 * H], a_t[2 * H : 3 * H], a_t[3 * H :]
        for sigmoid_rows in (a_t[: 2 * H], o_t):  # i_t, f_t and o_t: sigmoid(a) = (1 + tanh(a/2)) / 2
            sigmoid_rows += 1.0
            sigmoid_rows *= 0.5
        c_t = np.multiply(f_t, cache.cs[t], out=cache.cs[t + 1])
        c_t += i_t * g_t
        tanh_c_t = np.tanh(c_t, out=cache.tanh_c[t])
        np.multiply(o_t, tanh_c_t, out=cache.hs[t + 1])  # h_t

    def step_backward(self, t, d_h_t, d_c_next, cache: LSTMCache, grads: StepGrads, p):
        """Step t backward. ``d_h_t`` (H, B) is the total dL/dh_t, ``d_c_next`` (H, B) the gradient reaching
        c_t through c_{t+1}. Writes the total dL/dc_t into ``grads.c[t]`` and d_a_t = dL/da_t (4H, B) into
        ``grads.xw[t]``; returns ``(d_h_prev, d_c_prev)``, the gradients reaching h_{t-1} and c_{t-1}.
        The derivatives of the gates come from the cached gates: s (1 - s) and 1 - g^2.

        Equations::

            d_c_t = d_c_next + d_h_t * o_t * (1 - tanh^2 c_t)
            d_a_t[0:H]   = d_c_t * g_t * i_t (1 - i_t)
            d_a_t[H:2H]  = d_c_t * c_{t-1} * f_t (1 - f_t)
            d_a_t[2H:3H] = d_c_t * i_t * (1 - g_t^2)
            d_a_t[3H:4H] = d_h_t * tanh(c_t) * o_t (1 - o_t)
            d_h_prev = W_hh^T d_a_t          d_c_prev = d_c_t * f_t
        """
        H = self.hidden_size
        act_t, tanh_c_t = cache.act[t], cache.tanh_c[t]
        i_t, f_t, g_t, o_t = act_t[:H], act_t[H : 2 * H], act_t[2 * H : 3 * H], act_t[3 * H :]
        d_c_t = np.multiply(d_h_t, o_t * (1.0 - tanh_c_t * tanh_c_t), out=grads.c[t])
        d_c_t += d_c_next
        d_a_t = grads.xw[t]  # first dL/d(gate), then times the gate's derivative
        np.multiply(d_c_t, g_t, out=d_a_t[:H])
        np.multiply(d_c_t, cache.cs[t], out=d_a_t[H : 2 * H])
        np.multiply(d_c_t, i_t, out=d_a_t[2 * H : 3 * H])
        np.multiply(d_h_t, tanh_c_t, out=d_a_t[3 * H :])
        d_gate_d_a = act_t * (1.0 - act_t)  # s (1 - s) for i, f, o in one call; g's rows are replaced:
        d_gate_d_a[2 * H : 3 * H] = 1.0 - g_t * g_t
        d_a_t *= d_gate_d_a
        return p["weight_hh_T"] @ d_a_t, d_c_t * f_t


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

    def _new_cache(self, T, h0, c0) -> GRUCache:
        H, B = h0.shape[1], h0.shape[0]
        return GRUCache(
            hs=_states(T, h0, h0.dtype), act=np.empty((T, 3 * H, B), h0.dtype), hn=np.empty((T, H, B), h0.dtype)
        )

    def _gates(self, cache: GRUCache):
        return dict(zip(GATE_NAMES["gru"], _blocks(cache.act, 3), strict=True))

    def step_forward(self, t, xw_t, cache: GRUCache, p) -> None:
        """Step t: read h_{t-1} = ``cache.hs[t]``, write r_t, z_t, n_t (``cache.act[t]``), W_hn h_{t-1} + b_hn
        (``cache.hn[t]``) and h_t.

        ``xw_t`` (3H, B) = W_ih x_t + b_ih, plus b_hr and b_hz; states and gates are (H, B).
        """
        H = self.hidden_size
        h_prev = cache.hs[t]
        hw_t = p["weight_hh"] @ h_prev  # (3H, B): W_hr h_{t-1}, W_hz h_{t-1}, W_hn h_{t-1}
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

    def step_backward(self, t, d_h_t, d_c_next, cache: GRUCache, grads: StepGrads, p):
        """Step t backward. ``d_h_t`` (H, B) is the total dL/dh_t. Writes dL/d(W_ih x_t + b_ih) into
        ``grads.xw[t]`` and dL/d(W_hh h_{t-1} + b_hh) into ``grads.hw[t]``, both (3H, B); returns
        ``(d_h_prev, None)``.

        Equations::

            d_n_t = d_h_t * (1 - z_t)            d_a_n = d_n_t * (1 - n_t^2)
            d_z_t = d_h_t * (h_{t-1} - n_t)      d_a_z = d_z_t * z_t (1 - z_t)
            d_r_t = d_a_n * hn_t                 d_a_r = d_r_t * r_t (1 - r_t)
            d_xw_t = [d_a_r, d_a_z, d_a_n]       d_hw_t = [d_a_r, d_a_z, d_a_n * r_t]
            d_h_prev = d_h_t * z_t + W_hh^T d_hw_t
        """
        H = self.hidden_size
        act_t, h_prev = cache.act[t], cache.hs[t]
        r_t, z_t, n_t = act_t[:H], act_t[H : 2 * H], act_t[2 * H :]
        d_hw_t, d_xw_t = grads.hw[t], grads.xw[t]
        d_a_n = np.multiply(d_h_t * (1.0 - z_t), 1.0 - n_t * n_t, out=d_xw_t[2 * H :])
        np.multiply(d_a_n * cache.hn[t], r_t * (1.0 - r_t), out=d_hw_t[:H])  # d_a_r
        np.multiply(d_h_t * (h_prev - n_t), z_t * (1.0 - z_t), out=d_hw_t[H : 2 * H])  # d_a_z
        np.multiply(d_a_n, r_t, out=d_hw_t[2 * H :])
        d_xw_t[: 2 * H] = d_hw_t[: 2 * H]  # r and z: the two products add before the sigmoid
        d_h_prev = p["weight_hh_T"] @ d_hw_t
        d_h_prev += d_h_t * z_t
        return d_h_prev, None


CELL_CLASSES = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
