"""Everyday Git flows that move pointers: every kind of rebase (artifacts follow HEAD), merge
conflicts on a pointer (status, diff, resolving), and the Git commands that change a pointer
without a hook (stash, reset --hard, checkout REV -- PTR: the bytes are reported stale)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import git, gm, gm_ok
from tests.test_hooks import REFUSED, add, commit, head, installed, metric_branches, weights

MODEL = "model.safetensors"
POINTER = "model.safetensors.gitmodel"


@pytest.fixture
def hooked(repo: Path) -> Path:
    return installed(repo)


def rebase(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", "rebase", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "GIT_SEQUENCE_EDITOR": ":"},
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


# --- pointers changed without a hook: stale bytes --------------------------------------------

STALE = "stale                   model.safetensors: pointer changed; run `git model checkout`\n"
UP_TO_DATE = "up to date              model.safetensors\n"


def refused_add(repo: Path, old: str, new: str) -> str:
    return (
        f"error: model.safetensors holds the bytes of another version ({old}, in the cache), "
        f"not the {new} its pointer names: the pointer changed under them (a stash, reset, "
        "merge or checkout of the pointer) (bring the pointer's bytes with `git model checkout "
        "model.safetensors`, or record these with `git model add --force model.safetensors`)\n"
    )


def pointer_oid(repo: Path, rev: str = "") -> str:
    text = (repo / POINTER).read_text() if not rev else git(repo, "show", f"{rev}:{POINTER}").stdout
    return next(line.split('"')[1] for line in text.splitlines() if line.startswith("oid ="))


def test_stash_reset_and_file_checkout_leave_stale_bytes(hooked: Path) -> None:
    v1, v2 = model_branches(hooked)
    model = hooked / MODEL
    # git checkout REV -- PTR: a file checkout, no hook brings the bytes
    git(hooked, "checkout", "feature", "--", POINTER)
    assert status_line(hooked) == STALE
    proc = gm(hooked, "add", MODEL)
    assert (proc.returncode, proc.stderr) == (
        1,
        refused_add(hooked, pointer_oid(hooked, "main"), pointer_oid(hooked)),
    )
    assert pointer_oid(hooked) == pointer_oid(hooked, "feature")  # nothing was written
    assert "restored model.safetensors" in gm_ok(hooked, "checkout")
    assert (model.read_bytes(), status_line(hooked)) == (v2, UP_TO_DATE)

    # git stash: the pointer goes back to HEAD's, the v2 bytes stay
    proc = git(hooked, "stash", "-q")
    assert status_line(hooked) == STALE
    gm_ok(hooked, "checkout")
    assert model.read_bytes() == v1
    git(hooked, "stash", "pop", "-q")  # and back to v2's pointer
    assert status_line(hooked) == STALE
    gm_ok(hooked, "checkout")
    assert model.read_bytes() == v2

    # git reset --hard: the pointer is HEAD's again
    git(hooked, "reset", "-q", "--hard")
    assert status_line(hooked) == STALE
    # --force records the bytes anyway (here: v2 again, with main's metrics)
    proc = gm(hooked, "add", "-q", "--force", MODEL)
    assert proc.returncode == 0, proc.stderr
    assert (pointer_oid(hooked), status_line(hooked)) == (
        pointer_oid(hooked, "feature"),
        UP_TO_DATE,
    )


def test_changed_bytes_are_modified_not_stale(hooked: Path) -> None:
    model_branches(hooked)
    weights(hooked, 7)  # bytes that are in no cache
    assert status_line(hooked) == "modified                model.safetensors\n"
    add(hooked, MODEL)
    assert status_line(hooked) == UP_TO_DATE


def test_stale_folder(hooked: Path) -> None:
    folder = hooked / "clf"
    weights(hooked, 1, "clf/model.safetensors")
    (folder / "config.json").write_text("{}\n")
    add(hooked, "clf")
    assert commit(hooked, "clf v1").returncode == 0
    weights(hooked, 2, "clf/model.safetensors")
    (folder / "extra.txt").write_text("new\n")
    add(hooked, "clf")
    assert commit(hooked, "clf v2").returncode == 0
    git(hooked, "checkout", "HEAD~1", "--", "clf.gitmodel")
    stale = "stale                   clf/: pointer changed; run `git model checkout`\n"
    assert gm_ok(hooked, "status") == stale
    proc = gm(hooked, "status", "--check")
    assert (proc.returncode, proc.stdout) == (1, stale)
    assert gm(hooked, "add", "clf").returncode == 1
    gm_ok(hooked, "checkout")
    assert gm_ok(hooked, "status") == "up to date              clf/\n"
    assert not (folder / "extra.txt").exists()
    # a file deleted by hand is a change of the user's, not stale bytes
    (folder / "config.json").unlink()
    assert gm_ok(hooked, "status") == "modified                clf/: -config.json\n"


# --- merge conflicts on a pointer ----------------------------------------------------------


def conflicted(repo: Path) -> tuple[bytes, bytes]:
    """Both sides re-trained the model (fill 2 on main, 3 on `t`): `git merge t` stops on the
    pointer. Returns (ours, theirs) artifact bytes; ours are in the work tree."""
    ours_theirs = metric_branches(repo, (2, "0.9", "0.3"), (3, "0.95", "0.3"))
    assert ours_theirs[0] != ours_theirs[1]
    proc = git(repo, "merge", "--no-edit", "-q", "t", check=False)
    assert proc.returncode == 1
    return weights(repo.parent, 2), weights(repo.parent, 3)


CONFLICT_STATUS = (
    "conflict                model.safetensors: both sides changed artifact; pick one: "
    "git model checkout --ours model.safetensors.gitmodel (or --theirs)\n"
)


def test_conflict_in_status_and_diff(hooked: Path) -> None:
    conflicted(hooked)
    assert status_line(hooked) == CONFLICT_STATUS
    proc = gm(hooked, "diff")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].endswith("1 model in conflict, 1 of 1 model changed")
    assert "model (in conflict)" in proc.stdout
    assert proc.stderr == (
        "warning: work tree: model.safetensors.gitmodel is in a merge conflict (both sides "
        "changed artifact); pick one: git model checkout --ours "
        "model.safetensors.gitmodel (or --theirs)\n"
    )


def test_resolve_the_git_way_then_checkout(hooked: Path) -> None:
    ours, theirs = conflicted(hooked)
    model = hooked / MODEL
    git(hooked, "checkout", "--theirs", POINTER)
    git(hooked, "add", POINTER)
    assert status_line(hooked) == STALE  # theirs' pointer, ours' bytes
    proc = gm(hooked, "add", MODEL)  # would record ours' bytes under theirs' metrics
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: model.safetensors holds the bytes of another version")
    proc = commit(hooked, "merge t")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert (
        git(hooked, "show", f"HEAD:{POINTER}").stdout == git(hooked, "show", f"t:{POINTER}").stdout
    )
    assert model.read_bytes() == ours
    gm_ok(hooked, "checkout")
    assert (model.read_bytes(), status_line(hooked)) == (theirs, UP_TO_DATE)


@pytest.mark.parametrize("side", ["ours", "theirs"])
def test_checkout_a_side(hooked: Path, side: str) -> None:
    ours, theirs = conflicted(hooked)
    proc = gm(hooked, "checkout", f"--{side}", POINTER)
    assert (proc.returncode, proc.stderr) == (0, "")
    restored = "restored model.safetensors\n1 restored, 0 already up to date\n"
    assert proc.stdout == (restored if side == "theirs" else "0 restored, 1 already up to date\n")
    expected = {"ours": ours, "theirs": theirs}[side]
    assert (hooked / MODEL).read_bytes() == expected
    branch = {"ours": "main", "theirs": "t"}[side]
    assert (hooked / POINTER).read_text() == git(hooked, "show", f"{branch}:{POINTER}").stdout
    assert git(hooked, "diff", "--name-only", "--diff-filter=U").stdout == ""  # resolved
    assert status_line(hooked) == UP_TO_DATE
    assert commit(hooked, "merge t").returncode == 0
    proc = gm(hooked, "checkout", "--theirs", POINTER)
    assert (proc.returncode, proc.stderr) == (
        1,
        "error: model.safetensors.gitmodel is not in a merge conflict (--theirs picks a side "
        "of a conflicted pointer; without it, `git model checkout` brings the bytes the "
        "pointer names)\n",
    )


def test_committing_conflict_markers_is_refused(hooked: Path) -> None:
    conflicted(hooked)
    git(hooked, "add", POINTER)  # marks it resolved, markers and all
    proc = commit(hooked, "merge t")
    assert proc.returncode == 1
    assert proc.stderr == (
        "git-model: model.safetensors.gitmodel still holds merge conflict markers (both sides "
        "changed artifact; pick one: git model checkout --ours model.safetensors.gitmodel (or "
        "--theirs))\n" + REFUSED
    )
    # the hint works although the pointer is no longer unmerged in the index
    proc = gm(hooked, "checkout", "--theirs", POINTER)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert (hooked / POINTER).read_text() == git(hooked, "show", f"t:{POINTER}").stdout
    assert (hooked / MODEL).read_bytes() == weights(hooked.parent, 3)
    assert commit(hooked, "merge t").returncode == 0
