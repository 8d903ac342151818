"""Each page's settings are its own: keys never collide across pages, values survive visits to other pages,
and the URL is read only on arrival (so it opens a page at chosen settings without fighting the widgets)."""

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def page_id(tree: ast.Module) -> str:
    """The first argument of the script's ui.setup_page call."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "setup_page":
            return node.args[0].value
    raise AssertionError("no ui.setup_page call")


def widget_keys(tree: ast.Module):
    """Every key= argument: ('call', field) for S.key(field), ('text', prefix) for a literal or f-string."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or getattr(node.func, "id", None) in ("max", "min", "sorted"):
            continue
        for kw in node.keywords:
            if kw.arg != "key":
                continue
            v = kw.value
            if isinstance(v, ast.Call) and getattr(v.func, "attr", None) == "key":
                yield "call", v.args[0].value
            elif isinstance(v, ast.Constant):
                yield "text", v.value
            elif isinstance(v, ast.JoinedStr) and isinstance(v.values[0], ast.Constant):
                yield "text", v.values[0].value
            else:
                raise AssertionError(f"key={ast.unparse(v)}: use S.key(field) or a '<page>.' literal")


def settings_ids(tree: ast.Module) -> list[str]:
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Settings"
    ]


def test_every_widget_key_belongs_to_its_page_and_page_ids_are_unique():
    ids = {}
    for script in SCRIPTS:
        tree = ast.parse(script.read_text())
        pid = page_id(tree)
        assert pid not in ids, f"{script.name} and {ids.get(pid)} share the page id {pid!r}"
        ids[pid] = script.name
        assert set(settings_ids(tree)) <= {pid}, f"{script.name} registers settings for another page"
        for how, value in widget_keys(tree):
            if how == "text":
                assert value.startswith(pid + "."), f"{script.name}: key {value!r} lacks the prefix {pid!r}."


def test_the_check_above_catches_a_shared_key(tmp_path):
    """The static check must fail on the bug it guards against: two pages with one key."""
    bad = ast.parse('ui.setup_page("stepper", "t", "i", "x")\nst.slider("Length", 1, 9, key="length")')
    assert [value for how, value in widget_keys(bad) if how == "text"] == ["length"]
    assert not "length".startswith(page_id(bad) + ".")


PAGES = {
    "home": "app.py",
    "stepper": "pages/1_Cell_stepper.py",
    "gradient": "pages/2_Gradient_flow.py",
    "lab": "pages/3_Training_lab.py",
}


def navigate(at: AppTest, page: str) -> AppTest:
    """Go to a page as the sidebar does: a page link carries no query string."""
    for key in list(at.query_params):
        del at.query_params[key]
    at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def settings_of(at: AppTest, page: str) -> dict:
    return {k: v for k, v in at.session_state.to_dict().items() if k.startswith(page + ".")}


def fresh(page: str) -> dict:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    return settings_of(navigate(at, page), page)


@pytest.fixture(scope="module")
def fresh_settings():
    return {page: fresh(page) for page in ("stepper", "gradient", "lab")}


def test_a_walk_through_the_sidebar_keeps_every_page_as_it_was_left(fresh_settings):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    expected = {page: dict(values) for page, values in fresh_settings.items()}
    walk = ["stepper", "gradient", "lab", "gradient", "stepper", "lab", "stepper", "gradient", "lab"]
    changes = {  # the first visit to each page changes one setting, as a student would
        "stepper": ("hidden_size", 20),
        "gradient": ("length", 300),
        "lab": ("length", 100),
    }
    for visit, page in enumerate(walk):
        navigate(at, page)
        shown = settings_of(at, page)
        for key, value in expected[page].items():
            assert shown.get(key) == value, (visit, page, key, shown.get(key), value)
        if page in changes:
            field, value = changes.pop(page)
            at.slider(key=f"{page}.{field}").set_value(value).run()
            expected[page][f"{page}.{field}"] = value
            assert dict(at.query_params)[field] == str(value)  # the URL says what the widgets say


def test_the_landing_guess_survives_a_visit_elsewhere():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.radio(key="home.guess").set_value("GRU").run()
    navigate(at, "stepper")
    navigate(at, "home")
    assert at.radio(key="home.guess").value == "GRU"
    assert "you guessed GRU" in at.success[0].value


def test_a_link_with_settings_opens_the_page_at_them_even_after_a_visit():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    navigate(at, "gradient")
    at.slider(key="gradient.length").set_value(300).run()
    navigate(at, "stepper")
    at.query_params["length"] = "120"  # the stepper's own URL, carried along by a page link: ignored
    at.switch_page(PAGES["gradient"]).run()
    assert at.slider(key="gradient.length").value == 300
    navigate(at, "stepper")
    for key in list(at.query_params):
        del at.query_params[key]
    at.query_params.update({"page": "gradient", "length": "120", "nonlinearity": "relu"})  # a lesson's link
    at.switch_page(PAGES["gradient"]).run()
    assert at.slider(key="gradient.length").value == 120
    assert at.radio(key="gradient.nonlinearity").value == "relu"
    at.slider(key="gradient.length").set_value(200).run()  # and later reruns do not re-read the URL
    assert at.slider(key="gradient.length").value == 200
