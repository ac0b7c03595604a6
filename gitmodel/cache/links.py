"""Link modes: how an object reaches the work tree (reflink, hardlink, symlink or copy)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from gitmodel.errors import GitModelError, UsageError
from gitmodel.fsutil import remove_quietly, temp_name_beside, try_link

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


def materialise(object_path: Path, dest: Path, modes: Sequence[str], executable: bool) -> str:
    """Put the object's bytes at `dest` atomically, using the first mode that works here.

    Returns the mode used. Copies and clones are writable; hard and symbolic links share the
    read-only object, so an in-place edit cannot corrupt the cache.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    file_mode = 0o755 if executable else 0o644
    for mode in modes:
        temp = temp_name_beside(dest)
        try:
            if mode in ("hardlink", "symlink") and try_link(mode, object_path, temp):
                pass
            elif mode == "reflink" and try_link(mode, object_path, temp):
                os.chmod(temp, file_mode)
            elif mode == "copy":
                shutil.copyfile(object_path, temp)
                os.chmod(temp, file_mode)
            else:
                continue
            os.replace(temp, dest)
            return mode
        finally:
            remove_quietly(temp)
    raise GitModelError(
        f"could not materialise {dest}: no link mode in {list(modes)} works here",
        "add 'copy' to `git config model.linkType`",
    )
