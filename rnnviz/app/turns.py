"""Page computations take turns, first come first served.

Every session's script runs in a thread of the one server process, so its engine runs and figure builds share one
GIL. When thirty students each ask for a new view at once, Python hands the GIL round between all thirty threads
every few milliseconds: each view advances a little at a time, and all thirty finish together, at about thirty
times the cost of one (with the switching on top). Taking turns instead, the computations run one after another
in the order they were asked for, while the rest of each page (its widgets and messages) goes on around them: the
first student's view is ready after about one view's cost, the last one's no later than before, so the median wait
halves (docs/speed.md, "Thirty different views at once").

A thread waiting for its turn blocks on an event, holding no GIL. A turn may be taken again by the thread that holds
it (a figure builder that needs a cached run), and it is handed straight to the next in line when released.
"""

from __future__ import annotations

import threading
from collections import deque


class Turns:
    """A re-entrant lock that serves its waiters in the order they came (``threading.Lock`` promises no order)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiting: deque[tuple[int, threading.Event]] = deque()

    def __enter__(self) -> Turns:
        me = threading.get_ident()
        with self._mutex:
            if self._owner in (None, me):
                self._owner, self._depth = me, self._depth + 1
                return self
            turn = threading.Event()
            self._waiting.append((me, turn))
        turn.wait()  # the holder made this thread the owner before setting the event
        return self

    def __exit__(self, *exc) -> None:
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
