#!/usr/bin/env python3
"""Throughput of the cryptographic digests git-model could record beside its xxh3-128 oid.

Not part of the test suite. Writes one file (default 2 GiB) under benchmarks/.work/, reads it
once so it is in the page cache, then hashes it in one streaming pass (4 MiB chunks, the
chunk size of gitmodel.hashing) with: xxh3-128 alone; xxh3-128 and SHA-256 (hashlib) in the
same pass; xxh3-128 and BLAKE3 (the `blake3` package, when importable) in the same pass; and
each digest alone. With --git-model it also times `git model add` of the file, without and
with `--digest sha256`, in fresh repositories (copy mode, best of --runs).

    python benchmarks/digest_bench.py                      # 2 GiB, hashes only
    python benchmarks/digest_bench.py --git-model .venv/bin/git-model
    PYTHONPATH=/tmp/b3 python benchmarks/digest_bench.py   # with blake3 installed aside

See docs/performance.md ("Cryptographic digest") for the figures and the decision.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xxhash

HERE = Path(__file__).resolve().parent
CHUNK = 4 * 1024 * 1024
MiB = 1024 * 1024


def make_data(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size == size:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    block = os.urandom(64 * MiB)
    with path.open("wb") as f:
        written = 0
        while written < size:
            n = min(len(block), size - written)
            f.write(block[:n])
            written += n


Timing = tuple[float, float]  # (wall seconds, CPU seconds: user + system)


def one_pass(path: Path, hashers: list[Any]) -> Timing:
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    updates: list[Callable[[memoryview], object]] = [h.update for h in hashers]
    start, cpu = time.perf_counter(), time.process_time()
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buffer):
            chunk = view[:n]
            for update in updates:
                update(chunk)
    for h in hashers:
        h.hexdigest()
    return time.perf_counter() - start, time.process_time() - cpu


def best(runs: int, fn: Callable[[], Timing]) -> Timing:
    """The run with the least CPU time: on a shared machine the wall time mostly says how
    long the process waited for a core."""
    return min((fn() for _ in range(runs)), key=lambda t: t[1])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_add(git_model: Path, data: Path, work: Path, digest: bool, runs: int) -> Timing:
    times = []
    for run in range(runs):
        repo = work / f"add-{'digest' if digest else 'plain'}-{run}"
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir(parents=True)
        env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
        for args in (
            ["git", "init", "-q"],
            ["git", "config", "user.email", "b@example.com"],
            ["git", "config", "user.name", "bench"],
            ["git", "config", "model.linkType", "copy"],
        ):
            subprocess.run(args, cwd=repo, check=True, env=env)
        shutil.copyfile(data, repo / "model.bin")
        subprocess.run(["sync"], check=True)
        command = [str(git_model.resolve()), "add", "model.bin"]
        command += ["--digest", "sha256"] if digest else []
        start, cpu = time.perf_counter(), children_cpu()
        subprocess.run(command, cwd=repo, check=True, env=env, stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - start, children_cpu() - cpu))
        shutil.rmtree(repo)
    return min(times, key=lambda t: t[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--git-model", type=Path, help="also time `git model add` with it")
    parser.add_argument("--work", type=Path, default=HERE / ".work" / "digest")
    args = parser.parse_args()
    size = int(args.size_gib * 1024 * MiB)
    data = args.work / "data.bin"
    make_data(data, size)
    one_pass(data, [])  # into the page cache

    rows: list[tuple[str, Timing]] = []
    rows.append(("read only", best(args.runs, lambda: one_pass(data, []))))
    rows.append(("xxh3-128", best(args.runs, lambda: one_pass(data, [xxhash.xxh3_128()]))))
    rows.append(("sha256", best(args.runs, lambda: one_pass(data, [hashlib.sha256()]))))
    rows.append(
        (
            "xxh3-128 + sha256",
            best(args.runs, lambda: one_pass(data, [xxhash.xxh3_128(), hashlib.sha256()])),
        )
    )
    try:
        import blake3
    except ImportError:
        print("blake3 not importable: BLAKE3 rows skipped", file=sys.stderr)
    else:
        rows.append(("blake3", best(args.runs, lambda: one_pass(data, [blake3.blake3()]))))
        rows.append(
            (
                "xxh3-128 + blake3",
                best(args.runs, lambda: one_pass(data, [xxhash.xxh3_128(), blake3.blake3()])),
            )
        )
    gib = size / (1024 * MiB)
    print(f"{gib:g} GiB, best of {args.runs} by CPU time, {CHUNK // MiB} MiB chunks, warm cache")
    print(f"{'pass':<30} {'wall s':>7} {'CPU s':>7} {'MiB/CPU s':>10}")
    for label, (wall, cpu) in rows:
        print(f"{label:<30} {wall:7.2f} {cpu:7.2f} {size / MiB / cpu:10.0f}")
    if args.git_model is not None:
        plain = time_add(args.git_model, data, args.work, False, args.runs)
        digest = time_add(args.git_model, data, args.work, True, args.runs)
        for label, (wall, cpu) in (
            ("git model add", plain),
            ("git model add --digest sha256", digest),
        ):
            print(f"{label:<30} {wall:7.2f} {cpu:7.2f}")
        extra_cpu, extra_wall = digest[1] - plain[1], digest[0] - plain[0]
        print(f"--digest sha256 costs {extra_cpu:+.2f} s CPU, {extra_wall:+.2f} s wall")


if __name__ == "__main__":
    main()
