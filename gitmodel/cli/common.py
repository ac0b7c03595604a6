"""What every command shares and what does not need the CLI framework: error handling, the
global options' effects and output helpers. The fast path (cli/fast.py) runs the hot commands
with these alone, without importing typer."""

from __future__ import annotations

import errno
import functools
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from gitmodel.errors import GitModelError
from gitmodel.printable import printable
from gitmodel.progress import is_quiet

F = TypeVar("F", bound=Callable[..., Any])

_state = {"traceback": False}


def show_tracebacks(enabled: bool) -> None:
    _state["traceback"] = enabled


def handle_errors(func: F) -> F:
    """Errors become one line and exit 1; Ctrl-C exits 130; bugs exit 3 (with --traceback).

    A command ends early with `SystemExit(code)`, which passes through untouched."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except GitModelError as exc:
            if _state["traceback"]:
                traceback.print_exc()
            hint = f" ({exc.hint})" if exc.hint else ""
            print(printable(f"error: {exc.message}{hint}"), file=sys.stderr)
            raise SystemExit(exc.exit_code) from None
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            raise SystemExit(130) from None
        except BrokenPipeError:
            # the reader went away (`git model ls | head -1`): stop quietly, as git does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(141) from None
        except OSError as exc:
            if _state["traceback"]:
                traceback.print_exc()
            print(printable(f"error: {describe_os_error(exc)}"), file=sys.stderr)
            raise SystemExit(1) from None
        except Exception as exc:
            if _state["traceback"]:
                traceback.print_exc()
            print(
                printable(
                    f"error: internal error: {type(exc).__name__}: {exc} (this is a bug in "
                    "git-model; re-run with --traceback and report it)"
                ),
                file=sys.stderr,
            )
            raise SystemExit(3) from None

    return wrapper  # type: ignore[return-value]


OS_ERROR_HINTS = {
    errno.ENOENT: "check that the path and the folders above it exist",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EACCES: "check the permissions",
    errno.EPERM: "check the permissions",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "free some disk space, then run the command again",
    errno.EDQUOT: "you are over your disk quota: free some space, then run the command again",
    errno.EISDIR: "a folder is in the way: choose another path",
    errno.EEXIST: "something is already in the way at that path",
    errno.EFBIG: "a file size limit (the file system's, or `ulimit -f`) refuses a file this big",
}


def describe_os_error(exc: OSError) -> str:
    """One line for a failed file operation: what failed, where, and the hint that fits the
    cause (a missing folder is not a permission problem)."""
    where = f": {exc.filename}" if exc.filename else ""
    hint = OS_ERROR_HINTS.get(exc.errno or 0, "check the path, its permissions and free disk space")
    return f"{exc.strerror or exc}{where} ({hint})"


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
