"""Gradient flow: how much of a loss at the last step reaches each earlier step, in each model."""

import numpy as np
import streamlit as st

from rnnviz.app import turns, ui
from rnnviz.engine import cells, inputs, studies
from rnnviz.figures import common
from rnnviz.figures import gradient_flow as gfig
from rnnviz.figures.theme import LINE_COLORS, MODEL_COLORS, MODEL_DASH, MODEL_SYMBOLS, TEXT_COLORS

ui.setup_page(
    "gradient",
    "Gradient flow",
    "📉",
    "Learning to use something seen k steps ago needs a gradient that travels k steps back. Here a loss sits "
    "at the last step and the engine backpropagates it through the RNN, the LSTM, the GRU and the 1997 LSTM "
    "(no forget gate), all fed the same input. The thick curves are measured; thin dash-dot curves are theory, "
    "drawn beside them and named so.",
)

CLIP_OPTIONS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
PRESETS = tuple(p for p in inputs.PRESETS if p != "custom")
# The default view shows the page's point at once: the LSTM's cell path keeps the gradient (forget bias 5)
# while the RNN's vanishes (at lag 100: 3.7e-1 against 1.8e-8 at seed 0).
DEFAULTS = dict(
    spectral_radius=1.0,
    forget_bias=5.0,
    length=200,
    hidden_size=16,
    nonlinearity="tanh",
    preset="pulse_noise",
    seed=0,
    dtype="float64",
    clip=3.0,
    clipping=False,  # the clipping section folded: it trains the RNN twice, so it runs only when open
)
# Each scenario sets every setting the page's figures depend on, so it shows the same whatever came before.
SCENARIOS = {
    "Start view (the defaults)": DEFAULTS,
    "Vanishing (tanh, ρ = 0.9, forget bias 1)": {**DEFAULTS, "spectral_radius": 0.9, "forget_bias": 1.0},
    "LSTM keeps it over 500 steps (forget bias 6)": {**DEFAULTS, "forget_bias": 6.0, "length": 500},
    "Exploding (relu, ρ = 1.5, float32)": {
        **DEFAULTS,
        "spectral_radius": 1.5,
        "nonlinearity": "relu",
        "forget_bias": 1.0,
        "length": 300,
        "dtype": "float32",
        "clipping": True,  # what explodes is what clipping is for: its section opens
    },
}
S = ui.Settings(
    "gradient",
    [
        ui.Setting("spectral_radius", DEFAULTS["spectral_radius"], low=0.25, high=2.0),
        ui.Setting("forget_bias", DEFAULTS["forget_bias"], low=-3.0, high=6.0),
        ui.Setting("length", DEFAULTS["length"], low=10, high=500),
        ui.Setting("hidden_size", DEFAULTS["hidden_size"], low=1, high=64),
        ui.Setting("nonlinearity", DEFAULTS["nonlinearity"], options=("tanh", "relu")),
        ui.Setting("preset", DEFAULTS["preset"], options=PRESETS),
        ui.Setting("seed", DEFAULTS["seed"], low=0, high=9999),
        ui.Setting("dtype", DEFAULTS["dtype"], options=("float64", "float32")),
        ui.Setting("clip", DEFAULTS["clip"], options=CLIP_OPTIONS),
        ui.Setting("clipping", DEFAULTS["clipping"]),
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
        help="Every recurrent weight block is rescaled so that its largest |eigenvalue| is ρ. Its largest "
        "singular value σ_max, which the theory uses, is at least ρ (shown under the eigenvalue plot).",
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
config = studies.CellConfig(
    hidden_size=S["hidden_size"],
    length=S["length"],
    preset=S["preset"],
    seed=int(S["seed"]),
    forget_bias=S["forget_bias"],
    spectral_radius=S["spectral_radius"],
    nonlinearity=S["nonlinearity"],
    dtype=S["dtype"],
)


@st.cache_data(max_entries=32, show_spinner="Backpropagating through four models...")
def study(config: studies.CellConfig) -> studies.GradientStudy:  # called in the page's turn (below)
    return studies.gradient_study(config, cells.ALL_KINDS)


@st.cache_data(max_entries=32, show_spinner="Training the RNN twice...")
def clip_study(config: studies.CellConfig, threshold: float) -> studies.ClipStudy:  # in the page's turn too
    return studies.clipping_study(config, threshold)


def padded(lag_first: np.ndarray, oldest_first: bool = False) -> np.ndarray:
    """Lag-first values over the whole sequence: entries beyond a loss that was moved earlier (because
    the forward pass overflowed) have no gradient and stay blank. ``oldest_first`` gives time order."""
    out = np.full(S["length"], np.nan)
    out[: lag_first.shape[0]] = lag_first[::-1] if oldest_first else lag_first
    return out


def at_lag(norms: np.ndarray, lag: int) -> float:
    return float(norms[lag]) if lag < norms.shape[0] else float("nan")


def show_theory() -> None:
    """Why the product shrinks or grows: the equations behind the lag figure (theory, labelled so)."""
    st.markdown("Backpropagation through the RNN multiplies by one Jacobian per step:")
    st.latex(
        r"\frac{\partial L}{\partial h_{T-k}} = \frac{\partial L}{\partial h_T}"
        r"\prod_{s=T-k+1}^{T} \operatorname{diag}\big(\phi'(a_s)\big)\, W_{hh}"
    )
    st.markdown("so its size is at most the product of the factors' norms (the RNN bound):")
    st.latex(
        r"\Big\lVert \frac{\partial L}{\partial h_{T-k}} \Big\rVert \le "
        r"\Big\lVert \frac{\partial L}{\partial h_T} \Big\rVert\, (\gamma\, \sigma_{\max}(W_{hh}))^k,"
        r"\qquad \gamma = \max \phi' = 1 \text{ for tanh and relu}"
    )
    st.markdown(
        "The LSTM's cell state is updated by addition, $c_t = f_t \\odot c_{t-1} + i_t \\odot g_t$, so "
        "along the cell-state path each step back multiplies only by the forget gate (the LSTM theory "
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
    st.markdown(
        "The 1997 LSTM (Hochreiter & Schmidhuber) had no forget gate: $c_t = c_{t-1} + i_t \\odot g_t$, so "
        "along its cell state each step back multiplies by exactly 1, the *constant error carousel* (its card "
        "and the caption under the figure read that factor from the engine). Nothing along c is forgotten, "
        "neither the gradient nor the state, which can grow without bound on a long input: the forget gate "
        "came with Gers, Schmidhuber & Cummins (2000), *Learning to forget*."
    )


def show_clipping(clip: studies.ClipStudy, threshold: float) -> None:
    """The clipping section's figure and its words, from the two runs of ``clip``."""
    steps = clip.loss_plain.shape[0]
    st.caption(
        f"The same plain RNN (in float64) trained by SGD (learning rate {clip.lr:g}, {steps} updates) to "
        f"reach a fixed target at the last step, on the first {clip.length} steps of the input: the longest "
        f"start (up to {studies.CLIP_LENGTH}) whose first gradient is at most "
        f"{studies.CLIP_FIRST_NORM:g} (here {clip.first_norm:.2g}), so that both runs can be compared. "
        "Twice: once as is, once with the gradient's norm clipped to the threshold before each update."
    )
    clip_fig = ui.shared_figure(
        ("gradient.clip", config, float(threshold)),
        lambda: gfig.clip_figure(
            clip.norm_plain, clip.loss_plain, clip.norm_clipped, clip.loss_clipped, clip.threshold
        ),
    )
    ui.show_figure(clip_fig, key="gradient.clipfig")
    plain, clipped = clip.loss_plain, clip.loss_clipped
    finite = np.isfinite(plain)
    words = []
    if not finite.all():
        words.append(f"Without clipping the run overflowed after update {int(np.argmin(finite)) - 1}.")
    else:
        jumps = plain[1:] / plain[:-1]
        worst = int(np.argmax(jumps))
        if jumps[worst] > 1:
            words.append(
                f"Without clipping the loss jumped from {plain[worst]:.3g} to {plain[worst + 1]:.3g} "
                f"at update {worst + 1}."
            )
        zero = np.nonzero(clip.norm_plain == 0)[0]
        if zero.size and np.all(clip.norm_plain[zero[0] :] == 0):
            words.append(f"Its gradient is exactly 0 from update {int(zero[0])} on, which a log axis cannot show.")
        dead = S["hidden_size"] * 0.5**2 / 2  # the loss of h = 0 against the target 0.5
        if S["nonlinearity"] == "relu" and abs(plain[-1] - dead) < 1e-3 * dead:
            words.append(f"It ends stuck at {plain[-1]:.3g}, the loss of an all-zero state: every relu unit died.")
        words.append(f"After {steps} updates: loss {plain[-1]:.3g} without clipping, {clipped[-1]:.3g} with it.")
    if not finite.all():
        words.append(f"With clipping, the loss after {steps} updates is {clipped[-1]:.3g}.")
    if np.all(clip.norm_clipped[np.isfinite(clip.norm_clipped)] <= clip.threshold):
        words.append("The gradient never exceeded the threshold, so clipping changed nothing.")
    st.caption(" ".join(words))


present = ui.presenting()
# The page's own work takes its turn with the other sessions' (rnnviz/app/turns.py): thirty students asking for
# thirty new views get them one after another, the first after one view's cost, not all thirty at the end.
with turns.PAGES:
    result = ui.guarded(study, config)
    if result is not None:
        models = result.models
        rnn, lstm, gru, old = models["rnn"], models["lstm"], models["gru"], models["lstm1997"]

        # On a projector the lag figure comes first (under the title), its words and the readout under it.
        first, second = st.container(), st.container()
        readout_box, lag_box = (second, first) if present else (first, second)
        with readout_box:
            # ---- the readout ----------------------------------------------------------------------------------
            st.subheader("Regime and memory horizon")
            st.caption(gfig.CARD_RULES)
            rows = [  # the hidden states on the first row, the two cell-state paths (with and without f) on the second
                ("RNN: dL/dh", rnn.h_norm),
                ("LSTM: dL/dh", lstm.h_norm),
                ("GRU: dL/dh", gru.h_norm),
                ("LSTM: dL/dc (cell path)", lstm.c_norm),
                ("LSTM 1997: dL/dc (no forget gate)", old.c_norm),
            ]
            cols = [c for row in (st.columns(3), st.columns(3)) for c in row][: len(rows)]
            for col, (name, norms) in zip(cols, rows, strict=True):
                card = gfig.regime_card(norms)  # from the curve the lag figure draws
                with col.container(border=True):
                    st.metric(name, card.word)
                    st.caption(card.detail)  # a metric's delta would cut it short
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
        lag_box.subheader("How far back does the gradient reach?", anchor="how-far-back")
        (second if present else lag_box).markdown(
            "Each curve is $\\lVert \\partial L / \\partial h_{T-k} \\rVert$ for a loss $L = u^\\top h_T$ at the last "
            "step, measured by backpropagation, against the lag $k$. For the LSTM, the orange curve (triangles) is "
            "the gradient on the cell state $\\lVert \\partial L / \\partial c_{T-k} \\rVert$."
        )
        measured = {
            "RNN  dL/dh": (rnn.h_norm, *common.model_style("rnn"), MODEL_SYMBOLS["rnn"]),
            "LSTM dL/dh": (lstm.h_norm, *common.model_style("lstm"), MODEL_SYMBOLS["lstm"]),
            "LSTM dL/dc": (lstm.c_norm, LINE_COLORS["c"], "solid", "triangle-up"),
            "GRU  dL/dh": (gru.h_norm, *common.model_style("gru"), MODEL_SYMBOLS["gru"]),
            "LSTM 1997 dL/dc": (old.c_norm, MODEL_COLORS["lstm1997"], MODEL_DASH["lstm1997"], "star"),
        }
        growth = result.sigma_max  # gamma = 1 for tanh and relu
        theory = {"LSTM Π forget gates": (lstm.theory, TEXT_COLORS["c"], "longdashdot")}
        if growth < 1:  # the bound shrinks: it guarantees vanishing, and is worth drawing
            theory = {
                f"RNN bound (γσ_max)^k = {growth:.2f}^k": (rnn.theory, TEXT_COLORS["theory"], "dashdot"),
                **theory,
            }
        overflow = {
            name: regime.overflow_lag
            for name, regime in (("RNN  dL/dh", rnn.regime), ("LSTM dL/dh", lstm.regime), ("GRU  dL/dh", gru.regime))
            if regime.overflow_lag is not None
        }
        # Every figure on this page follows from the settings alone: built once per server for them, and shared.
        lag_fig = ui.shared_figure(("gradient.lag", config), lambda: gfig.lag_spec(measured, theory, overflow))
        with lag_box:
            ui.show_figure(lag_fig, key="gradient.lag", presenter_height=560)
        lag = min(100, S["length"] - 1)
        c_far, rnn_far = at_lag(lstm.c_norm, lag), at_lag(rnn.h_norm, lag)
        notes = []
        if np.isfinite(c_far) and np.isfinite(rnn_far) and rnn_far > 0 and c_far > 0:
            ratio = c_far / rnn_far
            apart = (
                f"the LSTM's is {ratio:.2g}× the RNN's" if ratio >= 1 else f"the RNN's is {1 / ratio:.2g}× the LSTM's"
            )
            notes.append(
                f"At lag {lag}: the LSTM's cell-path gradient is {c_far:.2g} ({c_far / lstm.c_norm[0]:.2g} of its size "
                f"at the loss), the RNN's {rnn_far:.2g} ({rnn_far / rnn.h_norm[0]:.2g} of its size at the loss): "
                f"{apart}."
            )
        if growth >= 1:
            notes.append(
                f"The RNN's theory bound (γσ_max)^k = {growth:.2f}^k grows with k, so it bounds nothing this chart "
                "shows and is not drawn; the measured RNN curve shows what saturation does instead."
            )
        if any("clipped" in str(t.get("name", "")) for t in lag_fig.spec["data"]):
            notes.append("A theory curve that leaves the chart is cut where it leaves (it says so in the legend).")
        st.caption(" ".join(notes))
        st.caption(gfig.carousel_sentence(old.c_factor, old.c_norm, lag))

        why = st.expander("Why the product shrinks or grows (theory)", key="gradient.why", on_change="rerun")
        if why.open:  # folded, its text and equations are not even sent
            with why:
                show_theory()

        # ---- which steps reach the loss ---------------------------------------------------------------------
        st.subheader("Which steps can still change the loss?")
        reach = {
            "RNN h": padded(rnn.h_norm, oldest_first=True),
            "LSTM h": padded(lstm.h_norm, oldest_first=True),
            "LSTM c": padded(lstm.c_norm, oldest_first=True),
            "GRU h": padded(gru.h_norm, oldest_first=True),
            "LSTM 1997 c": padded(old.c_norm, oldest_first=True),
            "RNN input x": padded(rnn.x_norm, oldest_first=True),
            "LSTM input x": padded(lstm.x_norm, oldest_first=True),
            "GRU input x": padded(gru.x_norm, oldest_first=True),
        }
        st.caption(
            "Each row is a model's gradient on its state (h, c) or on its input x; each column a time step, the "
            "loss at the right edge. Colour is the gradient's size there divided by its size at the loss: pale "
            "grey is as large as at the loss, orange smaller (below 1/1000: cut off), purple larger (exploded)."
        )
        reach_fig = ui.shared_figure(("gradient.reach", config), lambda: gfig.reach_spec(reach))
        ui.show_figure(reach_fig, key="gradient.reach")
        st.caption("At these settings: " + gfig.reach_caption(reach))

        # ---- eigenvalues: rho and sigma_max -----------------------------------------------------------------
        st.subheader("Eigenvalues of the RNN's W_hh: ρ and σ_max")
        left, right = st.columns([3, 2])
        with left:
            eigen = ui.shared_figure(
                ("gradient.eig", config), lambda: gfig.eigen_spec(result.eigenvalues, result.sigma_max)
            )
            ui.show_figure(eigen, key="gradient.eig")
        with right:
            st.markdown(
                "Each dot is an eigenvalue λ of the recurrent matrix. The slider sets the **spectral radius** "
                "ρ = max |λ|. Pascanu et al. (2013) state their condition with the **largest singular value** "
                "σ_max, the most W_hh can stretch any vector in one step, and σ_max ≥ ρ always (equal for a "
                "symmetric or orthogonal matrix; for a random one, clearly larger). If γσ_max < 1 (γ = 1 for tanh "
                "and relu), the gradient must vanish. Above it, it *may* explode, but need not: a tanh RNN "
                "saturates, and saturated units pass almost no gradient."
            )
            st.metric("ρ = max |λ|, set by the slider", f"{result.rho:.2f}", border=True)
            st.metric("σ_max, the largest singular value", f"{result.sigma_max:.2f}", border=True)
            if result.sigma_max < 1:
                st.markdown(f"σ_max = {result.sigma_max:.2f} < 1: the theorem **guarantees vanishing** here.")
            else:
                st.markdown(
                    f"σ_max = {result.sigma_max:.2f} ≥ 1: the theorem **guarantees nothing** here (it allows growth); "
                    f"the measured RNN gradient is **{gfig.regime_card(rnn.h_norm).word}**."
                )

        # ---- clipping ---------------------------------------------------------------------------------------
        st.subheader("Clipping an exploding gradient", anchor="clipping")
        section = st.expander(
            "Train this RNN twice, with and without clipping", key=S.key("clipping"), on_change="rerun"
        )
        if section.open:  # folded, nothing of it runs: most reruns are about the curves above
            with section:
                threshold = st.select_slider("Clipping threshold", options=CLIP_OPTIONS, key=S.key("clip"))
                clip = ui.guarded(clip_study, config, float(threshold))
                if clip is not None:
                    show_clipping(clip, float(threshold))

        columns = {"lag": np.arange(S["length"])}
        for kind, m in models.items():
            columns[f"{kind}_dL_dh"] = padded(m.h_norm)
            columns[f"{kind}_dL_dx"] = padded(m.x_norm)
        columns["lstm_dL_dc"] = padded(lstm.c_norm)
        columns["lstm1997_dL_dc"] = padded(old.c_norm)
        columns["theory_rnn_bound"] = padded(rnn.theory)
        columns["theory_lstm_forget_path"] = padded(lstm.theory)
        ui.csv_download("Download the curves (CSV)", columns, "rnnviz_gradients.csv")
