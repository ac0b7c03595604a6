"""What add, status and checkout do once their arguments are parsed: call the API, print,
choose the exit code. Free of the CLI framework, so that both the typer commands (cli/core.py)
and the fast path (cli/fast.py) run exactly this."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gitmodel.cli.common import is_quiet, print_json, progress_line, say, set_quiet, warn
from gitmodel.table import human_size


def run_add(
    paths: Sequence[str],
    *,
    name: str | None = None,
    metric: Sequence[str] = (),
    metrics_file: Path | None = None,
    param: Sequence[str] = (),
    params_file: Path | None = None,
    data: Sequence[str] = (),
    digest: str | None = None,
    force: bool = False,
    quiet: bool = False,
) -> None:
    from gitmodel.commands.add import add as add_artifacts
    from gitmodel.metrics import load_mapping_file, parse_assignments

    set_quiet(quiet or is_quiet())
    metrics = load_mapping_file(metrics_file) if metrics_file else {}
    metrics.update(parse_assignments(list(metric), "--metric"))
    params = load_mapping_file(params_file) if params_file else {}
    params.update(parse_assignments(list(param), "--param"))
    results = add_artifacts(
        paths,
        name=name,
        metrics=metrics,
        params=params,
        data=data,
        digest=digest,
        force=force,
        progress=progress_line(),
    )
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


def run_status(
    targets: Sequence[str] = (),
    *,
    as_json: bool = False,
    check: bool = False,
    remote: str | None = None,
    quiet: bool = False,
) -> None:
    from gitmodel.commands.status import status as artifact_statuses

    set_quiet(quiet or is_quiet())
    results = artifact_statuses(list(targets), thorough=check)
    unpushed: dict[str, int] = {}
    remote_label = ""
    if remote is not None:
        from gitmodel.commands.sync import not_pushed

        remote_label, unpushed = not_pushed(list(targets), remote=remote)
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
        raise SystemExit(1)


def _is_dir(result: Any) -> bool:
    return bool(result.kind == "dir")


def run_checkout(
    targets: Sequence[str] = (),
    *,
    force: bool = False,
    verify: bool = False,
    ours: bool = False,
    theirs: bool = False,
    quiet: bool = False,
) -> None:
    from gitmodel.commands.checkout import checkout as checkout_artifacts
    from gitmodel.errors import UsageError

    set_quiet(quiet or is_quiet())
    if ours and theirs:
        raise UsageError("give --ours or --theirs, not both", "pick one side of the conflict")
    side = "ours" if ours else "theirs" if theirs else None
    result = checkout_artifacts(
        list(targets), force=force, verify=verify, side=side, progress=progress_line()
    )
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
