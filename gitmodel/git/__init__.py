"""One typed facade over Git, the only place git-model touches Git.

The `git` binary (`cli.py`, `repo.py`) runs porcelain that must behave exactly like `git`
(staging, tags, commits, the user's hooks) and the reads on hot paths; dulwich (`history.py`,
imported lazily) reads tags, commits and blobs in-process. Every failure is a `GitError`
carrying Git's own message.
"""

from __future__ import annotations

from gitmodel.git.cli import IDENTITY_HINT, git_path, no_git_env
from gitmodel.git.constants import ZERO_SHA, is_null_oid
from gitmodel.git.history import CommitInfo, HistoryReader, TagInfo
from gitmodel.git.repo import GitRepo, IndexEntry, TreeEntry, Worktree

__all__ = [
    "IDENTITY_HINT",
    "ZERO_SHA",
    "CommitInfo",
    "GitRepo",
    "HistoryReader",
    "IndexEntry",
    "TagInfo",
    "TreeEntry",
    "Worktree",
    "git_path",
    "is_null_oid",
    "no_git_env",
]
