"""rnnviz/app/turns.py: page computations take turns in the order they were asked for."""

from __future__ import annotations

import threading
import time

from rnnviz.app.turns import Turns


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiters_are_served_in_the_order_they_came():
    turns, order, release = Turns(), [], threading.Event()

    def holder():
        with turns:
            release.wait(5)

    def waiter(k: int):
        with turns:
            order.append(k)

    first = threading.Thread(target=holder)
    first.start()
    _wait_until(lambda: turns._owner is not None)
    threads = []
    for k in range(8):  # each one queued before the next starts
        t = threading.Thread(target=waiter, args=(k,))
        t.start()
        threads.append(t)
        _wait_until(lambda k=k: turns.waiting() == k + 1)
    assert order == []  # nobody runs while the turn is held
    release.set()
    for t in [first, *threads]:
        t.join(5)
    assert order == list(range(8)) and turns.waiting() == 0 and turns._owner is None


def test_the_holder_may_take_its_turn_again_and_an_exception_releases_it():
    turns, done = Turns(), []

    def nested():
        try:
            with turns:
                with turns:  # a figure builder asking for a cached run: no deadlock
                    raise RuntimeError("inside")
        except RuntimeError:
            pass
        with turns:
            done.append(True)

    t = threading.Thread(target=nested)
    t.start()
    t.join(5)
    assert done == [True] and turns._owner is None
    other = threading.Thread(target=lambda: turns.__enter__() and turns.__exit__(None, None, None))
    other.start()
    other.join(5)
    assert not other.is_alive() and turns._owner is None  # the turn was free for another thread


def test_a_waiter_out_of_patience_goes_ahead_and_the_turn_still_works():
    turns, went, release = Turns(patience=0.2), [], threading.Event()

    def holder():
        with turns:
            release.wait(5)  # held far beyond the waiter's patience

    def impatient():
        with turns:
            went.append(turns._owner != threading.get_ident())  # ran, without owning the turn

    first = threading.Thread(target=holder)
    first.start()
    _wait_until(lambda: turns._owner is not None)
    t = threading.Thread(target=impatient)
    t.start()
    t.join(5)
    assert went == [True] and turns.waiting() == 0  # it left the queue
    release.set()
    first.join(5)
    assert turns._owner is None
    done = []

    def later():
        with turns:
            done.append(turns._owner)

    t = threading.Thread(target=later)
    t.start()
    t.join(5)
    assert done and done[0] is not None and turns._owner is None
