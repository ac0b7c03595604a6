"""A `size` in a pointer or a folder manifest that does not match the bytes is corruption:
checkout, status, fsck and fetch refuse it before the bytes are used."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import xxhash

from tests.helpers import git, gm, gm_ok, object_path

HINT = (
    "a pointer or folder manifest was damaged or edited by hand: restore the pointer from Git "
    "(git checkout -- POINTER) or run `git model add` on the artifact again"
)
WEIGHTS = bytes(range(256)) * 3 + bytes(232)  # 1,000 bytes


def oid_of(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh128(data).hexdigest()


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


def set_key(pointer: Path, key: str, value: str) -> None:
    text = pointer.read_text()
    pointer.write_text(re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1))


def add_weights(repo: Path) -> str:
    (repo / "weights.bin").write_bytes(WEIGHTS)
    gm_ok(repo, "add", "-q", "weights.bin")
    git(repo, "commit", "-q", "-m", "weights")
    return oid_of(WEIGHTS)


def test_a_pointer_size_that_is_not_the_objects_is_refused(repo: Path) -> None:
    oid = add_weights(repo)
    set_key(repo / "weights.bin.gitmodel", "size", "5")
    message = f"weights.bin.gitmodel says size = 5, but object {oid} holds 1000 bytes"

    proc = gm(repo, "status", "--check")
    assert (proc.returncode, proc.stdout) == (
        1,
        f"invalid pointer         weights.bin: {message}\n",
    )
    assert json.loads(gm_ok(repo, "status", "--json"))[0]["state"] == "invalid pointer"

    (repo / "weights.bin").unlink()
    assert error_line(gm(repo, "checkout")) == f"error: {message} ({HINT})\n"
    assert not (repo / "weights.bin").exists()

    git(repo, "commit", "-q", "-am", "a damaged pointer")  # the good one stays in history
    proc = gm(repo, "fsck")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        1,
        f"wrong size {oid}: pointer weights.bin.gitmodel (model 'weights') says size = 5, the "
        "object holds 1000 bytes\n"
        "checked 1 object(s) in local cache: 0 corrupt, 1 wrong size\n",
        f"warning: {HINT}\n",
    )
    assert json.loads(gm(repo, "fsck", "--json").stdout)["wrong_size"] == [
        {
            "oid": oid,
            "claimed_by": "pointer weights.bin.gitmodel (model 'weights')",
            "expected": 5,
            "actual": 1000,
        }
    ]
    assert object_path(repo, oid).read_bytes() == WEIGHTS  # a sound object stays

    git(repo, "checkout", "-q", "HEAD~1", "--", "weights.bin.gitmodel")  # what the hint says
    assert gm_ok(repo, "checkout") == "restored weights.bin\n1 restored, 0 already up to date\n"


def write_object(repo: Path, data: bytes) -> str:
    oid = oid_of(data)
    path = object_path(repo, oid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o444)
    return oid


def add_folder(repo: Path) -> dict[str, bytes]:
    files = {"a.txt": b"7 bytes", "b/c.txt": b"more bytes\n"}
    for rel, data in files.items():
        (repo / "clf" / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / "clf" / rel).write_bytes(data)
    gm_ok(repo, "add", "-q", "clf")
    git(repo, "commit", "-q", "-m", "clf")
    return files


def damage_manifest(repo: Path, size: int) -> tuple[str, str]:
    """Point clf.gitmodel at a manifest whose entry a.txt says `size`, the pointer's total
    adjusted to match (as a careful forger would); returns (manifest oid, a.txt's oid)."""
    pointer = repo / "clf.gitmodel"
    good = re.search(r'(?m)^oid = "(.*)"$', pointer.read_text())
    assert good is not None
    doc = json.loads(object_path(repo, good.group(1)).read_bytes())
    doc["files"][0]["size"] = size
    total = sum(f["size"] for f in doc["files"])
    manifest = write_object(repo, json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())
    set_key(pointer, "oid", f'"{manifest}"')
    set_key(pointer, "size", str(total))
    return manifest, doc["files"][0]["oid"]


def test_a_folder_manifest_entry_size_that_is_not_the_objects_is_refused(repo: Path) -> None:
    add_folder(repo)
    manifest, a_oid = damage_manifest(repo, 999999)
    message = (
        f"clf.gitmodel: folder manifest {manifest} entry 'a.txt' says size = 999999, but "
        f"object {a_oid} holds 7 bytes"
    )

    proc = gm(repo, "status", "--check")
    assert (proc.returncode, proc.stdout) == (1, f"invalid pointer         clf: {message}\n")
    assert error_line(gm(repo, "checkout", "--force")) == f"error: {message} ({HINT})\n"

    for rel in ("a.txt", "b/c.txt"):  # a folder not in the work tree takes another path
        os.chmod(repo / "clf" / rel, 0o644)
        (repo / "clf" / rel).unlink()
    (repo / "clf" / "b").rmdir()
    (repo / "clf").rmdir()
    assert error_line(gm(repo, "checkout")) == f"error: {message} ({HINT})\n"
    assert not (repo / "clf").exists()

    git(repo, "commit", "-q", "-am", "a damaged manifest")
    proc = gm(repo, "fsck")
    assert (proc.returncode, proc.stderr) == (1, f"warning: {HINT}\n")
    assert proc.stdout.splitlines() == [
        f"wrong size {a_oid}: pointer clf.gitmodel (model 'clf'): folder manifest {manifest} "
        "entry 'a.txt' says size = 999999, the object holds 7 bytes",
        "checked 4 object(s) in local cache: 0 corrupt, 1 wrong size",
    ]


def test_a_folder_pointer_size_that_is_not_its_files_total_is_refused(repo: Path) -> None:
    files = add_folder(repo)
    manifest = re.search(r'(?m)^oid = "(.*)"$', (repo / "clf.gitmodel").read_text())
    assert manifest is not None
    set_key(repo / "clf.gitmodel", "size", "5")
    total = sum(map(len, files.values()))
    assert error_line(gm(repo, "checkout", "--force")) == (
        f"error: clf.gitmodel says size = 5, but the files of its folder manifest "
        f"{manifest.group(1)} add up to {total} bytes ({HINT})\n"
    )


def test_fetch_and_pull_refuse_an_object_whose_size_the_pointer_misstates(
    repo: Path, tmp_path: Path
) -> None:
    oid = add_weights(repo)
    share = tmp_path / "share"
    share.mkdir()
    gm_ok(repo, "remote", "add", "origin", str(share))
    gm_ok(repo, "push", "-q")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    gm_ok(clone, "remote", "add", "origin", str(share))
    set_key(clone / "weights.bin.gitmodel", "size", "5")

    message = (
        f"error: pointer weights.bin.gitmodel (model 'weights') says size = 5, but object {oid} "
        f"holds 1000 bytes ({HINT})\n"
    )
    assert error_line(gm(clone, "fetch")) == message
    assert error_line(gm(clone, "pull")) == message
    assert not object_path(clone, oid).exists()
    assert not (clone / "weights.bin").exists()
    assert list((clone / ".git" / "model" / "cache" / "tmp").iterdir()) == []
    proc = gm(clone, "fsck", "--remote", "origin")
    assert (proc.returncode, proc.stdout) == (
        1,
        f"wrong size {oid}: pointer weights.bin.gitmodel (model 'weights') says size = 5, the "
        "object holds 1000 bytes\n"
        f"checked 1 object(s) in origin ({share}): 0 corrupt, 0 missing, 1 wrong size\n",
    )
