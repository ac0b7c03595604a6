"""The command line: parse, call one function of the Python API, print, choose an exit code.

The only module that imports typer.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from gitmodel import __version__
from gitmodel.errors import GitModelError
from gitmodel.progress import is_quiet, set_quiet
from gitmodel.table import human_size

app = typer.Typer(
    name="git-model",
    help="Version machine-learning models like code: artifacts in a content-addressed cache, "
    "small pointer files in Git, versions as Git tags.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"traceback": False}

F = TypeVar("F", bound=Callable[..., Any])

QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only errors; no progress or summaries.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
TargetsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        help="Artifact paths, pointer files, folders or model names (default: all).",
        show_default=False,
    ),
]


def handle_errors(func: F) -> F:
    """Errors become one line and exit 1; Ctrl-C exits 130; bugs exit 3 (with --traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GitModelError as exc:
            if _state["traceback"]:
                traceback.print_exc()
            hint = f" ({exc.hint})" if exc.hint else ""
            print(f"error: {exc.message}{hint}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # the reader went away (`git model ls | head -1`): stop quietly, as git does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None
        except OSError as exc:
            if _state["traceback"]:
                traceback.print_exc()
            where = f": {exc.filename}" if exc.filename else ""
            print(
                f"error: {exc.strerror or exc}{where} (check permissions and free disk space)",
                file=sys.stderr,
            )
            raise typer.Exit(1) from None
        except typer.Exit:
            raise
        except Exception as exc:
            if _state["traceback"]:
                traceback.print_exc()
            print(
                f"error: internal error: {type(exc).__name__}: {exc} (this is a bug in "
                "git-model; re-run with --traceback and report it)",
                file=sys.stderr,
            )
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        print(f"git-model {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    directory: Annotated[
        Path | None,
        typer.Option("-C", help="Run as if started in PATH (like git -C).", metavar="PATH"),
    ] = None,
    quiet: QuietOption = False,
    show_traceback: Annotated[
        bool, typer.Option("--traceback", help="Show the full traceback when a command fails.")
    ] = False,
) -> None:
    """git-model: version machine-learning models with Git."""
    _state["traceback"] = show_traceback
    set_quiet(quiet)
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError:
            print(
                f"error: cannot change to {directory}: no such directory "
                "(pass an existing folder to -C)",
                file=sys.stderr,
            )
            raise typer.Exit(1) from None


def say(text: str) -> None:
    if not is_quiet():
        print(text)


def warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def print_json(value: object) -> None:
    json.dump(value, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def run() -> int:
    import gitmodel.cli_registry
    import gitmodel.cli_remote  # noqa: F401  (and the sharing commands)
    from gitmodel.cli_diff import expand_optional_values

    argv = expand_optional_values(sys.argv[1:])
    try:
        result = app(args=argv, prog_name="git-model", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        if not hasattr(exc, "format_message"):  # not a usage error of the bundled click
            raise
        message = exc.format_message()
        if type(exc).__name__ == "NoArgsIsHelpError":  # `git model` alone: the help
            print(message)
        else:
            print(f"error: {message} (see `{_help_command(argv)}`)", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    return result if isinstance(result, int) else 0


def _help_command(argv: list[str]) -> str:
    """`git-model CMD -h` for the command the user typed, or `git-model -h`."""
    commands = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg == "-C":
            skip_next = True
        elif not arg.startswith("-"):
            return f"git-model {arg} -h" if arg in commands else "git-model -h"
    return "git-model -h"


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
        bool, typer.Option("--check", help="Exit 1 if any artifact is not up to date.")
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
    results = artifact_statuses(targets or [])
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
    force: Annotated[
        bool,
        typer.Option(
            "--force", "-f", help="Overwrite work-tree changes that are not saved in the cache."
        ),
    ] = False,
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
    for path in result.kept:
        warn(f"kept {path}: not in the pointer's manifest and not in the cache")
    if result.restored:
        shown = result.restored if len(result.restored) <= 10 else []
        for path in shown:
            say(f"restored {path}")
    for path in result.removed:
        say(f"removed {path} (not in this version; its bytes are in the cache)")
    say(
        f"{len(result.restored)} restored, {len(result.unchanged)} already up to date"
        + (f", {len(result.removed)} removed" if result.removed else "")
    )
