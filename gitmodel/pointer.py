"""Pointer files (`<artifact>.gitmodel`): the canonical writer and the strict reader.

The format is specified in docs/pointer-format.md; tests pin its examples byte for byte.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitmodel.errors import PointerError
from gitmodel.hashing import is_digest, is_oid
from gitmodel.tomlfmt import Scalar, format_array, format_key, format_scalar, format_string

POINTER_SUFFIX = ".gitmodel"
POINTER_VERSION = 1  # what a pointer without a digest is written as
DIGEST_POINTER_VERSION = 2  # a pointer that records a digest
POINTER_VERSIONS = (POINTER_VERSION, DIGEST_POINTER_VERSION)
MAX_POINTER_SIZE = 64 * 1024
KINDS = ("file", "dir")
# The GTO artifact-name convention, so that names work inside Git tags GTO can read.
NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9/-]*[a-z0-9])?$")  # fullmatch: not "name\n"
GIT_OID_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")  # \Z: `$` allows a final newline
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
DATA_OID_RE = re.compile(r"^(?:xxh128:[0-9a-f]{32}|git:(?:[0-9a-f]{40}|[0-9a-f]{64}))\Z")
TOP_LEVEL_KEYS = ("version", "name", "path", "oid", "size", "kind")
DIGEST_KEY = "digest"  # required in version 2, refused in version 1
TABLE_KEYS = ("format", "metrics", "params", "lineage")
# Code points HFS+ ignores in file names (Git's utf8.c, next_hfs_char): on a Mac,
# ".g\u200cit" opens ".git".
_HFS_IGNORED = dict.fromkeys(
    [0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)
# A segment that a file system may take for Git's own folder, as Git's is_ntfs_dotgit and
# is_hfs_dotgit judge it: ".git" or its NTFS short name "git~1", in any ASCII case, then any
# dots or spaces (Windows drops them) and an optional alternate data stream (":...").
# Segments end at "/" or at the NUL that joins several paths.
_GIT_SEGMENT_RE = re.compile(
    r"(?:\A|[/\0])(?:\.git|git~1)[. ]*(?::[^/\0]*)?(?=[/\0]|\Z)", re.ASCII | re.IGNORECASE
)
# What a name that has_git_segment could refuse starts with: tests one character per name
# before the full check, since folder walks test every name they meet.
_GIT_NAME_STARTS = frozenset(".gG" + "".join(map(chr, _HFS_IGNORED)))

FactValue = Scalar | list[str]


@dataclass(frozen=True)
class DataRef:
    """A data set an artifact was trained or evaluated on, and the id of its content."""

    path: str
    oid: str


@dataclass(frozen=True)
class Lineage:
    commit: str | None
    dirty: bool
    data: tuple[DataRef, ...] = ()


@dataclass(frozen=True)
class FormatInfo:
    """The detected format and its cheap facts (parameters, dtypes, tensors, manifest oid)."""

    name: str
    facts: dict[str, FactValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Pointer:
    name: str
    path: str
    oid: str
    size: int
    kind: str
    format: FormatInfo | None = None
    metrics: dict[str, Scalar] = field(default_factory=dict)
    params: dict[str, Scalar] = field(default_factory=dict)
    lineage: Lineage | None = None
    digest: str | None = None  # "sha256:<64 hex>" of the content; makes it a version-2 pointer


def pointer_path_for(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + POINTER_SUFFIX)


def is_pointer_path(path: Path | str) -> bool:
    return str(path).endswith(POINTER_SUFFIX)


def format_pointer(pointer: Pointer) -> bytes:
    """The canonical bytes of a pointer: fixed key order, sorted maps, LF line ends."""
    validate_pointer(pointer)
    lines = [
        f"version = {POINTER_VERSION if pointer.digest is None else DIGEST_POINTER_VERSION}",
        f"name = {format_string(pointer.name)}",
        f"path = {format_string(pointer.path)}",
        f"oid = {format_string(pointer.oid)}",
    ]
    if pointer.digest is not None:
        lines.append(f"digest = {format_string(pointer.digest)}")
    lines += [f"size = {pointer.size}", f"kind = {format_string(pointer.kind)}"]
    if pointer.format is not None:
        lines += ["", "[format]", f"name = {format_string(pointer.format.name)}"]
        for key in sorted(pointer.format.facts):
            value = pointer.format.facts[key]
            text = format_array(list(value)) if isinstance(value, list) else format_scalar(value)
            lines.append(f"{format_key(key)} = {text}")
    for title, table in (("metrics", pointer.metrics), ("params", pointer.params)):
        if table:
            lines += ["", f"[{title}]"]
            lines += [f"{format_key(k)} = {format_scalar(table[k])}" for k in sorted(table)]
    if pointer.lineage is not None:
        lineage = pointer.lineage
        lines += ["", "[lineage]"]
        if lineage.commit is not None:
            lines.append(f"commit = {format_string(lineage.commit)}")
        lines.append(f"dirty = {format_scalar(lineage.dirty)}")
        for ref in lineage.data:
            lines += ["", "[[lineage.data]]", f"path = {format_string(ref.path)}"]
            lines.append(f"oid = {format_string(ref.oid)}")
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if len(data) > MAX_POINTER_SIZE:
        raise PointerError(
            f"pointer for {pointer.path!r} would be {len(data)} bytes, over the "
            f"{MAX_POINTER_SIZE}-byte cap",
            "keep metrics and params to the key figures; store full reports as artifacts",
        )
    return data


def parse_pointer(data: bytes, source: str = "pointer", *, location: str | None = None) -> Pointer:
    """Read pointer bytes strictly: anything not in the spec is refused with a clear error.

    `location`: where the pointer file is, relative to the repository root (or just its file
    name); the pointer must then name the artifact beside it (`P.gitmodel` names `P`).
    """
    if len(data) > MAX_POINTER_SIZE:
        raise PointerError(
            f"{source}: {len(data)} bytes, over the {MAX_POINTER_SIZE}-byte pointer cap",
            "a pointer is a small TOML file; is this an artifact named like a pointer?",
        )
    import tomllib  # lazily: a first `git model add` writes pointers but reads none

    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PointerError(
            f"{source}: not a valid pointer ({exc})",
            "restore it with `git checkout -- <pointer>` or re-run `git model add`",
        ) from None
    pointer = _pointer_from_doc(doc, source)
    if location is not None:
        check_pointer_location(pointer, location, source)
    return pointer


def _fail(source: str, what: str) -> PointerError:
    return PointerError(
        f"{source}: {what}",
        "restore it with `git checkout -- <pointer>` or re-run `git model add`; "
        "the format is in docs/pointer-format.md",
    )


def _pointer_from_doc(doc: dict[str, Any], source: str) -> Pointer:
    version = doc.get("version")
    if version is None:
        raise _fail(source, "missing required key 'version'")
    if type(version) is not int:
        raise _fail(source, f"'version' must be an integer, got {version!r}")
    if version not in POINTER_VERSIONS:
        raise PointerError(
            f"{source}: pointer version {version} is not supported (this git-model reads "
            f"versions {POINTER_VERSION} and {DIGEST_POINTER_VERSION})",
            "upgrade git-model if the pointer was written by a newer release",
        )
    with_digest = version == DIGEST_POINTER_VERSION
    if not with_digest and DIGEST_KEY in doc:
        raise _fail(source, f"'digest' needs 'version = {DIGEST_POINTER_VERSION}'")
    unknown = sorted(set(doc) - set(TOP_LEVEL_KEYS) - set(TABLE_KEYS) - {DIGEST_KEY})
    if unknown:
        raise _fail(source, f"unknown key {unknown[0]!r}")
    for key in TOP_LEVEL_KEYS + ((DIGEST_KEY,) if with_digest else ()):
        if key not in doc:
            raise _fail(source, f"missing required key {key!r}")
    size = doc["size"]
    pointer = Pointer(
        name=_string(doc, "name", source),
        path=_string(doc, "path", source),
        oid=_string(doc, "oid", source),
        size=size if type(size) is int else -1,
        kind=_string(doc, "kind", source),
        format=_format_from_doc(doc.get("format"), source),
        metrics=_scalars(doc.get("metrics", {}), "metrics", source),
        params=_scalars(doc.get("params", {}), "params", source),
        lineage=_lineage_from_doc(doc.get("lineage"), source),
        digest=_string(doc, DIGEST_KEY, source) if with_digest else None,
    )
    validate_pointer(pointer, source)
    return pointer


def _string(doc: dict[str, Any], key: str, source: str) -> str:
    value = doc[key]
    if not isinstance(value, str):
        raise _fail(source, f"{key!r} must be a string, got {value!r}")
    return value


def _format_from_doc(raw: object, source: str) -> FormatInfo | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise _fail(source, "[format] must be a table with a string 'name'")
    facts: dict[str, FactValue] = {}
    for key, value in raw.items():
        if key == "name":
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            facts[key] = list(value)
        elif isinstance(value, str | int | float | bool):
            facts[key] = value
        else:
            raise _fail(source, f"format fact {key!r} must be a scalar or a list of strings")
    return FormatInfo(name=raw["name"], facts=facts)


def _scalars(raw: object, table: str, source: str) -> dict[str, Scalar]:
    if not isinstance(raw, dict):
        raise _fail(source, f"[{table}] must be a table")
    flat: dict[str, Scalar] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            full = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(full, value)
            elif full in flat:
                raise _fail(source, f"{table} name {full!r} is defined twice")
            elif isinstance(value, str | int | float | bool):
                flat[full] = value
            else:
                raise _fail(source, f"{table} value {full!r} must be a number, string or bool")

    walk("", raw)
    return flat


def _lineage_from_doc(raw: object, source: str) -> Lineage | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail(source, "[lineage] must be a table")
    unknown = sorted(set(raw) - {"commit", "dirty", "data"})
    if unknown:
        raise _fail(source, f"unknown key 'lineage.{unknown[0]}'")
    commit = raw.get("commit")
    if commit is not None and (not isinstance(commit, str) or not GIT_OID_RE.match(commit)):
        raise _fail(source, f"lineage.commit must be a full Git commit id, got {commit!r}")
    dirty = raw.get("dirty", False)
    if not isinstance(dirty, bool):
        raise _fail(source, "lineage.dirty must be true or false")
    refs: list[DataRef] = []
    entries = raw.get("data", [])
    if not isinstance(entries, list):
        raise _fail(source, "lineage.data must be an array of tables")
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or set(entry) != {"path", "oid"}
            or not isinstance(entry["path"], str)
            or not isinstance(entry["oid"], str)
        ):
            raise _fail(source, "each [[lineage.data]] needs exactly a string 'path' and 'oid'")
        if not DATA_OID_RE.match(entry["oid"]):
            raise _fail(source, f"lineage data oid {entry['oid']!r} is not xxh128:… or git:…")
        refs.append(DataRef(path=entry["path"], oid=entry["oid"]))
    return Lineage(commit=commit, dirty=dirty, data=tuple(refs))


def validate_pointer(pointer: Pointer, source: str = "pointer") -> None:
    if not NAME_RE.fullmatch(pointer.name):
        raise _fail(
            source,
            f"model name {pointer.name!r} must be lowercase letters, digits, '-' or '/', "
            "starting and ending with a letter or digit",
        )
    check_relative_path(pointer.path, source)
    if not is_oid(pointer.oid):
        raise _fail(source, f"oid {pointer.oid!r} is not 'xxh128:' followed by 32 lowercase hex")
    if pointer.digest is not None and not is_digest(pointer.digest):
        raise _fail(
            source, f"digest {pointer.digest!r} is not 'sha256:' followed by 64 lowercase hex"
        )
    if type(pointer.size) is not int or pointer.size < 0:
        raise _fail(source, "'size' must be a non-negative integer")
    if pointer.kind not in KINDS:
        raise _fail(source, f"'kind' must be 'file' or 'dir', got {pointer.kind!r}")


def check_relative_path(path: str, source: str = "pointer") -> None:
    """A pointer's `path` is relative, POSIX, and never climbs out of the pointer's folder."""
    if not path or "\\" in path or "\x00" in path:
        raise _fail(source, f"path {path!r} is empty or has a backslash or NUL")
    if path[0] == "/" or _DRIVE_RE.match(path):
        raise _fail(source, f"path {path!r} is absolute; it must be relative to the pointer")
    # Called once per file of a folder manifest, so plain string work, no Path objects.
    if any(part in ("..", ".") for part in path.split("/")):
        raise _fail(source, f"path {path!r} contains '..' or '.'; it must stay beside the pointer")
    if has_git_segment(path):
        raise git_folder_error(f"{source}: path {path!r}")


def has_git_segment(paths: str) -> bool:
    """Whether a segment of `paths` ("/"-separated; several paths joined by NUL) may name
    Git's own folder on some file system: ".git", ".GIT", ".git. ", "git~1", ".git::$DATA",
    ".g\\u200cit" ... (docs/pointer-format.md, section 3.3). Plain string work: a folder
    manifest's whole path column is checked in one call."""
    if not paths.isascii():
        paths = paths.translate(_HFS_IGNORED)
    return "git" in paths.lower() and _GIT_SEGMENT_RE.search(paths) is not None


def is_git_name(name: str) -> bool:
    """`has_git_segment` for one file name, quick for the many names that cannot be one."""
    return name[:1] in _GIT_NAME_STARTS and has_git_segment(name)


def git_folder_error(what: str) -> PointerError:
    """`what` (e.g. "x.gitmodel: path '.git/hooks'") leads into a Git folder: never written."""
    return PointerError(
        f"{what} leads into a Git folder (.git, in a spelling Git refuses); "
        "git-model never writes there",
        "no pointer git-model writes names one: this was edited by hand or by a hostile "
        "commit (see who changed it: git log -p -- <pointer>)",
    )


def check_pointer_location(pointer: Pointer, location: str, source: str = "pointer") -> None:
    """The pointer file at `location` (relative to the repository root, or its file name)
    must name the artifact beside it: `P.gitmodel` names `P`, nothing else."""
    check_relative_path(location, source)
    name = location.rpartition("/")[2]
    if not name.endswith(POINTER_SUFFIX) or pointer.path != name.removesuffix(POINTER_SUFFIX):
        raise _fail(
            source,
            f"path {pointer.path!r} is not this pointer's own artifact "
            f"{name.removesuffix(POINTER_SUFFIX)!r} (the pointer for P is P.gitmodel, beside P)",
        )


def artifact_location(repo_root: Path, pointer_file: Path, pointer: Pointer) -> Path:
    """Where the artifact lives; refuses a path that resolves (through symlinks) out of the repo.

    A file artifact may itself be a symlink (the symlink link mode points it into the cache,
    which may be shared and outside the repository); only the folders on its way must stay in.
    """
    location = pointer_file.parent / pointer.path
    root = Path(os.path.realpath(repo_root))
    if pointer.kind == "file":
        resolved = Path(os.path.realpath(location.parent)) / location.name
    else:
        resolved = Path(os.path.realpath(location))
    if resolved != root and root not in resolved.parents:
        raise PointerError(
            f"{pointer_file}: path {pointer.path!r} resolves to {resolved}, outside the repository",
            "a symlink on the way leads out of the repository; remove it or move the artifact",
        )
    return location


def read_pointer(pointer_file: Path) -> Pointer:
    try:
        with pointer_file.open("rb") as f:
            data = f.read(MAX_POINTER_SIZE + 1)
    except FileNotFoundError:
        raise PointerError(
            f"{pointer_file}: no such pointer", "list pointers with `git model status`"
        ) from None
    return parse_pointer(data, str(pointer_file), location=pointer_file.name)


def write_pointer(pointer_file: Path, pointer: Pointer) -> None:
    from gitmodel.fsutil import atomic_write_bytes

    atomic_write_bytes(pointer_file, format_pointer(pointer))
