"""The git-model half of storage.py: add, push, pull, gc and checkout of the versions."""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import remove_tree
from harness import (
    CommandFailed,
    Tools,
    accepts,
    bytes_moved_under,
    fresh_folder,
    git_repo,
    run,
    strace_available,
    timed,
    tree_bytes,
)

CACHE = Path(".git") / "model" / "cache"
# Extra flags for `git model gc` and `gc --remote`, set from storage.py's command line.
GC_FLAGS: list[str] = []
GC_REMOTE_FLAGS: list[str] = []


@dataclass
class GitModelFigures:
    raw: int  # bytes of one raw copy: the newest version's first file
    version_bytes: int  # bytes of the newest version, every file
    total_raw: int  # bytes of every version's files
    add: float = 0.0  # add + commit, every version
    push: float = 0.0  # push of versions 1 to n-1, then of version n
    remote_pushed: int = 0  # remote bytes after the pushes, before gc --remote
    cache_before_gc: int = 0
    gc: float | None = None
    gc_remote: float | None = None
    cache: int = 0  # after gc
    remote: int = 0  # after gc --remote
    pull_newest: int | None = None  # bytes read from the remote: newest into an empty clone
    pull_newest_gc: int | None = None  # the same after `gc --remote`
    last_upload: int | None = None  # bytes written to the remote: push of version n
    last_adds: int = 0  # what version n added to the remote (its growth)
    pull_last: int | None = None  # bytes read: version n into a clone holding n-1
    speed_push: float | None = None  # seconds: one push of every version to an empty remote
    speed_pull: float | None = None  # seconds: fetch of every version + checkout, empty clone
    checkout_newest: tuple[float, int, bool] | None = None  # seconds, bytes, was packed
    checkout_oldest: tuple[float, int, bool] | None = None
    notes: list[str] = field(default_factory=list)


def measure_git_model(
    tools: Tools, work: Path, versions: list[list[Path]], jobs: int | None, speeds: bool
) -> GitModelFigures:
    env, gm = tools.env, str(tools.git_model)
    jobs_flag = ["-j", str(jobs)] if jobs else []
    repo = git_repo(work / "gm", env)
    remote = fresh_folder(work / "gm-remote")
    run([gm, "remote", "add", "-d", "origin", remote], repo, env)
    sizes = [[f.stat().st_size for f in files] for files in versions]
    fig = GitModelFigures(sizes[-1][0], sum(sizes[-1]), total_raw=sum(map(sum, sizes)))
    commits = []
    for files in versions:
        names = place(files, repo)
        fig.add += timed([gm, "add", "-q", *names], repo, env)
        fig.add += timed(["git", "commit", "-q", "-m", files[0].parent.name], repo, env)
        commits.append(run(["git", "rev-parse", "HEAD"], repo, env).strip())
    names = [f.name for f in versions[0]]

    revs = [arg for c in commits[:-1] for arg in ("--rev", c)]
    if revs:
        fig.push += timed([gm, "push", "-q", *jobs_flag, *revs], repo, env)
    before = tree_bytes(remote)
    start = time.perf_counter()
    fig.last_upload = traced(fig, [gm, "push", "-q", *jobs_flag], repo, env, remote)[1]
    fig.push += time.perf_counter() - start  # under strace, when it is there
    fig.remote_pushed = tree_bytes(remote)
    fig.last_adds = fig.remote_pushed - before

    if speeds:
        measure_speeds(fig, tools, work, repo, commits, jobs_flag)
    clone = make_clone(tools, work / "gm-clone", repo, remote)
    fig.pull_newest = traced(fig, [gm, "pull", "-q", *jobs_flag], clone, env, remote)[0]
    if len(commits) > 1:
        clone = make_clone(tools, work / "gm-clone", repo, remote)
        run(["git", "checkout", "-q", commits[-2]], clone, env)
        run([gm, "pull", "-q", *jobs_flag], clone, env)
        run(["git", "checkout", "-q", "main"], clone, env)
        fig.pull_last = traced(fig, [gm, "pull", "-q", *jobs_flag], clone, env, remote)[0]
    remove_tree(clone)

    fig.cache_before_gc = cache_bytes(repo)
    fig.gc = timed([gm, "gc", *GC_FLAGS], repo, env)
    fig.cache = cache_bytes(repo)
    remote_flags = ["--grace", "0"] if accepts(tools, "gc", "--grace") else []
    fig.gc_remote = timed(
        [gm, "gc", "--remote", "origin", *remote_flags, *GC_REMOTE_FLAGS], repo, env
    )
    fig.remote = tree_bytes(remote)
    clone = make_clone(tools, work / "gm-clone", repo, remote)
    fig.pull_newest_gc = traced(fig, [gm, "pull", "-q", *jobs_flag], clone, env, remote)[0]
    remove_tree(clone)
    if len(commits) > 1:
        measure_checkouts(fig, tools, repo, commits, names)
    remove_tree(repo)
    remove_tree(remote)
    return fig


def measure_speeds(
    fig: GitModelFigures, tools: Tools, work: Path, repo: Path, commits: list[str], jobs: list[str]
) -> None:
    """One push of every version to an empty folder remote, and one fetch of every version
    (plus checkout of the newest) into an empty clone: MB/s of raw model bytes."""
    env, gm = tools.env, str(tools.git_model)
    remote = fresh_folder(work / "gm-speed-remote")
    run([gm, "remote", "add", "speed", remote], repo, env)
    revs = [arg for c in commits for arg in ("--rev", c)]
    fig.speed_push = timed([gm, "push", "-q", *jobs, "speed", *revs], repo, env)
    run([gm, "remote", "remove", "speed"], repo, env)
    clone = make_clone(tools, work / "gm-speed-clone", repo, remote)
    fig.speed_pull = timed([gm, "fetch", "-q", *jobs, *revs], clone, env)
    fig.speed_pull += timed([gm, "checkout", "-q"], clone, env)
    remove_tree(clone)
    remove_tree(remote)


def measure_checkouts(
    fig: GitModelFigures, tools: Tools, repo: Path, commits: list[str], names: list[str]
) -> None:
    """Checkout of the newest, then the oldest version into an empty work tree, each after a
    `gc` run while another version was checked out (so that gc may pack it)."""
    env, gm = tools.env, str(tools.git_model)

    def switch(commit: str) -> None:
        for name in names:
            (repo / name).unlink(missing_ok=True)
        run(["git", "checkout", "-q", commit], repo, env)

    def checkout_after_gc(commit: str) -> tuple[float, int, bool]:
        run([gm, "gc", *GC_FLAGS], repo, env)
        switch(commit)
        packed = not all(loose(repo, name) for name in names)
        seconds = timed([gm, "checkout", "-q"], repo, env)
        return seconds, sum((repo / n).stat().st_size for n in names), packed

    try:
        switch(commits[0])
        run([gm, "checkout", "-q"], repo, env)
        fig.checkout_newest = checkout_after_gc(commits[-1])
        fig.checkout_oldest = checkout_after_gc(commits[0])
    except CommandFailed as error:
        fig.notes.append(f"checkout after gc failed: {str(error).splitlines()[0]}")


def traced(
    fig: GitModelFigures, cmd: list[str], cwd: Path, env: dict[str, str], remote: Path
) -> tuple[int | None, int | None]:
    """Run cmd; (bytes read, bytes written) under `remote`, or Nones without strace."""
    if not strace_available():
        run(cmd, cwd, env)
        if "no strace" not in fig.notes:
            fig.notes.append("no strace")
        return None, None
    read, written, mapped = bytes_moved_under(cmd, cwd, env, remote)
    if mapped and "mmap" not in " ".join(fig.notes):
        fig.notes.append("mmapped remote files: bytes read through the map are not counted")
    return read, written


def make_clone(tools: Tools, path: Path, repo: Path, remote: Path) -> Path:
    remove_tree(path)
    run(["git", "clone", "-q", repo, path], repo.parent, tools.env)
    run([str(tools.git_model), "remote", "add", "-d", "origin", remote], path, tools.env)
    return path


def place(files: list[Path], repo: Path) -> list[str]:
    """Put one version's files into the work tree (a new inode each: the old may be linked)."""
    for file in files:
        target = repo / file.name
        target.unlink(missing_ok=True)
        shutil.copyfile(file, target)
    return [file.name for file in files]


def cache_bytes(repo: Path) -> int:
    return tree_bytes(repo / CACHE, skip=("tmp",))


_OID = re.compile(r'^oid = "xxh128:([0-9a-f]{32})"', re.MULTILINE)


def loose(repo: Path, name: str) -> bool:
    """Whether the object the pointer of `name` names is a loose file in the cache."""
    match = _OID.search((repo / f"{name}.gitmodel").read_text())
    return bool(match) and (repo / CACHE / "objects" / match[1][:2] / match[1][2:]).exists()
