"""Page computations take turns, first come first served.

Every session's script runs in a thread of the one server process, so its engine runs and figure builds share one
GIL. When thirty students each ask for a new view at once, Python hands the GIL round between all thirty threads
every few milliseconds: each view advances a little at a time, and all thirty finish together, at about thirty
times the cost of one (with the switching on top). Taking turns instead, the computations run one after another
in the order they were asked for, while the rest of each page (its widgets and messages) goes on around them: the
first student's view is ready after about one view's cost, the last one's no later than before, so the median wait
falls (docs/speed.md, "Thirty different views at once").

A thread waiting for its turn blocks on an event, holding no GIL; a released turn is handed straight to the next
in line. The thread that holds a turn may take it again (re-entrant). Two locks taken in opposite orders by two
threads could wait for each other forever (a cached function's own lock, say, held by a thread that waits for a
turn held by a thread that waits for that cached function): so nobody waits longer than ``patience`` seconds. A
thread that runs out of patience goes ahead without the turn, and the order is lost for it, not the server.
"""

from __future__ import annotations

import threading
from collections import deque

PATIENCE = 10.0  # seconds: far beyond any one view's cost (tens of milliseconds), short of a stuck page


class Turns:
    """A re-entrant lock that serves its waiters in the order they came (``threading.Lock`` promises no order),
    and lets a waiter go ahead without it after ``patience`` seconds."""

    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiting: deque[tuple[int, threading.Event]] = deque()
        self._local = threading.local()  # per thread: for each __enter__, whether it took the turn

    def __enter__(self) -> Turns:
        me = threading.get_ident()
        taken = self._local.__dict__.setdefault("taken", [])
        with self._mutex:
            if self._owner in (None, me):
                self._owner, self._depth = me, self._depth + 1
                taken.append(True)
                return self
            turn = threading.Event()
            self._waiting.append((me, turn))
        if turn.wait(self.patience):  # the holder made this thread the owner before setting the event
            taken.append(True)
            return self
        with self._mutex:
            if turn.is_set():  # handed over just as the wait ran out: it is this thread's after all
                taken.append(True)
                return self
            self._waiting.remove((me, turn))
        taken.append(False)  # out of patience: go ahead without the turn
        return self

    def __exit__(self, *exc) -> None:
        if not self._local.taken.pop():
            return
        with self._mutex:
            self._depth -= 1
            if self._depth:
                return
            if self._waiting:
                self._owner, turn = self._waiting.popleft()
                self._depth = 1
                turn.set()
            else:
                self._owner = None

    def waiting(self) -> int:
        """How many threads wait for a turn now."""
        with self._mutex:
            return len(self._waiting)


PAGES = Turns()  # the server's page computations: cache misses of engine runs and shared figures
