#!/usr/bin/env bash
# Create (or reuse) .venv and install git-model into it; sourced by demo.sh and test.sh.
# Usage: source scripts/venv.sh [extras]   e.g. `source scripts/venv.sh test`
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-}"
if [ ! -x "$root/.venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$root/.venv"
fi
pip_install() {
  "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}
if [ -n "$extras" ]; then
  pip_install -e "$root[$extras]"
else
  pip_install -e "$root"
fi
# An editable install skips data files: put the manual page where `man` (and so
# `git model --help`) looks for it beside the venv's bin/.
install -D -m 644 "$root/man/git-model.1" "$root/.venv/share/man/man1/git-model.1"
# pip compiles a regular install's modules at install time, but not an editable one's: with
# PYTHONDONTWRITEBYTECODE set (as in this sandbox and some CI images), every `git model` run
# would compile every module it imports again (~30 ms a command). Compile once, as pip would;
# a module edited later is still recompiled (in memory) until this runs again.
"$root/.venv/bin/python" -m compileall -q "$root/gitmodel" >/dev/null
export PATH="$root/.venv/bin:$PATH"
