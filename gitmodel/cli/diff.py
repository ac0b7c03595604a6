"""Diff commands of the CLI: diff, report, textconv, install, uninstall.

Part of the CLI package, the only place that imports typer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from gitmodel.cli.app import ANY_METRIC, JsonOption, QuietOption, app
from gitmodel.cli.common import handle_errors, is_quiet, say, set_quiet, warn
from gitmodel.errors import UsageError
from gitmodel.printable import printable

ArgsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="[OLD [NEW]] [NAME|PATH…]: revisions, ranges (A...B, A..B) or versions "
        "(NAME@vX.Y.Z, NAME#STAGE), then models to limit the diff to.",
        show_default=False,
    ),
]
PrecisionOption = Annotated[
    int, typer.Option("--precision", help="Significant digits for numbers.", min=1, max=17)
]
FetchManifestsOption = Annotated[
    bool | None,
    typer.Option(
        "--fetch-manifests/--no-fetch-manifests",
        help="Fetch tensor manifests missing from the cache (no weights) from a model remote in "
        "Git config, never one committed in .gitmodel.toml (default: model.diffFetch, false).",
        show_default=False,
    ),
]
DiffRemoteOption = Annotated[
    str | None,
    typer.Option(
        "--remote",
        "-r",
        help="With --fetch-manifests: the remote (default: model.defaultRemote).",
        metavar="NAME",
    ),
]


@app.command()
@handle_errors
def diff(
    args: ArgsArgument = None,
    markdown: Annotated[
        bool, typer.Option("--md", "--markdown", help="GitHub-flavoured Markdown for PRs.")
    ] = False,
    as_json: JsonOption = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also show unchanged metrics, params and models.")
    ] = False,
    cached: Annotated[
        bool,
        typer.Option("--cached", "--staged", help="Compare with the index, not the work tree."),
    ] = False,
    precision: PrecisionOption = 4,
    fail_on_regression: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on-regression",
            help="Exit 1 if any metric got worse; `--fail-on-regression=acc,loss` checks "
            "only those.",
            metavar="[METRIC,…]",
        ),
    ] = None,
    tolerance: Annotated[
        str | None,
        typer.Option(
            "--tolerance",
            help="With --fail-on-regression: allowed worsening, absolute (0.01) or relative "
            "(1%); default 0.",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    fetch_manifests: FetchManifestsOption = None,
    remote: DiffRemoteOption = None,
) -> None:
    """Show how models' metrics, params, bytes and lineage changed between two revisions."""
    from gitmodel.commands.diff import diff as compute
    from gitmodel.commands.diff import split_arguments
    from gitmodel.compare import Tolerance
    from gitmodel.diffrender import (
        Options,
        fmt,
        regressions,
        render_json,
        render_markdown,
        render_text,
    )

    if tolerance is not None and fail_on_regression is None:
        raise UsageError(
            "--tolerance applies only to --fail-on-regression",
            "add --fail-on-regression, or drop --tolerance",
        )
    gate = Tolerance.parse(tolerance or "0")
    revisions, targets = split_arguments(args or [])
    result = compute(
        *revisions,
        targets=targets,
        cached=cached,
        fetch_manifests=fetch_manifests,
        remote=remote,
    )
    opts = Options(show_all=show_all, precision=precision)
    for warning in result.warnings:
        warn(warning)
    if as_json:
        text = json.dumps(render_json(result, opts), indent=2) + "\n"
    elif markdown:
        text = render_markdown(result, opts)
    else:
        text = render_text(result, opts) + "\n"
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if fail_on_regression is not None:
        names = [n for v in fail_on_regression for n in v.split(",") if n and n != ANY_METRIC]
        known = {c.key for m in result.models for c in m.metrics}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UsageError(
                f"--fail-on-regression names no metric on either side: {', '.join(unknown)}",
                f"metrics here: {', '.join(sorted(known)) or 'none'}",
            )
        worse = regressions(result, names, gate)
        for model, change in worse:
            print(
                printable(
                    f"regression: {model} {change.key} {fmt(change.old, precision)} -> "
                    f"{fmt(change.new, precision)} "
                    f"(worse by more than the tolerance {tolerance or 0})"
                ),
                file=sys.stderr,
            )
        if worse:
            raise SystemExit(1)


@app.command()
@handle_errors
def report(
    args: ArgsArgument = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Report file to write.")] = Path(
        "git-model-report.md"
    ),
    precision: PrecisionOption = 4,
    fetch_manifests: FetchManifestsOption = None,
    remote: DiffRemoteOption = None,
    quiet: QuietOption = False,
) -> None:
    """Write a full Markdown report for CI: every model's diff plus its versions and stages."""
    from gitmodel.cireport import render_report
    from gitmodel.commands.diff import diff as compute
    from gitmodel.commands.diff import split_arguments

    set_quiet(quiet or is_quiet())
    revisions, targets = split_arguments(args or [])
    result = compute(*revisions, targets=targets, fetch_manifests=fetch_manifests, remote=remote)
    for warning in result.warnings:
        warn(warning)
    output.write_text(render_report(result, precision), encoding="utf-8")
    say(f"wrote {output}")


@app.command(hidden=True)
@handle_errors
def textconv(
    path: Annotated[Path, typer.Argument(help="A pointer file (Git passes a temp copy).")],
) -> None:
    """Print a pointer as readable lines (the `gitmodel` diff driver for `git diff`)."""
    from gitmodel.commands.textconv import textconv as convert

    sys.stdout.write(convert(path))


@app.command()
@handle_errors
def install(
    force: Annotated[
        bool,
        typer.Option("--force", help="Install even where a foreign hook and its .legacy exist."),
    ] = False,
    pre_commit_framework: Annotated[
        bool,
        typer.Option(
            "--pre-commit-framework",
            help="Add the hooks to .pre-commit-config.yaml instead of installing shims.",
        ),
    ] = False,
    repo_url: Annotated[
        str | None,
        typer.Option(
            "--repo-url",
            help="With --pre-commit-framework: reference this git-model repository "
            "(default: a local hook using the installed git-model).",
            metavar="URL",
        ),
    ] = None,
    rev: Annotated[
        str | None, typer.Option("--rev", help="With --repo-url: the tag or commit to use.")
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Install hooks, the readable-diff driver and the pointer merge driver in this clone."""
    from gitmodel.commands.install import install as set_up

    set_quiet(quiet or is_quiet())
    result = set_up(
        force=force,
        pre_commit_framework=pre_commit_framework,
        framework_repo=repo_url,
        framework_rev=rev,
    )
    for hook, what in result.hooks.items():
        say(f"hook {hook}: {what}")
    for key, value in result.config.items():
        say(f"config {key} = {value}")
    if result.attributes_file:
        say(
            f"added the *.gitmodel diff and merge drivers to {result.attributes_file}; commit "
            "it so every clone uses them"
        )
    if result.framework_file:
        say(
            f"added git-model's hooks to {result.framework_file}; run `pre-commit install` "
            "to activate them"
        )
    for note in result.notes:
        warn(note)


@app.command()
@handle_errors
def uninstall(quiet: QuietOption = False) -> None:
    """Remove git-model's hooks and drivers from this clone (your own hooks come back)."""
    from gitmodel.commands.install import uninstall as tear_down

    set_quiet(quiet or is_quiet())
    result = tear_down()
    for hook, what in result.hooks.items():
        say(f"hook {hook}: {what}")
    for key in result.config:
        say(f"config {key}: removed")
    for note in result.notes:
        say(note)


@app.command("merge-driver", hidden=True)
@handle_errors
def merge_driver(
    base: Annotated[str, typer.Argument(help="%O: the common ancestor's version.")],
    ours: Annotated[str, typer.Argument(help="%A: our version; the result is written here.")],
    theirs: Annotated[str, typer.Argument(help="%B: their version.")],
    path: Annotated[str, typer.Argument(help="%P: the pointer's path.")] = "pointer",
) -> None:
    """Merge three versions of a pointer (Git's merge driver for *.gitmodel)."""
    from gitmodel.commands.merge_driver import merge_driver as merge

    raise SystemExit(merge(base, ours, theirs, path))
