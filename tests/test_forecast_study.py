"""The window study (rnnviz.engine.forecast_study): the shipped numbers are what the engine computes (the baselines
and the linear AR recomputed, a network retrained and judged by meaning), the sentences follow the numbers, and
the page shows the study of a shipped series."""

import numpy as np
import pytest

from rnnviz.engine import forecast as fc
from rnnviz.engine import forecast_study as fs
from tests.helpers import open_page

SHIPPED = fs.load()


def test_the_shipped_study_covers_its_plan_and_crosses_each_season():
    assert set(SHIPPED["series"]) == set(fs.PLAN)
    for name, record in SHIPPED["series"].items():
        assert record["windows"] == list(fs.PLAN[name]) and record["seeds"] == list(fs.SEEDS)
        assert min(record["windows"]) < record["season"] < max(record["windows"])
        for values in record["mae"].values():
            assert np.asarray(values).shape == (len(record["windows"]), len(record["seeds"]))


@pytest.mark.parametrize("name", sorted(fs.PLAN))
def test_the_shipped_baselines_and_linear_ar_are_what_the_engine_computes(name):
    """No training: float64 least squares and copies, equal to rounding on any BLAS kernel."""
    record = SHIPPED["series"][name]
    values = fc.load_series(name).values
    for i, window in enumerate(record["windows"]):
        result = fc.run(values, fs.config_for(name, window, 0), kinds=())
        for method in ("linear AR", "seasonal naive", "persistence"):
            np.testing.assert_allclose(record["mae"][method][i], result.errors[method]["mae"], rtol=1e-9)


def test_a_shipped_network_retrains_to_the_same_error_by_meaning():
    """Float32 training on another BLAS kernel may round differently: the retrained test MAE must be within 5%
    of the shipped one, and on the same side of the linear AR's."""
    record = SHIPPED["series"]["elnino"]
    i = record["windows"].index(3)
    result = fc.run(fc.load_series("elnino").values, fs.config_for("elnino", 3, 0), kinds=("rnn",))
    shipped, now, ar = record["mae"]["rnn"][i][0], result.errors["rnn"]["mae"], record["mae"]["linear AR"][i][0]
    assert now == pytest.approx(shipped, rel=0.05)
    assert (now < ar) == (shipped < ar)


def made_up(ar, rnn, lstm, gru, windows=(3, 6, 12, 24), season=12, spread=0.0) -> dict:
    mae = {"rnn": rnn, "lstm": lstm, "gru": gru, "linear AR": ar}
    return {
        "series": "made up",
        "unit": "°C",
        "horizon": 3,
        "season": season,
        "windows": list(windows),
        "seeds": [0, 1],
        "mae": {m: [[v - spread / 2, v + spread / 2] for v in values] for m, values in mae.items()},
    }


def test_sentences_follow_the_numbers():
    record = made_up(ar=[2.0, 1.8, 1.0, 1.5], rnn=[1.0, 1.0, 1.02, 0.99], lstm=[1.2, 1.1, 0.9, 0.8], gru=[1.1] * 4)
    text = fs.describe(record)
    assert "The linear AR gains 44% from a window of at least a season: best test MAE 1.8 °C with W < 12, 1 °C" in (
        " ".join(text)
    )
    assert "The RNN changes little (within 5%) once its window covers a season" in " ".join(text)
    assert "The LSTM gains 27%" in " ".join(text)
    assert any(
        s.startswith("At the shortest window (3) the best is the RNN (1 °C); at the longest (24), the LSTM")
        for s in text
    )
    assert any("The linear AR is best at W = 12 (1 °C) and worse again at W = 24 (1.5 °C)" in s for s in text)
    assert not any("do not rank" in s for s in text)  # no spread between seeds here

    noisy = made_up(ar=[1.0] * 4, rnn=[1.0, 1.0, 0.9, 0.92], lstm=[1.0, 1.0, 0.95, 0.9], gru=[1.0] * 4, spread=0.3)
    sentence = next(s for s in fs.describe(noisy) if "do not rank" in s)
    assert "differ by at most 0.1 °C" in sentence and "up to 0.3 °C" in sentence
    worse = made_up(ar=[1.0, 1.0, 1.3, 1.4], rnn=[1.0] * 4, lstm=[1.0] * 4, gru=[1.0] * 4)
    assert any("The linear AR does 30% worse with a window of at least a season" in s for s in fs.describe(worse))


def test_the_page_shows_the_window_study_of_a_shipped_series_and_not_of_the_nile():
    at = open_page("pages/5_Forecast_lab.py", series="sunspots", window=22, horizon=5, season=11)
    assert not at.exception
    assert any(h.value == "Memory: the window growing past the season" for h in at.subheader)
    text = " ".join(m.value for m in at.markdown)
    for sentence in fs.describe(SHIPPED["series"]["sunspots"]):
        assert sentence in text
    nile = open_page("pages/5_Forecast_lab.py", series="nile", window=10, horizon=5, season=0)
    assert not nile.exception
    assert not any(h.value.startswith("Memory") for h in nile.subheader)


def test_the_window_figure_draws_each_method_its_seed_range_and_the_season():
    from rnnviz.figures import forecast as figures

    record = SHIPPED["series"]["elnino"]
    med = fs.medians(record)
    low, high = np.min(record["mae"]["gru"], axis=1), np.max(record["mae"]["gru"], axis=1)
    fig = figures.window_figure(record["windows"], med, {"gru": (low, high)}, 12, "°C")
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"RNN", "LSTM", "GRU", "linear AR", "seasonal naive", "persistence"}
    gru = by_name["GRU"]
    np.testing.assert_allclose(np.asarray(gru.y) + np.asarray(gru.error_y.array), high)
    np.testing.assert_allclose(np.asarray(gru.y) - np.asarray(gru.error_y.arrayminus), low)
    assert by_name["linear AR"].error_y.array is None  # no seeds: no bar
    assert fig.layout.shapes[0].x0 == 12 and "one season (12)" in fig.layout.annotations[0].text
