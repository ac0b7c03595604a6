"""The per-file fast paths of `git model add`: one descriptor per file, header reads with
pread, temp names without randomness per file, one existence check per object, a folder
manifest written as text, and staging through the `git` binary. Same bytes as before."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gitmodel.cache.objects import OBJECT_MODE, ObjectStore
from gitmodel.cache.statcache import StatCache
from gitmodel.errors import GitError
from gitmodel.formats import FormatError, scan_fd, scan_file
from gitmodel.fsutil import remove_quietly
from gitmodel.git import GitRepo
from gitmodel.hashing import CHUNK_SIZE, ByteRange, hash_stream, oid_of_bytes
from gitmodel.manifests import MANIFEST_VERSION, FileEntry, encode_dir_manifest
from tests.helpers import git, gm_ok, object_path, write_safetensors

OID_A = "xxh128:" + "a" * 32
OID_B = "xxh128:" + "b" * 32
OID_T = "xxh128:" + "c" * 32


def generic_manifest(entries: list[FileEntry]) -> bytes:
    """The folder manifest as the generic encoder wrote it before: canonical JSON."""
    files = []
    for e in sorted(entries, key=lambda e: e.path):
        item: dict[str, object] = {
            "path": e.path,
            "oid": e.oid,
            "size": e.size,
            "mode": "755" if e.executable else "644",
        }
        if e.tensors:
            item["tensors"] = e.tensors
        files.append(item)
    doc = {"version": MANIFEST_VERSION, "kind": "dir", "files": files}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_dir_manifest_exact_bytes() -> None:
    entries = [
        FileEntry("z/weights.safetensors", OID_B, 236, tensors=OID_T),
        FileEntry("run.sh", OID_A, 0, executable=True),
    ]
    assert encode_dir_manifest(entries) == (
        b'{"files":['
        b'{"mode":"755","oid":"xxh128:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","path":"run.sh","size":0},'
        b'{"mode":"644","oid":"xxh128:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",'
        b'"path":"z/weights.safetensors","size":236,'
        b'"tensors":"xxh128:cccccccccccccccccccccccccccccccc"}'
        b'],"kind":"dir","version":1}'
    )
    assert encode_dir_manifest([]) == b'{"files":[],"kind":"dir","version":1}'


@pytest.mark.parametrize(
    "name",
    ['quo"te', "back\\slash", "tab\tand\nnewline", "ctl\x01\x1f\x7f", "é ü 日本", "\u2028", "😀"],
)
def test_dir_manifest_escapes_names_as_the_generic_encoder_did(name: str) -> None:
    entries = [FileEntry(f"d/{name}", OID_A, 7), FileEntry("a", OID_B, 1, True, OID_T)]
    data = encode_dir_manifest(entries)
    assert data == generic_manifest(entries)
    assert json.loads(data)["files"][1]["path"] == f"d/{name}"


def test_scan_fd_reads_with_pread_and_leaves_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"  # safetensors by content, not by name
    write_safetensors(path, {"w": ("F32", [2, 3], 1), "b": ("F32", [3], 2)})
    fd = os.open(path, os.O_RDONLY)
    try:
        scan = scan_fd(fd, str(path))
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0
    finally:
        os.close(fd)
    assert scan is not None and scan == scan_file(path)
    assert (scan.name, scan.facts["parameters"]) == ("safetensors", 9)


def test_scan_fd_still_reads_formats_named_by_suffix_only(tmp_path: Path) -> None:
    (tmp_path / "plain.bin").write_bytes(b"just some bytes")
    (tmp_path / "bad.ONNX").write_bytes(b"\xff" * 32)  # suffix decides; header is broken
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 16)
    assert scan_file(tmp_path / "plain.bin") is None
    with pytest.raises(FormatError):
        scan_file(tmp_path / "bad.ONNX")
    with pytest.raises(FormatError):
        scan_file(tmp_path / "bad.safetensors")


def test_temp_names_are_a_process_prefix_and_a_counter(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    names = [store.new_temp_name() for _ in range(3)]
    prefix = names[0].rsplit("-", 1)[0]
    assert names == [f"{prefix}-0", f"{prefix}-1", f"{prefix}-2"]
    assert os.path.dirname(prefix) == str(tmp_path / "cache" / "tmp")
    assert os.path.basename(prefix).startswith(f"{os.getpid()}-")
    # Another store in the same process (or a later process with the same pid) differs.
    assert ObjectStore(tmp_path / "cache").new_temp_name().rsplit("-", 1)[0] != prefix
    assert store.new_temp().parent == tmp_path / "cache" / "tmp"


def test_publish_over_an_existing_object_keeps_one_read_only_copy(tmp_path: Path) -> None:
    """Two processes may both find an object missing and both publish it: the second rename
    replaces the first's file with the same bytes, and no error is raised."""
    store = ObjectStore(tmp_path / "cache")
    data = b"model bytes"
    oid = store.put_bytes(data)
    first = os.stat(store.location(oid)).st_ino
    temp = store.new_temp_name()
    Path(temp).write_bytes(data)
    store.publish(temp, oid)
    st = os.stat(store.location(oid))
    assert st.st_ino != first and stat.S_IMODE(st.st_mode) == OBJECT_MODE
    assert store.read_bytes(oid) == data
    assert not os.path.exists(temp)


def test_remove_quietly_takes_str_and_path(tmp_path: Path) -> None:
    for path in (str(tmp_path / "a"), tmp_path / "b"):
        Path(path).write_bytes(b"x")
        remove_quietly(path)
        assert not os.path.exists(path)
        remove_quietly(path)  # already gone: no error


def test_stat_cache_keys_str_and_path_alike(tmp_path: Path) -> None:
    work = tmp_path / "w.bin"
    work.write_bytes(b"w")
    st = os.stat(work)
    cache = StatCache(tmp_path / "statcache.sqlite")
    cache.record(str(work), st, OID_A)
    assert cache.lookup(work, st) == OID_A
    cache.record_many([(work, st, OID_B)])
    assert cache.lookup(str(work), st) == OID_B
    cache.close()


def test_hardlink_folder_file_already_in_the_cache_is_linked_to_it(repo: Path) -> None:
    """The one existence check: a file whose object is there already is not stored again;
    the work file becomes a link to that object and no temp file is left behind."""
    git(repo, "config", "model.linkType", "hardlink")
    (repo / "first.bin").write_bytes(b"shared bytes")
    gm_ok(repo, "add", "first.bin")
    obj = object_path(repo, oid_of_bytes(b"shared bytes"))
    folder = repo / "folder"
    folder.mkdir()
    (folder / "copy.bin").write_bytes(b"shared bytes")
    (folder / "new.bin").write_bytes(b"new bytes")
    gm_ok(repo, "add", "folder")
    assert (folder / "copy.bin").stat().st_ino == obj.stat().st_ino
    assert (folder / "new.bin").stat().st_ino == object_path(
        repo, oid_of_bytes(b"new bytes")
    ).stat().st_ino
    assert os.listdir(repo / ".git" / "model" / "cache" / "tmp") == []
    assert gm_ok(repo, "status", "--check") == (
        "up to date              first.bin\nup to date              folder/\n"
    )


def test_stage_forces_ignored_paths_and_reports_git_errors(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.gitmodel\n")
    (repo / "m.bin.gitmodel").write_text("x\n")
    git_repo = GitRepo.discover(repo)
    git_repo.stage(["m.bin.gitmodel"])
    assert git(repo, "diff", "--cached", "--name-only").stdout == "m.bin.gitmodel\n"
    with pytest.raises(GitError) as caught:
        git_repo.stage(["no-such-file"])
    assert caught.value.message == (
        "git add failed: fatal: pathspec 'no-such-file' did not match any files"
    )


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 5])
def test_hash_stream_without_ranges_takes_the_lean_loop_to_the_same_digest(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    seen: list[int] = []
    lean = hash_stream(io.BytesIO(data), progress=seen.append)
    general = hash_stream(io.BytesIO(data), [ByteRange(0, size)])
    assert (lean.oid, lean.size, lean.range_oids) == (oid_of_bytes(data), size, ())
    assert (general.oid, general.size) == (lean.oid, lean.size)
    assert sum(seen) == size and all(0 < n <= CHUNK_SIZE for n in seen)


def test_add_does_not_import_what_only_reading_or_diffing_needs() -> None:
    """tomllib (reading pointers) and tensordiff (diffs) load lazily: a first add needs
    neither, and every module imported costs start-up time on each command."""
    code = (
        "import sys, gitmodel.cli.core, gitmodel.commands.add; "
        "print(sorted(m for m in ('tomllib', 'gitmodel.tensordiff') if m in sys.modules))"
    )
    # Not measured by coverage (scripts/test.sh), which imports tomllib itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout == "[]\n"
