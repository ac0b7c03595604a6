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
make_model models/sentiment.safetensors 1
step git model add models/sentiment.safetensors --name sentiment \
  --metric accuracy=0.913 --metric loss=0.21 --param lr=3e-4
step cat models/sentiment.safetensors.gitmodel
step git commit -q -m "train sentiment v1"
v1=$(sha256sum models/sentiment.safetensors | cut -c1-16)

echo; echo "# retrain: the weights change"
make_model models/sentiment.safetensors 2
step git model status
step git model add models/sentiment.safetensors --metric accuracy=0.925 --metric loss=0.18
step git commit -q -m "train sentiment v2"
step git log --oneline

echo; echo "# roll the work tree back to v1: Git restores the pointer, git model the bytes"
step git checkout -q HEAD~1
step git model checkout
step git model status
restored=$(sha256sum models/sentiment.safetensors | cut -c1-16)
[ "$v1" = "$restored" ] && echo "v1 bytes restored exactly (sha256 $v1…)"
step git checkout -q main
step git model checkout -q
step git model status --json
echo; echo "demo finished: repository was $demo (removed on exit)"
