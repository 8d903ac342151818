"""Papers: the published experiments rerun with this engine, our numbers beside the papers', every
difference in the setup listed, and where the numbers differ, why."""

import streamlit as st

from rnnviz.app import ui
from rnnviz.content import papers
from rnnviz.figures import papers as paper_figures

ui.setup_page(
    "papers",
    "Papers",
    "📜",
    "The claim of this app, that gates let a network remember what a plain RNN forgets, is the claim of "
    "Hochreiter & Schmidhuber (1997) and of Bengio, Simard & Frasconi (1994). Here their experiments are "
    "rerun with this engine and our numbers stand beside theirs: the 1997 paper's tasks and success criteria "
    "as it defines them, the latch task and the forget-bias experiment after their papers. Two LSTMs run: "
    "**the 1997 cell** (input and output gates, no forget gate: its cell state only adds up, so the error "
    "carried back along it neither vanishes nor explodes) and **today's** (with the forget gate that Gers, "
    "Schmidhuber & Cummins added in 2000, so that a cell can let go of what it holds). Our training is not "
    "the paper's (Adam on mini-batches): every difference is listed, and where the numbers differ, the page "
    "says by how much and why. Rerun any of it with `python -m rnnviz reproduce NAME`.",
)


@st.cache_data(show_spinner=False)
def shipped() -> dict:
    return papers.load_shipped()


data = shipped()["experiments"]
NAMES = [n for n in papers.EXPERIMENTS if n in data]
if not NAMES:
    st.warning("No shipped results found: run `python -m rnnviz reproduce NAME --write` first.")
    st.stop()


def success_against_length(height: int | None = None) -> None:
    """The two figures of the papers' central claim, side by side: the latch's share of seeds and the adding
    problem's sequences to success against length (first on a projector, ``height`` px tall)."""
    st.markdown("#### Success against length, ours beside the papers'")
    # On a projector each figure gets the full width (the adding figure, the papers' central result, first).
    left, right = (st.container(), st.container()) if height else st.columns(2)
    if height:
        left, right = right, left
    with left:
        latch = data.get("latch")
        if latch:
            st.markdown("**Latch (after Bengio et al. 1994): share of seeds that succeeded**")
            figure = paper_figures.success_against_length(latch["summary"])
            ui.show_figure(figure, key="papers.latch", presenter_height=height)
            st.caption(
                "The paper gives the shape, not a table we could plot: the share of gradient-descent runs that "
                "learn to latch one bit falls towards zero as the sequence grows. Our plain RNN shows that shape; "
                "the gated models, with their keep gate biased open, still latch at 100 steps in most seeds."
            )
    with right:
        adding = data.get("adding")
        if adding:
            st.markdown("**Adding problem (H&S 1997): training sequences to success**")
            ui.show_figure(
                paper_figures.sequences_against_length(
                    adding["summary"] + data.get("adding_long", {}).get("summary", []),
                    papers.EXPERIMENTS["adding"].paper_figures,
                    "LSTM 1997, paper<br>(Table 7, mean of 10 trials)",
                ),
                key="papers.adding",
                presenter_height=height,
            )
            st.caption(
                "Stars: the paper's LSTM at T = 100, 500, 1000 (means). Lines: ours, mean and range over the seeds "
                "that succeeded; open markers at the cap where no seed succeeded. T = 500 and 1000 are the 1997 "
                "cell's alone (the experiment 'Adding problem at T = 500 and 1000')."
            )


if ui.presenting():  # a projector: the central claim first, inside 1280 x 720; the tables follow
    success_against_length(height=430)

st.markdown("#### At a glance: the papers' LSTM beside ours")
st.markdown(papers.format_headline(shipped()))
st.caption(
    "Means, as the paper gives them: the paper's over its trials, ours over the seeds that succeeded (how many "
    "did is beside each). The paper trained the 1997 cell one sequence at a time; we train both LSTMs with Adam "
    "on mini-batches of 32. Below, each experiment in full, with medians and ranges and every difference in "
    "the setup."
)

S = ui.Settings("papers", [ui.Setting("experiment", NAMES[0], options=tuple(NAMES))])
name = st.selectbox("Experiment", NAMES, format_func=lambda n: papers.EXPERIMENTS[n].title, key=S.key("experiment"))
S.sync_url()
exp, result = papers.EXPERIMENTS[name], data[name]

st.markdown(f"**Paper:** {exp.paper}. {exp.paper_note}")
st.markdown(papers.format_table(result).split("\n\n", 1)[1].split("\n\nOur deviations")[0])
st.caption(
    "Sequences to success: mean and median over the seeds that succeeded, with the range; 'not within' the "
    "cap when none did. The paper's figures are means over its trials. "
    "Wrong of 2560: the paper's test-set size and criterion, counted on the model at the end of "
    "the run (at success, or at the cap). Weights: every parameter of our model, readout included."
)

diffs = papers.differences(result, shipped())
if diffs:
    st.markdown("#### Where our numbers differ from the paper's")
    st.markdown("\n".join(f"- {d}" for d in diffs))

st.markdown("#### How our setup differs from the paper's")
st.markdown("\n".join(f"- {d}" for d in exp.deviations))

if not ui.presenting():
    success_against_length()

bias = data.get("forget_bias")
if bias:
    st.markdown("#### Forget-gate bias at initialisation (ours, after Jozefowicz et al. 2015)")
    st.markdown("**Share of LSTM seeds that learn the latch task, by forget-gate bias at initialisation**")
    ui.show_figure(paper_figures.forget_bias_figure(bias["summary"]), key="papers.bias")
    st.caption(
        "PyTorch initialises the forget-gate bias near 0, so the forget gate starts half closed and the memory "
        "decays as 0.5 per step. A bias of 1 (Jozefowicz et al.'s advice) or 3 keeps it open from the start."
    )

with st.expander("Settings, machine and time"):
    st.markdown(papers.provenance(result) + " " + papers.timings(result))
    st.json(result["settings"], expanded=False)
