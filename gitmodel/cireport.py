"""`git model report`: the Markdown report for CI, every model's diff plus the registry."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gitmodel.commands.diff import DiffResult, diff
from gitmodel.commands.ls import ModelRow, ls
from gitmodel.diffrender import Options, render_markdown
from gitmodel.printable import printable


def report(
    old: str | None = None,
    new: str | None = None,
    *,
    targets: Sequence[str] = (),
    precision: int = 4,
    fetch_manifests: bool | None = None,
    remote: str | None = None,
    repo: str | Path = ".",
) -> str:
    """The Markdown text: the diff of OLD and NEW (as `diff`), every model shown, then the
    registry at HEAD (latest version, HEAD's version and stages of each model)."""
    result = diff(
        old, new, targets=targets, fetch_manifests=fetch_manifests, remote=remote, repo=repo
    )
    return render_report(result, precision, repo)


def render_report(result: DiffResult, precision: int, repo: str | Path = ".") -> str:
    """`report`'s text for a diff already made (the CLI prints its warnings first)."""
    parts = [render_markdown(result, Options(show_all=True, precision=precision))]
    parts += registry_table(ls(repo=repo))
    return "\n".join(parts)


def registry_table(rows: Sequence[ModelRow]) -> list[str]:
    """The "Registry at HEAD" section as Markdown lines; none without models."""
    if not rows:
        return []
    lines = ["## Registry at HEAD", "", "| Model | Latest | HEAD | Stages |", "|:--|:--|:--|:--|"]
    for r in rows:
        stages = ", ".join(f"{s}: {v}" for s, v in r.stages.items()) or "-"
        head = r.head_version or "(unregistered)"
        lines.append(printable(f"| `{r.name}` | {r.latest or '-'} | {head} | {stages} |"))
    return [*lines, ""]
