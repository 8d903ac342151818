"""Keyboard controls for an animated Plotly figure (the Cell stepper's): real <button>s for first, previous,
Play, Pause, next and last step, and the arrow, Home and End keys, with a visible focus ring.

Plotly's own Play/Pause (an updatemenu) and its step slider are SVG without tabindex: the keyboard cannot reach
them (issue 23). This block is a small same-origin iframe (``st.components.v1.html``); its script finds the
page's animated figure (the first plot with frames) in ``window.parent.document`` and drives it the way its own
controls do: Play and Pause dispatch a click on the figure's own buttons (so a backward pass plays backwards, as
its button says), a step calls ``Plotly.animate`` with the slider step's own arguments. The slider follows (it is
bound to the frames), and the step read back from it is announced in a live region."""

from __future__ import annotations

import streamlit.components.v1 as components

_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><style>
body { margin: 0; padding: 4px 4px; font-family: "Source Sans Pro", "Source Sans 3", sans-serif; font-size: %(px)dpx; }
[role=toolbar] { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
button { font: inherit; padding: 2px 12px; border: 1px solid #555; border-radius: 6px; background: #fff;
  color: #111; cursor: pointer; }
button:hover { background: #eef5fb; }
button:focus-visible { outline: 3px solid #0072B2; outline-offset: 2px; }
#now { margin-left: 8px; color: #333; }
.hint { color: #555; margin-left: 8px; }
</style></head><body>
<div role="toolbar" aria-label="Animation: step through time" id="bar">
  <button id="first" aria-label="First step">⏮</button>
  <button id="prev" aria-label="Previous step">◀ step</button>
  <button id="play" aria-label="Play">▶ Play</button>
  <button id="pause" aria-label="Pause">❚❚ Pause</button>
  <button id="next" aria-label="Next step">step ▶</button>
  <button id="last" aria-label="Last step">⏭</button>
  <span id="now" aria-live="polite"></span>
  <span class="hint">(← → step, Home / End)</span>
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
%(narrow)s
</script></body></html>"""


# A figure may carry its phone layout as a Plotly.relayout update in layout.meta.narrow (the server cannot see the
# width): applied while its plot is under 480 px wide, again after a redraw that undid it (checked every second).
NARROW_JS = """
function narrow() {
  for (const gd of doc.querySelectorAll('[data-testid=stPlotlyChart] .js-plotly-plot')) {
    const update = gd.layout && gd.layout.meta && gd.layout.meta.narrow;
    if (update && gd.clientWidth > 0 && gd.clientWidth < 480 && !gd.layout.meta.narrowed)
      window.parent.Plotly.relayout(gd, {...update, 'meta.narrowed': true});
  }
}
setInterval(narrow, 1000);
narrow();
"""


def keyboard_player(font_px: int = 17) -> None:
    """The keyboard controls of the page's animated figure, drawn where it is called (under the figure)."""
    components.html(_HTML % {"px": font_px, "narrow": NARROW_JS}, height=font_px * 2 + 22)
