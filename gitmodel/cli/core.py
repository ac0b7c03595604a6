"""Core commands of the CLI: add, status, checkout (their options; cli/coreops.py runs them),
and migrate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gitmodel.cli.app import ForceOption, JsonOption, QuietOption, TargetsArgument, app
from gitmodel.cli.common import handle_errors
from gitmodel.cli.coreops import run_add, run_checkout, run_status


@app.command()
@handle_errors
def add(
    paths: Annotated[
        list[str], typer.Argument(help="Files or folders to track.", show_default=False)
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="Model name (default: the file name without extension)."),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric", "-m", help="A metric as KEY=VALUE; repeatable.", metavar="KEY=VALUE"
        ),
    ] = None,
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics",
            help="Read metrics from a JSON or YAML mapping (nested keys get dots).",
            metavar="FILE",
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="A parameter as KEY=VALUE; repeatable.", metavar="KEY=VALUE"
        ),
    ] = None,
    params_file: Annotated[
        Path | None,
        typer.Option("--params", help="Read params from a JSON or YAML mapping.", metavar="FILE"),
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            help="Data the model was trained or evaluated on; repeatable.",
            metavar="PATH",
        ),
    ] = None,
    digest: Annotated[
        str | None,
        typer.Option(
            "--digest",
            help="Also record the content's SHA-256 (sha256), or not (none); default: "
            "`git config model.digest`, else as the previous pointer did.",
            metavar="ALGO",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            "-f",
            help="Record anyway: bytes of another version left when the pointer changed "
            "(stale), or Git LFS pointer files (a clone without `git lfs pull`).",
        ),
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Store an artifact in the cache and stage its pointer (PATH.gitmodel)."""
    run_add(
        paths,
        name=name,
        metric=metric or (),
        metrics_file=metrics_file,
        param=param or (),
        params_file=params_file,
        data=data or (),
        digest=digest,
        force=force,
        quiet=quiet,
    )


@app.command()
@handle_errors
def status(
    targets: TargetsArgument = None,
    as_json: JsonOption = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Exit 1 if any artifact is not up to date. Compares every file and checks "
            "every object, even in folders found unchanged before.",
        ),
    ] = False,
    remote: Annotated[
        str | None,
        typer.Option("--remote", "-r", help="Also report objects not yet pushed to this remote."),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Show, per pointer, whether the work tree holds the bytes it names."""
    run_status(targets or (), as_json=as_json, check=check, remote=remote, quiet=quiet)


@app.command()
@handle_errors
def checkout(
    targets: TargetsArgument = None,
    force: ForceOption = False,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Rehash each object before using it; refuse corrupt ones."),
    ] = False,
    ours: Annotated[
        bool,
        typer.Option("--ours", help="Resolve conflicted pointers with our side, and its bytes."),
    ] = False,
    theirs: Annotated[
        bool,
        typer.Option(
            "--theirs", help="Resolve conflicted pointers with their side, and its bytes."
        ),
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Put the bytes every pointer names (or the named ones) into the work tree."""
    run_checkout(targets or (), force=force, verify=verify, ours=ours, theirs=theirs, quiet=quiet)


@app.command()
@handle_errors
def migrate(targets: TargetsArgument = None, quiet: QuietOption = False) -> None:
    """Record a SHA-256 digest in pointers that lack one (from the cache), and stage them."""
    import os

    from gitmodel.cli.common import is_quiet, say, set_quiet
    from gitmodel.commands.migrate import migrate as migrate_pointers

    set_quiet(quiet or is_quiet())
    results = migrate_pointers(targets or ())
    for result in results:
        what = "migrated" if result.changed else "already has a digest:"
        say(f"{what} {result.pointer.name}: {os.path.relpath(result.pointer_file)}")
    changed = sum(r.changed for r in results)
    say(f"{changed} pointer(s) migrated; commit them, then tag new versions (docs/security.md)")
