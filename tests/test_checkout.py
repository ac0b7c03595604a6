"""`git model checkout` end to end: restoring versions, never losing uncached bytes."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
import xxhash

from tests.helpers import git, gm, gm_ok, object_path, write_safetensors

OVERWRITE_HINT = "(save them with `git model add`, or discard them with --force)"


def xxh(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


BERT_V1 = {
    "config.json": b'{"hidden": 8}\n',
    "tokenizer.json": b'{"vocab": ["a", "b"]}\n',
    "sub/dir/notes.txt": b"nested file\n",
    "run.sh": b"#!/bin/sh\necho serve\n",
}


def test_folder_rollback(repo: Path) -> None:
    bert = repo / "models" / "bert"
    for rel, data in BERT_V1.items():
        (bert / rel).parent.mkdir(parents=True, exist_ok=True)
        (bert / rel).write_bytes(data)
    (bert / "run.sh").chmod(0o755)
    weights = write_safetensors(bert / "model.safetensors", {"emb": ("F32", [3, 2], 5)})
    v1 = {**BERT_V1, "model.safetensors": weights}
    gm_ok(repo, "add", "models/bert")
    git(repo, "commit", "-q", "-m", "bert v1")

    (bert / "config.json").write_bytes(b'{"hidden": 16}\n')
    (bert / "tokenizer.json").unlink()
    (bert / "extra.txt").write_bytes(b"added in v2\n")
    gm_ok(repo, "add", "models/bert")
    git(repo, "commit", "-q", "-m", "bert v2")
    v2 = tree_bytes(bert)
    (bert / "mine.txt").write_bytes(b"my notes, never added\n")

    git(repo, "checkout", "-q", "HEAD~1")
    proc = gm(repo, "checkout")
    assert proc.returncode == 0
    assert proc.stdout == (
        "restored models/bert/config.json\n"
        "restored models/bert/tokenizer.json\n"
        "removed models/bert/extra.txt (not in this version; its bytes are in the cache)\n"
        "2 restored, 3 already up to date, 1 removed\n"
    )
    assert proc.stderr == (
        "warning: kept models/bert/mine.txt: not in the pointer's manifest and not in the cache\n"
    )
    assert tree_bytes(bert) == {**v1, "mine.txt": b"my notes, never added\n"}
    assert stat.S_IMODE((bert / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((bert / "config.json").stat().st_mode) == 0o644
    assert gm_ok(repo, "status") == "modified                models/bert/: +mine.txt\n"

    (bert / "mine.txt").unlink()
    assert gm_ok(repo, "status", "--check") == "up to date              models/bert/\n"
    git(repo, "checkout", "-q", "main")
    assert gm_ok(repo, "checkout") == (
        "restored models/bert/config.json\n"
        "restored models/bert/extra.txt\n"
        "removed models/bert/tokenizer.json (not in this version; its bytes are in the cache)\n"
        "2 restored, 3 already up to date, 1 removed\n"
    )
    assert tree_bytes(bert) == v2

    # A deleted folder comes back whole, with its executable bit.
    shutil.rmtree(bert)
    assert gm_ok(repo, "checkout", "bert").endswith("5 restored, 0 already up to date\n")
    assert tree_bytes(bert) == v2
    assert stat.S_IMODE((bert / "run.sh").stat().st_mode) == 0o755


@pytest.fixture
def two_versions(repo: Path) -> Path:
    """a.bin and b.bin, each committed at v1 and then v2; HEAD~1 is checked out, so both
    pointers name v1 while the work tree still holds the (cached) v2 bytes."""
    for version in ("v1", "v2"):
        (repo / "a.bin").write_bytes(f"a {version}".encode() * 50)
        (repo / "b.bin").write_bytes(f"b {version}".encode() * 50)
        gm_ok(repo, "add", "a.bin", "b.bin")
        git(repo, "commit", "-q", "-m", version)
    git(repo, "checkout", "-q", "HEAD~1")
    return repo


def v(name: str, version: str) -> bytes:
    return f"{name} {version}".encode() * 50


def test_overwrites_bytes_that_are_in_the_cache(two_versions: Path) -> None:
    proc = gm(two_versions, "checkout")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "restored a.bin\nrestored b.bin\n2 restored, 0 already up to date\n"
    assert (two_versions / "a.bin").read_bytes() == v("a", "v1")
    assert (two_versions / "b.bin").read_bytes() == v("b", "v1")


def test_refuses_to_overwrite_uncached_bytes(two_versions: Path) -> None:
    (two_versions / "a.bin").write_bytes(b"hand-edited, not in the cache")
    proc = gm(two_versions, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: checkout would overwrite changes not saved in the cache: a.bin {OVERWRITE_HINT}\n"
    )
    assert (two_versions / "a.bin").read_bytes() == b"hand-edited, not in the cache"
    assert (two_versions / "b.bin").read_bytes() == v("b", "v2")  # not touched either
    # Only b: allowed, since a is not a target.
    assert (
        gm_ok(two_versions, "checkout", "b") == "restored b.bin\n1 restored, 0 already up to date\n"
    )
    assert (two_versions / "b.bin").read_bytes() == v("b", "v1")
    assert (two_versions / "a.bin").read_bytes() == b"hand-edited, not in the cache"

    proc = gm(two_versions, "checkout", "--force")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "restored a.bin\n1 restored, 1 already up to date\n"
    assert (two_versions / "a.bin").read_bytes() == v("a", "v1")
    assert gm_ok(two_versions, "status", "--check") == (
        "up to date              a.bin\nup to date              b.bin\n"
    )


def test_refuses_to_overwrite_uncached_file_in_folder(repo: Path) -> None:
    bert = repo / "bert"
    bert.mkdir()
    (bert / "config.json").write_bytes(b"v1\n")
    gm_ok(repo, "add", "bert")
    git(repo, "commit", "-q", "-m", "v1")
    (bert / "config.json").write_bytes(b"v2 edited\n")
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: checkout would overwrite changes not saved in the cache: bert/config.json "
        f"{OVERWRITE_HINT}\n"
    )
    assert (bert / "config.json").read_bytes() == b"v2 edited\n"
    assert (
        gm_ok(repo, "checkout", "-f")
        == "restored bert/config.json\n1 restored, 0 already up to date\n"
    )
    assert (bert / "config.json").read_bytes() == b"v1\n"


def test_verify_refuses_a_corrupt_object(two_versions: Path) -> None:
    oid = xxh(v("a", "v1"))
    obj = object_path(two_versions, oid)
    obj.chmod(0o644)
    obj.write_bytes(v("a", "XX"))  # same size, other bytes
    obj.chmod(0o444)
    proc = gm(two_versions, "checkout", "--verify")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: object {oid} is corrupt: {obj} no longer hashes to its id (delete that file "
        "and fetch it again with `git model pull`)\n"
    )
    assert (two_versions / "a.bin").read_bytes() == v("a", "v2")
    assert (two_versions / "b.bin").read_bytes() == v("b", "v2")
    # A sound object still checks out with --verify.
    assert gm_ok(two_versions, "checkout", "--verify", "b.bin") == (
        "restored b.bin\n1 restored, 0 already up to date\n"
    )
    assert (two_versions / "b.bin").read_bytes() == v("b", "v1")


def test_missing_object(two_versions: Path) -> None:
    oid = xxh(v("b", "v1"))
    os.unlink(object_path(two_versions, oid))
    proc = gm(two_versions, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: object {oid} is not in the cache (needed for b.bin) (fetch it with "
        "`git model pull`, or re-add the artifact on the machine that has it)\n"
    )
    assert (two_versions / "a.bin").read_bytes() == v("a", "v2")
    assert (two_versions / "b.bin").read_bytes() == v("b", "v2")
    assert (
        gm_ok(two_versions, "checkout", "a") == "restored a.bin\n1 restored, 0 already up to date\n"
    )


def test_checkout_by_name_path_and_unknown(two_versions: Path) -> None:
    assert (
        gm_ok(two_versions, "checkout", "a") == "restored a.bin\n1 restored, 0 already up to date\n"
    )
    assert (two_versions / "b.bin").read_bytes() == v("b", "v2")
    assert gm_ok(two_versions, "checkout", "-q", "b.bin.gitmodel") == ""
    assert (two_versions / "b.bin").read_bytes() == v("b", "v1")
    proc = gm(two_versions, "checkout", "c")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: c: no pointer matches this path or model name "
        "(list tracked models with `git model status`)\n"
    )


def test_folder_where_a_file_goes(repo: Path) -> None:
    (repo / "m").write_bytes(b"a single file")
    (repo / "other").write_bytes(b"other file")
    gm_ok(repo, "add", "m", "other")
    git(repo, "commit", "-q", "-m", "files")
    (repo / "m").unlink()
    (repo / "m").mkdir()
    (repo / "m" / "part").write_bytes(b"uncached part")
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: checkout would overwrite changes not saved in the cache: m/part {OVERWRITE_HINT}\n"
    )
    assert (repo / "m" / "part").read_bytes() == b"uncached part"
    # A folder holding only cached bytes is replaced without --force.
    (repo / "m" / "part").write_bytes(b"other file")
    assert gm_ok(repo, "checkout") == "restored m\n1 restored, 1 already up to date\n"
    assert (repo / "m").read_bytes() == b"a single file"
    # And with --force whatever it holds.
    (repo / "m").unlink()
    (repo / "m").mkdir()
    (repo / "m" / "part").write_bytes(b"uncached part")
    assert gm_ok(repo, "checkout", "--force") == "restored m\n1 restored, 1 already up to date\n"
    assert (repo / "m").read_bytes() == b"a single file"


def test_folder_where_a_file_of_a_folder_artifact_goes(repo: Path) -> None:
    folder = repo / "bert"
    folder.mkdir()
    (folder / "config.json").write_bytes(b"{}\n")
    (folder / "weights.bin").write_bytes(b"weights")
    gm_ok(repo, "add", "bert")
    git(repo, "commit", "-q", "-m", "folder")
    (folder / "weights.bin").unlink()
    (folder / "weights.bin").mkdir()
    (folder / "weights.bin" / "note").write_bytes(b"not cached")
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: checkout would overwrite changes not saved in the cache: bert/weights.bin/ "
        f"{OVERWRITE_HINT}\n"
    )
    assert (folder / "weights.bin" / "note").read_bytes() == b"not cached"
    assert gm_ok(repo, "checkout", "--force") == (
        "restored bert/weights.bin\n1 restored, 1 already up to date\n"
    )
    assert (folder / "weights.bin").read_bytes() == b"weights"
    assert gm_ok(repo, "status") == "up to date              bert/\n"
