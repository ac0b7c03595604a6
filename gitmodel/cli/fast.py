"""The usual forms of `git model add`, `status` and `checkout`, run without the CLI framework.

Importing typer and building a command's parser takes about 40 ms: a quarter of a `status` of
10,000 files, more than the work of a checkout with nothing to do. These three commands run
most often (by hand, from scripts, after every `git checkout`), so their usual forms are
parsed here from a table of their options and run by the same code as the full CLI
(cli/coreops.py). Anything else (help, an unknown option, `--`, a value missing or starting
with "-", add without a path) is left to the full CLI, which parses and reports it as usual.
tests/test_fast_cli.py keeps the table equal to the typer commands' own options.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Option spelling -> (parameter name, kind): "flag" (True when given), "value" (the last one
# given wins, as with click) or "list" (repeatable).
Options = dict[str, tuple[str, str]]

QUIET: Options = {"-q": ("quiet", "flag"), "--quiet": ("quiet", "flag")}
COMMAND_OPTIONS: dict[str, Options] = {
    "add": {
        "--name": ("name", "value"),
        "-n": ("name", "value"),
        "--metric": ("metric", "list"),
        "-m": ("metric", "list"),
        "--metrics": ("metrics_file", "value"),
        "--param": ("param", "list"),
        "-p": ("param", "list"),
        "--params": ("params_file", "value"),
        "--data": ("data", "list"),
        "-d": ("data", "list"),
        "--digest": ("digest", "value"),
        "--force": ("force", "flag"),
        "-f": ("force", "flag"),
        **QUIET,
    },
    "status": {
        "--json": ("as_json", "flag"),
        "--check": ("check", "flag"),
        "--remote": ("remote", "value"),
        "-r": ("remote", "value"),
        **QUIET,
    },
    "checkout": {
        "--force": ("force", "flag"),
        "-f": ("force", "flag"),
        "--verify": ("verify", "flag"),
        "--ours": ("ours", "flag"),
        "--theirs": ("theirs", "flag"),
        **QUIET,
    },
}
POSITIONAL = {"add": "paths", "status": "targets", "checkout": "targets"}
PATH_PARAMETERS = ("metrics_file", "params_file")


@dataclass
class Invocation:
    """A parsed command line: the global options, the command and its parameters."""

    command: str
    params: dict[str, Any] = field(default_factory=dict)
    directory: str | None = None
    quiet: bool = False
    traceback: bool = False


def parse(argv: Sequence[str]) -> Invocation | None:
    """The invocation `argv` asks for, or None where the full CLI must parse it."""
    index, directory, quiet, traceback = 0, None, False, False
    while index < len(argv) and argv[index].startswith("-"):
        arg = argv[index]
        if arg == "-C" and index + 1 < len(argv):
            directory = argv[index + 1]
            index += 1
        elif arg in QUIET:
            quiet = True
        elif arg == "--traceback":
            traceback = True
        else:
            return None
        index += 1
    if index == len(argv) or argv[index] not in COMMAND_OPTIONS:
        return None
    command = argv[index]
    params = _parse_command(COMMAND_OPTIONS[command], argv[index + 1 :], POSITIONAL[command])
    if params is None or (command == "add" and not params["paths"]):
        return None
    return Invocation(command, params, directory, quiet, traceback)


def _parse_command(options: Options, args: Sequence[str], positional: str) -> dict[str, Any] | None:
    params: dict[str, Any] = {positional: []}
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if not arg.startswith("-"):
            params[positional].append(arg)
            continue
        spelling, equals, value = arg.partition("=")
        if spelling not in options or (equals and not spelling.startswith("--")):
            return None
        name, kind = options[spelling]
        if kind == "flag":
            if equals:
                return None
            params[name] = True
            continue
        if not equals:
            if index == len(args) or args[index].startswith("-"):
                return None
            value = args[index]
            index += 1
        if kind == "list":
            params.setdefault(name, []).append(value)
        else:
            params[name] = Path(value) if name in PATH_PARAMETERS else value
    return params


def run_fast(argv: Sequence[str]) -> int | None:
    """Run `argv` if it is a usual form of a hot command: its exit code, else None."""
    invocation = parse(argv)
    if invocation is None:
        return None
    from gitmodel.cli import coreops
    from gitmodel.cli.common import change_directory, handle_errors, set_quiet
    from gitmodel.errorfunnel import show_tracebacks

    operations: dict[str, Callable[..., None]] = {
        "add": coreops.run_add,
        "status": coreops.run_status,
        "checkout": coreops.run_checkout,
    }
    show_tracebacks(invocation.traceback)
    set_quiet(invocation.quiet)
    try:
        if invocation.directory is not None:
            change_directory(invocation.directory)
        handle_errors(operations[invocation.command])(**invocation.params)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
