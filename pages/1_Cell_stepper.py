"""Cell stepper: one sequence into an RNN, LSTM or GRU, played step by step in the browser."""

from dataclasses import replace

import streamlit as st

from rnnviz import analysis, experiments, explain, figures, inputs, ui

ui.setup_page(
    "stepper",
    "Cell stepper",
    "🔬",
    "Feed one sequence into a cell and press **Play**: the heatmaps show every unit (rows) at every step "
    "(columns). Red and blue are states (−1 to 1); the dark-to-yellow scale is a gate (0 = closed, 1 = open). "
    "Below, pick one step and one unit to see the cell diagram and the equations with its numbers.",
)

CELLS = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN (plain)", "all": "All three, same input"}
S = ui.Settings(
    "stepper",
    [
        ui.Setting("kind", "lstm", options=tuple(CELLS)),
        ui.Setting("hidden_size", 8, low=1, high=32),
        ui.Setting("preset", "pulse", options=tuple(inputs.PRESETS)),
        ui.Setting("length", 60, low=5, high=200),
        ui.Setting("custom", "1, 0, 0, 0, 0.5, -0.5, 0, 0, 0, 1"),
        ui.Setting("seed", 0, low=0, high=9999),
        ui.Setting("forget_bias", 3.0, low=-3.0, high=6.0),
        ui.Setting("spectral_radius", 1.0, low=0.25, high=2.0),
        ui.Setting("nonlinearity", "tanh", options=("tanh", "relu")),
        ui.Setting("step", 1, low=0, high=499),
        ui.Setting("unit", 0, low=0, high=31),
        ui.Setting("detail_kind", "lstm", options=("rnn", "lstm", "gru")),
    ],
)

with st.sidebar:
    st.markdown("### Controls")
    kind = st.selectbox("Cell", list(CELLS), format_func=CELLS.get, key=S.key("kind"))
    st.slider("Hidden units", 1, 32, key=S.key("hidden_size"))
    preset = st.selectbox("Input sequence", list(inputs.PRESETS), format_func=inputs.PRESETS.get, key=S.key("preset"))
    if preset == "custom":
        st.text_area(
            "Numbers, separated by commas",
            key=S.key("custom"),
            max_chars=5000,
            help="At most 200 numbers between −1000 and 1000.",
        )
    else:
        st.slider("Sequence length", 5, 200, key=S.key("length"))
    st.number_input("Seed", min_value=0, max_value=9999, step=1, key=S.key("seed"))
    st.slider(
        "Forget-gate bias",
        -3.0,
        6.0,
        step=0.5,
        key=S.key("forget_bias"),
        disabled=kind == "rnn",
        help="Sets the LSTM's forget-gate bias (the GRU's update gate). Large = keep memory longer.",
    )
    st.slider("Recurrent weight scale (spectral radius of W_hh)", 0.25, 2.0, step=0.05, key=S.key("spectral_radius"))
    if kind in ("rnn", "all"):
        st.radio("RNN activation", ["tanh", "relu"], key=S.key("nonlinearity"), horizontal=True)
    with st.expander("Your own PyTorch model"):
        st.markdown(
            "Save a one-layer `nn.RNN`, `nn.LSTM` or `nn.GRU` (input size any, batch_first irrelevant):\n"
            "```python\nsd = model.state_dict()\nnp.savez('model.npz', **{k: v.numpy() for k, v in sd.items()})\n```"
        )
        upload = st.file_uploader("model.npz", type=["npz"], key="stepper.upload")

S.sync_url()

config = experiments.CellConfig(
    kind="lstm" if kind == "all" else kind,
    hidden_size=S["hidden_size"],
    length=S["length"],
    preset=preset,
    custom=S["custom"] if preset == "custom" else "",
    seed=int(S["seed"]),
    forget_bias=S["forget_bias"],
    spectral_radius=S["spectral_radius"],
    nonlinearity=S["nonlinearity"],
)

if upload is not None:
    run = ui.guarded(ui.cached_uploaded_run, upload.getvalue(), S["nonlinearity"], config)
    runs = {} if run is None else {run.kind: run}
    if run is not None:
        st.info(
            f"Showing your uploaded {ui.KIND_LABELS[run.kind]} ({run.h.shape[1]} units). "
            "Remove the file to go back to the generated cell.",
            icon="📦",
        )
else:
    kinds = ["rnn", "lstm", "gru"] if kind == "all" else [kind]
    runs = {}
    for k in kinds:
        run = ui.guarded(ui.cached_run, replace(config, kind=k))
        if run is None:  # the input is shared, so the message is shown once and nothing is drawn
            runs = {}
            break
        runs[k] = run

if runs:
    first = next(iter(runs.values()))
    T, H = first.h.shape
    if any(r.overflowed for r in runs.values()):
        st.warning(
            "The hidden state overflowed (a relu RNN with a large recurrent scale grows without bound). "
            "The heatmap shows it clipped to the colour range; lower the scale to see it settle.",
            icon="💥",
        )

    # ---- overview: heatmaps over time x unit, animated in the browser ------------------------------
    st.subheader("Overview: every unit at every step")
    if len(runs) == 1:
        panels = figures.trace_panels(first.kind, first.h, first.c, first.gates)
        caption = (
            "Watch the **forget gate** row: where it stays near 1 (yellow), the **cell state** row keeps its "
            "colour long after the input has gone quiet."
            if first.kind == "lstm"
            else "The **update gate** z decides how much of h to keep: near 1, the old state passes through."
            if first.kind == "gru"
            else "A plain RNN has no gates: its state is rewritten at every step."
        )
    else:
        panels = [figures.Panel(f"{ui.KIND_LABELS[k]}: hidden state h_t", "h", r.h) for k, r in runs.items()]
        panels.insert(2, figures.Panel("LSTM: cell state c_t", "c", runs["lstm"].c))
        caption = "Same input, same colour scale: compare how long each model's state still shows the pulse."
    st.caption(caption + " Press ▶ Play below the figure; drag the slider to scrub.")
    step = min(int(S["step"]), T - 1)
    ui.show_figure(figures.overview_figure(first.x, panels, step=step), key="stepper.overview")

    # ---- detail: one unit at one step, on the diagram and in the equations ---------------------------
    st.subheader("Detail: one unit at one step")
    if S["step"] > T - 1:
        S["step"] = T - 1
    if S["unit"] > H - 1:
        S["unit"] = H - 1
    c1, c2, c3 = st.columns([3, 1, 2])
    step = c1.slider("Step t", 0, T - 1, key=S.key("step"))
    unit = c2.number_input("Unit", min_value=0, max_value=H - 1, step=1, key=S.key("unit"))
    detail_kind = (
        c3.radio("Model", list(runs), format_func=ui.KIND_LABELS.get, horizontal=True, key=S.key("detail_kind"))
        if len(runs) > 1
        else first.kind
    )
    run = runs[detail_kind]
    cell = ui.cell_of(run)
    values = explain.unit_values(cell, run.x, run.h, run.c, run.gates, int(step), int(unit))
    ui.show_figure(
        figures.cell_diagram(
            run.kind,
            values,
            nonlinearity=run.nonlinearity,
            title=f"{ui.KIND_LABELS[run.kind]} unit {unit} at step {step}",
        ),
        key="stepper.diagram",
    )
    st.markdown(
        "**Each equation, and beside it the same line with this unit's numbers** "
        "(σ is the logistic sigmoid; the number inside σ or tanh is the weighted sum):"
    )
    for equation, numbers in explain.equations_with_numbers(run.kind, values, run.nonlinearity):
        left, right = st.columns(2)
        left.latex(equation)
        right.latex(numbers)
    if run.kind != "rnn":
        st.markdown(
            "**Whole run: share of saturated gate values** (sigmoid gates below 0.1 or above 0.9; "
            "tanh candidates beyond ±0.9), **and the memory half-life** (from each unit's mean keep gate m: "
            "ln(1/2) / ln(m) steps)."
        )
        saturation = analysis.gate_saturation(run)  # a Run carries the same kind and gates as a Trace
        half = analysis.memory_half_life(run)
        cols = st.columns(len(saturation) + 1)
        for col, (name, frac) in zip(cols, saturation.items(), strict=False):
            col.metric(name, f"{100 * frac:.0f}%")
        median = float(sorted(half)[len(half) // 2])
        cols[-1].metric(
            "half-life (steps)", "∞" if median == float("inf") else f"{median:.1f}", help="The median over units."
        )

    all_columns = {}
    for k, r in runs.items():
        all_columns.update(ui.run_columns(r, prefix=f"{k}_" if len(runs) > 1 else ""))
    if len(runs) > 1:
        all_columns = {"t": list(range(T)), **all_columns}
    st.download_button(
        "Download the trace (CSV)", ui.csv_bytes(all_columns), file_name="rnnviz_trace.csv", mime="text/csv"
    )

with st.expander("How to read this page"):
    st.markdown(
        "- **Heatmaps**: one row per hidden unit, one column per time step. States (h, c, and the tanh candidates) "
        "use a red–blue scale centred on 0; sigmoid gates use a dark-blue-to-yellow scale from 0 to 1.\n"
        "- **The forget gate** multiplies the old cell state: f = 0.95 keeps 95% per step, so after 14 steps half "
        "is left; f = 0.5 halves it every step.\n"
        "- **The RNN** has no cell state: everything it remembers is re-squashed through tanh at every step.\n"
        "- The cells are untrained (PyTorch's initialisation, seeded); the Training lab shows trained ones."
    )
