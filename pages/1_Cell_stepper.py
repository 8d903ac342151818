"""Cell stepper: one sequence into an RNN, LSTM, GRU or the 1997 LSTM, played step by step in the browser.

Longer than a thin page: two passes (forward, backward), each with a presenter layout, clicks on the figure, an
uploaded model and a model handed over from another page. What it shows is built elsewhere: the runs in
engine.studies and engine.backward, the figures in figures.stepper and figures.backward, the keyboard and the
kept step in app.player."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import streamlit as st

from rnnviz.app import handoff, player, ui
from rnnviz.engine import analysis, inputs, studies
from rnnviz.engine import backward as engine_backward
from rnnviz.figures import backward as backward_view
from rnnviz.figures import backward_equations as backward_text
from rnnviz.figures import colormaps, equations, stepper
from rnnviz.figures.theme import LABELS

finish_sidebar = ui.setup_page(
    "stepper",
    "Cell stepper",
    "🔬",
    "Feed one sequence into a cell and press **▶ Play**: each heatmap row is one quantity, one line per unit, "
    "one column per step. Below them, the cell diagram and the equations show one unit's numbers at the "
    "step the slider is on. Click a hidden-state cell to pick its step and unit.",
    controls_last=True,
)

CELLS = {
    "lstm": "LSTM",
    "gru": "GRU",
    "rnn": "RNN (plain)",
    "lstm1997": "LSTM 1997 (no forget gate)",
    "all": "All three, same input",  # the three cells the lessons compare (the 1997 LSTM is a history lesson)
    "rnn_lstm": "RNN and LSTM",
}
SEVERAL = {"all": ["rnn", "lstm", "gru"], "rnn_lstm": ["rnn", "lstm"]}  # the choices that show several cells
KIND_LABELS = {**ui.KIND_LABELS, "lstm1997": "LSTM 1997"}
HISTORY = (
    "**History.** This is the LSTM of Hochreiter & Schmidhuber (1997): its cell state only accumulates, "
    "cₜ = cₜ₋₁ + iₜ ⊙ gₜ, so the gradient along c passes back unchanged (the constant error carousel). "
    'The forget gate came three years later with Gers, Schmidhuber & Cummins (2000), "Learning to forget": '
    "a cell state that only accumulates can grow without bound on long input streams."
)
VIEWS = {
    "effect": "the input's effect (minus the same cell fed zeros)",
    "values": "the values themselves",
}
ROWS = ("h", "c", "input", "forget", "cell", "output", "reset", "update", "new")
FOCUS = ("h", "c", "forget", "update")  # the memory: what a projector must show on one screen
SHOWS = {"rows": "Rows", "diagram": "Diagram"}  # presenter mode: one at a time
PRESENT_HEIGHT = 500  # px: the figure under the title and one row of controls, in 720 px
PRESENT_DETAIL_PX = 300  # the diagram alone under the input, in 720 px
present = ui.presenting()
show = "rows"
SYMBOLS = "The equations, in symbols (the figure shows them with the numbers)"  # an expander, filled when open
PASSES = {"forward": "Forward", "backward": "Backward"}
PASS_HELP = "Forward: the values, step by step. Backward: the gradient of a loss at the last step, played back in time."
S = ui.Settings(
    "stepper",
    [
        ui.Setting("kind", "lstm", options=tuple(CELLS)),
        ui.Setting("hidden_size", 8, low=1, high=32),
        ui.Setting("preset", "pulse", options=tuple(inputs.PRESETS)),
        ui.Setting("length", 60, low=5, high=200),
        ui.Setting("custom", "1, 0, 0, 0, 0.5, -0.5, 0, 0, 0, 1", max_chars=inputs.MAX_CHARS),
        ui.Setting("seed", 0, low=0, high=9999),
        ui.Setting("forget_bias", 3.0, low=-3.0, high=6.0),
        ui.Setting("spectral_radius", 1.0, low=0.25, high=2.0),
        ui.Setting("nonlinearity", "tanh", options=("tanh", "relu")),
        ui.Setting("view", "effect", options=tuple(VIEWS)),
        ui.Setting("rows", FOCUS, options=ROWS, many=True),
        ui.Setting("step", 0, low=0, high=499),
        ui.Setting("unit", 0, low=0, high=255),
        ui.Setting("detail_kind", "lstm", options=("rnn", "lstm", "gru", "lstm1997")),
        ui.Setting("pass", "forward", options=tuple(PASSES)),
        ui.Setting("loss", "unit", options=tuple(engine_backward.LOSSES)),
    ],
)


def apply_pick() -> None:
    """A click on a hidden-state cell (the figure's selection, kept in session state by Streamlit) shows that
    step, unit and model on the diagram. Read before the widgets are drawn, so it may set their values. The
    selection comes from the browser: anything but a point of ours (a crafted websocket message) is ignored."""
    event = st.session_state.get("stepper.timeline")
    try:
        picked = event["selection"]["points"][0]
        step = S.specs["step"].parse([str(int(picked["x"]))])  # within the setting's own bounds, or ValueError
        unit = S.specs["unit"].parse([str(int(picked["y"]))])
        curve = picked.get("curve_number")
        if curve is not None and type(curve) is not int:
            raise TypeError(curve)
    except (TypeError, KeyError, IndexError, ValueError, OverflowError, AttributeError):
        return  # no click, or not one of ours
    mark = (step, unit, curve)
    if st.session_state.get("stepper.picked") == mark:
        return  # this click was applied already
    st.session_state["stepper.picked"] = mark
    st.session_state[player.CHOSEN] = True  # this run's figure starts at the clicked step
    S["step"], S["unit"] = step, unit
    kind_of = st.session_state.get("stepper.pick_kinds", {})
    if mark[2] in kind_of:
        S["detail_kind"] = kind_of[mark[2]]


st.session_state[player.CHOSEN] = False
apply_pick()


def sidebar_controls() -> None:
    """The sidebar's controls, written at the end of the page: a first visit's browser then gets the figure before
    some forty small script files for the controls, which had queued Streamlit's Plotly chunk behind them. Every
    value they show is read from the settings (``S``) before they are drawn, as Streamlit allows."""
    with st.sidebar:
        st.markdown("### Controls")
        st.selectbox("Cell", list(CELLS), format_func=CELLS.get, key=S.key("kind"))
        st.slider("Hidden units", 1, 32, key=S.key("hidden_size"))
        st.selectbox("Input sequence", list(inputs.PRESETS), format_func=inputs.PRESETS.get, key=S.key("preset"))
        if preset == "custom":
            st.text_area(
                "Numbers, separated by commas",
                key=S.key("custom"),
                max_chars=inputs.MAX_CHARS,
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
            disabled=kind in ("rnn", "lstm1997"),
            help="Sets the LSTM's forget-gate bias (the GRU's update gate). Large = keep memory longer. "
            "The 1997 LSTM has no forget gate.",
        )
        st.slider(
            "Recurrent weight scale (spectral radius of W_hh)", 0.25, 2.0, step=0.05, key=S.key("spectral_radius")
        )
        if kind in ("rnn", *SEVERAL):
            st.radio("RNN activation", ["tanh", "relu"], key=S.key("nonlinearity"), horizontal=True)
        st.markdown("### What the heatmaps show")
        if backward:
            st.selectbox(
                "Loss at the last step",
                list(engine_backward.LOSSES),
                format_func=engine_backward.LOSSES.get,
                key=S.key("loss"),
                help="What the gradient is the gradient of. 'One unit' uses the unit on the diagram.",
            )
        else:
            st.radio("Colour shows", list(VIEWS), format_func=VIEWS.get, key=S.key("view"))
        st.multiselect(
            "Rows",
            ROWS,
            format_func=LABELS.get,
            key=S.key("rows"),
            help="Fewer rows fit one screen (a projector). Rows a cell does not have are left out.",
        )
        with st.expander("Your own PyTorch model"):
            st.markdown(
                "Save a one-layer `nn.RNN`, `nn.LSTM` or `nn.GRU` (input size any, batch_first irrelevant):\n\n"
                # two lines of inline code, not a code block: a block loads Streamlit's syntax highlighter (1.5 MB of
                # JavaScript, every language registered) on the first visit, even in a closed expander
                "`sd = model.state_dict()`  \n`np.savez('model.npz', **{k: v.numpy() for k, v in sd.items()})`"
            )
            st.file_uploader("model.npz", type=["npz"], key="stepper.upload")


kind, preset, view = S["kind"], S["preset"], S["view"]
backward = S["pass"] == "backward"
upload = st.session_state.get("stepper.upload")  # the uploader's file, before the uploader is drawn

config = studies.CellConfig(
    kind="lstm" if kind in SEVERAL else kind,
    hidden_size=S["hidden_size"],
    length=S["length"],
    preset=preset,
    custom=S["custom"] if preset == "custom" else "",
    seed=int(S["seed"]),
    forget_bias=S["forget_bias"],
    spectral_radius=S["spectral_radius"],
    nonlinearity=S["nonlinearity"],
)


def load_runs() -> tuple[dict, dict]:
    """The runs to show, and the same cells fed zeros (for the effect view); ({}, {}) after a message."""
    if offer is not None:  # a model another page handed over (rnnviz/app/handoff.py), on its own input
        return show_offer(offer)
    if upload is not None:
        data = upload.getvalue()
        run = ui.guarded(ui.cached_uploaded_run, data, S["nonlinearity"], config)
        if run is None:
            return {}, {}
        st.info(
            f"Showing your uploaded {KIND_LABELS[run.kind]} ({run.h.shape[1]} units, {run.x.shape[1]} inputs). "
            "Remove the file to go back to the generated cell.",
            icon="📦",
        )
        return {run.kind: run}, {run.kind: ui.cached_uploaded_run(data, S["nonlinearity"], config, silent=True)}
    runs, quiet = {}, {}
    for k in SEVERAL.get(kind, [kind]):
        run = ui.guarded(ui.cached_run, replace(config, kind=k))
        if run is None:  # the input is shared, so the message is shown once and nothing is drawn
            return {}, {}
        runs[k], quiet[k] = run, ui.cached_silence(replace(config, kind=k))
    return runs, quiet


def show_offer(item: handoff.Offer) -> tuple[dict, dict]:
    """The offered model run on the offered input, and on zeros (the effect view), with a box that says whose
    model this is, links back to where it came from, and dismisses it."""
    cell = item.cell()
    run = studies.run(cell, item.x)
    source = Path(item.source).stem.lstrip("0123456789_").replace("_", " ")
    with st.container(border=True):
        st.info(
            f"Showing {ui.literal(item.title)}: a {KIND_LABELS.get(run.kind, run.kind)} with {run.h.shape[1]} units, "
            f"fed its own {run.h.shape[0]} steps. The sidebar's cell settings apply to the generated cell.",
            icon="🤝",
        )
        left, right = st.columns(2)
        left.page_link(item.source, label=f"Back to {source}", icon="↩️")
        right.button("Show the generated cell again", on_click=handoff.dismiss, args=(st.session_state,))
    return {run.kind: run}, {run.kind: studies.run(cell, np.zeros_like(item.x))}


def arrays(run: studies.Run, quiet: studies.Run) -> dict[str, np.ndarray]:
    """h, c and the gates of a run: as they are, or minus the run on zeros (the input's effect)."""
    values = {"h": run.h, **({"c": run.c} if run.c is not None else {}), **run.gates}
    if view == "values":
        return values
    silent = {"h": quiet.h, **({"c": quiet.c} if quiet.c is not None else {}), **quiet.gates}
    return {k: v - silent[k] for k, v in values.items()}


def panels_for(runs: dict, shown: dict) -> list[stepper.Panel]:
    """The heatmap rows; ``shown`` holds each model's ``arrays``."""
    rows = [r for r in S["rows"]] or ["h"]
    if view == "values":
        scales = {}
        for run in runs.values():
            if run.c is not None:
                scales["c"] = stepper.cell_scale(run.c)
    else:  # one fitted scale for the states' effects and one for the gates', shared by every model
        states = [v for a in shown.values() for q, v in a.items() if q in ("h", "c", "cell", "new")]
        gates = [v for a in shown.values() for q, v in a.items() if q not in ("h", "c", "cell", "new")]
        state_scale = colormaps.fitted("effect on state", np.concatenate([v.ravel() for v in states]))
        gate_scale = colormaps.fitted("effect on gate", np.concatenate([v.ravel() for v in gates])) if gates else None
        scales = {q: state_scale for q in ("h", "c", "cell", "new")} | {
            q: gate_scale for q in ("input", "forget", "output", "reset", "update")
        }
    panels = []
    for k, run in runs.items():
        prefix = f"{KIND_LABELS[k]}: " if len(runs) > 1 else ""
        values = shown[k]
        own = {p.quantity: p.scale for p in stepper.trace_panels(k, run.h, run.c, run.gates)}  # the values' scales
        for q in ROWS:
            if q not in values or q not in rows:
                continue
            title = prefix + LABELS[q] + (" − same cell fed zeros" if view == "effect" else "")
            panels.append(stepper.Panel(title, q, values[q], scales.get(q, own[q]), pick=k if q == "h" else None))
    return panels


def effect_caption(shown: dict) -> str:
    """What the effect view shows at these settings, from the numbers (``shown``: each model's ``arrays``):
    how much of each state's largest response to the input is still there at the last step."""
    parts = []
    for k, values in shown.items():
        for q in ("h", "c"):
            if q not in values:
                continue
            size = np.max(np.abs(values[q]), axis=1)  # (T,) largest effect over units
            peak = float(np.max(size))
            if peak == 0:
                continue
            left = float(size[-1]) / peak
            parts.append(f"{KIND_LABELS[k]} {q}: {left:.0%} of its largest effect is left at the last step")
    return "; ".join(parts) + "." if parts else "The input has no effect at these settings."


def show_forward() -> None:
    """The forward view: values (or the input's effect) over time, and one unit's forward equations. On a
    projector (720 px) the rows and the diagram take turns (``show``), and the caption goes under the figure."""
    shown = {k: arrays(r, quiet[k]) for k, r in runs.items()}  # once per rerun, for the caption and the figure
    cap = st.container()
    draw_forward(shown)
    if not present:
        with cap:
            write_caption(shown)
    if present:
        write_caption(shown)
    # written only while open (a rerun opens it): closed, its st.latex still loaded KaTeX on every first visit
    symbols = st.expander(SYMBOLS, key="stepper.symbols", on_change="rerun")
    for equation in equations.EQUATIONS[run.kind] if symbols.open else ():
        symbols.latex(equation.replace(r"\tanh", r"\mathrm{relu}") if run.nonlinearity == "relu" else equation)


def write_caption(shown: dict) -> None:
    if view == "effect":
        st.caption(
            "Colour is how far each value is from where the same cell would be had it been fed zeros: "
            "the memory of the input, unit by unit (dots mark values beyond the colour bar's range). "
            + effect_caption(shown)
        )
    else:
        st.caption(
            "Colour is the value itself: states from −1 (blue) to 1 (red), the cell state on a range fitted to "
            "it (dots mark values beyond), gates from 0 (closed, dark) to 1 (open, yellow)."
        )


def view_figure(name: str, view_key: tuple, build) -> ui.SharedFigure:
    """The figure ``build()`` makes for this view, tagged for the keyboard player: the same view for every session
    that asks for it is built once per server; this session's own model (``personal``) is built for it alone."""
    if personal is None:
        return ui.shared_figure((name, *view_key), player.tagged(build, view_key))
    return ui.SharedFigure(ui.figure_dict(player.tagged(build, (view_key, personal))()))


def draw_forward(shown: dict) -> None:
    with_rows, with_detail = not present or show == "rows", not present or show == "diagram"

    def build():  # only when no session has built this view yet
        detail = stepper.Detail(
            kind=run.kind,
            unit=int(S["unit"]),
            series=equations.unit_series(ui.cell_of(run), run.x, run.h, run.c, run.gates, int(S["unit"])),
            nonlinearity=run.nonlinearity,
            scales={"c": stepper.cell_scale(run.c)} if run.c is not None else {},  # the values' scales
        )
        panels = panels_for(runs, shown) if with_rows else []
        return stepper.timeline_spec(  # sent as built: validated once by tests, not on every new view
            first.x,
            panels,
            step=int(S["step"]),
            detail=detail if with_detail else None,
            detail_px=stepper.DETAIL_PX if with_rows else PRESENT_DETAIL_PX,
            step_labels=offer.step_labels if offer is not None else (),
            projector=present,
        )

    rows = tuple(S["rows"]) if with_rows else ()
    view_key = (config, kind, view, rows, with_detail, int(S["unit"]), S["detail_kind"], int(S["step"]))
    fig = view_figure("stepper", view_key, build)
    remember_pick_layers(fig)
    ui.show_figure(fig, key="stepper.timeline", on_select="rerun", presenter_height=PRESENT_HEIGHT)
    player.keyboard_player(
        ui.PRESENTER_FONT if present else 17, view=player.view_token(view_key), keep=player.keep_step(st.session_state)
    )


def show_backward() -> None:
    """The backward view: a loss at the last step, its gradient at every step and unit, played backwards."""
    unit, loss = int(S["unit"]), S["loss"]
    records = {k: engine_backward.backward_pass(ui.cell_of(r), r.x, loss, unit) for k, r in runs.items()}
    words = (
        "Colour is the gradient of the loss at the last step: teal positive, brown negative, and its darkness the "
        "power of ten (the colour bar); white is below the bar's last power. **◀ Play backwards** runs from the "
        "loss back to the first step; the arrows' width on the diagram follows the size of what they carry. "
        + backward_text.caption(records, unit)
    )
    if not present:  # on a projector the words go under the figure, as the forward view's
        st.caption(words)
    start = int(S["step"]) if "stepper.picked" in st.session_state else None  # a clicked step; else the loss's
    with_rows, with_detail = not present or show == "rows", not present or show == "diagram"

    def build():
        return backward_view.backward_spec(  # sent as built, like the forward figure
            records,
            list(S["rows"]),
            detail=S["detail_kind"],
            unit=unit,
            step=start,
            overview=with_rows,
            with_detail=with_detail,
            detail_px=stepper.DETAIL_PX if with_rows else PRESENT_DETAIL_PX,
            projector=present,
        )

    view_key = ("backward", config, kind, loss, tuple(S["rows"]), unit, S["detail_kind"], start, present, show)
    fig = view_figure("stepper-backward", view_key, build)
    remember_pick_layers(fig)
    ui.show_figure(fig, key="stepper.timeline", on_select="rerun", presenter_height=PRESENT_HEIGHT)
    player.keyboard_player(
        ui.PRESENTER_FONT if present else 17,
        backward=True,
        view=player.view_token(view_key),
        keep=player.keep_step(st.session_state),
    )
    if present:
        st.caption(words)
    symbols = st.expander("The backward " + SYMBOLS[4:], key="stepper.backward_symbols", on_change="rerun")
    for equation in backward_text.EQUATIONS[runs[S["detail_kind"]].kind] if symbols.open else ():
        symbols.latex(equation)


def growth_sentence(run: studies.Run) -> str:
    """How far this run's cell state went, from its numbers: the largest |c_t| over units at a quarter of the
    way, halfway and at the last step."""
    size = np.max(np.abs(run.c), axis=1)  # (T,)
    T = size.shape[0]
    marks = sorted({max(T // 4 - 1, 0), max(T // 2 - 1, 0), T - 1})
    said = ", ".join(f"{size[t]:.2f} at step {t}" for t in marks)
    return f"Here the largest |c_t| is {said}."


def remember_pick_layers(fig) -> None:
    """Which model each click layer of the figure belongs to (apply_pick reads it on the next run)."""
    traces = fig.spec["data"] if isinstance(fig, ui.SharedFigure) else [t.to_plotly_json() for t in fig.data]
    st.session_state["stepper.pick_kinds"] = {
        i: t["name"].split(":", 1)[1] for i, t in enumerate(traces) if str(t.get("name", "")).startswith("pick:")
    }


offer = handoff.current(st.session_state)
# a model of this session's own (an offer, an upload) is drawn for this session alone; its name keys the figure
personal = ("offer", id(offer), offer.title) if offer is not None else (upload.file_id if upload is not None else None)
runs, quiet = load_runs()
if runs:  # the step and unit kept across a changed setting, clamped to what the new run has (the URL says so)
    S["step"] = min(int(S["step"]), next(iter(runs.values())).h.shape[0] - 1)
    S["unit"] = min(int(S["unit"]), next(iter(runs.values())).h.shape[1] - 1)
S.sync_url()
if runs:
    first = next(iter(runs.values()))
    T, H = first.h.shape
    if any(r.overflowed for r in runs.values()):
        st.warning(
            "The hidden state overflowed (a relu RNN with a large recurrent scale grows without bound). "
            "The heatmap shows it clipped to the colour range; lower the scale to see it settle.",
            icon="💥",
        )
    if S["detail_kind"] not in runs:
        S["detail_kind"] = first.kind

    row = st.container()
    if present:
        show = st.session_state.get("stepper.present_show", "rows")
    run = runs[S["detail_kind"]]
    if run.kind == "lstm1997" and not present:
        st.info(HISTORY + " " + growth_sentence(run), icon="📜")
    if backward:
        show_backward()
    else:
        show_forward()
    with row:
        c1, c2, c3, *c4 = st.columns([2, 2, 3, 3] if present else [1, 2, 2])
        c1.number_input("Unit on the diagram", min_value=0, max_value=H - 1, step=1, key=S.key("unit"))
        if c4:
            c4[0].radio("Show", list(SHOWS), format_func=SHOWS.get, key="stepper.present_show", horizontal=True)
        c3.radio("Pass", list(PASSES), format_func=PASSES.get, key=S.key("pass"), horizontal=True, help=PASS_HELP)
        if len(runs) > 1:
            c2.radio(
                "Model on the diagram",
                list(runs),
                format_func=KIND_LABELS.get,
                horizontal=True,
                key=S.key("detail_kind"),
            )
    if run.kind == "lstm1997" and present:  # on a projector the figure first, the history under it
        st.info(HISTORY + " " + growth_sentence(run), icon="📜")
    if run.kind != "rnn":  # one Markdown table, not six metric cards: a first visit draws the figure sooner
        saturation = analysis.gate_saturation(run)  # a Run carries the same kind and gates as a Trace
        half = [float("inf")] if run.kind == "lstm1997" else analysis.memory_half_life(run)  # nothing forgets
        median = float(sorted(half)[len(half) // 2])
        names = [*saturation, "half-life (steps, median over units)"]
        values = [f"{100 * frac:.0f}%" for frac in saturation.values()]
        values.append("∞" if median == float("inf") else f"{median:.1f}")
        st.markdown(
            "**Whole run: share of saturated gate values** (sigmoid gates below 0.1 or above 0.9; "
            "tanh candidates beyond ±0.9), **and the memory half-life** (from each unit's mean keep gate m: "
            "ln(1/2) / ln(m) steps).\n\n"
            f"| {' | '.join(names)} |\n|{'---|' * len(names)}\n| {' | '.join(values)} |"
        )

    all_columns = {}
    for k, r in runs.items():
        all_columns.update(ui.run_columns(r, prefix=f"{k}_" if len(runs) > 1 else ""))
    if len(runs) > 1:
        all_columns = {"t": list(range(T)), **all_columns}
    ui.csv_download("Download the trace (CSV)", all_columns, "rnnviz_trace.csv")

sidebar_controls()  # last: the figure above reaches the browser before them
finish_sidebar()
how = st.expander("How to read this page", key="stepper.how", on_change="rerun")
if how.open:
    how.markdown(
        "- **Heatmaps**: one row per hidden unit, one column per time step. States (h, c, and the tanh candidates) "
        "use a red–blue scale centred on 0; sigmoid gates use a dark-blue-to-yellow scale from 0 to 1.\n"
        "- **The forget gate** multiplies the old cell state: f = 0.95 keeps 95% per step, so after 14 steps half "
        "is left; f = 0.5 halves it every step.\n"
        "- **The RNN** has no cell state: everything it remembers is re-squashed through tanh at every step.\n"
        "- **Backward** shows the gradient of a loss at the last step, computed by the engine's backpropagation: "
        "the RNN's shrinks by W_hhᵀ and tanh' at every step back; the LSTM's cell state passes it on times f.\n"
        "- **The 1997 LSTM** has no forget gate: its cell state only adds up, and the backward view shows dc passed "
        "back times exactly 1 at every step.\n"
        "- The cells are untrained (PyTorch's initialisation, seeded); the Training lab shows trained ones."
    )
