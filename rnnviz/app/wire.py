"""Widget values as they come over the websocket: a value the widget's own browser code could never send is
dropped before Streamlit reads it, as if the message had not carried it.

The browser sends each widget's value in a ``WidgetState`` protobuf whose ``value`` is one of many fields
(``double_value``, ``string_array_value``, ``trigger_value``, ...). Streamlit (1.67) hands whichever field came
to the widget's deserializer: a student with the developer tools open who sends a number to a select box, or
a string that is not JSON to a chart's selection, raised inside ``st.selectbox`` or ``st.plotly_chart``,
before any code of ours could check it, and the page showed Streamlit's error box (issue 24, 33 kinds of
crafted value on every page). Values of the right type but out of range are the pages' business
(``ui.Settings`` clamps and validates them); this module only makes sure a page gets to see them.

:func:`guard_widget_values` changes three of Streamlit's methods, once per process (``ui.setup_page`` calls it):

- ``SessionState.on_script_will_rerun``: a value whose field is not the ``value_type`` the widget registered
  with on the previous run, or a choice the widget does not offer, is taken out of the incoming message (the
  widget keeps its previous value), before Streamlit compares values or runs the pages' callbacks;
- ``SessionState.register_widget``: the same check for a widget registered for the first time (a crafted
  first message), as Streamlit already drops a value sent to a disabled widget;
- ``WStates.__getitem__``: a value of the right field that the widget cannot read, or cannot write back (a
  chart selection that is not JSON, an option a multiselect does not have) reads as absent (``KeyError``,
  Streamlit's "no value from the browser").

Each is logged (the widget id and the field), never shown to the student. Another session never sees any of
it: widget values are per session.

:func:`guard_clear_cache` ignores the websocket's "clear caches" message unless the toolbar is the developer's
(``client.toolbarMode = "developer"``): the shipped viewer toolbar has no such item, yet any client could send
it, and Streamlit then emptied every session's caches (the next views of the whole class computed again) and
cleared the sender's session state under its running script (a flood of it broke that page: issue 24's probe).
An operator who needs empty caches restarts the server (``streamlit cache clear`` empties only caches persisted
on disk, which this app does not use).
"""

from __future__ import annotations

import logging
import threading

import streamlit as st
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.runtime import app_session
from streamlit.runtime.state import session_state

_LOG = logging.getLogger(__name__)
_lock = threading.Lock()
_installed = False
_clear_cache_guarded = False


# Fields the browser uses for one kind of value: a number_input registers "double_value" and its browser code
# sends "int_value" for whole numbers (Streamlit then updates the widget's value_type); arrays alike.
_SAME_KIND = {"int_value": "double_value", "int_array_value": "double_array_value"}


def _foreign(field: str | None, metadata) -> bool:
    """Whether a value sent in ``field`` is one the widget of ``metadata`` never sends (None: no value, a
    cleared widget, which every widget may send; no metadata: a widget this run has not registered yet)."""
    if field is None or metadata is None:
        return False
    return _SAME_KIND.get(field, field) != _SAME_KIND.get(metadata.value_type, metadata.value_type)


def _unknown_option(state, metadata) -> str | None:
    """The first option in ``state`` (a ``WidgetState``) that its choice widget (a select box, radio, multiselect,
    pills: their deserializer's ``formatted_option_to_option_index``) does not offer, else None. Streamlit passes
    an unknown label through for ``accept_new_options``, which no page of this app uses (tests/test_wire.py),
    and a page's ``on_change`` callback would read it before any check of ours."""
    offered = getattr(getattr(metadata, "deserializer", None), "__self__", None)
    offered = getattr(offered, "formatted_option_to_option_index", None)
    field = state.WhichOneof("value")
    if not isinstance(offered, dict) or field not in ("string_value", "string_array_value"):
        return None
    labels = [state.string_value] if field == "string_value" else list(state.string_array_value.data)
    return next((label for label in labels if label not in offered), None)


def _problem(state, metadata) -> str | None:
    """Why ``state`` is a value the widget of ``metadata`` never sends, or None."""
    field = state.WhichOneof("value")
    if _foreign(field, metadata):
        return f"{field} for a widget of {metadata.value_type}"
    unknown = _unknown_option(state, metadata)
    if unknown is not None:
        return f"an option it does not offer ({unknown[:40]!r})"
    return None


def _log(widget_id: str, why: str) -> None:
    _LOG.warning("ignored a value for widget %s that its browser code never sends: %s", widget_id, why)


def _checked_states(states: WidgetStates | None, metadata: dict) -> WidgetStates | None:
    """``states`` without the values of a field their widget never sends."""
    if states is None:
        return None
    kept = []
    for state in states.widgets:
        problem = _problem(state, metadata.get(state.id))
        if problem:
            _log(state.id, problem)
        else:
            kept.append(state)
    return states if len(kept) == len(states.widgets) else WidgetStates(widgets=kept)


def guard_widget_values() -> None:
    """Install the three checks (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        will_rerun = session_state.SessionState.on_script_will_rerun
        register_widget = session_state.SessionState.register_widget
        getitem = session_state.WStates.__getitem__

        def checked_will_rerun(self, fresh_widget_states, *args, **kwargs):
            fresh = _checked_states(fresh_widget_states, self._new_widget_state.widget_metadata)
            return will_rerun(self, fresh, *args, **kwargs)

        def checked_register_widget(self, metadata, user_key):
            stored = self._new_widget_state.states.get(metadata.id)
            problem = _problem(stored.value, metadata) if isinstance(stored, session_state.Serialized) else None
            if problem:
                _log(metadata.id, problem)
                del self._new_widget_state.states[metadata.id]
            return register_widget(self, metadata, user_key)

        def checked_getitem(self, k):
            stored = self.states.get(k)
            try:
                value = getitem(self, k)
                if isinstance(stored, session_state.Serialized):  # from the browser: can the widget write it back?
                    self.get_serialized(k)  # (a multiselect's unknown option cannot: its label is None)
                return value
            except KeyError:
                raise
            except Exception as error:  # whatever a deserializer or serializer raises on a value it cannot take
                if not isinstance(stored, session_state.Serialized):  # not a value from the browser: ours
                    raise
                self.states[k] = stored  # back as it came (a new value, not a new key: callers iterate states)
                _log(k, f"{stored.value.WhichOneof('value')} the widget cannot read ({type(error).__name__})")
                raise KeyError(k) from None

        session_state.SessionState.on_script_will_rerun = checked_will_rerun
        session_state.SessionState.register_widget = checked_register_widget
        session_state.WStates.__getitem__ = checked_getitem
        _installed = True


def guard_clear_cache() -> None:
    """Ignore a client's "clear caches" message unless the toolbar is the developer's (idempotent)."""
    global _clear_cache_guarded
    with _lock:
        if _clear_cache_guarded:
            return
        clear = app_session.AppSession._handle_clear_cache_request

        def checked_clear(self) -> None:
            if st.get_option("client.toolbarMode") == "developer":
                clear(self)
            else:
                _LOG.warning("ignored a 'clear caches' message from session %s (not the developer's toolbar)", self.id)

        checked_clear.__wrapped__ = clear  # Streamlit's own handler (tests/test_jobs.py runs it)
        app_session.AppSession._handle_clear_cache_request = checked_clear
        _clear_cache_guarded = True
