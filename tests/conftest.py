"""Every test runs with its own HOME and Git config, never the developer's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import git, isolate_environment
from tests.s3server import s3_endpoint  # noqa: F401  (a session fixture)
from tests.sshserver import ssh_server  # noqa: F401  (a session fixture)


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    isolate_environment(monkeypatch, home)
    yield home


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh Git repository with one commit."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("test repo\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "initial")
    return root
