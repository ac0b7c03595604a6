"""What storage.py and transfer.py share: tools, timed commands, bytes on disk, bytes read.

Every tool runs as its real command line in a subprocess with the clean environment of
bench.py (own HOME and Git config, no GIT_*/DVC_* variables leaking in).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import find_git_model, make_env, remove_tree

MiB = 1024 * 1024
NA = "n/a"


@dataclass
class Tools:
    git_model: Path
    dvc: Path | None  # None: not installed (the reason is in `missing`)
    lfs: bool
    env: dict[str, str]
    missing: dict[str, str]  # tool -> why it is not measured


def dvc_venv(work: Path, install: bool, packages: Sequence[str]) -> tuple[Path | None, str]:
    """dvc from `work/dvc-venv` (made with `pip install PACKAGES` when `install`)."""
    venv = work / "dvc-venv"
    dvc = venv / "bin" / "dvc"
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    if not dvc.exists():
        if not install:
            return None, f"no DVC in {venv} (pass --install-dvc)"
        print(f"installing {' '.join(packages)} into {venv} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([*pip, "install", "-q", *packages], check=True)
        return dvc, ""
    have = subprocess.run([*pip, "list", "--format=freeze"], capture_output=True, text=True)
    names = {line.split("==")[0].lower() for line in have.stdout.splitlines()}
    lacking = [p for p in packages if p.lower() not in names]
    if lacking and install:
        subprocess.run([*pip, "install", "-q", *lacking], check=True)
    elif lacking:
        return None, f"{venv} lacks {' '.join(lacking)} (pass --install-dvc)"
    return dvc, ""


def find_tools(
    work: Path, git_model: str | None, skip: set[str], install_dvc: bool, dvc_packages: list[str]
) -> Tools:
    gm = find_git_model(git_model)
    env = make_env(work, gm)
    missing: dict[str, str] = {}
    dvc = None
    if "dvc" in skip:
        missing["dvc"] = "skipped (--skip dvc)"
    else:
        dvc, why = dvc_venv(work, install_dvc, dvc_packages)
        if why:
            missing["dvc"] = why
    lfs = False
    if "lfs" in skip:
        missing["lfs"] = "skipped (--skip lfs)"
    elif subprocess.run(["git", "lfs", "version"], capture_output=True, env=env).returncode:
        missing["lfs"] = "git-lfs is not installed (Debian: apt-get install git-lfs)"
    else:
        lfs = True
    return Tools(gm, dvc, lfs, env, missing)


def run(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str]) -> str:
    """Run a command; return its stdout + stderr; stop the benchmark if it fails."""
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = proc.stdout.decode(errors="replace")
    if proc.returncode != 0:
        shown = " ".join(str(c) for c in cmd)
        raise CommandFailed(f"`{shown}` failed in {cwd} (exit {proc.returncode}):\n{output}")
    return output


class CommandFailed(Exception):
    pass


def timed(cmd: Sequence[str | Path], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    run(cmd, cwd, env)
    return time.perf_counter() - start


def accepts(tools: Tools, command: str, flag: str) -> bool:
    """Whether `git model COMMAND --help` lists FLAG (features land while this is written)."""
    proc = subprocess.run(
        [str(tools.git_model), *command.split(), "--help"],
        capture_output=True,
        text=True,
        env=tools.env,
    )
    return proc.returncode == 0 and (
        not flag or re.search(rf"(^|\s){flag}\b", proc.stdout) is not None
    )


def tree_bytes(path: Path, skip: Sequence[str] = ()) -> int:
    """Bytes of the regular files under `path` (apparent size; a hard link counts once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            st = os.lstat(os.path.join(root, name))
            if (st.st_dev, st.st_ino) not in seen and not os.path.islink(os.path.join(root, name)):
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


_SYSCALL = re.compile(r"^(\w+)\((.*)\)\s+= (\d+)")
_FD = re.compile(r"\b\d+<([^>]*)>")


def bytes_moved_under(
    cmd: Sequence[str | Path], cwd: Path, env: dict[str, str], folder: Path
) -> tuple[int, int, bool]:
    """Run `cmd` under strace; return the bytes it read from and wrote to files under
    `folder`, and whether it mmapped any of them (bytes moved through a map are not counted).

    Counts read/write, pread/pwrite, readv/writev and their p- forms, and both sides of
    sendfile, copy_file_range and splice (how Python's shutil.copyfile moves bytes).
    """
    prefix = str(folder.resolve()) + os.sep
    calls = "read,pread64,readv,preadv,preadv2,write,pwrite64,writev,pwritev,pwritev2,"
    calls += "sendfile,copy_file_range,splice,mmap"
    read = written = 0
    mapped = False
    with tempfile.TemporaryDirectory(prefix="bench-strace-") as logs:
        log_prefix = os.path.join(logs, "t")
        run(
            ["strace", "-ff", "-qq", "-y", "-s", "0", "-o", log_prefix, "-e", calls, *cmd], cwd, env
        )
        for log in Path(logs).iterdir():
            for line in log.read_text(errors="replace").splitlines():
                match = _SYSCALL.match(line)
                if not match:
                    continue
                call, args, result = match.groups()
                paths = _FD.findall(args)
                if call == "mmap":
                    mapped = mapped or any(p.startswith(prefix) for p in paths)
                    continue
                if call == "sendfile":  # sendfile(out, in, ...)
                    paths = paths[::-1]
                if call in ("sendfile", "copy_file_range", "splice"):
                    source, target = [*paths, "", ""][:2]
                elif call.startswith(("read", "pread")):
                    source, target = (paths or [""])[0], ""
                else:
                    source, target = "", (paths or [""])[0]
                if source.startswith(prefix):
                    read += int(result)
                if target.startswith(prefix):
                    written += int(result)
    return read, written, mapped


def fresh_folder(path: Path) -> Path:
    remove_tree(path)
    path.mkdir(parents=True)
    return path


def git_repo(path: Path, env: dict[str, str]) -> Path:
    fresh_folder(path)
    run(["git", "init", "-q"], path, env)
    (path / "README.md").write_text("benchmark\n")
    run(["git", "add", "README.md"], path, env)
    run(["git", "commit", "-q", "-m", "initial"], path, env)
    return path


def strace_available() -> bool:
    return shutil.which("strace") is not None


def mib(nbytes: float) -> str:
    return f"{nbytes / MiB:.1f} MiB"


def ratio(value: float | None, unit: float) -> str:
    return NA if value is None else f"{value / unit:.2f}x"
