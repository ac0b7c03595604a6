#!/usr/bin/env bash
# Set up (or reuse) .venv, install git-model with its test extras, then run ruff, mypy and the
# test suite. Extra arguments go to pytest, e.g. `scripts/test.sh -k checkout -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"
ruff check gitmodel tests benchmarks
ruff format --check gitmodel
echo "== mypy (strict, gitmodel/)"
mypy
echo "== pytest"
pytest "$@"
