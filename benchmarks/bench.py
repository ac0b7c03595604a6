#!/usr/bin/env python3
"""Benchmark the `git model` CLI against `cp` and DVC on the same data.

Not part of the test suite. Every operation runs the real command line as a subprocess in a
fresh Git repository under benchmarks/.work/ and is timed with time.perf_counter; the script
prints one table of figures, ratios and PASS/FAIL against the targets.

    python benchmarks/bench.py                        # 2 GiB file + 10,000 x 4 KiB files
    python benchmarks/bench.py --size-gib 0.25 --files 1000 --skip-dvc   # quick run

See benchmarks/README.md for what is measured and how to read the table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
DEFAULT_WORK = HERE / ".work"
CHUNK = 8 * 1024 * 1024
MiB = 1024 * 1024
SCRATCH_DIR = Path("benchmarks/.work")  # main() sets the real work folder
GiB = 1024 * MiB


# --------------------------------------------------------------------------------------------
# Environment and subprocess helpers


@dataclass
class Tools:
    git_model: Path
    dvc: Path | None
    env: dict[str, str]


def find_git_model(given: str | None) -> Path:
    if given:
        return Path(given).resolve()
    beside = Path(sys.executable).parent / "git-model"
    found = shutil.which("git-model")
    if found:
        return Path(found).resolve()
    if beside.exists():
        return beside
    sys.exit("error: git-model not found (install it, or pass --git-model PATH)")


def find_dvc(given: str | None, work: Path, skip: bool, install: bool) -> Path | None:
    if skip:
        return None
    if given:
        return Path(given).resolve()
    venv = work / "dvc-venv"
    if (venv / "bin" / "dvc").exists():
        return venv / "bin" / "dvc"
    found = shutil.which("dvc")
    if found:
        return Path(found)
    if not install:
        print("note: DVC not found; pass --install-dvc to create a side venv, or --skip-dvc")
        return None
    print(f"installing DVC into {venv} (pip install dvc) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "dvc"], check=True)
    return venv / "bin" / "dvc"


def make_env(work: Path, git_model: Path) -> dict[str, str]:
    """A clean environment: own HOME and Git config, no GIT_* leaking in, no DVC analytics."""
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DVC_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(gitconfig),
        DVC_NO_ANALYTICS="1",
        PATH=str(git_model.parent) + os.pathsep + os.environ.get("PATH", ""),
    )
    env.pop("TERM", None)  # no progress bars
    return env


def run(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if proc.returncode != 0:
        shown = " ".join(str(c) for c in cmd)
        sys.exit(
            f"error: `{shown}` failed in {cwd} (exit {proc.returncode}):\n"
            + proc.stderr.decode(errors="replace")
        )


class Timing(NamedTuple):
    """Wall-clock seconds, and the CPU seconds (user + system) the command's processes used.

    A wall time far above the CPU time means the command waited: on the disk, or on other
    processes sharing the machine.
    """

    wall: float
    cpu: float


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str]) -> Timing:
    cpu = children_cpu()
    start = time.perf_counter()
    run(cmd, cwd, env)
    return Timing(time.perf_counter() - start, children_cpu() - cpu)


def warm(*paths: Path) -> None:
    """Read every file under `paths` once, so the op starts with its input in the page cache.

    Dirty pages from the set-up are flushed first (os.sync), so write-back of earlier steps
    does not land inside the timed window. The page cache cannot be dropped here (no root
    guarantee), so every op is measured warm, and cp sees the same cache state as we do.
    """
    os.sync()
    buffer = bytearray(CHUNK)
    total = 0
    for path in paths:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            with file.open("rb", buffering=0) as f:
                while n := f.readinto(buffer):
                    total += n
    prefault(total)


def prefault(nbytes: int) -> None:
    """Touch and free `nbytes` + 512 MiB of memory just before a timed op.

    On a virtual machine whose balloon device reports free pages to the host (Firecracker
    does), memory the guest freed a while ago is no longer backed, and the first touch of
    each page costs a trip to the host: a 2 GiB `cp` then takes 3-5 s instead of 1.5 s,
    depending on what ran before. Memory freed just now is still backed, so the op that
    follows (which needs about as much for its page cache) measures the software, not the VM.
    The memory is touched as page cache (a scratch file written, then deleted before any of
    it reaches the disk), since page cache is what the ops below need: anonymous memory freed
    just before did not spare a 2 GiB `cp` the first-touch cost.
    """
    scratch = SCRATCH_DIR / "prefault-scratch"
    block = b"\x01" * (4 * MiB)
    with scratch.open("wb") as f:
        for _ in range((nbytes + 512 * MiB) // (4 * MiB)):
            f.write(block)
    scratch.unlink()


def remove_tree(path: Path) -> None:
    """Delete a file or folder; read-only files are fine (hard links to objects stay 0444)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        try:
            shutil.rmtree(path)
        except PermissionError:  # a read-only folder somewhere inside
            subprocess.run(["chmod", "-R", "u+w", str(path)], check=True)
            shutil.rmtree(path)


def discard(path: Path) -> None:
    """Set a finished run's files aside; `empty_trash` deletes them once all timing is done.

    ext4 without a journal (this VM's disk) passes over every inode deleted in the last minute
    (six, while its inode-table block is dirty) when it allocates a new one
    (`recently_deleted()` in fs/ext4/ialloc.c). Creating 10,000 files just after 30,000 were
    deleted took 3-5 s instead of 0.4-1 s here, for whichever tool ran next, so no timed op may
    follow a mass delete. Big files are deleted at once (few inodes, much disk); the rest is
    moved into the trash folder.
    """
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    if not path.exists():
        return
    for root, _, files in os.walk(path):
        for name in files:
            file = os.path.join(root, name)
            if os.lstat(file).st_size >= MiB:
                with contextlib.suppress(PermissionError):
                    os.unlink(file)
    trash = SCRATCH_DIR / "trash"
    trash.mkdir(exist_ok=True)
    path.rename(trash / f"{time.monotonic_ns()}")


def empty_trash() -> None:
    remove_tree(SCRATCH_DIR / "trash")


# --------------------------------------------------------------------------------------------
# Data


def make_data(work: Path, size_gib: float, files: int, file_kib: int) -> tuple[Path, Path]:
    """One big file of random-ish bytes (written in chunks, not sparse) and a folder of files.

    Made once and reused while the sizes stay the same.
    """
    data = work / "data"
    size = int(size_gib * GiB)
    big = data / f"big-{size}.bin"
    folder = data / f"files-{files}x{file_kib}k"
    data.mkdir(parents=True, exist_ok=True)
    if not big.exists() or big.stat().st_size != size:
        print(f"writing {big.name} ({size / GiB:.2f} GiB) ...", flush=True)
        seed = os.urandom(CHUNK)
        temp = big.with_suffix(".tmp")
        with temp.open("wb") as f:
            written = 0
            index = 0
            while written < size:
                # Each chunk differs (its index stamped at the front), so nothing dedups.
                block = index.to_bytes(8, "little") + seed[8:]
                n = min(CHUNK, size - written)
                f.write(block[:n])
                written += n
                index += 1
        temp.rename(big)
    marker = folder / ".complete"
    if not marker.exists():
        print(f"writing {folder.name}/ ({files} files of {file_kib} KiB) ...", flush=True)
        remove_tree(folder)
        folder.mkdir(parents=True)
        seed = os.urandom(file_kib * 1024)
        for i in range(files):
            (folder / f"part-{i:05d}.bin").write_bytes(i.to_bytes(8, "little") + seed[8:])
        marker.write_text("")
    return big, folder


def copy_data(source: Path, dest: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".complete"))
    else:
        shutil.copyfile(source, dest)


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Figures:
    """Best (minimum wall time) timing per op over the runs."""

    times: dict[str, Timing] = field(default_factory=dict)

    def keep(self, op: str, timing: Timing) -> None:
        if op not in self.times or timing.wall < self.times[op].wall:
            self.times[op] = timing

    def get(self, op: str) -> Timing | None:
        return self.times.get(op)


def new_repo(path: Path, env: dict[str, str]) -> Path:
    discard(path)
    path.mkdir(parents=True)
    run(["git", "init", "-q"], path, env)
    (path / "README.md").write_text("benchmark\n")
    run(["git", "add", "README.md"], path, env)
    run(["git", "commit", "-q", "-m", "initial"], path, env)
    return path


def bench_git_model(
    tools: Tools, work: Path, source: Path, mode: str, runs: int, status_runs: int
) -> Figures:
    """add, status (nothing changed), checkout into an empty work tree; one fresh repo a run."""
    fig = Figures()
    name = "model.bin" if source.is_file() else "model"
    gm = [tools.git_model]
    for _ in range(runs):
        repo = new_repo(work / "runs" / f"gm-{mode}", tools.env)
        run(["git", "config", "model.linkType", mode], repo, tools.env)
        artifact = repo / name
        copy_data(source, artifact)
        warm(artifact)
        fig.keep("add", timed([*gm, "add", "-q", name], repo, tools.env))
        for _ in range(status_runs):
            prefault(0)
            fig.keep("status", timed([*gm, "status", "-q"], repo, tools.env))
        discard(artifact)
        warm(repo / ".git" / "model" / "cache" / "objects")
        fig.keep("checkout", timed([*gm, "checkout", "-q"], repo, tools.env))
        discard(repo)
    return fig


def bench_dvc(
    tools: Tools, work: Path, source: Path, mode: str, runs: int, status_runs: int
) -> Figures:
    """The same three ops with DVC in a Git repo (`dvc init`), cache.type = the link mode."""
    assert tools.dvc is not None
    fig = Figures()
    name = "model.bin" if source.is_file() else "model"
    dvc = [tools.dvc]
    for _ in range(runs):
        repo = new_repo(work / "runs" / f"dvc-{mode}", tools.env)
        run([*dvc, "init", "-q"], repo, tools.env)
        run([*dvc, "config", "core.analytics", "false"], repo, tools.env)
        run([*dvc, "config", "cache.type", mode], repo, tools.env)
        run(["git", "add", ".dvc", ".dvcignore"], repo, tools.env)
        run(["git", "commit", "-q", "-m", "dvc init"], repo, tools.env)
        artifact = repo / name
        copy_data(source, artifact)
        warm(artifact)
        fig.keep("add", timed([*dvc, "add", "-q", name], repo, tools.env))
        for _ in range(status_runs):
            prefault(0)
            fig.keep("status", timed([*dvc, "status", "-q"], repo, tools.env))
        discard(artifact)
        warm(repo / ".dvc" / "cache")
        fig.keep("checkout", timed([*dvc, "checkout", "-q"], repo, tools.env))
        discard(repo)
    return fig


def bench_cp(work: Path, source: Path, runs: int) -> Figures:
    """Baselines. add: `cp` of the work file into a cache-like folder (same file system).

    checkout: `cp` (and `cp -l` for hardlink mode) from a cache-like folder into the work tree.
    `cp+fsync` is cp followed by `sync FILE...`: the durable version of the same copy.
    """
    fig = Figures()
    base = work / "runs" / "cp"
    discard(base)
    base.mkdir(parents=True)
    recursive = ["-r"] if source.is_dir() else []
    cache_like = base / "cache"
    copy_data(source, cache_like)
    for _ in range(runs):
        work_file = base / "work"
        copy_data(source, work_file)
        dest = base / "dest"
        warm(work_file)
        fig.keep("add", timed(["cp", *recursive, work_file, dest], base, os.environ.copy()))
        discard(dest)
        warm(work_file)
        cpu = children_cpu()
        start = time.perf_counter()
        run(["cp", *recursive, work_file, dest], base, os.environ.copy())
        run(["sync", "-f", dest] if source.is_file() else ["sync"], base, os.environ.copy())
        fig.keep("add+fsync", Timing(time.perf_counter() - start, children_cpu() - cpu))
        discard(dest)
        discard(work_file)
        warm(cache_like)
        fig.keep("checkout", timed(["cp", *recursive, cache_like, dest], base, os.environ.copy()))
        discard(dest)
        warm(cache_like)
        fig.keep(
            "checkout-link",
            timed(["cp", "-l", *recursive, cache_like, dest], base, os.environ.copy()),
        )
        discard(dest)
    discard(base)
    return fig


def best_of(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str], n: int) -> Timing:
    run(cmd, cwd, env)  # warm-up: bytecode caches, page cache
    prefault(0)
    return min(timed(cmd, cwd, env) for _ in range(n))


# --------------------------------------------------------------------------------------------
# Report


@dataclass
class Row:
    op: str
    data: str
    mode: str
    ours: Timing | None
    base: Timing | None = None  # the cp baseline
    dvc: Timing | None = None
    target: str = ""
    check: Callable[[Row], bool | None] | None = None  # None from the check: not measured
    reference: str = "cp"

    @property
    def ours_per_base(self) -> float | None:
        return self.ours.wall / self.base.wall if self.ours and self.base else None

    @property
    def dvc_per_ours(self) -> float | None:
        return self.dvc.wall / self.ours.wall if self.ours and self.dvc else None

    def verdict(self) -> str:
        if self.check is None:
            return ""
        passed = self.check(self)
        return "n/a" if passed is None else "PASS" if passed else "FAIL"


def at_most(limit: float) -> Callable[[Row], bool | None]:
    return lambda r: None if r.ours is None else r.ours.wall <= limit


def ours_per_base_at_most(limit: float) -> Callable[[Row], bool | None]:
    return lambda r: None if r.ours_per_base is None else r.ours_per_base <= limit


def dvc_per_ours_at_least(limit: float) -> Callable[[Row], bool | None]:
    return lambda r: None if r.dvc_per_ours is None else r.dvc_per_ours >= limit


def fmt_s(value: Timing | None) -> str:
    return "—" if value is None else f"{value.wall:.3f}"


def fmt_cpu(value: Timing | None) -> str:
    return "—" if value is None else f"{value.cpu:.2f}"


def fmt_x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def print_table(rows: list[Row]) -> None:
    head = ["operation", "data", "mode", "git-model s", "(cpu)", "baseline s", "ours/base"]
    head += ["dvc s", "(cpu)", "dvc/ours", "target", "result"]
    body = [
        [
            r.op,
            r.data,
            r.mode,
            fmt_s(r.ours),
            fmt_cpu(r.ours),
            (f"{fmt_s(r.base)} {r.reference}" if r.base else "—"),
            fmt_x(r.ours_per_base),
            fmt_s(r.dvc),
            fmt_cpu(r.dvc),
            fmt_x(r.dvc_per_ours),
            r.target,
            r.verdict(),
        ]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in body:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")


def describe_machine(work: Path) -> list[str]:
    def out(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    fs = out("df", "-hT", str(work)).splitlines()[-1:]
    mem = [line for line in out("free", "-h").splitlines() if line.startswith("Mem:")]
    return [
        f"machine: {platform.platform()}, nproc {os.cpu_count()}, "
        f"Python {platform.python_version()}",
        f"memory:  {mem[0] if mem else '?'}",
        f"disk:    {fs[0] if fs else '?'}",
        f"git:     {out('git', '--version')}",
    ]


# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-gib", type=float, default=2.0, help="big file size (2)")
    parser.add_argument("--files", type=int, default=10_000, help="files in the folder (10000)")
    parser.add_argument("--file-kib", type=int, default=4, help="size of each small file (4)")
    parser.add_argument("--runs", type=int, default=3, help="fresh-repo runs per op; best kept")
    parser.add_argument("--status-runs", type=int, default=5, help="status runs per repo (5)")
    parser.add_argument("--version-runs", type=int, default=10, help="--version runs (10)")
    parser.add_argument("--skip-dvc", action="store_true", help="do not run DVC")
    parser.add_argument(
        "--install-dvc",
        action="store_true",
        help="create benchmarks/.work/dvc-venv with `pip install dvc` if needed",
    )
    parser.add_argument("--dvc", help="path of the dvc executable")
    parser.add_argument("--git-model", help="path of the git-model executable")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="scratch folder")
    args = parser.parse_args(argv)

    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    global SCRATCH_DIR
    SCRATCH_DIR = work
    empty_trash()  # a run stopped half-way leaves its trash
    git_model = find_git_model(args.git_model)
    dvc = find_dvc(args.dvc, work, args.skip_dvc, args.install_dvc)
    tools = Tools(git_model, dvc, make_env(work, git_model))
    big, folder = make_data(work, args.size_gib, args.files, args.file_kib)
    big_label = f"1 file, {args.size_gib:g} GiB"
    many_label = f"{args.files} x {args.file_kib} KiB"

    started = time.perf_counter()
    figures: dict[tuple[str, str, str], Figures] = {}
    for label, source in ((big_label, big), (many_label, folder)):
        print(f"[{time.perf_counter() - started:6.0f}s] cp baselines: {label}", flush=True)
        figures[("cp", label, "")] = bench_cp(work, source, args.runs)
        for mode in ("copy", "hardlink"):
            print(f"[{time.perf_counter() - started:6.0f}s] git model, {mode}: {label}", flush=True)
            figures[("gm", label, mode)] = bench_git_model(
                tools, work, source, mode, args.runs, args.status_runs
            )
            if dvc is not None:
                print(f"[{time.perf_counter() - started:6.0f}s] dvc, {mode}: {label}", flush=True)
                figures[("dvc", label, mode)] = bench_dvc(
                    tools, work, source, mode, args.runs, args.status_runs
                )

    print(f"[{time.perf_counter() - started:6.0f}s] start-up", flush=True)
    scratch = new_repo(work / "runs" / "startup", tools.env)
    version_ours = best_of(["git", "model", "--version"], scratch, tools.env, args.version_runs)
    version_dvc = (
        best_of([dvc, "--version"], scratch, tools.env, max(3, args.version_runs // 3))
        if dvc is not None
        else None
    )
    git_status = best_of(["git", "status", "--porcelain"], scratch, tools.env, args.version_runs)
    discard(scratch)
    empty_trash()

    def f(tool: str, label: str, mode: str, op: str) -> Timing | None:
        fig = figures.get((tool, label, mode))
        return fig.get(op) if fig else None

    rows: list[Row] = []
    for label in (big_label, many_label):
        is_big = label == big_label
        for mode in ("copy", "hardlink"):
            if is_big and mode == "copy":
                target, check = "ours ≤ 1.2x cp", ours_per_base_at_most(1.2)
            elif is_big:
                target, check = "dvc ≥ 5x ours", dvc_per_ours_at_least(5)
            else:
                target, check = "dvc ≥ 3x ours", dvc_per_ours_at_least(3)
            gm_add, cp_add, dvc_add = (f(t, label, m, "add") for t, m in tool_keys(mode))
            rows.append(Row("add", label, mode, gm_add, cp_add, dvc_add, target, check))
        for mode in ("copy", "hardlink"):
            rows.append(
                Row(
                    "status (unchanged)",
                    label,
                    mode,
                    f("gm", label, mode, "status"),
                    None,
                    f("dvc", label, mode, "status"),
                    "" if is_big else "ours ≤ 0.15 s",
                    None if is_big else at_most(0.15),
                )
            )
        for mode in ("copy", "hardlink"):
            rows.append(
                Row(
                    "checkout (empty tree)",
                    label,
                    mode,
                    f("gm", label, mode, "checkout"),
                    f("cp", label, "", "checkout" if mode == "copy" else "checkout-link"),
                    f("dvc", label, mode, "checkout"),
                    "" if is_big else "dvc ≥ 4x ours",
                    None if is_big else dvc_per_ours_at_least(4),
                    reference="cp" if mode == "copy" else "cp -l",
                )
            )
    rows.append(
        Row(
            "--version (best of)",
            "—",
            "—",
            version_ours,
            None,
            version_dvc,
            "ours ≤ 0.1 s",
            at_most(0.1),
        )
    )

    print()
    for line in describe_machine(work):
        print(line)
    dvc_version = "skipped"
    if dvc is not None:
        dvc_version = subprocess.run(
            [str(dvc), "--version"], capture_output=True, text=True, env=tools.env
        ).stdout.strip()
    print(f"tools:   git-model at {git_model}; dvc {dvc_version}")
    print(f"command: {' '.join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])])}")
    print(
        f"runs:    best of {args.runs} fresh-repo runs per add/checkout; status best of "
        f"{args.runs * args.status_runs}; --version best of {args.version_runs}"
    )
    print(
        "cache:   warm. The page cache cannot be dropped here, so before every timed op the "
        "script runs sync and reads the op's input once (artifact for add, cache for "
        "checkout, source for cp): git-model, DVC and cp all start from the same state."
    )
    print(
        "memory:  before every timed op the script writes and deletes a scratch file of the op's "
        "data size + 512 MiB, so the op gets memory the VM still backs (see prefault in bench.py)."
    )
    print(
        "columns: s = wall-clock seconds of the best run; (cpu) = user + system CPU seconds "
        "of that run (wall far above cpu: the run waited on the disk or on other processes)."
    )
    print()
    print_table(rows)
    print()
    big_durable = f("cp", big_label, "", "add+fsync")
    many_durable = f("cp", many_label, "", "add+fsync")
    print(
        f"baselines: add → `cp SRC DST` on the same file system (cp then `sync`: "
        f"{fmt_s(big_durable)} s for the big file, {fmt_s(many_durable)} s for the folder); "
        f"checkout → cp / cp -l from a cache-like folder; `git status` in a small repo: "
        f"{fmt_s(git_status)} s."
    )
    big_copy = f("gm", big_label, "copy", "add")
    if big_copy and big_durable:
        print(
            "add, copy mode, big file, against cp + sync (a durable copy, as git-model "
            f"makes): {big_copy.wall / big_durable.wall:.2f}x"
        )
    verdicts = [r.verdict() for r in rows]
    print(
        f"{verdicts.count('PASS')} targets pass, {verdicts.count('FAIL')} fail, "
        f"{verdicts.count('n/a')} not measured; total {time.perf_counter() - started:.0f} s"
    )
    return 0


def tool_keys(mode: str) -> tuple[tuple[str, str], ...]:
    """(tool, mode) keys for git-model, the cp baseline and DVC in one link mode."""
    return (("gm", mode), ("cp", ""), ("dvc", mode))


if __name__ == "__main__":
    sys.exit(main())
