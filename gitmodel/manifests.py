"""Manifests stored as objects: a folder's file list, and a safetensors file's tensor list.

Both are canonical JSON (sorted keys, no spaces), so equal content always gets an equal oid.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import TYPE_CHECKING

from gitmodel.errors import CorruptObjectError
from gitmodel.formats import TensorEntry
from gitmodel.hashing import is_oid
from gitmodel.pointer import check_relative_path

if TYPE_CHECKING:  # imported when decoding: `add` never needs it
    from gitmodel.tensordiff import TensorRecord

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the artifact folder, POSIX
    oid: str
    size: int
    executable: bool = False
    tensors: str | None = None  # oid of the file's tensor manifest, if it has one


def _canonical(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode_dir_manifest(entries: Iterable[FileEntry]) -> bytes:
    """The canonical JSON of a folder manifest, written out directly: the same bytes as
    `_canonical` of the document (keys sorted, no spaces), without building a dict per file
    and walking them with the generic encoder (a folder may hold many thousands of files)."""
    quote = encode_basestring  # JSON string literal, non-ASCII kept as is (ensure_ascii=False)
    parts = []
    for e in sorted(entries, key=lambda e: e.path):
        mode = '"755"' if e.executable else '"644"'
        item = f'{{"mode":{mode},"oid":{quote(e.oid)},"path":{quote(e.path)},"size":{e.size}'
        parts.append(item + (f',"tensors":{quote(e.tensors)}}}' if e.tensors else "}"))
    return f'{{"files":[{",".join(parts)}],"kind":"dir","version":{MANIFEST_VERSION}}}'.encode()


def decode_dir_manifest(data: bytes, oid: str) -> list[FileEntry]:
    try:
        doc = json.loads(data)
        if doc.get("version") != MANIFEST_VERSION or doc.get("kind") != "dir":
            raise ValueError("not a version-1 folder manifest")
        entries = []
        for item in doc["files"]:
            path, file_oid, size = item["path"], item["oid"], item["size"]
            if not isinstance(path, str) or not is_oid(file_oid) or type(size) is not int:
                raise ValueError(f"bad entry {item!r}")
            check_relative_path(path, f"manifest {oid}")
            entries.append(
                FileEntry(path, file_oid, size, item.get("mode") == "755", item.get("tensors"))
            )
        return entries
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptObjectError(
            f"folder manifest {oid} is not valid: {exc}",
            "delete it from the cache and fetch it again with `git model pull`",
        ) from None


def encode_tensor_manifest(
    format_name: str, tensors: Sequence[TensorEntry], oids: Sequence[str]
) -> bytes:
    items = [
        {
            "name": t.name,
            "dtype": t.dtype,
            "shape": list(t.shape),
            "begin": t.begin,
            "end": t.end,
            "oid": oid,
        }
        for t, oid in sorted(zip(tensors, oids, strict=True), key=lambda pair: pair[0].name)
    ]
    return _canonical({"version": MANIFEST_VERSION, "format": format_name, "tensors": items})


@dataclass(frozen=True)
class TensorSummary:
    parameters: int
    tensors: int
    dtypes: frozenset[str]


def tensor_summary(data: bytes, oid: str) -> TensorSummary:
    try:
        items = json.loads(data)["tensors"]
        return TensorSummary(
            parameters=sum(math.prod(t["shape"]) for t in items),
            tensors=len(items),
            dtypes=frozenset(t["dtype"] for t in items),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptObjectError(
            f"tensor manifest {oid} is not valid: {exc}",
            "delete it from the cache and re-add the artifact",
        ) from None


def decode_tensor_manifest(data: bytes, oid: str) -> list[TensorRecord]:
    from gitmodel.tensordiff import TensorRecord

    try:
        return [
            TensorRecord(t["name"], t["dtype"], tuple(t["shape"]), t["oid"])
            for t in json.loads(data)["tensors"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptObjectError(
            f"tensor manifest {oid} is not valid: {exc}",
            "delete it from the cache and re-add the artifact",
        ) from None
