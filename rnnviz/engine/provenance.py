"""What made a shipped number: the engine's version, the machine and the BLAS kernel, recorded beside every
run the project ships (the papers' records, the lessons' runs, the lag sweep, the text models), because a
float32 run trained on another CPU is a sample, not a constant (see docs/reproducibility.md).
NumPy only; nothing here imports streamlit or plotly."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

ENGINE = Path(__file__).resolve().parent


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "blas_kernel": blas_kernel(),
        "load_average_at_start": load,
    }


def blas_kernel() -> str:
    """The BLAS library and the kernel it chose for this CPU (OpenBLAS's ``architecture``, which
    ``OPENBLAS_CORETYPE`` overrides), from threadpoolctl; "unknown" when it finds none."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return f"{lib.get('internal_api', '?')} {lib.get('version') or ''} {lib.get('architecture') or ''}".strip()
    return "unknown"




@functools.cache
def engine_version() -> dict:
    """Which engine made a record: ``git describe`` of the checkout (None outside one) and a hash of the
    engine's own source (``rnnviz/engine/*.py``), which names the engine even where git is absent."""
    digest = hashlib.sha256()
    for path in sorted(ENGINE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    try:
        describe = (
            subprocess.run(
                ["git", "describe", "--always", "--dirty"], cwd=ENGINE, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        describe = None
    return {"git": describe, "engine_sha256": digest.hexdigest()[:16]}


def made_on() -> dict:
    """The whole record a shipped file carries: ``engine`` (git describe and the hash of the engine's source)
    and the machine (CPU, cores, Python, NumPy, BLAS threads and kernel, load average when it started)."""
    return {"engine": engine_version(), **machine()}
