"""Link modes: how an object reaches the work tree (reflink, hardlink, symlink or copy)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from gitmodel.cache.tempfiles import WorkTemps
from gitmodel.errors import GitModelError, UsageError
from gitmodel.fsutil import (
    PREALLOCATE_MIN_SIZE,
    hard_link,
    preallocate,
    remove_quietly,
    try_link,
)

LINK_MODES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINK_MODES = ("reflink", "copy")


def parse_link_modes(value: str | None) -> tuple[str, ...]:
    """Parse `model.linkType`: an ordered, comma-separated preference list."""
    if value is None or not value.strip():
        return DEFAULT_LINK_MODES
    modes = tuple(part.strip() for part in value.split(",") if part.strip())
    for mode in modes:
        if mode not in LINK_MODES:
            raise UsageError(
                f"model.linkType: unknown link mode {mode!r}",
                "use a comma-separated list of reflink, hardlink, symlink, copy "
                "(e.g. `git config model.linkType reflink,copy`)",
            )
    return modes


# (object folder, destination device) pairs where reflink was refused: not tried again there,
# so that a folder of many files on a file system without clones costs one failed attempt.
_NO_REFLINK: set[tuple[str, int]] = set()
_DEVICE_OF_FOLDER: dict[str, int] = {}


def materialise(
    object_path: Path | str, dest: Path, modes: Sequence[str], executable: bool, temps: WorkTemps
) -> str:
    """Put the object's bytes at `dest` atomically, using the first mode that works here.

    A copy is made under a temp name from `temps` (where Git never sees it, if it can) and
    renamed onto `dest`.

    Returns the mode used. Copies and clones are writable; hard and symbolic links share the
    read-only object, so an in-place edit cannot corrupt the cache. Missing parent folders
    are made (looked for only when the first attempt fails: most parents exist).
    """
    source = os.fspath(object_path)
    target = os.fspath(dest)
    try:
        return _place(source, target, modes, executable, temps)
    except FileNotFoundError:
        if os.path.isdir(os.path.dirname(target)):
            raise  # the object itself is missing
    dest.parent.mkdir(parents=True, exist_ok=True)  # makes it, or raises as it should
    return _place(source, target, modes, executable, temps)


def _place(
    source: str, target: str, modes: Sequence[str], executable: bool, temps: WorkTemps
) -> str:
    parent = os.path.dirname(target)
    file_mode = 0o755 if executable else 0o644
    for mode in modes:
        if mode in ("hardlink", "symlink"):
            # A link appears whole or not at all, so where nothing is in the way it can be
            # made in place, without a temp file and a rename.
            try:
                if _link(mode, source, target):
                    return mode
                continue
            except FileExistsError:
                pass  # something is in the way: replace it atomically below
        if mode == "reflink":
            clone_key = (os.path.dirname(os.path.dirname(source)), _device_of(parent))
            if clone_key in _NO_REFLINK:
                continue
        temp = temps.name_for(target)
        done = False
        try:
            if mode in ("hardlink", "symlink") and _link(mode, source, temp):
                pass
            elif mode == "reflink":
                if not try_link(mode, Path(source), Path(temp)):
                    _NO_REFLINK.add(clone_key)
                    continue
                os.chmod(temp, file_mode)
            elif mode == "copy":
                copy_file(source, temp, file_mode)
            else:
                continue
            os.replace(temp, target)
            done = True
            return mode
        finally:
            if not done:
                remove_quietly(Path(temp))
    raise GitModelError(
        f"could not materialise {target}: no link mode in {list(modes)} works here",
        "add 'copy' to `git config model.linkType`",
    )


def _device_of(folder: str) -> int:
    device = _DEVICE_OF_FOLDER.get(folder)
    if device is None:
        device = _DEVICE_OF_FOLDER[folder] = os.stat(folder).st_dev
    return device


def _link(mode: str, source: str, dest: str) -> bool:
    """`try_link` for string paths; a hard link needs no Path objects (the hot case)."""
    if mode != "hardlink":
        return try_link(mode, Path(source), Path(dest))
    return hard_link(source, dest)


def copy_file(source: Path | str, dest: str, mode: int) -> None:
    """Copy `source` to a new file `dest` with permissions `mode`, in the kernel (sendfile).

    Like shutil.copyfile plus chmod, without its per-call checks that cost more than copying
    a small file.
    """
    src = os.open(source, os.O_RDONLY)
    try:
        dst = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            size = os.fstat(src).st_size
            if size >= PREALLOCATE_MIN_SIZE:
                preallocate(dst, size)
            offset = 0
            try:
                while sent := os.sendfile(dst, src, offset, 1 << 30):
                    offset += sent
            except OSError:
                if offset:
                    raise
                with open(src, "rb", closefd=False) as fsrc, open(dst, "wb", closefd=False) as fdst:
                    shutil.copyfileobj(fsrc, fdst)
            os.fchmod(dst, mode)
        finally:
            os.close(dst)
    finally:
        os.close(src)
