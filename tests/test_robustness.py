"""Crashes and concurrency: a killed `add` leaves no bad object, and parallel adds both land."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash

from tests.helpers import git, gm_ok, spawn_gm

CHUNK = 1024 * 1024


def file_oid(path: Path) -> str:
    h = xxhash.xxh3_128()
    with path.open("rb") as f:
        while chunk := f.read(4 * CHUNK):
            h.update(chunk)
    return "xxh128:" + h.hexdigest()


def bad_objects(cache: Path) -> list[str]:
    """Every file under objects/ whose bytes do not hash to its name."""
    bad = []
    objects = cache / "objects"
    for path in sorted(objects.rglob("*")) if objects.exists() else []:
        if path.is_file() and file_oid(path) != "xxh128:" + path.parent.name + path.name:
            bad.append(str(path.relative_to(objects)))
    return bad


def object_files(cache: Path) -> list[Path]:
    objects = cache / "objects"
    return sorted(p for p in objects.rglob("*") if p.is_file()) if objects.exists() else []


def write_pattern(path: Path, megabytes: int, seed: bytes) -> None:
    """Real bytes on disk (no holes), different in every MiB."""
    block = (seed * (CHUNK // len(seed) + 1))[:CHUNK]
    with path.open("wb") as f:
        for i in range(megabytes):
            f.write(i.to_bytes(8, "little") + block[8:])


@pytest.fixture
def big_file(repo: Path) -> Iterator[Path]:
    big = repo / "big.bin"
    write_pattern(big, 300, os.urandom(64))
    yield big
    cache = repo / ".git" / "model" / "cache"
    for path in [big, *object_files(cache), *cache.joinpath("tmp").glob("*")]:
        path.unlink(missing_ok=True)  # don't leave 600 MB behind in pytest's kept temp dirs


def test_kill_during_add_leaves_no_bad_object(repo: Path, big_file: Path) -> None:
    before = file_oid(big_file)
    cache = repo / ".git" / "model" / "cache"
    tmp = cache / "tmp"
    proc = spawn_gm(repo, "add", "big.bin")
    deadline = time.monotonic() + 20
    seen_at: float | None = None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            temps = list(tmp.glob("*")) if tmp.exists() else []
            if temps and seen_at is None:
                seen_at = time.monotonic()
            sizes = [t.stat().st_size for t in temps if t.exists()]
            # Kill as soon as a temp holds bytes: once hashing is over, the add runs
            # `git add`, and a kill there leaves Git's own index.lock (a different test), so
            # the kill comes with most of the 300 MiB still to write, however loaded the
            # machine is.
            if any(size > 0 for size in sizes):
                break
            time.sleep(0.002)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert seen_at is not None, "the add finished before it could be killed"
    assert proc.returncode == -signal.SIGKILL

    assert bad_objects(cache) == []
    assert not (repo / "big.bin.gitmodel").exists()
    assert git(repo, "diff", "--cached", "--name-only").stdout == ""
    assert file_oid(big_file) == before
    assert big_file.stat().st_size == 300 * CHUNK

    out = gm_ok(repo, "add", "big.bin")
    assert out == f"added big: big.bin.gitmodel (300.0 MiB, {before[:19]}…)\n"
    assert bad_objects(cache) == []
    digits = before.removeprefix("xxh128:")
    assert (cache / "objects" / digits[:2] / digits[2:]).stat().st_size == 300 * CHUNK
    assert gm_ok(repo, "status", "--check") == "up to date              big.bin\n"
    assert file_oid(big_file) == before


def run_pair(jobs: list[tuple[Path, str]]) -> None:
    procs = [spawn_gm(cwd, "add", name) for cwd, name in jobs]
    for proc, (cwd, name) in zip(procs, jobs, strict=True):
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (0, ""), f"add {name} in {cwd}: {err}"
        assert out.startswith(f"added {name.removesuffix('.bin')}: {name}.gitmodel ")


def test_concurrent_adds_in_one_repo(repo: Path) -> None:
    cache = repo / ".git" / "model" / "cache"
    names: list[str] = []
    for round_ in range(3):
        pair = [f"a{round_}.bin", f"b{round_}.bin"]
        for name in pair:
            write_pattern(repo / name, 8, name.encode())
        run_pair([(repo, name) for name in pair])
        names += pair
        assert bad_objects(cache) == []
        for name in names:
            oid = file_oid(repo / name)
            assert (cache / "objects" / oid[7:9] / oid[9:]).exists()
        lines = (repo / ".gitignore").read_text().splitlines()
        assert sorted(lines) == sorted(f"/{n}" for n in names)  # any order, each once
        staged = git(repo, "diff", "--cached", "--name-only").stdout.split()
        assert staged == [".gitignore", *sorted(f"{n}.gitmodel" for n in names)]
    status = gm_ok(repo, "status", "--check")
    assert status == "".join(f"{'up to date':<24}{n}\n" for n in sorted(names))


def test_concurrent_adds_from_two_clones_on_a_shared_cache(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    clones = []
    for name in ("one", "two"):
        git(tmp_path, "init", "-q", name)
        git(tmp_path / name, "config", "model.cache", str(shared))
        clones.append(tmp_path / name)
    for round_ in range(3):
        # Different files, plus one identical file in both clones (the same object, twice).
        for clone in clones:
            write_pattern(clone / f"own{round_}.bin", 8, f"{clone.name}{round_}".encode())
            write_pattern(clone / f"same{round_}.bin", 8, f"same{round_}".encode())
        run_pair([(clone, f"own{round_}.bin") for clone in clones])
        run_pair([(clone, f"same{round_}.bin") for clone in clones])
        assert bad_objects(shared) == []
        assert len(object_files(shared)) == 3 * (round_ + 1)
    for clone in clones:
        assert gm_ok(clone, "status", "--check").count("up to date") == 6
