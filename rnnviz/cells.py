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
        """Copies of the parameters under PyTorch's names (without the ``_l0`` suffix)."""
        return {name: self.params[name].copy() for name in PARAM_NAMES}

    def with_params(self, params: dict[str, np.ndarray]) -> Cell:
        """A new cell of the same kind with other parameters (checked like a state dict)."""
        return from_state_dict(self.kind, params, **self._options())

    def _options(self) -> dict:
        return {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size}, dtype={self.dtype})"
        )

    def _check_input(self, x, h0, c0):
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise ValueError(f"input must be numeric, got dtype {x.dtype}")
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
            s = np.asarray(s, dtype=dtype)
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
        if trace.kind != self.kind:
            raise ValueError(f"trace is from a {trace.kind} cell, not {self.kind}")
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

    @staticmethod
    def _check_grad(name, g, shape, batched):
        g = np.asarray(g)
        if g.shape != shape:
            raise ValueError(f"{name} must have shape {shape} like the trace, got {g.shape}")
        return g if batched else g[:, None, :]

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


# --------------------------------------------------------------------------------------------------
# Construction, loading and saving


def _check_kind(kind) -> str:
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        raise ValueError(f"unknown cell kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind.lower()


def _check_size(name, value, low=1, high=4096) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return int(value)


def init_cell(
    kind: str,
    input_size: int,
    hidden_size: int,
    seed: int = 0,
    *,
    dtype=np.float64,
    forget_bias: float | None = None,
    spectral_radius: float | None = None,
    nonlinearity: str = "tanh",
) -> Cell:
    """A new cell initialised as PyTorch does: every parameter uniform in ±1/sqrt(H), seeded.

    ``forget_bias`` (LSTM: the forget gate; GRU: the update gate, which plays the same "keep" role) sets
    that gate's total bias (``bias_ih + bias_hh``) to the value. ``spectral_radius`` rescales each
    ``H x H`` block of ``weight_hh`` so that its largest eigenvalue modulus is the value.
    """
    kind = _check_kind(kind)
    D = _check_size("input_size", input_size)
    H = _check_size("hidden_size", hidden_size)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    G = GATE_COUNT[kind]
    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(H)
    params = {
        "weight_ih": rng.uniform(-k, k, (G * H, D)),
        "weight_hh": rng.uniform(-k, k, (G * H, H)),
        "bias_ih": rng.uniform(-k, k, G * H),
        "bias_hh": rng.uniform(-k, k, G * H),
    }
    if spectral_radius is not None:
        if not np.isfinite(spectral_radius) or spectral_radius < 0:
            raise ValueError(f"spectral_radius must be a finite number >= 0, got {spectral_radius}")
        for gate in range(G):
            block = params["weight_hh"][gate * H : (gate + 1) * H]
            radius = np.max(np.abs(np.linalg.eigvals(block)))
            if radius > 0:
                block *= spectral_radius / radius
    if forget_bias is not None:
        if kind == "rnn":
            raise ValueError("forget_bias applies to the LSTM and GRU only")
        if not np.isfinite(forget_bias):
            raise ValueError(f"forget_bias must be finite, got {forget_bias}")
        keep = slice(H, 2 * H)  # LSTM forget gate and GRU update gate are both the second block
        params["bias_ih"][keep] = forget_bias
        params["bias_hh"][keep] = 0.0
    params = {name: v.astype(dtype) for name, v in params.items()}
    return from_state_dict(kind, params, nonlinearity=nonlinearity)


def from_state_dict(kind: str, mapping, *, nonlinearity: str = "tanh") -> Cell:
    """A cell from a PyTorch-style state dict (``weight_ih_l0`` ... ; the ``_l0`` suffix is optional).

    Arrays are copied; float32 stays float32, anything else numeric becomes float64.
    """
    kind = _check_kind(kind)
    if not hasattr(mapping, "keys"):
        raise ValueError(f"state dict must be a mapping of names to arrays, got {type(mapping).__name__}")
    keys = list(mapping.keys())
    extra = [k for k in keys if k not in PARAM_NAMES and not (k.endswith("_l0") and k[:-3] in PARAM_NAMES)]
    if any(k.endswith("_reverse") for k in extra):
        raise ValueError("bidirectional models are not supported: use a one-direction model")
    if any(k.rsplit("_l", 1)[-1].isdigit() for k in extra):
        raise ValueError("only single-layer models are supported; found keys for more layers: " + ", ".join(extra))
    params = {}
    for name in PARAM_NAMES:
        found = [k for k in (name, name + "_l0") if k in mapping]
        if not found:
            raise ValueError(
                f"state dict is missing {name}_l0 (or {name}); it has: {', '.join(map(str, keys)) or 'nothing'}"
            )
        if len(found) > 1:
            raise ValueError(f"state dict has both {name} and {name}_l0")
        value = np.asarray(mapping[found[0]])
        if value.dtype.kind not in "biuf":
            raise ValueError(f"{found[0]} must be numeric, got dtype {value.dtype}")
        dtype = np.float32 if value.dtype == np.float32 else np.float64
        params[name] = np.array(value, dtype=dtype)  # a copy: the cell owns its parameters
    W_ih, W_hh = params["weight_ih"], params["weight_hh"]
    G = GATE_COUNT[kind]
    if W_hh.ndim != 2 or W_hh.shape[1] == 0 or W_hh.shape[0] != G * W_hh.shape[1]:
        raise ValueError(f"weight_hh of a {kind} must have shape ({G}*H, H), got {W_hh.shape}" + _kind_hint(W_hh.shape))
    H = W_hh.shape[1]
    if W_ih.ndim != 2 or W_ih.shape[0] != G * H or W_ih.shape[1] == 0:
        raise ValueError(f"weight_ih of a {kind} with H={H} must have shape ({G * H}, D), got {W_ih.shape}")
    for name in ("bias_ih", "bias_hh"):
        if params[name].shape != (G * H,):
            raise ValueError(f"{name} must have shape ({G * H},), got {params[name].shape}")
    for name, value in params.items():
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} contains NaN or infinite values")
    dtypes = {v.dtype for v in params.values()}
    if len(dtypes) > 1:
        params = {k: v.astype(np.float64) for k, v in params.items()}
    if kind == "rnn":
        return RNNCell(params, nonlinearity=nonlinearity)
    return CELL_CLASSES[kind](params)


def _kind_hint(shape) -> str:
    if len(shape) == 2 and shape[1] and shape[0] % shape[1] == 0:
        guess = {1: "rnn", 4: "lstm", 3: "gru"}.get(shape[0] // shape[1])
        if guess:
            return f" (these shapes look like a {guess})"
    return ""


def infer_kind(mapping) -> str:
    """rnn, lstm or gru from the shape of ``weight_hh`` (rows = G * columns)."""
    key = next((k for k in ("weight_hh_l0", "weight_hh") if k in mapping), None)
    if key is None:
        raise ValueError("cannot tell the cell kind: no weight_hh_l0 (or weight_hh) in the file")
    shape = np.shape(mapping[key])
    if len(shape) != 2 or shape[1] == 0 or shape[0] % shape[1]:
        raise ValueError(f"cannot tell the cell kind from weight_hh of shape {shape}")
    kind = {1: "rnn", 4: "lstm", 3: "gru"}.get(shape[0] // shape[1])
    if kind is None:
        raise ValueError(f"weight_hh of shape {shape} is not an RNN (H, H), GRU (3H, H) or LSTM (4H, H)")
    return kind


def load_npz(path_or_file, kind: str | None = None, *, nonlinearity: str = "tanh") -> Cell:
    """A cell from an ``.npz`` of a one-layer PyTorch state dict (``np.savez(f, **sd)``).

    The kind is inferred from the shapes unless given. Loads with ``allow_pickle=False``.
    """
    import zipfile

    try:
        data = np.load(path_or_file, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"not a readable .npz file of arrays ({err})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError("expected an .npz archive of named arrays (np.savez), got a single .npy array")
    try:
        with data:
            mapping = {name: data[name] for name in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"could not read the arrays in the .npz file ({err})") from None
    if not mapping:
        raise ValueError("the .npz file holds no arrays")
    kind = infer_kind(mapping) if kind is None else kind
    return from_state_dict(kind, mapping, nonlinearity=nonlinearity)


def save_npz(cell: Cell, path_or_file) -> None:
    """Save the parameters with PyTorch's ``_l0`` key names."""
    np.savez(path_or_file, **{name + "_l0": value for name, value in cell.state_dict().items()})
