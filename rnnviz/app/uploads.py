"""Uploads held per session: a bound on the bytes and files one browser session keeps on the server.

Streamlit (1.67) keeps every file a session uploads in its uploaded-file manager
(``runtime.memory_uploaded_file_manager.MemoryUploadedFileManager``: session id -> file id -> the file's bytes)
until the session ends. ``server.maxUploadSize`` bounds one file, not a session: the browser asks the server to
forget a file only when its "x" is clicked, so a file replaced by the next upload stays (issue 24: 50 uploads of
0.9 MB kept 44 MB), and a client with the developer tools open can PUT files to its session's upload URL
without any widget ever naming them.

:func:`bound_uploads` wraps that manager's ``add_file`` (the one call every upload goes through, the upload
route included): after a file is added, the session's oldest other files go until the session holds at most
``SESSION_FILES`` files and ``SESSION_BUDGET_FILES`` times ``server.maxUploadSize`` bytes (3 MB with the shipped
1 MB). Every page has one uploader, and a page's uploader's current file is the session's newest, so it is
never the one that goes; a file of a page the student has left (whose widget Streamlit has already dropped) may.

Only this module touches Streamlit's upload manager. It relies on the memory manager's ``add_file``,
``remove_file`` and ``file_storage`` (tests/test_uploads.py checks them against the installed Streamlit) and
leaves any other manager alone, with a line in the log.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st
from streamlit import runtime

SESSION_BUDGET_FILES = 3  # a session keeps at most this many times server.maxUploadSize bytes of uploads
SESSION_FILES = 8  # and at most this many files (empty files cost nothing but a record each)

_LOG = logging.getLogger(__name__)
_installed = threading.Lock()


def session_budget() -> int:
    """The most bytes of uploads one session keeps: ``SESSION_BUDGET_FILES`` largest files."""
    return SESSION_BUDGET_FILES * int(st.get_option("server.maxUploadSize")) * 1024 * 1024


def trim(manager, session_id: str, newest: str, budget: int, max_files: int = SESSION_FILES) -> int:
    """Remove the session's oldest files other than ``newest`` until it holds at most ``budget`` bytes and
    ``max_files`` files; returns how many went."""
    stored = dict(manager.file_storage.get(session_id) or {})  # a copy; insertion order: oldest first
    total, count, removed = sum(len(f.data) for f in stored.values()), len(stored), 0
    for file_id, record in stored.items():
        if total <= budget and count <= max_files:
            break
        if file_id != newest:
            manager.remove_file(session_id, file_id)
            total, count, removed = total - len(record.data), count - 1, removed + 1
    return removed


def bound(manager, budget: int, max_files: int = SESSION_FILES) -> bool:
    """Wrap ``manager.add_file`` so every session stays within ``budget`` bytes and ``max_files`` files; once
    per manager. False (and a log line) for a manager without the memory manager's methods."""
    with _installed:
        if getattr(manager, "_rnnviz_budget", None) is not None:
            return True
        if not all(hasattr(manager, name) for name in ("add_file", "remove_file", "file_storage")):
            _LOG.warning("uploads are not bounded per session: %s is not Streamlit's memory manager", manager)
            return False
        add_file = manager.add_file

        def bounded_add_file(session_id: str, file) -> None:
            add_file(session_id, file)
            trim(manager, session_id, file.file_id, budget, max_files)

        manager.add_file = bounded_add_file  # the instance's attribute: the upload route calls it there
        manager._rnnviz_budget = budget
        return True


def bound_uploads() -> None:
    """Bound every session's uploads on this server (idempotent; called by ``ui.setup_page`` on every page,
    so the bound holds before any page shows an uploader). Nothing outside a running server (AppTest)."""
    if runtime.exists():
        bound(runtime.get_instance().uploaded_file_mgr, session_budget())
