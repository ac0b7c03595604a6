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
echo "== import layers (lint-imports; contracts in pyproject.toml)"
if ! layers="$(lint-imports --no-logo --no-cache 2>&1)"; then
  echo "$layers"
  exit 1
fi
grep -E " KEPT" <<<"$layers"
echo "== pytest (one worker per core), measured by coverage"
# [tool.coverage.*] in pyproject.toml: every Python process the tests start (`git model`,
# hooks, xdist workers) writes its own data file under .coverage/, combined below.
rm -rf .coverage && mkdir .coverage
coverage run -m pytest -n auto "$@"
coverage combine --quiet
# The floor (fail_under) holds for the whole suite; a run narrowed by arguments (-k, paths)
# only reports its figure.
floor=()
for arg in "$@"; do
  case "$arg" in -q | -v | -vv | -x) ;; *) floor=(--fail-under=0) ;; esac
done
status=0
total="$(coverage report --format=total "${floor[@]}")" || status=$?
if [ "$status" -eq 2 ]; then  # coverage's exit status for "below fail_under"
  echo "coverage: ${total}% of gitmodel/, below the floor (fail_under in pyproject.toml)"
  exit 1
elif [ "$status" -ne 0 ]; then
  exit "$status"
fi
echo "coverage: ${total}% of gitmodel/ (\`coverage report\` shows it per file)"
