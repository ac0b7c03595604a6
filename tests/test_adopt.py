"""Copy mode adopts a big file: its inode becomes the object and the work tree gets a fresh,
writable copy with the same bytes, mode and mtime; other files are copied as before."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from gitmodel.cache.adopt import ADOPT_MIN_SIZE, Adopted
from gitmodel.errors import GitModelError
from gitmodel.fsutil import exchange, preallocate
from gitmodel.hashing import StreamDigest
from tests.helpers import git, gm, gm_ok, object_path

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="copy_file_range is Linux's")

MiB = 1024 * 1024
SIZE = ADOPT_MIN_SIZE + 3 * MiB + 17
MTIME_NS = 1_700_000_000_123_456_789


def write_big(path: Path, size: int = SIZE, mode: int = 0o640) -> bytes:
    seed = os.urandom(MiB)
    data = b"".join(i.to_bytes(8, "little") + seed[8:] for i in range(size // MiB + 1))[:size]
    path.write_bytes(data)
    path.chmod(mode)
    os.utime(path, ns=(MTIME_NS, MTIME_NS))
    return data


def oid_of(repo: Path, pointer: str) -> str:
    for line in (repo / pointer).read_text().splitlines():
        if line.startswith("oid = "):
            return line.split('"')[1]
    raise AssertionError(f"no oid in {pointer}")


@pytest.fixture
def copy_repo(repo: Path) -> Path:
    git(repo, "config", "model.linkType", "copy")
    return repo


def test_big_file_becomes_the_object_and_the_work_tree_keeps_a_copy(copy_repo: Path) -> None:
    work = copy_repo / "model.bin"
    data = write_big(work)
    before = os.lstat(work)

    gm_ok(copy_repo, "add", "model.bin")

    obj = object_path(copy_repo, oid_of(copy_repo, "model.bin.gitmodel"))
    obj_st, work_st = os.lstat(obj), os.lstat(work)
    assert (obj_st.st_ino, obj_st.st_nlink, stat.S_IMODE(obj_st.st_mode)) == (
        before.st_ino,
        1,
        0o444,
    )
    assert work_st.st_ino != before.st_ino
    assert (stat.S_IMODE(work_st.st_mode), work_st.st_mtime_ns, work_st.st_nlink) == (
        0o640,
        MTIME_NS,
        1,
    )
    assert work.read_bytes() == data
    assert obj.read_bytes() == data
    assert not [p.name for p in copy_repo.iterdir() if p.name.startswith(".model.bin")]
    assert gm(copy_repo, "status", "--check").returncode == 0
    with work.open("r+b") as f:  # the work file is the user's again: writable, not the object
        f.write(b"edited")
    assert obj.read_bytes() == data


def test_a_file_with_another_hard_link_is_copied(copy_repo: Path) -> None:
    work = copy_repo / "model.bin"
    write_big(work)
    os.link(work, copy_repo / "elsewhere.bin")
    before = os.lstat(work)

    gm_ok(copy_repo, "add", "model.bin")

    obj = object_path(copy_repo, oid_of(copy_repo, "model.bin.gitmodel"))
    assert os.lstat(obj).st_ino != before.st_ino
    after = os.lstat(work)
    assert (after.st_ino, stat.S_IMODE(after.st_mode), after.st_nlink) == (before.st_ino, 0o640, 2)


def test_a_small_file_is_copied(copy_repo: Path) -> None:
    work = copy_repo / "model.bin"
    write_big(work, ADOPT_MIN_SIZE - 1)
    before = os.lstat(work)

    gm_ok(copy_repo, "add", "model.bin")

    obj = object_path(copy_repo, oid_of(copy_repo, "model.bin.gitmodel"))
    assert os.lstat(obj).st_ino != before.st_ino
    assert os.lstat(work).st_ino == before.st_ino


def test_bytes_already_cached_leave_the_work_file_alone(copy_repo: Path) -> None:
    data = write_big(copy_repo / "a.bin")
    gm_ok(copy_repo, "add", "a.bin")
    second = copy_repo / "b.bin"
    second.write_bytes(data)
    before = os.lstat(second)

    gm_ok(copy_repo, "add", "b.bin")

    obj = object_path(copy_repo, oid_of(copy_repo, "b.bin.gitmodel"))
    assert oid_of(copy_repo, "a.bin.gitmodel") == oid_of(copy_repo, "b.bin.gitmodel")
    assert os.lstat(obj).st_nlink == 1
    after = os.lstat(second)
    assert (after.st_ino, stat.S_IMODE(after.st_mode)) == (before.st_ino, 0o644)
    assert not list((copy_repo / ".git" / "model" / "cache" / "tmp").iterdir())


def test_a_big_file_in_a_folder_is_adopted_too(copy_repo: Path) -> None:
    folder = copy_repo / "bert"
    folder.mkdir()
    data = write_big(folder / "model.safetensors.bin")
    (folder / "config.json").write_text("{}\n")
    before = os.lstat(folder / "model.safetensors.bin")

    gm_ok(copy_repo, "add", "bert")

    inodes = {
        os.lstat(p).st_ino for p in (copy_repo / ".git" / "model" / "cache" / "objects").rglob("*")
    }
    assert before.st_ino in inodes
    assert (folder / "model.safetensors.bin").read_bytes() == data
    assert os.lstat(folder / "model.safetensors.bin").st_ino != before.st_ino
    assert gm(copy_repo, "status", "--check").returncode == 0


def test_exchange_swaps_two_files_in_one_step(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"one\n")
    second.write_bytes(b"two\n")
    first_inode = first.stat().st_ino

    assert exchange(str(first), str(second)) is True
    assert (first.read_bytes(), second.read_bytes()) == (b"two\n", b"one\n")
    assert second.stat().st_ino == first_inode


def test_exchange_with_a_missing_path_raises_and_moves_nothing(tmp_path: Path) -> None:
    first = tmp_path / "first"
    first.write_bytes(b"one\n")

    with pytest.raises(FileNotFoundError):
        exchange(str(first), str(tmp_path / "absent"))
    assert first.read_bytes() == b"one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first"]


def test_a_work_file_replaced_before_the_swap_is_left_as_the_user_made_it(tmp_path: Path) -> None:
    source, fresh = tmp_path / "model.bin", tmp_path / "fresh"
    source.write_bytes(b"adopted\n")
    inode = (source.stat().st_dev, source.stat().st_ino)
    fresh.write_bytes(b"adopted\n")
    os.rename(source, tmp_path / "object")  # still linked, as the object is: no inode reuse
    source.write_bytes(b"the user's new bytes\n")
    adopted = Adopted(StreamDigest("xxh128:" + "0" * 32, 8, ()), str(source), str(fresh), inode)

    with pytest.raises(GitModelError, match="was replaced while it was being added"):
        adopted.swap_in()
    assert source.read_bytes() == b"the user's new bytes\n"
    assert not fresh.exists()
    assert (tmp_path / "object").read_bytes() == b"adopted\n"


def test_preallocate_reserves_blocks_and_keeps_the_size(tmp_path: Path) -> None:
    target = tmp_path / "copy"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        preallocate(fd, 4 * MiB)
        st = os.fstat(fd)
    finally:
        os.close(fd)
    assert st.st_size == 0
    assert st.st_blocks * 512 >= 4 * MiB
