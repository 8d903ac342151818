"""A real server probed the way a student with the browser's developer tools open could: raw websocket messages
(Streamlit's BackMsg protobuf) and raw uploads, on 127.0.0.1. Each probe checks that no traceback reaches the
page, that the server still answers, and that another session open at the same time is unaffected.

- Uploads: 50 files of 0.9 MB PUT to one session's upload URL (no widget ever names them) keep at most the
  session's budget on the server (rnnviz.app.uploads), read back from the server's own /_stcore/metrics; the
  widget's current file is still read.
- Widget values no browser sends (rnnviz.app.wire): every widget of a page given a value of each wrong kind
  (a number to a select box, a string to a slider, an option a multiselect lacks, JSON that is not JSON to a
  chart's selection, huge strings), in a session's first message and in a later one.
- Unknown widget ids, a 1 MB query string, an unknown page, a flood of reruns and of "clear caches" (which
  rnnviz.app.wire ignores: the server's caches keep their entries).
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import re
import urllib.request
import uuid

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

from rnnviz.app import uploads
from rnnviz.engine.weights import init_cell, save_npz
from tests.helpers import run_async, streamlit_server

MB = 1024 * 1024
FINISHED = {
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}


@pytest.fixture(scope="module")
def server():
    with streamlit_server(log_name=".streamlit-server-probes.log") as url:
        yield url


class Session:
    """One browser tab, spoken to in BackMsg protobufs over the websocket as the frontend does."""

    def __init__(self, url: str, page: str):
        self.url, self.page = url, page
        self.ws = None
        self.session_id = ""
        self.page_hash = ""
        self.widgets: dict[str, str] = {}  # widget id -> element type
        self.texts: list[str] = []
        self.exceptions: list[str] = []

    async def __aenter__(self) -> Session:
        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self.ws = await connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=60)
        await self.run()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    def widget(self, key: str) -> str:
        return next(wid for wid in self.widgets if wid.endswith(f"-{key}"))

    async def send(self, back: BackMsg | bytes) -> None:
        await self.ws.send(back if isinstance(back, bytes) else back.SerializeToString())

    def rerun_message(self, *states: WidgetState, query: str = "") -> BackMsg:
        back = BackMsg()
        back.rerun_script.page_name = self.page
        back.rerun_script.page_script_hash = self.page_hash
        back.rerun_script.query_string = query
        back.rerun_script.widget_states.widgets.extend(states)
        return back

    async def run(self, *states: WidgetState, query: str = "", timeout: float = 120) -> list[str]:
        """Rerun with these widget values; the texts (markdown, alerts) of the run that finishes."""
        await self.send(self.rerun_message(*states, query=query))
        return await self.finished(timeout)

    async def finished(self, timeout: float = 120) -> list[str]:
        self.texts = []
        async with asyncio.timeout(timeout):
            while True:
                msg = ForwardMsg.FromString(await self.ws.recv())
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    self.session_id = msg.new_session.initialize.session_id
                elif kind == "navigation":
                    self.page_hash = msg.navigation.page_script_hash
                elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    element = msg.delta.new_element
                    etype = element.WhichOneof("type")
                    body = getattr(element, etype)
                    if getattr(body, "id", ""):
                        self.widgets[body.id] = etype
                    if etype == "exception":
                        self.exceptions.append(f"{body.type}: {body.message}")
                    elif etype in ("markdown", "alert", "heading"):
                        self.texts.append(body.body)
                elif kind == "script_finished" and msg.script_finished in FINISHED:
                    return self.texts


def xsrf_cookie(url: str) -> str:
    """Streamlit's XSRF cookie, as the browser gets it (the health route sets it)."""
    with urllib.request.urlopen(url + "/_stcore/health", timeout=10) as response:
        cookie = response.headers["Set-Cookie"]
    return re.match(r"_streamlit_xsrf=([^;]+)", cookie).group(1)


def put_file(url: str, session_id: str, file_id: str, data: bytes, token: str) -> int:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="model.npz"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}/_stcore/upload_file/{session_id}/{file_id}",
        data=body,
        method="PUT",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Cookie": f"_streamlit_xsrf={token}",
            "X-Xsrftoken": token,
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def upload_bytes(url: str) -> int:
    """The uploaded-file manager's bytes, all sessions together, as the server's metrics report them."""
    with urllib.request.urlopen(url + "/_stcore/metrics", timeout=10) as response:
        lines = response.read().decode().splitlines()
    return sum(int(float(line.split()[-1])) for line in lines if "UploadedFileManager" in line)


def cache_bytes(url: str, function: str) -> int:
    """The bytes one cached function holds on the server, as its metrics report them."""
    with urllib.request.urlopen(url + "/_stcore/metrics", timeout=10) as response:
        lines = response.read().decode().splitlines()
    return sum(int(float(line.split()[-1])) for line in lines if f'cache="{function}"' in line and "memory" in line)


def uploader_state(widget_id: str, file_id: str, data: bytes) -> WidgetState:
    state = WidgetState(id=widget_id)
    state.file_uploader_state_value.uploaded_file_info.add(file_id=file_id, name="model.npz", size=len(data))
    return state


def test_fifty_uploads_keep_at_most_the_sessions_budget_and_the_current_file_is_read(server):
    async def probe():
        token = xsrf_cookie(server)
        async with Session(server, "Cell_stepper") as student, Session(server, "Cell_stepper") as classmate:
            theirs = b"t" * int(0.9 * MB)
            assert put_file(server, classmate.session_id, "theirs", theirs, token) == 204
            largest = 0
            for i in range(50):
                assert put_file(server, student.session_id, f"junk-{i}", bytes(int(0.9 * MB)), token) == 204
                largest = max(largest, upload_bytes(server))
            budget = uploads.SESSION_BUDGET_FILES * MB
            assert largest <= budget + len(theirs)  # without the bound the student alone held 45 MB
            buffer = io.BytesIO()
            save_npz(init_cell("gru", input_size=1, hidden_size=3, seed=4), buffer)
            model = buffer.getvalue()
            assert put_file(server, student.session_id, "model", model, token) == 204
            texts = await student.run(uploader_state(student.widget("stepper.upload"), "model", model))
            assert any("Showing your uploaded GRU (3 units, 1 inputs)" in t for t in texts)  # the newest: kept
            assert upload_bytes(server) <= budget + len(theirs)
            texts = await classmate.run(uploader_state(classmate.widget("stepper.upload"), "theirs", theirs))
            assert any("That input cannot be used" in t for t in texts)  # their file is still there to be read
            assert not student.exceptions and not classmate.exceptions

    run_async(probe)


def crafted(widget_id: str) -> list[WidgetState]:
    """One value of every kind a widget's browser code might not send, for ``widget_id``."""
    states = []

    def add(fill) -> None:
        state = WidgetState(id=widget_id)
        fill(state)
        states.append(state)

    for number in (1e308, -1e308, math.nan, math.inf, -0.5):
        add(lambda s, v=number: setattr(s, "double_value", v))
    for number in (2**62, -(2**62), -1):
        add(lambda s, v=number: setattr(s, "int_value", v))
    for text in ("x" * 200_000, "<script>alert(1)</script>", "\x00", ""):
        add(lambda s, v=text: setattr(s, "string_value", v))
    for texts in (["no such option"], ["x" * 10_000] * 50, []):
        add(lambda s, v=texts: (s.string_array_value.SetInParent(), s.string_array_value.data.extend(v)))
    for numbers in ([math.nan], [1e308, -1e308], [], [1.0] * 1000):
        add(lambda s, v=numbers: (s.double_array_value.SetInParent(), s.double_array_value.data.extend(v)))
    for numbers in ([10**12], [-5], []):
        add(lambda s, v=numbers: (s.int_array_value.SetInParent(), s.int_array_value.data.extend(v)))
    selections = ("{not json", json.dumps({"selection": {"points": "abc"}}), "null", "[]")
    selections += (json.dumps({"selection": {"points": [{"x": "abc", "y": None, "curve_number": 99}]}}),)
    for text in selections:
        add(lambda s, v=text: setattr(s, "json_value", v))
        add(lambda s, v=text: setattr(s, "string_value", v))
    add(lambda s: setattr(s, "bool_value", True))
    add(lambda s: setattr(s, "trigger_value", True))
    add(lambda s: setattr(s, "bytes_value", b"\xff" * 1000))
    add(lambda s: setattr(s, "json_trigger_value", "{"))
    add(lambda s: (s.string_trigger_value.SetInParent(), setattr(s.string_trigger_value, "data", "x" * 100_000)))
    return states


@pytest.mark.parametrize("page", ["Cell_stepper", "Gradient_flow", "Forecast_lab", "Text_lab", "Lessons"])
def test_widget_values_no_browser_sends_never_break_a_page_or_another_session(server, page):
    async def probe():
        async with Session(server, page) as classmate:
            ids = list(classmate.widgets)
            kinds = len(crafted("any"))
            for kind in range(kinds):
                states = [crafted(wid)[kind] for wid in ids]
                async with Session(server, page) as student:  # a session opened normally, then crafted values
                    await student.run(*states)
                    await student.run()  # and the run after, with what the server kept
                    assert not student.exceptions, (kind, states[0], student.exceptions)
            first = Session(server, page)  # crafted values in a session's very first message
            first.ws = await connect(server.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"])
            try:
                for kind in range(0, kinds, 3):
                    await first.run(*(crafted(wid)[kind] for wid in ids))
            finally:
                await first.ws.close()
            assert not first.exceptions, first.exceptions
            texts = await classmate.run()
            assert texts and not classmate.exceptions  # the classmate's page still draws

    run_async(probe)


def test_unknown_ids_a_huge_query_an_unknown_page_and_floods_leave_every_session_working(server):
    async def probe():
        async with Session(server, "Cell_stepper") as classmate, Session(server, "Cell_stepper") as student:
            strangers = [state for i in range(20) for state in crafted(f"$$ID-{i:032x}-no.such.widget")[::7]]
            await student.run(*strangers)
            assert not student.exceptions
            await student.run(query="seed=" + "9" * 1_000_000 + "&custom=" + "1," * 200_000)
            assert not student.exceptions
            student.page, student.page_hash = "../../etc/passwd", "not a hash"
            await student.run()  # Streamlit answers an unknown page with its "page not found" and the main page
            student.page, student.page_hash = "Cell_stepper", ""
            for seed in range(300):  # a flood of reruns, each interrupting the last
                await student.send(student.rerun_message(query=f"seed={seed}"))
            await student.run()
            cached = cache_bytes(server, "rnnviz.app.ui.cached_run")
            clear = BackMsg()
            clear.clear_cache = True
            for _ in range(20):  # "clear caches": ignored (it emptied every session's caches, and broke the page)
                await student.send(clear)
                assert await classmate.run()
            assert cache_bytes(server, "rnnviz.app.ui.cached_run") == cached > 0
            texts = await student.run(query="seed=3")
            assert any("Feed one sequence" in t for t in texts)  # the page draws again after all of it
            assert not student.exceptions and not classmate.exceptions
            with urllib.request.urlopen(server + "/_stcore/health", timeout=10) as response:
                assert response.status == 200

    run_async(probe)
