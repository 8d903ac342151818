"""The BLAS thread setting the app and the CLI use (rnnviz/threads.py)."""

from rnnviz import threads


def test_limit_blas_threads_sets_numpys_openblas(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    before = threads.blas_threads()
    try:
        took = threads.limit_blas_threads()
        if before is None:  # a NumPy without OpenBLAS: nothing to set, and it says so
            assert not took
        else:
            assert took and threads.blas_threads() == 1
            monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # an explicit setting wins
            assert threads.limit_blas_threads() and threads.blas_threads() == 2
    finally:
        if before is not None:
            monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(before))
            threads.limit_blas_threads()


def test_the_cli_sets_one_blas_thread_even_when_numpy_loaded_first(monkeypatch, capsys):
    from rnnviz import __main__ as cli

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    if not threads.limit_blas_threads():
        return  # no OpenBLAS in this NumPy: the first test checks that this is reported
    assert threads.blas_threads() == 2
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert cli.main(["train", "--cell", "rnn", "--length", "5", "--steps", "2", "--json"]) == 0
    assert '"solved"' in capsys.readouterr().out
    assert threads.blas_threads() == 1


FAULTS_SCRIPT = """
import resource, sys
import numpy as np
from rnnviz import threads
took = threads.keep_freed_memory() if sys.argv[1] == "keep" else None
def update():  # what a training update does: make a few arrays of megabytes, then free them all
    arrays = [np.ones(2**19) for _ in range(8)]  # 8 x 4 MiB
    return sum(a.sum() for a in arrays)
update()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    update()
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_keep_freed_memory_lets_a_process_reuse_freed_arrays_without_page_faults():
    """20 rounds of 32 MiB, 8,192 pages each: by default glibc returns the memory when a round frees it and
    the next round faults on every page again; kept, the memory is reused."""
    import subprocess
    import sys

    def faults(mode):
        out = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT, mode], capture_output=True, text=True, check=True)
        took, count = out.stdout.split()
        return took, int(count)

    took, kept = faults("keep")
    if took == "False":  # not glibc: nothing to set, and it says so
        return
    _, default = faults("default")
    assert took == "True"
    assert default > 20 * 8192 // 4  # the default does fault (so the comparison means something)
    assert kept < default / 20
