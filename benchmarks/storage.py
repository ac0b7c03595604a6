#!/usr/bin/env python3
"""Storage benchmark of issue 15, end to end: what ten model versions cost on a remote, in the
local cache and on the wire, with git-model, DVC and Git LFS side by side.

Not part of the test suite. For each scenario (see checkpoints.py) it writes the versions of
a ~256 MiB F16 checkpoint with the real `safetensors` library, then per tool, in a fresh Git
repository under benchmarks/.work/storage/:

- git-model: `git model add` + `git commit` each version; `git model push` of versions 1-9,
  then of version 10; pulls into fresh clones; `git model gc` and `git model gc --remote`;
  checkout of the newest and the oldest version after gc;
- DVC: `dvc add` + `git commit` each version; `dvc push --all-commits` to a folder remote;
- Git LFS: `git add` + `git commit` each version; `git push` to a bare repository on disk.

It prints stored bytes (remote; local cache) as ratios of one raw copy, the bytes moved by
push and pull, throughputs and wall times, with PASS/FAIL against the issue's targets.
A step whose command or flag does not exist yet prints n/a.

    python benchmarks/storage.py --install-dvc          # full run; see README.md for its time
    python benchmarks/storage.py --size-mib 32 --scenario S1 --skip lfs   # quick look
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import storage_gm
from bench import describe_machine, remove_tree
from checkpoints import DEFAULT_WIDTH, SCENARIOS, width_for, write_versions
from harness import Tools, find_tools, fresh_folder, git_repo, run, timed, tree_bytes
from storage_gm import GitModelFigures, measure_git_model, place
from storage_report import OtherFigures, print_report

HERE = Path(__file__).resolve().parent


def measure_dvc(tools: Tools, work: Path, versions: list[list[Path]]) -> OtherFigures:
    assert tools.dvc is not None
    env, dvc = tools.env, str(tools.dvc)
    repo = git_repo(work / "dvc", env)
    remote = fresh_folder(work / "dvc-remote")
    run([dvc, "init", "-q"], repo, env)
    run([dvc, "config", "core.analytics", "false"], repo, env)
    run([dvc, "remote", "add", "-d", "origin", remote], repo, env)
    run(["git", "add", ".dvc", ".dvcignore"], repo, env)
    run(["git", "commit", "-q", "-m", "dvc init"], repo, env)
    figures = OtherFigures()
    for files in versions:
        names = place(files, repo)
        figures.add += timed([dvc, "add", "-q", *names], repo, env)
        pointers = [f"{n}.dvc" for n in names]
        figures.add += timed(["git", "add", *pointers, ".gitignore"], repo, env)
        figures.add += timed(["git", "commit", "-q", "-m", files[0].parent.name], repo, env)
    figures.push = timed([dvc, "push", "-q", "--all-commits"], repo, env)
    figures.cache = tree_bytes(repo / ".dvc" / "cache")
    figures.remote = tree_bytes(remote)
    remove_tree(repo)
    remove_tree(remote)
    return figures


def measure_lfs(tools: Tools, work: Path, versions: list[list[Path]]) -> OtherFigures:
    env = tools.env
    repo = git_repo(work / "lfs", env)
    remote = fresh_folder(work / "lfs-remote.git")
    run(["git", "init", "-q", "--bare"], remote, env)
    run(["git", "lfs", "install", "--local"], repo, env)
    run(["git", "lfs", "track", "*.safetensors"], repo, env)
    run(["git", "add", ".gitattributes"], repo, env)
    run(["git", "commit", "-q", "-m", "lfs"], repo, env)
    run(["git", "remote", "add", "origin", remote], repo, env)
    figures = OtherFigures()
    for files in versions:
        names = place(files, repo)
        figures.add += timed(["git", "add", *names], repo, env)
        figures.add += timed(["git", "commit", "-q", "-m", files[0].parent.name], repo, env)
    figures.push = timed(["git", "push", "-q", "origin", "main"], repo, env)
    figures.cache = tree_bytes(repo / ".git" / "lfs" / "objects")
    figures.remote = tree_bytes(remote / "lfs" / "objects")
    if any(f.stat().st_nlink > 1 for f in (remote / "lfs" / "objects").rglob("*") if f.is_file()):
        figures.note = (
            "its push to a path on the same file system hard-links the objects (no copy: the "
            "push time is not comparable; the remote is counted as if it held copies)"
        )
    remove_tree(repo)
    remove_tree(remote)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", choices=SCENARIOS, action="append", help="repeatable")
    parser.add_argument("--versions", type=int, default=10, help="versions per scenario (10)")
    parser.add_argument(
        "--size-mib", type=float, help="size of one checkpoint (default: width 640, 245 MiB)"
    )
    parser.add_argument("--skip", choices=["dvc", "lfs"], action="append", default=[])
    parser.add_argument("--install-dvc", action="store_true", help="pip install dvc if needed")
    parser.add_argument("--jobs", type=int, help="git model push/pull --jobs")
    parser.add_argument("--gc-flag", action="append", default=[], help="extra `git model gc` flag")
    parser.add_argument(
        "--gc-remote-flag", action="append", default=[], help="extra `gc --remote` flag"
    )
    parser.add_argument("--git-model", help="path of the git-model executable")
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="scratch folder")
    args = parser.parse_args()

    storage_gm.GC_FLAGS[:] = args.gc_flag
    storage_gm.GC_REMOTE_FLAGS[:] = args.gc_remote_flag

    work = args.work.resolve() / "storage"
    work.mkdir(parents=True, exist_ok=True)
    tools = find_tools(work.parent, args.git_model, set(args.skip), args.install_dvc, ["dvc"])
    width = width_for(args.size_mib) if args.size_mib else DEFAULT_WIDTH
    started = time.perf_counter()
    gm: dict[str, GitModelFigures] = {}
    dvc: dict[str, OtherFigures] = {}
    lfs: dict[str, OtherFigures] = {}
    for scenario in args.scenario or list(SCENARIOS):
        data = fresh_folder(work / "data")

        def note(what: str, scenario: str = scenario) -> None:
            print(f"[{time.perf_counter() - started:6.0f}s] {scenario}: {what}", file=sys.stderr)

        note("writing the versions")
        versions = list(write_versions(scenario, args.versions, width, data))
        note("git-model")
        gm[scenario] = measure_git_model(tools, work, versions, args.jobs, scenario == "S1")
        if tools.dvc is not None:
            note("DVC")
            dvc[scenario] = measure_dvc(tools, work, versions)
        if tools.lfs:
            note("Git LFS")
            lfs[scenario] = measure_lfs(tools, work, versions)
        remove_tree(data)
    print("\n".join(describe_machine(work)))
    print(f"command: {' '.join(['storage.py', *sys.argv[1:]])}")
    print_report(tools, width, gm, dvc, lfs)
    print(f"total {time.perf_counter() - started:.0f} s")
    remove_tree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
