"""The one place an exception becomes what the user sees: one line and an exit code, for
commands (prefix `error: `) and hooks (prefix `git-model HOOK: `) alike.

Errors of git-model exit 1 with their message and hint, Ctrl-C 130, SIGTERM 143 (128 + 15, as
a shell reports a process the signal ended), a reader that went away
(`git model ls | head -1`) 141 quietly, a failed file operation 1 with what failed and a hint
that fits the cause, and anything else, a bug, 3 (the traceback with --traceback).
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from dataclasses import dataclass

from gitmodel.errors import GitModelError, Terminated
from gitmodel.printable import printable

INTERNAL_ERROR_EXIT = 3

_state = {"traceback": False}


def show_tracebacks(enabled: bool) -> None:
    _state["traceback"] = enabled


@dataclass(frozen=True)
class Failure:
    line: str | None  # None: nothing to say
    exit_code: int


def describe_failure(exc: BaseException) -> Failure:
    """What to tell the user about `exc`, and the exit code."""
    if isinstance(exc, GitModelError):
        hint = f" ({exc.hint})" if exc.hint else ""
        return Failure(f"{exc.message}{hint}", exc.exit_code)
    if isinstance(exc, Terminated):
        return Failure("terminated", 143)
    if isinstance(exc, KeyboardInterrupt):
        return Failure("interrupted", 130)
    if isinstance(exc, BrokenPipeError):
        return Failure(None, 141)
    if isinstance(exc, OSError):
        return Failure(describe_os_error(exc), 1)
    return Failure(
        f"internal error: {type(exc).__name__}: {exc} (this is a bug in git-model; re-run "
        "with --traceback and report it)",
        INTERNAL_ERROR_EXIT,
    )


def report_failure(exc: BaseException, prefix: str = "error: ") -> int:
    """Tell the user about `exc` on stderr (one line, `prefix` first); returns the exit code."""
    failure = describe_failure(exc)
    if _state["traceback"] and not isinstance(exc, (KeyboardInterrupt, BrokenPipeError)):
        traceback.print_exception(exc)
    if isinstance(exc, BrokenPipeError):
        # the reader went away: stop quietly, as git does (and let the exit flush nothing)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if isinstance(exc, KeyboardInterrupt):
        print(failure.line, file=sys.stderr)  # the user knows why: no prefix
    elif failure.line is not None:
        print(printable(f"{prefix}{failure.line}"), file=sys.stderr)
    return failure.exit_code


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
    errno.ENOEXEC: "it is not a program this system can run: give it a #! line, or remove it",
}


def describe_os_error(exc: OSError) -> str:
    """One line for a failed file operation: what failed, where, and the hint that fits the
    cause (a missing folder is not a permission problem)."""
    where = f": {exc.filename}" if exc.filename else ""
    hint = OS_ERROR_HINTS.get(exc.errno or 0, "check the path, its permissions and free disk space")
    return f"{exc.strerror or exc}{where} ({hint})"
