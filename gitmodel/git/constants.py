"""Git's fixed object ids."""

from __future__ import annotations

# The all-zero id Git passes to hooks for "no commit" (a new branch, a deleted ref).
ZERO_SHA = "0" * 40

# Git's empty tree, in SHA-1 and SHA-256 repositories: often not in the object store (Git
# knows it without storing it).
EMPTY_TREES = (
    b"4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    b"6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
)


def is_null_oid(oid: str) -> bool:
    """Git's all-zero id ("no commit"): 40 zeros in SHA-1 repositories, 64 in SHA-256 ones."""
    return bool(oid) and oid.strip("0") == ""
