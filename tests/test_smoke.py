from __future__ import annotations

from pathlib import Path

from tests.helpers import gm, gm_ok


def test_version_as_git_subcommand(repo: Path) -> None:
    proc = gm(repo, "--version")
    assert proc.returncode == 0
    assert proc.stdout == "git-model 0.1.0\n"


def test_add_then_status_up_to_date(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"weights" * 100)
    gm_ok(repo, "add", "model.bin")
    assert gm_ok(repo, "status") == "up to date              model.bin\n"
