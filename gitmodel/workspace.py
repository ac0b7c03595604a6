"""A work tree with its cache: the object store, stat cache, link modes and pointer discovery."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitmodel.cache.links import parse_link_modes
from gitmodel.cache.objects import ObjectStore
from gitmodel.cache.statcache import StatCache
from gitmodel.cache.tempfiles import TempFolder, WorkTemps
from gitmodel.errors import PointerError, UsageError
from gitmodel.git import GitRepo
from gitmodel.pointer import (
    POINTER_SUFFIX,
    Pointer,
    artifact_location,
    git_folder_error,
    has_git_segment,
)

if TYPE_CHECKING:
    from gitmodel.packs.store import LocalPacks


@dataclass
class Workspace:
    repo: GitRepo
    store: ObjectStore
    stat_cache: StatCache
    link_modes: tuple[str, ...]
    settings: dict[str, str] = field(default_factory=dict)  # `model.*` config, keys lowercased
    _folder_prefixes: dict[str, str] = field(default_factory=dict, repr=False)
    _work_temps: WorkTemps | None = field(default=None, repr=False)
    _packs: LocalPacks | None = field(default=None, repr=False)

    @property
    def packs(self) -> LocalPacks:
        """The local cache's packs and recipes (docs/pack-format.md, section 9)."""
        if self._packs is None:
            from gitmodel.packs.store import LocalPacks  # not on the paths that never need it

            self._packs = LocalPacks(self.store.root)
        return self._packs

    def in_cache(self, oid: str) -> bool:
        """Whether the cache holds `oid`: as a loose object, or packed."""
        return self.store.has(oid) or self.packs.is_packed(oid)

    def ensure_loose(self, oid: str) -> bool:
        """Make `oid` a loose object if it is only packed (reassembled and checked); False if
        the cache does not hold it at all."""
        if self.store.has(oid):
            return True
        if not self.packs.is_packed(oid):
            return False
        self.packs.unpack(oid, self.store)
        return True

    def bool_setting(self, key: str, default: bool) -> bool:
        """A Git boolean setting (`key` as documented, e.g. `model.packLoose`); unset or
        empty is `default`, anything but a Git boolean is refused."""
        value = self.settings.get(key.lower(), "").lower()
        if value in ("true", "yes", "on", "1") or (value == "" and default):
            return True
        if value in ("false", "no", "off", "0", ""):
            return False
        example, other = ("false", "true") if default else ("true", "false")
        raise UsageError(
            f"{key} is {value!r}, not a boolean",
            f"set it with `git config {key} {example}` (or {other})",
        )

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

    def work_temps(self) -> WorkTemps:
        """Temp names for what a rename turns into work-tree files (cache/tempfiles.py)."""
        if self._work_temps is None:
            folders = [self.store.temps, TempFolder(str(self.state_dir / "tmp"))]
            self._work_temps = WorkTemps(folders, self.repo.common_dir / "info" / "exclude")
        return self._work_temps

    def sweep_temps(self) -> None:
        """Remove the temp files and folders that killed runs left behind."""
        self.work_temps().sweep()

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


def locate_artifact(
    ws: Workspace, pointer_file: Path, pointer: Pointer, *, to_write: bool = False
) -> Path:
    """Where the artifact `pointer_file` describes lives, refused (PointerError) if it leaves
    the repository (pointer.artifact_location), names a Git folder, or, with symlinks
    resolved, lies in or holds the Git folder, the common Git folder or the cache: a
    committed symlink `tools -> .git/hooks` must not let a pointer `tools` write hooks.
    `to_write` (checkout, hooks, pull): also refused if it is or holds a tracked path."""
    location = artifact_location(ws.repo.root, pointer_file, pointer)
    rel = ws.repo.relpath(location)
    if has_git_segment(rel):
        raise git_folder_error(f"{pointer_file}: path {pointer.path!r} (at {rel})")
    if pointer.kind == "file":  # may itself be a symlink into the cache (symlink link mode)
        resolved = os.path.join(os.path.realpath(location.parent), location.name)
    else:
        resolved = os.path.realpath(location)
    for area, what in (
        (ws.repo.git_dir, "the Git folder"),
        (ws.repo.common_dir, "the Git folder"),
        (ws.store.root, "the git-model cache"),
    ):
        real = os.path.realpath(area)
        if resolved == real or resolved.startswith(real + "/"):
            where = f"inside {what} {real}"
        elif real.startswith(resolved + "/"):
            where = f"which holds {what} {real}"
        else:
            continue
        raise PointerError(
            f"{pointer_file}: path {pointer.path!r} resolves to {resolved}, {where}; "
            "git-model never places artifacts there",
            "a symlink on the way (or `git config model.cache`) leads there; remove the "
            f"symlink (see who committed it: git log -- {rel}) or move the cache",
        )
    if to_write:
        _refuse_tracked_overlap(ws, pointer_file, rel)
    return location


def _refuse_tracked_overlap(ws: Workspace, pointer_file: Path, rel: str) -> None:
    """Refuse an artifact that is, or holds, a path Git tracks: git-model must never write
    over tracked files or slip untracked ones among them (a `conftest.py` into `tests/`)."""
    tracked = ws.repo.ls_files([f":(literal){rel}"])
    if tracked:
        raise PointerError(
            f"{ws.repo.relpath(pointer_file)}: artifact {rel} overlaps {tracked[0]}, which Git "
            "tracks; git-model never writes over or among tracked files",
            f"if the pointer is yours, untrack the path (git rm -r --cached {rel}) and add it "
            f"again; else see who committed it: git log -p -- {ws.repo.relpath(pointer_file)}",
        )


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
