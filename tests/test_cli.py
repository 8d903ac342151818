"""The command line: train (--json, --save), argument errors, and `rnnviz app` (dry run and one real start)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import rnnviz
from rnnviz.__main__ import app_command, app_dir, main
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--task", "adding", "--length", "5", "--steps", "30", "--hidden", "4"]


def _outside_env() -> dict:
    """Run `python -m rnnviz` from a directory that is not the checkout, finding the package on PYTHONPATH."""
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_train_json_from_another_directory(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "rnnviz", "train", "--cell", "gru", *SMALL, "--seed", "2", "--json"],
        cwd=tmp_path,
        env=_outside_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(out.stdout)
    assert summary["cell"] == "gru" and summary["steps"] == 30 and summary["seed"] == 2
    assert summary["params"] == 3 * 4 * 2 + 3 * 4 * 4 + 2 * 3 * 4 + 4 + 1  # W_ih (2 inputs), W_hh, biases, readout


@pytest.mark.parametrize(
    ("kind", "gates"),
    [("rnn", 1), ("lstm", 4), ("gru", 3)],
)
def test_save_writes_pytorch_keys_and_shapes(tmp_path, capsys, kind, gates):
    path = tmp_path / "model.npz"
    assert main(["train", "--cell", kind, *SMALL, "--json", "--save", str(path)]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["cell"] == kind  # stdout stays one JSON object; the note goes to stderr
    assert str(path) in out.err
    with np.load(path, allow_pickle=False) as data:
        shapes = {name: data[name].shape for name in data.files}
    H, D = 4, 2  # the adding problem feeds a value and a marker
    assert shapes == {
        "weight_ih_l0": (gates * H, D),
        "weight_hh_l0": (gates * H, H),
        "bias_ih_l0": (gates * H,),
        "bias_hh_l0": (gates * H,),
    }
    cell = rnnviz.load_npz(path)
    assert cell.kind == kind and cell.hidden_size == H and cell.input_size == D
    assert cell.dtype == np.float32  # the CLI trains in float32 by default and saves what it trained


def test_save_writes_exactly_the_path_given(tmp_path, capsys):
    path = tmp_path / "trained-lstm"  # no suffix: np.savez alone would write trained-lstm.npz
    assert main(["train", "--cell", "lstm", *SMALL, "--save", str(path)]) == 0
    assert path.is_file() and not (tmp_path / "trained-lstm.npz").exists()
    assert rnnviz.load_npz(path).kind == "lstm"
    assert "lstm on adding (length 5, seed 0)" in capsys.readouterr().out


def test_save_refuses_an_unwritable_path_before_training(tmp_path, capsys):
    missing = tmp_path / "no-such-dir" / "model.npz"
    started = time.perf_counter()
    assert main(["train", "--steps", "100000", "--save", str(missing)]) == 2  # would train for minutes
    assert time.perf_counter() - started < 30
    err = capsys.readouterr().err
    assert "error:" in err and "does not exist" in err and not missing.exists()
    assert main(["train", *SMALL, "--save", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--cell", "lstm2"], "invalid choice"),
        (["train", "--steps", "many"], "invalid int value"),
        (["train", "--bogus"], "unrecognized arguments: --bogus"),
        (["sweep", "--server.port", "1"], "unrecognized arguments"),
        (["train", "--task", "order", "--length", "3"], "sequence length"),
        (["train", "--steps", "0"], "steps must be between"),
        (["sweep", "--lengths", "5,ten"], "--lengths wants comma-separated whole numbers"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message_and_no_traceback(tmp_path, argv, message):
    out = subprocess.run(
        [sys.executable, "-m", "rnnviz", *argv], cwd=tmp_path, env=_outside_env(), capture_output=True, text=True
    )
    assert out.returncode == 2, out.stderr
    assert message in out.stderr and "error" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_app_help_lists_its_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["app", "--help"])
    assert exit_info.value.code == 0
    assert "--dry-run" in capsys.readouterr().out


def test_app_dry_run_passes_the_shipped_config_and_then_the_users_flags(capsys):
    assert main(["app", "--dry-run", "--server.port", "8600", "--server.address", "0.0.0.0"]) == 0
    command = shlex.split(capsys.readouterr().out)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    app = Path(command[-1])
    assert app.name == "app.py" and app.is_file() and app.parent == app_dir()
    flags = command[4:-1]
    config = tomllib.loads((app.parent / ".streamlit" / "config.toml").read_text())
    for section, options in config.items():
        for name, value in options.items():
            i = flags.index(f"--{section}.{name}")
            assert flags[i + 1] == (str(value).lower() if isinstance(value, bool) else str(value))
    assert flags[-4:] == ["--server.port", "8600", "--server.address", "0.0.0.0"]  # last: they override


def test_app_dir_holds_every_page():
    folder = app_dir()
    assert {p.name for p in (folder / "pages").glob("*.py")} == {p.name for p in (ROOT / "pages").glob("*.py")}
    assert app_command([])[-1] == str(folder / "app.py")


def test_pyproject_ships_every_package_and_data_file():
    """setuptools installs only the packages listed in pyproject.toml: a new subpackage must be added there."""
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(p.relative_to(ROOT).parts)
        for p in (ROOT / "rnnviz").rglob("*")
        if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))
    } | {"rnnviz", "rnnviz.content.data"}
    assert on_disk <= set(setup["packages"])
    assert setup["package-dir"] == {"rnnviz_app": "."} and "rnnviz_app.pages" in setup["packages"]
    patterns = setup["package-data"]["rnnviz.content.data"]
    for data in (ROOT / "rnnviz" / "content" / "data").iterdir():
        if data.is_file():
            assert any(data.match(pattern) for pattern in patterns), f"{data.name} would not be installed"


def test_app_starts_a_server_from_another_directory(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnviz", "app", "--server.port", str(port), "--server.address", "127.0.0.1"]
        + ["--server.fileWatcherType", "none"],
        cwd=tmp_path,
        env=_outside_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, healthy = time.time() + 60, False
        while time.time() < deadline and proc.poll() is None and not healthy:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    healthy = response.status == 200 and response.read() == b"ok"
            except OSError:
                time.sleep(0.3)
        assert healthy, "rnnviz app did not answer /_stcore/health"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.status == 200 and b"<html" in response.read().lower()
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert "Traceback" not in output


def test_pyproject_and_requirements_txt_ask_for_the_same_packages():
    """requirements.txt stays for Streamlit Community Cloud; pip install . reads pyproject.toml."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    listed = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    assert sorted(declared) == sorted(listed)
