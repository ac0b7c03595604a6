"""Git LFS pointer stubs: what a Hugging Face clone holds where weights should be, when it was
cloned without Git LFS (or with GIT_LFS_SKIP_SMUDGE=1) and `git lfs pull` never ran."""

from __future__ import annotations

from collections.abc import Iterable

from gitmodel.errors import UsageError

# The Git LFS spec: a pointer file is under 1024 bytes and starts with its version line
# (hawser was the project's first name; its pointers are still read by git-lfs).
LFS_POINTER_MAX_SIZE = 1024
_VERSION_LINES = (
    b"version https://git-lfs.github.com/spec/",
    b"version https://hawser.github.com/spec/",
)


def is_lfs_stub(location: str, size: int) -> bool:
    """True if the file is a Git LFS pointer; reads at most 64 bytes, and only of small files."""
    if size >= LFS_POINTER_MAX_SIZE:
        return False
    try:
        with open(location, "rb") as f:
            head = f.read(64)
    except OSError:
        return False  # unreadable: the hashing that follows reports it properly
    return head.startswith(_VERSION_LINES)


def refuse_lfs_stubs(shown: str, stubs: Iterable[str]) -> None:
    """Refuse an artifact whose files (relative paths, "" for the artifact itself) are stubs."""
    found = list(stubs)
    if not found:
        return
    if found == [""]:
        what = f"{shown} is a Git LFS pointer file, not the model's bytes"
    else:
        listed = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        count = (
            "1 file is a Git LFS pointer file"
            if len(found) == 1
            else (f"{len(found)} files are Git LFS pointer files")
        )
        what = f"{shown}: {count}, not the model's bytes ({listed})"
    raise UsageError(
        what,
        "fetch the real files first: run `git lfs install` and `git lfs pull` in the repository "
        "it was cloned from; or pass --force to add the pointer files as they are",
    )
