"""The gradient page says what its figures show: the default view is the contrast, axes follow the
measurement, theory is drawn only where it says something, words match numbers, and a scenario gives
the same view whatever came before it."""

import itertools
import re

import numpy as np
import pytest

from rnnviz.figures import gradient_flow as gfig
from tests.helpers import (
    CLIP,
    EIGEN,
    GRADIENTS,
    LAG,
    REACH,
    SCENARIOS,
    assert_clean,
    charts,
    metric,
    open_page,
    readout,
    traces,
    ys,
)


def view(at) -> tuple:
    """Everything the page shows that depends on the settings."""
    return (
        [c.proto.spec for c in at.get("plotly_chart")],
        [(m.label, m.value) for m in at.metric],
        [c.value for c in at.caption],
        [w.value for w in at.warning],
    )


@pytest.fixture(scope="module")
def defaults():
    at = open_page(GRADIENTS)
    assert_clean(at)
    return at


# ---- the default view -------------------------------------------------------------------------------


def test_default_view_shows_the_lstm_cell_path_kept_while_the_rnn_vanishes(defaults):
    lag = traces(charts(defaults)[LAG])
    rnn, cell = ys(lag["RNN  dL/dh"]), ys(lag["LSTM dL/dc"])
    assert cell[100] >= 100 * rnn[100]
    assert cell[-1] >= 100 * rnn[-1]  # also at the largest lag
    words = readout(defaults)
    assert words["RNN: dL/dh"][0] == "vanishing"
    assert words["LSTM: dL/dc (cell path)"][0] == "kept"


def test_default_lag_axis_spans_the_measured_curves(defaults):
    fig = charts(defaults)[LAG]
    low, high = fig["layout"]["yaxis"]["range"]
    measured = np.concatenate([ys(t) for t in fig["data"] if not t["name"].startswith("theory")])
    measured = measured[np.isfinite(measured) & (measured > 0)]
    lo, hi = np.log10(measured.min()), np.log10(measured.max())
    assert low <= lo and hi <= high  # every measured point is on the chart
    assert lo - low <= 2 and high - hi <= 2  # and the axis extends no more than two decades beyond them


@pytest.mark.parametrize("scenario", range(SCENARIOS))
def test_theory_is_drawn_only_on_the_chart_and_labelled(scenario):
    at = open_page(GRADIENTS)
    at.sidebar.button[scenario].click().run()
    fig = charts(at)[LAG]
    low, high = fig["layout"]["yaxis"]["range"]
    theory = [t for t in fig["data"] if t["name"].startswith("theory")]
    assert theory, "the forget-gate product is always on the chart"
    styles = [(t["line"]["color"], t["line"]["dash"]) for t in theory]
    measured = [(t["line"]["color"], t["line"]["dash"]) for t in fig["data"] if "line" in t and t not in theory]
    assert len(set(styles)) == len(styles) and not set(styles) & set(measured)  # a style of its own each
    for t in theory:
        y = ys(t)
        y = y[np.isfinite(y)]
        assert np.all((np.log10(y) >= low - 1e-9) & (np.log10(y) <= high + 1e-9)), t["name"]
    # sigma_max >= 1 in every scenario: the RNN bound only grows, bounds nothing shown, and is not drawn
    assert not any("RNN bound" in t["name"] for t in theory)
    assert any("bounds nothing this chart shows" in c.value for c in at.caption)


def test_the_rnn_bound_is_drawn_where_it_guarantees_vanishing():
    at = open_page(GRADIENTS, spectral_radius=0.5)
    sigma = float(metric(at, "σ_max"))
    assert sigma < 1
    names = traces(charts(at)[LAG])
    assert any(name.startswith("theory: RNN bound") for name in names)


def test_every_measured_curve_has_its_own_colour_dash_and_marker(defaults):
    measured = [t for t in charts(defaults)[LAG]["data"] if t.get("name") and not t["name"].startswith("theory")]
    assert len(measured) == 5  # RNN, LSTM and GRU dL/dh; the LSTM's and the 1997 LSTM's dL/dc
    for a, b in itertools.combinations(measured, 2):
        assert a["marker"]["symbol"] != b["marker"]["symbol"], (a["name"], b["name"])
        assert (a["line"]["color"], a["line"]["dash"]) != (b["line"]["color"], b["line"]["dash"])


# ---- words match numbers ----------------------------------------------------------------------------


def test_regime_words_follow_the_numbers():
    k = np.arange(200)
    kept = gfig.regime_card(0.99**k)  # 0.99^199 = 0.135: never below a tenth
    assert kept.word == "kept" and kept.detail.startswith("never below ×0.14") and "×0.9900 per step" in kept.detail
    fast = gfig.regime_card(0.3**k)
    assert fast.word == "vanishing" and "from 6 steps back" in fast.detail  # 0.3^6 = 7e-4 < 1/1000
    slow = gfig.regime_card(0.975**k)  # 0.975^199 = 6.5e-3: less than a tenth left, but not 1/1000
    assert slow.word == "fading" and "×6.5e-03 after 199 steps" in slow.detail
    assert gfig.regime_card(1.02**k).word == "growing"  # 1.02^199 = 51: larger, but by less than ×1000
    assert gfig.regime_card(1.01**k).word == "kept"  # 1.01^199 = 7.3: within ×10 of its start
    assert gfig.regime_card(1.05**k).word == "exploding"  # 1.05^199 = 1.6e4
    assert gfig.regime_card(np.r_[1.0, 10.0, np.inf]).detail.startswith("overflowed 2 steps back")
    # Judged over the whole curve: a dip to 0.05 that recovers to 0.9 at the far end is not "kept".
    dip = np.r_[np.linspace(1, 0.05, 100), np.linspace(0.05, 0.9, 100)]
    card = gfig.regime_card(dip)
    assert card.word == "fading" and card.detail.startswith("down to ×5.0e-02 of its size at the loss (99 steps back)")
    assert "×0.9 after 199 steps" in card.detail


@pytest.mark.parametrize("scenario", range(SCENARIOS))
def test_readout_words_agree_with_the_curves(scenario):
    at = open_page(GRADIENTS)
    at.sidebar.button[scenario].click().run()
    lag = traces(charts(at)[LAG])
    curves = {
        "RNN: dL/dh": "RNN  dL/dh",
        "LSTM: dL/dh": "LSTM dL/dh",
        "LSTM: dL/dc (cell path)": "LSTM dL/dc",
        "GRU: dL/dh": "GRU  dL/dh",
        "LSTM 1997: dL/dc (no forget gate)": "LSTM 1997 dL/dc",
    }
    assert set(readout(at)) == set(curves)  # a card for every curve, a curve for every card
    for label, (word, detail) in readout(at).items():
        y = ys(lag[curves[label]])
        ratio = y[np.isfinite(y)] / y[0]  # over the whole curve, not its last point
        if word == "vanishing":
            horizon = int(re.search(r"from (\d+) steps back", detail).group(1))
            assert ratio[horizon] < 1e-3 <= ratio[:horizon].min(), label
        elif word == "kept":
            assert 0.1 <= ratio.min() and ratio.max() <= 10, label
        elif word == "fading":
            assert 1e-3 <= ratio.min() < 0.1 and ratio.max() <= 10, label
        elif word == "exploding":
            assert ratio.max() > 1000 or not np.isfinite(y).all(), label
        elif word == "growing":
            assert 1e-3 <= ratio.min() and 10 < ratio.max() <= 1000, label
        else:
            raise AssertionError(f"{label}: unexpected word {word!r}")


def test_rho_and_sigma_max_are_both_shown_and_explained():
    at = open_page(GRADIENTS, spectral_radius=0.9)
    rho, sigma = float(metric(at, "ρ")), float(metric(at, "σ_max"))
    assert rho == pytest.approx(0.9, abs=0.005)
    assert sigma >= rho
    text = " ".join(m.value for m in at.markdown)
    assert "σ_max ≥ ρ" in text and "guarantees nothing" in text  # sigma 1.48 > 1 although rho < 1
    names = traces(charts(at)[EIGEN])
    assert any(n.startswith("spectral radius ρ") for n in names)
    assert any(n.startswith("largest singular value σ_max") for n in names)


# ---- scenarios do not depend on what came before ------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_views():
    views = []
    for scenario in range(SCENARIOS):
        at = open_page(GRADIENTS)
        at.sidebar.button[scenario].click().run()
        assert_clean(at)
        views.append(view(at))
    return views


@pytest.mark.parametrize("first,second", list(itertools.permutations(range(SCENARIOS), 2)))
def test_a_scenario_gives_the_same_view_after_any_other(first, second, fresh_views):
    at = open_page(GRADIENTS)
    at.slider(key="gradient.hidden_size").set_value(4).run()  # and after the student changed things
    at.number_input(key="gradient.seed").set_value(7).run()
    at.sidebar.button[first].click().run()
    at.sidebar.button[second].click().run()
    assert_clean(at)
    assert view(at) == fresh_views[second]


# ---- which steps reach the loss -------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", range(SCENARIOS))
def test_reach_colours_and_caption_agree(scenario):
    at = open_page(GRADIENTS)
    at.sidebar.button[scenario].click().run()
    heat = charts(at)[REACH]["data"][0]
    assert heat["zmid"] == 0 and heat["zmin"] == -heat["zmax"]  # diverging, centred on "as at the loss"
    ticks = dict(zip(heat["colorbar"]["tickvals"], heat["colorbar"]["ticktext"], strict=True))
    assert ticks[0].startswith("1: as at the loss")
    caption = next(c.value for c in at.caption if c.value.startswith("At these settings:"))
    for name, row in zip(heat["y"], heat["z"], strict=True):
        z = np.array([np.nan if v is None else v for v in np.ravel(row)], dtype=float)
        z = z[: np.nonzero(~np.isnan(z))[0][-1] + 1][::-1]  # lag-first from the loss
        assert z[0] == pytest.approx(0.0)  # the loss's own step is "as at the loss"
        outside = np.nonzero(~(np.abs(z) <= gfig.REACH_WITHIN))[0]
        if outside.size:
            direction = "more than 1000×" if z[outside[0]] > 0 else "below 1/1000 of"
            expected = f"{direction} its size at the loss from {outside[0]} steps back"
        else:
            expected = f"within ×1000 of its size at the loss at all {z.size} steps"
        group = next(part for part in caption.split("; ") if f"**{name}**" in part)
        assert expected in group, (name, group)


# ---- clipping ------------------------------------------------------------------------------------------


def test_exploding_scenario_clipping_compares_both_runs_over_many_steps():
    at = open_page(GRADIENTS)
    at.sidebar.button[3].click().run()
    assert readout(at)["RNN: dL/dh"][0] == "exploding"
    fig = charts(at)[CLIP]
    runs = {(t["name"], t["yaxis"]): ys(t) for t in fig["data"] if t.get("name")}
    loss_plain, loss_clipped = runs[("no clipping", "y2")], runs[("clipped at 3", "y2")]
    assert loss_plain.size == loss_clipped.size == 25  # both runs finite at every update
    assert np.all(np.isfinite(loss_plain)) and np.all(np.isfinite(loss_clipped))
    assert loss_clipped[-1] < loss_plain[-1]  # and clipping did better
    for axis in ("yaxis", "yaxis2"):
        low, high = fig["layout"][axis]["range"]
        assert high - low <= 8  # decades: readable, not a smear
    text = " ".join(c.value for c in at.caption)
    assert "overflowed after" not in text
    assert "without clipping" in text and "jumped from" in text
