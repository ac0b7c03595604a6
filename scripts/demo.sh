#!/usr/bin/env bash
# The git-model demo: set up .venv, then in a throw-away repository add a tiny model, change it,
# re-add it with new metrics, and bring the old version back. Prints every command it runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/venv.sh"
demo="$(mktemp -d "${TMPDIR:-/tmp}/git-model-demo.XXXXXX")"
trap 'rm -rf "$demo"' EXIT
cd "$demo"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$demo/.gitconfig"
git config --global user.name "git-model demo"
git config --global user.email "demo@example.com"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }
make_model() { python3 "$here/make_tiny_model.py" "$@"; }

step git init -q
step git commit -q --allow-empty -m "start"
step git model install -q                 # hooks, readable `git diff` of pointers, merge driver

make_model models/sentiment.safetensors 1
step git model add models/sentiment.safetensors --name sentiment \
  --metric accuracy=0.913 --metric loss=0.21 --param lr=3e-4
step cat models/sentiment.safetensors.gitmodel
step git commit -q -m "train sentiment v1"
step git model tag sentiment              # registers sentiment@v0.1.0 (an annotated Git tag)
step git model promote sentiment@v0.1.0 production
v1=$(sha256sum models/sentiment.safetensors | cut -c1-16)

echo; echo "# retrain: the weights change, one tensor is added"
make_model models/sentiment.safetensors 2
step git model status
step git model add models/sentiment.safetensors --metric accuracy=0.925 --metric loss=0.18
step git model diff --cached              # what this commit changes: metrics and tensors
step git commit -q -m "train sentiment v2"
step git model tag sentiment --bump minor -m "more data"
step git model promote sentiment@latest production
step git model diff sentiment@v0.1.0 sentiment@v0.2.0 --md
step git diff HEAD~1 -- models/           # Git itself shows readable pointer changes
step git model versions sentiment
step git model ls

echo; echo "# v0.2.0 misbehaves in production: roll back in one command (a new commit)"
step git model rollback sentiment --stage production
step git model status
restored=$(sha256sum models/sentiment.safetensors | cut -c1-16)
[ "$v1" = "$restored" ] && echo "v1 bytes restored exactly (sha256 $v1…)"
step git log --oneline
step git model show sentiment#production

echo; echo "# any commit's bytes come back with checkout, too"
step git checkout -q sentiment@v0.2.0
step git model status
step git checkout -q main
step git model status --json
echo; echo "demo finished: repository was $demo (removed on exit)"
