"""The papers' tasks by construction, the runner's protocol, the shipped table reproducing from the
command, and the Papers page opening cleanly."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnnviz import __main__ as cli
from rnnviz.content import papers
from rnnviz.engine import model, paper_runs, tasks, training

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def rng(seed=0):
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------------
# Experiment 4: the adding problem


@pytest.mark.parametrize("T", [20, 100, 500])
def test_adding_lengths_markers_and_values(T):
    d = tasks.adding_problem_1997(T, 3000, rng(T))
    assert d.x.shape == (T + T // 10, 3000, 2)
    assert d.lengths.min() == T and d.lengths.max() == T + T // 10  # both ends are reached
    values, markers = d.x[..., 0], d.x[..., 1]
    for n in range(3000):
        L = d.lengths[n]
        assert np.all(values[L:, n] == 0) and np.all(markers[L:, n] == 0)  # padding
        marked = np.flatnonzero(markers[:L, n] == 1)
        assert len(marked) == 2
        a, b = marked  # which one is X1 the input does not say: one among the first ten, X2 in the window
        assert (a < 10 and b < T // 2 - 1) or (b < 10 and a < T // 2 - 1)
        minus = set(np.flatnonzero(markers[:L, n] == -1))
        expected = {0, L - 1} - set(marked)
        assert minus == expected  # -1 at the first and the final pair, unless the first pair is marked
        assert set(np.unique(markers[:L, n])) <= {-1.0, 0.0, 1.0}
    assert values.min() >= -1 and values.max() <= 1
    assert values[1:].min() < -0.99 and values[1:].max() > 0.99
    # target 0.5 + (X1 + X2) / 4 from the marked values, which are 0 when a marked pair is the first one
    marked_sum = np.sum(np.where(markers == 1, values, 0.0), axis=0)
    np.testing.assert_allclose(d.y, 0.5 + marked_sum / 4)
    assert d.y.min() >= 0 and d.y.max() <= 1
    first_marked = markers[0] == 1
    assert first_marked.any() and np.all(values[0, first_marked] == 0)
    assert np.all(markers[0, ~first_marked] == -1)
    assert d.tolerance == 0.04 and d.regression


def test_adding_x1_is_uniform_over_the_first_ten_and_x2_over_the_first_half():
    d = tasks.adding_problem_1997(100, 20000, rng(1))
    markers = d.x[..., 1]
    first = np.argmax(markers == 1, axis=0)  # the earlier of the two marked pairs
    assert set(np.unique(first)) == set(range(10))
    last = markers.shape[0] - 1 - np.argmax(markers[::-1] == 1, axis=0)
    assert last.max() == 100 // 2 - 2  # index 48 is pair 49 = T/2 - 1


def test_adding_refuses_a_too_short_length():
    with pytest.raises(ValueError, match="T >= 20"):
        tasks.adding_problem_1997(10, 5, rng())


# --------------------------------------------------------------------------------------------------
# Experiment 6a: temporal order


def test_temporal_order_by_construction():
    d = tasks.temporal_order_1997(4000, rng(2))
    symbols = d.x.argmax(axis=2)  # (110, N)
    assert d.x.shape == (110, 4000, 8)
    assert d.lengths.min() == 100 and d.lengths.max() == 110
    assert np.all(d.x.sum(axis=2)[np.arange(110)[:, None] < d.lengths] == 1)  # one-hot where real
    assert np.all(d.x.sum(axis=2)[np.arange(110)[:, None] >= d.lengths] == 0)  # zero padding
    for n in range(4000):
        s = symbols[: d.lengths[n], n]
        assert s[0] == 0 and s[-1] == 1  # E ... B
        relevant = np.flatnonzero(s >= 6)
        assert len(relevant) == 2
        t1, t2 = relevant + 1  # the paper counts from 1
        assert 10 <= t1 <= 20 and 50 <= t2 <= 60
        assert np.all((s[1:-1] >= 2) & (s[1:-1] <= 7))
        assert d.y[n] == 2 * (s[relevant[0]] - 6) + (s[relevant[1]] - 6)  # XX=Q, XY=R, YX=S, YY=U
    assert set(np.unique(d.y)) == {0, 1, 2, 3}
    assert d.tolerance == 0.3 and d.n_outputs == 4


# --------------------------------------------------------------------------------------------------
# Experiment 2a: remember the first symbol


def test_remember_first_is_the_papers_two_sequences():
    p = 100
    d = tasks.remember_first_1997(p, 50, rng(3))
    assert d.x.shape == (p, 50, p + 1)  # p + 1 locally coded symbols, p steps in
    assert np.all(d.x.sum(axis=2) == 1)
    inputs = d.x.argmax(axis=2)
    full = np.vstack([inputs, d.y[-1:]])  # the p + 1 symbols of each sequence
    for n in range(50):
        s = full[:, n]
        assert s[0] in (p - 1, p) and s[-1] == s[0]  # (x, ..., x) or (y, ..., y)
        assert list(s[1:p]) == list(range(p - 1))  # a_1 .. a_{p-1}
        assert list(d.y[:, n]) == list(s[1:])  # predict the next symbol at every step
    assert len(set(full[0])) == 2
    assert d.tolerance == 0.25


# --------------------------------------------------------------------------------------------------
# Bengio et al. 1994: the latch


def test_latch_shows_the_class_first_then_noise():
    d = tasks.latch_1994(50, 2000, rng(4))
    assert d.x.shape == (50, 2000, 1)
    np.testing.assert_array_equal(d.x[:3, :, 0], np.broadcast_to(2.0 * d.y - 1, (3, 2000)))
    noise = d.x[3:, :, 0]
    assert abs(noise.std() - 0.2) < 0.01
    assert abs(np.corrcoef(noise.mean(axis=0), d.y)[0, 1]) < 0.1  # the noise says nothing about the class


# --------------------------------------------------------------------------------------------------
# The criterion and the readout at each sequence's own last step


def test_padding_changes_neither_output_nor_gradient():
    """A padded batch scores and trains exactly like each sequence alone."""
    data = tasks.adding_problem_1997(20, 6, rng(5))
    config = training.TrainConfig(cell="lstm", hidden_size=4, seed=0, forget_bias=1.0, dtype="float64")
    net = training.init_model(config, paper_runs._spec("adding", data))
    whole = model.score(net, data, grads=True)
    total = {k: np.zeros_like(v) for k, v in whole.grads.items()}
    losses = []
    for n in range(6):
        one = data.take(np.array([n]))
        assert one.x.shape[0] == data.lengths[n]  # take() trims to the longest kept sequence
        alone = model.score(net, one, grads=True)
        losses.append(alone.loss)
        assert alone.right[0] == whole.right[n]
        for k in total:
            total[k] += alone.grads[k] / 6
    assert np.isclose(whole.loss, np.mean(losses))
    for k in total:
        np.testing.assert_allclose(whole.grads[k], total[k], rtol=1e-10, atol=1e-14)


def test_test_set_size_and_record_fields():
    exp = papers.EXPERIMENTS["latch"]
    r = paper_runs.run_one(exp, "rnn", 0, length=10)
    assert r["succeeded"] and r["sequences"] % exp.check_every == 0
    assert 0 <= r["wrong_of_2560"] <= paper_runs.N_TEST == 2560
    assert r["validation_wrong"][-1][1] == 0 and r["validation_wrong"][0][0] == 0


def test_a_model_that_never_succeeds_stops_at_the_cap():
    exp = papers.EXPERIMENTS["latch"]
    r = paper_runs.run_one(exp, "rnn", 0, length=60, max_sequences=640)
    assert not r["succeeded"] and r["sequences"] == 640 and r["cap"] == 640


def test_unknown_names_are_value_errors():
    with pytest.raises(ValueError, match="unknown experiment"):
        papers.get("adding2")
    with pytest.raises(ValueError, match="unknown model"):
        paper_runs.run_one(papers.EXPERIMENTS["latch"], "tcn", 0)
    with pytest.raises(ValueError, match="unknown model"):
        papers.select("latch", models=["lstm", "tcn"])


# --------------------------------------------------------------------------------------------------
# The shipped file reproduces from the command


def test_shipped_file_has_every_experiment_with_machine_and_settings():
    data = papers.load_shipped()
    assert set(data["experiments"]) == set(papers.EXPERIMENTS)
    for name, result in data["experiments"].items():
        assert result["settings"]["name"] == name
        assert result["parts"] and all(p["machine"]["cores"] >= 1 and p["seconds"] > 0 for p in result["parts"])
        assert result["seconds"] == pytest.approx(sum(p["seconds"] for p in result["parts"]), abs=0.2)
        exp = papers.EXPERIMENTS[name]
        variants = {(v["length"], v["model"], v["forget_bias"]) for v in exp.variants()}
        ran = {(r["length"], r["model"], r["forget_bias"]) for r in result["runs"]}
        assert ran <= variants  # nothing the registry does not describe
        assert {v for v in variants if v[0] in result["settings"]["lengths"]} == ran  # every model at every length
        assert result["summary"] == paper_runs.summarise(result["runs"])


def test_the_ci_cell_reproduces_from_the_command(capsys):
    data = papers.load_shipped()
    cell = data["ci_cell"]
    shipped = papers.find_run(data, cell["experiment"], cell["model"], cell["length"], cell["seed"])
    code = cli.main(
        [
            "reproduce",
            cell["experiment"],
            "--models",
            cell["model"],
            "--length",
            str(cell["length"]),
            "--seeds",
            str(cell["seed"]),
            "--json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    (rerun,) = result["runs"]
    for key in ("succeeded", "sequences", "wrong_of_2560", "validation_wrong", "weights", "cap"):
        assert rerun[key] == shipped[key], key


def test_list_and_bad_names_from_the_command(capsys):
    assert cli.main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in papers.EXPERIMENTS)
    assert cli.main(["reproduce", "nope"]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert cli.main(["reproduce", "latch", "--seeds", "0,x"]) == 2
    assert "--seeds wants comma-separated whole numbers" in capsys.readouterr().err
    assert cli.main(["reproduce", "latch", "--models", "lstm,tcn"]) == 2
    assert "unknown model(s) tcn" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------
# The page


def test_papers_page_opens_without_exception():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/4_Papers.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) >= 2
    text = " ".join(str(m.value) for m in at.markdown)
    assert "74,000" in text  # the paper's figure is on the page
    at.selectbox(key="papers.experiment").set_value("order").run()
    assert not at.exception, [e.value for e in at.exception]


# --------------------------------------------------------------------------------------------------
# Figures and the summary


def _rows():
    runs = [
        {
            "length": L,
            "model": m,
            "forget_bias": b,
            "seed": s,
            "succeeded": ok,
            "sequences": n,
            "cap": 1000,
            "wrong_of_2560": 0 if ok else 2560,
            "weights": 10,
            "seconds": 1.0,
        }
        for (L, m, b, s, ok, n) in [
            (10, "rnn", None, 0, True, 200),
            (10, "rnn", None, 1, False, 1000),
            (100, "rnn", None, 0, False, 1000),
            (10, "lstm", 3.0, 0, True, 100),
            (100, "lstm", 3.0, 0, True, 400),
            (100, "lstm", 3.0, 1, True, 600),
        ]
    ]
    return paper_runs.summarise(runs)


def test_summary_counts_and_medians():
    rows = {(r["length"], r["model"]): r for r in _rows()}
    assert rows[10, "rnn"]["success_rate"] == 0.5 and rows[10, "rnn"]["sequences_median"] == 200
    assert rows[100, "rnn"]["succeeded"] == 0 and rows[100, "rnn"]["sequences_median"] is None
    assert rows[100, "lstm"]["sequences_median"] == 500 and rows[100, "lstm"]["sequences_max"] == 600


def test_figures_draw_ours_and_the_papers():
    from rnnviz.figures import papers as paper_figures

    fig = paper_figures.success_against_length(_rows(), note="shape only")
    assert [t.name for t in fig.data] == ["RNN (ours)", "LSTM (ours)"]
    assert list(fig.data[0].y) == [0.5, 0.0]
    fig = paper_figures.sequences_against_length(_rows(), {100: {"sequences": 74_000}}, "paper")
    names = [t.name for t in fig.data]
    assert "RNN: no seed within the cap" in names and names[-1] == "paper"
    assert list(fig.data[-1].y) == [74_000]
    bias_rows = [dict(r, model="lstm", forget_bias=b) for r, b in zip(_rows()[:2], (0.0, 1.0), strict=True)]
    fig = paper_figures.forget_bias_figure(bias_rows)
    assert [t.name for t in fig.data] == ["forget bias 0", "forget bias 1"]


@pytest.mark.browser
def test_papers_page_in_the_browser(page, app_url):
    from tests.helpers import screenshot, wait_for_app

    page.goto(f"{app_url}/Papers?papers.experiment=order")
    wait_for_app(page, charts=3)  # latch, adding, forget bias
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.get_by_text("31,390").count() >= 1  # the paper's figure for 6a, beside ours
    screenshot(page, "papers")
