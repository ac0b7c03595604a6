"""The `git` binary: how every Git subprocess of git-model is run.

Reads on hot paths (repository discovery, config, ls-files), staging and the porcelain that
changes state (tags, commits) run the `git` binary directly, in the environment `no_git_env()`
leaves: a single short subprocess is faster than importing a Git library, behaves exactly like
Git (includes, worktrees, `core.hooksPath`, the user's hooks), and its failures carry Git's own
words. Revision reads (pointer blobs at tags) use dulwich (`history.py`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from gitmodel.errors import GitError

IDENTITY_HINT = (
    'tell Git who you are: git config --global user.name "Your Name" && '
    "git config --global user.email you@example.com"
)


def no_git_env() -> dict[str, str]:
    """The environment minus the GIT_* variables Git exports while it runs hooks and aliases,
    which would otherwise point our own git calls at the wrong repository or index."""
    keep = {
        "GIT_EXEC_PATH",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSL_CAINFO",
        "GIT_SSL_NO_VERIFY",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_ASKPASS",
        "GIT_TERMINAL_PROMPT",
        "GIT_TRACE",
        "GIT_CEILING_DIRECTORIES",
        "GIT_CONFIG_PARAMETERS",  # `git -c key=value model ...` must reach our git calls
        "GIT_CONFIG_COUNT",
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
    }
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GIT_")
        or k in keep
        or k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    check: bool = True,
    input: bytes | None = None,
    keep_index: bool = False,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run git. `keep_index` keeps GIT_INDEX_FILE: a pre-commit hook of `git commit -a` or
    `git commit PATH` must inspect the temporary index Git is about to commit. `env` adds
    variables (e.g. GIT_COMMITTER_DATE) to the scrubbed environment."""
    full_env = no_git_env()
    if keep_index and "GIT_INDEX_FILE" in os.environ:
        full_env["GIT_INDEX_FILE"] = os.path.abspath(os.environ["GIT_INDEX_FILE"])
    full_env.update(env or {})
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            capture_output=True,
            env=full_env,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", "install Git 2.30 or newer") from None
    if check and proc.returncode != 0:
        raise git_failure(args[0], proc)
    return proc


def git_failure(command: str, proc: subprocess.CompletedProcess[bytes]) -> GitError:
    """`git COMMAND failed: <Git's fatal/error line, else its last>`, with a hint that fits
    the cause."""
    stderr = proc.stderr.decode(errors="replace")
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    # Git ends some messages with advice ("remove the file manually to continue."):
    # the `fatal:`/`error:` line names the cause, so it wins over the last line.
    causes = [line for line in lines if line.startswith(("fatal:", "error:"))]
    reason = causes[-1] if causes else lines[-1] if lines else f"exit {proc.returncode}"
    if "Please tell me who you are" in stderr or "empty ident name" in stderr:
        hint = IDENTITY_HINT
    elif ".lock': File exists" in stderr:
        hint = (
            "another git process is running, or one was killed: "
            "if none is running, delete that lock file"
        )
    else:
        hint = "check the repository state with `git status`"
    return GitError(f"git {command} failed: {reason}", hint)


def git_path(cwd: Path, name: str) -> Path:
    """`git rev-parse --git-path NAME` from `cwd`, absolute (honours core.hooksPath)."""
    out = run_git(["rev-parse", "--git-path", name], cwd).stdout.decode().strip()
    path = Path(out)
    return path if path.is_absolute() else (cwd / path)
