"""Past one server: two replicas of the app behind nginx with the shipped configuration (scripts/deploy/), on
127.0.0.1. A browser walks through the app by the proxy (pages, an upload, a Train press and its result) and every
one of its requests, the websocket included, reaches one replica; browsers without the cookie are spread over
both."""

import contextlib
import io
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from rnnviz.engine.weights import init_cell, save_npz
from tests.helpers import ROOT, free_port, streamlit_server, wait_for_app

pytestmark = pytest.mark.browser

DEPLOY = ROOT / "scripts" / "deploy"
LINE = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d+) upstream=(?P<upstream>\S+) sticky=(?P<sticky>\S+)')


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:  # never skip: scripts/test.sh installs it
        raise RuntimeError("nginx not found: run the README test command (bash scripts/test.sh), which installs it")
    return found


@contextlib.contextmanager
def proxy(upstreams: list[str], folder: Path):
    """nginx with the shipped nginx.conf, its upstreams replaced by ours and its port by a free one; yields
    (url, access-log path)."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "listen 8080;" in conf
    (folder / "nginx.conf").write_text(conf.replace("listen 8080;", f"listen 127.0.0.1:{port};"))
    (folder / "upstreams.conf").write_text("".join(f"server {u};\n" for u in upstreams))
    log = folder / "access.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [nginx_binary(), "-p", str(folder), "-c", "nginx.conf", "-g", "daemon off;"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise RuntimeError(f"nginx did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        try:
            yield url, log
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def requests_in(log: Path) -> list[dict]:
    return [m.groupdict() for m in map(LINE.search, log.read_text().splitlines()) if m]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    with (
        streamlit_server(log_name=".streamlit-server-replica1.log") as one,
        streamlit_server(log_name=".streamlit-server-replica2.log") as two,
    ):
        upstreams = [one.removeprefix("http://"), two.removeprefix("http://")]
        with proxy(upstreams, tmp_path_factory.mktemp("nginx")) as (url, log):
            yield url, log, upstreams


def test_browsers_without_the_cookie_spread_and_one_with_it_stays(replicas):
    url, log, upstreams = replicas
    start = len(requests_in(log))
    cookies = []
    for _ in range(40):
        with urllib.request.urlopen(url + "/_stcore/health", timeout=10) as response:
            cookies.append(next(c for c in response.headers.get_all("Set-Cookie") if "rnnviz_replica=" in c))
    time.sleep(0.5)
    fresh = requests_in(log)[start:]
    assert {r["upstream"] for r in fresh} == set(upstreams)  # 40 new browsers: both replicas get some
    assert all(c.startswith("rnnviz_replica=") and "HttpOnly" in c for c in cookies)
    assert len(set(cookies)) == 40  # each new browser its own id
    cookie = cookies[0].split(";")[0]
    start = len(requests_in(log))
    for _ in range(20):
        request = urllib.request.Request(url + "/_stcore/health", headers={"Cookie": cookie})
        urllib.request.urlopen(request, timeout=10).close()
    time.sleep(0.5)
    again = requests_in(log)[start:]
    assert len(again) == 20 and len({r["upstream"] for r in again}) == 1


def test_a_student_session_through_the_proxy_stays_on_one_replica(replicas, browser):
    url, log, upstreams = replicas
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        page.goto(url + "/")
        wait_for_app(page, charts=0)
        page.goto(url + "/Cell_stepper")
        wait_for_app(page, charts=1)
        page.get_by_text("Your own PyTorch model").click()
        buffer = io.BytesIO()
        save_npz(init_cell("gru", input_size=1, hidden_size=3, seed=4), buffer)
        page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(
            {"name": "model.npz", "mimeType": "application/octet-stream", "buffer": buffer.getvalue()}
        )
        page.get_by_text("Showing your uploaded GRU (3 units, 1 inputs)").wait_for(timeout=60_000)
        page.goto(url + "/Training_lab?steps=50&length=10&hidden_size=4")
        wait_for_app(page, charts=1)
        page.get_by_role("button", name="▶ Train").click()
        page.get_by_text("RNN: test MSE").wait_for(timeout=120_000)
        assert page.locator("[data-testid=stException]").count() == 0
        sticky = next(c["value"] for c in context.cookies() if c["name"] == "rnnviz_replica")
    finally:
        context.close()
    time.sleep(1.0)  # a websocket is logged when it closes
    mine = [r for r in requests_in(log) if r["sticky"] == sticky]
    paths = " ".join(r["request"] for r in mine)
    for part in ("/_stcore/stream", "/_stcore/upload_file", "GET /Training_lab"):
        assert part in paths, part  # the websocket, the upload and the pages all went through the proxy
    assert {r["upstream"] for r in mine} <= set(upstreams) and len({r["upstream"] for r in mine}) == 1, mine
    # No proxy error (502/504). Streamlit's page, opened at a deep link, probes /<page>/_stcore/health and
    # host-config before the root ones: those 404s come from the app itself, with or without a proxy.
    assert all(r["status"] in ("101", "200", "204", "304") or "/_stcore/" in r["request"] for r in mine), mine
    assert not [r for r in mine if r["status"].startswith("5")], mine
