"""Shared Streamlit helpers: page setup and navigation, settings kept in the URL, cached engine calls,
turning engine errors into messages, and the pages' access to the training service. rnnviz.app is the only
package under rnnviz/ that imports streamlit (tests/test_layers.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import convert_to_base64

from rnnviz.app import trainer, turns, uploads, wire
from rnnviz.engine import blas, cells, studies, weights
from rnnviz.figures import stepper, theme

blas.limit_blas_threads()  # every page imports this module, and a deep link skips app.py

PAGES = [
    ("app.py", "Start here", "🏠"),
    ("pages/0_Lessons.py", "Lessons", "🎓"),
    ("pages/1_Cell_stepper.py", "Cell stepper", "🔬"),
    ("pages/2_Gradient_flow.py", "Gradient flow", "📉"),
    ("pages/3_Training_lab.py", "Training lab", "🏋️"),
    ("pages/4_Papers.py", "Papers", "📜"),
    ("pages/5_Forecast_lab.py", "Forecast lab", "📈"),
    ("pages/6_Text_lab.py", "Text lab", "🔤"),
]

KIND_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def setup_page(page: str, title: str, icon: str, intro: str, controls_last: bool = False) -> Callable[[], None]:
    """Page config, the sidebar navigation, the title and a one-paragraph introduction. ``page`` is the
    page's id: the prefix of its settings' keys. Returns what is left to draw: nothing, or with ``controls_last``
    the sidebar's presenter toggle and scripts, which the page calls after its figure (in the place kept for them).

    Why a page would: a control's first appearance makes the browser fetch its script files (the toggle's: eight),
    and they came before Streamlit's 4.7 MB Plotly chunk, which then waited for them (benchmarks/bench_first_figure.py:
    the Cell stepper's figure 0.08 s sooner, docs/speed.md)."""
    st.set_page_config(page_title=f"{title} · rnnviz", page_icon=icon, layout="wide")
    uploads.bound_uploads()  # every session's uploads bounded before any page shows an uploader
    wire.guard_widget_values()  # a crafted widget value is dropped before a widget reads it
    wire.guard_clear_cache()  # and a client's "clear caches" (no menu of ours sends it) is ignored
    _arrive(page)
    present = _present_on_arrival()
    with st.sidebar:
        st.markdown("## rnnviz")
        st.caption("Why LSTMs remember what plain RNNs forget")
        # Eight links took 330 px: a page's first control started at the bottom of a 720 px window. Folded, they
        # take one line (open on the landing page, which has no controls); a <details> the keyboard opens. Its links
        # are written only while it is open (opening it reruns the page): folded, they still cost a first visit
        # eight rendered links and a script file before the page's figure was drawn.
        if page == "home":  # open from the start: nothing to save
            nav, shown = st.expander("Pages", icon="🧭", expanded=True), True
        else:
            nav = st.expander("Pages", icon="🧭", key=f"{page}.nav", on_change="rerun")
            shown = nav.open
        for path, label, page_icon in PAGES if shown else ():
            nav.page_link(path, label=label, icon=page_icon)
        later = st.container()
        st.divider()

    def rest() -> None:
        with later:
            st.toggle("Presenter mode", key=_PRESENT, help="Large type, no sidebar: for a projector. Also ?present=1.")
            # a script takes an element's gap (a style alone takes none): here, not in the page's 720 px
            st.html(_PHONE_JS + _ANCHOR_JS, unsafe_allow_javascript=True)  # constants

    if not controls_last:
        rest()
    st.html(_PAGE_CSS)  # constants: no user text ever reaches them
    if present:
        st.html(_PRESENTER_CSS)  # a constant: no user text ever reaches it
        title_col, leave_col = st.columns([3, 1], vertical_alignment="center")
        title_col.title(f"{icon} {title}")
        leave_col.button("Leave presenter mode", key=f"{page}.leave_presenter", on_click=_leave_presenter)
    else:
        st.title(f"{icon} {title}")
        st.markdown(intro)
    return rest if controls_last else lambda: None


# Every page: captions in a grey dark enough for WCAG AA (Streamlit's #828180 on white is 3.9:1, axe-core's
# color-contrast asks 4.5:1), a focus ring that shows on every control reached by the keyboard, and code blocks
# that wrap instead of scrolling (a scrolling <pre> is a region the keyboard cannot reach: axe's
# scrollable-region-focusable), as do a wide table's words on a phone.
_PAGE_CSS = """<style>
[data-testid=stCaptionContainer], [data-testid=stCaptionContainer] * { color: #5c5b59 !important; opacity: 1; }
:focus-visible { outline: 3px solid #0072B2 !important; outline-offset: 2px; }
[data-testid=stCode] pre { overflow: visible !important; white-space: pre-wrap !important; }
[data-testid=stCode] code { white-space: pre-wrap !important; }
[data-testid=stSidebar] [data-testid=stElementContainer]:has(script) { display: none; }  /* _PHONE_JS: no gap */
@media (max-width: 480px) {  /* a phone: a wide table wraps its words rather than pushing the page sideways */
  [data-testid=stMarkdownContainer] table { font-size: 0.8rem; }
  [data-testid=stMarkdownContainer] :is(th, td) { padding: 0.25rem; overflow-wrap: anywhere; }
}
</style>"""

# A figure's phone layout, on any page: a Plotly.relayout update in layout.meta.phone and/or a Plotly.restyle update
# (every trace) in layout.meta.phone_style, applied while the plot is under 480 px wide (the server cannot see the
# width), again after a redraw undid it (checked every second; one timer per browser tab). The Cell stepper's own
# layout.meta.narrow is applied by rnnviz/app/player.py.
_PHONE_JS = """<script>
if (!window.rnnvizPhone) {
  window.rnnvizPhone = setInterval(() => {
    for (const gd of document.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')) {
      const meta = gd.layout && gd.layout.meta;
      if (!meta || meta.phoned || !(meta.phone || meta.phone_style) || !window.Plotly) continue;
      if (gd.clientWidth === 0 || gd.clientWidth >= 480) continue;
      if (meta.phone_style) window.Plotly.restyle(gd, meta.phone_style);
      window.Plotly.relayout(gd, {...(meta.phone || {}), 'meta.phoned': true});
    }
  }, 1000);
}
</script>"""

# A link that ends in #anchor (a lesson's "at this figure" link): Streamlit scrolls to that heading when it is drawn,
# but the figures above it are drawn later and push it down (measured: from the top to y = 960 and beyond). This
# keeps the heading at the top while the page settles: until the reader scrolls, types or clicks, or for 10 s.
_ANCHOR_JS = """<script>
if (!window.rnnvizAnchor) {
  window.rnnvizAnchor = true;
  const id = decodeURIComponent(window.location.hash.slice(1));
  if (id) {
    let stop = false, placed = null;  // where the heading was put (below the app's header, not at y = 0)
    const end = Date.now() + 10000;
    for (const e of ['wheel', 'touchstart', 'keydown', 'mousedown'])
      window.addEventListener(e, () => { stop = true; }, {passive: true, capture: true});
    const keep = () => {
      if (stop || Date.now() > end) return;
      const el = document.getElementById(id);
      if (el && (placed === null || Math.abs(el.getBoundingClientRect().top - placed) > 8)) {
        el.scrollIntoView({block: 'start'});
        placed = el.getBoundingClientRect().top;
      }
      setTimeout(keep, 250);
    };
    keep();
  }
}
</script>"""

# Presenter mode: for a projector at 1280x720. On for the rest of the session once a page is opened with
# ?present=1 (or the sidebar toggle is set); ?present=0 turns it off. Static CSS hides the sidebar (and with
# it every page's controls) and the toolbar, and enlarges the type; show_figure enlarges figure fonts.
_PRESENT = "_ui.present"
PRESENT_PARAM = "present"
PRESENTER_FONT = 23  # px, figure text in presenter mode: a log axis's exponents (87.5%) are then >= 20 px
_PRESENTER_CSS = """<style>
[data-testid=stSidebar], [data-testid=stSidebarCollapsedControl], [data-testid=stExpandSidebarButton],
header[data-testid=stHeader], [data-testid=stToolbar], [data-testid=stDecoration] { display: none !important; }
html { font-size: 22px; }
[data-testid=stMainBlockContainer] { padding-top: 0.6rem !important; padding-bottom: 1rem !important;
  max-width: 100% !important; }
[data-testid=stMain] h1 { font-size: 1.5rem; padding: 0.2rem 0; }
[data-testid=stMain] h3 { font-size: 1.2rem; padding: 0.2rem 0; }
/* widget labels, options, buttons, captions and code are set at 0.75-0.875rem: at least 20 px, else inherit */
[data-testid=stMain] :is(p, li, label, span, code, strong, em, a, button, summary, input, textarea, small,
  div):not(.katex, .katex *) { font-size: max(20px, 1em) !important; }
[data-testid=stMain] :is(h1, h2, h3, h4) :is(span, code, strong, em, a) { font-size: inherit !important; }
[data-testid=stMain] .katex { font-size: 1.35em !important; }  /* its subscripts (0.7em) at >= 20 px */
</style>"""


def _present_on_arrival() -> bool:
    """Read ?present= when the student arrives at a page (never on later reruns, like settings)."""
    state = st.session_state
    if state.get(_ARRIVED, True) and PRESENT_PARAM in st.query_params:
        state[_PRESENT] = st.query_params[PRESENT_PARAM].lower() in ("1", "true")
    return presenting()


def presenting() -> bool:
    """Whether the page is in presenter mode."""
    return bool(st.session_state.get(_PRESENT, False))


def _leave_presenter() -> None:
    st.session_state[_PRESENT] = False


def presenter_figure(fig) -> go.Figure:
    """A copy of ``fig`` (a Figure or a ``SharedFigure``) with every text at least PRESENTER_FONT px (every
    ``font``, ``textfont``, ``tickfont``... of the layout and the traces, the slider's labels, the buttons and
    the animation frames included; builders stay as they are)."""
    spec = _larger_fonts(dict(fig.spec if isinstance(fig, SharedFigure) else fig.to_dict()))
    frames = spec.pop("frames", None) or []
    spec.setdefault("layout", {})
    spec["layout"]["font"] = {**spec["layout"].get("font", {}), "size": PRESENTER_FONT}
    spec["layout"]["hoverlabel"] = {**spec["layout"].get("hoverlabel", {}), "font": {"size": PRESENTER_FONT}}
    _room_for_buttons(spec["layout"])
    _decades_only(spec["layout"])
    out = go.Figure(spec)
    for note in out.layout.annotations:
        note.font.size = max(note.font.size or 0, PRESENTER_FONT)
    if not frames:
        return out
    return stepper.AnimatedFigure(out.to_dict(), frames)


def _decades_only(layout: dict) -> None:
    """A log axis that spans few decades labels 2 and 5 between them at three quarters of the font (plotly.js):
    on a projector those fall under 20 px, so a log axis without ticks of its own is labelled at decades only."""
    for name, axis in layout.items():
        if name[:5] in ("xaxis", "yaxis") and axis.get("type") == "log" and "dtick" not in axis:
            axis["dtick"] = 1


def _room_for_buttons(layout: dict) -> None:
    """A slider above the plot and buttons ``pad.b`` px above it (an animation's Play/Pause) are spaced for
    FONT_SIZE text: grow their gaps and the top margin with the text, so nothing covers the slider's labels."""
    labels = PRESENTER_FONT // 2  # the slider's step labels grow from FONT_SIZE - 4 to PRESENTER_FONT
    grow = PRESENTER_FONT / theme.FONT_SIZE - 1  # the buttons' gap above the slider grows with the text
    sliders = [s for s in layout.get("sliders", ()) if s.get("yanchor") == "bottom"]
    for slider in sliders:
        slider["pad"] = {**slider.get("pad", {}), "b": slider.get("pad", {}).get("b", 0) + labels}
    extra = 0
    for menu in layout.get("updatemenus", ()):
        b = menu.get("pad", {}).get("b")
        if b and sliders:
            extra = max(extra, labels + round(b * grow))
            menu["pad"] = {**menu["pad"], "b": b + labels + round(b * grow)}
    if extra:
        margin = layout.setdefault("margin", {})
        margin["t"] = margin.get("t", 100) + extra


def _larger_fonts(node):
    """``node`` (a figure's JSON) with the size of every font in it raised to PRESENTER_FONT."""
    if isinstance(node, list):
        return [_larger_fonts(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key.endswith("font") and isinstance(value, dict):
            size = value.get("size")
            if isinstance(size, (int, float)):
                value = {**value, "size": max(size, PRESENTER_FONT)}
            elif size is None:
                value = {**value, "size": PRESENTER_FONT}
            out[key] = value
        elif key in ("source", "x", "y", "z", "customdata", "hovertext") or key == "text" and isinstance(value, list):
            out[key] = value  # data: nothing to enlarge inside
        else:
            out[key] = _larger_fonts(value)
    return out


# --------------------------------------------------------------------------------------------------
# Settings: each page's own, kept while the student visits other pages, and mirrored in the URL.
#
# Session state is one namespace for the whole app, and Streamlit forgets the value of a widget that was not
# drawn in the last run. So every setting's key is "<page>.<field>" (the field named after the config field it
# fills), and setup_page re-assigns every setting kept so far at the top of each run, which turns the value of a
# widget on another page into plain session state that survives until the student comes back. The URL carries
# the current page's settings (by field name, with page=<id>); it is read when the student arrives at a page (a
# fresh load, a shared link, a lesson's link, the browser's back button), never on the reruns that follow, so
# it cannot fight a widget the student just moved.

_KEPT = "_ui.kept"  # keys of every setting registered in this session
_PAGE = "_ui.page"  # the page that ran last in this session
_ARRIVED = "_ui.arrived"  # True while this run is the first run of the page since the student came to it
PAGE_PARAM = "page"  # the URL's marker of which page its settings belong to


@dataclass(frozen=True)
class Setting:
    """One setting of a page: its field name, default, and what the URL may set it to. ``options`` lists
    the allowed values; ``low``/``high`` bound a number; ``many`` is a list of options (repeated in the URL);
    ``in_url`` False keeps it out of the URL (a prediction, say); ``max_chars`` bounds a text from the URL as
    its text box bounds what is typed (a URL is not limited by the box, and is resent on every rerun)."""

    field: str
    default: object
    options: tuple | None = None
    low: float | None = None
    high: float | None = None
    many: bool = False
    in_url: bool = True
    max_chars: int | None = None

    def parse(self, raw: list[str]):
        """The value a URL's entries stand for; ValueError when they stand for nothing allowed."""
        if self.many:
            values = [v for v in raw if v in self.options]
            if not values:
                raise ValueError(raw)
            return values
        text = raw[-1]
        if self.max_chars is not None and len(text) > self.max_chars:
            raise ValueError(f"{len(text)} characters")
        if isinstance(self.default, bool):
            value = {"true": True, "false": False}[text.lower()]
        elif isinstance(self.default, (int, float)):
            value = type(self.default)(float(text)) if isinstance(self.default, float) else int(text)
            if isinstance(value, float) and not np.isfinite(value):
                raise ValueError(text)
        else:
            value = text
        if self.options is not None and value not in self.options:
            raise ValueError(text)
        if self.low is not None and not self.low <= value <= self.high:
            raise ValueError(text)
        return value


class Settings:
    """The settings of one page. ``key(field)`` is the widget key; ``settings[field]`` the current value."""

    def __init__(self, page: str, specs: Sequence[Setting]):
        self.page = page
        self.specs = {s.field: s for s in specs}
        state = st.session_state
        # A page link keeps the query string of the page the student came from: read the URL only when
        # it is this page's own (the marker our links and sync_url write) or carries no marker at all.
        use_url = state.get(_ARRIVED, True) and st.query_params.get(PAGE_PARAM, page) == page
        kept = state.setdefault(_KEPT, set())
        for spec in specs:
            key = self.key(spec.field)
            kept.add(key)
            from_url = st.query_params.get_all(spec.field) if spec.in_url and use_url else []
            if key in state and not from_url:
                continue
            value = spec.default
            if from_url:
                try:
                    value = spec.parse(from_url)
                except (ValueError, KeyError):
                    pass  # junk in the URL: the default (or the kept value) stays
                else:
                    state[key] = value
                    continue
            if key not in state:
                state[key] = list(value) if spec.many else value

    def key(self, field: str) -> str:
        if field not in self.specs:
            raise KeyError(f"{self.page} has no setting {field!r}")
        return f"{self.page}.{field}"

    def __getitem__(self, field: str):
        return st.session_state[self.key(field)]

    def __setitem__(self, field: str, value) -> None:
        st.session_state[self.key(field)] = value

    def update(self, values: dict) -> None:
        for field, value in values.items():
            self[field] = value

    def query(self) -> dict:
        """The page's settings as URL query parameters (lists stay lists)."""
        out = {PAGE_PARAM: self.page, **({PRESENT_PARAM: "1"} if presenting() else {})}
        for field, spec in self.specs.items():
            if spec.in_url:
                value = self[field]
                out[field] = [str(v) for v in value] if spec.many else str(value)
        return out

    def values(self) -> dict:
        """Every setting's current value, by field name."""
        return {field: self[field] for field in self.specs}

    def sync_url(self) -> None:
        """Write the current settings into the URL (only this page's, so the URL describes this view)."""
        st.query_params.from_dict(self.query())


def _arrive(page: str) -> None:
    """Note whether this run is the student's arrival at ``page``, and keep every other page's settings."""
    state = st.session_state
    state[_ARRIVED] = state.get(_PAGE) != page
    state[_PAGE] = page
    for key in state.get(_KEPT, ()):
        if key in state:
            state[key] = state[key]  # a widget's value becomes plain state: it outlives its widget


# --------------------------------------------------------------------------------------------------
# Cached engine calls, keyed on small frozen configs.


@st.cache_data(max_entries=64, show_spinner=False)
def cached_run(config: studies.CellConfig) -> studies.Run:
    with turns.PAGES:
        return studies.run(config.make_cell(), config.make_input())


@st.cache_data(max_entries=64, show_spinner=False)
def cached_silence(config: studies.CellConfig) -> studies.Run:
    """The same cell fed zeros for as many steps: what the input's effect is measured against."""
    with turns.PAGES:
        return studies.run(config.make_cell(), np.zeros_like(config.make_input()))


@st.cache_data(max_entries=16, show_spinner=False)
def cached_uploaded_run(
    data: bytes, nonlinearity: str, config: studies.CellConfig, silent: bool = False
) -> studies.Run:
    import io

    cell = weights.load_npz(io.BytesIO(data))
    if cell.kind == "rnn":  # the activation is a choice for the plain RNN only
        cell = weights.from_state_dict("rnn", cell.state_dict(), nonlinearity=nonlinearity)
    x = config.make_input(cell.input_size)
    with turns.PAGES:
        return studies.run(cell, np.zeros_like(x) if silent else x)


def cell_of(run: studies.Run) -> cells.Cell:
    return weights.from_state_dict(run.kind, run.state_dict, nonlinearity=run.nonlinearity)


def literal(text) -> str:
    """``text`` as a Markdown code span: nothing inside it is read as Markdown, HTML, maths or an autolink
    (escaping punctuation is not enough: GFM still turns an escaped ``https\\://...`` into a live link)."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def guarded(action: Callable, *args, **kwargs):
    """Call ``action``; on ValueError show the message in the page (escaped: messages may quote what a
    student typed, a URL or a file) and return None."""
    try:
        return action(*args, **kwargs)
    except ValueError as err:
        st.error(f"**That input cannot be used:** {literal(err)}", icon="⚠️")
        return None


def submitted(action: Callable, *args, refused: str = "Not started.", bad: str = "That input cannot be used", **kwargs):
    """A press to the training service, ``action(*args, **kwargs)`` (its ``submit`` or ``sweep``): what it returns,
    or None after saying why on the page: a refusal (``trainer.RefusedError``, the reason in a student's words) as
    a warning that starts with ``refused``, a bad input (ValueError) as an error that starts with ``bad``."""
    try:
        return action(*args, **kwargs)
    except trainer.RefusedError as refusal:
        st.warning(f"**{refused}** {refusal}", icon="⏳")
    except ValueError as err:
        st.error(f"**{bad}:** {literal(err)}", icon="⚠️")
    return None


def show_figure(
    fig: go.Figure | SharedFigure,
    key: str | None = None,
    on_select: str = "ignore",
    presenter_height: int | None = None,
):
    """Show a figure, or a figure shared across sessions (``shared_figure``) without building it again; in
    presenter mode with large type (and ``presenter_height`` px tall, when given: what is left of 720 px
    under the page's controls). With ``on_select="rerun"``, return Streamlit's selection event."""
    if presenting():
        fig = presenter_figure(fig)
        if presenter_height:
            fig.update_layout(height=presenter_height)
    elif isinstance(fig, SharedFigure):
        fig = _Prebuilt(fig.spec)
    return st.plotly_chart(
        fig,
        width="stretch",
        theme=None,
        key=key,
        on_select=on_select,
        selection_mode="points",
        config={"displaylogo": False, "toImageButtonOptions": {"scale": 2}},
    )


def csv_bytes(columns: dict[str, np.ndarray]) -> bytes:
    """A CSV with one column per named 1-D array (equal lengths)."""
    names = list(columns)
    table = np.column_stack([np.asarray(columns[n], dtype=float) for n in names])
    lines = [",".join(names)] + [",".join(f"{v:.6g}" for v in row) for row in table]
    return ("\n".join(lines) + "\n").encode()


def csv_download(label: str, columns: dict[str, np.ndarray], file_name: str) -> None:
    """A download button for ``csv_bytes(columns)``, written only when someone clicks (most reruns never
    download) and without a rerun."""
    st.download_button(label, lambda: csv_bytes(columns), file_name=file_name, mime="text/csv", on_click="ignore")


def run_columns(run: studies.Run, prefix: str = "") -> dict[str, np.ndarray]:
    """A run as CSV columns: t, x, then h/c/gates per unit."""
    T = run.h.shape[0]
    columns = {"t": np.arange(T)} if not prefix else {}
    for d in range(run.x.shape[1]):
        columns[f"{prefix}x{d}"] = run.x[:, d]
    arrays = {"h": run.h, **({"c": run.c} if run.c is not None else {}), **run.gates}
    for name, values in arrays.items():
        for j in range(values.shape[1]):
            columns[f"{prefix}{name}_{j}"] = values[:, j]
    return columns


# --------------------------------------------------------------------------------------------------
# Shared by every session of the server: the training service, and figures built once per view.


def training_service() -> trainer.TrainingService:
    """The server's one training service: identical Train presses from any session share one run, the
    others queue for a pool of worker processes (see rnnviz.app.trainer). A process-wide object, never in
    Streamlit's caches, which any client may clear; its workers start while the first visitor reads the page
    and end with the process."""
    return trainer.shared_service(prestart=True, orphan_after=float(st.get_option("server.disconnectedSessionTTL")))


def session_alive() -> Callable[[], bool] | None:
    """For ``TrainingService.submit(alive=...)``: whether this browser session is still connected, asked
    from the service's thread (None outside a Streamlit server, e.g. in AppTest)."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not runtime.exists():
        return None
    server, session_id = runtime.get_instance(), ctx.session_id
    return lambda: server.is_active_session(session_id)


def session_owner() -> str:
    """This browser session's name for ``TrainingService.submit(owner=...)``, kept across its reruns."""
    return st.session_state.setdefault("_rnnviz_owner", uuid.uuid4().hex)


REPLAYED_LIVE = {None: "", "yours": " · your earlier run, replayed", "other": " · another session's run, replayed"}


def training_progress(snap: trainer.Snapshot, replayed: str | None = None) -> tuple[float, str]:
    """A Train press's progress bar, (fraction, text), for a queued or running snapshot; ``replayed`` is None,
    "yours" (a run this session started before) or "other" (a run another session started)."""
    if snap.status == "queued":
        ahead = "yours is next" if snap.position == 1 else f"{snap.position - 1} runs ahead of yours"
        return 0.0, f"Queued: {ahead} (every training process on this server is busy)"
    done, budget = min(snap.updates), snap.configs[0].steps
    return done / budget, f"Training: update {done} of {budget}{REPLAYED_LIVE[replayed]}"


def poll_until_one_finishes(polls: Sequence[Callable[[], bool]]) -> None:
    """The end of a page's script run while something trains: call every poll (each draws its progress and
    waits briefly for news) until one says its job finished, then rerun the page to draw the result. A click
    ends this script run (and the loop) at once; the next run polls again."""
    while polls:
        if any([poll() for poll in polls]):
            st.rerun()


def sweep_progress(snaps: Sequence[trainer.Snapshot]) -> tuple[float, str]:
    """A sweep's progress bar, (fraction, text), from the snapshots of its runs."""
    done, running, queued = (sum(s.status == kind for s in snaps) for kind in ("done", "running", "queued"))
    return done / len(snaps), f"{done} of {len(snaps)} runs done · {running} training now, {queued} queued"


@dataclass(frozen=True, eq=False)
class SharedFigure:
    """A built figure as the dictionary Plotly sends to the browser (``go.Figure.to_dict()``), made once
    per server for one key and read by every session. Nobody may change it: it is the same object for all."""

    spec: dict


def shared_figure(key: Hashable, build: Callable[[], go.Figure | dict]) -> SharedFigure:
    """The figure ``build()`` makes, built once per server for ``key`` and shared by every session (up to
    128 keys, least recently used dropped). ``key`` must hold everything the figure shows (small scalars and
    frozen configs: the cell config, the step, the unit, ...); ``build`` must be a pure figure builder.
    Never for figures of uploaded or otherwise per-session data.

    Example: ``ui.show_figure(ui.shared_figure(("overview", config, step), lambda: figures.overview_figure(...)))``
    """
    return _shared_figure(key, build)


@st.cache_resource(max_entries=128, show_spinner=False)
def _shared_figure(key: Hashable, _build: Callable[[], go.Figure | dict]) -> SharedFigure:  # _build: not hashed
    with turns.PAGES:
        return SharedFigure(figure_dict(_build()))


def figure_dict(fig: go.Figure | dict) -> dict:
    """``fig.to_dict()`` for a figure nobody uses afterwards, without its copy: ``to_dict`` deep-copies the
    figure's data and layout (every array, every frame) before turning NumPy arrays into Plotly's base64
    form, which was a tenth of building the Cell stepper's figure; this hands over the figure's own
    dictionaries, converted in place. The same dictionary, key for key (tests/test_figure_sending.py); a
    figure class with a ``to_dict`` of its own other than the stepper's animated one gets its ``to_dict``.
    A figure built as a dictionary (stepper.timeline_spec: data, layout and frames) is converted in place."""
    if isinstance(fig, dict):
        out = {"data": fig["data"], "layout": fig["layout"]}
        convert_to_base64(out)
        return {**out, "frames": fig["frames"]} if fig.get("frames") else out
    own = type(fig).to_dict
    if own is not go.Figure.to_dict and own is not stepper.AnimatedFigure.to_dict:
        return fig.to_dict()
    out = {"data": fig._data, "layout": fig._layout}  # what BaseFigure.to_dict copies
    frames = [frame._props for frame in fig._frame_objs]
    if frames:
        out["frames"] = frames
    convert_to_base64(out)
    if isinstance(fig, stepper.AnimatedFigure):  # its frames are added as built, after the conversion
        out = {**out, "frames": fig.built_frames}
    return out


class _Prebuilt(go.Figure):
    """What st.plotly_chart needs from a Figure is its ``to_dict()``: this one hands over the shared
    dictionary instead of copying and encoding a whole figure again (st.plotly_chart only reads it). It is
    never initialised as a Figure: an empty Figure still validates Plotly's default template into its
    layout, a few milliseconds for every shared figure of every rerun, for nothing that is sent."""

    def __new__(cls, spec: dict):
        self = object.__new__(cls)
        self._spec = spec
        return self

    def __init__(self, spec: dict):  # nothing of go.Figure's: see the class docstring
        pass

    def to_dict(self) -> dict:
        return self._spec
