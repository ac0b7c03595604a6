"""One typed facade over Git.

Reads on hot paths (repository discovery, config, ls-files), staging and the porcelain that
changes state (tags, commits) run the `git` binary directly, in the environment `no_git_env()`
leaves: a single short subprocess is faster than importing a Git library, behaves exactly like
Git (includes, worktrees, `core.hooksPath`, the user's hooks), and its failures carry Git's own
words. Revision reads (pointer blobs at tags) use dulwich (`gitread.py`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitmodel.errors import GitError

IDENTITY_HINT = (
    'tell Git who you are: git config --global user.name "Your Name" && '
    "git config --global user.email you@example.com"
)


def is_null_oid(oid: str) -> bool:
    """Git's all-zero id ("no commit"): 40 zeros in SHA-1 repositories, 64 in SHA-256 ones."""
    return bool(oid) and oid.strip("0") == ""


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
    """`git COMMAND failed: <Git's last line>`, with a hint that fits the cause."""
    stderr = proc.stderr.decode(errors="replace")
    detail = stderr.strip().splitlines()
    reason = detail[-1].strip() if detail else f"exit {proc.returncode}"
    if "Please tell me who you are" in stderr or "empty ident name" in stderr:
        hint = IDENTITY_HINT
    else:
        hint = "check the repository state with `git status`"
    return GitError(f"git {command} failed: {reason}", hint)


@dataclass(frozen=True)
class GitRepo:
    """A work tree and its Git directories, found from any folder inside it."""

    root: Path
    git_dir: Path
    common_dir: Path

    @classmethod
    def discover(cls, start: Path) -> GitRepo:
        if not start.is_dir():
            raise GitError(f"{start}: no such directory", "pass an existing folder to -C")
        proc = run_git(
            ["rev-parse", "--show-toplevel", "--absolute-git-dir", "--git-common-dir"],
            start,
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(
                f"{start.resolve()} is not inside a Git work tree",
                "run `git init` first, or pass the repository with -C PATH",
            )
        top, git_dir, common = proc.stdout.decode().splitlines()
        common_path = Path(common)
        if not common_path.is_absolute():
            common_path = (start / common_path).resolve()
        return cls(root=Path(top), git_dir=Path(git_dir), common_dir=common_path)

    def git(self, *args: str, input: bytes | None = None) -> str:
        return run_git(args, self.root, input=input).stdout.decode()

    def config_get(self, key: str) -> str | None:
        proc = run_git(["config", "--get", key], self.root, check=False)
        if proc.returncode == 1:
            return None
        if proc.returncode != 0:
            raise GitError(
                f"git config --get {key} failed: {proc.stderr.decode().strip()}",
                "check your Git config files for syntax errors",
            )
        return proc.stdout.decode().rstrip("\n")

    def config_get_regexp(self, pattern: str) -> dict[str, str]:
        proc = run_git(["config", "-z", "--get-regexp", pattern], self.root, check=False)
        result: dict[str, str] = {}
        for record in proc.stdout.decode().split("\0"):
            if record:
                key, _, value = record.partition("\n")
                result[key] = value
        return result

    def ls_files(self, pathspecs: Sequence[str] = (), *, others: bool = False) -> list[str]:
        """Paths (relative to the root, POSIX) Git tracks, plus untracked ones with `others`."""
        args = ["ls-files", "-z", "--full-name"]
        if others:
            args += ["--cached", "--others", "--exclude-standard"]
        out = run_git([*args, "--", *pathspecs], self.root).stdout.decode()
        return sorted({p for p in out.split("\0") if p})

    def push_remote(self) -> str | None:
        """The remote a plain `git push` would use from here (branch.NAME.pushRemote,
        remote.pushDefault, branch.NAME.remote, then `origin` or the only remote)."""
        branch = run_git(["symbolic-ref", "-q", "--short", "HEAD"], self.root, check=False)
        name = branch.stdout.decode().strip()
        keys = [f"branch.{name}.pushRemote", "remote.pushDefault", f"branch.{name}.remote"]
        remotes = self.git("remote").split()
        for key in keys if name else keys[1:2]:
            value = self.config_get(key)
            if value and value in remotes:
                return value
        if "origin" in remotes:
            return "origin"
        return remotes[0] if len(remotes) == 1 else None

    def is_tracked(self, relpath: str) -> bool:
        proc = run_git(["ls-files", "-z", "--error-unmatch", "--", relpath], self.root, check=False)
        return proc.returncode == 0 and bool(proc.stdout)

    def head_commit(self) -> str | None:
        proc = run_git(["rev-parse", "--verify", "-q", "HEAD^{commit}"], self.root, check=False)
        return proc.stdout.decode().strip() or None

    def is_dirty(self) -> bool:
        """Whether tracked code differs from HEAD. Untracked and ignored files don't count, nor
        do pointers and .gitignore files, which `git model add` itself stages."""
        out = run_git(
            [
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude,glob)**/*.gitmodel",
                ":(exclude,glob)**/.gitignore",
            ],
            self.root,
        ).stdout
        return bool(out.strip())

    def hash_object(self, path: Path) -> str:
        return run_git(["hash-object", "--", str(path)], self.root).stdout.decode().strip()

    def stage(self, relpaths: Sequence[str]) -> None:
        """`git add` run as the `git` binary itself, so staging behaves exactly as the user's
        Git does (one subprocess; importing gitpython for it cost more than the add).

        Forced, because a pointer must be staged even where a broad ignore rule covers it.
        """
        if relpaths:
            run_git(["add", "-f", "--", *relpaths], self.root)

    def resolve_commit(self, rev: str) -> str:
        """The full commit id `rev` names (any syntax Git understands)."""
        proc = run_git(
            ["rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}"],
            self.root,
            check=False,
        )
        if proc.returncode != 0:
            if rev == "HEAD" and self.head_commit() is None:
                raise GitError("no commit yet; commit first", "e.g. git commit -m 'first model'")
            raise GitError(f"unknown revision {rev!r}", "check it with `git log --oneline`")
        return proc.stdout.decode().strip()

    def pointer_blobs_added(self, revs: Sequence[str], suffix: str) -> dict[str, str]:
        """Blob id -> path of every `*suffix` file version the commits in `revs` add or change
        (merges and root commits included), from one `git log --raw`."""
        out = run_git(
            [
                "log",
                *revs,
                "--format=",
                "--raw",
                "-z",
                "--no-abbrev",
                "--no-renames",
                "-m",
                "--root",
                "--",
                f"*{suffix}",
            ],
            self.root,
        ).stdout.decode("utf-8", "surrogateescape")
        fields = out.split("\0")
        blobs: dict[str, str] = {}
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            parts = meta.split()
            if len(parts) >= 5 and parts[4] in ("A", "M", "T"):
                blobs[parts[3]] = path
        return blobs

    def create_tag(self, name: str, commit: str, message: str, *, after: int = 0) -> None:
        """An annotated tag (GTO reads only annotated ones) with a tagger time later than
        `after` (unix seconds): GTO orders registry events by tagger time alone, so two
        assignments within one second would otherwise come out in tag-name order."""
        when, zone = self._committer_date("tag")
        run_git(
            ["tag", "-a", "-m", message, name, commit],
            self.root,
            env={"GIT_COMMITTER_DATE": f"@{max(when, after + 1)} {zone}"},
        )

    def _committer_date(self, command: str) -> tuple[int, str]:
        """The committer time Git would record now (GIT_COMMITTER_DATE included), and its
        zone. Fails, as the command itself would, when no identity is configured."""
        proc = run_git(["var", "GIT_COMMITTER_IDENT"], self.root, check=False)
        if proc.returncode != 0:
            raise git_failure(command, proc)
        when, zone = proc.stdout.decode(errors="replace").split()[-2:]
        return int(when), zone

    def commit_paths(self, message: str, relpaths: Sequence[str]) -> str:
        """Commit only `relpaths` (other staged changes stay staged), running the user's
        commit hooks as `git commit` does; returns the new commit."""
        run_git(["commit", "-q", "-m", message, "--", *relpaths], self.root)
        head = self.head_commit()
        if head is None:
            raise GitError("git commit made no commit", "check the repository with `git status`")
        return head

    def index_entry(self, relpath: str) -> str | None:
        """`relpath`'s index entry as `git ls-files -s` prints it (None if not in the index):
        what `restore_index_entry` puts back."""
        out = run_git(["ls-files", "-s", "-z", "--", relpath], self.root).stdout.decode(
            "utf-8", "surrogateescape"
        )
        entries = [e for e in out.split("\0") if e]
        return entries[0] if len(entries) == 1 else None

    def restore_index_entry(self, relpath: str, entry: str | None) -> None:
        if entry is None:
            run_git(["update-index", "--force-remove", "--", relpath], self.root)
        else:
            data = (entry + "\0").encode("utf-8", "surrogateescape")
            run_git(["update-index", "-z", "--index-info"], self.root, input=data)

    def relpath(self, path: Path) -> str:
        """`path` relative to the work-tree root, POSIX; refuses paths outside the repository."""
        absolute = Path(os.path.abspath(path))
        real = Path(os.path.realpath(absolute.parent)) / absolute.name
        try:
            return real.relative_to(os.path.realpath(self.root)).as_posix()
        except ValueError:
            raise GitError(
                f"{path} is outside the repository {self.root}",
                "move the file into the repository, or run from the repository it belongs to",
            ) from None
