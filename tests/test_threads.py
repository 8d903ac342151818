"""The BLAS thread setting the app and the CLI use (rnnviz/engine/blas.py)."""

from rnnviz.engine import blas


def test_limit_blas_threads_sets_numpys_openblas(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    before = blas.blas_threads()
    try:
        took = blas.limit_blas_threads()
        if before is None:  # a NumPy without OpenBLAS: nothing to set, and it says so
            assert not took
        else:
            assert took and blas.blas_threads() == 1
            monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # an explicit setting wins
            assert blas.limit_blas_threads() and blas.blas_threads() == 2
    finally:
        if before is not None:
            monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(before))
            blas.limit_blas_threads()


def test_the_cli_sets_one_blas_thread_even_when_numpy_loaded_first(monkeypatch, capsys):
    from rnnviz import __main__ as cli

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    if not blas.limit_blas_threads():
        return  # no OpenBLAS in this NumPy: the first test checks that this is reported
    assert blas.blas_threads() == 2
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert cli.main(["train", "--cell", "rnn", "--length", "5", "--steps", "2", "--json"]) == 0
    assert '"solved"' in capsys.readouterr().out
    assert blas.blas_threads() == 1
