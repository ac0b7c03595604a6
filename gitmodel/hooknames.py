"""The Git hooks git-model installs and runs, and where Git looks for them."""

from __future__ import annotations

from pathlib import Path

HOOK_NAMES = ("pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite")


def hooks_dir(cwd: Path) -> Path:
    """The hooks folder Git uses here (honours core.hooksPath)."""
    from gitmodel.git import git_path

    return git_path(cwd, "hooks")
