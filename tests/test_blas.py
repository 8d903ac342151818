"""The BLAS thread setting the app, the CLI, the training workers and the benchmarks use (rnnviz/engine/blas.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnviz.engine import blas

ROOT = Path(__file__).resolve().parents[1]


def needs_blas():
    if blas.blas_threads() is None:
        pytest.skip("threadpoolctl finds no BLAS in this NumPy: nothing to set (limit_blas_threads returns False)")


def test_limit_blas_threads_sets_numpys_blas(monkeypatch):
    needs_blas()
    before = blas.blas_threads()
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    try:
        assert blas.limit_blas_threads() and blas.blas_threads() == 1
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # an explicit setting wins
        assert blas.limit_blas_threads() and blas.blas_threads() == 2
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "many")  # not a number: left alone, and it says so
        assert not blas.limit_blas_threads() and blas.blas_threads() == 2
    finally:
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(before))
        blas.limit_blas_threads()


def test_the_cli_sets_one_blas_thread_even_when_numpy_loaded_first(monkeypatch, capsys):
    needs_blas()
    from rnnviz import __main__ as cli

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert blas.limit_blas_threads() and blas.blas_threads() == 2
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert cli.main(["train", "--cell", "rnn", "--length", "5", "--steps", "2", "--json"]) == 0
    assert '"solved"' in capsys.readouterr().out
    assert blas.blas_threads() == 1


def test_importing_blas_loads_no_numpy_so_first_lines_can_use_it():
    """app.py, rnnviz/__main__.py and the benchmarks import rnnviz.engine.blas to set the environment before
    NumPy loads: that import (and the package's __init__) must not load NumPy itself."""
    code = (
        "import os, sys\n"
        "for name in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.pop(name, None)\n"
        "from rnnviz.engine import blas\n"
        "assert 'numpy' not in sys.modules, 'numpy was imported'\n"
        "blas.default_to_one_thread()\n"
        "import numpy\n"
        "print(blas.blas_threads(), {n: os.environ[n] for n in blas.ENV_VARIABLES})\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    threads, _, env = out.stdout.partition(" ")
    assert env.strip() == str(dict.fromkeys(blas.ENV_VARIABLES, "1"))
    assert threads in ("1", "None")  # OpenBLAS read the variable when it loaded (None: no BLAS threadpoolctl knows)


def test_default_to_one_thread_leaves_an_explicit_setting(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    blas.default_to_one_thread()
    assert [os.environ[n] for n in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")] == ["1", "3", "1"]


def test_the_variables_are_named_in_one_place():
    """Every file that sets the BLAS variables uses blas.ENV_VARIABLES / ONE_THREAD / default_to_one_thread."""
    files = [ROOT / "app.py", *ROOT.glob("rnnviz/**/*.py"), *ROOT.glob("benchmarks/*.py"), *ROOT.glob("pages/*.py")]
    spelled = [
        str(path.relative_to(ROOT))
        for path in files
        if path.name != "blas.py" and any(name in path.read_text() for name in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"))
    ]
    assert len(files) > 20 and spelled == []
