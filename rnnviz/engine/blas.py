"""One BLAS thread for the engine.

The engine's matrix products are tiny (a batch of 32 by a few hundred columns, once per step), so extra BLAS
threads have little to share out, and the app's server and its training workers already take every core: with
every process on OpenBLAS's default threads, the Training lab's presses took 30-75% longer on a 2-core machine
(benchmarks/bench_load.py; a lone CLI run on an idle machine is about 10% faster with them, and an earlier
OpenBLAS spun its threads so hard that a CLI run took 14-16 s against 5.5 s; see the README and
benchmarks/bench_threads.py). The app and the CLI therefore ask for one thread in two ways:

- ``os.environ.setdefault`` of the variables below in their first lines, before anything imports NumPy
  (OpenBLAS reads them when it loads; worker processes inherit them);
- :func:`limit_blas_threads` at run time, through the BLAS library NumPy loaded, for the case where NumPy
  was imported before those lines ran (``python -m rnnviz`` imports the package first; the Streamlit
  server imports NumPy before it runs a page).

An explicit setting in the environment wins over the default; without OpenBLAS (another BLAS, or a NumPy
built differently) the run-time call does nothing and says so by returning False.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

ENV_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# scipy-openblas (NumPy's wheels) prefixes and suffixes its symbols; a system OpenBLAS does not.
_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = tuple(name.replace("set_num", "get_num") for name in _SETTERS)


@functools.cache
def _openblas():
    """NumPy's OpenBLAS as a ctypes library, or None. Opening a library that is already loaded returns
    the loaded one, so a call through it reaches the BLAS NumPy uses."""
    import numpy as np

    root = Path(np.__file__).parent
    candidates = [
        *sorted((root.parent / "numpy.libs").glob("*openblas*")),  # Linux and Windows wheels
        *sorted((root / ".dylibs").glob("*openblas*")),  # macOS wheels
    ]
    candidates += ["libopenblas.so.0", "libopenblas.so"]  # a NumPy linked against the system's OpenBLAS
    for candidate in candidates:
        try:
            lib = ctypes.CDLL(str(candidate))
        except OSError:
            continue
        if any(hasattr(lib, name) for name in _SETTERS):
            return lib
    return None


def limit_blas_threads(n: int = 1) -> bool:
    """Set NumPy's BLAS to ``n`` threads now, unless OPENBLAS_NUM_THREADS says otherwise; True when it took.

    Cheap after the first call, so it can run on every Streamlit rerun; when the count is already
    right it does not touch OpenBLAS at all (another session's thread may be inside a BLAS call).
    """
    wanted = os.environ.get("OPENBLAS_NUM_THREADS", str(n))
    lib = _openblas()
    if lib is None or not wanted.isdigit():
        return False
    if blas_threads() != int(wanted):
        setter = next(getattr(lib, name) for name in _SETTERS if hasattr(lib, name))
        setter(ctypes.c_int(int(wanted)))
    return True


def blas_threads() -> int | None:
    """The number of threads NumPy's OpenBLAS uses now, or None when it cannot be asked."""
    lib = _openblas()
    getter = next((getattr(lib, name) for name in _GETTERS if lib is not None and hasattr(lib, name)), None)
    return None if getter is None else int(getter())
