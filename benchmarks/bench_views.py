"""Server memory per distinct Cell stepper view at the page's largest settings, and where it stops growing.
Run by hand:

    python benchmarks/bench_views.py --views 300

One websocket session (as in bench_load.py) opens the Cell stepper with all three cells, 32 units, length 200,
every row, then asks for a new seed ``--views`` times: each a view no cache holds yet (its runs, its zero-fed
runs, its shared figure). The server's resident memory is printed every ``--every`` views. The caches are
bounded (docs/deploy.md): the growth per view is the slope before they fill, and the memory levels off after.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import ROOT, Session, free_port, number, rss_mb, start_server, stop_server  # noqa: E402

LARGEST = "kind=all&hidden_size=32&length=200&view=values&" + "&".join(
    f"rows={r}" for r in ("h", "c", "input", "forget", "cell", "output", "reset", "update", "new")
)


async def measure(port: int, pid: int, views: int, every: int, query: str) -> None:
    session = Session(port, "Cell_stepper", query)
    await session.open()
    seed = session.widget_id("stepper.seed")
    print(f"| views | server RSS (MB) | seconds per view |\n|---|---|---|\n| 0 | {rss_mb(pid):.0f} | |", flush=True)
    start = time.perf_counter()
    for i in range(1, views + 1):
        await session.rerun(number(seed, float(i)))
        if i % every == 0:
            per_view = (time.perf_counter() - start) / every
            print(f"| {i} | {rss_mb(pid):.0f} | {per_view:.2f} |", flush=True)
            start = time.perf_counter()
    assert not session.exceptions, session.exceptions
    await session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--views", type=int, default=300)
    parser.add_argument("--every", type=int, default=20)
    parser.add_argument("--query", default=LARGEST)
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average before {os.getloadavg()[0]:.2f}; query {args.query}"
    )
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        proc = start_server(port, Path(folder) / "server.log", ROOT)
        try:
            asyncio.run(measure(port, proc.pid, args.views, args.every, args.query))
        finally:
            stop_server(proc)
    gc.collect()
    print(f"# load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
