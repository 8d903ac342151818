"""axe-core (bundled by axe-playwright-python: nothing is downloaded at run time) on every page's default view:
no finding of impact "serious" or "critical". A finding inside Streamlit's own widgets that the app cannot fix is
excused by its exact rule and selector, with the reason (ALLOWED); never a whole rule."""

from __future__ import annotations

import pytest

from tests.helpers import wait_for_app

pytestmark = pytest.mark.browser

PAGES = ["", "Lessons", "Cell_stepper", "Gradient_flow", "Training_lab", "Papers", "Forecast_lab", "Text_lab"]
# (rule id, CSS selector of the node axe reports) -> why it is not ours to fix
ALLOWED: dict[tuple[str, str], str] = {}


def serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = []
    for violation in Axe().run(page).response["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            if (violation["id"], target) not in ALLOWED:
                found.append(f"{violation['id']} ({violation['impact']}): {target}: {node['failureSummary'][:160]}")
    return found


@pytest.mark.parametrize("path", PAGES, ids=[p or "landing" for p in PAGES])
def test_no_serious_accessibility_finding(page, app_url, path):
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, timeout=180_000)
    # Streamlit fades stale elements (a rerun's) to a third of their colour: measure colours once none is
    page.wait_for_function("() => !document.querySelector('[data-stale=true]')", timeout=60_000)
    page.wait_for_timeout(1000)  # and its fade-in transitions have ended
    found = serious(page)
    assert found == [], "\n".join(found)
