"""What rnnviz.app.wire relies on (the real-server probes are in tests/test_server_probes.py)."""

from __future__ import annotations

import inspect
from pathlib import Path

from streamlit.elements.widgets.multiselect import MultiSelectSerde
from streamlit.elements.widgets.radio import RadioSerde
from streamlit.elements.widgets.selectbox import SelectboxSerde
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.state import session_state

from rnnviz.app import wire

ROOT = Path(__file__).resolve().parents[1]


def test_no_page_lets_a_choice_widget_take_new_options():
    """wire drops a label a choice widget does not offer: right only while no widget accepts new ones."""
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "rnnviz" / "app").glob("*.py")]:
        assert "accept_new_options" not in path.read_text() or path.name == "wire.py", path


def test_the_streamlit_internals_it_wraps_are_there():
    assert list(inspect.signature(session_state.SessionState.register_widget).parameters)[1:] == [
        "metadata",
        "user_key",
    ]
    assert "fresh_widget_states" in inspect.signature(session_state.SessionState.on_script_will_rerun).parameters
    assert hasattr(session_state.WStates, "get_serialized") and hasattr(session_state, "Serialized")
    for serde in (SelectboxSerde, RadioSerde, MultiSelectSerde):
        assert "formatted_option_to_option_index" in inspect.signature(serde.__init__).parameters


def test_a_value_of_another_field_or_an_option_not_offered_is_a_problem_and_a_good_value_is_not():
    class Metadata:  # what wire reads of a widget's metadata
        def __init__(self, value_type, deserializer=None):
            self.value_type, self.deserializer = value_type, deserializer

    serde = SelectboxSerde(["a", "b"], formatted_options=["A", "B"], formatted_option_to_option_index={"A": 0, "B": 1})
    choice = Metadata("string_value", serde.deserialize)
    number = Metadata("double_value")
    good, other, unknown, cleared = (WidgetState(id="w") for _ in range(4))
    good.string_value, other.double_value, unknown.string_value = "B", 1.0, "C"
    assert wire._problem(good, choice) is None and wire._problem(cleared, choice) is None
    assert "double_value for a widget of string_value" in wire._problem(other, choice)
    assert "does not offer ('C')" in wire._problem(unknown, choice)
    assert wire._problem(other, number) is None and wire._problem(good, None) is None
    whole = WidgetState(id="w", int_value=3)  # a number_input's browser code sends whole numbers so
    assert wire._problem(whole, number) is None and "int_value" in wire._problem(whole, choice)
