"""The layering, read from the code: every import of every module under rnnviz/ (function-level ones included),
parsed with ``ast``.

- the engine imports neither plotly nor streamlit, nor rnnviz's figures, content or app;
- figures never import streamlit nor rnnviz.app;
- only rnnviz/app (beside app.py and pages/, outside the package) imports streamlit;
- no import cycle among rnnviz's modules.

The checker is tested on a small planted tree first, so a rule that could never fail would show.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (importer's prefix, what it must not import, why)
RULES = [
    ("rnnviz.engine", ("plotly", "streamlit", "rnnviz.figures", "rnnviz.content", "rnnviz.app"), "NumPy only"),
    ("rnnviz.figures", ("streamlit", "rnnviz.app"), "pure figure builders"),
    ("rnnviz", ("streamlit",), "only rnnviz.app imports streamlit"),
]
STREAMLIT_HOME = "rnnviz.app"


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The modules ``path`` (module ``name``) imports anywhere in its body. ``from p import x`` counts as
    ``p.x`` when that is a module of the tree, else as ``p``; relative imports are resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in modules else source)
    return found


def import_graph(root: Path, package: str = "rnnviz") -> dict[str, set[str]]:
    """``{module: the modules it imports}`` for every module of ``package`` under ``root``."""
    files = {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}
    return {name: imports_of(path, name, set(files)) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles among the graph's own modules: each strongly connected component of more than one
    module, or a module importing itself (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node] & graph.keys()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every broken rule, as 'importer imports imported (why)', then every cycle."""
    out = []
    for importer, imported in sorted(graph.items()):
        for prefix, banned, why in RULES:
            if not _under(importer, prefix):
                continue
            if prefix == "rnnviz" and _under(importer, STREAMLIT_HOME):
                continue
            for name in sorted(imported):
                if any(_under(name, b) for b in banned):
                    out.append(f"{importer} imports {name} ({why})")
    out += ["import cycle: " + " -> ".join(cycle) for cycle in cycles(graph)]
    return sorted(set(out))


def test_the_checker_finds_each_kind_of_planted_violation(tmp_path):
    def write(name: str, text: str) -> None:
        path = tmp_path / "rnnviz" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    for package in ("", "engine/", "figures/", "app/", "content/"):
        write(f"{package}__init__.py", "")
    write("engine/cells.py", "import numpy as np\n")
    write("figures/theme.py", "import plotly.graph_objects as go\n")
    write("app/ui.py", "import streamlit as st\nfrom rnnviz.engine import cells\n")
    assert violations(import_graph(tmp_path)) == []  # a clean tree passes

    write("engine/cells.py", "import numpy as np\n\ndef f():\n    import plotly\n")  # a function-level import
    write("engine/weights.py", "from ..figures import theme\n")  # a relative one
    write("figures/theme.py", "from rnnviz.app import ui\n")
    write("content/lessons.py", "import streamlit.components.v1\n")
    write("engine/tasks.py", "from rnnviz.engine import training\n")  # a cycle of two
    write("engine/training.py", "from . import tasks\n")
    assert violations(import_graph(tmp_path)) == [
        "import cycle: rnnviz.engine.tasks -> rnnviz.engine.training",
        "rnnviz.content.lessons imports streamlit.components.v1 (only rnnviz.app imports streamlit)",
        "rnnviz.engine.cells imports plotly (NumPy only)",
        "rnnviz.engine.weights imports rnnviz.figures.theme (NumPy only)",
        "rnnviz.figures.theme imports rnnviz.app.ui (pure figure builders)",
    ]


def test_cycles_finds_long_cycles_and_self_imports_and_nothing_in_a_tree():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b", "numpy"}, "b": {"c"}, "c": set()}) == []


def test_rnnviz_keeps_its_layers_and_has_no_import_cycle():
    graph = import_graph(ROOT)
    assert {"rnnviz.engine.cells", "rnnviz.figures.common", "rnnviz.app.ui", "rnnviz.app.lab_state"} <= set(graph)
    assert "streamlit" in graph["rnnviz.app.ui"]  # the checker sees real imports
    assert violations(graph) == []


def test_tests_import_their_helpers_one_way():
    """Shared helpers come from tests.helpers only: importing conftest or another test module (as ``conftest``
    or ``tests.conftest``, ``test_x`` or ``tests.test_x``) loads a second copy of it."""
    tests = sorted((ROOT / "tests").glob("*.py"))
    names = {p.stem for p in tests}
    wrong = []
    for path in tests:
        for name in imports_of(path, f"tests.{path.stem}", {f"tests.{n}" for n in names}):
            stem = name.removeprefix("tests.").partition(".")[0]
            if stem in names and (stem == "conftest" or stem.startswith("test_")):
                wrong.append(f"{path.name} imports {name}")
            if stem == "helpers" and not name.startswith("tests."):
                wrong.append(f"{path.name} imports {name} (use tests.helpers)")
    assert wrong == []
