"""The forecasting lab: windowing, the chronological split, scaling fitted on the past only, the baselines
exact on series built for them, every bad input a ValueError with its message (memory bounded), training
judged by what it means, the CLI, the shipped series, and the page (AppTest)."""

import codecs
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from rnnviz.__main__ import main
from rnnviz.engine import forecast as fc

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/5_Forecast_lab.py"


def csv_of(values, header="t,value") -> bytes:
    lines = [header] + [f"{i},{v}" for i, v in enumerate(values)]
    return ("\n".join(lines) + "\n").encode()


def seasonal(n=120, season=12, seed=0) -> np.ndarray:
    pattern = np.random.default_rng(seed).normal(size=season)
    return np.tile(pattern, n // season + 1)[:n]


# ---- windows, split, scaling ----------------------------------------------------------------------


def test_windows_are_the_past_w_values_and_the_next_k():
    v = np.arange(20.0)
    x, y = fc.windows(v, np.array([5, 9]), window=5, horizon=3)
    np.testing.assert_array_equal(x, [[0, 1, 2, 3, 4], [4, 5, 6, 7, 8]])
    np.testing.assert_array_equal(y, [[5, 6, 7], [9, 10, 11]])
    with pytest.raises(ValueError, match="outside the series"):
        fc.windows(v, np.array([4]), window=5, horizon=1)
    with pytest.raises(ValueError, match="outside the series"):
        fc.windows(v, np.array([18]), window=5, horizon=3)


def test_split_is_chronological_and_targets_stay_in_their_part():
    config = fc.ForecastConfig(window=10, horizon=4, season=12)
    s = fc.split(200, config)
    assert (s.train_end, s.val_end, s.n) == (140, 170, 200)
    assert s.start == 12  # a full window and a full season before the first origin
    for part, (lo, hi) in {"train": (0, 140), "val": (140, 170), "test": (170, 200)}.items():
        origins = s.origins(part, 4)
        assert origins.min() >= max(lo, 12) and origins.max() + 4 <= hi
        assert len(origins) == hi - max(lo, 12) - 4 + 1  # every origin whose targets fit
    assert fc.split(200, config).origins("test", 4)[0] == 170


def test_split_refuses_a_series_too_short_for_the_window_or_the_horizon():
    with pytest.raises(ValueError, match="too short for a window of 30"):
        fc.split(40, fc.ForecastConfig(window=30, horizon=2))
    with pytest.raises(ValueError, match="test part has 6 values, fewer than the horizon 8"):
        fc.split(40, fc.ForecastConfig(window=4, horizon=8))


def test_scaler_is_fitted_on_the_training_part_only():
    v = np.concatenate([np.linspace(0, 1, 70), np.linspace(100, 200, 30)])
    result = fc.run(v, fc.ForecastConfig(window=5, horizon=2), kinds=())
    train = v[: result.split.train_end]
    assert result.scaler.mean == pytest.approx(train.mean()) and result.scaler.scale == pytest.approx(train.std())
    np.testing.assert_allclose(result.scaler.inverse(result.scaler.transform(v)), v)


@pytest.mark.parametrize("difference", [False, True])
def test_changing_the_future_changes_no_forecast_made_before_it(difference):
    """No leakage: the first test forecast is made from values before the test part. Replacing the whole test
    part by other numbers must leave it, and every model's training, exactly as they were."""
    t = np.arange(160)
    v = np.sin(2 * np.pi * t / 16) + 0.1 * np.random.default_rng(1).normal(size=160)
    config = fc.ForecastConfig(8, 3, 16, hidden_size=4, updates=30, eval_every=10, difference=difference)
    a = fc.run(v, config, kinds=("gru",))
    w = v.copy()
    w[a.split.val_end :] = 50.0 + np.random.default_rng(2).normal(size=len(v) - a.split.val_end)
    b = fc.run(w, config, kinds=("gru",))
    assert a.scaler == b.scaler
    for name in a.forecasts:
        np.testing.assert_array_equal(a.forecasts[name][0], b.forecasts[name][0])
    assert [p.val_mse for p in a.models["gru"].history] == [p.val_mse for p in b.models["gru"].history]
    assert not np.array_equal(a.truth, b.truth)  # the test part did change


# ---- baselines and recursion ---------------------------------------------------------------------------


def test_seasonal_naive_is_perfect_on_a_pure_seasonal_series_even_beyond_one_season():
    v = seasonal(240, 12)
    result = fc.run(v, fc.ForecastConfig(window=6, horizon=15, season=12), kinds=())
    assert result.errors["seasonal naive"]["mae"] < 1e-12
    assert result.errors["persistence"]["mae"] > 0.1  # the test can fail: persistence is not exact here
    assert np.isnan(result.errors["seasonal naive"]["relative"])  # relative to a perfect forecast: undefined


def test_persistence_repeats_the_last_value_and_seasonal_naive_the_last_season():
    v = np.arange(50.0) ** 1.5
    origins = np.array([20, 30])
    np.testing.assert_array_equal(fc.persistence(v, origins, 3), [[v[19]] * 3, [v[29]] * 3])
    np.testing.assert_array_equal(fc.seasonal_naive(v, origins, 5, 4)[0], [v[16], v[17], v[18], v[19], v[16]])
    np.testing.assert_array_equal(fc.seasonal_naive(v, origins, 3, None), fc.persistence(v, origins, 3))


def test_linear_ar_forecasts_a_sine_exactly_many_steps_ahead():
    """sin(w t) = 2 cos(w) sin(w (t-1)) - sin(w (t-2)): a linear AR of the window holds it exactly."""
    v = 3.0 + np.sin(2 * np.pi * np.arange(300) / 23.0)
    result = fc.run(v, fc.ForecastConfig(window=4, horizon=10), kinds=())
    assert result.errors["linear AR"]["mae"] < 1e-6
    assert result.errors["persistence"]["mae"] > 0.1


def test_differencing_forecasts_the_changes_and_sums_them_back_onto_the_last_value():
    """A trend plus a sine: its changes are a constant plus a sine, which a linear AR of the window holds
    exactly with a window of 2, so with differencing the AR forecasts the levels exactly; on the levels
    themselves a window of 2 cannot (it would need 3: (1 - B)(1 - 2 cos(w) B + B^2) annihilates both up to a
    constant)."""
    t = np.arange(300)
    v = 0.05 * t + np.sin(2 * np.pi * t / 23.0)
    changes = fc.run(v, fc.ForecastConfig(window=2, horizon=10, difference=True), kinds=())
    assert changes.errors["linear AR"]["mae"] < 1e-6
    assert changes.scaler.mean == pytest.approx(np.mean(np.diff(v[: changes.split.train_end])))
    levels = fc.run(v, fc.ForecastConfig(window=2, horizon=10), kinds=())
    assert levels.errors["linear AR"]["mae"] > 1e-3
    with pytest.raises(ValueError, match="needs at least 14 values"):  # a window of 9 changes needs 10 values
        fc.split(19, fc.ForecastConfig(window=9, horizon=2, difference=True))
    fc.split(19, fc.ForecastConfig(window=9, horizon=2))  # without differencing the same window fits


def test_recursive_feeds_each_forecast_back_as_the_newest_input():
    x = np.array([[1.0, 2.0, 3.0]])
    out = fc.recursive(lambda w: w.mean(axis=1), x, 3)
    first = 2.0
    second = np.mean([2.0, 3.0, first])
    third = np.mean([3.0, first, second])
    np.testing.assert_allclose(out, [[first, second, third]])


# ---- training, judged by meaning -------------------------------------------------------------------


def test_an_lstm_beats_the_mean_predictor_on_a_clean_sine():
    v = np.sin(2 * np.pi * np.arange(240) / 20.0)
    config = fc.ForecastConfig(window=10, horizon=4, hidden_size=8, updates=300, eval_every=50)
    result = fc.run(v, config, kinds=("lstm",))
    mean_predictor = float(np.mean(np.abs(result.truth - result.scaler.mean)))
    assert result.errors["lstm"]["mae"] < 0.5 * mean_predictor
    history = result.models["lstm"].history
    assert history[0].update == 0 and history[-1].update == 300
    assert min(p.val_mse for p in history) < 0.5 * history[0].val_mse  # it learned
    assert result.errors["lstm"]["params"] == 4 * 8 * (1 + 8 + 2) + 8 + 1


def test_parameter_counts_and_the_table():
    v = np.sin(np.arange(120) / 3.0)
    config = fc.ForecastConfig(window=6, horizon=2, hidden_size=5, updates=5, eval_every=5)
    result = fc.run(v, config)
    H = 5
    counts = {row["method"]: row["params"] for row in result.table()}
    assert counts == {
        "rnn": H * (1 + H + 2) + H + 1,
        "lstm": 4 * H * (1 + H + 2) + H + 1,
        "gru": 3 * H * (1 + H + 2) + H + 1,
        "linear AR": 7,
        "persistence": 0,
        "seasonal naive": 0,
    }
    maes = [row["mae"] for row in result.table()]
    assert maes == sorted(maes)


def test_sentences_follow_the_numbers():
    v = seasonal(240, 12)
    result = fc.run(v, fc.ForecastConfig(window=6, horizon=3, season=12), kinds=())
    text = " ".join(fc.describe(result))
    assert "a baseline's, the seasonal naive's" in text and "No network" not in text
    assert "seasonal naive forecasts this series exactly" in text
    v = np.sin(2 * np.pi * np.arange(240) / 20.0) + 0.2 * np.random.default_rng(0).normal(size=240)
    result = fc.run(v, fc.ForecastConfig(window=10, horizon=2, hidden_size=8, updates=200, eval_every=50), ("gru",))
    ratio = result.errors["gru"]["mae"] / min(result.errors[b]["mae"] for b in fc.BASELINES)
    sentence = next(s for s in fc.describe(result) if s.startswith("The GRU ("))
    assert f"{ratio:.2f} times" in sentence and ("does not beat" in sentence) == (ratio >= 1)


def test_a_trend_that_leaves_the_training_range_is_pointed_out():
    v = np.linspace(0, 10, 200) + 0.3 * np.sin(np.arange(200))
    result = fc.run(v, fc.ForecastConfig(window=5, horizon=2), kinds=())
    assert "outside the range of the training part" in fc.range_note(v, result)
    w = np.sin(np.arange(200) / 2.0)
    assert fc.range_note(w, fc.run(w, fc.ForecastConfig(window=5, horizon=2), kinds=())) is None


# ---- parsing: good input ---------------------------------------------------------------------------


def test_a_csv_with_a_header_a_year_column_and_a_value_column():
    data = csv_of(np.sin(np.arange(30)), header="year,flow").replace(b"\n0,", b"\n1900,")
    series = fc.parse_csv(data)
    assert len(series) == 30 and series.labels[0] == "1900"
    np.testing.assert_allclose(series.values, np.sin(np.arange(30)), atol=1e-12)


def test_semicolons_decimal_commas_tabs_bom_and_utf16_are_read():
    values = np.round(np.linspace(1, 2, 25), 3)
    semi = "datum;wert\n" + "\n".join(f"2020-{i};{str(v).replace('.', ',')}" for i, v in enumerate(values))
    np.testing.assert_allclose(fc.parse_csv(semi.encode()).values, values)
    tab = "\n".join(f"{i}\t{v}" for i, v in enumerate(values))
    np.testing.assert_allclose(fc.parse_csv(tab.encode()).values, values)
    text = "value\n" + "\n".join(str(v) for v in values)
    np.testing.assert_allclose(fc.parse_csv(codecs.BOM_UTF8 + text.encode()).values, values)
    np.testing.assert_allclose(fc.parse_csv(text.encode("utf-16")).values, values)


def test_a_column_is_picked_by_name_or_index():
    rows = "\n".join(f"{i},{i * 2 % 7},{(i * 3) % 5}" for i in range(25))
    data = ("i,a,b\n" + rows).encode()
    np.testing.assert_array_equal(fc.parse_csv(data, "a").values, [i * 2 % 7 for i in range(25)])
    np.testing.assert_array_equal(fc.parse_csv(data, 2).values, [(i * 3) % 5 for i in range(25)])
    np.testing.assert_array_equal(fc.parse_csv(data).values, [(i * 3) % 5 for i in range(25)])  # the last numeric
    with pytest.raises(ValueError, match="no column named 'c'; the columns are i, a, b"):
        fc.parse_csv(data, "c")


def test_missing_values_are_refused_dropped_or_interpolated_and_counted():
    values = [str(float(i % 7)) for i in range(30)]
    values[5] = ""
    values[9] = "NA"
    data = ("t,v\n" + "\n".join(f"{i},{v}" for i, v in enumerate(values))).encode()
    with pytest.raises(ValueError, match=r"2 missing values in column 'v' \(the first at row 7\)"):
        fc.parse_csv(data)
    dropped = fc.parse_csv(data, missing="drop")
    assert len(dropped) == 28 and "2 missing values dropped" in dropped.notes[0]
    filled = fc.parse_csv(data, missing="interpolate")
    assert len(filled) == 30 and "2 missing values filled by linear interpolation" in filled.notes[0]
    assert filled.values[5] == pytest.approx((4.0 + 6.0) / 2)


def test_pasted_numbers():
    series = fc.parse_text("1, 2, 3; 4\n5 6 " + " ".join(str(i % 5) for i in range(20)))
    assert len(series) == 26 and series.values[3] == 4
    with pytest.raises(ValueError, match="entry 3: 'x' is not a number"):
        fc.parse_text("1 2 x " + "1 " * 30)
    with pytest.raises(ValueError, match="nothing pasted"):
        fc.parse_text("  \n ")


# ---- parsing: every bad input ----------------------------------------------------------------------------


BAD = {
    "text cell": (
        b"t,v\n" + b"".join(f"{i},{i % 3}\n".encode() for i in range(30)) + b"30,abc\n",
        "row 32, column 'v': 'abc' is not a number",
    ),
    "infinite": (csv_of([1, 2, "inf"] + [1, 2] * 15), "row 4, column 'value': 'inf' is not a finite number"),
    "huge": (csv_of([1, 2, 3e300] + [1, 2] * 15), "row 4, column 'value': 3e+300 is too large"),
    "constant": (csv_of([4.5] * 40), "is constant (every value is 4.5)"),
    "too short": (csv_of([1, 2, 3, 4]), "has 4 values: too short to forecast, at least 20"),
    "too long": (csv_of([i % 7 for i in range(fc.MAX_POINTS + 5)]), f"at most {fc.MAX_POINTS:,} values"),
    "latin-1": ("température\n".encode("latin-1") + b"1\n2\n" * 20, "line 1 is not UTF-8 text (byte 0xe9"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary file, not text"),
    "xlsx": (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "zip archive (an Excel .xlsx?)"),
    "empty": (b"", "the file is empty"),
    "words only": (b"name,city\nann,paris\nbob,rome\n", "no column of numbers found"),
    "missing": (csv_of([1, "", 3] + [1, 2] * 15), "1 missing value in column 'value' (the first at row 3)"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_each_bad_csv_is_a_value_error_that_says_what_and_where(case):
    data, message = BAD[case]
    with pytest.raises(ValueError) as err:
        fc.parse_csv(data)
    assert message in str(err.value)


def test_a_large_file_is_refused_before_it_is_decoded_and_memory_stays_bounded(tmp_path):
    big = b"1\n" * (30 * 2**20)  # 60 MB of valid-looking numbers
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="at most 1,048,576"):
            fc.parse_csv(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # nothing the size of the file was made
    path = tmp_path / "big.csv"
    path.write_bytes(big)
    assert len(fc.read_file(path)) == fc.MAX_BYTES + 1  # the CLI reads no more than that
    # Just under the cap, a file of MAX_POINTS values parses within a few times its own size.
    ok = csv_of([i % 11 for i in range(fc.MAX_POINTS)])
    tracemalloc.start()
    try:
        assert len(fc.parse_csv(ok)) == fc.MAX_POINTS
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20
    wide = b",".join([b"1"] * (fc.MAX_BYTES // 2 - 1))  # one line of half a million cells
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="line 1 has more than"):
            fc.parse_csv(wide)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_bad_settings_are_value_errors():
    with pytest.raises(ValueError, match="window must be between 1 and 200"):
        fc.ForecastConfig(window=0).check()
    with pytest.raises(ValueError, match="unknown cell 'tcn'"):
        fc.train_model("tcn", (np.zeros((4, 3)), np.zeros(4)), (np.zeros((2, 3)), np.zeros(2)), fc.ForecastConfig())
    with pytest.raises(ValueError, match="missing must be one of"):
        fc.parse_csv(csv_of(range(30)), missing="guess")


# ---- shipped series and the CLI --------------------------------------------------------------------------


def test_every_shipped_series_loads_and_is_documented():
    readme = (fc.SERIES_DIR / "README.md").read_text()
    sizes = {"co2": 526, "elnino": 732, "sunspots": 309, "nile": 100, "seattle": 1461}
    for name, info in fc.SHIPPED.items():
        series = fc.load_series(name)
        assert len(series) == sizes[name] and np.all(np.isfinite(series.values))
        assert info.file in readme and "public domain" in readme
        fc.split(len(series), fc.ForecastConfig(window=info.window, horizon=info.horizon, season=info.season))
    assert fc.load_series("co2").notes == ("5 missing values filled by linear interpolation (the first at row 5)",)
    assert fc.load_series("nile").values[0] == 1120 and fc.load_series("nile").labels[-1] == "1970"


def test_cli_prints_the_errors_of_the_model_and_the_baselines(capsys):
    argv = ["forecast", "--series", "nile", "--cell", "gru", "--window", "5", "--horizon", "2", "--hidden", "4"]
    assert main([*argv, "--updates", "20", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    methods = {row["method"] for row in summary["errors"]}
    assert methods == {"gru", "persistence", "seasonal naive", "linear AR"}
    assert summary["values"] == 100 and summary["config"]["window"] == 5
    assert summary["split"] == {"train": 70, "val": 15, "test": 15} and summary["test_origins"] == 14


def test_cli_reports_a_bad_csv_in_one_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD["text cell"][0])
    assert main(["forecast", "--csv", str(path), "--cell", "none"]) == 2
    err = capsys.readouterr().err
    assert "rnnviz forecast: error: row 32, column 'v': 'abc' is not a number" in err


# ---- the page (AppTest) ----------------------------------------------------------------------------


def open_forecast_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    return at


def test_page_trains_on_an_uploaded_csv_and_a_bad_csv_shows_its_message():
    at = open_forecast_page()
    assert not at.exception
    at.radio(key="forecast.source").set_value("upload").run()
    t = np.arange(150)
    at.file_uploader(key="forecast.upload").set_value(("mine.csv", csv_of(np.sin(t / 3.0)), "text/csv")).run()
    assert not at.exception and not at.error
    at.number_input(key="forecast.updates").set_value(40).run()
    at.button(key="forecast.train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert {"RNN", "LSTM", "GRU", "persistence", "seasonal naive", "linear AR"} <= set(table["method"])
    assert {b.label for b in at.get("download_button")} >= {"⬇ Forecasts (CSV)", "⬇ LSTM weights (.npz)"}
    # A bad file: its message, and the page still draws its controls.
    at.file_uploader(key="forecast.upload").set_value(("bad.csv", BAD["text cell"][0], "text/csv")).run()
    assert not at.exception
    assert any("row 32, column 'v': 'abc' is not a number" in e.value for e in at.error)
    assert at.file_uploader(key="forecast.upload") and at.slider(key="forecast.window")  # the controls stay
    assert not at.button  # nothing to train on: no Train button until the file is good
    at.file_uploader(key="forecast.upload").set_value(("ok.csv", csv_of(np.cos(t / 4.0)), "text/csv")).run()
    assert not at.exception and not at.error


def test_page_offers_to_fill_missing_values_and_reads_pasted_numbers():
    at = open_forecast_page()
    at.radio(key="forecast.source").set_value("upload").run()
    values = [f"{np.sin(i / 3):.4f}" for i in range(80)]
    values[10] = "NA"
    data = ("t,v\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values))).encode()
    at.file_uploader(key="forecast.upload").set_value(("gaps.csv", data, "text/csv")).run()
    assert any("1 missing value in column 'v' (the first at row 12)" in e.value for e in at.error)
    at.radio(key="forecast.missing").set_value("interpolate").run()
    assert not at.error and not at.exception
    assert any("1 missing value filled by linear interpolation" in i.value for i in at.info)
    at.radio(key="forecast.source").set_value("paste").run()
    at.text_area(key="forecast.paste").set_value("1 2 x 4").run()
    assert any("entry 3: 'x' is not a number" in e.value for e in at.error) and not at.exception
    at.text_area(key="forecast.paste").set_value(" ".join(str(i % 9) for i in range(200))).run()
    assert not at.error and not at.exception and at.button(key="forecast.train")


def test_page_shipped_series_bring_their_own_window_and_a_too_long_window_is_explained():
    at = open_forecast_page()
    assert not at.exception and at.slider(key="forecast.window").value == fc.SHIPPED["co2"].window
    assert at.toggle(key="forecast.difference").value is True
    at.selectbox(key="forecast.series").set_value("nile").run()
    assert at.slider(key="forecast.window").value == fc.SHIPPED["nile"].window
    assert at.number_input(key="forecast.season").value == 0
    assert at.toggle(key="forecast.difference").value is False  # CO2 (the default) forecasts changes; the Nile not
    at.slider(key="forecast.horizon").set_value(20).run()
    assert any("test part has 15 values, fewer than the horizon 20" in e.value for e in at.error)
    assert not at.exception


def test_a_long_test_part_is_scored_on_evenly_spread_origins_and_its_paths_do_not_overlap():
    from rnnviz.figures import forecast as figures

    v = np.sin(np.arange(3000) / 5.0)
    config = fc.ForecastConfig(window=5, horizon=7, hidden_size=2, updates=3, eval_every=3)
    result = fc.run(v, config, kinds=("rnn",))
    all_origins = result.split.origins("test", 7)
    assert len(all_origins) > fc.MAX_TEST_ORIGINS == len(result.origins)
    assert result.origins[0] == all_origins[0] and result.origins[-1] == all_origins[-1]
    np.testing.assert_array_equal(result.truth, v[result.origins[:, None] + np.arange(7)])
    fig = figures.forecast_figure(v, result, ["rnn", "persistence"])
    starts = next(t for t in fig.data if t.name == "RNN origins").x
    assert len(starts) > 10 and np.all(np.diff(starts) >= 7)
    assert fig.layout.shapes[0].x0 == result.split.val_end - 0.5  # the line where the test part begins


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.binary(max_size=3000), st.text(alphabet='0123456789.,;\t\n -eEnaNA"x', max_size=3000).map(str.encode))
)
def test_any_bytes_give_a_series_of_finite_numbers_or_a_value_error(data):
    try:
        series = fc.parse_csv(data)
    except ValueError as err:
        assert str(err)
        return
    assert len(series) >= fc.MIN_POINTS and np.all(np.isfinite(series.values)) and np.ptp(series.values) > 0


def test_baseline_lines_are_visible_on_white():
    from rnnviz.figures import forecast as figures
    from rnnviz.figures.theme import LINE_CONTRAST, contrast

    for color, _, _ in figures.BASELINE_STYLE.values():
        assert contrast(color) >= LINE_CONTRAST
    dashes = {dash for _, dash, _ in figures.BASELINE_STYLE.values()} | set(figures.MODEL_DASH.values())
    assert len(dashes) == 6  # every method has a dash of its own, beside its colour and marker
