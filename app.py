"""Landing page: what rnnviz teaches, a live preview, and where to go next."""

from rnnviz.engine import blas  # imports no NumPy

blas.default_to_one_thread()  # before NumPy loads (see rnnviz/engine/blas.py)

import streamlit as st  # noqa: E402

from rnnviz.app import ui  # noqa: E402
from rnnviz.content import lessons  # noqa: E402
from rnnviz.engine import analysis, blas  # noqa: E402

blas.limit_blas_threads()  # the server may have loaded NumPy before this file ran

ui.setup_page(
    "home",
    "rnnviz: why LSTMs remember",
    "🧠",
    "A plain recurrent network (RNN) rewrites its whole memory at every step: whatever it saw a few dozen "
    "steps ago has been multiplied by the same weights again and again, and fades. An **LSTM** keeps a "
    "separate *cell state* that is only changed by addition, and a **forget gate** decides, unit by unit, how "
    "much of it to keep. When the forget gate stays near 1, a memory survives for hundreds of steps, and so does "
    "the gradient that trains it. Every number on these pages is computed by a small NumPy engine that "
    "matches PyTorch to the last digit.",
)


@st.cache_data(show_spinner=False)
def preview() -> dict:
    return lessons.landing_memory()


c = lessons.LANDING
present = ui.presenting()
st.subheader("One pulse, three memories")
# On a projector the setup folds away: the question, the guesses and then the figure fit 720 px.
(st.expander("What the cells are and what the curve measures") if present else st.container()).markdown(
    f"Each untrained cell ({c.hidden_size} units, recurrent weights scaled to spectral radius {c.spectral_radius:g}, "
    f"LSTM and GRU with their *keep* gate biased to {c.forget_bias:+g}) reads one pulse at step 0 and then silence. "
    "The curve is how far the hidden state still is from where it would be without the pulse: "
    r"$\lVert h_t(\text{pulse}) - h_t(\text{silence}) \rVert$."
)
GUESSES = ("RNN", "LSTM", "GRU", "LSTM and GRU, about the same", "none of them")
S = ui.Settings("home", [ui.Setting("guess", None, options=GUESSES, in_url=False)])
QUESTION = f"Before you look: which one keeps the most of the pulse after {lessons.LANDING_AT} steps?"
guess = st.radio(QUESTION, GUESSES, horizontal=True, key=S.key("guess"))
S.sync_url()
if guess is None:
    st.info("Pick a guess to see the measurement.", icon="🤔")
else:
    memory = preview()
    ui.show_figure(lessons.landing_figure(memory), key="home.preview", presenter_height=390)
    verdict, reading = lessons.landing_verdict(memory)
    st.success(f"{reading} Most kept: **{verdict}** (you guessed {guess}).")
    st.caption(
        f"Two values count as about the same when they are within a factor of {lessons.SAME_FACTOR:g}: small next "
        "to the orders of magnitude between a plain RNN and a gated cell on this log axis. None of them counts as "
        f"remembering when every curve at step {lessons.LANDING_AT} is below {analysis.VANISHED:g} of where it "
        "started at step 0."
    )

st.subheader("Where to go")
st.markdown(
    "1. **Cell stepper**: feed a sequence into an RNN, LSTM or GRU and play it step by step; watch each gate, "
    "the cell state, and the equations with the live numbers.\n"
    "2. **Gradient flow**: the same story for learning: how much of a loss at the end reaches each earlier "
    "step, measured by backpropagation, beside the theory.\n"
    "3. **Training lab**: train all three on long-lag tasks and see which one solves them.\n\n"
    "New to recurrent networks, or teaching them? The **Lessons** walk through the whole story in eight "
    "steps, each with a question to answer before the reveal, and a presenter mode for a projector."
)
cols = st.columns(len(ui.PAGES) - 1)
for col, (path, label, icon) in zip(cols, ui.PAGES[1:], strict=True):
    with col:
        st.page_link(path, label=label, icon=icon)
