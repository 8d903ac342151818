#!/usr/bin/env bash
# Installs everything the tests need (Python packages, and Chromium when none is found) and runs them all.
# This is the README's test command and what CI runs (.ci/run). Extra arguments go to pytest.
# PYTHON picks the interpreter (default python3); CHROMIUM a Chromium or Chrome binary for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

fail() {  # one message, one line per argument
  printf 'error: %s\n' "$1" >&2
  shift
  [ $# -eq 0 ] || printf '       %s\n' "$@" >&2
  exit 1
}

# 1. Python 3.11 or newer.
command -v "$PY" >/dev/null 2>&1 || fail "$PY not found: install Python 3.11 or newer (https://www.python.org/downloads/)" \
  "or name your interpreter: PYTHON=python3.11 bash scripts/test.sh"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  fail "rnnviz needs Python 3.11 or newer; $PY is $("$PY" -c 'import platform; print(platform.python_version())')." \
    "Install a newer one, or name it: PYTHON=python3.11 bash scripts/test.sh"

# 2. The Python packages, into the active environment. When pip will not write there (PEP 668's
#    "externally-managed-environment", e.g. Debian's or Homebrew's own Python, or no pip at all), use a
#    virtual environment in .venv instead.
pip_install() {
  "$1" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
}
if ! pip_log=$(pip_install "$PY" 2>&1); then
  if ! grep -q -e externally-managed-environment -e "No module named pip" <<<"$pip_log"; then
    printf '%s\n' "$pip_log" >&2
    fail "pip could not install requirements-dev.txt (above)"
  fi
  echo "pip will not install into $PY (PEP 668: externally managed, or no pip); using a virtual environment in .venv"
  if [ ! -d .venv ]; then
    "$PY" -m venv .venv || fail "could not create .venv (on Debian/Ubuntu: sudo apt-get install python3-venv)." \
      "Or make and activate a virtual environment yourself (see the README), then run this again."
  fi
  PY=.venv/bin/python
  [ -x "$PY" ] || PY=.venv/Scripts/python.exe  # Windows (Git Bash)
  pip_log=$(pip_install "$PY" 2>&1) || { printf '%s\n' "$pip_log" >&2; fail "pip could not install into .venv"; }
fi
[ -z "$pip_log" ] || printf '%s\n' "$pip_log"

# 3. Chromium (and nginx) for the browser tests, found as tests/conftest.py finds it ($CHROMIUM; chromium, chromium-browser,
#    google-chrome, google-chrome-stable; Playwright's download). Debian's is installed only when none is found.
find_chromium() {
  "$PY" - <<'PYEOF'
import sys

sys.path.insert(0, "tests")
from conftest import find_chromium

try:
    print(find_chromium() or "")
except RuntimeError as err:
    sys.exit(f"error: {err}")
PYEOF
}
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    fail "installing with apt-get needs root or sudo; without them: $PY -m playwright install chromium"
  fi
}
CHROMIUM=$(find_chromium)
apt_packages=()
if command -v apt-get >/dev/null 2>&1; then
  [ -n "$CHROMIUM" ] || apt_packages+=(chromium)
  # An emoji font, so the screenshots show the page icons.
  [ -d /usr/share/fonts/truetype/noto ] || apt_packages+=(fonts-noto-color-emoji)
  # nginx, for the test of two replicas behind the shipped proxy configuration (tests/test_browser_proxy.py).
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || apt_packages+=(nginx)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "Installing ${apt_packages[*]} with apt-get for the browser tests..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
  [ -n "$CHROMIUM" ] || CHROMIUM=$(find_chromium)
fi
if [ -z "$CHROMIUM" ]; then
  fail "the browser tests need Chromium or Google Chrome, and none was found (looked at \$CHROMIUM;" \
    "chromium, chromium-browser, google-chrome, google-chrome-stable on PATH; /Applications on macOS;" \
    "Playwright's chromium-* under \$PLAYWRIGHT_BROWSERS_PATH or its cache). Get one, then run this again:" \
    "  any system:     $PY -m playwright install chromium" \
    "  Debian/Ubuntu:  sudo apt-get install chromium   (Ubuntu: chromium-browser)" \
    "  macOS:          brew install --cask chromium" \
    "  or name one:    CHROMIUM=/path/to/chrome bash scripts/test.sh"
fi
export CHROMIUM
echo "Browser tests use $CHROMIUM"

# 4. Lint, then every test. pytest's exit status is kept: 5 (no test collected) is a failure too.
"$PY" -m ruff check .
status=0
"$PY" -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no test with the arguments: $*" >&2
fi
exit "$status"
