"""`git model install` / `uninstall`: Git integration for this clone.

Registers the `gitmodel` textconv diff driver in .git/config and the `*.gitmodel` line in
.gitattributes, so `git diff`, `git log -p` and `git show` print readable pointer summaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.gitignore import append_line_once
from gitmodel.workspace import Workspace, open_workspace

ATTRIBUTES_LINE = "*.gitmodel diff=gitmodel"
DRIVER_CONFIG = {
    "diff.gitmodel.textconv": "git-model textconv",
}


@dataclass(frozen=True)
class InstallResult:
    config: dict[str, str]
    attributes_file: str | None  # the .gitattributes we changed, if any
    notes: list[str] = field(default_factory=list)


def install(*, repo: str | Path = ".") -> InstallResult:
    ws = open_workspace(Path(repo))
    for key, value in DRIVER_CONFIG.items():
        ws.repo.git("config", "--local", key, value)
    changed = _ensure_attributes(ws)
    return InstallResult(dict(DRIVER_CONFIG), ".gitattributes" if changed else None)


def uninstall(*, repo: str | Path = ".") -> InstallResult:
    ws = open_workspace(Path(repo))
    if ws.repo.config_get("diff.gitmodel.textconv") is not None:
        ws.repo.git("config", "--local", "--remove-section", "diff.gitmodel")
    return InstallResult({}, None, ["the *.gitmodel line in .gitattributes is kept (committed)"])


def _ensure_attributes(ws: Workspace) -> bool:
    return append_line_once(ws.repo.root / ".gitattributes", ATTRIBUTES_LINE)
