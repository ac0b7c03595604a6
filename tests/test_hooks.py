"""Git hooks end to end: `git model install` shims fired by the real `git` binary.

pre-commit (big files, unsound pointers, pickles), post-checkout and post-merge (artifacts
follow HEAD), pre-push (no pointer whose object nobody could fetch), the `*.gitmodel` merge
driver through `git merge`, and install/uninstall (legacy chaining, upgrades, core.hooksPath).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import git, gm, gm_ok, object_path, write_safetensors

HOOKS = ("pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite")
SHIMS = Path(__file__).resolve().parents[1] / "hooks"
REFUSED = "git-model: commit refused (bypass once with `git commit --no-verify`)\n"
PUSH_REFUSED = (
    "git-model pre-push: push refused: nobody could fetch those objects (re-add the artifacts "
    "on the machine that has them, or push with GIT_MODEL_SKIP_PUSH=1)\n"
)
UPDATED = "git-model: updated 1 artifact file(s)\n"
INSTALL_CONFIG = (
    "config diff.gitmodel.textconv = git-model textconv\n"
    "config merge.gitmodel.name = git-model pointer merge\n"
    "config merge.gitmodel.driver = git-model merge-driver %O %A %B %P\n"
)


# --- helpers -------------------------------------------------------------------------------


def installed(repo: Path) -> Path:
    """Install git-model's hooks and drivers, and commit the .gitattributes it writes."""
    gm_ok(repo, "install", "-q")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-q", "-m", "git-model attributes")
    return repo


@pytest.fixture
def hooked(repo: Path) -> Path:
    return installed(repo)


def weights(repo: Path, fill: int, name: str = "model.safetensors") -> bytes:
    """A small real safetensors file (80 bytes) whose bytes depend on `fill`."""
    return write_safetensors(repo / name, {"w": ("F32", [4], fill)})


def add(repo: Path, *args: str) -> None:
    gm_ok(repo, "add", "-q", *args)


def commit(repo: Path, message: str, *args: str) -> subprocess.CompletedProcess[str]:
    return git(repo, "commit", "-q", "-m", message, *args, check=False)


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def oid_of(pointer_file: Path) -> str:
    oid = tomllib.loads(pointer_file.read_text())["oid"]
    assert isinstance(oid, str)
    return oid


def remove_object(repo: Path, oid: str, keep: Path | None = None) -> None:
    """Take an object out of the cache (moved to `keep` if given, so it can come back)."""
    obj = object_path(repo, oid)
    assert obj.is_file()
    if keep is None:
        obj.unlink()
    else:
        shutil.move(obj, keep)


def run_hook(repo: Path, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    """The hook entry point the shims exec, run directly."""
    return subprocess.run(
        ["git-model", "hook", *args], cwd=repo, capture_output=True, text=True, input=input
    )


def hook_files(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.endswith(".sample")
    }


# --- pre-commit ----------------------------------------------------------------------------


def test_hook_that_hits_a_file_system_error_says_one_line(hooked: Path) -> None:
    """An OSError in a hook (here: the user's kept hook is no program) is one line, exit 1."""
    legacy = hooked / ".git" / "hooks" / "pre-commit.legacy"
    legacy.write_bytes(b"\x7fELF\x00\x01")
    legacy.chmod(0o755)
    proc = run_hook(hooked, "pre-commit")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"git-model pre-commit: Exec format error: {legacy} (it is not a program this system "
        "can run: give it a #! line, or remove it)\n"
    )


def test_hook_with_the_cache_folder_a_file_says_one_line(hooked: Path) -> None:
    """An OSError deep in a hook's work (the cache folder is a file) is one line, exit 1."""
    v1, _ = two_branches(hooked)
    blocker = hooked.parent / "cache-is-a-file"
    blocker.write_bytes(b"")
    git(hooked, "config", "model.cache", str(blocker))
    proc = git(hooked, "checkout", "-q", "v2", check=False)
    assert (proc.returncode, proc.stderr) == (
        1,  # Git passes on post-checkout's exit code; the branch is switched all the same
        f"git-model post-checkout: File exists: {blocker} (something is already in the way at "
        "that path)\n",
    )
    assert git(hooked, "rev-parse", "--abbrev-ref", "HEAD").stdout == "v2\n"
    assert (hooked / "model.safetensors").read_bytes() == v1  # left as it was


def test_big_file_blocked_with_default_limit(hooked: Path) -> None:
    before = head(hooked)
    (hooked / "weights.dat").write_bytes(b"\0" * 11_000_000)
    git(hooked, "add", "weights.dat")
    proc = commit(hooked, "big file")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        "git-model: weights.dat is 11.0 MB; track it with `git model add weights.dat` "
        "(limit model.maxFileSize = 10.5 MB)\n" + REFUSED
    )
    assert head(hooked) == before
    assert git(hooked, "diff", "--cached", "--name-only").stdout == "weights.dat\n"


def test_max_file_size_config(hooked: Path) -> None:
    git(hooked, "config", "model.maxFileSize", "1k")
    (hooked / "exact.dat").write_bytes(b"x" * 1024)  # at the limit: allowed
    git(hooked, "add", "exact.dat")
    proc = commit(hooked, "at the limit")
    assert (proc.returncode, proc.stderr) == (0, "")

    before = head(hooked)
    (hooked / "over.dat").write_bytes(b"x" * 1025)
    git(hooked, "add", "over.dat")
    proc = commit(hooked, "over the limit")
    assert proc.returncode == 1
    assert proc.stderr == (
        "git-model: over.dat is 1.0 kB; track it with `git model add over.dat` "
        "(limit model.maxFileSize = 1.0 kB)\n" + REFUSED
    )
    assert head(hooked) == before

    git(hooked, "config", "model.maxFileSize", "lots")
    proc = commit(hooked, "bad limit")
    assert proc.returncode == 1
    assert proc.stderr == (
        "git-model pre-commit: model.maxFileSize is not a size "
        "(use bytes or a k/m/g suffix, e.g. 10m)\n"
    )


def test_pointer_commit_allowed(hooked: Path) -> None:
    git(hooked, "config", "model.maxFileSize", "64")  # the artifact is bigger; its pointer isn't
    data = weights(hooked, 1)
    assert len(data) > 64
    add(hooked, "model.safetensors")
    proc = commit(hooked, "model v1")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    tree = git(hooked, "ls-tree", "--name-only", "HEAD").stdout.split()
    assert "model.safetensors.gitmodel" in tree
    assert "model.safetensors" not in tree


def test_malformed_pointer_blocked(hooked: Path) -> None:
    before = head(hooked)
    (hooked / "bad.gitmodel").write_text('version = 1\nname = "bad"\n')
    git(hooked, "add", "bad.gitmodel")
    proc = commit(hooked, "bad pointer")
    assert proc.returncode == 1
    assert proc.stderr == (
        "git-model: bad.gitmodel: missing required key 'path' "
        "(re-run `git model add` on its artifact)\n" + REFUSED
    )
    assert head(hooked) == before


def test_pointer_with_missing_object_blocked(hooked: Path) -> None:
    weights(hooked, 1)
    add(hooked, "model.safetensors")
    oid = oid_of(hooked / "model.safetensors.gitmodel")
    remove_object(hooked, oid)
    before = head(hooked)
    proc = commit(hooked, "pointer without object")
    assert proc.returncode == 1
    assert proc.stderr == (
        f"git-model: model.safetensors.gitmodel names {oid}, which is not in the cache "
        "(re-add the artifact: git model add model.safetensors)\n" + REFUSED
    )
    assert head(hooked) == before


def test_artifact_modified_after_add_blocked(hooked: Path) -> None:
    weights(hooked, 1)
    add(hooked, "model.safetensors")
    weights(hooked, 2)  # same size, other bytes
    proc = commit(hooked, "stale pointer")
    assert proc.returncode == 1
    assert proc.stderr == (
        "git-model: model.safetensors changed after `git model add`; the commit would record "
        "stale bytes (re-add it: git model add model.safetensors)\n" + REFUSED
    )
    add(hooked, "model.safetensors")
    assert commit(hooked, "fresh pointer").returncode == 0


def test_commit_all_checks_the_temporary_index(hooked: Path) -> None:
    git(hooked, "config", "model.maxFileSize", "1k")
    (hooked / "data.dat").write_bytes(b"d" * 100)
    git(hooked, "add", "data.dat")
    assert commit(hooked, "small data").returncode == 0
    before = head(hooked)
    (hooked / "data.dat").write_bytes(b"d" * 5000)  # grown, not staged: `commit -a` stages it
    proc = commit(hooked, "grown data", "-a")
    assert proc.returncode == 1
    assert proc.stderr == (
        "git-model: data.dat is 5.0 kB; track it with `git model add data.dat` "
        "(limit model.maxFileSize = 1.0 kB)\n" + REFUSED
    )
    assert head(hooked) == before
    proc = commit(hooked, "grown data", "--", "data.dat")  # `git commit PATH`: same check
    assert proc.returncode == 1
    assert "data.dat is 5.0 kB" in proc.stderr


def pickle_bytes(value: int) -> bytes:
    import pickle

    return pickle.dumps({"weights": [value] * 8}, protocol=4)


def test_pickle_warned_then_denied(hooked: Path) -> None:
    (hooked / "model.pkl").write_bytes(pickle_bytes(1))
    add(hooked, "model.pkl")
    (hooked / "small.pkl").write_bytes(pickle_bytes(2))  # committed straight to Git
    git(hooked, "add", "small.pkl")
    proc = commit(hooked, "pickles")
    assert proc.returncode == 0
    assert proc.stderr == "".join(
        f"git-model: warning: {p} is a pickle-based format: loading it can run arbitrary code; "
        "prefer safetensors (set `git config model.pickle deny` to refuse pickles)\n"
        for p in ("small.pkl", "model.pkl")
    )

    git(hooked, "config", "model.pickle", "deny")
    before = head(hooked)
    (hooked / "model.pkl").write_bytes(pickle_bytes(3))
    add(hooked, "model.pkl")
    proc = commit(hooked, "pickle v2")
    assert proc.returncode == 1
    assert proc.stderr == (
        "git-model: model.pkl is a pickle-based format, refused by model.pickle = deny "
        "(loading it can run arbitrary code; convert it to safetensors)\n" + REFUSED
    )
    assert head(hooked) == before


def test_skip_hooks_env_still_runs_the_users_hook(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_hook = repo / ".git" / "hooks" / "pre-commit"
    user_hook.write_text("#!/bin/sh\necho 'user hook ran' >&2\n")
    user_hook.chmod(0o755)
    installed(repo)
    git(repo, "config", "model.maxFileSize", "1k")
    (repo / "big.dat").write_bytes(b"b" * 2000)
    git(repo, "add", "big.dat")
    monkeypatch.setenv("GIT_MODEL_SKIP_HOOKS", "1")
    proc = commit(repo, "skipped")
    assert (proc.returncode, proc.stderr) == (0, "user hook ran\n")


# --- install / uninstall -------------------------------------------------------------------


def test_install_writes_shims_drivers_and_attributes(repo: Path) -> None:
    proc = gm(repo, "install")
    assert proc.returncode == 0
    assert proc.stdout == (
        "".join(f"hook {h}: installed\n" for h in HOOKS)
        + INSTALL_CONFIG
        + "added the *.gitmodel diff and merge drivers to .gitattributes; commit it so every "
        "clone uses them\n"
    )
    hooks = repo / ".git" / "hooks"
    for hook in HOOKS:
        assert (hooks / hook).read_bytes() == (SHIMS / hook).read_bytes()
        assert os.access(hooks / hook, os.X_OK)
    assert (repo / ".gitattributes").read_text() == "*.gitmodel diff=gitmodel merge=gitmodel\n"

    again = gm(repo, "install")  # idempotent
    assert again.returncode == 0
    assert again.stdout == "".join(f"hook {h}: already installed\n" for h in HOOKS) + INSTALL_CONFIG
    assert hook_files(hooks) == {h: (SHIMS / h).read_bytes() for h in sorted(HOOKS)}
    assert (repo / ".gitattributes").read_text() == "*.gitmodel diff=gitmodel merge=gitmodel\n"
    assert git(repo, "config", "--get-all", "merge.gitmodel.driver").stdout == (
        "git-model merge-driver %O %A %B %P\n"
    )


def test_users_hook_is_chained_and_restored(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = repo / ".git" / "hooks"
    mine = b'#!/bin/sh\n# my own hook\necho "user hook: $1" >&2\nexit ${USER_HOOK_EXIT:-0}\n'
    (hooks / "pre-commit").write_bytes(mine)
    (hooks / "pre-commit").chmod(0o750)
    proc = gm(repo, "install")
    assert proc.stdout.splitlines()[0] == (
        "hook pre-commit: installed; your hook was kept as pre-commit.legacy and runs first"
    )
    assert (hooks / "pre-commit.legacy").read_bytes() == mine
    git(repo, "add", ".gitattributes")
    proc = commit(repo, "attributes")
    assert (proc.returncode, proc.stderr) == (0, "user hook: \n")

    monkeypatch.setenv("USER_HOOK_EXIT", "3")  # its failure still blocks the commit
    git(repo, "config", "model.maxFileSize", "1k")
    (repo / "big.dat").write_bytes(b"b" * 2000)
    git(repo, "add", "big.dat")
    before = head(repo)
    proc = commit(repo, "blocked by the user's hook")
    assert (proc.returncode, proc.stderr) == (1, "user hook: \n")  # git-model's check not reached
    assert head(repo) == before

    proc = gm(repo, "uninstall")
    assert proc.returncode == 0
    assert proc.stdout == (
        "hook pre-commit: removed; your own hook was restored\n"
        "hook pre-push: removed\nhook post-checkout: removed\nhook post-merge: removed\n"
        "hook post-rewrite: removed\n"
        "config diff.gitmodel: removed\nconfig merge.gitmodel: removed\n"
        "the *.gitmodel line in .gitattributes is kept (it is committed)\n"
    )
    assert hook_files(hooks) == {"pre-commit": mine}
    assert (hooks / "pre-commit").stat().st_mode & 0o777 == 0o750
    assert git(repo, "config", "--get-regexp", "gitmodel", check=False).stdout == ""


def test_older_shim_is_upgraded(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    old = (
        b"#!/bin/sh\n# git-model hook shim: pre-push (shim-version 0)\n"
        b"exec git-model hook pre-push\n"
    )
    (hooks / "pre-push").write_bytes(old)
    (hooks / "pre-push").chmod(0o755)
    proc = gm(repo, "install")
    assert proc.returncode == 0
    assert "hook pre-push: upgraded\n" in proc.stdout
    assert (hooks / "pre-push").read_bytes() == (SHIMS / "pre-push").read_bytes()
    assert not (hooks / "pre-push.legacy").exists()


def test_install_refuses_when_legacy_is_taken(repo: Path) -> None:
    hooks = repo / ".git" / "hooks"
    for name, body in (("pre-push", b"#!/bin/sh\necho new\n"), ("pre-push.legacy", b"#!/bin/sh\n")):
        (hooks / name).write_bytes(body)
        (hooks / name).chmod(0o755)
    proc = gm(repo, "install")
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: {hooks / 'pre-push'} is someone else's hook and pre-push.legacy is taken, so "
        "it cannot be kept (merge them by hand, or pass --force to move pre-push.legacy to "
        "pre-push.legacy.N and keep yours as pre-push.legacy)\n"
    )
    assert not (hooks / "pre-commit").exists()  # refused before changing anything
    assert not (repo / ".gitattributes").exists()
    assert git(repo, "config", "--get-regexp", "gitmodel", check=False).stdout == ""
    assert gm(repo, "install", "--force").returncode == 0
    assert (hooks / "pre-push.legacy").read_bytes() == b"#!/bin/sh\necho new\n"
    assert (hooks / "pre-push.legacy.1").read_bytes() == b"#!/bin/sh\n"
    assert (hooks / "pre-push").read_bytes() == (SHIMS / "pre-push").read_bytes()


def test_core_hooks_path_is_respected(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    (repo / "sub").mkdir()
    gm_ok(repo / "sub", "install", "-q")  # from a subfolder: relative to the work tree root
    assert sorted(p.name for p in (repo / ".githooks").iterdir()) == sorted(HOOKS)
    assert hook_files(repo / ".git" / "hooks") == {}
    git(repo, "config", "model.maxFileSize", "1k")
    (repo / "big.dat").write_bytes(b"b" * 2000)
    git(repo, "add", "big.dat")
    proc = commit(repo, "big")
    assert proc.returncode == 1
    assert proc.stderr.startswith("git-model: big.dat is 2.0 kB")
    gm_ok(repo, "uninstall", "-q")
    assert list((repo / ".githooks").iterdir()) == []


# --- post-checkout / post-merge ------------------------------------------------------------


def two_branches(repo: Path) -> tuple[bytes, bytes]:
    """main: model v1; branch `v2`: model v2; main checked out. Returns (v1, v2) bytes."""
    v1 = weights(repo, 1)
    add(repo, "model.safetensors")
    assert commit(repo, "v1").returncode == 0
    git(repo, "checkout", "-q", "-b", "v2")
    v2 = weights(repo, 2)
    add(repo, "model.safetensors")
    assert commit(repo, "v2").returncode == 0
    proc = git(repo, "checkout", "-q", "main")
    assert proc.stderr == UPDATED
    return v1, v2


def test_checkout_materialises_the_branchs_artifact(hooked: Path) -> None:
    v1, v2 = two_branches(hooked)
    model = hooked / "model.safetensors"
    assert model.read_bytes() == v1
    proc = git(hooked, "checkout", "-q", "v2")
    assert (proc.returncode, proc.stderr) == (0, UPDATED)
    assert model.read_bytes() == v2
    proc = git(hooked, "checkout", "-q", "main")
    assert (proc.returncode, proc.stderr) == (0, UPDATED)
    assert model.read_bytes() == v1
    proc = git(hooked, "checkout", "-q", "-b", "other")  # no pointer changed: silent
    assert (proc.returncode, proc.stderr) == (0, "")


def test_checkout_never_overwrites_a_modified_artifact(hooked: Path) -> None:
    _, v2 = two_branches(hooked)
    model = hooked / "model.safetensors"
    mine = weights(hooked, 9)
    proc = git(hooked, "checkout", "-q", "v2")
    assert proc.returncode == 0
    assert proc.stderr == (
        "git-model: warning: not updating model.safetensors: it has changes not saved in the "
        "cache (model.safetensors); run `git model status`\n"
    )
    assert model.read_bytes() == mine
    assert head(hooked) == git(hooked, "rev-parse", "v2").stdout.strip()
    assert mine != v2


def test_checkout_reports_a_missing_object_and_succeeds(hooked: Path) -> None:
    v1, _ = two_branches(hooked)
    pointer = git(hooked, "show", "v2:model.safetensors.gitmodel").stdout
    oid = tomllib.loads(pointer)["oid"]
    remove_object(hooked, oid)
    proc = git(hooked, "checkout", "-q", "v2")
    assert proc.returncode == 0
    assert proc.stderr == (
        f"git-model: warning: model.safetensors.gitmodel: object {oid} is not in the cache "
        "(needed for model.safetensors) (fetch it with `git model pull`, or re-add the "
        "artifact on the machine that has it)\n"
    )
    assert git(hooked, "rev-parse", "--abbrev-ref", "HEAD").stdout == "v2\n"
    assert (hooked / "model.safetensors").read_bytes() == v1  # left as it was


def test_file_checkout_does_nothing(hooked: Path) -> None:
    v1, v2 = two_branches(hooked)
    pointer = hooked / "model.safetensors.gitmodel"
    committed = pointer.read_bytes()
    pointer.write_text("scribbled\n")
    proc = git(hooked, "checkout", "--", "model.safetensors.gitmodel")  # flag 0
    assert (proc.returncode, proc.stderr) == (0, "")
    assert pointer.read_bytes() == committed
    proc = git(hooked, "checkout", "-q", "v2", "--", "model.safetensors.gitmodel")  # flag 0
    assert (proc.returncode, proc.stderr) == (0, "")
    assert pointer.read_text() == git(hooked, "show", "v2:model.safetensors.gitmodel").stdout
    assert (hooked / "model.safetensors").read_bytes() == v1
    # The hook itself: a file checkout (flag 0) between two commits whose pointers differ does
    # nothing, where a branch checkout (flag 1) with the same refs materialises.
    main, branch = head(hooked), git(hooked, "rev-parse", "v2").stdout.strip()
    proc = run_hook(hooked, "post-checkout", main, branch, "0")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert (hooked / "model.safetensors").read_bytes() == v1
    proc = run_hook(hooked, "post-checkout", main, branch, "1")
    assert (proc.returncode, proc.stderr) == (0, UPDATED)
    assert (hooked / "model.safetensors").read_bytes() == v2


def test_post_merge_after_fast_forward(hooked: Path) -> None:
    v1, v2 = two_branches(hooked)
    proc = git(hooked, "merge", "-q", "--ff-only", "v2")
    assert (proc.returncode, proc.stderr) == (0, UPDATED)
    assert (hooked / "model.safetensors").read_bytes() == v2
    assert v1 != v2


def test_post_merge_after_squash_merge(hooked: Path) -> None:
    _, v2 = two_branches(hooked)
    before = head(hooked)
    proc = git(hooked, "merge", "-q", "--squash", "v2")  # stages the result, moves no ref
    assert proc.returncode == 0
    assert proc.stderr == UPDATED
    assert head(hooked) == before
    assert (hooked / "model.safetensors").read_bytes() == v2


# --- pre-push ------------------------------------------------------------------------------


@pytest.fixture
def remote(hooked: Path) -> Path:
    bare = hooked.parent / "remote.git"
    git(hooked.parent, "init", "-q", "--bare", str(bare))
    git(hooked, "remote", "add", "origin", str(bare))
    proc = git(hooked, "push", "-q", "origin", "main")
    assert (proc.returncode, proc.stderr) == (0, "")
    return bare


def remote_ref(bare: Path, ref: str) -> str:
    return git(bare, "rev-parse", "-q", "--verify", ref, check=False).stdout.strip()


def test_pre_push_needs_the_objects(
    hooked: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights(hooked, 1)
    add(hooked, "model.safetensors")
    assert commit(hooked, "model").returncode == 0
    oid = oid_of(hooked / "model.safetensors.gitmodel")
    kept = hooked.parent / "kept-object"
    remove_object(hooked, oid, keep=kept)

    proc = git(hooked, "push", "-q", "origin", "main", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        f"git-model pre-push: model.safetensors.gitmodel needs {oid}, which is not in the "
        "local cache\n" + PUSH_REFUSED
    )
    assert remote_ref(remote, "main") == git(hooked, "rev-parse", "HEAD~1").stdout.strip()

    monkeypatch.setenv("GIT_MODEL_SKIP_PUSH", "1")
    git(hooked, "branch", "skipped")
    proc = git(hooked, "push", "-q", "origin", "skipped", check=False)
    assert (proc.returncode, proc.stderr) == (0, "")
    monkeypatch.delenv("GIT_MODEL_SKIP_PUSH")

    shutil.move(kept, object_path(hooked, oid))
    proc = git(hooked, "push", "-q", "origin", "main", check=False)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert remote_ref(remote, "main") == head(hooked)


def test_pre_push_uploads_to_the_default_model_remote(hooked: Path, remote: Path) -> None:
    store = hooked.parent / "model-store"
    gm_ok(hooked, "remote", "add", "shared", str(store), "--default")
    data = weights(hooked, 1)
    add(hooked, "model.safetensors")
    assert commit(hooked, "model").returncode == 0
    oid = oid_of(hooked / "model.safetensors.gitmodel")

    proc = git(hooked, "push", "-q", "origin", "main", check=False)  # the folder is not there
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"git-model pre-push: remote shared ({store}): ")
    assert remote_ref(remote, "main") != head(hooked)

    store.mkdir()
    proc = git(hooked, "push", "-q", "origin", "main", check=False)
    assert proc.returncode == 0
    # the artifact and its tensor manifest
    assert proc.stderr == f"git-model pre-push: uploaded 2 object(s) to shared ({store})\n"
    digits = oid.removeprefix("xxh128:")
    assert (store / "objects" / digits[:2] / digits[2:]).read_bytes() == data
    assert remote_ref(remote, "main") == head(hooked)


def test_pre_push_without_pointer_changes_is_silent(hooked: Path, remote: Path) -> None:
    weights(hooked, 1)
    add(hooked, "model.safetensors")
    assert commit(hooked, "model").returncode == 0
    git(hooked, "push", "-q", "origin", "main")
    remove_object(hooked, oid_of(hooked / "model.safetensors.gitmodel"))  # not pushed again
    (hooked / "README.md").write_text("docs only\n")
    assert commit(hooked, "docs", "-a").returncode == 0
    proc = git(hooked, "push", "-q", "origin", "main", check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert remote_ref(remote, "main") == head(hooked)
    # the hook itself, given the ref line Git gives it: nothing to say
    sha = head(hooked)
    proc = run_hook(
        hooked,
        "pre-push",
        "origin",
        str(remote),
        input=f"refs/heads/main {sha} refs/heads/main {sha}\n",
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


# --- merge driver --------------------------------------------------------------------------


def metric_branches(
    repo: Path, ours: tuple[int, str, str], theirs: tuple[int, str, str]
) -> tuple[bytes, bytes]:
    """Base (fill 1, acc=0.9, loss=0.3) on main; `theirs` on branch `t`, `ours` on main
    (each: fill, acc, loss). Returns the two pointers' bytes (ours, theirs)."""
    weights(repo, 1)
    add(repo, "model.safetensors", "-m", "acc=0.9", "-m", "loss=0.3")
    assert commit(repo, "base").returncode == 0
    pointer = repo / "model.safetensors.gitmodel"
    sides = {}
    for branch, (fill, acc, loss) in (("t", theirs), ("main", ours)):
        git(repo, "checkout", "-q", *(["-b"] if branch == "t" else []), branch)
        weights(repo, fill)
        add(repo, "model.safetensors", "-m", f"acc={acc}", "-m", f"loss={loss}")
        (repo / f"{branch}.txt").write_text(f"{branch}\n")  # so the merge is never trivial
        git(repo, "add", f"{branch}.txt")
        assert commit(repo, f"{branch} side").returncode == 0
        sides[branch] = pointer.read_bytes()
    return sides["main"], sides["t"]


def merge(repo: Path) -> subprocess.CompletedProcess[str]:
    return git(repo, "merge", "--no-edit", "-q", "t", check=False)


def test_merge_identical_sides(hooked: Path) -> None:
    ours, theirs = metric_branches(hooked, (1, "0.95", "0.3"), (1, "0.95", "0.3"))
    assert ours == theirs
    proc = merge(hooked)
    assert proc.returncode == 0
    assert (hooked / "model.safetensors.gitmodel").read_bytes() == ours


def test_merge_one_side_changed(hooked: Path) -> None:
    _, theirs = metric_branches(hooked, (1, "0.9", "0.3"), (2, "0.97", "0.1"))
    proc = merge(hooked)
    assert (proc.returncode, proc.stderr) == (0, UPDATED)  # post-merge brings their artifact
    assert (hooked / "model.safetensors.gitmodel").read_bytes() == theirs
    assert (hooked / "model.safetensors").read_bytes() == weights(hooked.parent, 2)


def test_merge_metrics_key_by_key(hooked: Path) -> None:
    ours, _ = metric_branches(hooked, (1, "0.91", "0.3"), (1, "0.9", "0.2"))
    proc = merge(hooked)
    assert (proc.returncode, proc.stderr) == (0, "")
    merged = (hooked / "model.safetensors.gitmodel").read_bytes()
    assert b"[metrics]\nacc = 0.91\nloss = 0.3\n" in ours
    assert merged == ours.replace(b"loss = 0.3\n", b"loss = 0.2\n")
    assert git(hooked, "status", "--porcelain").stdout == ""


def conflict_text(ours: bytes, theirs: bytes, why: str, a: str, b: str) -> str:
    def label(pointer: bytes) -> str:
        return tomllib.loads(pointer.decode())["oid"]

    return (
        f"<<<<<<< ours: {label(ours)} {a}\n{ours.decode()}"
        f"======= git-model: both sides changed {why}\n{theirs.decode()}"
        f">>>>>>> theirs: {label(theirs)} {b}\n"
    )


def test_merge_same_metric_conflicts(hooked: Path) -> None:
    ours, theirs = metric_branches(hooked, (1, "0.91", "0.3"), (1, "0.95", "0.3"))
    proc = merge(hooked)
    assert proc.returncode == 1
    assert "CONFLICT (content): Merge conflict in model.safetensors.gitmodel" in proc.stdout
    text = (hooked / "model.safetensors.gitmodel").read_text()
    assert text == conflict_text(
        ours, theirs, "metrics.acc", "acc=0.91 loss=0.3", "acc=0.95 loss=0.3"
    )
    assert git(hooked, "status", "--porcelain").stdout.splitlines()[0] == (
        "UU model.safetensors.gitmodel"
    )


def test_merge_both_changed_artifact_conflicts(hooked: Path) -> None:
    ours, theirs = metric_branches(hooked, (2, "0.9", "0.3"), (3, "0.9", "0.3"))
    assert oid_of_bytes(ours) != oid_of_bytes(theirs)
    proc = merge(hooked)
    assert proc.returncode == 1
    assert "CONFLICT (content): Merge conflict in model.safetensors.gitmodel" in proc.stdout
    text = (hooked / "model.safetensors.gitmodel").read_text()
    assert text == conflict_text(ours, theirs, "artifact", "acc=0.9 loss=0.3", "acc=0.9 loss=0.3")
    assert (hooked / "model.safetensors").read_bytes() == weights(hooked.parent, 2)  # ours


def oid_of_bytes(pointer: bytes) -> str:
    oid = tomllib.loads(pointer.decode())["oid"]
    assert isinstance(oid, str)
    return oid


# --- the shim without git-model on PATH ----------------------------------------------------


def test_shim_without_git_model_on_path(hooked: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = os.pathsep.join(
        p
        for p in os.environ["PATH"].split(os.pathsep)
        if p and p != str(Path(sys.executable).parent) and not (Path(p) / "git-model").exists()
    )
    proc = subprocess.run(
        [str(hooked / ".git" / "hooks" / "pre-commit")],
        cwd=hooked,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "git-model: not found on PATH; the pre-commit hook cannot check anything, so it stops "
        "here (install git-model, or run 'git model uninstall')\n"
    )


# --- the pre-commit framework --------------------------------------------------------------

CHECKOUT = Path(__file__).resolve().parents[1]
FRAMEWORK_DETAILS = (
    "- hook id: git-model-check\n"
    "- exit code: 1\n"
    "\n"
    "git-model: big.dat is 2.0 kB; track it with `git model add big.dat` "
    "(limit model.maxFileSize = 1.0 kB)\n" + REFUSED + "\n"
)


def status_line(name: str, status: str) -> str:
    """A line of `pre-commit run` output (79 columns: every hook name here is short)."""
    return f"{name}{'.' * (79 - len(name) - len(status))}{status}\n"


def framework_block(name: str) -> str:
    """What `pre-commit run` prints when git-model-check refuses big.dat (2000 bytes)."""
    return status_line(name, "Failed") + FRAMEWORK_DETAILS


LOCAL_HOOKS_YAML = """\
- repo: local
  hooks:
  - id: git-model-check
    name: git-model-check
    entry: git-model hook pre-commit
    language: system
    pass_filenames: false
    always_run: true
    stages:
    - pre-commit
  - id: git-model-push
    name: git-model-push
    entry: git-model hook pre-push
    language: system
    pass_filenames: false
    always_run: true
    stages:
    - pre-push
  - id: git-model-checkout
    name: git-model-checkout
    entry: git-model hook post-checkout
    language: system
    pass_filenames: false
    always_run: true
    stages:
    - post-checkout
    - post-merge
    - post-rewrite
default_install_hook_types:
- pre-commit
- pre-push
- post-checkout
- post-merge
- post-rewrite
"""
MY_HOOK_YAML = """\
repos:
- repo: local
  hooks:
  - id: my-check
    name: my check
    entry: 'true'
    language: system
"""


def pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pre-commit", *args, *(["--color", "never"] if args[0] == "run" else [])],
        cwd=repo,
        capture_output=True,
        text=True,
    )


def test_install_pre_commit_framework_config(repo: Path) -> None:
    config = repo / ".pre-commit-config.yaml"
    config.write_text(MY_HOOK_YAML)
    proc = gm(repo, "install", "--pre-commit-framework")
    assert proc.returncode == 0
    assert proc.stdout == (
        INSTALL_CONFIG
        + "added the *.gitmodel diff and merge drivers to .gitattributes; commit it so every "
        "clone uses them\n"
        "added git-model's hooks to .pre-commit-config.yaml; run `pre-commit install` to "
        "activate them\n"
    )
    assert config.read_text() == MY_HOOK_YAML + LOCAL_HOOKS_YAML
    assert hook_files(repo / ".git" / "hooks") == {}  # no shims: the framework owns the hooks
    assert pre_commit(repo, "validate-config", str(config)).returncode == 0
    gm_ok(repo, "install", "-q", "--pre-commit-framework")  # idempotent
    assert config.read_text() == MY_HOOK_YAML + LOCAL_HOOKS_YAML

    # the local hooks run the installed git-model: no environment to build
    git(repo, "add", ".pre-commit-config.yaml", ".gitattributes")
    git(repo, "config", "model.maxFileSize", "1k")
    (repo / "big.dat").write_bytes(b"b" * 2000)
    git(repo, "add", "big.dat")
    proc = pre_commit(repo, "run")
    assert proc.returncode == 1
    assert proc.stdout == (status_line("my check", "Passed") + framework_block("git-model-check"))

    gm_ok(
        repo,
        "install",
        "-q",
        "--pre-commit-framework",
        "--repo-url",
        "https://example.com/gm",
        "--rev",
        "v0.1.0",
    )
    assert (
        config.read_text()
        == MY_HOOK_YAML
        + (
            "- repo: https://example.com/gm\n  rev: v0.1.0\n  hooks:\n"
            "  - id: git-model-check\n    stages:\n    - pre-commit\n"
            "  - id: git-model-push\n    stages:\n    - pre-push\n"
            "  - id: git-model-checkout\n    stages:\n    - post-checkout\n    - post-merge\n"
            "    - post-rewrite\n"
        )
        + LOCAL_HOOKS_YAML[LOCAL_HOOKS_YAML.index("default_install_hook_types") :]
    )
    assert pre_commit(repo, "validate-config", str(config)).returncode == 0


@dataclass(frozen=True)
class Framework:
    """A committed snapshot of this checkout's working copy, and a pre-commit store in which
    its hook environment is already built."""

    repo: Path
    rev: str
    store: Path

    def config(self, *hook_ids: str) -> str:
        hooks = "".join(f"  - id: {h}\n" for h in hook_ids)
        return f"repos:\n- repo: {self.repo}\n  rev: {self.rev}\n  hooks:\n{hooks}"


@pytest.fixture(scope="module")
def framework(tmp_path_factory: pytest.TempPathFactory) -> Framework:
    """Build git-model's pre-commit hook environment once (pip from PyPI) for this module.

    `pre-commit try-repo` would build a new environment for each call and leaves out untracked
    files, so the working copy (tracked and untracked, minus ignored files) is committed to a
    snapshot repository that the configs below reference by path and commit."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        PRE_COMMIT_HOME=str(home / "store"),
        PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
    )

    def run(cwd: Path, *args: str) -> str:
        proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}{proc.stderr}"
        return proc.stdout

    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        env=env,
        capture_output=True,
    )
    if listing.returncode != 0:
        pytest.skip("needs a Git checkout of git-model")
    snapshot = home / "git-model"
    for rel in filter(None, listing.stdout.decode().split("\0")):
        if (CHECKOUT / rel).is_file():
            (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(CHECKOUT / rel, snapshot / rel)
    run(snapshot, "git", "init", "-q")
    run(snapshot, "git", "add", "-A")
    run(snapshot, "git", "commit", "-q", "-m", "snapshot of the working copy")
    rev = run(snapshot, "git", "rev-parse", "HEAD").strip()
    framework = Framework(snapshot, rev, home / "store")

    scratch = home / "scratch"
    scratch.mkdir()
    run(scratch, "git", "init", "-q")
    (scratch / ".pre-commit-config.yaml").write_text(framework.config("git-model-check"))
    run(scratch, "pre-commit", "install-hooks")
    return framework


@pytest.fixture
def framework_repo(repo: Path, framework: Framework, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(framework.store))
    (repo / ".pre-commit-config.yaml").write_text(
        framework.config("git-model-check", "git-model-checkout")
    )
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "pre-commit config")
    return repo


@pytest.mark.network
def test_framework_check_blocks_big_file_and_passes_pointer(framework_repo: Path) -> None:
    repo = framework_repo
    git(repo, "config", "model.maxFileSize", "1k")
    (repo / "big.dat").write_bytes(b"b" * 2000)
    git(repo, "add", "big.dat")
    proc = pre_commit(repo, "run")
    assert proc.returncode == 1
    assert proc.stdout == framework_block("git-model check")

    proc = pre_commit(repo, "install", "-t", "pre-commit")
    assert proc.returncode == 0
    before = head(repo)
    proc = commit(repo, "big file")  # the real `git commit`, through the framework's hook
    assert proc.returncode == 1
    assert proc.stderr == framework_block("git-model check")
    assert head(repo) == before

    git(repo, "rm", "-q", "--cached", "big.dat")
    weights(repo, 1)
    add(repo, "model.safetensors")
    proc = pre_commit(repo, "run")
    assert (proc.returncode, proc.stdout) == (
        0,
        status_line("git-model check", "Passed"),
    )
    proc = commit(repo, "model")
    assert proc.returncode == 0
    assert git(repo, "ls-tree", "--name-only", "HEAD", "model.safetensors.gitmodel").stdout


@pytest.mark.network
def test_framework_checkout_materialises(framework_repo: Path) -> None:
    repo = framework_repo
    model = repo / "model.safetensors"
    v1 = weights(repo, 1)
    add(repo, "model.safetensors")
    assert commit(repo, "v1").returncode == 0
    a = head(repo)
    v2 = weights(repo, 2)
    add(repo, "model.safetensors")
    assert commit(repo, "v2").returncode == 0
    b = head(repo)

    git(repo, "checkout", "-q", a)  # no hook installed: the artifact stays at v2
    assert model.read_bytes() == v2
    stage = ("run", "--hook-stage", "post-checkout", "--from-ref", b, "--to-ref", a)
    proc = pre_commit(repo, *stage, "--checkout-type", "0")  # a file checkout: nothing
    assert proc.returncode == 0
    assert model.read_bytes() == v2
    proc = pre_commit(repo, *stage, "--checkout-type", "1")
    assert proc.returncode == 0
    assert proc.stdout == status_line("git-model checkout", "Passed")
    assert model.read_bytes() == v1

    git(repo, "checkout", "-q", "main")  # back at v2 in Git, v1 in the work tree
    git(repo, "reset", "-q", "--hard", a)
    git(repo, "merge", "-q", "--ff-only", b)  # sets ORIG_HEAD = a
    assert model.read_bytes() == v1
    proc = pre_commit(repo, "run", "--hook-stage", "post-merge", "--is-squash-merge", "0")
    assert proc.returncode == 0
    assert model.read_bytes() == v2

    git(repo, "reset", "-q", "--hard", a)  # sets ORIG_HEAD = b, as a rebase from b to a would
    assert model.read_bytes() == v2
    rewrite = ("run", "--hook-stage", "post-rewrite", "--rewrite-command")
    proc = pre_commit(repo, *rewrite, "amend")  # an amend: nothing to bring
    assert (proc.returncode, model.read_bytes()) == (0, v2)
    proc = pre_commit(repo, *rewrite, "rebase")
    assert proc.returncode == 0
    assert model.read_bytes() == v1


COMMENTED_CONFIG = """\
# Hooks for this repo; see https://pre-commit.com
default_language_version:
  python: python3  # the CI image's
repos:
  # formatting first
  - repo: https://github.com/psf/black
    rev: "24.1.0"  # pinned: 24.2 reformats our notebooks
    hooks:
      - id: black

# keep this last
exclude: '^vendor/'
"""


def test_install_framework_keeps_comments_quoting_and_order(repo: Path) -> None:
    config = repo / ".pre-commit-config.yaml"
    config.write_text(COMMENTED_CONFIG)

    proc = gm(repo, "install", "--pre-commit-framework", "--repo-url", "https://e.com/gm")

    assert proc.returncode == 0, proc.stderr
    assert "written anew" not in proc.stdout
    ours = (
        "  - repo: https://e.com/gm\n    rev: HEAD\n    hooks:\n"
        "    - id: git-model-check\n      stages:\n      - pre-commit\n"
        "    - id: git-model-push\n      stages:\n      - pre-push\n"
        "    - id: git-model-checkout\n      stages:\n      - post-checkout\n      - post-merge\n"
        "      - post-rewrite\n"
    )
    types = (
        "default_install_hook_types:\n- pre-commit\n- pre-push\n- post-checkout\n"
        "- post-merge\n- post-rewrite\n"
    )
    with_ours = COMMENTED_CONFIG.replace("      - id: black\n", "      - id: black\n" + ours)
    assert config.read_text() == with_ours + types
    assert pre_commit(repo, "validate-config", str(config)).returncode == 0

    gm_ok(repo, "install", "-q", "--pre-commit-framework", "--repo-url", "https://e.com/gm2")
    assert config.read_text() == with_ours.replace("e.com/gm\n", "e.com/gm2\n") + types


def test_install_framework_rewrites_a_flow_style_config_and_says_so(repo: Path) -> None:
    config = repo / ".pre-commit-config.yaml"
    config.write_text("# mine\nrepos: []\n")

    proc = gm(repo, "install", "--pre-commit-framework", "--repo-url", "https://e.com/gm")

    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (
        "warning: .pre-commit-config.yaml was written anew: its layout was too unusual to edit "
        "in place, so its comments are gone (the settings are all kept)\n"
    )
    assert config.read_text().startswith("repos:\n- repo: https://e.com/gm\n")
    assert pre_commit(repo, "validate-config", str(config)).returncode == 0


def test_rebase_materialises_the_rebased_heads_artifact(hooked: Path) -> None:
    v1, v2 = two_branches(hooked)
    (hooked / "notes.txt").write_text("unrelated\n")
    git(hooked, "add", "notes.txt")
    assert commit(hooked, "notes").returncode == 0
    proc = git(hooked, "rebase", "-q", "v2")  # main replayed on top of v2: the pointer is v2's
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == UPDATED
    assert (hooked / "model.safetensors").read_bytes() == v2
    assert gm(hooked, "status", "--check").returncode == 0
    proc = git(hooked, "commit", "-q", "--amend", "-m", "notes, amended")  # nothing to bring
    assert (proc.returncode, proc.stderr) == (0, "")
    assert v1 != v2


def test_pull_rebase_materialises_the_pulled_artifact(hooked: Path) -> None:
    _, v2 = two_branches(hooked)
    git(hooked, "config", "pull.rebase", "true")
    (hooked / "notes.txt").write_text("local work\n")
    git(hooked, "add", "notes.txt")
    assert commit(hooked, "local").returncode == 0
    proc = git(hooked, "pull", "-q", ".", "v2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == UPDATED
    assert (hooked / "model.safetensors").read_bytes() == v2


def test_framework_install_in_a_fresh_repo_creates_the_config_without_a_warning(
    repo: Path,
) -> None:
    proc = gm(repo, "install", "-q", "--pre-commit-framework")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    config = (repo / ".pre-commit-config.yaml").read_text()
    assert pre_commit(repo, "validate-config", ".pre-commit-config.yaml").returncode == 0
    assert "id: git-model-check" in config


def test_uninstall_removes_an_attributes_line_that_was_never_committed(repo: Path) -> None:
    gm_ok(repo, "install", "-q")
    proc = gm(repo, "uninstall")
    assert proc.stdout.splitlines()[-1] == (
        "the *.gitmodel line was removed from .gitattributes (it was never committed)"
    )
    assert not (repo / ".gitattributes").exists()

    (repo / ".gitattributes").write_text("*.bin binary\n")
    gm_ok(repo, "install", "-q")
    gm_ok(repo, "uninstall", "-q")
    assert (repo / ".gitattributes").read_text() == "*.bin binary\n"
    assert git(repo, "status", "--porcelain").stdout == "?? .gitattributes\n"
