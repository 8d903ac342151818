"""AppTest: every page renders without exception at its defaults, for every preset and cell, at the
extremes of every slider, and turns bad input into a message instead of a traceback."""

import io
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnviz
from rnnviz.content import lessons
from rnnviz.engine import studies
from rnnviz.figures import common
from tests.helpers import GRADIENTS, STEPPER, assert_clean, open_page, readout


def test_landing_page_reveals_the_measurement_after_a_guess():
    at = open_page()
    assert_clean(at)
    assert not at.success  # predict first
    at.radio(key="home.guess").set_value("RNN").run()
    assert_clean(at)
    assert "you guessed RNN" in at.success[0].value
    kept = {}  # recomputed: the plotted distance at step 100, which the page judges
    for kind in ("rnn", "lstm", "gru"):
        cell = studies.CellConfig(kind=kind, hidden_size=16, forget_bias=3.0).make_cell()
        memory = studies.pulse_memory(cell, 150)
        kept[kind] = memory[100]
    winners = lessons.most_kept(kept)
    names = " and ".join(common.model_name(k) for k in winners)
    verdict = names if len(winners) == 1 else f"{names}, about the same"
    assert f"Most kept: **{verdict}**" in at.success[0].value


@pytest.mark.parametrize(
    "cell,preset",
    list(itertools.product(["rnn", "lstm", "gru", "all"], ["pulse", "pulse_noise", "sine", "random", "custom"])),
)
def test_stepper_renders_every_cell_and_preset(cell, preset):
    at = open_page(STEPPER, kind=cell, preset=preset)
    assert_clean(at)
    assert not at.error
    assert len(at.get("plotly_chart")) == 1  # overview and diagram in one animated figure
    assert not at.latex  # the equations in symbols: written when their expander opens (a rerun)
    at.session_state["stepper.symbols"] = True
    at.run()
    assert at.latex


@pytest.mark.parametrize(
    "key,value",
    [
        ("hidden_size", 1),
        ("hidden_size", 32),
        ("length", 5),
        ("length", 200),
        ("forget_bias", -3.0),
        ("forget_bias", 6.0),
        ("spectral_radius", 0.25),
        ("spectral_radius", 2.0),
        ("seed", 0),
        ("seed", 9999),
    ],
)
def test_stepper_slider_extremes(key, value):
    at = open_page(STEPPER, kind="all", nonlinearity="relu")
    key = f"stepper.{key}"
    widget = at.number_input(key=key) if key == "stepper.seed" else at.slider(key=key)
    widget.set_value(value).run()
    assert_clean(at)
    assert not at.error


def test_stepper_step_and_unit_follow_the_sizes():
    at = open_page(STEPPER, kind="lstm", length=200, step=199, hidden_size=32, unit=31)
    assert_clean(at)
    at.slider(key="stepper.length").set_value(5).run()
    at.slider(key="stepper.hidden_size").set_value(1).run()
    assert_clean(at)
    assert at.session_state["stepper.step"] == 4 and at.number_input(key="stepper.unit").value == 0


@pytest.mark.parametrize(
    "text,message",
    [
        ("1, 2, abc", "entry 3 ('abc') is not a number"),
        ("", "empty"),
        ("1e300", "too large"),
        ("nan", "finite"),
        (", ".join(["1"] * 201), "at most 200"),
        ("inf, 1", "finite"),
    ],
)
def test_stepper_junk_sequences_give_a_message(text, message):
    at = open_page(STEPPER, kind="lstm", preset="custom")
    at.text_area(key="stepper.custom").set_value(text).run()
    assert_clean(at)
    assert len(at.error) == 1 and message in at.error[0].value
    at.text_area(key="stepper.custom").set_value("1, 0, 0, 0.5").run()  # and the page keeps working
    assert_clean(at)
    assert not at.error and len(at.get("plotly_chart")) == 1


def test_stepper_ignores_junk_in_the_url():
    at = open_page(STEPPER, kind="transformer", hidden_size="lots", spectral_radius="nan", length=10_000)
    assert_clean(at)
    assert at.selectbox(key="stepper.kind").value == "lstm"
    assert at.slider(key="stepper.hidden_size").value == 8 and at.slider(key="stepper.length").value == 60


def test_stepper_settings_go_into_the_url():
    at = open_page(STEPPER)
    at.selectbox(key="stepper.kind").set_value("gru").run()
    at.slider(key="stepper.hidden_size").set_value(12).run()
    assert at.query_params["kind"] == "gru" and at.query_params["hidden_size"] == "12"


def upload_bytes(cell) -> bytes:
    buffer = io.BytesIO()
    rnnviz.save_npz(cell, buffer)
    return buffer.getvalue()


def test_uploaded_model_is_shown_and_bad_uploads_give_a_message():
    from rnnviz.app import ui

    good = rnnviz.init_cell("gru", 3, 5, seed=2)
    config = studies.CellConfig(preset="sine", length=20)
    run = ui.cached_uploaded_run(upload_bytes(good), "tanh", config)
    assert run.kind == "gru" and run.h.shape == (20, 5) and run.x.shape == (20, 3)
    np.testing.assert_array_equal(run.h, good.forward(config.make_input(3)).h)
    with pytest.raises(ValueError, match="not a readable .npz"):
        ui.cached_uploaded_run(b"PK\x03\x04 not really a zip", "tanh", config)


# ---- gradient page ---------------------------------------------------------------------------------


def test_gradient_page_defaults_show_all_figures_and_readouts():
    at = open_page(GRADIENTS)
    assert_clean(at)
    # the clipping section starts folded, and folded it trains nothing and draws nothing
    assert len(at.get("plotly_chart")) == 3 and not at.select_slider
    assert "Train this RNN twice, with and without clipping" in [e.label for e in at.main.expander]
    assert not at.latex  # the theory is folded too, and folded it is not sent
    at.session_state["gradient.clipping"] = True  # what opening them does (on_change="rerun")
    at.session_state["gradient.why"] = True
    at.run()
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 4 and at.select_slider(key="gradient.clip").value == 3.0
    assert len(at.latex) == 3
    labels = [m.label for m in at.metric]
    assert labels == [
        "RNN: dL/dh",
        "LSTM: dL/dh",
        "GRU: dL/dh",
        "LSTM: dL/dc (cell path)",
        "LSTM 1997: dL/dc (no forget gate)",
        "ρ = max |λ|, set by the slider",
        "σ_max, the largest singular value",
    ]
    words = {label: word for label, (word, _) in readout(at).items()}
    assert len(words) == 5 and set(words.values()) <= {"vanishing", "fading", "kept", "growing", "exploding"}
    # the default view is the contrast: the RNN's gradient vanishes, the LSTM's cell path keeps it
    assert words["RNN: dL/dh"] == "vanishing" and words["LSTM: dL/dc (cell path)"] == "kept"


@pytest.mark.parametrize("scenario", [0, 1, 2, 3])
def test_gradient_scenarios(scenario):
    at = open_page(GRADIENTS)
    at.sidebar.button[scenario].click().run()
    assert_clean(at)
    words = {label: word for label, (word, _) in readout(at).items()}
    expected_rnn = ["vanishing", "vanishing", "vanishing", "exploding"][scenario]
    assert words["RNN: dL/dh"] == expected_rnn
    assert words["LSTM: dL/dc (cell path)"] == ["kept", "vanishing", "kept", "vanishing"][scenario]


@pytest.mark.parametrize(
    "key,value",
    [
        ("spectral_radius", 0.25),
        ("spectral_radius", 2.0),
        ("forget_bias", -3.0),
        ("forget_bias", 6.0),
        ("length", 10),
        ("length", 500),
        ("hidden_size", 1),
        ("hidden_size", 64),
    ],
)
@pytest.mark.parametrize("dtype,act", [("float64", "tanh"), ("float32", "relu")])
def test_gradient_page_slider_extremes(key, value, dtype, act):
    at = open_page(GRADIENTS, dtype=dtype, nonlinearity=act)
    at.slider(key=f"gradient.{key}").set_value(value).run()
    assert_clean(at)
    assert not at.error


def test_gradient_page_overflowing_corner_is_reported_not_raised():
    at = open_page(
        GRADIENTS, spectral_radius=2.0, nonlinearity="relu", dtype="float32", length=500, hidden_size=64, clipping=True
    )
    assert_clean(at)
    assert any("overflowed in the forward pass" in w.value for w in at.warning)
    assert readout(at)["RNN: dL/dh"][0] == "exploding"
    at.select_slider(key="gradient.clip").set_value(0.1).run()
    assert_clean(at)


# ---- property-based: random widget values through the stepper ----------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cell=st.sampled_from(["rnn", "lstm", "gru", "all"]),
    hidden=st.integers(1, 32),
    length=st.integers(5, 200),
    preset=st.sampled_from(["pulse", "pulse_noise", "sine", "random", "custom"]),
    custom=st.text(max_size=40),
    seed=st.integers(0, 9999),
    bias=st.sampled_from([x / 2 for x in range(-6, 13)]),
    radius=st.sampled_from([round(0.25 + 0.05 * k, 2) for k in range(36)]),
    act=st.sampled_from(["tanh", "relu"]),
)
def test_stepper_survives_random_widget_values(cell, hidden, length, preset, custom, seed, bias, radius, act):
    at = open_page(
        STEPPER,
        kind=cell,
        hidden_size=hidden,
        length=length,
        preset=preset,
        seed=seed,
        forget_bias=bias,
        spectral_radius=radius,
        nonlinearity=act,
    )
    if preset == "custom":
        at.text_area(key="stepper.custom").set_value(custom).run()
    assert_clean(at)
    # either the figures, or one clear message about the typed sequence
    assert len(at.get("plotly_chart")) == 1 or (preset == "custom" and len(at.error) == 1)


@pytest.mark.parametrize("typed", ["5", "0.5", "-3"])
def test_stepper_takes_a_one_number_sequence(typed):
    """Issue 15: T = 1 used to crash the step slider; every range derived from the data survives T = 1."""
    at = open_page(STEPPER, kind="all", preset="custom", custom=typed, step=7)
    assert_clean(at)
    assert not at.error and len(at.get("plotly_chart")) == 1
    assert at.session_state["stepper.step"] == 0


def test_stepper_at_the_smallest_data_and_sizes():
    at = open_page(STEPPER, kind="lstm", hidden_size=1, length=5, unit=31, step=499)
    assert_clean(at)
    assert at.number_input(key="stepper.unit").value == 0 and at.session_state["stepper.step"] == 4


@pytest.mark.parametrize("view", ["effect", "values"])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "all"])
def test_stepper_views_and_every_row(view, kind):
    rows = ["h", "c", "input", "forget", "cell", "output", "reset", "update", "new"]
    at = open_page(STEPPER, kind=kind, view=view, rows=rows)
    assert_clean(at)
    assert len(at.get("plotly_chart")) == 1


def test_stepper_effect_caption_reads_the_numbers():
    """The caption names how much of each state's largest response is left at the last step: recompute it."""
    at = open_page(STEPPER, kind="lstm")
    caption = next(c.value for c in at.caption if "largest effect" in c.value)
    config = rnnviz.engine.studies.CellConfig()
    cell = config.make_cell()
    x = config.make_input()
    pulse, silence = cell.forward(x), cell.forward(np.zeros_like(x))
    for name, a, b in (("h", pulse.h, silence.h), ("c", pulse.c, silence.c)):
        size = np.max(np.abs(a - b), axis=1)
        assert f"LSTM {name}: {size[-1] / size.max():.0%}" in caption
