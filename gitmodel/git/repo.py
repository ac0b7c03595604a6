"""A work tree and its Git directories: typed reads and writes, each one `git` subprocess."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitmodel.errors import GitError
from gitmodel.git.cli import git_failure, run_git
from gitmodel.git.constants import is_null_oid


@dataclass(frozen=True)
class TreeEntry:
    """One line of `git ls-tree`."""

    mode: str
    kind: str  # blob, tree or commit
    oid: str
    path: str


@dataclass(frozen=True)
class IndexEntry:
    """One line of `git ls-files -s`."""

    mode: str
    oid: str
    stage: int
    path: str


@dataclass(frozen=True)
class Worktree:
    root: Path
    head: str | None  # None while the worktree has no commit yet


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

    def resolve_optional(self, rev: str) -> str | None:
        """`git rev-parse -q --verify REV`: the id, or None if it names nothing."""
        proc = run_git(["rev-parse", "-q", "--verify", rev], self.root, check=False)
        return proc.stdout.decode().strip() or None

    def has_commit(self, sha: str) -> bool:
        proc = run_git(["cat-file", "-e", f"{sha}^{{commit}}"], self.root, check=False)
        return proc.returncode == 0

    def cat_blob(self, oid: str) -> bytes:
        return run_git(["cat-file", "blob", oid], self.root).stdout

    def object_sizes(self, oids: Sequence[str]) -> list[int]:
        """The size of each object, in order (one `git cat-file --batch-check`)."""
        if not oids:
            return []
        batch = "".join(f"{oid}\n" for oid in oids).encode()
        out = run_git(["cat-file", "--batch-check"], self.root, input=batch).stdout.decode()
        return [int(line.split()[2]) for line in out.splitlines()]

    def staged_changes(self) -> list[TreeEntry]:
        """Files the index being committed adds or changes against HEAD (`kind` is the
        change's status letter). Reads GIT_INDEX_FILE: a pre-commit hook of `git commit -a`
        must see the temporary index Git is about to commit."""
        raw = ["diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames"]
        out = run_git(
            [*raw, "--diff-filter=ACMT"],
            self.root,
            keep_index=True,
        ).stdout.decode("utf-8", "surrogateescape")
        fields = out.split("\0")
        entries = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            parts = meta.split()
            if len(parts) >= 5:
                entries.append(TreeEntry(parts[1], parts[4], parts[3], path))
        return entries

    def changed_paths(self, old: str, new: str, pathspec: str) -> list[str]:
        """Paths matching `pathspec` that differ between commits `old` and `new`."""
        out = run_git(
            ["diff", "--name-only", "-z", "--no-renames", old, new, "--", pathspec], self.root
        ).stdout
        return [p for p in out.decode().split("\0") if p]

    def staged_paths(self, against: str, pathspec: str) -> list[str]:
        """Paths matching `pathspec` the index changes against `against`."""
        out = run_git(
            ["diff", "--cached", "--name-only", "-z", "--no-renames", against, "--", pathspec],
            self.root,
        ).stdout
        return [p for p in out.decode().split("\0") if p]

    def tree_entries(self, commit: str) -> list[TreeEntry]:
        """Every file of the commit's tree (`git ls-tree -r`)."""
        out = run_git(["ls-tree", "-r", "-z", commit], self.root).stdout.decode(
            "utf-8", "surrogateescape"
        )
        entries = []
        for record in filter(None, out.split("\0")):
            meta, path = record.split("\t", 1)
            mode, kind, oid = meta.split()
            entries.append(TreeEntry(mode, kind, oid, path))
        return entries

    def index_entries(self, pathspec: str) -> list[IndexEntry]:
        """The index entries matching `pathspec` (`git ls-files -s`)."""
        out = run_git(["ls-files", "-s", "-z", "--", pathspec], self.root).stdout
        entries = []
        for record in filter(None, out.decode("utf-8", "surrogateescape").split("\0")):
            meta, path = record.split("\t", 1)
            mode, oid, stage = meta.split()
            entries.append(IndexEntry(mode, oid, int(stage), path))
        return entries

    def stash_commits(self) -> list[str]:
        proc = run_git(["stash", "list", "--format=%H"], self.root, check=False)
        return proc.stdout.decode().split()

    def commits_at(self, revs: Sequence[str]) -> list[str]:
        """The commits `revs` name themselves (`git rev-list --no-walk`)."""
        return run_git(["rev-list", "--no-walk", *revs], self.root).stdout.decode().split()

    def worktrees(self) -> list[Worktree]:
        """Every work tree of this repository (`git worktree list`)."""
        out = run_git(["worktree", "list", "--porcelain"], self.root).stdout.decode()
        found: list[Worktree] = []
        for block in out.split("\n\n"):
            lines = block.splitlines()
            root = next((ln[len("worktree ") :] for ln in lines if ln.startswith("worktree ")), "")
            head = next((ln.split()[1] for ln in lines if ln.startswith("HEAD ")), None)
            if head is not None and is_null_oid(head):
                head = None  # a worktree without a commit yet
            if root:
                found.append(Worktree(Path(root), head))
        return found

    def reflog(self, ref: str, limit: int) -> list[tuple[str, str]]:
        """(commit, reflog subject) of `ref`'s last `limit` moves, newest first; none if the
        reflog cannot be read."""
        log = ["reflog", "show", "-n", str(limit), "--format=%H %gs", ref, "--"]
        entries = []
        for line in run_git(log, self.root, check=False).stdout.decode().splitlines():
            commit, _, subject = line.partition(" ")
            entries.append((commit, subject))
        return entries

    def config_get_int(self, key: str) -> int | None:
        """`git config --type=int --get KEY` (k/m/g suffixes), None if unset; a GitError
        carrying Git's message if the value is not a number."""
        proc = run_git(["config", "--type=int", "--get", key], self.root, check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return int(proc.stdout)
        if proc.returncode not in (0, 1):
            raise git_failure("config", proc)
        return None

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
