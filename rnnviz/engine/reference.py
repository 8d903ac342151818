"""The textbook step: RNN, LSTM, GRU and the 1997 LSTM (no forget gate), one step forward and its backward,
one equation a line.

This is the code behind the lessons' equations, written to be read beside them (the shape of d2l's and
cs231n's ``lstm_step_forward`` / ``lstm_step_backward``), and the oracle the tests hold the fast engine
(``cells.py``) to in float64. It is slow on purpose: nothing is fused, reordered or preallocated.

Parameters are PyTorch's, names and layout (``torch.nn.RNN/LSTM/GRU(D, H).state_dict()`` without ``_l0``)::

    weight_ih (G*H, D)   weight_hh (G*H, H)   bias_ih (G*H,)   bias_hh (G*H,)
    G = 1 (RNN), 4 (LSTM: rows i, f, g, o), 3 (GRU: rows r, z, n)

One step works on a batch of row vectors: ``x_t`` ``(B, D)``, ``h_prev``, ``c_prev`` ``(B, H)``, so
``x_t @ W_ih.T`` is W_ih x_t for every row. Forward returns the new state and a ``cache`` (a dict of what
backward needs); backward takes the total gradient reaching the step's output state and returns the
gradients of its inputs and parameters. ``run_sequence`` runs a whole sequence forward and back through time.
"""

from __future__ import annotations

import numpy as np


def sigmoid(a):
    """1 / (1 + exp(-a)), written through tanh so that no input overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _unpack(params):
    return params["weight_ih"], params["weight_hh"], params["bias_ih"], params["bias_hh"]


def _param_grads(d_ih, d_hh, x_t, h_prev):
    """Parameter gradients of one step from dL/d(W_ih x_t + b_ih) ``d_ih`` and dL/d(W_hh h_prev + b_hh) ``d_hh``,
    both (B, G*H), summed over the batch."""
    return {"weight_ih": d_ih.T @ x_t, "weight_hh": d_hh.T @ h_prev, "bias_ih": d_ih.sum(0), "bias_hh": d_hh.sum(0)}


# --------------------------------------------------------------------------------------------------
# Elman RNN (torch.nn.RNN)


def rnn_step_forward(x_t, h_prev, params, nonlinearity="tanh"):
    """x_t (B, D), h_prev (B, H) -> h_t (B, H), cache."""
    W_ih, W_hh, b_ih, b_hh = _unpack(params)
    a_t = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # (B, H)
    h_t = np.tanh(a_t) if nonlinearity == "tanh" else np.maximum(a_t, 0.0)
    return h_t, {"x_t": x_t, "h_prev": h_prev, "h_t": h_t, "nonlinearity": nonlinearity}


def rnn_step_backward(d_h, cache, params):
    """d_h (B, H): the total dL/dh_t -> d_x (B, D), d_h_prev (B, H), d_params."""
    W_ih, W_hh, _, _ = _unpack(params)
    h_t = cache["h_t"]
    d_a = d_h * (1.0 - h_t**2) if cache["nonlinearity"] == "tanh" else d_h * (h_t > 0)  # (B, H)
    d_x = d_a @ W_ih
    d_h_prev = d_a @ W_hh
    return d_x, d_h_prev, _param_grads(d_a, d_a, cache["x_t"], cache["h_prev"])


# --------------------------------------------------------------------------------------------------
# LSTM (torch.nn.LSTM): gate rows i, f, g, o


def lstm_step_forward(x_t, h_prev, c_prev, params):
    """x_t (B, D), h_prev and c_prev (B, H) -> (h_t, c_t) (B, H) each, cache."""
    W_ih, W_hh, b_ih, b_hh = _unpack(params)
    H = h_prev.shape[-1]
    a_t = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # (B, 4H)
    i_t = sigmoid(a_t[:, 0:H])  # input gate
    f_t = sigmoid(a_t[:, H : 2 * H])  # forget gate
    g_t = np.tanh(a_t[:, 2 * H : 3 * H])  # candidate
    o_t = sigmoid(a_t[:, 3 * H : 4 * H])  # output gate
    c_t = f_t * c_prev + i_t * g_t
    h_t = o_t * np.tanh(c_t)
    cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "i_t": i_t, "f_t": f_t, "g_t": g_t, "o_t": o_t}
    cache.update(c_t=c_t, h_t=h_t)
    return (h_t, c_t), cache


def lstm_step_backward(d_h, d_c, cache, params):
    """d_h (B, H): the total dL/dh_t; d_c (B, H): dL/dc_t arriving from c_{t+1} and from outside, not yet
    through h_t -> d_x (B, D), d_h_prev, d_c_prev (B, H), d_params."""
    W_ih, W_hh, _, _ = _unpack(params)
    i_t, f_t, g_t, o_t, c_t = cache["i_t"], cache["f_t"], cache["g_t"], cache["o_t"], cache["c_t"]
    tanh_c_t = np.tanh(c_t)
    d_c_t = d_c + d_h * o_t * (1.0 - tanh_c_t**2)  # the total dL/dc_t (run_sequence repeats this line)
    d_o = d_h * tanh_c_t
    d_i = d_c_t * g_t
    d_f = d_c_t * cache["c_prev"]
    d_g = d_c_t * i_t
    d_c_prev = d_c_t * f_t
    d_a_i = d_i * i_t * (1.0 - i_t)
    d_a_f = d_f * f_t * (1.0 - f_t)
    d_a_g = d_g * (1.0 - g_t**2)
    d_a_o = d_o * o_t * (1.0 - o_t)
    d_a = np.concatenate([d_a_i, d_a_f, d_a_g, d_a_o], axis=1)  # (B, 4H), PyTorch's order
    d_x = d_a @ W_ih
    d_h_prev = d_a @ W_hh
    return d_x, d_h_prev, d_c_prev, _param_grads(d_a, d_a, cache["x_t"], cache["h_prev"])


# --------------------------------------------------------------------------------------------------
# The 1997 LSTM (Hochreiter & Schmidhuber): no forget gate; gate rows i, g, o


def lstm1997_step_forward(x_t, h_prev, c_prev, params):
    """x_t (B, D), h_prev and c_prev (B, H) -> (h_t, c_t) (B, H) each, cache."""
    W_ih, W_hh, b_ih, b_hh = _unpack(params)
    H = h_prev.shape[-1]
    a_t = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh  # (B, 3H)
    i_t = sigmoid(a_t[:, 0:H])  # input gate
    g_t = np.tanh(a_t[:, H : 2 * H])  # candidate (the paper's g: 4 sigmoid - 2)
    o_t = sigmoid(a_t[:, 2 * H : 3 * H])  # output gate
    c_t = c_prev + i_t * g_t  # the constant error carousel: no forget gate
    h_t = o_t * np.tanh(c_t)  # (the paper's h: 2 sigmoid - 1)
    cache = {"x_t": x_t, "h_prev": h_prev, "c_prev": c_prev, "i_t": i_t, "g_t": g_t, "o_t": o_t}
    cache.update(c_t=c_t, h_t=h_t)
    return (h_t, c_t), cache


def lstm1997_step_backward(d_h, d_c, cache, params):
    """As ``lstm_step_backward``, without the forget gate: d_c_prev = d_c_t, carried back unchanged."""
    W_ih, W_hh, _, _ = _unpack(params)
    i_t, g_t, o_t, c_t = cache["i_t"], cache["g_t"], cache["o_t"], cache["c_t"]
    tanh_c_t = np.tanh(c_t)
    d_c_t = d_c + d_h * o_t * (1.0 - tanh_c_t**2)
    d_a_i = d_c_t * g_t * i_t * (1.0 - i_t)
    d_a_g = d_c_t * i_t * (1.0 - g_t**2)
    d_a_o = d_h * tanh_c_t * o_t * (1.0 - o_t)
    d_c_prev = d_c_t
    d_a = np.concatenate([d_a_i, d_a_g, d_a_o], axis=1)  # (B, 3H)
    d_x = d_a @ W_ih
    d_h_prev = d_a @ W_hh
    return d_x, d_h_prev, d_c_prev, _param_grads(d_a, d_a, cache["x_t"], cache["h_prev"])


# --------------------------------------------------------------------------------------------------
# GRU (torch.nn.GRU): gate rows r, z, n; b_hn inside the reset product


def gru_step_forward(x_t, h_prev, params):
    """x_t (B, D), h_prev (B, H) -> h_t (B, H), cache."""
    W_ih, W_hh, b_ih, b_hh = _unpack(params)
    H = h_prev.shape[-1]
    gi = x_t @ W_ih.T + b_ih  # (B, 3H): W_ir x_t + b_ir, W_iz x_t + b_iz, W_in x_t + b_in
    gh = h_prev @ W_hh.T + b_hh  # (B, 3H): W_hr h_prev + b_hr, W_hz h_prev + b_hz, W_hn h_prev + b_hn
    r_t = sigmoid(gi[:, 0:H] + gh[:, 0:H])  # reset gate
    z_t = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])  # update gate
    hn_t = gh[:, 2 * H : 3 * H]  # W_hn h_prev + b_hn: the reset gate multiplies it after the product
    n_t = np.tanh(gi[:, 2 * H : 3 * H] + r_t * hn_t)  # candidate
    h_t = (1.0 - z_t) * n_t + z_t * h_prev
    return h_t, {"x_t": x_t, "h_prev": h_prev, "r_t": r_t, "z_t": z_t, "n_t": n_t, "hn_t": hn_t, "h_t": h_t}


def gru_step_backward(d_h, cache, params):
    """d_h (B, H): the total dL/dh_t -> d_x (B, D), d_h_prev (B, H), d_params."""
    W_ih, W_hh, _, _ = _unpack(params)
    h_prev, r_t, z_t, n_t, hn_t = cache["h_prev"], cache["r_t"], cache["z_t"], cache["n_t"], cache["hn_t"]
    d_n = d_h * (1.0 - z_t)
    d_z = d_h * (h_prev - n_t)
    d_a_n = d_n * (1.0 - n_t**2)  # dL/d(W_in x_t + b_in + r_t * hn_t)
    d_r = d_a_n * hn_t
    d_hn = d_a_n * r_t
    d_a_r = d_r * r_t * (1.0 - r_t)
    d_a_z = d_z * z_t * (1.0 - z_t)
    d_gi = np.concatenate([d_a_r, d_a_z, d_a_n], axis=1)  # (B, 3H)
    d_gh = np.concatenate([d_a_r, d_a_z, d_hn], axis=1)  # (B, 3H)
    d_x = d_gi @ W_ih
    d_h_prev = d_h * z_t + d_gh @ W_hh
    return d_x, d_h_prev, _param_grads(d_gi, d_gh, cache["x_t"], h_prev)


# --------------------------------------------------------------------------------------------------
# A whole sequence, forward and back through time


def run_sequence(kind, params, x, h0=None, c0=None, d_h=None, d_c=None, nonlinearity="tanh", dtype=np.float64):
    """Forward over ``x`` (T, B, D) from ``h0`` (B, H) (and ``c0`` for the LSTM), then backpropagation through
    time with ``d_h`` (T, B, H), the dL/dh_t arriving from outside the recurrence (and ``d_c``, LSTM only,
    optional). Everything runs in ``dtype``: float64 for an oracle (float32 only to time it against the
    fast engine, benchmarks/bench_reference.py). Unbatched ``x`` (T, D), ``h0`` (H,) ... give unbatched results.

    Returns ``(forward, grads)``. ``forward`` maps each name of the steps' caches (``h_t``, ``c_t``, ``i_t``,
    ``r_t``, ...) to its values over the sequence, (T, B, H). ``grads`` (None without ``d_h``) holds
    ``params`` and ``x``, ``h0``, ``c0`` as ``cells.Grads`` does, ``h``: the total dL/dh_t, and ``c``: the
    total dL/dc_t (LSTM), both (T, B, H).
    """
    params = {name: np.asarray(value, dtype) for name, value in params.items()}
    batched = np.ndim(x) == 3
    x = np.asarray(x, dtype) if batched else np.asarray(x, dtype)[:, None]
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    h = np.zeros((B, H), dtype) if h0 is None else np.asarray(h0, dtype).reshape(B, H)
    c = np.zeros((B, H), dtype) if c0 is None else np.asarray(c0, dtype).reshape(B, H)
    caches = []
    for t in range(T):
        if kind == "rnn":
            h, cache = rnn_step_forward(x[t], h, params, nonlinearity)
        elif kind == "lstm":
            (h, c), cache = lstm_step_forward(x[t], h, c, params)
        elif kind == "lstm1997":
            (h, c), cache = lstm1997_step_forward(x[t], h, c, params)
        else:
            h, cache = gru_step_forward(x[t], h, params)
        caches.append(cache)
    unbatch = (lambda a: a) if batched else (lambda a: a[:, 0])
    names = [k for k, v in caches[0].items() if isinstance(v, np.ndarray) and k not in ("x_t", "h_prev", "c_prev")]
    forward = {k: unbatch(np.stack([cache[k] for cache in caches])) for k in names}
    if d_h is None:
        return forward, None

    d_h = np.asarray(d_h, dtype).reshape(T, B, H)
    d_c = np.zeros((T, B, H), dtype) if d_c is None else np.asarray(d_c, dtype).reshape(T, B, H)
    d_params = {name: np.zeros_like(value) for name, value in params.items()}
    d_x, d_h_total, d_c_total = np.zeros_like(x), np.zeros((T, B, H), dtype), np.zeros((T, B, H), dtype)
    d_h_next, d_c_next = np.zeros((B, H), dtype), np.zeros((B, H), dtype)  # what reaches step t's state from step t+1
    for t in reversed(range(T)):
        d_h_total[t] = d_h[t] + d_h_next
        if kind == "rnn":
            d_x[t], d_h_next, d_p = rnn_step_backward(d_h_total[t], caches[t], params)
        elif kind in ("lstm", "lstm1997"):
            d_c_in = d_c[t] + d_c_next
            o_t, c_t = caches[t]["o_t"], caches[t]["c_t"]
            d_c_total[t] = d_c_in + d_h_total[t] * o_t * (1.0 - np.tanh(c_t) ** 2)  # lstm_step_backward's d_c_t
            step_backward = lstm_step_backward if kind == "lstm" else lstm1997_step_backward
            d_x[t], d_h_next, d_c_next, d_p = step_backward(d_h_total[t], d_c_in, caches[t], params)
        else:
            d_x[t], d_h_next, d_p = gru_step_backward(d_h_total[t], caches[t], params)
        for name in d_params:
            d_params[name] += d_p[name]
    un0 = (lambda a: a) if batched else (lambda a: a[0])
    grads = {
        "params": d_params,
        "x": unbatch(d_x),
        "h": unbatch(d_h_total),
        "c": unbatch(d_c_total) if kind in ("lstm", "lstm1997") else None,
        "h0": un0(d_h_next),
        "c0": un0(d_c_next) if kind in ("lstm", "lstm1997") else None,
    }
    return forward, grads
