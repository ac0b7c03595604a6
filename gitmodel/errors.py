"""One exception family: every error carries a message and a hint for what to do next."""

from __future__ import annotations


class Terminated(KeyboardInterrupt):
    """SIGTERM (what `timeout`, CI runners and service managers send), turned into an exception
    so that a command stops as cleanly as on Ctrl-C: a push aborts its uploads, temp files go."""


class GitModelError(Exception):
    """An error the user can act on. The CLI prints `message` and `hint`, exits 1."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class PointerError(GitModelError):
    """A pointer file is malformed, too large, or names an unsafe path."""


class ObjectMissingError(GitModelError):
    """An object a pointer names is not in the cache."""


class CorruptObjectError(GitModelError):
    """An object's bytes no longer hash to its oid."""


class WouldOverwriteError(GitModelError):
    """A command would overwrite or delete work-tree bytes that are not in the cache."""


class GitError(GitModelError):
    """The git binary failed or the directory is not a Git repository."""


class UsageError(GitModelError):
    """Arguments or input files the command cannot accept."""


class InstallationError(GitModelError):
    """git-model itself is installed incompletely (a file the package should ship is missing)."""
