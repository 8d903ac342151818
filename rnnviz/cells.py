"""RNN, LSTM and GRU cells in NumPy, with PyTorch's equations and parameter layout.

Each cell defines one step forward and, right beside it, that step's backward. ``Cell.forward`` runs a
sequence and returns a :class:`Trace` (the record the pages plot); ``Cell.backward`` consumes the same
trace and runs backpropagation through time, returning a :class:`Grads`.

Shapes, time-first as in PyTorch: ``T`` steps, ``B`` sequences in a batch, ``D`` inputs, ``H`` hidden
units, ``G`` gates (1 for RNN, 4 for LSTM, 3 for GRU). Inside, every array is batched ``(T, B, ...)``;
an unbatched input ``(T, D)`` gives unbatched results ``(T, H)``.

Parameters (PyTorch names and layout, so ``torch.nn.LSTM(...).state_dict()`` loads as is)::

    weight_ih (G*H, D)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)

The input projection ``xw_t = W_ih x_t + b_ih`` does not depend on the recurrence, so it is computed for
all steps in one matrix product before the loop, and the weight gradients are summed over all steps in
one product after it. The steps themselves only see ``xw_t``.
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


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function written through tanh: exact, and no overflow for any finite input."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


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
    infinite or NaN (a relu RNN with large recurrent weights can do that).
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
    steps: tuple = field(repr=False)  # one step cache per time step, batched, for backward

    @property
    def length(self) -> int:
        return self.x.shape[0]


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


# Step caches: what one forward step keeps for its backward. Batched arrays (B, H).


@dataclass(frozen=True)
class RNNStep:
    h_prev: np.ndarray
    h_t: np.ndarray


@dataclass(frozen=True)
class LSTMStep:
    h_prev: np.ndarray
    c_prev: np.ndarray
    i_t: np.ndarray
    f_t: np.ndarray
    g_t: np.ndarray
    o_t: np.ndarray
    act_t: np.ndarray  # (B, 4H): i, f, g, o side by side (the four above are views of it)
    y_t: np.ndarray  # (B, 4H) tanh(scale * a_t): the derivative of every gate comes from it
    c_t: np.ndarray
    tanh_c_t: np.ndarray
    h_t: np.ndarray


@dataclass(frozen=True)
class GRUStep:
    h_prev: np.ndarray
    r_t: np.ndarray
    z_t: np.ndarray
    n_t: np.ndarray
    hn_t: np.ndarray  # W_hn h_prev + b_hn: the part the reset gate multiplies
    h_t: np.ndarray


# --------------------------------------------------------------------------------------------------
# Cells


class Cell:
    """A single-layer recurrent cell. Subclasses define ``step_forward`` and ``step_backward``."""

    kind: str = ""

    def __init__(self, params: dict[str, np.ndarray]):
        self.params = params
        self.hidden_size = params["weight_hh"].shape[1]
        self.input_size = params["weight_ih"].shape[1]

    # -- plumbing shared by all cells ---------------------------------------------------------------

    @property
    def dtype(self) -> np.dtype:
        return self.params["weight_hh"].dtype

    @property
    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    @property
    def gate_names(self) -> tuple[str, ...]:
        return GATE_NAMES[self.kind]

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
        T, B, _ = x3.shape
        xw = (x3.reshape(T * B, -1) @ p["weight_ih"].T + p["bias_ih"]).reshape(T, B, -1)  # (T, B, G*H)
        steps = []
        h_prev, c_prev = h0b, c0b
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(T):
                step = self.step_forward(xw[t], h_prev, c_prev, p)
                steps.append(step)
                h_prev, c_prev = step.h_t, getattr(step, "c_t", None)
            h = np.stack([s.h_t for s in steps])
            overflowed = not np.all(np.isfinite(h))
        c = np.stack([s.c_t for s in steps]) if self.kind == "lstm" else None
        gates = self._stack_gates(steps)
        unbatch = (lambda a: a) if batched else (lambda a: None if a is None else a[:, 0])
        return Trace(
            kind=self.kind,
            x=x3 if batched else x3[:, 0],
            h0=h0b if batched else h0b[0],
            c0=None if c0b is None else (c0b if batched else c0b[0]),
            h=unbatch(h),
            c=unbatch(c),
            gates={k: unbatch(v) for k, v in gates.items()},
            batched=batched,
            overflowed=overflowed,
            steps=tuple(steps),
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
        p = self._prepared(x3.dtype)
        T, B, D = x3.shape
        H = self.hidden_size
        d_xw, d_hw = [None] * T, [None] * T  # dL/d(W_ih x_t + b_ih) and dL/d(W_hh h_{t-1} + b_hh)
        total_h, total_c = [None] * T, [None] * T
        d_h_next = np.zeros((B, H), x3.dtype)
        d_c_next = np.zeros((B, H), x3.dtype) if self.kind == "lstm" else None
        with np.errstate(over="ignore", invalid="ignore"):
            for t in reversed(range(T)):
                total_h[t] = d_h3[t] + d_h_next
                if d_c3 is not None:
                    d_c_next = d_c_next + d_c3[t]
                d_xw[t], d_hw[t], d_h_next, d_c_next, total_c[t] = self.step_backward(
                    total_h[t], d_c_next, trace.steps[t], p
                )
            # the RNN and LSTM share one pre-activation for both products: do not stack it twice
            shared = all(a is b for a, b in zip(d_xw, d_hw, strict=True))
            d_xw = np.stack(d_xw)  # (T, B, G*H)
            d_hw = d_xw if shared else np.stack(d_hw)
            total_h = np.stack(total_h)  # (T, B, H)
            total_c = np.stack(total_c) if self.kind == "lstm" else None
            h_prev = np.stack([s.h_prev for s in trace.steps])  # (T, B, H)
            flat = lambda a: a.reshape(T * B, -1)  # noqa: E731  (T, B, n) -> (T*B, n)
            params = {
                "weight_ih": flat(d_xw).T @ flat(x3),  # (G*H, D)
                "weight_hh": flat(d_hw).T @ flat(h_prev),  # (G*H, H)
                "bias_ih": d_xw.sum(axis=(0, 1)),
                "bias_hh": d_hw.sum(axis=(0, 1)),
            }
            d_x = (flat(d_xw) @ p["weight_ih"]).reshape(T, B, D)
            overflowed = not all(np.all(np.isfinite(a)) for a in (total_h, d_x, *params.values()))
        unbatch = (lambda a: a) if trace.batched else (lambda a: None if a is None else a[:, 0])
        un0 = (lambda a: a) if trace.batched else (lambda a: None if a is None else a[0])
        return Grads(
            params=params,
            x=unbatch(d_x),
            h=unbatch(total_h),
            c=unbatch(total_c),
            h0=un0(d_h_next),
            c0=un0(d_c_next),
            overflowed=overflowed,
        )

    def _prepared(self, dtype) -> dict[str, np.ndarray]:
        """Parameters in the computation's dtype, with W_hh^T stored contiguously: a product with a
        transposed view costs BLAS about twice as much at these small sizes."""
        p = {k: v.astype(dtype, copy=False) for k, v in self.params.items()}
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

    def step_forward(self, xw_t, h_prev, c_prev, p) -> RNNStep:
        a_t = xw_t + h_prev @ p["weight_hh_T"] + p["bias_hh"]
        h_t = np.tanh(a_t) if self.nonlinearity == "tanh" else np.maximum(a_t, 0.0)
        return RNNStep(h_prev=h_prev, h_t=h_t)

    def step_backward(self, d_h, d_c_next, s: RNNStep, p):
        if self.nonlinearity == "tanh":
            d_a = d_h * (1.0 - s.h_t * s.h_t)
        else:
            d_a = d_h * (s.h_t > 0)
        d_h_prev = d_a @ p["weight_hh"]
        return d_a, d_a, d_h_prev, None, None

    def _stack_gates(self, steps):
        return {}


class LSTMCell(Cell):
    """Long short-term memory, as ``torch.nn.LSTM`` (gate order i, f, g, o).

    Equations::

        i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)
    """

    kind = "lstm"

    def _prepared(self, dtype):
        p = super()._prepared(dtype)
        H = self.hidden_size
        # sigmoid(a) = 1/2 + 1/2 tanh(a / 2), so one tanh call activates all four gates:
        # act = scale * tanh(scale * a) + shift, with scale 1/2 and shift 1/2 on i, f, o and 1, 0 on g.
        p["scale"] = np.repeat(np.array([0.5, 0.5, 1.0, 0.5], dtype), H)
        p["shift"] = np.repeat(np.array([0.5, 0.5, 0.0, 0.5], dtype), H)
        p["slope"] = p["scale"] * p["scale"]  # d act / da = scale^2 (1 - tanh^2)
        return p

    def step_forward(self, xw_t, h_prev, c_prev, p) -> LSTMStep:
        H = h_prev.shape[1]
        a_t = xw_t + h_prev @ p["weight_hh_T"] + p["bias_hh"]  # (B, 4H): i, f, g, o
        y_t = np.tanh(p["scale"] * a_t)
        act_t = p["scale"] * y_t + p["shift"]
        i_t, f_t, g_t, o_t = (act_t[:, k * H : (k + 1) * H] for k in range(4))
        c_t = f_t * c_prev + i_t * g_t
        tanh_c_t = np.tanh(c_t)
        h_t = o_t * tanh_c_t
        return LSTMStep(h_prev, c_prev, i_t, f_t, g_t, o_t, act_t, y_t, c_t, tanh_c_t, h_t)

    def step_backward(self, d_h, d_c_next, s: LSTMStep, p):
        H = d_h.shape[1]
        d_act = np.empty_like(s.y_t)  # (B, 4H): dL/d(i, f, g, o)
        d_c = d_c_next + d_h * s.o_t * (1.0 - s.tanh_c_t * s.tanh_c_t)  # total dL/dc_t
        np.multiply(d_c, s.g_t, out=d_act[:, 0 * H : 1 * H])  # d_i
        np.multiply(d_c, s.c_prev, out=d_act[:, 1 * H : 2 * H])  # d_f
        np.multiply(d_c, s.i_t, out=d_act[:, 2 * H : 3 * H])  # d_g
        np.multiply(d_h, s.tanh_c_t, out=d_act[:, 3 * H : 4 * H])  # d_o
        d_c_prev = d_c * s.f_t
        d_a = d_act * (p["slope"] * (1.0 - s.y_t * s.y_t))  # i(1-i), f(1-f), 1-g^2, o(1-o) in one
        d_h_prev = d_a @ p["weight_hh"]
        return d_a, d_a, d_h_prev, d_c_prev, d_c

    def _stack_gates(self, steps):
        act = np.stack([s.act_t for s in steps])  # (T, B, 4H): one copy; each gate is a view of it
        H = act.shape[-1] // 4
        return {name: act[..., k * H : (k + 1) * H] for k, name in enumerate(("input", "forget", "cell", "output"))}


class GRUCell(Cell):
    """Gated recurrent unit, as ``torch.nn.GRU`` (gate order r, z, n; b_hn inside the reset product).

    Equations::

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    """

    kind = "gru"

    def step_forward(self, xw_t, h_prev, c_prev, p) -> GRUStep:
        H = h_prev.shape[1]
        hw_t = h_prev @ p["weight_hh_T"] + p["bias_hh"]  # (B, 3H): r, z, n
        rz_t = sigmoid(xw_t[:, : 2 * H] + hw_t[:, : 2 * H])  # r and z in one call
        r_t, z_t = rz_t[:, :H], rz_t[:, H:]
        hn_t = hw_t[:, 2 * H : 3 * H]
        n_t = np.tanh(xw_t[:, 2 * H : 3 * H] + r_t * hn_t)
        h_t = (1.0 - z_t) * n_t + z_t * h_prev
        return GRUStep(h_prev, r_t, z_t, n_t, hn_t, h_t)

    def step_backward(self, d_h, d_c_next, s: GRUStep, p):
        d_n = d_h * (1.0 - s.z_t)
        d_z = d_h * (s.h_prev - s.n_t)
        d_an = d_n * (1.0 - s.n_t * s.n_t)  # pre-activation of n_t
        d_r = d_an * s.hn_t
        d_ar = d_r * s.r_t * (1.0 - s.r_t)
        d_az = d_z * s.z_t * (1.0 - s.z_t)
        d_xw = np.concatenate([d_ar, d_az, d_an], axis=1)
        d_hw = np.concatenate([d_ar, d_az, d_an * s.r_t], axis=1)  # reset applies after W_hn h + b_hn
        d_h_prev = d_h * s.z_t + d_hw @ p["weight_hh"]
        return d_xw, d_hw, d_h_prev, None, None

    def _stack_gates(self, steps):
        return {
            "reset": np.stack([s.r_t for s in steps]),
            "update": np.stack([s.z_t for s in steps]),
            "new": np.stack([s.n_t for s in steps]),
        }


CELL_CLASSES = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
