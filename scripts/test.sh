#!/usr/bin/env bash
# Set up (or reuse) .venv, install git-model with its test extras, then run ruff, mypy and the
# test suite. Extra arguments go to pytest, e.g. `scripts/test.sh -k checkout -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh test
echo "== ruff"
ruff check gitmodel tests benchmarks
ruff format --check gitmodel
echo "== mypy (strict, gitmodel/)"
mypy
echo "== pytest (one worker per core)"
pytest -n auto "$@"
