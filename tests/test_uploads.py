"""Uploads per session are bounded (rnnviz.app.uploads): the manager Streamlit actually runs, fed 50 uploads of
0.9 MB by one session, keeps at most the budget for it, always its newest file, and leaves other sessions'
files alone. (tests/test_server_probes.py does the same through a real server's upload route.)"""

from __future__ import annotations

import inspect

from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from rnnviz.app import uploads

MB = 1024 * 1024
BUDGET = uploads.SESSION_BUDGET_FILES * MB  # the shipped maxUploadSize is 1 MB


def record(file_id: str, size: int) -> UploadedFileRec:
    return UploadedFileRec(file_id=file_id, name=f"{file_id}.npz", type="application/octet-stream", data=b"x" * size)


def held(manager, session: str) -> tuple[int, list[str]]:
    files = manager.file_storage.get(session, {})
    return sum(len(f.data) for f in files.values()), list(files)


def manager_bytes(manager) -> int:
    """What the manager itself reports (its stats: what /_stcore/metrics shows)."""
    stats = manager.get_stats().get("cache_memory_bytes", [])
    return sum(s.byte_length for s in stats)


def test_the_manager_has_what_the_bound_relies_on():
    """The installed Streamlit's memory manager: ``add_file(session_id, file)``, ``remove_file(session_id,
    file_id)`` and ``file_storage`` (session id -> file id -> record, in the order added)."""
    manager = MemoryUploadedFileManager("/_stcore/upload_file")
    assert list(inspect.signature(manager.add_file).parameters) == ["session_id", "file"]
    assert list(inspect.signature(manager.remove_file).parameters) == ["session_id", "file_id"]
    manager.add_file("s", record("a", 1))
    manager.add_file("s", record("b", 2))
    assert list(manager.file_storage["s"]) == ["a", "b"]


def test_fifty_uploads_in_turn_keep_at_most_the_budget_and_always_the_newest():
    manager = MemoryUploadedFileManager("/_stcore/upload_file")
    assert uploads.bound(manager, BUDGET)
    manager.add_file("classmate", record("theirs", int(0.9 * MB)))
    largest = 0
    for i in range(50):
        manager.add_file("student", record(f"upload-{i}", int(0.9 * MB)))
        total, files = held(manager, "student")
        largest = max(largest, total)
        assert files[-1] == f"upload-{i}"  # the widget's current file is the newest: kept
        assert total <= BUDGET
    assert held(manager, "student")[1] == ["upload-47", "upload-48", "upload-49"]  # 3 x 0.9 MB <= 3 MB
    assert largest == 3 * int(0.9 * MB)  # without the bound: 50 x 0.9 MB = 45 MB
    assert held(manager, "classmate")[1] == ["theirs"]  # another session is never touched
    assert manager_bytes(manager) == 4 * int(0.9 * MB)  # the manager's own count agrees
    manager.remove_session_files("student")  # a session's end still frees everything
    assert manager_bytes(manager) == int(0.9 * MB)


def test_many_small_files_are_bounded_by_count_and_one_file_at_the_limit_is_kept():
    manager = MemoryUploadedFileManager("/_stcore/upload_file")
    uploads.bound(manager, BUDGET)
    for i in range(1000):
        manager.add_file("student", record(f"empty-{i}", 0))
    assert held(manager, "student")[1] == [f"empty-{i}" for i in range(1000 - uploads.SESSION_FILES, 1000)]
    manager.add_file("student", record("big", BUDGET))  # a file at the budget: kept, the oldest empty file goes
    assert held(manager, "student") == (BUDGET, [f"empty-{i}" for i in range(993, 1000)] + ["big"])
    manager.add_file("student", record("one more", 1))  # over the budget: the oldest go first, "big" with them
    assert held(manager, "student") == (1, ["one more"]) and manager_bytes(manager) == 1
    manager.add_file("student", record("one more", 5))  # the same id uploaded again replaces its bytes
    assert held(manager, "student") == (5, ["one more"]) and manager_bytes(manager) == 5


def test_bound_is_installed_once_and_leaves_a_manager_it_does_not_know_alone(caplog):
    manager = MemoryUploadedFileManager("/_stcore/upload_file")
    assert uploads.bound(manager, BUDGET) and uploads.bound(manager, BUDGET)
    for i in range(5):
        manager.add_file("student", record(str(i), MB))
    assert held(manager, "student")[1] == ["2", "3", "4"]  # one wrapper: trimmed once per add, not twice

    class Elsewhere:  # a manager that keeps files somewhere else (not Streamlit's memory manager)
        def add_file(self, session_id, file): ...

    assert not uploads.bound(Elsewhere(), BUDGET)
    assert "not bounded" in caplog.text
