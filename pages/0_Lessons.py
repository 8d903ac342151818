"""Lessons: the story step by step, each a live figure at pinned settings and a question to answer first."""

from urllib.parse import urlencode

import streamlit as st

from rnnviz.app import trainer, ui
from rnnviz.content import lessons
from rnnviz.figures import stepper, training_lab

N = len(lessons.LESSONS)
ui.setup_page(
    "lessons",
    "Lessons",
    "🎓",
    f"{N} short lessons, one idea each, in the order the story is usually told. Every figure is computed "
    "as you open it (the training lessons replay recorded runs, and can train them again). Before each "
    "reveal, **make a prediction**: the answer is read off the run you see.",
)


def follow_live_job(lesson: int, handle) -> None:
    """A live rerun on the training service: its progress (the page polls), then its runs in place of the
    shipped ones; Stop ends it. Shown on every lesson while it runs, so moving on does not lose it."""
    snap = handle.snapshot()
    if not snap.finished:
        bar = st.empty()
        if st.button("■ Stop the live run", key="lessons.stop_live"):
            handle.stop()
            del st.session_state[LIVE_JOB]
            st.rerun()
        seen = {"version": -1}

        def poll() -> bool:  # the bar follows the run; True once it has finished
            now = handle.wait(seen["version"], timeout=0.5)
            seen["version"] = now.version
            if not now.finished:
                fraction, text = ui.training_progress(now)
                bar.progress(fraction, text=f"Lesson {lesson}'s live run. {text}")
            return now.finished

        ui.poll_until_one_finishes([poll])
        return
    del st.session_state[LIVE_JOB]
    if snap.status != "done":
        st.warning(f"Lesson {lesson}'s live run ended without a result ({snap.status}). " + (snap.message or ""))
        return
    records = [snap.record(i) for i in range(len(snap.configs))]
    fresh = ui.guarded(lessons.with_records, lesson, st.session_state.get(LIVE) or shipped_data(), records)
    if fresh is not None:
        st.session_state[LIVE] = fresh
        st.session_state[LIVE_LESSONS] = {*st.session_state.get(LIVE_LESSONS, ()), lesson}
        st.rerun()


S = ui.Settings(  # answer keys are "lessons.answer<N>", as S.key(f"answer{N}") gives
    "lessons",
    [ui.Setting("lesson", 1, low=1, high=N)]
    + [ui.Setting(f"answer{L.number}", None, options=L.options, in_url=False) for L in lessons.LESSONS],
)
present = ui.presenting()
LIVE = "lessons.live_data"  # training results trained in this session (replace the shipped ones)
LIVE_LESSONS = "lessons.live_lessons"  # which lessons' runs those are
LIVE_JOB = "_lessons.live_job"  # (lesson, handle) of a live rerun on the server's training service


LAYOUT_CSS = """<style>
@media (min-width: 641px) { .st-key-lessons-body [data-testid=stHorizontalBlock] { flex-direction: row-reverse; } }
</style>"""


@st.cache_data(show_spinner=False)
def shipped_data() -> dict:
    return lessons.load_data()


@st.cache_data(max_entries=32, show_spinner="Computing the lesson's run...")
def measured(number: int, data: dict) -> dict:
    return lessons.lesson(number).measure(data)


def go_to(number: int) -> None:
    S["lesson"] = number


def answered(number: int) -> bool:
    return S[f"answer{number}"] is not None


with st.sidebar:
    done = sum(answered(L.number) for L in lessons.LESSONS)
    st.markdown("### Your progress")
    st.progress(done / N, text=f"{done} of {N} lessons answered")
    st.radio(
        "Lesson",
        [L.number for L in lessons.LESSONS],
        format_func={
            L.number: f"{'✅' if answered(L.number) else '⬜'} {L.number}. {L.title}" for L in lessons.LESSONS
        }.get,
        key=S.key("lesson"),
    )

S.sync_url()
number = S["lesson"]
L = lessons.lesson(number)
data = (st.session_state.get(LIVE) or shipped_data()) if L.trains else {}

prev_col, title_col, next_col = st.columns([3, 12, 2], vertical_alignment="center")
prev_col.button("← Previous", on_click=go_to, args=(number - 1,), disabled=number == 1, key="lessons.prev")
title_col.subheader(f"Lesson {number} of {N}: {L.title}")
next_col.button("Next →", on_click=go_to, args=(number + 1,), disabled=number == N, key="lessons.next")

m = ui.guarded(measured, number, data)
guess = S[f"answer{number}"]
veiled = bool(L.veil and guess is None)
figure = None
if m is not None:

    def lesson_figure():
        fig = L.figure(m)
        if veiled:  # the axes stay as they will be; the measured marks wait for a prediction
            lessons.veil(fig)
        if fig.layout.sliders:  # the lesson shows one pinned step; playing it is the full page's job
            fig.layout.sliders, fig.layout.updatemenus = (), ()
            if (fig.layout.margin.t or 0) >= stepper.CONTROLS_PX + 30:  # their room goes to the rows
                fig.update_layout(margin_t=fig.layout.margin.t - stepper.CONTROLS_PX)
        if present:
            fig.update_layout(height=470)
        return fig

    own = L.trains and st.session_state.get(LIVE)  # this session retrained a run: its figure is its own
    key = ("lesson", number, veiled, present)  # otherwise a lesson's figure is the same for the whole class
    figure = lesson_figure() if own else ui.shared_figure(key, lesson_figure)
if figure is not None:  # the sentences that name what the figure draws are made from the figure's own JSON
    paragraphs, notice = L.words(figure.to_dict() if hasattr(figure, "to_dict") else figure.spec)
else:
    paragraphs, notice = tuple(p for p in L.paragraphs if isinstance(p, str)), ""

# The figure comes first in the source, so that a phone (where columns stack in source order) shows it before
# the question and the reveal; on a wider screen LAYOUT_CSS puts the text back on the left.
st.html(LAYOUT_CSS)  # a constant: no user text reaches it
with st.container(key="lessons.body"):
    figure_col, text_col = st.columns([3, 2], gap="medium")
with text_col:
    question = st.container()  # in presenter mode the question comes first: the paragraphs are the teacher's
    for paragraph in paragraphs:
        st.markdown(paragraph)
    if m is not None:
        with question if present else st.container():
            guess = st.radio(f"**Predict:** {L.question}", L.options, key=f"lessons.answer{number}")
            if guess is not None:
                reveal = L.reveal(m)
                right = guess == reveal.answer
                verdict = "Right" if right else f"You predicted *{guess}*"
                message = f"**Measured: {reveal.answer}.** {verdict}. {reveal.text}"
                (st.success if right else st.info)(message, icon="✅" if right else "🔎")
with figure_col:
    if m is not None:
        ui.show_figure(figure, key=f"lessons.figure{number}")
        if veiled:
            st.caption("The measured curves appear once you predict.")
        st.markdown(f"**Notice:** {notice}")
        for _, numbers in m.get("equations", ()):
            st.latex(numbers)

if L.trains:
    live = number in st.session_state.get(LIVE_LESSONS, ())
    st.caption(
        "Trained live in this session."
        if live
        else f"{training_lab.replay_caption(shipped_data().get('made_on'))} Recorded by `{shipped_data()['made_by']}`."
    )
    cost = lessons.live_seconds(number, shipped_data())
    job = st.session_state.get(LIVE_JOB)
    if job is None and st.button(
        f"Train it again, live (took {cost:.0f} s when it was recorded)",
        key=f"lessons.train{number}",
    ):
        configs = lessons.live_configs(number)
        if configs is None:  # lesson 7 times a few updates, in the page: under a second
            fresh = ui.guarded(lessons.live_update, number, st.session_state.get(LIVE) or shipped_data())
            if fresh is not None:
                st.session_state[LIVE] = fresh
                st.session_state[LIVE_LESSONS] = {*st.session_state.get(LIVE_LESSONS, ()), number}
                st.rerun()
        else:  # the server's training service: shared with identical presses, stopped when the tab closes
            try:
                handle = ui.training_service().submit(
                    configs, owner=ui.session_owner(), alive=ui.session_alive(), kind="lesson"
                )
            except trainer.RefusedError as err:
                st.warning(str(err), icon="⏳")
            else:
                st.session_state[LIVE_JOB] = (number, handle)
                st.rerun()
    elif job is not None:
        follow_live_job(*job)

path, query = L.link()
label = L.link_label()
if L.anchor:  # st.page_link cannot carry the #anchor that scrolls to the figure: a plain link, in a new tab
    st.markdown(
        f'🔗 <a href="{L.href()}" target="_blank">{label}, at this figure</a> (a new tab)', unsafe_allow_html=True
    )
else:
    st.page_link(path, label=label, icon="🔗", query_params=query)
with st.expander("Link for a class: this lesson in presenter mode", expanded=present):
    base = (st.context.url or "").split("?")[0]
    # a code span, not st.code: a code block loads Streamlit's 1.5 MB syntax highlighter before the figure draws
    st.markdown(ui.literal(f"{base}?{urlencode(lessons.presenter_query(number))}"))
