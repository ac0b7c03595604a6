"""Core commands of the CLI: add, status, checkout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from gitmodel.cli import (
    ForceOption,
    JsonOption,
    QuietOption,
    TargetsArgument,
    app,
    handle_errors,
    print_json,
    say,
    warn,
)
from gitmodel.progress import is_quiet, set_quiet
from gitmodel.table import human_size


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
    quiet: QuietOption = False,
) -> None:
    """Store an artifact in the cache and stage its pointer (PATH.gitmodel)."""
    from gitmodel.commands.add import add as add_artifacts
    from gitmodel.metrics import load_mapping_file, parse_assignments

    set_quiet(quiet or is_quiet())
    metrics = load_mapping_file(metrics_file) if metrics_file else {}
    metrics.update(parse_assignments(metric or [], "--metric"))
    params = load_mapping_file(params_file) if params_file else {}
    params.update(parse_assignments(param or [], "--param"))
    results = add_artifacts(paths, name=name, metrics=metrics, params=params, data=data or [])
    for result in results:
        for text in result.warnings:
            warn(text)
        if result.carried_metrics:
            warn(
                f"{result.pointer.name}: the artifact changed but these metrics were kept from "
                f"the previous version: {', '.join(result.carried_metrics)} (pass --metric "
                "KEY=VALUE to update them)"
            )
        pointer = result.pointer
        facts = ""
        if pointer.format is not None and pointer.format.name != "dir":
            facts = f", {pointer.format.name}"
        what = "added" if result.changed else "updated" if result.pointer_changed else "unchanged"
        say(
            f"{what} {pointer.name}: {os.path.relpath(result.pointer_file)} "
            f"({human_size(pointer.size)}{facts}, {pointer.oid[:19]}…)"
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
    from gitmodel.commands.status import status as artifact_statuses

    set_quiet(quiet or is_quiet())
    results = artifact_statuses(targets or [], thorough=check)
    unpushed: dict[str, int] = {}
    remote_label = ""
    if remote is not None:
        from gitmodel.commands.sync import not_pushed

        remote_label, unpushed = not_pushed(targets or [], remote=remote)
    if as_json:
        rows = [r.to_json() for r in results]
        if remote is not None:
            for row in rows:
                row["unpushed_objects"] = unpushed.get(str(row["pointer"]), 0)
        print_json(rows)
    elif not results:
        say("no models tracked (track one with `git model add PATH`)")
    else:
        for r in results:
            label = f"{r.path}" + ("/" if r.state != "invalid pointer" and _is_dir(r) else "")
            detail = f": {r.detail}" if r.detail else ""
            say(f"{r.state:<24}{label}{detail}")
        for pointer_path, count in sorted(unpushed.items()):
            say(
                f"{'not pushed':<24}{pointer_path.removesuffix('.gitmodel')}: {count} "
                f"object(s) missing on {remote_label}"
            )
    if check and (any(not r.ok for r in results) or unpushed):
        raise typer.Exit(1)


def _is_dir(result: Any) -> bool:
    return bool(result.kind == "dir")


@app.command()
@handle_errors
def checkout(
    targets: TargetsArgument = None,
    force: ForceOption = False,
    verify: Annotated[
        bool,
        typer.Option("--verify", help="Rehash each object before using it; refuse corrupt ones."),
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Put the bytes every pointer names (or the named ones) into the work tree."""
    from gitmodel.commands.checkout import checkout as checkout_artifacts

    set_quiet(quiet or is_quiet())
    result = checkout_artifacts(targets or [], force=force, verify=verify)
    report_checkout(result, list_restored=True)


def report_checkout(result: Any, *, list_restored: bool) -> None:
    """What a checkout (or the checkout half of pull) did; removed files are always named."""
    for path in result.kept:
        warn(f"kept {path}: not in the pointer's manifest and not in the cache")
    if list_restored and len(result.restored) <= 10:
        for path in result.restored:
            say(f"restored {path}")
    for path in result.removed:
        say(f"removed {path} (not in this version; its bytes are in the cache)")
    say(
        f"{len(result.restored)} restored, {len(result.unchanged)} already up to date"
        + (f", {len(result.removed)} removed" if result.removed else "")
    )
