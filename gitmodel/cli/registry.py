"""Registry commands of the CLI: tag, promote, demote, deprecate, versions, ls, show, rollback.

Part of the CLI package, the only place that imports typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gitmodel.cli.app import ForceOption, JsonOption, QuietOption, app
from gitmodel.cli.common import handle_errors, is_quiet, print_json, progress_line, say, set_quiet
from gitmodel.printable import printable
from gitmodel.table import (
    format_metrics,
    format_time,
    format_value,
    human_size,
    iso_time,
    render_table,
)

MessageOption = Annotated[
    str | None, typer.Option("--message", "-m", help="Tag message (default: a summary).")
]
DeprecatedOption = Annotated[
    bool, typer.Option("--deprecated", help="Include deprecated models (`NAME@deprecated`).")
]


@app.command()
@handle_errors
def tag(
    name: Annotated[str, typer.Argument(help="Model name (the pointer's `name`).")],
    version: Annotated[
        str | None, typer.Argument(help="Version to register, e.g. v1.2.0 (default: bump).")
    ] = None,
    bump: Annotated[
        str | None,
        typer.Option("--bump", help="Bump the latest version: major, minor or patch."),
    ] = None,
    message: MessageOption = None,
    rev: Annotated[
        str, typer.Option("--rev", help="Commit whose pointer to register.", metavar="REV")
    ] = "HEAD",
    quiet: QuietOption = False,
) -> None:
    """Register the pointer at a commit as the immutable version NAME@vX.Y.Z (a Git tag)."""
    from gitmodel.commands.tag import tag as create_version

    set_quiet(quiet or is_quiet())
    result = create_version(name, version, bump=bump, message=message, rev=rev)
    say(f"registered {result.tag} at {result.commit[:12]} ({result.pointer_path})")
    share(result.tag)


@app.command()
@handle_errors
def promote(
    target: Annotated[str, typer.Argument(help="NAME@vX.Y.Z, NAME@latest or NAME#STAGE.")],
    stage: Annotated[str, typer.Argument(help="Stage to assign, e.g. production.")],
    message: MessageOption = None,
    quiet: QuietOption = False,
) -> None:
    """Assign a stage to a version (tag NAME#STAGE#N; the history stays in Git)."""
    from gitmodel.commands.promote import promote as assign

    set_quiet(quiet or is_quiet())
    change = assign(target, stage, message=message)
    if change.tag is None:
        say(f"{change.name} {stage} already points at {change.version}; nothing to do")
        return
    was = f" (was {change.previous})" if change.previous else ""
    say(f"{change.name} {stage} -> {change.version}{was}: tag {change.tag}")
    share(change.tag)


@app.command()
@handle_errors
def demote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    stage: Annotated[str, typer.Argument(help="Stage to unassign.")],
    message: MessageOption = None,
    quiet: QuietOption = False,
) -> None:
    """Unassign a stage from the version that holds it (tag NAME#STAGE!#N)."""
    from gitmodel.commands.promote import demote as unassign

    set_quiet(quiet or is_quiet())
    change = unassign(name, stage, message=message)
    say(f"{name} {stage} unassigned (was {change.version}): tag {change.tag}")
    if change.fallback:
        say(
            f"{name} {stage} now falls back to {change.fallback}: it was assigned earlier and "
            "never unassigned (demote again to clear the stage)"
        )


@app.command()
@handle_errors
def deprecate(
    name: Annotated[str, typer.Argument(help="Model name.")],
    message: MessageOption = None,
    quiet: QuietOption = False,
) -> None:
    """Deprecate a model (tag NAME@deprecated, as GTO): ls and versions leave it out."""
    from gitmodel.commands.deprecate import deprecate as retire

    set_quiet(quiet or is_quiet())
    result = retire(name, message=message)
    say(f"deprecated {name}: tag {result.tag} at {result.commit[:12]}")
    say(f"share it: git push origin {result.tag}")


@app.command()
@handle_errors
def versions(
    name: Annotated[str, typer.Argument(help="Model name.")],
    as_json: JsonOption = False,
    all_commits: Annotated[
        bool,
        typer.Option(
            "--all", help="Also list unregistered commits on any branch that changed the pointer."
        ),
    ] = False,
    deprecated: DeprecatedOption = False,
) -> None:
    """List a model's versions: date, commit, oid, size, metrics and current stages."""
    from gitmodel.commands.versions import versions as list_versions

    rows = list_versions(name, all=all_commits, deprecated=deprecated)
    if as_json:
        print_json([{**r.to_json(), "created_at": iso_time(r.created_at)} for r in rows])
        return
    table = [
        [
            r.version or f"({r.ref or 'candidate'})",
            format_time(r.created_at),
            r.commit[:12],
            r.oid.removeprefix("xxh128:")[:12] if r.oid else "-",
            human_size(r.size) if r.size is not None else "-",
            ",".join(r.stages) or "-",
            format_metrics(r.metrics),
        ]
        for r in rows
    ]
    print(render_table(["VERSION", "DATE", "COMMIT", "OID", "SIZE", "STAGES", "METRICS"], table))


@app.command("ls")
@handle_errors
def list_models(as_json: JsonOption = False, deprecated: DeprecatedOption = False) -> None:
    """List every model at HEAD with its latest version, stages and key metrics."""
    from gitmodel.commands.ls import ls

    every = ls(deprecated=True)
    rows = [r for r in every if deprecated or not r.deprecated]
    if as_json:
        print_json([r.to_json() for r in rows])
        return
    if not rows:
        if every:
            say(f"{len(every)} deprecated model(s) at HEAD; list them with --deprecated")
        else:
            say("no models committed at HEAD (track one with `git model add PATH`)")
        return
    table = [
        [
            f"{r.name} (deprecated)" if r.deprecated else r.name,
            r.latest or "-",
            r.head_version or "(unregistered)",
            " ".join(f"{s}={v}" for s, v in r.stages.items()) or "-",
            format_metrics(r.metrics, limit=3),
            r.pointer_path,
        ]
        for r in rows
    ]
    print(render_table(["NAME", "LATEST", "HEAD", "STAGES", "METRICS", "POINTER"], table))


@app.command()
@handle_errors
def show(
    target: Annotated[
        str, typer.Argument(help="A path, NAME, NAME@vX.Y.Z, NAME@latest or NAME#STAGE.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Show a model version: pointer fields, format facts, lineage and stage history."""
    from gitmodel.commands.show import show as describe

    result = describe(target)
    p = result.pointer
    if as_json:
        print_json(_show_json(result))
        return
    lines = [
        f"name:      {p.name}",
        f"version:   {result.version.version if result.version else '(unregistered)'}",
    ]
    if result.version:
        lines.append(f"tag:       {result.version.tag} ({format_time(result.version.created_at)})")
        lines.append(f"commit:    {result.version.commit}")
    if result.deprecation:
        when = format_time(result.deprecation.created_at)
        lines.append(f"deprecated: {result.deprecation.name} ({when})")
    lines += [
        f"pointer:   {result.pointer_path}",
        f"oid:       {p.oid}",
        *([f"digest:    {p.digest}"] if p.digest else []),
        f"size:      {human_size(p.size)} ({p.size} bytes)",
        f"kind:      {p.kind}",
    ]
    if p.format:
        facts = ", ".join(
            f"{k}={','.join(v) if isinstance(v, list) else format_value(v)}"
            for k, v in sorted(p.format.facts.items())
            if k != "manifest"
        )
        lines.append(f"format:    {p.format.name}" + (f" ({facts})" if facts else ""))
    for title, table in (("metrics", p.metrics), ("params", p.params)):
        if table:
            lines.append(f"{title}:")
            lines += [f"  {k} = {format_value(v)}" for k, v in sorted(table.items())]
    if p.lineage:
        dirty = " (dirty work tree)" if p.lineage.dirty else ""
        lines.append(f"trained at: {p.lineage.commit or '(no commit)'}{dirty}")
        lines += [f"  data {d.path} {d.oid}" for d in p.lineage.data]
    if result.current_stages:
        lines.append("stages:")
        lines += [f"  {s} -> {v}" for s, v in result.current_stages.items()]
    if result.history:
        lines.append("stage history:")
        for e in result.history:
            what = "unassigned" if e.unassign else "assigned"
            version = e.version.version if e.version else e.commit[:12]
            lines.append(
                f"  {format_time(e.created_at)}  {e.stage} {what} {version}  ({e.tag}, {e.tagger})"
            )
    print("\n".join(printable(line) for line in lines))


def _show_json(result: object) -> dict[str, object]:
    from dataclasses import asdict

    from gitmodel.commands.show import ShowResult

    assert isinstance(result, ShowResult)
    p = result.pointer
    version = result.version
    return {
        "pointer_path": result.pointer_path,
        "pointer": asdict(p),
        "version": str(version.version) if version else None,
        "tag": version.tag if version else None,
        "commit": version.commit if version else None,
        "stages": result.stages,
        "current_stages": result.current_stages,
        "deprecated": result.deprecation.name if result.deprecation else None,
        "history": [
            {
                "stage": e.stage,
                "action": "unassign" if e.unassign else "assign",
                "version": str(e.version.version) if e.version else None,
                "commit": e.commit,
                "tag": e.tag,
                "created_at": iso_time(e.created_at),
                "tagger": e.tagger,
            }
            for e in result.history
        ],
    }


@app.command()
@handle_errors
def rollback(
    name: Annotated[str, typer.Argument(help="Model name.")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Version to go back to (default: the one before).", metavar="V"),
    ] = None,
    stage: Annotated[
        str | None,
        typer.Option("--stage", help="Roll back this stage and re-assign it to the old version."),
    ] = None,
    no_commit: Annotated[
        bool, typer.Option("--no-commit", help="Restore and stage, but do not commit.")
    ] = False,
    force: ForceOption = False,
    quiet: QuietOption = False,
) -> None:
    """Restore an earlier version's pointer and bytes in a new commit (history is kept)."""
    from gitmodel.commands.rollback import rollback as roll_back

    set_quiet(quiet or is_quiet())
    result = roll_back(
        name, to=to, stage=stage, no_commit=no_commit, force=force, progress=progress_line()
    )
    previous = result.previous
    was = f" (was {previous.version})" if previous else ""
    where = f": commit {result.commit[:12]}" if result.commit else ""
    if not result.commit:
        where = " (staged, not committed)" if no_commit else " (work tree already there)"
    say(f"rolled back {name} to {result.target.version}{was}{where}")
    old = previous.pointer.metrics if previous and previous.pointer else {}
    new = result.target.pointer.metrics if result.target.pointer else {}
    for key in sorted(set(old) | set(new)):
        before = format_value(old[key]) if key in old else "-"
        after = format_value(new[key]) if key in new else "-"
        if before != after:
            say(f"  {key}: {before} -> {after}")
    change = result.stage_change
    if change is not None and change.tag is not None:
        say(f"{name} {change.stage} -> {change.version}: tag {change.tag}")
        share(change.tag)


def share(tag: str) -> None:
    """Say how to publish a new tag, naming the remote `git push` would use."""
    from gitmodel.git import GitRepo

    remote = GitRepo.discover(Path(".")).push_remote()
    if remote is None:
        say(f"share it: git push REMOTE {tag} (this repository has no Git remote yet)")
    else:
        say(f"share it: git push {remote} {tag}")
