"""The command line: parse, call one function of the Python API, print, choose an exit code.

This package is the only place that imports typer. This module holds the app, the options
that several commands share and the error handling; core, registry, diff and remote hold
the commands.
"""

from __future__ import annotations

import functools
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
ForceOption = Annotated[
    bool, typer.Option("--force", "-f", help="Overwrite work-tree changes not saved in the cache.")
]
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
    import json

    json.dump(value, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def run() -> int:
    argv = help_as_option(expand_optional_values(sys.argv[1:]))
    name = _command_name(argv)
    load_commands(name)
    keep_only(name)
    try:
        command = typer.main.get_command(app)
        _name_placeholders(command)
        result = command.main(args=argv, prog_name="git-model", standalone_mode=False)
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


# Which module registers which commands. Only the invoked command's module is imported:
# the CLI framework builds every registered command's parser on each run, which would cost
# more than some whole commands do.
COMMAND_MODULES = {
    "core": ("add", "status", "checkout"),
    "registry": ("tag", "promote", "demote", "versions", "ls", "show", "rollback"),
    "diff": ("diff", "report", "textconv", "install", "uninstall", "merge-driver"),
    "remote": ("remote", "push", "fetch", "pull", "fsck", "gc"),
}
ANY_METRIC = "*"  # what a bare --fail-on-regression becomes


def load_commands(name: str | None) -> None:
    """Register the module that defines command `name` (all of them for help or a typo)."""
    import importlib

    chosen = [m for m, names in COMMAND_MODULES.items() if name in names]
    for module in chosen or COMMAND_MODULES:
        importlib.import_module(f"gitmodel.cli.{module}")


def keep_only(name: str | None) -> None:
    """Build only the invoked command's parser, not its module's neighbours' (each costs a
    few milliseconds of signature inspection). All of them for help or a typo."""
    commands = [c for c in app.registered_commands if _registered_name(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if commands or groups:
        app.registered_commands, app.registered_groups = commands, groups


def _registered_name(info: Any) -> str | None:
    if info.name:
        return str(info.name)
    return info.callback.__name__.replace("_", "-") if info.callback else None


def _command_name(argv: list[str]) -> str | None:
    """The command invoked; None when there is none, or when help comes first (which then
    shows every command)."""
    skip_next = False
    for arg in argv:
        if skip_next:
            skip_next = False
        elif arg == "-C":
            skip_next = True
        elif arg in ("-h", "--help"):
            return None
        elif not arg.startswith("-"):
            return arg
    return None


def expand_optional_values(argv: list[str]) -> list[str]:
    """A bare `--fail-on-regression` means "any metric" (the option's value is optional)."""
    return [
        f"--fail-on-regression={ANY_METRIC}" if a == "--fail-on-regression" else a for a in argv
    ]


def help_as_option(argv: list[str]) -> list[str]:
    """`git model help [COMMAND…]` is `git model [COMMAND…] --help`, as with git and git-lfs."""
    for index, arg in enumerate(argv):
        if arg == "help":
            return [*argv[:index], *argv[index + 1 :], "--help"]
        if not arg.startswith("-") and (index == 0 or argv[index - 1] != "-C"):
            break
    return argv


def _name_placeholders(command: Any) -> None:
    """Help names placeholders in capitals (`NAME`, `REV`), as Git's own help does."""
    for param in getattr(command, "params", []):
        if param.metavar is None and not getattr(param, "is_flag", False):
            many = param.param_type_name == "argument" and param.nargs != 1
            param.metavar = (param.name or "value").upper() + ("..." if many else "")
    for sub in getattr(command, "commands", {}).values():
        _name_placeholders(sub)


def _help_command(argv: list[str]) -> str:
    """`git-model CMD -h` for the command the user typed, or `git-model -h`."""
    name = _command_name(argv)
    known = any(name in names for names in COMMAND_MODULES.values())
    return f"git-model {name} -h" if name and known else "git-model -h"
