"""Keyboard controls for an animated Plotly figure (the Cell stepper's): real <button>s for first, previous,
Play, Pause, next and last step, and the arrow, Home and End keys, with a visible focus ring.

Plotly's own Play/Pause (an updatemenu) and its step slider are SVG without tabindex: the keyboard cannot reach
them (issue 23). This block is a small same-origin iframe (``st.iframe`` of an HTML string); its script finds the
page's animated figure (the first plot with frames) in ``window.parent.document`` and drives it the way its own
controls do: Play and Pause dispatch a click on the figure's own buttons (so a backward pass plays backwards, as
its button and this one say), a step calls ``Plotly.animate`` with the slider step's own arguments. The slider
follows (it is bound to the frames), and the step read back from it is announced in a live region.

The step lives in the browser, so the player also keeps it when a changed setting rebuilds the figure
(``KEEP_JS``): a page tags each figure (:func:`tagged`) and tells the player its token (:func:`view_token`)
and whether to keep the step this time (:func:`keep_step`)."""

from __future__ import annotations

import hashlib

import streamlit as st

_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><style>
body { margin: 0; padding: 4px 4px; font-family: "Source Sans Pro", "Source Sans 3", sans-serif; font-size: %(px)dpx; }
[role=toolbar] { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
button { font: inherit; padding: 2px 12px; border: 1px solid #555; border-radius: 6px; background: #fff;
  color: #111; cursor: pointer; }
button:hover { background: #eef5fb; }
button:focus-visible { outline: 3px solid #0072B2; outline-offset: 2px; }
#now { margin-left: 8px; color: #333; }
.hint { color: #555; margin-left: 8px; }
@media (max-width: 480px) { .hint { display: none; } button { padding: 2px 8px; } #now { margin-left: 2px; } }
</style></head><body>
<div role="toolbar" aria-label="Animation: step through time" id="bar">
  <button id="first" aria-label="First step">⏮</button>
  <button id="prev" aria-label="Previous step">◀ step</button>
  <button id="play" aria-label="%(play_aria)s">%(play)s</button>
  <button id="pause" aria-label="Pause">❚❚ Pause</button>
  <button id="next" aria-label="Next step">step ▶</button>
  <button id="last" aria-label="Last step">⏭</button>
  <span id="now" aria-live="polite"></span>
  <span class="hint">(← earlier, → later, Home / End)</span>
</div>
<script>
const doc = window.parent.document;
function figure() {
  return Array.from(doc.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')).find(
    gd => gd._transitionData && gd._transitionData._frames && gd._transitionData._frames.length > 0);
}
function slider(gd) { return gd && gd._fullLayout && gd._fullLayout.sliders && gd._fullLayout.sliders[0]; }
function show() {
  const s = slider(figure());
  if (s) document.getElementById('now').textContent = 'step ' + s.steps[s.active].label;
}
function go(delta, absolute) {
  const gd = figure(), s = slider(gd);
  if (!s) return;
  const n = s.steps.length;
  const k = Math.max(0, Math.min(n - 1, absolute === undefined ? s.active + delta : absolute));
  const step = s.steps[k];
  window.parent.Plotly.animate(gd, step.args[0], step.args[1]).then(show);
}
function press(index) {  // the figure's own Play (0) or Pause (1) button: its own arguments
  const button = figure() && figure().querySelectorAll('.updatemenu-button')[index];
  if (button) button.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  setTimeout(show, 200);
}
document.getElementById('first').onclick = () => go(0, 0);
document.getElementById('last').onclick = () => go(0, 1e9);
document.getElementById('prev').onclick = () => go(-1);
document.getElementById('next').onclick = () => go(1);
document.getElementById('play').onclick = () => press(0);
document.getElementById('pause').onclick = () => press(1);
document.getElementById('bar').addEventListener('keydown', e => {
  const keys = {ArrowLeft: () => go(-1), ArrowRight: () => go(1), Home: () => go(0, 0), End: () => go(0, 1e9)};
  if (keys[e.key]) { keys[e.key](); e.preventDefault(); }
});
setTimeout(show, 500);
function fit() {  // a narrow screen wraps the buttons: the frame grows to show every row
  const frame = window.frameElement;
  if (frame) frame.style.height = Math.ceil(document.body.getBoundingClientRect().height) + 'px';
}
new ResizeObserver(fit).observe(document.body);
fit();
%(narrow)s
%(keep)s
</script></body></html>"""


# A figure may carry its phone layout as a Plotly.relayout update in layout.meta.narrow (the server cannot see the
# width), and a trace its own Plotly.restyle update in its meta.narrow (the diagram's boxes: smaller on a phone):
# applied while its plot is under 480 px wide, again after a redraw that undid it (checked every second).
NARROW_JS = """
function narrow() {
  for (const gd of doc.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')) {
    const update = gd.layout && gd.layout.meta && gd.layout.meta.narrow;
    if (update && gd.clientWidth > 0 && gd.clientWidth < 480 && !gd.layout.meta.narrowed) {
      (gd.data || []).forEach((trace, i) => {
        if (trace.meta && trace.meta.narrow) window.parent.Plotly.restyle(gd, trace.meta.narrow, [i]);
      });
      window.parent.Plotly.relayout(gd, {...update, 'meta.narrowed': true});
    }
  }
}
setInterval(narrow, 1000);
narrow();
"""


# The step the learner is on lives in the browser (Play and the slider never rerun the page), so a rebuilt
# figure (a changed setting) would start at the step the server last knew. Each player records its figure's
# step under the page and pass (in the parent window: a reload starts afresh), and when the figure it belongs
# to (layout.meta.view == VIEW) first appears, moves it to the recorded step, clamped to its steps, unless
# the server chose the step itself this time (KEEP false: a click on a cell).
KEEP_JS = """
const VIEW = %(view)s, KEEP = %(keep)s, SLOT = window.parent.location.pathname + '|' + %(slot)s;
const steps = window.parent.__rnnvizSteps || (window.parent.__rnnvizSteps = {});
let arrived = false;
function follow() {
  const gd = figure(), s = slider(gd);
  if (!s || !gd.layout.meta || gd.layout.meta.view !== VIEW) return;  // not (yet) this player's figure
  if (!arrived) {
    arrived = true;
    const want = steps[SLOT];
    if (KEEP && want !== undefined && want !== s.active) { go(0, Math.min(want, s.steps.length - 1)); return; }
  }
  steps[SLOT] = s.active;
}
setInterval(follow, 250);
"""


def keyboard_player(font_px: int = 17, backward: bool = False, view: str = "", keep: bool = True) -> None:
    """The keyboard controls of the page's animated figure, drawn where it is called (under the figure).
    ``backward``: the figure's Play runs back in time (the Cell stepper's backward view), and its button says so;
    the step buttons and keys keep to time order (previous = t − 1, Home = the first step) in either view.
    ``view``: the token the figure carries in ``layout.meta.view``; with one, the step is kept across rebuilds
    (``KEEP_JS``) unless ``keep`` is False."""
    import json

    play, aria = ("◀ Play backwards", "Play backwards in time") if backward else ("▶ Play", "Play")
    kept = ""
    if view:
        slot = "backward" if backward else "forward"
        kept = KEEP_JS % {"view": json.dumps(view), "keep": json.dumps(bool(keep)), "slot": json.dumps(slot)}
    fields = {"px": font_px, "narrow": NARROW_JS, "play": play, "play_aria": aria, "keep": kept}
    st.iframe(_HTML % fields, height=font_px * 2 + 22)  # st.components.v1.html is deprecated


# --------------------------------------------------------------------------------------------------
# Which figure a player belongs to, and whether it keeps the learner's step

CHOSEN = "player.step_chosen"  # session state: True while a page's own choice (a click) sets this run's step


def view_token(view_key) -> str:
    """A short name for one built view (``view_key``: the page's key of what the figure shows): the figure
    carries it in layout.meta.view (:func:`tagged`) and so does its keyboard player (``keyboard_player(view=)``)."""
    return hashlib.sha1(repr(view_key).encode()).hexdigest()[:12]


def tagged(build, view_key):
    """``build`` (a function making a figure) with the view's token put in the figure's layout.meta, beside what
    the builder put there."""

    def built():
        fig = build()
        if isinstance(fig, dict):  # built as Plotly's JSON (stepper.timeline_spec)
            fig["layout"]["meta"] = {**fig["layout"].get("meta", {}), "view": view_token(view_key)}
        else:
            fig.layout.meta = {**(fig.layout.meta or {}), "view": view_token(view_key)}
        return fig

    return built


def keep_step(state) -> bool:
    """Whether the player should put a rebuilt figure back on the step the learner was on (``state``:
    ``st.session_state``): yes, unless the page chose this run's step itself (it set ``state[CHOSEN]``)."""
    return not state.get(CHOSEN, False)
