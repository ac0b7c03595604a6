"""Git refusing a tag or a commit: one line with Git's own reason (exit 1, never "internal
error"), and a rollback whose commit fails leaves the repository as it was. Repositories
without a commit yet: HEAD reads as empty, as `git diff --cached` reads it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.helpers import git, gm, gm_ok, register_versions, write_safetensors

MODEL = "models/sentiment.safetensors"
POINTER = MODEL + ".gitmodel"
IDENTITY_HINT = (
    '(tell Git who you are: git config --global user.name "Your Name" && '
    "git config --global user.email you@example.com)"
)


@pytest.fixture
def two(repo: Path) -> Path:
    """sentiment v0.1.0 and v0.1.1 (HEAD), both registered."""
    register_versions(repo, MODEL, "sentiment", 2)
    return repo


def failure(repo: Path, *args: str) -> str:
    proc = gm(repo, *args)
    assert (proc.returncode, proc.stdout) == (1, ""), proc
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


def snapshot(repo: Path) -> tuple[str, str, bytes, bytes, str]:
    return (
        git(repo, "rev-parse", "HEAD").stdout,
        git(repo, "ls-files", "-s").stdout,
        (repo / POINTER).read_bytes(),
        (repo / MODEL).read_bytes(),
        git(repo, "status", "--porcelain").stdout,
    )


def refuse_commits(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text('#!/bin/sh\necho "lint: refusing this commit" >&2\nexit 1\n')
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)


def test_rollback_whose_commit_a_hook_refuses_changes_nothing(two: Path) -> None:
    refuse_commits(two)
    before = snapshot(two)
    assert failure(two, "rollback", "sentiment") == (
        "error: git commit failed: lint: refusing this commit "
        "(the rollback was undone; fix the cause, then run it again)\n"
    )
    assert snapshot(two) == before
    assert gm_ok(two, "status").startswith("up to date")


def test_rollback_after_checkout_of_the_target_restores_that_staged_state(two: Path) -> None:
    gm_ok(two, "checkout", "sentiment@v0.1.0")  # stages v0.1.0's pointer, places its bytes
    refuse_commits(two)
    before = snapshot(two)
    assert "git commit failed: lint: refusing this commit" in failure(two, "rollback", "sentiment")
    assert snapshot(two) == before


def test_a_missing_identity_is_gits_own_message_with_a_hint(two: Path) -> None:
    git(two, "config", "user.useConfigOnly", "true")
    git(two, "config", "--global", "--unset", "user.email")
    before = snapshot(two)
    expected = "fatal: no email was given and auto-detection is disabled " + IDENTITY_HINT + "\n"
    assert failure(two, "promote", "sentiment@v0.1.0", "production") == (
        "error: git tag failed: " + expected
    )
    assert failure(two, "rollback", "sentiment").startswith(
        "error: git commit failed: fatal: no email was given and auto-detection is disabled ("
    )
    assert snapshot(two) == before
    assert "sentiment#" not in git(two, "tag", "-l").stdout


def test_a_tag_git_cannot_sign_is_one_line_not_an_internal_error(two: Path) -> None:
    git(two, "config", "tag.gpgSign", "true")
    git(two, "config", "gpg.program", "false")
    assert failure(two, "promote", "sentiment@v0.1.0", "production") == (
        "error: git tag failed: error: unable to sign the tag "
        "(check the repository state with `git status`)\n"
    )


def test_a_tag_whose_object_is_missing_is_one_line_not_an_internal_error(two: Path) -> None:
    """dulwich's KeyError for a missing object becomes a GitError naming the object."""
    git(two, "tag", "-a", "-m", "orphan", "sentiment@v0.3.0", "HEAD")
    tag = git(two, "rev-parse", "sentiment@v0.3.0").stdout.strip()
    (two / ".git" / "objects" / tag[:2] / tag[2:]).unlink()
    assert failure(two, "versions", "sentiment") == (
        f"error: object {tag} is missing from {two} (check the repository with `git fsck`)\n"
    )


def test_tags_and_commits_ignore_the_git_variables_of_a_calling_hook(
    two: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a Git alias or hook, GIT_DIR and GIT_INDEX_FILE point at what Git was doing;
    our tag and commit must still go to the repository at hand."""
    elsewhere = two.parent / "elsewhere"
    git(two.parent, "init", "-q", str(elsewhere))
    monkeypatch.setenv("GIT_INDEX_FILE", str(elsewhere / ".git" / "index"))
    gm_ok(two, "promote", "sentiment@v0.1.0", "production")
    gm_ok(two, "rollback", "sentiment")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert git(two, "tag", "-l", "sentiment#*").stdout == "sentiment#production#1\n"
    assert git(two, "log", "-1", "--format=%s").stdout == (
        "Roll back sentiment to v0.1.0 (was v0.1.1)\n"
    )
    assert git(two, "status", "--porcelain").stdout == ""
    assert not (elsewhere / ".git" / "index").exists()


# --- no commit yet --------------------------------------------------------------------------


@pytest.fixture
def unborn(tmp_path: Path) -> Path:
    root = tmp_path / "new"
    git(tmp_path, "init", "-q", str(root))
    write_safetensors(root / MODEL, {"w": ("F32", [2, 2], 1)})
    gm_ok(root, "add", MODEL, "--name", "sentiment", "--metric=accuracy=0.5")
    return root


def test_diff_without_a_commit_compares_with_nothing(unborn: Path) -> None:
    for args in (["diff", "--cached"], ["diff"]):
        result = json.loads(gm_ok(unborn, *args, "--json"))
        assert (result["old"], result["summary"]) == (
            "HEAD",
            "0 improved, 0 regressed, 1 model added, 1 of 1 model changed",
        )
        assert [(m["name"], m["status"]) for m in result["models"]] == [("sentiment", "added")]


def test_gc_without_a_commit_keeps_what_the_index_needs(unborn: Path) -> None:
    for scope in ([], ["--keep-tags"]):  # the file and its tensor manifest
        assert gm_ok(unborn, "gc", "-n", *scope) == (
            "would delete 0 object(s), 0 B, from local cache; kept 2 needed by "
            f"{'keep-tags' if scope else 'all-refs'} of 1 repository\n"
        )


def test_tag_without_a_commit_says_commit_first(unborn: Path) -> None:
    assert failure(unborn, "tag", "sentiment") == (
        "error: no commit yet; commit first (e.g. git commit -m 'first model')\n"
    )


def test_a_stale_index_lock_names_the_lock_file_and_what_to_do(tmp_path: Path) -> None:
    """A git killed mid-way leaves index.lock; Git's last line ("remove the file manually to
    continue.") alone does not say which file, so the `fatal:` line is the one shown."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "model.bin").write_bytes(b"weights")
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")
    assert failure(repo, "add", "model.bin") == (
        f"error: git add failed: fatal: Unable to create '{lock}': File exists. "
        "(another git process is running, or one was killed: "
        "if none is running, delete that lock file)\n"
    )
    assert sorted(p.name for p in repo.iterdir()) == [".git", "model.bin"]
    (repo / ".gitignore").write_text("/other\n")
    assert failure(repo, "add", "model.bin").startswith("error: git add failed: fatal: Unable")
    assert sorted(p.name for p in repo.iterdir()) == [".git", ".gitignore", "model.bin"]
    assert (repo / ".gitignore").read_text() == "/other\n"
    lock.unlink()
    assert gm_ok(repo, "add", "model.bin").startswith("added model: model.bin.gitmodel")
