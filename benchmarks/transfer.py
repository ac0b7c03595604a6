#!/usr/bin/env python3
"""Push and pull against an S3 server, git-model and DVC side by side (issue 15).

Not part of the test suite. Starts moto's S3 server on 127.0.0.1 (as tests/s3server.py does:
one Python process, fake credentials, nothing leaves the machine), then for each data set
(a folder of 2,000 x 4 KiB files, one 256 MiB file; random bytes, fixed seed), in fresh Git
repositories under benchmarks/.work/transfer/:

- git-model: `git model add` + commit, timed `git model push`, then a fresh clone and timed
  `git model pull`;
- DVC (`dvc` + `dvc-s3` in the side venv): `dvc add` + commit, timed `dvc push`, then a
  fresh clone and timed `dvc pull`;

each tool against its own bucket on the same server, in the same run. The server's request
log gives the number of requests of each command. Prints the times, the ratios DVC /
git-model and PASS/FAIL against the issue's targets.

    python benchmarks/transfer.py --install-dvc           # 2,000 x 4 KiB and 256 MiB
    python benchmarks/transfer.py --files 200 --big-mib 32 --jobs 4   # quick look
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bench import describe_machine, remove_tree
from harness import NA, MiB, Tools, find_tools, fresh_folder, git_repo, run, timed

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository: start the S3 server as the tests do
from tests.localserver import local_server  # noqa: E402
from tests.s3server import FAKE_AWS_ENV, _answers, _server_command  # noqa: E402

FAKE_AWS = FAKE_AWS_ENV | {"AWS_EC2_METADATA_DISABLED": "true"}
# moto's server logs one line per request through werkzeug: "GET /bucket/key HTTP/1.1" 200 -
# (the method may follow colour escapes: 4xx answers are yellow, 206 bold magenta)
REQUEST = re.compile(r'"(?:\x1b\[[0-9;]*m)*(GET|PUT|POST|HEAD|DELETE) ')
# (data set, op) -> the least DVC time / git-model time the issue asks for
TARGETS = {("small", "push"): 10.0, ("small", "pull"): 10.0}
TARGETS |= {("big", "push"): 2.0, ("big", "pull"): 2.0}


@dataclass
class Moto:
    endpoint: str
    log: Path

    def requests(self) -> int:
        with self.log.open(errors="replace") as f:
            return sum(1 for line in f if REQUEST.search(line))


@contextlib.contextmanager
def moto_server(work: Path, env: dict[str, str]) -> Iterator[Moto]:
    """moto's S3 server on a free 127.0.0.1 port, started as the tests start it."""
    log = work / "moto.log"
    answer = lambda port: _answers(f"http://127.0.0.1:{port}")  # noqa: E731
    unbuffered = env | {"PYTHONUNBUFFERED": "1"}  # each request's log line as it happens
    with local_server(_server_command, answer, log, "moto", unbuffered) as port:
        yield Moto(f"http://127.0.0.1:{port}", log)


def s3_env(env: dict[str, str]) -> dict[str, str]:
    """The benchmark's environment with fake credentials and no real AWS settings."""
    clean = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    home = Path(env["HOME"])
    clean |= FAKE_AWS | {
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
    }
    return clean


def make_bucket(moto: Moto, name: str) -> None:
    request = urllib.request.Request(f"{moto.endpoint}/{name}", method="PUT")
    with urllib.request.urlopen(request, timeout=10):
        pass


def make_data(data: Path, files: int, file_kib: int, big_mib: int) -> dict[str, Path]:
    """Random bytes with a fixed seed: nothing dedups or compresses."""
    rng = np.random.default_rng(15)
    folder = fresh_folder(data / "files")
    for i in range(files):
        (folder / f"part-{i:05d}.bin").write_bytes(rng.bytes(file_kib * 1024))
    big = data / "model.bin"
    with big.open("wb") as f:
        for _ in range(big_mib):
            f.write(rng.bytes(MiB))
    return {"small": folder, "big": big}


@dataclass
class Timing:
    seconds: float
    requests: int


def measured(moto: Moto, cmd: list[str], cwd: Path, env: dict[str, str]) -> Timing:
    before = moto.requests()
    seconds = timed(cmd, cwd, env)
    time.sleep(0.2)  # let the server write its last log lines
    return Timing(seconds, moto.requests() - before)


def put_in(source: Path, repo: Path) -> str:
    if source.is_dir():
        shutil.copytree(source, repo / source.name)
    else:
        shutil.copyfile(source, repo / source.name)
    return source.name


def git_model_round(
    tools: Tools, moto: Moto, work: Path, source: Path, prefix: str, jobs: list[str]
) -> tuple[Timing, Timing]:
    env, gm = s3_env(tools.env), str(tools.git_model)
    repo = git_repo(work / "gm", env)
    url = f"s3://gm-bench/{prefix}"
    remote = [gm, "remote", "add", "-d", "origin", url, "--endpoint", moto.endpoint]
    run(remote, repo, env)
    name = put_in(source, repo)
    run([gm, "add", "-q", name], repo, env)
    run(["git", "commit", "-q", "-m", name], repo, env)
    push = measured(moto, [gm, "push", "-q", *jobs], repo, env)
    clone = work / "gm-clone"
    remove_tree(clone)
    run(["git", "clone", "-q", repo, clone], work, env)
    run(remote, clone, env)
    pull = measured(moto, [gm, "pull", "-q", *jobs], clone, env)
    remove_tree(repo)
    remove_tree(clone)
    return push, pull


def dvc_round(
    tools: Tools, moto: Moto, work: Path, source: Path, prefix: str, jobs: list[str]
) -> tuple[Timing, Timing]:
    assert tools.dvc is not None
    env, dvc = s3_env(tools.env), str(tools.dvc)
    repo = git_repo(work / "dvc", env)
    run([dvc, "init", "-q"], repo, env)
    run([dvc, "config", "core.analytics", "false"], repo, env)
    run([dvc, "remote", "add", "-d", "origin", f"s3://dvc-bench/{prefix}"], repo, env)
    run([dvc, "remote", "modify", "origin", "endpointurl", moto.endpoint], repo, env)
    name = put_in(source, repo)
    run([dvc, "add", "-q", name], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-q", "-m", name], repo, env)
    push = measured(moto, [dvc, "push", "-q", *jobs], repo, env)
    clone = work / "dvc-clone"
    remove_tree(clone)
    run(["git", "clone", "-q", repo, clone], work, env)
    pull = measured(moto, [dvc, "pull", "-q", *jobs], clone, env)
    remove_tree(repo)
    remove_tree(clone)
    return push, pull


def best(timings: list[Timing]) -> Timing:
    return min(timings, key=lambda t: t.seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=2000, help="small files (2000)")
    parser.add_argument("--file-kib", type=int, default=4, help="size of each small file (4)")
    parser.add_argument("--big-mib", type=int, default=256, help="size of the big file (256)")
    parser.add_argument("--jobs", type=int, help="push/pull -j for both tools (their default)")
    parser.add_argument("--runs", type=int, default=1, help="rounds per tool; best kept (1)")
    parser.add_argument("--skip", choices=["dvc"], action="append", default=[])
    parser.add_argument("--install-dvc", action="store_true", help="pip install dvc dvc-s3")
    parser.add_argument("--git-model", help="path of the git-model executable")
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="scratch folder")
    args = parser.parse_args()

    work = fresh_folder(args.work.resolve() / "transfer")
    tools = find_tools(
        work.parent, args.git_model, {"lfs", *args.skip}, args.install_dvc, ["dvc", "dvc-s3"]
    )
    jobs = ["-j", str(args.jobs)] if args.jobs else []
    started = time.perf_counter()
    data = make_data(work / "data", args.files, args.file_kib, args.big_mib)
    labels = {
        "small": f"{args.files} x {args.file_kib} KiB",
        "big": f"1 file, {args.big_mib} MiB",
    }
    results: dict[tuple[str, str, str], list[Timing]] = {}
    env = s3_env(tools.env)
    with moto_server(work, env) as moto:
        make_bucket(moto, "gm-bench")
        make_bucket(moto, "dvc-bench")
        for kind, source in data.items():
            for n in range(args.runs):
                rounds = [("git-model", git_model_round)]
                if tools.dvc is not None:
                    rounds.append(("DVC", dvc_round))
                for tool, round_ in rounds:
                    print(
                        f"[{time.perf_counter() - started:6.0f}s] {tool}: {labels[kind]}",
                        file=sys.stderr,
                        flush=True,
                    )
                    push, pull = round_(tools, moto, work, source, f"{kind}-{n}", jobs)
                    results.setdefault((tool, kind, "push"), []).append(push)
                    results.setdefault((tool, kind, "pull"), []).append(pull)
    print("\n".join(describe_machine(work)))
    print(f"command: {' '.join(['transfer.py', *sys.argv[1:]])}")
    jobs_shown = args.jobs or "each tool's default"
    print(f"server:  moto {moto_version()} on 127.0.0.1 (one Python process); jobs: {jobs_shown}")
    for tool, why in tools.missing.items():
        if tool == "dvc":
            print(f"dvc: n/a, {why}")
    print()
    print_table(results, labels, args.runs)
    print(f"total {time.perf_counter() - started:.0f} s")
    if not os.environ.get("BENCH_KEEP"):
        remove_tree(work)
    return 0


def moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def print_table(
    results: dict[tuple[str, str, str], list[Timing]], labels: dict[str, str], runs: int
) -> None:
    from storage_report import table, verdict

    rows = []
    for kind, label in labels.items():
        for op in ("push", "pull"):
            ours = best(results[("git-model", kind, op)])
            theirs_all = results.get(("DVC", kind, op))
            theirs = best(theirs_all) if theirs_all else None
            speedup = theirs.seconds / ours.seconds if theirs else None
            target = TARGETS[(kind, op)]
            rows.append(
                [
                    label,
                    op,
                    f"{ours.seconds:.2f}",
                    str(ours.requests),
                    f"{theirs.seconds:.2f}" if theirs else NA,
                    str(theirs.requests) if theirs else NA,
                    NA if speedup is None else f"{speedup:.2f}x",
                    f"≥ {target:g}x",
                    verdict(None if speedup is None else speedup >= target),
                ]
            )
    print(f"best of {runs} run(s); requests: lines in moto's request log during the command")
    head = ["data", "op", "git-model s", "requests", "DVC s", "requests", "DVC / git-model"]
    head += ["target", "result"]
    table(head, rows)


if __name__ == "__main__":
    sys.exit(main())
