"""Repositories with `--object-format=sha256` (64-hex ids; the null id is 64 zeros): every
command and hook works in them, with pushes to a SHA-256 bare remote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import git, gm, gm_ok, write_safetensors

MODEL = "models/sentiment.safetensors"
POINTER = MODEL + ".gitmodel"


def weights(repo: Path, fill: int) -> bytes:
    return write_safetensors(repo / MODEL, {"w": ("F32", [2, 2], fill)})


def rev(repo: Path, spec: str) -> str:
    return git(repo, "rev-parse", spec).stdout.strip()


@pytest.fixture
def sha256(tmp_path: Path) -> Path:
    """A SHA-256 repository with git-model's hooks, a bare SHA-256 `origin` and a folder
    model remote."""
    root = tmp_path / "repo"
    git(tmp_path, "init", "-q", "--object-format=sha256", str(root))
    git(tmp_path, "init", "-q", "--bare", "--object-format=sha256", str(tmp_path / "origin.git"))
    git(root, "remote", "add", "origin", str(tmp_path / "origin.git"))
    gm_ok(root, "install", "-q")
    (tmp_path / "store").mkdir()
    gm_ok(root, "remote", "add", "store", str(tmp_path / "store"), "--default")
    git(root, "add", ".gitattributes")
    git(root, "commit", "-q", "-m", "git-model attributes")
    assert len(rev(root, "HEAD")) == 64
    return root


def test_add_commit_tag_promote_push_checkout_diff_gc(sha256: Path) -> None:
    repo = sha256
    v1 = weights(repo, 1)
    gm_ok(repo, "add", MODEL, "--name", "sentiment", "--metric=accuracy=0.5")
    git(repo, "commit", "-q", "-m", "train 1")
    assert gm_ok(repo, "tag", "sentiment").startswith(
        f"registered sentiment@v0.1.0 at {rev(repo, 'HEAD')[:12]} "
    )
    gm_ok(repo, "promote", "sentiment@v0.1.0", "production")
    push = git(repo, "push", "-q", "--follow-tags", "origin", "main", check=False)
    assert (push.returncode, push.stderr) == (
        0,
        f"git-model pre-push: uploaded 2 object(s) to store ({repo.parent / 'store'})\n",
    )
    v2 = weights(repo, 2)
    gm_ok(repo, "add", MODEL, "--metric=accuracy=0.7")
    git(repo, "commit", "-q", "-m", "train 2")
    gm_ok(repo, "tag", "sentiment")

    # a new branch pushed, then deleted on the remote: the local id is 64 zeros
    git(repo, "switch", "-q", "-c", "feature")
    assert git(repo, "push", "-q", "origin", "feature", check=False).returncode == 0
    deleted = git(repo, "push", "-q", "origin", ":feature", check=False)
    assert (deleted.returncode, deleted.stderr) == (0, "")
    assert git(repo.parent / "origin.git", "branch", "--list").stdout == "* main\n"

    # the post-checkout hook brings the bytes of each commit
    git(repo, "switch", "-q", "main")
    git(repo, "checkout", "-q", "HEAD~1")
    assert (repo / MODEL).read_bytes() == v1
    git(repo, "checkout", "-q", "main")
    assert (repo / MODEL).read_bytes() == v2
    gm_ok(repo, "checkout", "sentiment#production")
    assert (repo / MODEL).read_bytes() == v1

    result = json.loads(gm_ok(repo, "diff", "--cached", "--json"))
    assert [(m["name"], m["status"]) for m in result["models"]] == [("sentiment", "modified")]
    assert json.loads(gm_ok(repo, "diff", "HEAD~1", "HEAD", "--json"))["summary"] == (
        "1 improved, 0 regressed, 1 of 1 model changed"
    )
    versions = json.loads(gm_ok(repo, "versions", "sentiment", "--json"))
    assert [(r["version"], len(r["commit"]), r["stages"]) for r in versions] == [
        ("v0.1.0", 64, ["production"]),
        ("v0.1.1", 64, []),
    ]
    assert gm_ok(repo, "gc", "-n") == (
        "would delete 0 object(s), 0 B, from local cache; kept 4 needed by all-refs of "
        "1 repository\n"
    )
    git(repo, "gc", "-q")  # packed objects: dulwich reads SHA-256 packs too
    assert gm_ok(repo, "show", "sentiment@v0.1.1").splitlines()[1] == "version:   v0.1.1"
    proc = gm(repo, "rollback", "sentiment", "--to", "v0.1.0")
    assert proc.returncode == 0, proc.stderr
    assert len(rev(repo, "HEAD")) == 64


def test_a_new_worktree_gets_its_artifacts_from_post_checkout(sha256: Path) -> None:
    """`git worktree add` runs post-checkout from the null id: 64 zeros here."""
    repo = sha256
    data = weights(repo, 3)
    gm_ok(repo, "add", MODEL, "--name", "sentiment")
    git(repo, "commit", "-q", "-m", "train")
    other = repo.parent / "other"
    proc = git(repo, "worktree", "add", "-q", str(other), "-b", "other", check=False)
    assert (proc.returncode, proc.stderr) == (0, "git-model: updated 1 artifact file(s)\n")
    assert (other / MODEL).read_bytes() == data
    assert gm_ok(other, "status").startswith("up to date")
