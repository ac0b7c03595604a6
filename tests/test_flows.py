"""Everyday Git flows that move pointers: every kind of rebase (artifacts follow HEAD), merge
conflicts on a pointer (status, diff, resolving), and the Git commands that change a pointer
without a hook (stash, reset --hard, checkout REV -- PTR: the bytes are reported stale)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import git, gm, gm_ok
from tests.test_hooks import UPDATED, add, commit, head, installed, weights

MODEL = "model.safetensors"
POINTER = "model.safetensors.gitmodel"


def rebase(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", "rebase", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "GIT_SEQUENCE_EDITOR": ":"},
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def note(repo: Path, name: str) -> None:
    """A commit that changes no pointer."""
    (repo / name).write_text(f"{name}\n")
    git(repo, "add", name)
    assert commit(repo, name).returncode == 0


def model_branches(repo: Path) -> tuple[bytes, bytes]:
    """main: model v1; `feature` (from main): model v2 and a note. main checked out."""
    v1 = weights(repo, 1)
    add(repo, MODEL)
    assert commit(repo, "v1").returncode == 0
    git(repo, "switch", "-q", "-c", "feature")
    v2 = weights(repo, 2)
    add(repo, MODEL)
    assert commit(repo, "v2").returncode == 0
    note(repo, "feature.txt")
    git(repo, "switch", "-q", "main")
    assert (repo / MODEL).read_bytes() == v1
    return v1, v2


@pytest.fixture(params=["shims", "framework"])
def flow_repo(request: pytest.FixtureRequest, repo: Path) -> Path:
    """A repository with git-model's hooks, as shims or through the pre-commit framework
    (its local `language: system` hooks: nothing to download)."""
    if request.param == "shims":
        return installed(repo)
    gm_ok(repo, "install", "-q", "--pre-commit-framework")
    proc = subprocess.run(["pre-commit", "install"], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    git(repo, "add", ".gitattributes", ".pre-commit-config.yaml")
    assert commit(repo, "hooks").returncode == 0
    return repo


def status_line(repo: Path) -> str:
    return gm_ok(repo, "status")


# --- rebase --------------------------------------------------------------------------------


def test_fast_forward_rebase_brings_the_new_tip(flow_repo: Path) -> None:
    _, v2 = model_branches(flow_repo)
    proc = rebase(flow_repo, "feature")  # main is behind feature: a fast-forward
    assert "Successfully rebased" in proc.stderr or "Fast-forwarded" in proc.stdout
    assert head(flow_repo) == git(flow_repo, "rev-parse", "feature").stdout.strip()
    assert (flow_repo / MODEL).read_bytes() == v2
    assert gm(flow_repo, "status", "-q").returncode == 0


def test_rebase_replaying_commits_brings_the_new_tip(flow_repo: Path) -> None:
    _, v2 = model_branches(flow_repo)
    note(flow_repo, "main.txt")
    rebase(flow_repo, "feature")
    assert (flow_repo / MODEL).read_bytes() == v2


def test_rebase_onto_with_nothing_to_replay(flow_repo: Path) -> None:
    _, v2 = model_branches(flow_repo)
    rebase(flow_repo, "--onto", "feature", "HEAD")  # only the checkout of feature is left
    assert head(flow_repo) == git(flow_repo, "rev-parse", "feature").stdout.strip()
    assert (flow_repo / MODEL).read_bytes() == v2


@pytest.mark.parametrize("backend", ["--merge", "--apply"])
def test_rebase_whose_base_has_the_old_pointer(flow_repo: Path, backend: str) -> None:
    """feature changed the pointer, main did not: the rebased tip has feature's pointer again.
    The apply backend checks out main's v1 first (no rebase is marked in progress yet)."""
    _, v2 = model_branches(flow_repo)
    note(flow_repo, "main.txt")
    git(flow_repo, "switch", "-q", "feature")
    assert (flow_repo / MODEL).read_bytes() == v2
    rebase(flow_repo, backend, "main")
    assert (flow_repo / MODEL).read_bytes() == v2
    assert gm(flow_repo, "status", "-q").returncode == 0


def test_interactive_rebase_with_exec(flow_repo: Path) -> None:
    v1, v2 = model_branches(flow_repo)
    note(flow_repo, "main.txt")
    rebase(flow_repo, "-i", "--exec", "true", "feature")
    assert (flow_repo / MODEL).read_bytes() == v2
    # Replaying commits that need no rewrite (a fast-forward pick) leaves the bytes of HEAD.
    rebase(flow_repo, "-i", "--exec", "true", "HEAD~3")
    assert (flow_repo / MODEL).read_bytes() == v2
    assert v1 != v2


def test_pull_rebase(flow_repo: Path) -> None:
    _, v2 = model_branches(flow_repo)
    proc = git(flow_repo, "pull", "-q", "--rebase", ".", "feature")  # a fast-forward
    assert proc.returncode == 0
    assert (flow_repo / MODEL).read_bytes() == v2
    git(flow_repo, "reset", "-q", "--hard", "HEAD~2")
    gm_ok(flow_repo, "checkout")
    note(flow_repo, "main.txt")
    proc = git(flow_repo, "pull", "-q", "--rebase", ".", "feature")  # replays main.txt
    assert proc.returncode == 0
    assert (flow_repo / MODEL).read_bytes() == v2
