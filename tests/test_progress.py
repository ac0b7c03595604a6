"""Progress: the Python API reports it to the callback it is given (and prints nothing); the
command line draws it on a terminal, and only there."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import tty
from pathlib import Path

import gitmodel
from gitmodel.hashing import CHUNK_SIZE
from tests.helpers import git, gm
from tests.test_python_api import doc_block

SIZE = 3 * CHUNK_SIZE + 12345  # several steps of hashing and copying, and an odd tail

Call = tuple[int, int, str]


def recorder() -> tuple[list[Call], gitmodel.ProgressCallback]:
    calls: list[Call] = []

    def record(done_bytes: int, total_bytes: int, label: str) -> None:
        calls.append((done_bytes, total_bytes, label))

    return calls, record


def tasks(calls: list[Call]) -> list[Call]:
    """The last call of each task, in order, after checking that within a task the counts only
    grow and that the total never changes."""
    ended: list[Call] = []
    for index, (done, total, label) in enumerate(calls):
        if index and calls[index - 1][1:] == (total, label) and calls[index - 1][0] < total:
            assert done > calls[index - 1][0], calls
            ended[-1] = (done, total, label)
        else:
            ended.append((done, total, label))
        assert 0 < done <= total, calls
    return ended


def test_the_api_reports_progress_to_the_callback_given(repo: Path, tmp_path: Path) -> None:
    data = bytes(range(256)) * (SIZE // 256) + b"tail"
    size = len(data)
    (repo / "model.bin").write_bytes(data)
    calls, record = recorder()
    gitmodel.add(["model.bin"], repo=repo, progress=record)
    assert len(calls) > 1  # more than the end
    assert tasks(calls) == [(size, size, "Adding model.bin")]
    git(repo, "commit", "-q", "-m", "model")

    (repo / "model.bin").unlink()
    calls, record = recorder()
    gitmodel.checkout(repo=repo, progress=record)
    assert tasks(calls) == [(size, size, "Checking out")]

    calls, record = recorder()
    gitmodel.fsck(repo=repo, progress=record)
    assert len(calls) > 1
    assert tasks(calls) == [(size, size, "Checking objects")]

    (tmp_path / "remote").mkdir()
    gitmodel.remote_add("origin", str(tmp_path / "remote"), default=True, repo=repo)
    calls, record = recorder()
    gitmodel.push(repo=repo, progress=record)
    assert tasks(calls) == [(size, size, "Uploading to origin")]

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    gitmodel.remote_add("origin", str(tmp_path / "remote"), default=True, repo=clone)
    calls, record = recorder()
    gitmodel.pull(repo=clone, progress=record)
    assert tasks(calls) == [
        (size, size, "Downloading from origin"),
        (size, size, "Checking out"),
    ]
    assert (clone / "model.bin").read_bytes() == data


def run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, bytes]:
    """Run `args` with stderr on a pseudo-terminal (raw: the bytes as written); returns the
    exit code, stdout and what reached the terminal."""
    leader, follower = pty.openpty()
    tty.setraw(follower)
    env = os.environ | {"TERM": "xterm"}
    proc = subprocess.Popen(
        args, cwd=cwd, stdout=subprocess.PIPE, stderr=follower, env=env, text=True
    )
    os.close(follower)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every holder of the terminal has closed it
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out, bytes(seen)


def progress_line(label: str, amounts: str) -> re.Pattern[bytes]:
    """Redraws of one task's line, ending with the complete count and a newline."""
    name = re.escape(label.encode())
    redraw = rb"\r" + name + rb": +\d+\.\d% \([^)]*\)\x1b\[K"
    final = rb"\r" + name + rb": 100\.0% \(" + re.escape(amounts.encode()) + rb"\)\x1b\[K\n"
    return re.compile(rb"(?:" + redraw + rb")*" + final)


def test_the_command_line_draws_progress_on_a_terminal_only(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"\x01" * (3 * 1024 * 1024))
    code, out, seen = run_on_a_terminal(["git", "model", "add", "model.bin"], repo)
    assert code == 0
    assert out.startswith("added model:")
    assert progress_line("Adding model.bin", "3.0 MiB / 3.0 MiB").fullmatch(seen), seen
    git(repo, "commit", "-q", "-m", "model")

    (repo / "model.bin").unlink()
    code, out, seen = run_on_a_terminal(["git", "model", "checkout", "-q"], repo)
    assert (code, out, seen) == (0, "", b"")  # -q: no progress either
    (repo / "model.bin").unlink()
    code, out, seen = run_on_a_terminal(["git", "model", "checkout"], repo)
    assert (code, out) == (0, "restored model.bin\n1 restored, 0 already up to date\n")
    assert progress_line("Checking out", "3.0 MiB / 3.0 MiB").fullmatch(seen), seen

    (repo / "model.bin").unlink()
    proc = gm(repo, "checkout")  # stderr a pipe: no progress
    assert (proc.returncode, proc.stderr) == (0, "")


def test_the_api_prints_nothing_on_a_terminal_without_a_callback(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "model.bin").write_bytes(b"\x02" * (3 * 1024 * 1024))
    script = tmp_path / "script.py"
    script.write_text(
        "import os, subprocess, gitmodel\n"
        "gitmodel.add(['model.bin'])\n"
        "subprocess.run(['git', 'commit', '-q', '-m', 'model'], check=True)\n"
        "os.remove('model.bin')\n"
        "gitmodel.checkout()\n"
        "gitmodel.fsck()\n"
        f"os.mkdir({str(tmp_path / 'remote')!r})\n"
        f"gitmodel.remote_add('origin', {str(tmp_path / 'remote')!r}, default=True)\n"
        "gitmodel.push()\n"
        "print('done')\n"
    )
    code, out, seen = run_on_a_terminal([sys.executable, str(script)], repo)
    assert (code, out, seen) == (0, "done\n", b"")


def test_the_progress_example_in_the_docs_runs_as_written(repo: Path) -> None:
    script = doc_block("python", "## Progress")
    (repo / "example.py").write_text(script, encoding="utf-8")
    (repo / "model.safetensors").write_bytes(b"\x03" * SIZE)
    proc = subprocess.run(
        [sys.executable, "example.py"], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    adding = [line for line in lines if line.startswith("Adding model.safetensors: ")]
    assert len(adding) > 1 and adding[-1] == "Adding model.safetensors: 100%"
    assert lines[-1] == "Checking objects: 100%"
    assert all(line.startswith("Checking objects: ") for line in lines[len(adding) :])


def test_the_post_checkout_hook_draws_progress_on_a_terminal(repo: Path) -> None:
    assert gm(repo, "install").returncode == 0
    (repo / "model.bin").write_bytes(b"\x04" * (3 * 1024 * 1024))
    assert gm(repo, "add", "model.bin").returncode == 0
    git(repo, "commit", "-q", "-m", "v1")
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "model.bin").write_bytes(b"\x05" * (2 * 1024 * 1024))
    assert gm(repo, "add", "model.bin").returncode == 0
    git(repo, "commit", "-q", "-m", "v2")
    code, _, seen = run_on_a_terminal(["git", "checkout", "-q", "main"], repo)
    assert code == 0
    drawn = progress_line("Checking out", "3.0 MiB / 3.0 MiB").match(seen)
    assert drawn is not None, seen
    assert seen[drawn.end() :] == b"git-model: updated 1 artifact file(s)\n"
    assert (repo / "model.bin").read_bytes() == b"\x04" * (3 * 1024 * 1024)
