"""Fixtures: a training service, a real streamlit server on a free port, and headless Chromium (found by
find_chromium) driven by Playwright. The helpers they use live in tests/helpers.py."""

from __future__ import annotations

import os

import pytest

from tests.helpers import CHROMIUM_FLAGS, find_chromium, streamlit_server

__all__ = ["find_chromium"]  # scripts/test.sh imports it from here


@pytest.fixture(autouse=True)
def job_specs_of_the_tests(monkeypatch):
    """tests/helpers.CountingSpec is a job spec like the engine's (``trainer.JOB_SPEC_MODULES``)."""
    from rnnviz.app import trainer

    monkeypatch.setattr(trainer, "JOB_SPEC_MODULES", (*trainer.JOB_SPEC_MODULES, "tests.helpers"))


@pytest.fixture
def service():
    """A training service of two workers of its own, closed after the test."""
    from rnnviz.app import trainer

    with trainer.TrainingService(workers=2) as s:
        yield s


@pytest.fixture(scope="session")
def app_url():
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:  # never skip: the README test command installs or finds it, so its absence is a failure
        raise RuntimeError(
            "Chromium not found (see find_chromium in tests/helpers.py for where it looks): run the README test "
            "command (bash scripts/test.sh), or set CHROMIUM to a Chromium or Chrome binary"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, device_scale_factor=1)
    pg = context.new_page()
    yield pg
    context.close()


os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
