"""Diff commands of the CLI: diff, report, textconv, install, uninstall.

Part of the CLI layer (with gitmodel/cli.py, the only modules that import typer).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from gitmodel.cli import JsonOption, QuietOption, app, handle_errors, say
from gitmodel.progress import is_quiet, set_quiet

ANY_METRIC = "*"  # what a bare --fail-on-regression becomes (see expand_optional_values)

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
        str,
        typer.Option("--tolerance", help="Allowed worsening: absolute (0.01) or relative (1%)."),
    ] = "0",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.")
    ] = None,
) -> None:
    """Show how models' metrics, params, bytes and lineage changed between two revisions."""
    from gitmodel.commands.diff import diff as compute
    from gitmodel.commands.diff import split_arguments
    from gitmodel.compare import Tolerance
    from gitmodel.diffrender import (
        Options,
        regressions,
        render_json,
        render_markdown,
        render_text,
    )

    gate = Tolerance.parse(tolerance)
    revisions, targets = split_arguments(args or [])
    result = compute(*revisions, targets=targets, cached=cached)
    opts = Options(show_all=show_all, precision=precision)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
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
        worse = regressions(result, names, gate)
        for model, change in worse:
            print(
                f"regression: {model} {change.key} {change.old} -> {change.new} "
                f"(worse by more than the tolerance {tolerance})",
                file=sys.stderr,
            )
        if worse:
            raise typer.Exit(1)


@app.command()
@handle_errors
def report(
    args: ArgsArgument = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Report file to write.")] = Path(
        "git-model-report.md"
    ),
    precision: PrecisionOption = 4,
    quiet: QuietOption = False,
) -> None:
    """Write a full Markdown report for CI: every model's diff plus its versions and stages."""
    from gitmodel.commands.diff import diff as compute
    from gitmodel.commands.diff import split_arguments
    from gitmodel.commands.ls import ls
    from gitmodel.diffrender import Options, render_markdown

    set_quiet(quiet or is_quiet())
    revisions, targets = split_arguments(args or [])
    result = compute(*revisions, targets=targets)
    parts = [render_markdown(result, Options(show_all=True, precision=precision))]
    rows = ls()
    if rows:
        parts += [
            "## Registry at HEAD",
            "",
            "| Model | Latest | HEAD | Stages |",
            "|:--|:--|:--|:--|",
        ]
        for r in rows:
            stages = ", ".join(f"{s}: {v}" for s, v in r.stages.items()) or "-"
            head = r.head_version or "(unregistered)"
            parts.append(f"| `{r.name}` | {r.latest or '-'} | {head} | {stages} |")
        parts.append("")
    output.write_text("\n".join(parts), encoding="utf-8")
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
def install(quiet: QuietOption = False) -> None:
    """Set up Git integration in this clone: readable `git diff` of pointer files."""
    from gitmodel.commands.install import install as set_up

    set_quiet(quiet or is_quiet())
    result = set_up()
    for key, value in result.config.items():
        say(f"set {key} = {value}")
    if result.attributes_file:
        say(
            f"added '*.gitmodel diff=gitmodel' to {result.attributes_file}; commit it so "
            "every clone gets readable pointer diffs"
        )


@app.command()
@handle_errors
def uninstall(quiet: QuietOption = False) -> None:
    """Remove git-model's Git integration from this clone."""
    from gitmodel.commands.install import uninstall as tear_down

    set_quiet(quiet or is_quiet())
    result = tear_down()
    say("removed the gitmodel diff driver from .git/config")
    for note in result.notes:
        say(note)


def expand_optional_values(argv: list[str]) -> list[str]:
    """A bare `--fail-on-regression` means "any metric" (the option's value is optional)."""
    return [
        f"--fail-on-regression={ANY_METRIC}" if a == "--fail-on-regression" else a for a in argv
    ]
