"""What every command shares and what does not need the CLI framework: error handling, the
global options' effects and output helpers. The fast path (cli/fast.py) runs the hot commands
with these alone, without importing typer."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from gitmodel.errorfunnel import report_failure
from gitmodel.printable import printable
from gitmodel.progress import TerminalProgress, terminal_progress

F = TypeVar("F", bound=Callable[..., Any])

# -q (global or the command's): no progress, no summaries. Set once the command line is
# parsed; the layers below never read it: they report progress to the callback given.
_output = {"quiet": False}
_progress_line: list[TerminalProgress] = []  # the one progress line, once a command wants it


def set_quiet(quiet: bool) -> None:
    _output["quiet"] = quiet


def is_quiet() -> bool:
    return _output["quiet"]


def progress_line() -> TerminalProgress | None:
    """Where a command's progress goes: a line on stderr if it is a terminal and -q was not
    given, else nowhere."""
    if is_quiet():
        return None
    if not _progress_line and (line := terminal_progress()) is not None:
        _progress_line.append(line)
    return _progress_line[0] if _progress_line else None


def _end_progress_line() -> None:
    if _progress_line:
        _progress_line[0].end()


def handle_errors(func: F) -> F:
    """Errors become one line and an exit code (errorfunnel.py). A command ends early with
    `SystemExit(code)`, which passes through untouched."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (Exception, KeyboardInterrupt) as exc:
            _end_progress_line()  # the error on a line of its own
            raise SystemExit(report_failure(exc)) from None

    return wrapper  # type: ignore[return-value]


def change_directory(directory: str | os.PathLike[str]) -> None:
    """`-C PATH`: run as if started there; one line and exit 1 if it is not a folder."""
    try:
        os.chdir(directory)
    except OSError:
        print(
            f"error: cannot change to {directory}: no such directory "
            "(pass an existing folder to -C)",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def say(text: str) -> None:
    if not is_quiet():
        print(printable(text))


def warn(text: str) -> None:
    print(printable(f"warning: {text}"), file=sys.stderr)


def print_json(value: object) -> None:
    import json

    json.dump(value, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
