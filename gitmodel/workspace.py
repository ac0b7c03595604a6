"""A work tree with its cache: the object store, stat cache, link modes and pointer discovery."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.cache.links import parse_link_modes
from gitmodel.cache.objects import ObjectStore
from gitmodel.cache.statcache import StatCache
from gitmodel.git import GitRepo
from gitmodel.pointer import POINTER_SUFFIX


@dataclass
class Workspace:
    repo: GitRepo
    store: ObjectStore
    stat_cache: StatCache
    link_modes: tuple[str, ...]
    settings: dict[str, str] = field(default_factory=dict)  # `model.*` config, keys lowercased
    _folder_prefixes: dict[str, str] = field(default_factory=dict, repr=False)

    def relpath(self, path: Path) -> str:
        """`repo.relpath(path)`, resolving each folder only once: for many files in a few folders.

        A workspace lives for one command; folders are assumed not to be re-linked meanwhile.
        """
        parent, name = os.path.split(os.path.abspath(path))
        prefix = self._folder_prefixes.get(parent)
        if prefix is not None:
            return prefix + name
        rel = self.repo.relpath(path)
        if name and (rel == name or rel.endswith("/" + name)):
            self._folder_prefixes[parent] = rel[: len(rel) - len(name)]
        return rel

    @property
    def state_dir(self) -> Path:
        """Per-work-tree state (stat cache, repo lock): inside this work tree's Git dir."""
        return self.repo.git_dir / "model"

    @property
    def repo_lock(self) -> Path:
        return self.state_dir / "lock"

    @property
    def cache_lock(self) -> Path:
        return self.store.root / "lock"

    def pointer_files(self) -> list[Path]:
        """Every pointer in the work tree, tracked or not (ignored files excluded)."""
        found = self.repo.ls_files([f"*{POINTER_SUFFIX}"], others=True)
        return [self.repo.root / rel for rel in found if (self.repo.root / rel).is_file()]


def cache_root(repo: GitRepo, configured: str | None) -> Path:
    if configured:
        path = Path(os.path.expanduser(configured))
        return path if path.is_absolute() else repo.root / path
    return repo.common_dir / "model" / "cache"


def open_workspace(start: Path) -> Workspace:
    repo = GitRepo.discover(start)
    config = repo.config_get_regexp(r"^model\.")  # one git call; keys come back lowercased
    return Workspace(
        repo=repo,
        store=ObjectStore(cache_root(repo, config.get("model.cache"))),
        stat_cache=StatCache(repo.git_dir / "model" / "statcache.sqlite"),
        link_modes=parse_link_modes(config.get("model.linktype")),
        settings=config,
    )


REPOS_FILE = "repos"


def register_repo(ws: Workspace) -> None:
    """Note this repository in a shared cache, so `gc` from any clone keeps what it needs."""
    if ws.store.root.is_relative_to(ws.repo.common_dir):
        return  # the default cache is private to this repository (and its worktrees)
    from gitmodel.cache.lock import file_lock
    from gitmodel.gitignore import append_line_once

    with file_lock(ws.store.root / "repos.lock"):
        append_line_once(ws.store.root / REPOS_FILE, str(ws.repo.common_dir))


def registered_repos(ws: Workspace) -> list[Path]:
    """Work-tree roots of the repositories that use this cache and still exist."""
    try:
        lines = (ws.store.root / REPOS_FILE).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    roots = []
    for line in lines:
        common = Path(line)
        if common.is_dir() and common.name == ".git" and common.parent.is_dir():
            roots.append(common.parent)
    return roots
