"""The Text lab through the shared training service (rnnviz.app.text_lab): a press of Train and its result on
the page, an identical press replayed at once, Stop, a refusal said on the page, and a stretch of text handed
to the Cell stepper as a valid offer."""

import numpy as np
import pytest

from rnnviz.app import admission, handoff, trainer, ui
from rnnviz.app import text_lab as tl
from rnnviz.engine import text as tx
from tests.helpers import assert_clean, finish, first_point, open_page

PAGE = "pages/6_Text_lab.py"
QUICK = dict(corpus="language", source="live", hidden=8, steps=300)  # the page's smallest press


def test_a_press_trains_the_three_models_in_the_service_and_the_explorer_reads_them():
    at = open_page(PAGE, **QUICK)
    assert_clean(at)
    assert any("Press **Train**" in i.value for i in at.info)
    assert any(c.value.startswith("A press with these settings takes") for c in at.caption)  # the quote
    at.button(key="text.train").click().run()  # the page polls the service until the job is done, then reruns
    assert_clean(at)
    press = at.session_state[tl.KEY].press
    assert press.ended == "done" and [j.cell for j in press.jobs] == list(tx.KINDS)
    assert all(j.steps == 300 and j.hidden_size == 8 and j.corpus == "language" for j in press.jobs)
    snap = press.snapshot()
    assert snap.updates == (300, 300, 300) and all(len(h) == 20 for h in snap.histories)
    said = " ".join(m.value for m in at.markdown)
    assert "Trained on this server's training service" in said and "300 updates" in said
    assert "stay on across the stretch" in said  # the explorer reads the trained LSTM
    samples = [c.value for c in at.code if c.value.startswith("update 15:")]
    assert samples and "update 300:" in samples[0]  # the samples as it learned, one per evaluation point
    assert at.query_params["source"] == "live" and at.query_params["steps"] == "300"

    # an identical press from another session replays the finished run at once: nothing trains again
    before = ui.training_service().stats()["computations"]
    other = open_page(PAGE, **QUICK)
    other.button(key="text.train").click().run()
    assert_clean(other)
    again = other.session_state[tl.KEY].press
    assert again.replayed == "other" and again.ended == "done"
    assert again.snapshot().histories == snap.histories
    assert ui.training_service().stats()["computations"] == before


def test_stop_mid_run_keeps_each_model_at_its_last_evaluation_point():
    corpus = tx.builtin_corpus("language")
    with trainer.TrainingService(workers=1) as service:
        lab = tl.TextLab()
        jobs = tl.jobs_for(corpus, 8, 5000)
        press = lab.submit(jobs, lambda j: service.submit(j, owner="me", kind="text"))
        first_point(press.handle)
        lab.stop()
        assert press.ended == "stopped" and not press.live
        models = tl.press_models(press, corpus)
        updates = {r["cell"]: r["updates"] for r in models.rows}
        assert 0 < updates["rnn"] < 5000 and updates["gru"] < 5000  # the models train in turn
        assert set(models.models) == set(tx.KINDS) and models.live
        for row in models.rows:  # an unreached model is its untrained self, evaluated at update 0
            assert row["bits_per_char"]["held_out"] > 0 and (row["updates"] > 0 or row["seconds"] == 0)
        # a second press of the same jobs while the first is over: a new run, this session's
        again = lab.submit(jobs, lambda j: service.submit(j, owner="me", kind="text"))
        assert again is not press and again.live
        lab.stop()


def test_a_press_over_the_cap_is_refused_on_the_page_with_its_reason():
    policy = admission.Policy(max_press_work=1e9)
    with trainer.TrainingService(workers=1, policy=policy) as service, pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui, "training_service", lambda: service)
        at = open_page(PAGE, **QUICK)
        assert any("would be refused now" in c.value for c in at.caption)
        at.button(key="text.train").click().run()
        assert_clean(at)
        (warning,) = [w.value for w in at.warning]
        assert warning.startswith("**Not started.** This run is") and "the largest this shared server trains" in warning
        assert at.session_state[tl.KEY].press is None and service.stats()["computations"] == 0


def test_a_finished_press_of_a_student_text_is_read_only_with_that_text():
    text = "Tweedledum and Tweedledee (agreed to have a battle) said 'nohow'.\n" * 10
    corpus = tx.user_corpus(text)[0]
    with trainer.TrainingService(workers=1) as service:
        lab = tl.TextLab()
        press = lab.submit(tl.jobs_for(corpus, 8, 300), lambda j: service.submit(j, owner="me", kind="text"))
        finish(press.handle)
        press.settle(service)
        assert press.ended == "done" and press.reads(corpus)
        assert not press.reads(tx.user_corpus(text + "x")[0]) and not press.reads(tx.builtin_corpus("language"))
        assert tl.press_models(press, corpus).models["lstm"].vocab == corpus.vocab


def test_open_a_stretch_in_the_cell_stepper_offers_the_model_on_those_characters():
    at = open_page(PAGE)  # the shipped LSTM on the generated language; the default stretch is 20..31
    assert_clean(at)
    at.button(key="text.to_stepper").click().run()
    offer = handoff.current(at.session_state)
    assert offer is not None
    offer.check()  # what the stepper will check before showing it
    text = tx.builtin_corpus("language").text
    lead = max(0, 20 - tl.LEAD)
    model = tx.load_model(tl.SHIPPED / "language_lstm.npz")
    assert offer.kind == "lstm" and offer.x.shape == (32 - lead, len(model.vocab))
    assert np.array_equal(offer.x.argmax(axis=1), tx.encode(text[lead:32], model.vocab))
    assert offer.step_labels == tuple(tfig_char for tfig_char in (tl.tfig.shown_char(c) for c in text[lead:32]))
    assert len(offer.input_labels) == len(model.vocab) and offer.source == PAGE
    assert offer.title == f"the LSTM trained on Generated bracket language, characters {lead}..31"
    for key, value in model.net.cell.state_dict().items():
        assert np.array_equal(offer.state_dict[key], value)
    assert at.session_state["stepper.detail_kind"] == "lstm"
    assert 0 <= at.session_state["stepper.unit"] < model.hidden_size


def test_a_stretch_longer_than_the_stepper_takes_is_cut_to_its_length():
    model = tx.load_model(tl.SHIPPED / "language_lstm.npz")
    text = tx.builtin_corpus("language").text
    offer = tl.stepper_offer(model, "the language", text, 100, 2000)
    offer.check()
    assert offer.x.shape[0] == handoff.MAX_STEPS and offer.title.endswith(f"characters 100..{100 + 499}")


def test_picking_a_text_selects_its_first_quoted_stretch_and_alices_dialogue_has_a_unit():
    at = open_page(PAGE)
    at.radio(key="text.corpus").set_value("prose")
    at.radio(key="text.cell").set_value("gru").run()
    assert_clean(at)
    text = tx.builtin_corpus("prose").text
    start, end = at.session_state["text.start"], at.session_state["text.end"]
    assert text[start - 1] == "`" and text[start:end] == "and what is the use of a book,"  # the first dialogue
    rows = at.dataframe[0].value
    quote = rows[rows["feature"] == "inside quote"].iloc[0]
    assert abs(quote["correlation r"]) > 0.5 and "clearly" in quote["in words"]  # the shipped GRU's quote unit
