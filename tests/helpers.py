"""Test helpers: run the real `git` and `git model` binaries, and build small model files."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "F64": 8}


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=check)


def gm(cwd: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `git model ARGS` as a Git subcommand, the way users do; never raises."""
    return subprocess.run(
        ["git", "model", *args], cwd=cwd, capture_output=True, text=True, input=input
    )


def gm_ok(cwd: Path, *args: str) -> str:
    proc = gm(cwd, *args)
    assert proc.returncode == 0, f"git model {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout


def write_safetensors(
    path: Path,
    tensors: Mapping[str, tuple[str, list[int], bytes | int]],
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """Write a real safetensors file. Each tensor is (dtype, shape, data or fill byte)."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, (dtype, shape, data) in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        nbytes = count * DTYPE_SIZES[dtype]
        blob = bytes([data]) * nbytes if isinstance(data, int) else data
        assert len(blob) == nbytes, f"{name}: {len(blob)} bytes for {dtype}{shape}"
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        blobs.append(blob)
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    content = struct.pack("<Q", len(raw)) + raw + b"".join(blobs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return content


def object_path(repo: Path, oid: str) -> Path:
    digits = oid.removeprefix("xxh128:")
    return repo / ".git" / "model" / "cache" / "objects" / digits[:2] / digits[2:]


def isolate_environment(mp: pytest.MonkeyPatch, home: Path) -> None:
    """Point HOME and Git's global config at `home`: no test sees the developer's settings."""
    from tests.s3server import fake_aws_env

    for key in list(os.environ):
        if key.startswith("GIT_"):
            mp.delenv(key)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
        '[protocol "file"]\n\tallow = always\n'
        # Remotes keep the loose layout in tests that predate packs (they look at objects/);
        # tests/test_remote_packs.py sets `packs` in its repositories.
        "[model]\n\tremoteLayout = loose\n"
    )
    mp.setenv("HOME", str(home))
    mp.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    mp.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    mp.delenv("TERM", raising=False)
    fake_aws_env(mp, home)  # fake S3 credentials; never the developer's


def assert_refused_in_small_memory(scan: Callable[[], object], message: str) -> None:
    """`scan` must raise FormatError(message) without allocating more than 256 KiB."""
    import tracemalloc

    from gitmodel.formats import FormatError

    tracemalloc.start()
    try:
        with pytest.raises(FormatError) as info:
            scan()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value) == message
    assert peak < 256 * 1024


def register_versions(repo: Path, model: str, name: str, count: int) -> None:
    """Register `count` versions of model `name` at `model`: for each, new weights and an
    `accuracy` metric, `git model add`, a commit and `git model tag` (v0.1.0, v0.1.1, …)."""
    for fill in range(1, count + 1):
        write_safetensors(repo / model, {"w": ("F32", [2, 2], fill)})
        gm_ok(repo, "add", model, "--name", name, f"--metric=accuracy=0.{fill}")
        git(repo, "commit", "-q", "-m", f"train {fill}")
        gm_ok(repo, "tag", name)


def spawn_gm(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """`git model ARGS` in its own process group, so a kill reaches git-model itself."""
    return subprocess.Popen(
        ["git", "model", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def kill_when(proc: subprocess.Popen[str], ready: Callable[[], bool], seconds: float) -> None:
    """SIGKILL the process group of `proc` as soon as `ready()` (polled every 2 ms) is true,
    or when `seconds` have passed; then reap it."""
    import signal
    import time

    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and proc.poll() is None and not ready():
            time.sleep(0.002)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
