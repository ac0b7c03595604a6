"""The `.gitignore` line `add` writes matches exactly its artifact, as Git itself reads it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import gm, gm_ok


def ignored(repo: Path, *names: str) -> set[str]:
    """Which of `names` (relative to the repo root) Git's own check-ignore says are ignored."""
    proc = subprocess.run(
        ["git", "check-ignore", "-z", "--stdin"],
        cwd=repo,
        input="".join(name + "\0" for name in names).encode(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return {name for name in proc.stdout.decode().split("\0") if name}


@pytest.mark.parametrize(
    ("name", "line", "sibling"),
    [
        ("[ab].bin", b"/\\[ab\\].bin", "a.bin"),
        ("*.bin", b"/\\*.bin", "other.bin"),
        ("model?.bin", b"/model\\?.bin", "model1.bin"),
        ("model.bin  ", b"/model.bin\\ \\ ", "model.bin"),
        ("#notes.bin", b"/#notes.bin", "notes.bin"),
        ("!keep.bin", b"/!keep.bin", "keep.bin"),
        ("plain.bin", b"/plain.bin", "plain.bin.bak"),
    ],
)
def test_line_matches_the_artifact_and_not_its_sibling(
    repo: Path, name: str, line: bytes, sibling: str
) -> None:
    (repo / "models").mkdir()
    (repo / "models" / name).write_bytes(b"weights")
    (repo / "models" / sibling).write_bytes(b"code")
    gm_ok(repo, "add", f"models/{name}", "--name", "m")
    assert (repo / "models" / ".gitignore").read_bytes() == line + b"\n"
    assert ignored(repo, f"models/{name}", f"models/{sibling}") == {f"models/{name}"}
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "-z"], cwd=repo, capture_output=True, check=True
    ).stdout.split(b"\0")
    assert f"models/{sibling}".encode() in staged
    assert f"models/{name}".encode() not in staged


@pytest.mark.parametrize("name", ["two\nlines.bin", "carriage\r.bin"])
def test_name_with_a_line_break_is_refused_and_nothing_written(repo: Path, name: str) -> None:
    (repo / name).write_bytes(b"weights")
    proc = gm(repo, "add", name)
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: cannot list {name!r} in .gitignore: a line break cannot be escaped there "
        "(rename it without the line break and add it again)\n"
    )
    assert not (repo / ".gitignore").exists()
    assert not (repo / f"{name}.gitmodel").exists()


def test_unescaped_line_of_an_earlier_release_is_rewritten(repo: Path) -> None:
    (repo / "*.bin").write_bytes(b"weights")
    (repo / "other.bin").write_bytes(b"not a model")
    gm_ok(repo, "add", "*.bin", "--name", "m")
    (repo / ".gitignore").write_bytes(b"*.log\n/*.bin\n# end\n")  # as earlier releases wrote it
    assert ignored(repo, "*.bin", "other.bin") == {"*.bin", "other.bin"}
    (repo / "*.bin").write_bytes(b"retrained")
    gm_ok(repo, "add", "*.bin")
    assert (repo / ".gitignore").read_bytes() == b"*.log\n/\\*.bin\n# end\n"
    assert ignored(repo, "*.bin", "other.bin") == {"*.bin"}
    staged = subprocess.run(
        ["git", "diff", "--cached", "--name-only"], cwd=repo, capture_output=True, check=True
    ).stdout
    assert b".gitignore\n" in staged
