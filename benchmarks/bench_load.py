"""A class on one server: N websocket sessions against a real ``streamlit run app.py``. Run by hand:

    python benchmarks/bench_load.py                       # reruns at N = 1, 10, 30; Train with 3 sessions
    python benchmarks/bench_load.py --train-sessions 30   # the class-sized Train measurement
    python benchmarks/bench_load.py --skip-reruns --train-sessions 30 --train-query steps=200
    python benchmarks/bench_load.py --replicas 2            # two servers behind nginx (scripts/deploy/nginx.conf)
    python benchmarks/bench_load.py --skip-reruns --train-sessions 0 --largest-sessions 30 --sweep-sessions 30
    python benchmarks/bench_load.py --sessions 30 --train-sessions 0 --cpu-reruns 40 --profile /tmp/spy.txt

It starts the server itself on a free port of 127.0.0.1, sends traffic only there, and stops the server
at the end (or after ``--timeout`` seconds, whatever happens). Prints Markdown tables for the docs. With
``--replicas N`` it starts N servers and the shipped nginx configuration in front of them (nginx from PATH;
sessions talk to the proxy, each session's websocket stays on the replica it reached); the CPU and memory
columns then add up every replica.

Each session speaks Streamlit's own protocol (``/_stcore/stream``, subprotocol ``streamlit``) as the
browser does: a ``rerun_script`` BackMsg carries the page name and hash, the query string, the widget
values that changed and the hashes of the big messages it holds already (the server sends a reference
instead of an identical figure again); the server answers with deltas and a ``script_finished``.

What is measured:

- **Rerun**: from sending a rerun with one changed widget to its ``script_finished``: on both pages the
  ``seed`` (a new seed every rerun and per session, so neither the engine cache nor a shared figure ever
  hits: the worst case; the Cell stepper's step and Play never rerun the script at all). Each of N sessions
  does ``--reruns`` of them back to back, all sessions at once; p50/p95 over all of them. The first render
  of each session is not counted. With ``--same-view`` every session sets the same sequence of values (a
  class following the teacher's step), so whatever is shared across sessions can be reused.
- **Server memory**: the resident set of the server process (and of any child processes, e.g. training
  workers) after the N = 30 reruns, with the 30 sessions still open.
- **Train**: N sessions open the Training lab (optionally with ``--train-query``) and press Train at the same
  moment, in four rows: one press alone; N identical presses of settings nothing has trained yet; the same N
  presses again (the finished run replays); N presses with N different seeds (each row its own seeds, so
  nothing is cached unless the row says so); the time until every session has seen its
  results, i.e. a finished script run whose output holds the "Results:" heading (``--done-text``). This
  works for the page that trains in the session's script (its run ends with the results) and for a page
  that polls a shared training service with ``st.rerun`` or a fragment's ``run_every`` (the client
  follows the server's ``auto_rerun`` requests as the browser would).

- **Largest presses**: N sessions press Train at once with the largest settings of the page (temporal order,
  length 200, 64 units, 3000 updates, three models; a seed each): what each student sees, and when: the
  results, a refusal ("Not started", over the per-press cap of a shared server), or still queued after
  ``--largest-wait`` seconds; and the memory of the server and its workers after.
- **Sweeps queued**: N sessions press "Run the sweep with my settings" at once (distinct settings, so no run is
  shared); after ``--settle`` seconds, the server process's CPU over ``--window`` seconds while the sweeps wait
  (its polling and bookkeeping; the workers are other processes), and how many sweeps were admitted. Run it
  against an older copy (``--app-dir``) for a before/after.

- **CPU per rerun** (``--cpu-reruns``): one session alone, one rerun at a time, the server's CPU seconds per
  rerun for a view built before and for a new seed: what a rerun costs whatever else runs on the machine.
  ``--profile FILE`` samples the server with py-spy during the N-session reruns (``pip install py-spy``).

The machine is shared: take the numbers as "under load" unless it was idle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
FINISHED = {  # ScriptFinishedStatus values that end a run the client asked for
    ForwardMsg.FINISHED_SUCCESSFULLY,
    ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
    ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}


# --------------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log_path: Path, app_dir: Path = ROOT) -> subprocess.Popen:
    log = open(log_path, "w")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
        + ["--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"]
        + ["--browser.gatherUsageStats", "false"],
        cwd=app_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as one at the end
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    stop_server(proc)
    raise SystemExit(f"the server did not come up; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def start_proxy(upstream_ports: list[int], folder: Path) -> tuple[subprocess.Popen, int]:
    """nginx with scripts/deploy/nginx.conf in front of the given local ports; returns (process, its port)."""
    port = free_port()
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    conf = (ROOT / "scripts" / "deploy" / "nginx.conf").read_text().replace("listen 8080;", f"listen 127.0.0.1:{port};")
    (folder / "nginx.conf").write_text(conf.replace("access_log /dev/stdout replica;", "access_log off;"))
    (folder / "upstreams.conf").write_text("".join(f"server 127.0.0.1:{p};\n" for p in upstream_ports))
    nginx = next((n for n in ("nginx", "/usr/sbin/nginx") if Path(n).exists() or shutil.which(n)), "nginx")
    log = open(folder / "nginx.log", "w")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", "nginx.conf", "-g", "daemon off;"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
            return proc, port
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"nginx did not come up; see {folder / 'nginx.log'}")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far, all its threads (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_rss_mb(pid: int) -> tuple[int, float]:
    """(count, total RSS) of the processes whose parent is ``pid``, found through /proc."""
    count, total = 0, 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                count += 1
                total += rss_mb(int(entry.name))
    return count, total


# --------------------------------------------------------------------------------------------------
# One browser session, in Streamlit's protocol


class Session:
    def __init__(self, port: int, page: str, query: str = ""):
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.page, self.query = page, query
        self.page_hash = ""
        self.widgets: dict[str, tuple[str, str]] = {}  # widget id -> (element type, label)
        self.texts: list[str] = []  # headings, markdown and alerts of the run in progress
        self.exceptions = 0
        self.auto_rerun: tuple[float, str] | None = None  # (interval, fragment id) the server asked for
        self.finished: asyncio.Queue = asyncio.Queue()  # (status, texts) per finished run
        self.cache: dict[str, ForwardMsg] = {}  # as the browser's message cache: big deltas come once
        self.ws = None
        self._reader = None

    async def open(self) -> float:
        self.ws = await connect(self.url, subprotocols=["streamlit"], max_size=None, open_timeout=60, close_timeout=2)
        self._reader = asyncio.create_task(self._read())
        return await self.rerun()

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self.ws is not None:
            await self.ws.close()

    def widget_id(self, suffix: str = "", label: str = "") -> str:
        """The id of the widget whose user key is ``suffix`` (ids end in '-<key>') or whose label is ``label``."""
        for wid, (_, wlabel) in self.widgets.items():
            if (suffix and wid.endswith(f"-{suffix}")) or (label and wlabel == label):
                return wid
        raise LookupError(f"no widget {suffix or label!r} on {self.page}: {sorted(self.widgets)}")

    async def _read(self) -> None:
        async for frame in self.ws:
            msg = ForwardMsg.FromString(frame)
            if msg.WhichOneof("type") == "ref_hash":  # a message we hold already: the browser reads its copy
                msg = self.cache[msg.ref_hash]
            elif msg.metadata.cacheable:
                self.cache[msg.hash] = msg
            kind = msg.WhichOneof("type")
            if kind == "navigation":  # the page this run showed, as the browser remembers it
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                etype = element.WhichOneof("type")
                body = getattr(element, etype)
                wid = getattr(body, "id", "")
                if wid:
                    self.widgets[wid] = (etype, getattr(body, "label", ""))
                if etype in ("heading", "markdown", "alert"):
                    self.texts.append(body.body)
                elif etype == "exception":
                    self.exceptions += 1
            elif kind == "auto_rerun":
                self.auto_rerun = (msg.auto_rerun.interval, msg.auto_rerun.fragment_id)
            elif kind == "script_finished":
                texts, self.texts = self.texts, []
                await self.finished.put((msg.script_finished, texts))

    async def send_rerun(self, *states: WidgetState, fragment_id: str = "", auto: bool = False) -> None:
        back = BackMsg()
        client = back.rerun_script
        client.query_string = self.query
        client.page_name = self.page
        client.page_script_hash = self.page_hash
        client.fragment_id = fragment_id
        client.is_auto_rerun = auto
        client.context_info.timezone = "UTC"
        client.context_info.locale = "en-US"
        client.cached_message_hashes.extend(self.cache)
        for state in states:
            client.widget_states.widgets.append(state)
        await self.ws.send(back.SerializeToString())

    async def next_finished(self) -> list[str]:
        while True:
            status, texts = await self.finished.get()
            if status in FINISHED:
                return texts

    async def rerun(self, *states: WidgetState) -> float:
        start = time.perf_counter()
        await self.send_rerun(*states)
        await self.next_finished()
        return time.perf_counter() - start


def number(wid: str, value: float) -> WidgetState:
    state = WidgetState(id=wid)
    state.double_value = value
    return state


def slider(wid: str, value: float) -> WidgetState:
    state = WidgetState(id=wid)
    state.double_array_value.data.append(value)
    return state


def trigger(wid: str) -> WidgetState:
    return WidgetState(id=wid, trigger_value=True)


# --------------------------------------------------------------------------------------------------
# Measurements


PAGES = {  # page name -> (widget key, how to change it, the value for session s at rerun i)
    "Cell_stepper": ("stepper.seed", number, lambda s, i: float(1 + 100 * s + i)),
    "Gradient_flow": ("gradient.seed", number, lambda s, i: float(1 + 100 * s + i)),
    # the same page with its clipping section open (folded by default: it trains the RNN twice)
    "Gradient_flow+clipping": ("gradient.seed", number, lambda s, i: float(1 + 100 * s + i)),
}
QUERIES = {"Gradient_flow+clipping": "clipping=true"}


def page_session(port: int, page: str) -> Session:
    """A session on ``page`` (a name of PAGES: the page, then what its URL adds after a "+")."""
    return Session(port, page.split("+")[0], QUERIES.get(page, ""))


async def rerun_load(
    port: int, page: str, n: int, reruns: int, same_view: bool = False
) -> tuple[list[float], list[Session]]:
    key, make, value = PAGES[page]
    sessions = [page_session(port, page) for _ in range(n)]
    await asyncio.gather(*(s.open() for s in sessions))
    wid = sessions[0].widget_id(key)

    async def drive(index: int, session: Session) -> list[float]:
        who = 0 if same_view else index
        return [await session.rerun(make(wid, value(who, i))) for i in range(reruns)]

    times = await asyncio.gather(*(drive(i, s) for i, s in enumerate(sessions)))
    if any(s.exceptions for s in sessions):
        print(f"  warning: {sum(s.exceptions for s in sessions)} exceptions shown on {page}")
    return [t for ts in times for t in ts], sessions


async def train_load(port: int, n: int, query: str, seeds, done_text: str) -> list[float]:
    """Seconds from the common press until each session has its results; session i trains with seed
    ``seeds(i)``."""

    def query_for(i: int) -> str:
        return "&".join(p for p in (query, f"seed={seeds(i)}") if p)

    sessions = [Session(port, "Training_lab", query_for(i)) for i in range(n)]
    await asyncio.gather(*(s.open() for s in sessions))
    wid = sessions[0].widget_id(label="▶ Train")

    async def press(session: Session) -> float:
        start = time.perf_counter()
        await session.send_rerun(trigger(wid))
        while True:
            texts = await session.next_finished()
            if any(done_text in t for t in texts):
                return time.perf_counter() - start
            if session.auto_rerun is not None:  # a fragment that polls: rerun it as the browser would
                interval, fragment = session.auto_rerun
                await asyncio.sleep(interval)
                await session.send_rerun(fragment_id=fragment, auto=True)
            # otherwise the page reruns itself (st.rerun) and another script_finished comes

    try:
        return list(await asyncio.gather(*(press(s) for s in sessions)))
    finally:
        await asyncio.gather(*(s.close() for s in sessions))


LARGEST = "task=order&length=200&hidden_size=64&steps=3000"


async def largest_load(port: int, n: int, done_text: str, wait: float) -> list[tuple[float, str]]:
    """N sessions press Train at once with the largest settings, seed 500 + i: per session (seconds, what it
    saw): "results", "refused" (a "Not started" warning) or "still waiting" after ``wait`` seconds."""
    sessions = [Session(port, "Training_lab", f"{LARGEST}&seed={500 + i}") for i in range(n)]
    await asyncio.gather(*(s.open() for s in sessions))
    wid = sessions[0].widget_id(label="▶ Train")

    async def press(session: Session) -> tuple[float, str]:
        start = time.perf_counter()
        await session.send_rerun(trigger(wid))
        try:
            async with asyncio.timeout(wait):
                while True:
                    texts = await session.next_finished()
                    if any("Not started" in t for t in texts):
                        return time.perf_counter() - start, "refused"
                    if any(done_text in t for t in texts):
                        return time.perf_counter() - start, "results"
        except TimeoutError:
            return time.perf_counter() - start, "still waiting"

    try:
        return list(await asyncio.gather(*(press(s) for s in sessions)))
    finally:
        await asyncio.gather(*(s.close() for s in sessions))


async def sweep_load(port: int, servers: Servers, n: int, query: str, settle: float, window: float) -> tuple:
    """N sessions press the sweep at once, each with its own settings; (admitted, refused, server CPU share
    over ``window`` seconds after ``settle``)."""

    def query_for(i: int) -> str:  # distinct settings: no run shared between two sessions' sweeps
        own = f"forget_bias={-3 + 0.5 * (i % 19)}&optimizer={'adam' if i < 19 else 'sgd'}"
        return "&".join(p for p in (query, own) if p)

    sessions = [Session(port, "Training_lab", query_for(i)) for i in range(n)]
    await asyncio.gather(*(s.open() for s in sessions))
    wid = sessions[0].widget_id(label="Run the sweep with my settings")
    await asyncio.gather(*(s.send_rerun(trigger(wid)) for s in sessions))
    await asyncio.sleep(settle)
    refused = 0
    for session in sessions:  # a refused sweep's script run has finished, with its warning
        while not session.finished.empty():
            _, texts = session.finished.get_nowait()
            refused += any("was not started" in t for t in texts)
    cpu0, wall0 = servers.cpu(), time.perf_counter()
    await asyncio.sleep(window)
    share = (servers.cpu() - cpu0) / (time.perf_counter() - wall0)
    await asyncio.gather(*(s.close() for s in sessions))
    return n - refused, refused, share


def start_profile(out: Path, servers: Servers) -> subprocess.Popen:
    """py-spy (from PATH or ~/.local/bin) sampling the first server's threads from now on, into ``out`` (the
    collapsed-stack text format: one line per stack, ``frame;frame;... count``)."""
    spy = shutil.which("py-spy") or str(Path.home() / ".local" / "bin" / "py-spy")
    return subprocess.Popen(
        [spy, "record", "-p", str(servers.pid), "-r", "200", "-f", "raw", "-o", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profile(spy: subprocess.Popen, out: Path) -> None:
    spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
    spy.wait(30)
    print(f"  profile of the measured reruns: {out}")


async def cpu_per_rerun(port: int, servers: Servers, page: str, n: int) -> tuple[float, float]:
    """Server CPU seconds per rerun of one session alone, one rerun at a time (load-independent, unlike the
    wall times): (a view built before, i.e. the shared figure and cached results reused; a new seed each time)."""
    key, make, _ = PAGES[page]
    session = page_session(port, page)
    await session.open()
    wid = session.widget_id(key)
    for value in (1.0, 2.0):  # two views, built once
        await session.rerun(make(wid, value))
    cpu = servers.cpu()
    for i in range(n):
        await session.rerun(make(wid, 1.0 + i % 2))
    shared = (servers.cpu() - cpu) / n
    cpu = servers.cpu()
    for i in range(n):
        await session.rerun(make(wid, 5000.0 + i))
    await session.close()
    return shared, (servers.cpu() - cpu) / n


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


class Servers:
    """The app's server processes (one, or the replicas behind the proxy), measured as one."""

    def __init__(self, procs: list[subprocess.Popen]):
        self.procs = procs
        self.pid = procs[0].pid

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def memory(self) -> tuple[float, int, float]:
        """(servers' RSS, child processes, their RSS), in MB."""
        children = [children_rss_mb(p.pid) for p in self.procs]
        return sum(rss_mb(p.pid) for p in self.procs), sum(c for c, _ in children), sum(m for _, m in children)


async def main(args, servers: Servers, port: int) -> None:
    print(
        f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{len(servers.procs)} server(s) {[p.pid for p in servers.procs]}"
        f"{' behind nginx' if len(servers.procs) > 1 else ''}, port {port}; "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; app {args.app_dir.resolve()}; "
        f"load average before {os.getloadavg()[0]:.2f}"
    )
    if not args.skip_reruns:
        rows, memory = [], None
        for page in args.pages:  # warm the server (imports, first caches) outside the measurement
            await (await rerun_load(port, page, 1, 1))[1][0].close()
        spy = start_profile(args.profile, servers) if args.profile else None
        for n in args.sessions:
            for page in args.pages:
                server0, client0, wall0 = servers.cpu(), time.process_time(), time.perf_counter()
                times, sessions = await rerun_load(port, page, n, args.reruns, args.same_view)
                server, client = servers.cpu() - server0, time.process_time() - client0
                wall = time.perf_counter() - wall0  # includes opening the sessions (their first render)
                rows.append((page, n, times, 1000 * server / len(times)))
                print(
                    f"  {page} N={n}: p50 {pct(times, 0.5):.3f} s, p95 {pct(times, 0.95):.3f} s; wall {wall:.1f} s, "
                    f"server CPU {server:.1f} s, this client's CPU {client:.1f} s (first renders included)",
                    flush=True,
                )
                if n == max(args.sessions) and page == args.pages[-1]:
                    memory = servers.memory()
                await asyncio.gather(*(s.close() for s in sessions))
        if spy is not None:
            stop_profile(spy, args.profile)
        print(
            "\n| page | sessions | reruns | p50 rerun (s) | p95 rerun (s) | server CPU per rerun (ms) |"
            "\n|---|---|---|---|---|---|"
        )
        for page, n, times, server_ms in rows:
            label = page.replace("_", " ")
            print(
                f"| {label} | {n} | {len(times)} | {pct(times, 0.5):.2f} | {pct(times, 0.95):.2f} | {server_ms:.0f} |"
            )
        if memory is not None:
            rss, count, child = memory
            print(
                f"\nServer RSS with {max(args.sessions)} sessions open: {rss:.0f} MB"
                f" (+ {count} child processes, {child:.0f} MB)"
            )
    if args.cpu_reruns:
        print("\n| page | server CPU per rerun, a view built before (ms) | a new seed (ms) |\n|---|---|---|")
        for page in args.pages:
            shared, new = await cpu_per_rerun(port, servers, page, args.cpu_reruns)
            print(f"| {page.replace('_', ' ')} | {1000 * shared:.1f} | {1000 * new:.1f} |", flush=True)
    if args.train_sessions:
        print("\n| Train press | sessions | first results (s) | all results (s) |\n|---|---|---|---|")
        # Seeds no earlier row used, so that nothing is cached unless the row says so.
        n = args.train_sessions
        rows = [  # (label, sessions, the seed of session i)
            ("one press alone", 1, lambda i: 9000) if args.train_alone else None,
            ("identical settings, nothing trained yet", n, lambda i: 9001),
            ("the same again: a finished run, replayed", n, lambda i: 9001),
            ("different seeds", n, lambda i: 100 + i) if args.different_seeds else None,
        ]
        for label, sessions, seeds in filter(None, rows):
            times = await train_load(port, sessions, args.train_query, seeds, args.done_text)
            print(f"| {label} | {len(times)} | {min(times):.1f} | {max(times):.1f} |", flush=True)
        rss, count, child = servers.memory()
        print(f"\nServer RSS after the presses: {rss:.0f} MB (+ {count} child processes, {child:.0f} MB)")
        print(f"\nTrain settings: page defaults{' + ' + args.train_query if args.train_query else ''}")
    if args.largest_sessions:
        seen = await largest_load(port, args.largest_sessions, args.done_text, args.largest_wait)
        rss, count, child = servers.memory()
        print(
            "\n| largest presses | refused | results | still waiting | answer p50 (s) | answer max (s) | memory |"
            "\n|---|---|---|---|---|---|---|"
        )
        counts = {kind: sum(k == kind for _, k in seen) for kind in ("refused", "results", "still waiting")}
        times = [t for t, _ in seen]
        print(
            f"| {len(seen)} | {counts['refused']} | {counts['results']} | {counts['still waiting']} | "
            f"{pct(times, 0.5):.2f} | {max(times):.2f} | server {rss:.0f} MB + {count} workers {child:.0f} MB |"
        )
        print(f"\nLargest settings: {LARGEST} (seed 500 + session); still waiting = after {args.largest_wait:.0f} s")
    if args.sweep_sessions:
        admitted, refused, share = await sweep_load(
            port, servers, args.sweep_sessions, args.sweep_query, args.settle, args.window
        )
        print(
            "\n| sweeps pressed | admitted | refused | server CPU while they wait (cores) |\n|---|---|---|---|"
            f"\n| {args.sweep_sessions} | {admitted} | {refused} | {share:.2f} |"
        )
        print(f"\nSweep settings: page defaults + {args.sweep_query}, own forget bias and optimiser per session")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 30], help="N for the rerun load")
    parser.add_argument("--reruns", type=int, default=3, help="reruns per session")
    parser.add_argument(
        "--pages", nargs="+", choices=list(PAGES), default=list(PAGES)[:2], help="pages for the reruns"
    )
    parser.add_argument("--skip-reruns", action="store_true")
    parser.add_argument(
        "--same-view", action="store_true", help="every session sets the same values (a class told 'go to step 17')"
    )
    parser.add_argument("--train-sessions", type=int, default=3, help="sessions pressing Train (0: skip)")
    parser.add_argument("--train-alone", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--different-seeds", action=argparse.BooleanOptionalAction, default=True, help="the row of N different seeds"
    )
    parser.add_argument("--train-query", default="", help="Training lab settings in the URL, e.g. steps=200")
    parser.add_argument("--done-text", default="Results:", help="text that shows a session has its results")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="serve this copy of the app (A/B of a change)")
    parser.add_argument("--timeout", type=float, default=900, help="stop everything after this many seconds")
    parser.add_argument("--replicas", type=int, default=1, help="servers behind nginx (1: one server, no proxy)")
    parser.add_argument("--largest-sessions", type=int, default=0, help="sessions pressing the largest Train")
    parser.add_argument("--largest-wait", type=float, default=60, help="seconds to wait for their answer")
    parser.add_argument("--sweep-sessions", type=int, default=0, help="sessions pressing the sweep at once")
    parser.add_argument("--sweep-query", default="steps=200", help="Training lab settings of every sweep")
    parser.add_argument("--settle", type=float, default=15, help="seconds between the sweep presses and the window")
    parser.add_argument(
        "--cpu-reruns", type=int, default=0, help="then one session alone: server CPU per rerun over this many"
    )
    parser.add_argument("--profile", type=Path, help="sample the server with py-spy during the reruns, into this file")
    parser.add_argument("--window", type=float, default=30, help="seconds the server's CPU is measured over")
    args = parser.parse_args()
    counts = (args.train_sessions, args.largest_sessions, args.sweep_sessions)
    if not 1 <= max(args.sessions) <= 100 or not all(0 <= c <= 100 for c in counts) or not 1 <= args.reruns <= 100:
        raise SystemExit("keep it to at most 100 sessions and 100 reruns")
    if not 1 <= args.replicas <= 8:
        raise SystemExit("--replicas: 1 to 8")
    scratch = Path(tempfile.mkdtemp(prefix="rnnviz_bench_load_"))
    ports = [free_port() for _ in range(args.replicas)]
    servers = Servers(
        [start_server(p, scratch / f"server{i}.log", args.app_dir.resolve()) for i, p in enumerate(ports)]
    )
    proxy, port = start_proxy(ports, scratch) if args.replicas > 1 else (None, ports[0])
    processes = servers.procs + ([proxy] if proxy else [])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    # The hard stop: whatever the event loop is doing, the server goes and this process ends.
    signal.signal(signal.SIGALRM, lambda *_: ([stop_server(p) for p in processes], os._exit(3)))
    signal.alarm(int(args.timeout) + 60)
    try:
        asyncio.run(asyncio.wait_for(main(args, servers, port), args.timeout))
    except TimeoutError:
        raise SystemExit(f"stopped after the global timeout of {args.timeout:.0f} s") from None
    finally:
        for process in processes:
            stop_server(process)
