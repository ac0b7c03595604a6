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
from gitmodel.progress import is_quiet

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Errors become one line and an exit code (errorfunnel.py). A command ends early with
    `SystemExit(code)`, which passes through untouched."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (Exception, KeyboardInterrupt) as exc:
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
