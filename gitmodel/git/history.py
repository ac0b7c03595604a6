"""In-process reads of Git history with dulwich: tags, commits and files at any revision.

No checkout and no subprocess per object, so reading hundreds of registry tags stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, cast

from gitmodel.errors import GitError
from gitmodel.git.constants import EMPTY_TREES
from gitmodel.pointer import POINTER_SUFFIX

if TYPE_CHECKING:
    from dulwich.objects import Commit, ShaFile
    from dulwich.refs import Ref
    from dulwich.repo import Repo


@dataclass(frozen=True)
class TagInfo:
    name: str
    commit: str  # the commit the tag finally points at
    created_at: int  # tagger time (unix seconds); the commit time for lightweight tags
    tagger: str
    message: str
    annotated: bool


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    time: int
    author: str
    summary: str


class HistoryReader:
    """Reads tags, commits and blobs of one repository in-process."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @cached_property
    def _repo(self) -> Repo:
        from dulwich.errors import NotGitRepository
        from dulwich.repo import Repo, UnsupportedExtension

        try:
            return Repo(str(self.root))
        except UnsupportedExtension as exc:  # objectformat=sha256 before dulwich 0.25
            raise GitError(
                f"cannot read the Git history of {self.root}: unsupported extension {exc}",
                "upgrade dulwich: pip install -U 'dulwich>=0.25'",
            ) from None
        except (NotGitRepository, OSError) as exc:
            raise GitError(
                f"cannot read the Git history of {self.root}: {exc}",
                "check the repository with `git status`",
            ) from None

    def _commit(self, sha: str) -> Commit:
        from dulwich.objects import Commit

        try:
            obj = self._repo[sha.encode()]
        except KeyError:
            raise GitError(
                f"commit {sha} is not in this repository",
                "fetch it (`git fetch`), or check the id with `git log --oneline`",
            ) from None
        if not isinstance(obj, Commit):
            raise GitError(f"{sha} is not a commit", "check it with `git cat-file -t`")
        return obj

    def _object(self, sha: bytes) -> ShaFile:
        """The object `sha`; a GitError (not dulwich's KeyError or format errors) if it is
        missing or unreadable."""
        from dulwich.errors import ChecksumMismatch, FileFormatException

        try:
            return self._repo[sha]
        except KeyError:
            raise GitError(
                f"object {sha.decode(errors='replace')} is missing from {self.root}",
                "check the repository with `git fsck`",
            ) from None
        except (ChecksumMismatch, FileFormatException, OSError) as exc:
            raise GitError(
                f"cannot read object {sha.decode(errors='replace')} in {self.root}: {exc}",
                "check the repository with `git fsck`",
            ) from None

    def tags(self) -> list[TagInfo]:
        from dulwich.objects import Commit, Tag

        repo = self._repo
        found = []
        for ref, sha in repo.refs.as_dict(cast("Ref", b"refs/tags")).items():
            obj = self._object(sha)
            annotated = isinstance(obj, Tag)
            tag_obj = obj
            while isinstance(obj, Tag):
                obj = self._object(obj.object[1])
            if not isinstance(obj, Commit):
                continue
            if isinstance(tag_obj, Tag):
                created, tagger = tag_obj.tag_time, tag_obj.tagger
                message = tag_obj.message
            else:
                created, tagger, message = obj.commit_time, obj.committer, b""
            found.append(
                TagInfo(
                    name=ref.decode("utf-8", "replace"),
                    commit=obj.id.decode(),
                    created_at=int(created),
                    tagger=_person(tagger),
                    message=message.decode("utf-8", "replace"),
                    annotated=annotated,
                )
            )
        return found

    def commit(self, sha: str) -> CommitInfo:
        obj = self._commit(sha)
        summary = obj.message.decode("utf-8", "replace").split("\n", 1)[0]
        return CommitInfo(sha, int(obj.commit_time), _person(obj.author), summary)

    def read_file(self, commit: str, relpath: str) -> bytes | None:
        """The bytes of `relpath` at `commit`, or None if it is not there."""
        from dulwich.objects import Blob, Tree

        repo = self._repo
        tree = self._commit(commit).tree
        if tree in EMPTY_TREES:
            return None
        try:
            root = repo[tree]
            if not isinstance(root, Tree):
                return None
            _, sha = root.lookup_path(repo.__getitem__, relpath.encode())
        except KeyError:
            return None
        blob = self._object(sha)
        return blob.as_raw_string() if isinstance(blob, Blob) else None

    def read_blob(self, sha: str) -> bytes | None:
        from dulwich.objects import Blob

        try:
            blob = self._repo[sha.encode()]
        except KeyError:
            return None
        return blob.as_raw_string() if isinstance(blob, Blob) else None

    def pointer_paths(self, commit: str) -> Iterator[str]:
        """Every `*.gitmodel` path in the commit's tree."""
        repo = self._repo
        tree = self._commit(commit).tree
        if tree in EMPTY_TREES:
            return
        try:
            paths = [entry.path for entry in repo.object_store.iter_tree_contents(tree)]
        except KeyError as exc:
            raise GitError(
                f"tree of commit {commit} is incomplete: object {exc} is missing",
                "check the repository with `git fsck`",
            ) from None
        for path in paths:
            if path.endswith(POINTER_SUFFIX.encode()):
                yield path.decode("utf-8", "surrogateescape")


def _person(raw: bytes) -> str:
    """`Name <email>` as text."""
    return raw.decode("utf-8", "replace")
