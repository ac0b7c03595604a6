"""Copy mode: the kernel copy (copy_file_range in a thread, hashing what landed) and its
Python fallback give the same objects, ranges and progress; copy errors reach the caller."""

from __future__ import annotations

import errno
import os
import resource
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xxhash

from gitmodel.cache import copying
from gitmodel.hashing import CHUNK_SIZE, ByteRange, StreamDigest, hash_stream
from tests.helpers import git, gm, gm_ok, object_path

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="copy_file_range is Linux's")

MiB = 1024 * 1024
# Past the kernel-copy threshold and more than one copier block (a first chunk, one full
# block, a tail), so every hand-over between the copier and the hasher happens.
BIG = copying.KERNEL_COPY_MIN_SIZE + CHUNK_SIZE + 3 * MiB + 12345
RANGES = [
    ByteRange(0, 100),
    ByteRange(CHUNK_SIZE - 7, CHUNK_SIZE + 9),  # across the first copy's end
    ByteRange(5 * MiB, copying.KERNEL_COPY_BLOCK + CHUNK_SIZE + 1),  # across a block's end
    ByteRange(BIG - 10, BIG),
]


def xxh(data: bytes | memoryview) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


def write_big(path: Path, size: int) -> bytes:
    """Bytes that differ in every MiB, so a misplaced block changes the hash."""
    seed = os.urandom(MiB)
    data = b"".join(i.to_bytes(8, "little") + seed[8:] for i in range(size // MiB + 1))[:size]
    path.write_bytes(data)
    return data


@pytest.fixture
def big(tmp_path: Path) -> Iterator[tuple[Path, bytes]]:
    path = tmp_path / "big.bin"
    data = write_big(path, BIG)
    yield path, data
    path.unlink()  # don't leave ~70 MB behind in pytest's kept temp dirs


def helper_threads() -> list[str]:
    """The copier and write-behind threads alive now: none once a copy returned."""
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("git-model-"))


CopyFn = Callable[..., StreamDigest]


def run_copy(copy: CopyFn, source: Path, dest: Path) -> tuple[StreamDigest, list[int], set[str]]:
    """Copy with `copy`; returns the digest, the progress steps, and the helper threads that
    ran while the bytes were hashed."""
    steps: list[int] = []
    seen: set[str] = set()

    def progress(n: int) -> None:
        steps.append(n)
        seen.update(helper_threads())

    src = os.open(source, os.O_RDONLY)
    dst = os.open(dest, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        digest = copy(src, dst, RANGES, progress)
    finally:
        os.close(dst)
        os.close(src)
    return digest, steps, seen


def expected_digest(data: bytes) -> StreamDigest:
    view = memoryview(data)
    return StreamDigest(xxh(view), len(data), tuple(xxh(view[r.begin : r.end]) for r in RANGES))


def test_kernel_copy_hashes_exactly_the_copied_bytes(
    big: tuple[Path, bytes], tmp_path: Path
) -> None:
    source, data = big
    dest = tmp_path / "dest"
    digest, steps, seen = run_copy(copying.copy_hashing, source, dest)
    # A file this big is copied by the kernel-copy thread, and crosses the write-behind step.
    assert seen == {"git-model-copy", "git-model-flush"}
    assert helper_threads() == []
    assert digest == expected_digest(data)
    assert dest.read_bytes() == data
    assert sum(steps) == BIG
    assert max(steps) == CHUNK_SIZE  # progress in hash-sized steps: memory stays at one chunk
    dest.unlink()


def test_python_copy_gives_the_same_digest_and_bytes(
    big: tuple[Path, bytes], tmp_path: Path
) -> None:
    source, data = big
    dest = tmp_path / "dest"
    digest, steps, seen = run_copy(copying.copy_hashing_in_python, source, dest)
    assert seen == {"git-model-flush"}
    assert helper_threads() == []
    assert digest == expected_digest(data)
    assert dest.read_bytes() == data
    assert sum(steps) == BIG
    dest.unlink()


def test_refused_kernel_copy_falls_back_to_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Across file systems (tmpfs to the test's folder) copy_file_range says EXDEV."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    monkeypatch.setattr(copying, "KERNEL_COPY_MIN_SIZE", MiB)  # /dev/shm may be small
    source = shm / f"git-model-test-{os.getpid()}"
    try:
        data = write_big(source, 2 * CHUNK_SIZE + 5)
        dest = tmp_path / "dest"
        digest, steps, seen = run_copy(copying.copy_hashing, source, dest)
    finally:
        source.unlink()
    assert seen == set()  # the Python copy, and too small to need write-behind
    view = memoryview(data)
    ranges = tuple(xxh(view[r.begin : min(r.end, len(data))]) for r in RANGES)
    assert digest == StreamDigest(xxh(data), len(data), ranges)
    assert dest.read_bytes() == data
    assert sum(steps) == len(data)


def test_empty_file_with_the_kernel_copy_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first copy_file_range of 0 bytes is not trusted: the Python copy reads the file."""
    monkeypatch.setattr(copying, "KERNEL_COPY_MIN_SIZE", 0)
    source = tmp_path / "empty"
    source.write_bytes(b"")
    dest = tmp_path / "dest"
    src = os.open(source, os.O_RDONLY)
    dst = os.open(dest, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        digest = copying.copy_hashing(src, dst, [ByteRange(0, 0)])
    finally:
        os.close(dst)
        os.close(src)
    assert digest == StreamDigest(xxh(b""), 0, (xxh(b""),))
    assert dest.read_bytes() == b""


def test_a_destination_the_kernel_cannot_write_is_an_error_not_a_fallback(
    big: tuple[Path, bytes], tmp_path: Path
) -> None:
    source, _ = big
    dest = tmp_path / "dest"
    dest.write_bytes(b"")
    src = os.open(source, os.O_RDONLY)
    dst = os.open(dest, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as info:
            copying.copy_hashing(src, dst)
    finally:
        os.close(dst)
        os.close(src)
    assert info.value.errno == errno.EBADF


@pytest.fixture
def file_size_limit() -> Iterator[Callable[[int], None]]:
    """Set RLIMIT_FSIZE for this process (writes past it fail with EFBIG: Python ignores
    SIGXFSZ); restored afterwards."""
    saved = resource.getrlimit(resource.RLIMIT_FSIZE)

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, saved[1]))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, saved)


@pytest.mark.parametrize("copy", [copying.copy_hashing, copying.copy_hashing_in_python])
def test_a_write_error_mid_copy_reaches_the_caller(
    copy: CopyFn,
    big: tuple[Path, bytes],
    tmp_path: Path,
    file_size_limit: Callable[[int], None],
) -> None:
    source, _ = big
    dest = tmp_path / "dest"
    file_size_limit(3 * CHUNK_SIZE)  # the kernel copy's first call succeeds, the thread fails
    with pytest.raises(OSError) as info:
        run_copy(copy, source, dest)
    assert info.value.errno == errno.EFBIG
    assert helper_threads() == []  # joined, not left copying
    dest.unlink()


def test_add_in_copy_mode_stores_a_big_file_exactly(
    repo: Path, big: tuple[Path, bytes], tmp_path: Path
) -> None:
    source, data = big
    model = repo / "big.bin"
    os.replace(source, model)
    source.write_bytes(b"")  # the fixture's clean-up removes it
    git(repo, "config", "model.linkType", "copy")
    oid = xxh(data)
    out = gm_ok(repo, "add", "big.bin")
    assert out == f"added big: big.bin.gitmodel ({BIG / MiB:.1f} MiB, {oid[:19]}…)\n"
    obj = object_path(repo, oid)
    assert obj.read_bytes() == data
    assert os.stat(obj).st_mode & 0o777 == 0o444
    assert list((repo / ".git" / "model" / "cache" / "tmp").iterdir()) == []
    assert gm_ok(repo, "status", "--check") == "up to date              big.bin\n"
    obj.unlink()
    model.unlink()


def test_add_reports_a_copy_error_and_leaves_nothing_behind(
    repo: Path, big: tuple[Path, bytes], file_size_limit: Callable[[int], None]
) -> None:
    source, _ = big
    model = repo / "big.bin"
    os.replace(source, model)
    source.write_bytes(b"")
    git(repo, "config", "model.linkType", "copy")
    file_size_limit(3 * CHUNK_SIZE)  # inherited by `git model`: the cache copy fails
    proc = gm(repo, "add", "big.bin")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: File too large (a file size limit (the file system's, or `ulimit -f`) refuses "
        "a file this big)\n"
    )
    cache = repo / ".git" / "model" / "cache"
    assert list((cache / "tmp").iterdir()) == []
    assert not (cache / "objects").exists() or list((cache / "objects").rglob("*")) == []
    assert not (repo / "big.bin.gitmodel").exists()
    model.unlink()


SMALL_RANGES = [
    ByteRange(0, 10),
    ByteRange(100, 4000),
    ByteRange(4090, 5000),
]  # the last: past the end


@pytest.mark.parametrize(
    "size",
    [0, 1, 4096, copying.SMALL_FILE_SIZE - 1, copying.SMALL_FILE_SIZE],
    ids=lambda n: f"{n}B",
)
def test_a_small_file_is_read_whole_and_gives_the_streaming_digest(
    tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    (tmp_path / "small.bin").write_bytes(data)
    steps: list[int] = []
    src = os.open(tmp_path / "small.bin", os.O_RDONLY)
    dst = os.open(tmp_path / "dest", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        digest = copying.copy_hashing(src, dst, SMALL_RANGES, steps.append)
    finally:
        os.close(dst)
        os.close(src)
    with (tmp_path / "small.bin").open("rb", buffering=0) as f:
        streamed = hash_stream(f, SMALL_RANGES)
    assert digest == streamed
    assert digest.oid == xxh(data)
    assert (tmp_path / "dest").read_bytes() == data
    assert steps == ([size] if size < copying.SMALL_FILE_SIZE else steps)
    assert sum(steps) == size


def test_a_file_bigger_than_its_stat_says_is_streamed_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /proc files say size 0 and hold more: the whole-file read finds more than the limit,
    # so the copy starts again from the beginning and streams.
    monkeypatch.setattr(copying, "SMALL_FILE_SIZE", 64)
    src = os.open("/proc/self/status", os.O_RDONLY)
    dst = os.open(tmp_path / "dest", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        digest = copying.copy_hashing(src, dst)
    finally:
        os.close(dst)
        os.close(src)
    copied = (tmp_path / "dest").read_bytes()
    assert copied.startswith(b"Name:\t")  # from the first byte, not from where the read stopped
    assert len(copied) > 64
    assert (digest.oid, digest.size) == (xxh(copied), len(copied))
