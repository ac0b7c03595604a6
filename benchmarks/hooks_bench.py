#!/usr/bin/env python3
"""Time git-model's Git hooks on their no-op paths (target: at most 0.15 s each).

Not part of the test suite. In a fresh repository (own HOME and Git config) with
`git model install` done, a committed model pointer and a bare remote, it measures:

- the hook entry the shims exec (`git-model hook NAME ...`) as a subprocess, with nothing that
  matters to do: pre-commit with a small text file staged, pre-push of a commit that changes
  no pointer, post-checkout between two commits whose pointers are the same;
- the same hooks fired by real Git commands (`git commit`, `git push`, `git checkout`), each
  against the same command with hooks turned off; the difference is what the hook costs.

Each figure is the best of N runs (and the median), in milliseconds.

    python benchmarks/hooks_bench.py            # N = 20
    python benchmarks/hooks_bench.py -n 50 --keep
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET_S = 0.15
HERE = Path(__file__).resolve().parent


def find_git_model() -> Path:
    found = shutil.which("git-model") or str(Path(sys.executable).parent / "git-model")
    if not Path(found).exists():
        sys.exit("error: git-model not found (install it: pip install -e .)")
    return Path(found).resolve()


def make_env(home: Path, git_model: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users get: cached bytecode
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench\n\temail = bench@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        PATH=str(git_model.parent) + os.pathsep + os.environ.get("PATH", ""),
    )
    return env


class Bench:
    def __init__(self, root: Path, env: dict[str, str], runs: int) -> None:
        self.root = root
        self.repo = root / "repo"
        self.env = env
        self.runs = runs
        self.rows: list[tuple[str, float, float, bool | None]] = []

    def run(
        self, *args: str, input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(
            args, cwd=self.repo, env=self.env, input=input, capture_output=True, check=False
        )
        if check and proc.returncode != 0:
            sys.exit(f"error: {' '.join(args)} failed:\n{proc.stderr.decode()}")
        return proc

    def git(self, *args: str) -> str:
        return self.run("git", *args).stdout.decode().strip()

    def timed(
        self,
        prepare: Callable[[int], None] | None,
        *args: str,
        input: bytes | None = None,
        runs: int | None = None,
    ) -> list[float]:
        times = []
        for i in range(runs or self.runs):
            if prepare is not None:
                prepare(i)
            start = time.perf_counter()
            proc = self.run(*args, input=input, check=False)
            times.append(time.perf_counter() - start)
            if proc.returncode != 0 or proc.stderr.strip() not in (b"", b"Everything up-to-date"):
                sys.exit(
                    f"error: {' '.join(args)}: exit {proc.returncode}, expected a silent no-op:\n"
                    f"{proc.stderr.decode()}"
                )
        return times

    def record(self, name: str, times: list[float], target: bool) -> None:
        best, median = min(times), statistics.median(times)
        self.rows.append((name, best, median, best <= TARGET_S if target else None))

    def record_overhead(self, name: str, hooked: list[float], plain: list[float]) -> None:
        best = min(hooked) - min(plain)
        median = statistics.median(hooked) - statistics.median(plain)
        self.rows.append((name, best, median, best <= TARGET_S))


def set_up(b: Bench) -> None:
    b.repo.mkdir()
    b.git("init", "-q")
    (b.repo / "README.md").write_text("bench\n")
    b.git("add", "README.md")
    b.git("commit", "-q", "-m", "initial")
    b.run("git", "model", "install", "-q")
    # a committed model, so the hooks have pointers to (not) look at
    model = b.repo / "model.dat"
    model.write_bytes(os.urandom(1 << 20))
    b.run("git", "model", "add", "-q", "model.dat", "-m", "acc=0.9")
    b.git("add", ".gitattributes")
    b.git("commit", "-q", "-m", "model")
    bare = b.root / "remote.git"
    b.run("git", "init", "-q", "--bare", str(bare))
    b.git("remote", "add", "origin", str(bare))
    b.git("push", "-q", "origin", "main")
    b.git("branch", "other")


def measure(b: Bench, git_model: Path) -> None:
    gm = str(git_model)
    b.record("python -c pass (reference)", b.timed(None, sys.executable, "-c", "pass"), False)
    b.record("git-model --version (reference)", b.timed(None, gm, "--version"), False)

    # --- the hook entry, directly -------------------------------------------------------
    (b.repo / "notes.txt").write_text(f"a small staged change {time.time_ns()}\n")
    b.git("add", "notes.txt")
    b.record("hook pre-commit (small file staged)", b.timed(None, gm, "hook", "pre-commit"), True)
    b.git("commit", "-q", "--no-verify", "-m", "notes")
    sha = b.git("rev-parse", "HEAD")
    remote_sha = b.git("rev-parse", "origin/main")
    line = f"refs/heads/main {sha} refs/heads/main {remote_sha}\n".encode()
    url = str(b.root / "remote.git")
    b.record(
        "hook pre-push (no pointer pushed)",
        b.timed(None, gm, "hook", "pre-push", "origin", url, input=line),
        True,
    )
    b.record(
        "hook post-checkout (no pointer changed)",
        b.timed(None, gm, "hook", "post-checkout", remote_sha, sha, "1"),
        True,
    )

    # --- through Git: the hook's cost is the difference with hooks off ---------------------
    counter = b.repo / "counter.txt"

    def stage_change(i: int) -> None:
        counter.write_text(f"{i} {time.time_ns()}\n")
        b.git("add", "counter.txt")

    b.record_overhead(
        "git commit: pre-commit hook overhead",
        b.timed(stage_change, "git", "commit", "-q", "-m", "change"),
        b.timed(stage_change, "git", "commit", "-q", "--no-verify", "-m", "change"),
    )

    def new_commit(i: int) -> None:
        stage_change(i)
        b.git("commit", "-q", "--no-verify", "-m", "to push")

    b.record_overhead(
        "git push: pre-push hook overhead",
        b.timed(new_commit, "git", "push", "-q", "origin", "main"),
        b.timed(new_commit, "git", "push", "-q", "--no-verify", "origin", "main"),
    )

    b.git("checkout", "-q", "other")
    (b.repo / "other.txt").write_text(f"only on this branch {time.time_ns()}\n")
    b.git("add", "other.txt")
    b.git("commit", "-q", "--no-verify", "-m", "other")

    on = ["other"]

    def checkouts(*git_args: str) -> list[float]:  # alternate, so each one switches branch
        times = []
        for _ in range(b.runs):
            on[0] = "main" if on[0] == "other" else "other"
            times += b.timed(None, "git", *git_args, "checkout", "-q", on[0], runs=1)
        return times

    hooked = checkouts()
    plain = checkouts("-c", "core.hooksPath=/dev/null")
    b.record_overhead("git checkout: post-checkout hook overhead", hooked, plain)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=20, help="runs per figure (best of N)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch repository")
    args = parser.parse_args()
    git_model = find_git_model()
    root = Path(tempfile.mkdtemp(prefix="gitmodel-hooks-bench-"))
    try:
        home = root / "home"
        home.mkdir()
        bench = Bench(root, make_env(home, git_model), args.runs)
        set_up(bench)
        runs, bench.runs = bench.runs, 1
        measure(bench, git_model)  # warm-up: page cache, .pyc files
        bench.rows.clear()
        bench.runs = runs
        measure(bench, git_model)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    print(f"git-model hooks, no-op paths: best and median of {args.runs} runs, in ms")
    print(f"({git_version.strip()}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)\n")
    width = max(len(row[0]) for row in bench.rows)
    print(f"{'what':<{width}}  {'best':>7}  {'median':>7}  target <= {TARGET_S * 1000:.0f} ms")
    failed = False
    for name, best, median, ok in bench.rows:
        verdict = "" if ok is None else ("PASS" if ok else "FAIL")
        failed |= ok is False
        print(f"{name:<{width}}  {best * 1000:7.1f}  {median * 1000:7.1f}  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
