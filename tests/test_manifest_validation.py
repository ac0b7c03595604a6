"""Folder manifests are decoded in columns and refused whole when any entry is malformed;
oids are exactly `xxh128:<32 hex>` (no trailing newline)."""

from __future__ import annotations

import json

import pytest

from gitmodel.errors import CorruptObjectError
from gitmodel.hashing import all_oids, is_oid
from gitmodel.manifests import decode_dir_columns, decode_dir_manifest, encode_dir_manifest
from gitmodel.pointer import PointerError, parse_pointer

OID_A = "xxh128:" + "a" * 32
OID_B = "xxh128:" + "b" * 32


def manifest(*files: dict[str, object]) -> bytes:
    return json.dumps({"version": 1, "kind": "dir", "files": list(files)}).encode()


def entry(
    path: object, oid: object = OID_A, size: object = 4, **extra: object
) -> dict[str, object]:
    return {"path": path, "oid": oid, "size": size, "mode": "644", **extra}


def test_manifest_round_trip_and_folders() -> None:
    data = encode_dir_manifest(decode_dir_manifest(manifest(entry("a/b/c.bin"), entry("d")), "m"))
    columns = decode_dir_columns(data, "m")
    assert columns.paths == ["a/b/c.bin", "d"]
    assert columns.folders == frozenset({"a", "a/b"})
    assert decode_dir_columns(manifest(), "m").paths == []


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ([entry("a//b")], "path 'a//b' has an empty segment"),
        ([entry("a/")], "path 'a/' has an empty segment"),
        ([entry("")], "path '' is empty or has a backslash or NUL"),
        (
            [entry("/etc/passwd")],
            "path '/etc/passwd' is absolute; it must be relative to the pointer",
        ),
        (
            [entry("a/../../x")],
            "path 'a/../../x' contains '..' or '.'; it must stay beside the pointer",
        ),
        ([entry("./x")], "path './x' contains '..' or '.'; it must stay beside the pointer"),
        ([entry("a\\b")], "path 'a\\\\b' is empty or has a backslash or NUL"),
        ([entry("a\0b")], "path 'a\\x00b' is empty or has a backslash or NUL"),
        ([entry("C:x")], "path 'C:x' is absolute; it must be relative to the pointer"),
        ([entry(7)], "a path is not a string: 7"),
        ([entry("x"), entry("x", OID_B)], "path 'x' is listed twice"),
        ([entry("a"), entry("a/b")], "path 'a' is both a file and a folder"),
        ([entry("a/b"), entry("a/b/c/d")], "path 'a/b' is both a file and a folder"),
        ([entry("x", size=-1)], "a size is negative: -1"),
        ([entry("x", size=True)], "a size is not an integer: True"),
        ([entry("x", size=4.0)], "a size is not an integer: 4.0"),
        ([entry("x", oid=OID_A + "\n")], "bad file oid 'xxh128:" + "a" * 32 + "\\n'"),
        ([entry("x", oid="xxh128:" + "A" * 32)], "bad file oid 'xxh128:" + "A" * 32 + "'"),
        ([entry("x", tensors="xxh128:12")], "bad tensor manifest oid 'xxh128:12'"),
        ([entry("x", mode="777")], "a mode is not 644 or 755: '777'"),
        ([{"oid": OID_A, "size": 1}], "'path'"),
    ],
)
def test_manifest_refusals(files: list[dict[str, object]], reason: str) -> None:
    with pytest.raises(CorruptObjectError) as caught:
        decode_dir_columns(manifest(*files), "xxh128:" + "0" * 32)
    assert caught.value.message == f"folder manifest xxh128:{'0' * 32} is not valid: {reason}"


def test_oid_with_trailing_newline_is_no_oid() -> None:
    assert is_oid(OID_A)
    assert not is_oid(OID_A + "\n")
    assert all_oids([OID_A, OID_B]) and all_oids([])
    assert not all_oids([OID_A, OID_B + "\n"])
    assert not all_oids([OID_A + "\n" + OID_B])  # two oids in one string are not one oid
    text = f'version = 1\nname = "m"\npath = "m.bin"\noid = "{OID_A}\\n"\nsize = 1\nkind = "file"\n'
    with pytest.raises(PointerError):
        parse_pointer(text.encode(), "m.bin.gitmodel")


def test_name_with_trailing_newline_is_refused() -> None:
    text = 'version = 1\nname = "m\\n"\npath = "m.bin"\noid = "OID"\nsize = 1\nkind = "file"\n'
    with pytest.raises(PointerError) as caught:
        parse_pointer(text.replace("OID", OID_A).encode(), "m.bin.gitmodel")
    assert "name" in caught.value.message
