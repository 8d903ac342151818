"""One BLAS thread for the engine.

The engine's matrix products are tiny (a batch of 32 by a few hundred columns, once per step), so extra BLAS
threads have little to share out, and the app's server and its training workers already take every core: with
every process on OpenBLAS's default threads, the Training lab's presses took 30-75% longer on a 2-core machine
(benchmarks/bench_load.py; a lone CLI run on an idle machine is about 10% faster with them, and an earlier
OpenBLAS spun its threads so hard that a CLI run took 14-16 s against 5.5 s; see docs/speed.md and
benchmarks/bench_threads.py). The app, the CLI, the training workers and the benchmarks therefore ask for one
thread in two ways:

- :func:`default_to_one_thread` (``os.environ.setdefault`` of ``ENV_VARIABLES``) in their first lines, before
  anything imports NumPy: the BLAS library reads them when it loads, and worker processes inherit them
  (``ONE_THREAD`` is the same setting for a child's environment). **Importing this module imports no NumPy**
  (``rnnviz/__init__.py`` loads the engine lazily for the same reason), so those first lines can use it;
  tests/test_blas.py checks that.
- :func:`limit_blas_threads` at run time, through ``threadpoolctl``, for the case where NumPy was imported
  before those lines ran (``python -m rnnviz`` imports the package first; the Streamlit server imports NumPy
  before it runs a page).

An explicit ``OPENBLAS_NUM_THREADS`` in the environment wins over the default; with no BLAS that threadpoolctl
can reach, the run-time call does nothing and says so by returning False.
"""

from __future__ import annotations

import functools
import os

ENV_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")  # OpenBLAS, OpenMP, MKL
ONE_THREAD = dict.fromkeys(ENV_VARIABLES, "1")


def default_to_one_thread() -> None:
    """One BLAS thread for this process and its children, unless the environment already says otherwise.
    Only takes effect before NumPy is imported."""
    for name, value in ONE_THREAD.items():
        os.environ.setdefault(name, value)


@functools.cache
def _blas():
    """threadpoolctl's controller of the BLAS libraries NumPy loaded (threadpoolctl finds loaded libraries only)."""
    import numpy  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def limit_blas_threads(n: int = 1) -> bool:
    """Set NumPy's BLAS to ``n`` threads now, unless OPENBLAS_NUM_THREADS says otherwise; True when it took.

    Cheap after the first call, so it can run on every Streamlit rerun; when the count is already right it
    does not touch the BLAS at all (another session's thread may be inside a BLAS call).
    """
    wanted = os.environ.get("OPENBLAS_NUM_THREADS", str(n))
    if not _blas().lib_controllers or not wanted.isdigit():
        return False
    if blas_threads() != int(wanted):
        _blas().limit(limits=int(wanted))
    return True


def blas_threads() -> int | None:
    """The number of threads NumPy's BLAS uses now, or None when threadpoolctl finds no BLAS."""
    libraries = _blas().lib_controllers
    return libraries[0].num_threads if libraries else None
