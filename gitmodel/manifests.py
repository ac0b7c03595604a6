"""Manifests stored as objects: a folder's file list, and a safetensors file's tensor list.

Both are canonical JSON (sorted keys, no spaces), so equal content always gets an equal oid.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, NamedTuple

from gitmodel.errors import CorruptObjectError, PointerError
from gitmodel.hashing import all_oids, is_digest, is_oid
from gitmodel.pointer import check_relative_path, git_folder_error, has_git_segment

if TYPE_CHECKING:  # imported when used: checkout and add need neither
    from gitmodel.formats import TensorEntry
    from gitmodel.tensordiff import TensorRecord

MANIFEST_VERSION = 1
DIGEST_MANIFEST_VERSION = 2  # a folder manifest whose every file has a `digest`


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the artifact folder, POSIX
    oid: str
    size: int
    executable: bool = False
    tensors: str | None = None  # oid of the file's tensor manifest, if it has one
    digest: str | None = None  # "sha256:<64 hex>"; all of a manifest's files have one or none


def _canonical(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def encode_dir_manifest(entries: Iterable[FileEntry]) -> bytes:
    """The canonical JSON of a folder manifest, written out directly: the same bytes as
    `_canonical` of the document (keys sorted, no spaces), without building a dict per file
    and walking them with the generic encoder (a folder may hold many thousands of files)."""
    quote = encode_basestring  # JSON string literal, non-ASCII kept as is (ensure_ascii=False)
    ordered = sorted(entries, key=lambda e: e.path)
    with_digests = bool(ordered) and ordered[0].digest is not None
    if any((e.digest is not None) != with_digests for e in ordered):
        raise ValueError("a folder manifest needs a digest for every file or for none")
    parts = []
    for e in ordered:
        mode = '"755"' if e.executable else '"644"'
        item = f'{{"mode":{mode},"oid":{quote(e.oid)},"path":{quote(e.path)},"size":{e.size}'
        if with_digests:
            item = f'{{"digest":{quote(e.digest or "")},' + item[1:]
        parts.append(item + (f',"tensors":{quote(e.tensors)}}}' if e.tensors else "}"))
    version = DIGEST_MANIFEST_VERSION if with_digests else MANIFEST_VERSION
    return f'{{"files":[{",".join(parts)}],"kind":"dir","version":{version}}}'.encode()


class DirColumns(NamedTuple):
    """A folder manifest as parallel lists (index i is one file), plus the folders it implies.

    Built with a few C-speed passes over whole columns rather than an object per file: a
    checkout of a folder of many small files spends little else on the manifest.
    """

    paths: list[str]  # relative to the artifact folder, POSIX
    oids: list[str]
    sizes: list[int]
    executable: list[bool]
    tensors: list[str | None]
    folders: frozenset[str]  # every folder that holds a file, at any depth ("" excluded)
    digests: list[str | None]  # all None in a version-1 manifest


_DRIVE_IN_COLUMN_RE = re.compile(r"(?:^|\0)[A-Za-z]:")
_MODES = {"644": False, "755": True}


def decode_dir_columns(data: bytes, oid: str) -> DirColumns:
    """Decode and validate a folder manifest; refuses a malformed one with CorruptObjectError.

    Refused: a wrong version or kind; a path that is not a string, is empty, absolute, has an
    empty, "." or ".." segment, a backslash or NUL; the same path twice; a path that is also
    a folder of another path; a size that is not a non-negative integer; a mode other than
    644 or 755; a file or tensor-manifest oid that is not exactly `xxh128:<32 hex>`; in a
    version-2 manifest, a file without a `digest` of exactly `sha256:<64 hex>`. A path
    with a segment that names a Git folder (`sub/.git/config`) is refused with PointerError:
    the object is intact, what it asks for is unsafe.
    """
    try:
        doc = json.loads(data)
        version = doc.get("version")
        if version not in (MANIFEST_VERSION, DIGEST_MANIFEST_VERSION) or doc.get("kind") != "dir":
            raise ValueError("not a version-1 or version-2 folder manifest")
        files = doc["files"]
        if type(files) is not list:
            raise ValueError("files is not a list")
        paths = [f["path"] for f in files]
        oids = [f["oid"] for f in files]
        sizes = [f["size"] for f in files]
        modes = [f.get("mode", "644") for f in files]
        tensors = [f.get("tensors") for f in files]
        digests: list[str | None] = [None] * len(files)
        if version == DIGEST_MANIFEST_VERSION:
            digests = [f["digest"] for f in files]
            if not all(map(is_digest, digests)):
                raise ValueError(f"bad file digest {_first(digests, is_digest)!r}")
        folders = _check_paths(paths)
        if has_git_segment("\0".join(paths)):
            bad = next(p for p in paths if has_git_segment(p))
            raise git_folder_error(f"folder manifest {oid}: path {bad!r}")
        _check_oids(oids, "file")
        _check_oids([t for t in tensors if t is not None], "tensor manifest")
        if not set(map(type, sizes)) <= {int}:
            raise ValueError(
                f"a size is not an integer: {_first(sizes, lambda s: type(s) is int)!r}"
            )
        if sizes and min(sizes) < 0:
            raise ValueError(f"a size is negative: {min(sizes)}")
        if not set(map(type, modes)) <= {str} or not set(modes) <= _MODES.keys():
            raise ValueError(f"a mode is not 644 or 755: {_first(modes, _MODES.__contains__)!r}")
        executable = [_MODES[m] for m in modes]
        return DirColumns(paths, oids, sizes, executable, tensors, folders, digests)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptObjectError(
            f"folder manifest {oid} is not valid: {exc}",
            "delete it from the cache and fetch it again with `git model pull`",
        ) from None


def _first(values: Sequence[object], good: Callable[[Any], object]) -> object:
    """The first value for which `good` is false (to name it in an error)."""
    return next((v for v in values if not good(v)), None)


def _check_oids(oids: list[str], what: str) -> None:
    if not all_oids(oids):
        bad = _first(oids, lambda o: type(o) is str and is_oid(o))
        raise ValueError(f"bad {what} oid {bad!r}")


def _check_paths(paths: list[str]) -> frozenset[str]:
    """Validate the path column; returns every folder the paths imply."""
    if not paths:
        return frozenset()
    if not set(map(type, paths)) <= {str}:
        raise ValueError(f"a path is not a string: {_first(paths, lambda p: type(p) is str)!r}")
    joined = "\0".join(paths)
    # One pass over all paths: NUL separates them, so a NUL inside one shows as an extra
    # separator; as "/" it turns every path's start and end into segment boundaries.
    slashed = "/" + joined.replace("\0", "/") + "/"
    if (
        joined.count("\0") != len(paths) - 1
        or "\\" in joined
        or "//" in slashed
        or "/./" in slashed
        or "/../" in slashed
        or _DRIVE_IN_COLUMN_RE.search(joined)
    ):
        for path in paths:  # rare: find the culprit, to name it
            try:
                check_relative_path(path, "manifest")
            except PointerError as exc:
                raise ValueError(exc.message.removeprefix("manifest: ")) from None
            if "" in path.split("/"):
                raise ValueError(f"path {path!r} has an empty segment")
        raise ValueError("a path is invalid")  # pragma: no cover - the loop names it
    unique = set(paths)
    if len(unique) != len(paths):
        from collections import Counter

        duplicate = next(p for p, n in Counter(paths).items() if n > 1)
        raise ValueError(f"path {duplicate!r} is listed twice")
    if "/" not in joined:
        return frozenset()  # a flat folder
    folders: set[str] = set()
    for parent in {p.rpartition("/")[0] for p in paths}:
        while parent and parent not in folders:
            folders.add(parent)
            parent = parent.rpartition("/")[0]
    clash = folders & unique
    if clash:
        raise ValueError(f"path {min(clash)!r} is both a file and a folder")
    return frozenset(folders)


def decode_dir_manifest(data: bytes, oid: str) -> list[FileEntry]:
    c = decode_dir_columns(data, oid)
    return [
        FileEntry(*entry)
        for entry in zip(c.paths, c.oids, c.sizes, c.executable, c.tensors, c.digests, strict=True)
    ]


def encode_tensor_manifest(
    format_name: str, tensors: Sequence[TensorEntry], oids: Sequence[str]
) -> bytes:
    """The canonical JSON of a tensor manifest, written out directly like `encode_dir_manifest`:
    a dict per tensor would cost several times the header's size in memory."""
    quote = encode_basestring
    parts = [
        f'{{"begin":{t.begin},"dtype":{quote(t.dtype)},"end":{t.end},"name":{quote(t.name)},'
        f'"oid":{quote(oid)},"shape":[{",".join(map(str, t.shape))}]}}'
        for t, oid in sorted(zip(tensors, oids, strict=True), key=lambda pair: pair[0].name)
    ]
    return (
        f'{{"format":{quote(format_name)},"tensors":[{",".join(parts)}],'
        f'"version":{MANIFEST_VERSION}}}'
    ).encode()


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
