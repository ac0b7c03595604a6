"""The typer app: the global options, the options that several commands share, and `run`,
which registers only the invoked command's module (core, registry, diff or remote) and
turns usage errors into one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gitmodel import __version__
from gitmodel.cli.common import change_directory, set_quiet
from gitmodel.errorfunnel import report_failure, show_tracebacks

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
    show_tracebacks(show_traceback)
    set_quiet(quiet)
    if directory is not None:
        change_directory(directory)


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
    except (Exception, KeyboardInterrupt) as exc:
        if not hasattr(exc, "format_message"):  # not a usage error of the bundled click
            return report_failure(exc)
        message = exc.format_message()
        if type(exc).__name__ == "NoArgsIsHelpError":  # `git model` alone: where to start
            print(message)
            print(START_HERE)
            return 0
        print(f"error: {message} (see `{_help_command(argv)}`)", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    return result if isinstance(result, int) else 0


# Which module registers which commands. Only the invoked command's module is imported:
# the CLI framework builds every registered command's parser on each run, which would cost
# more than some whole commands do.
COMMAND_MODULES = {
    "core": ("add", "status", "checkout", "migrate"),
    "registry": ("tag", "promote", "demote", "deprecate", "versions", "ls", "show", "rollback"),
    "diff": ("diff", "report", "textconv", "install", "uninstall", "merge-driver"),
    "remote": ("remote", "push", "fetch", "pull", "fsck", "gc"),
}
ANY_METRIC = "*"  # what a bare --fail-on-regression becomes
START_HERE = """
Start here:
  git model install                        hooks: big files stay out of Git, checkouts follow
  git model add model.safetensors -m acc=0.91
  git commit -m "train v1" && git model tag NAME
  git model diff --cached                  what changed, metric by metric

`git model help COMMAND` for one command; `git model --help` for the manual."""


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
