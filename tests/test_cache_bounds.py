"""Every cache of the server is bounded (docs/deploy.md adds up the worst case): a Streamlit cache
(``st.cache_data``, ``st.cache_resource``) names its ``max_entries`` and an ``lru_cache`` its ``maxsize``,
unless the function takes no argument (one entry, ever); and the figures shared across sessions really drop
their least recently used one past the bound."""

from __future__ import annotations

import ast
from pathlib import Path

import plotly.graph_objects as go
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "rnnviz").rglob("*.py")])
STREAMLIT = {"cache_data", "cache_resource"}
FUNCTOOLS = {"lru_cache", "cache"}


def decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    return target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")


def bound_of(node: ast.expr, name: str):
    """The decorator's bound (max_entries / maxsize) as a Python value, None when it sets none."""
    if not isinstance(node, ast.Call):
        return None
    keyword = "max_entries" if name in STREAMLIT else "maxsize"
    values = [k.value for k in node.keywords if k.arg == keyword]
    if name == "lru_cache" and node.args:
        values.append(node.args[0])
    return ast.literal_eval(values[0]) if values else None


def cached_functions() -> list[tuple[str, str, str, object, int]]:
    """(file, function, decorator, bound, number of parameters) of every cached function of the app."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in node.decorator_list:
                    name = decorator_name(decorator)
                    if name in STREAMLIT | FUNCTOOLS:
                        arguments = node.args
                        count = len(arguments.posonlyargs + arguments.args + arguments.kwonlyargs)
                        count += bool(arguments.vararg) + bool(arguments.kwarg)
                        found.append((str(path.relative_to(ROOT)), node.name, name, bound_of(decorator, name), count))
    return found


def test_the_scan_finds_the_caches_it_should():
    names = {(f, n) for f, n, *_ in cached_functions()}
    assert ("rnnviz/app/ui.py", "cached_run") in names and ("rnnviz/app/ui.py", "_shared_figure") in names
    assert ("rnnviz/engine/text.py", "builtin_corpus") in names  # lru_cache too
    assert len(names) >= 20


@pytest.mark.parametrize("where, function, decorator, bound, parameters", cached_functions())
def test_every_cache_is_bounded(where, function, decorator, bound, parameters):
    bounded = isinstance(bound, int) and bound > 0
    assert bounded or parameters == 0, (  # no argument: one entry, whatever the decorator says
        f"{where}: {function} is cached ({decorator}) on its arguments without a bound; give it "
        f"{'max_entries' if decorator in STREAMLIT else 'maxsize'}= (and add it to docs/deploy.md's total)"
    )


def test_shared_figures_drop_the_least_recently_used_past_128():
    from rnnviz.app import ui

    ui._shared_figure.clear()
    built = []

    def builder(i):
        def build():
            built.append(i)
            return go.Figure(go.Scatter(y=[i]))

        return build

    try:
        for i in range(128):
            ui.shared_figure(("bound-test", i), builder(i))
        ui.shared_figure(("bound-test", 0), builder(0))  # a hit: 0 is now the most recently used
        assert len(built) == 128
        ui.shared_figure(("bound-test", 128), builder(128))  # one past the bound: 1, the oldest unused, goes
        ui.shared_figure(("bound-test", 0), builder(0))
        assert len(built) == 129  # 0 was kept
        ui.shared_figure(("bound-test", 1), builder(1))
        assert built[-1] == 1 and len(built) == 130  # 1 was dropped and built again
    finally:
        ui._shared_figure.clear()
