"""Sizes recorded in pointers and folder manifests, against the bytes they name.

A pointer's `size` and each manifest entry's `size` must equal the size of the object they
name (and a folder pointer's `size`, the sum of its manifest's sizes). Anything else is
corruption of the pointer or the manifest: refused before the bytes are used. The checks
compare with a stat the caller already has; none of them reads a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from gitmodel.errors import CorruptObjectError
from gitmodel.manifests import DirColumns

HINT = (
    "a pointer or folder manifest was damaged or edited by hand: restore the pointer from Git "
    "(git checkout -- POINTER) or run `git model add` on the artifact again"
)


def wrong_size(what: str, expected: int, oid: str, actual: int) -> CorruptObjectError:
    """`what` says `expected` bytes, but object `oid` holds `actual`."""
    return CorruptObjectError(
        f"{what} says size = {expected}, but object {oid} holds {actual} bytes", HINT
    )


def check_file_size(what: str, oid: str, expected: int, st: os.stat_result | None) -> None:
    """`st`: the stat of object `oid` (None if it is not there: nothing to compare)."""
    if st is not None and st.st_size != expected:
        raise wrong_size(what, expected, oid, st.st_size)


def check_folder_sizes(
    pointer_file: str,
    manifest_oid: str,
    pointer_size: int,
    files: DirColumns,
    stats: Mapping[str, os.stat_result],
) -> None:
    """The folder pointer's total, and each entry against its object's stat (where given)."""
    total = sum(files.sizes)
    if total != pointer_size:
        raise CorruptObjectError(
            f"{pointer_file} says size = {pointer_size}, but the files of its folder manifest "
            f"{manifest_oid} add up to {total} bytes",
            HINT,
        )
    get = stats.get
    for path, oid, size in zip(files.paths, files.oids, files.sizes, strict=True):
        st = get(oid)
        if st is not None and st.st_size != size:
            what = f"{pointer_file}: folder manifest {manifest_oid} entry {path!r}"
            raise wrong_size(what, size, oid, st.st_size)


def size_mismatches(
    oid: str, actual: int, claims: Mapping[str, Mapping[int, str]]
) -> list[tuple[int, str]]:
    """The sizes recorded for `oid` (reachability.Needed.sizes) other than its `actual` one,
    each with who records it."""
    return [
        (expected, what) for expected, what in claims.get(oid, {}).items() if expected != actual
    ]


def check_claimed_size(oid: str, actual: int, claims: Mapping[str, Mapping[int, str]]) -> None:
    for expected, what in size_mismatches(oid, actual, claims)[:1]:
        raise wrong_size(what, expected, oid, actual)
