"""The README as a newcomer reads it: short, its code runs as written, its links and layout match the tree,
and the command line it describes answers as it says."""

import importlib.util
import os
import re
import runpy
from pathlib import Path

import pytest

from rnnviz import __main__ as cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_the_readme_is_short():
    assert len(README.split()) <= 1250  # pitch, run, pages, test, deploy, command line, engine, layout


@pytest.mark.parametrize("number", range(len(python_blocks(README))))
def test_each_python_snippet_runs_as_written(number, tmp_path, monkeypatch):
    code = python_blocks(README)[number]
    for module in re.findall(r"^import (\w+)", code, re.M):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"the snippet needs {module}, which is not installed")
    monkeypatch.chdir(tmp_path)  # snippets may write files (lstm.npz, model.npz)
    script = tmp_path / "snippet.py"
    script.write_text(code)
    runpy.run_path(str(script), run_name="__main__")


def test_there_are_snippets_and_one_runs_without_torch():
    runnable = [b for b in python_blocks(README) if "torch" not in b]
    assert runnable and "cell.backward" in runnable[0]


def test_every_local_link_and_image_exists():
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+)\)", page.read_text()):
            if not target.startswith("http"):
                assert (page.parent / target).exists(), (page.name, target)
    for doc in ("speed", "papers", "safe-loading", "shared-training", "engine", "reproducibility"):
        assert f"docs/{doc}.md" in README, doc


def test_the_layout_names_every_module_of_the_tree():
    layout = README.split("## Layout", 1)[1]
    for package in ("engine", "figures", "content", "app"):
        assert f"{package}/" in layout, package
        for module in (ROOT / "rnnviz" / package).glob("*.py"):
            if module.stem != "__init__":
                assert re.search(rf"\b{module.stem}\b", layout), f"rnnviz/{package}/{module.name}"


# --------------------------------------------------------------------------------------------------
# The command line, as the README describes it


def test_help_is_plain_text_and_lists_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "``" not in out and "{train," not in out  # no reStructuredText, no argparse choice braces
    for command in ("train", "sweep", "reproduce", "app"):
        assert re.search(rf"^  rnnviz {command} +\w", out, re.M), command


@pytest.mark.parametrize("command", ["train", "sweep", "reproduce", "app"])
def test_every_option_says_what_it_does_and_its_default(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    out = " ".join(capsys.readouterr().out.split("options:", 1)[1].split())  # after the usage lines
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        if not action.option_strings or action.dest == "help":
            continue
        flag = action.option_strings[-1]
        described = re.search(rf"(?<![\w-]){re.escape(flag)}(?: \S+)? ((?:(?! --).)+?) \(default: ([^)]+)\)", out)
        assert described, (command, flag)
        default = action.default
        expected = "off" if default is None or default is False else str(default)
        assert described.group(2) in (expected, "the experiment's"), (flag, described.group(2), default)


def test_an_unknown_flag_gets_its_commands_usage(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["train", "--bogus"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: rnnviz train ") and "unrecognized arguments: --bogus" in err


def test_sweep_writes_into_the_current_directory_by_default(tmp_path, monkeypatch):
    args = cli.build_parser().parse_args(["sweep"])
    assert not args.out.is_absolute() and args.out.parent == Path(".")
    monkeypatch.chdir(tmp_path)
    assert args.out.resolve().parent == tmp_path  # not the installed package
    assert "rnnviz/content/data/sweep_default.json" in README and not os.path.samefile(
        cli.SHIPPED_SWEEP.parent, tmp_path
    )
