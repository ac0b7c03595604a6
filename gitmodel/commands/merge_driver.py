"""The `*.gitmodel` merge driver: a three-way merge of pointers, field by field.

The artifact (oid, digest, size, kind, format, lineage) merges as one unit; each metric and
param key merges on its own. Identical sides merge; a side equal to the base takes the other;
both sides changing the same unit differently is a conflict, written with readable markers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

from gitmodel.errors import GitModelError
from gitmodel.pointer import Pointer, format_pointer, parse_pointer
from gitmodel.table import format_metrics
from gitmodel.tomlfmt import Scalar

_MISSING = object()


@dataclass(frozen=True)
class MergeOutcome:
    data: bytes
    conflict: bool
    clashes: tuple[str, ...] = ()


def merge_pointer_bytes(base: bytes, ours: bytes, theirs: bytes, path: str) -> MergeOutcome:
    if ours == theirs:
        return MergeOutcome(ours, False)
    if base == ours:
        return MergeOutcome(theirs, False)
    if base == theirs:
        return MergeOutcome(ours, False)
    try:
        a = parse_pointer(ours, f"{path} (ours)", location=path)
        b = parse_pointer(theirs, f"{path} (theirs)", location=path)
        o = parse_pointer(base, f"{path} (base)") if base.strip() else None
    except GitModelError as exc:
        return MergeOutcome(_markers(ours, theirs, None, None, exc.message), True, ("pointer",))
    merged, clashes = merge_pointers(o, a, b)
    if clashes or merged is None:
        return MergeOutcome(_markers(ours, theirs, a, b, ", ".join(clashes)), True, tuple(clashes))
    return MergeOutcome(format_pointer(merged), False)


def merge_pointers(
    base: Pointer | None, ours: Pointer, theirs: Pointer
) -> tuple[Pointer | None, list[str]]:
    clashes: list[str] = []

    def pick(label: str, o: object, a: object, b: object) -> object:
        if a == b or o == b:
            return a
        if o == a:
            return b
        clashes.append(label)
        return a

    def artifact(p: Pointer | None) -> object:
        if p is None:
            return None
        return (p.oid, p.digest, p.size, p.kind, p.format, p.lineage, p.path)

    chosen = pick("artifact", artifact(base), artifact(ours), artifact(theirs))
    source = ours if chosen == artifact(ours) else theirs
    name = pick("name", base.name if base else None, ours.name, theirs.name)
    tables: dict[str, dict[str, Scalar]] = {}
    for table in ("metrics", "params"):
        o_map: dict[str, Scalar] = getattr(base, table) if base else {}
        a_map: dict[str, Scalar] = getattr(ours, table)
        b_map: dict[str, Scalar] = getattr(theirs, table)
        merged: dict[str, Scalar] = {}
        for key in sorted(set(o_map) | set(a_map) | set(b_map)):
            value = pick(
                f"{table}.{key}",
                o_map.get(key, _MISSING),
                a_map.get(key, _MISSING),
                b_map.get(key, _MISSING),
            )
            if value is not _MISSING:
                merged[key] = cast(Scalar, value)
        tables[table] = merged
    if clashes:
        return None, clashes
    assert isinstance(name, str)
    return replace(source, name=name, metrics=tables["metrics"], params=tables["params"]), []


def _markers(ours: bytes, theirs: bytes, a: Pointer | None, b: Pointer | None, why: str) -> bytes:
    def label(p: Pointer | None) -> str:
        return f"{p.oid} {format_metrics(p.metrics, limit=6)}" if p else "unreadable pointer"

    def body(data: bytes) -> bytes:
        return data if data.endswith(b"\n") or not data else data + b"\n"

    return (
        f"<<<<<<< ours: {label(a)}\n".encode()
        + body(ours)
        + f"======= git-model: both sides changed {why}\n".encode()
        + body(theirs)
        + f">>>>>>> theirs: {label(b)}\n".encode()
    )


def merge_driver(base_file: str, ours_file: str, theirs_file: str, path: str) -> int:
    """Git's merge driver protocol: read %O %A %B, write the result into %A; 0 = clean."""
    from pathlib import Path

    from gitmodel.fsutil import atomic_write_bytes

    base = Path(base_file).read_bytes()
    ours = Path(ours_file).read_bytes()
    theirs = Path(theirs_file).read_bytes()
    outcome = merge_pointer_bytes(base, ours, theirs, path)
    atomic_write_bytes(Path(ours_file), outcome.data)
    return 1 if outcome.conflict else 0
