"""Gradient flow: how much of a loss at the last step reaches each earlier step, in each model."""

import numpy as np
import streamlit as st

from rnnviz import experiments, figures, inputs, ui
from rnnviz.theme import COLORS

ui.setup_page(
    "gradient",
    "Gradient flow",
    "📉",
    "Learning to use something seen k steps ago needs a gradient that travels k steps back. Here a loss sits "
    "at the last step and the engine backpropagates it through the RNN, the LSTM and the GRU, all fed the same "
    "input. The curves are measured; the grey dash-dot curves are theory, drawn beside them.",
)

CLIP_OPTIONS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
SCENARIOS = {
    "Vanishing (tanh, ρ = 0.9)": dict(spectral_radius=0.9, nonlinearity="tanh", forget_bias=1.0, dtype="float64"),
    "LSTM keeps it (forget bias 5)": dict(spectral_radius=1.0, nonlinearity="tanh", forget_bias=5.0, dtype="float64"),
    "Exploding (relu, ρ = 1.5, float32)": dict(
        spectral_radius=1.5, nonlinearity="relu", forget_bias=1.0, length=300, dtype="float32"
    ),
}
PRESETS = tuple(p for p in inputs.PRESETS if p != "custom")
S = ui.Settings(
    "gradient",
    [
        ui.Setting("spectral_radius", 1.0, low=0.25, high=2.0),
        ui.Setting("forget_bias", 1.0, low=-3.0, high=6.0),
        ui.Setting("length", 200, low=10, high=500),
        ui.Setting("hidden_size", 16, low=1, high=64),
        ui.Setting("nonlinearity", "tanh", options=("tanh", "relu")),
        ui.Setting("preset", "pulse_noise", options=PRESETS),
        ui.Setting("seed", 0, low=0, high=9999),
        ui.Setting("dtype", "float64", options=("float64", "float32")),
        ui.Setting("clip", 1.0, options=CLIP_OPTIONS),
    ],
)


def apply_scenario(values: dict) -> None:
    S.update(values)


with st.sidebar:
    st.markdown("### Try a scenario")
    for label, values in SCENARIOS.items():
        st.button(label, on_click=apply_scenario, args=(values,), width="stretch")
    st.markdown("### Controls")
    st.slider(
        "Spectral radius of W_hh (ρ)",
        0.25,
        2.0,
        step=0.05,
        key=S.key("spectral_radius"),
        help="Every recurrent weight block is rescaled so its largest eigenvalue has this size.",
    )
    st.slider("Forget-gate bias (LSTM; GRU update gate)", -3.0, 6.0, step=0.5, key=S.key("forget_bias"))
    st.slider("Sequence length T", 10, 500, step=10, key=S.key("length"))
    st.slider("Hidden units", 1, 64, key=S.key("hidden_size"))
    st.radio("RNN activation", ["tanh", "relu"], key=S.key("nonlinearity"), horizontal=True)
    st.selectbox("Input", PRESETS, format_func=inputs.PRESETS.get, key=S.key("preset"))
    st.number_input("Seed", min_value=0, max_value=9999, step=1, key=S.key("seed"))
    st.radio(
        "Number format",
        ["float64", "float32"],
        key=S.key("dtype"),
        horizontal=True,
        help="float32 is what training usually runs in: it overflows near 3·10³⁸ instead of 10³⁰⁸.",
    )

S.sync_url()
config = experiments.CellConfig(
    hidden_size=S["hidden_size"],
    length=S["length"],
    preset=S["preset"],
    seed=int(S["seed"]),
    forget_bias=S["forget_bias"],
    spectral_radius=S["spectral_radius"],
    nonlinearity=S["nonlinearity"],
    dtype=S["dtype"],
)


@st.cache_data(max_entries=32, show_spinner="Backpropagating through three models...")
def study(config: experiments.CellConfig) -> experiments.GradientStudy:
    return experiments.gradient_study(config)


@st.cache_data(max_entries=32, show_spinner="Training the RNN twice...")
def clip_study(config: experiments.CellConfig, threshold: float):
    return experiments.clipping_study(config, threshold)


def padded(lag_first: np.ndarray, oldest_first: bool = False) -> np.ndarray:
    """Lag-first values over the whole sequence: entries beyond a loss that was moved earlier (because
    the forward pass overflowed) have no gradient and stay blank. ``oldest_first`` gives time order."""
    out = np.full(S["length"], np.nan)
    out[: lag_first.shape[0]] = lag_first[::-1] if oldest_first else lag_first
    return out


result = ui.guarded(study, config)
if result is not None:
    models = result.models
    rnn, lstm, gru = models["rnn"], models["lstm"], models["gru"]

    # ---- the readout ----------------------------------------------------------------------------------
    st.subheader("Regime and memory horizon")
    st.caption(
        "The factor is the fitted change of the gradient norm per step back (below 1: vanishing, above 1: "
        "exploding). The horizon is the first lag where the gradient drops below 1/1000 of its start."
    )
    cols = [c for row in (st.columns(2), st.columns(2)) for c in row]
    rows = [
        ("RNN: dL/dh", rnn.regime, rnn.h_norm),
        ("LSTM: dL/dh", lstm.regime, lstm.h_norm),
        ("LSTM: dL/dc (cell path)", lstm.c_regime, lstm.c_norm),
        ("GRU: dL/dh", gru.regime, gru.h_norm),
    ]
    for col, (name, regime, norms) in zip(cols, rows, strict=True):
        if regime.horizon is not None:
            horizon = f"gone after {regime.horizon} steps"
        elif regime.overflow_lag is not None:
            horizon = f"overflowed at lag {regime.overflow_lag}"
        else:
            horizon = f"×{norms[-1] / norms[0]:.1e} over {norms.shape[0] - 1} steps"
        col.metric(
            name,
            regime.label,
            f"×{regime.factor:.3f} per step; {horizon}",
            delta_color="off",
            delta_arrow="off",
            border=True,
        )
    for m in models.values():
        if m.state_overflow_step is not None:
            st.warning(
                f"The {ui.KIND_LABELS[m.kind]}'s hidden state itself overflowed in the forward pass at step "
                f"{m.state_overflow_step} ({S['dtype']} tops out near "
                f"{'3·10³⁸' if S['dtype'] == 'float32' else '2·10³⁰⁸'}). A loss on an infinite state has "
                f"no gradient, so for this model the loss sits at step {m.loss_step}, the last finite one.",
                icon="💥",
            )

    # ---- gradient against lag ---------------------------------------------------------------------------
    st.subheader("How far back does the gradient reach?")
    st.markdown(
        "Each curve is $\\lVert \\partial L / \\partial h_{T-k} \\rVert$ for a loss $L = u^\\top h_T$ at the last "
        "step, measured by backpropagation, against the lag $k$. For the LSTM, the orange curve is the gradient "
        "on the cell state $\\lVert \\partial L / \\partial c_{T-k} \\rVert$."
    )
    measured = {
        "RNN  dL/dh": (rnn.h_norm, *figures.model_style("rnn")),
        "LSTM dL/dh": (lstm.h_norm, *figures.model_style("lstm")),
        "LSTM dL/dc": (lstm.c_norm, COLORS["c"], "solid"),
        "GRU  dL/dh": (gru.h_norm, *figures.model_style("gru")),
    }
    theory = {"RNN bound (γσ_max)^k": rnn.theory, "LSTM Π forget gates": lstm.theory}
    overflow = {
        name: regime.overflow_lag
        for name, regime in (("RNN  dL/dh", rnn.regime), ("LSTM dL/dh", lstm.regime), ("GRU  dL/dh", gru.regime))
        if regime.overflow_lag is not None
    }
    ui.show_figure(figures.lag_figure(measured, theory, overflow), key="gradient.lag")

    with st.expander("Why the product shrinks or grows (theory)", expanded=False):
        st.markdown("Backpropagation through the RNN multiplies by one Jacobian per step:")
        st.latex(
            r"\frac{\partial L}{\partial h_{T-k}} = \frac{\partial L}{\partial h_T}"
            r"\prod_{s=T-k+1}^{T} \operatorname{diag}\big(\phi'(a_s)\big)\, W_{hh}"
        )
        st.markdown("so its size is at most the product of the factors' norms (the grey RNN bound):")
        st.latex(
            r"\Big\lVert \frac{\partial L}{\partial h_{T-k}} \Big\rVert \le "
            r"\Big\lVert \frac{\partial L}{\partial h_T} \Big\rVert\, (\gamma\, \sigma_{\max}(W_{hh}))^k,"
            r"\qquad \gamma = \max \phi' = 1 \text{ for tanh and relu}"
        )
        st.markdown(
            "The LSTM's cell state is updated by addition, $c_t = f_t \\odot c_{t-1} + i_t \\odot g_t$, so "
            "along the cell-state path each step back multiplies only by the forget gate (the grey LSTM "
            "curve, which ignores the paths through the gates):"
        )
        st.latex(
            r"\frac{\partial c_t}{\partial c_{t-1}} \Big|_{\text{cell path}} = \operatorname{diag}(f_t)"
            r"\quad\Rightarrow\quad \frac{\partial L}{\partial c_{T-k}} \approx "
            r"\frac{\partial L}{\partial c_T} \odot \prod_{s=T-k+1}^{T} f_s"
        )
        st.markdown(
            "With $f$ near 1 nothing shrinks, which is how the LSTM carries a gradient over hundreds of "
            "steps. A tanh RNN cannot keep $\\gamma\\sigma_{\\max}$ near 1 without also saturating: with "
            "ρ above 1 its units saturate, $\\tanh'$ drops, and the gradient vanishes anyway."
        )

    # ---- which steps reach the loss ---------------------------------------------------------------------
    st.subheader("Which steps can still change the loss?")
    st.caption(
        "Each row is a model; each column a time step (the loss is at the right edge). Colour is "
        "log₁₀ of the gradient's size there: yellow reaches the loss, dark purple is cut off."
    )


    reach = {
        "RNN h": padded(rnn.h_norm, oldest_first=True),
        "LSTM h": padded(lstm.h_norm, oldest_first=True),
        "LSTM c": padded(lstm.c_norm, oldest_first=True),
        "GRU h": padded(gru.h_norm, oldest_first=True),
        "RNN input x": padded(rnn.x_norm, oldest_first=True),
        "LSTM input x": padded(lstm.x_norm, oldest_first=True),
        "GRU input x": padded(gru.x_norm, oldest_first=True),
    }
    ui.show_figure(figures.reach_heatmap(reach), key="gradient.reach")

    # ---- eigenvalues and clipping -----------------------------------------------------------------------
    st.subheader("Eigenvalues of the RNN's W_hh")
    left, right = st.columns([3, 2])
    with left:
        ui.show_figure(figures.eigen_figure(result.eigenvalues, result.sigma_max), key="gradient.eig")
    with right:
        st.markdown(
            "Each dot is an eigenvalue of the recurrent matrix; the slider **ρ** sets the largest one's distance "
            "from 0. Pascanu et al. (2013): if the largest **singular** value σ_max is below 1/γ (γ = 1 for tanh "
            "and relu, so the unit circle), the gradient must vanish. Above it, it *may* explode, but need not: a "
            "tanh RNN saturates, and saturated units pass almost no gradient."
        )
        st.metric(
            "σ_max(W_hh)",
            f"{result.sigma_max:.2f}",
            "vanishing guaranteed" if result.sigma_max < 1 else "explosion possible",
            delta_color="off",
            delta_arrow="off",
        )

    st.subheader("Clipping an exploding gradient")
    st.caption(
        f"The same plain RNN (in float64, on the first {experiments.CLIP_LENGTH} steps of the input) trained "
        "by SGD to reach a fixed target at the last step, twice: once as is, once with the gradient's norm "
        "clipped to the threshold before each update."
    )
    threshold = st.select_slider("Clipping threshold", options=CLIP_OPTIONS, key=S.key("clip"))
    clip = ui.guarded(clip_study, config, float(threshold))
    if clip is not None:
        ui.show_figure(
            figures.clip_figure(clip.norm_plain, clip.loss_plain, clip.norm_clipped, clip.loss_clipped, clip.threshold),
            key="gradient.clipfig",
        )
        blew_up = not np.all(np.isfinite(clip.loss_plain))
        st.caption(
            "Without clipping the run overflowed (its curve stops); with clipping it kept training."
            if blew_up
            else "Neither run overflowed at these settings; try the Exploding scenario."
        )

    columns = {"lag": np.arange(S["length"])}
    for kind, m in models.items():
        columns[f"{kind}_dL_dh"] = padded(m.h_norm)
        columns[f"{kind}_dL_dx"] = padded(m.x_norm)
    columns["lstm_dL_dc"] = padded(lstm.c_norm)
    columns["theory_rnn_bound"] = padded(rnn.theory)
    columns["theory_lstm_forget_path"] = padded(lstm.theory)
    st.download_button(
        "Download the curves (CSV)", ui.csv_bytes(columns), file_name="rnnviz_gradients.csv", mime="text/csv"
    )
