"""Temp files that a killed process leaves behind, and how the next run finds and removes them.

Every temp name carries an owner token `<pid>-<random>`. While a process may still use its
temps it holds an exclusive flock on `<token>.owner` in the temp folder. A later run that can
take that lock knows the owner is gone (killed, crashed, or done) and removes what its token
names: a lock is released by the kernel when its holder dies, so this needs no clock and
trusts no pid (pids are reused). The owner file appears already locked (made under another
name, locked, then renamed), so no sweep ever sees it unlocked while its owner lives.

Temps that become work-tree files by a rename are made where Git never sees them: in the
cache's temp folder, or else in the Git dir's, whichever is on the work tree's file system
(a rename cannot cross file systems). Only where neither is, the temp goes beside its target
under a name that `info/exclude` tells Git to ignore, and the next run removes it there.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import os
import shutil
import time
import weakref
from pathlib import Path

OWNER_SUFFIX = ".owner"
BESIDE_MARK = ".gitmodel-tmp-"  # `.<name>.gitmodel-tmp-<token>-<n>` beside a target
EXCLUDE_PATTERN = f".*{BESIDE_MARK}*"
# Temps without an owner file (from older releases, or a sweep that was itself killed) are
# removed once they are this old.
UNOWNED_TEMP_SECONDS = 24 * 3600


class TempFolder:
    """A folder for temp files, with this process's owner token (made on first use)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._token: str | None = None
        self._numbers = itertools.count()
        self._device: int | None = None

    def token(self) -> str:
        """This process's owner token here, its owner file locked from now on."""
        if self._token is None:
            os.makedirs(self.path, exist_ok=True)
            token = f"{os.getpid()}-{os.urandom(4).hex()}"
            making = f"{self.path}/{token}-owner"  # a temp of its own token: swept with it
            fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(making, f"{self.path}/{token}{OWNER_SUFFIX}")
            weakref.finalize(self, _release, fd, f"{self.path}/{token}{OWNER_SUFFIX}")
            self._token = token
        return self._token

    def new_name(self) -> str:
        """A fresh path in this folder (nothing is created there), removed by a later sweep
        if this process dies before it renames or removes it."""
        return f"{self.path}/{self.token()}-{next(self._numbers)}"

    def device(self) -> int:
        """The device of this folder, or of its nearest existing parent (none is made)."""
        if self._device is None:
            folder = self.path
            while True:
                try:
                    self._device = os.stat(folder).st_dev
                    break
                except FileNotFoundError:
                    folder = os.path.dirname(folder)
        return self._device

    def sweep(self) -> list[str]:
        """Remove the temps of owners that are gone; returns their names."""
        try:
            entries = list(os.scandir(self.path))
        except OSError:  # none yet, or not readable: nothing to sweep
            return []
        owners = {e.name[: -len(OWNER_SUFFIX)] for e in entries if e.name.endswith(OWNER_SUFFIX)}
        dead = {token for token in owners if not owner_alive(self.path, token)}
        cutoff = time.time() - UNOWNED_TEMP_SECONDS
        removed = []
        for entry in entries:
            if entry.name.endswith(OWNER_SUFFIX):
                continue
            token = _token_of(entry.name)
            if token in owners and token not in dead:
                continue
            if token not in owners and _mtime(entry) > cutoff:
                continue
            remove_tree_or_file(entry.path)
            removed.append(entry.name)
        for token in dead:  # last: a sweep killed midway leaves unowned temps, not live ones
            remove_tree_or_file(f"{self.path}/{token}{OWNER_SUFFIX}")
        return removed


def owner_alive(folder: str, token: str) -> bool:
    """Whether the owner of `token` still holds its lock in `folder` (False if no owner file)."""
    try:
        fd = os.open(f"{folder}/{token}{OWNER_SUFFIX}", os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # not ours to judge (another user's, in a shared cache): left alone
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return True
        raise
    finally:
        os.close(fd)  # also releases the lock just taken
    return False


def _release(fd: int, owner_file: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(owner_file)
    os.close(fd)


def _token_of(name: str) -> str:
    """`<pid>-<random>` of a temp name `<pid>-<random>-<rest>` (anything else: itself)."""
    parts = name.split("-", 2)
    return f"{parts[0]}-{parts[1]}" if len(parts) == 3 else name


def _mtime(entry: os.DirEntry[str]) -> float:
    try:
        return entry.stat(follow_symlinks=False).st_mtime
    except FileNotFoundError:
        return 0.0


def remove_tree_or_file(path: str) -> None:
    """Remove a temp file or a temp folder; best effort (a sweep never fails a command)."""
    try:
        os.unlink(path)
    except IsADirectoryError:
        shutil.rmtree(path, ignore_errors=True)
    except OSError:
        pass  # gone already, or not ours to remove (another user's, in a shared cache)


class WorkTemps:
    """Temp names for files and folders that a rename turns into work-tree paths.

    `folders`: the cache's temp folder, then the Git dir's; the first on the target's file
    system is used. `exclude_file`: the repository's `info/exclude`, where the pattern for
    temps beside their targets is added before the first one is made.
    """

    def __init__(self, folders: list[TempFolder], exclude_file: Path) -> None:
        self.folders = folders
        self.exclude_file = exclude_file
        self._device_of_parent: dict[str, int] = {}
        self._excluded = False

    def name_for(self, target: str) -> str:
        """Where to make the temp that becomes `target` (its folder must exist)."""
        parent, name = os.path.split(target)
        for folder in self._folders_for(parent):
            with contextlib.suppress(OSError):  # e.g. a read-only cache: try the next one
                return folder.new_name()
        if not self._excluded:
            from gitmodel.gitignore import append_line_once

            append_line_once(self.exclude_file, EXCLUDE_PATTERN)
            self._excluded = True
        owner = self.folders[0]
        return f"{parent}/.{name}{BESIDE_MARK}{owner.token()}-{next(owner._numbers)}"

    def sweep(self) -> None:
        """Remove what killed runs left in the temp folders."""
        for folder in self.folders:
            folder.sweep()

    def sweep_beside(self, target: str) -> None:
        """Remove temps of gone owners left beside `target`, and in it if it is a folder
        (only where temps go beside their targets: on another file system)."""
        parent, name = os.path.split(target)
        try:
            if self._folders_for(parent):
                return
        except (FileNotFoundError, NotADirectoryError):
            return
        self._sweep_names(parent, f".{name}{BESIDE_MARK}")
        if os.path.isdir(target) and not os.path.islink(target):
            for folder, _, _ in os.walk(target):
                self._sweep_names(folder, ".")

    def _sweep_names(self, folder: str, prefix: str) -> None:
        entries: list[os.DirEntry[str]] = []
        with contextlib.suppress(OSError), os.scandir(folder) as it:
            entries = list(it)
        owner = self.folders[0].path
        for entry in entries:
            mark = entry.name.find(BESIDE_MARK)
            if entry.name.startswith(prefix) and mark > 0:
                token = _token_of(entry.name[mark + len(BESIDE_MARK) :])
                if not owner_alive(owner, token):
                    remove_tree_or_file(entry.path)

    def _folders_for(self, parent: str) -> list[TempFolder]:
        """The temp folders on the file system of `parent` (which must exist)."""
        device = self._device_of_parent.get(parent)
        if device is None:
            device = self._device_of_parent[parent] = os.stat(parent).st_dev
        return [folder for folder in self.folders if folder.device() == device]
