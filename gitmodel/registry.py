"""The model registry, read from Git tags: versions, stage assignments and their history."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from gitmodel.errors import GitModelError, UsageError
from gitmodel.git import HistoryReader, TagInfo
from gitmodel.pointer import Pointer, parse_pointer
from gitmodel.semver import SemVer
from gitmodel.tagnames import DeprecationTag, StageTag, VersionTag, parse_tag_name
from gitmodel.workspace import Workspace

_POINTER_LINE = re.compile(r"^pointer: (?P<path>\S.*)$", re.MULTILINE)
_SPEC_RE = re.compile(r"^(?P<name>[a-z0-9](?:[a-z0-9/-]*[a-z0-9])?)(?P<sep>[@#])(?P<rest>.+)\Z")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: SemVer
    tag: str
    commit: str
    created_at: int
    tagger: str
    message: str
    pointer_path: str | None  # repository-relative path of the pointer at that commit
    pointer: Pointer | None


@dataclass(frozen=True)
class StageEvent:
    name: str
    stage: str
    counter: int | None
    tag: str
    commit: str
    created_at: int
    tagger: str
    unassign: bool
    version: ModelVersion | None


@dataclass
class ModelHistory:
    name: str
    versions: list[ModelVersion] = field(default_factory=list)  # ascending by SemVer
    events: list[StageEvent] = field(default_factory=list)  # in the order they happened
    last_event_at: int = 0  # the latest tagger time of any of its registry tags
    highest_counter: int = 0  # the highest `#N` of any of its registry tags
    deprecation: TagInfo | None = None  # the tag that deprecates the model, while it does

    @property
    def latest(self) -> ModelVersion | None:
        return self.versions[-1] if self.versions else None

    def find(self, version: SemVer) -> ModelVersion | None:
        return next((v for v in self.versions if v.version == version), None)

    def stages(self) -> dict[str, ModelVersion]:
        """Where each stage points now, read as GTO reads it: of the versions whose last event
        for the stage is an assignment, the one assigned most recently. So unassigning the
        holder falls back to an earlier assignment that was never unassigned."""
        last: dict[tuple[str, str], tuple[int, StageEvent]] = {}
        for i, event in enumerate(self.events):  # in the order they happened
            if event.version is not None:
                last[(event.stage, event.version.tag)] = (i, event)
        current: dict[str, tuple[int, ModelVersion]] = {}
        for (stage, _), (i, event) in last.items():
            newer = stage not in current or i > current[stage][0]
            if not event.unassign and event.version is not None and newer:
                current[stage] = (i, event.version)
        return {stage: current[stage][1] for stage in sorted(current)}

    def stages_of(self, version: ModelVersion) -> list[str]:
        return [stage for stage, v in self.stages().items() if v.tag == version.tag]

    def next_counter(self) -> int:
        return self.highest_counter + 1


class Registry:
    """All models' versions and stages, from the repository's tags (read in-process)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.reader = HistoryReader(ws.repo.root)
        self._pointer_cache: dict[tuple[str, str], Pointer | None] = {}

    @cached_property
    def models(self) -> dict[str, ModelHistory]:
        tags = self.reader.tags()
        models: dict[str, ModelHistory] = {}
        parsed = [(t, parse_tag_name(t.name)) for t in tags]  # lightweight tags count too
        deregistered = {
            (p.name, p.version) for _, p in parsed if isinstance(p, VersionTag) and p.deregister
        }
        for info, tag in parsed:
            if isinstance(tag, VersionTag) and not tag.deregister:
                if (tag.name, tag.version) in deregistered:
                    continue
                history = models.setdefault(tag.name, ModelHistory(tag.name))
                history.versions.append(self._version(info, tag))
        for history in models.values():
            history.versions.sort(key=lambda v: v.version)
        _read_deprecations(models, parsed)
        stage_tags = [(i, p) for i, p in parsed if isinstance(p, StageTag)]
        stage_tags.sort(key=lambda pair: (pair[0].created_at, pair[1].counter or 0))
        for info, tag in stage_tags:
            history = models.setdefault(tag.name, ModelHistory(tag.name))
            at_commit = [v for v in history.versions if v.commit == info.commit]
            history.events.append(
                StageEvent(
                    name=tag.name,
                    stage=tag.stage,
                    counter=tag.counter,
                    tag=info.name,
                    commit=info.commit,
                    created_at=info.created_at,
                    tagger=info.tagger,
                    unassign=tag.unassign,
                    version=at_commit[-1] if at_commit else None,
                )
            )
        return models

    def history(self, name: str) -> ModelHistory:
        history = self.models.get(name)
        if history is None:
            if not self.head_paths(name):
                raise UsageError(
                    f"there is no model named {name!r}",
                    "list the models with `git model ls`; a name comes from `git model add`",
                )
            raise no_versions(name)
        return history

    def _version(self, info: TagInfo, tag: VersionTag) -> ModelVersion:
        match = _POINTER_LINE.search(info.message)
        hint = match["path"].strip() if match else None
        found = self.pointer_at(info.commit, tag.name, hint)
        return ModelVersion(
            name=tag.name,
            version=tag.version,
            tag=info.name,
            commit=info.commit,
            created_at=info.created_at,
            tagger=info.tagger,
            message=info.message,
            pointer_path=found[0] if found else None,
            pointer=found[1] if found else None,
        )

    def pointer_at(
        self, commit: str, name: str, hint: str | None = None
    ) -> tuple[str, Pointer] | None:
        """The pointer of model `name` in `commit`: try `hint` first, then scan the tree."""
        candidates = [hint] if hint else []
        candidates += [p for p in self.head_paths(name) if p != hint]
        for path in candidates:
            pointer = self._read(commit, path)
            if pointer is not None and pointer.name == name:
                return path, pointer
        for path in self.reader.pointer_paths(commit):
            pointer = self._read(commit, path)
            if pointer is not None and pointer.name == name:
                return path, pointer
        return None

    def pointer_paths_named(self, commit: str, name: str) -> list[str]:
        """Every pointer path in `commit` whose model is `name` (more than one: ambiguous)."""
        return [
            path
            for path in self.reader.pointer_paths(commit)
            if (pointer := self._read(commit, path)) is not None and pointer.name == name
        ]

    def ambiguous_paths(self, version: ModelVersion) -> list[str]:
        """The pointers a version may mean when its tag names none and several share its name."""
        if _POINTER_LINE.search(version.message):
            return []
        paths = self.pointer_paths_named(version.commit, version.name)
        return paths if len(paths) > 1 else []

    def head_paths_by_name(self) -> dict[str, list[str]]:
        return self._work_tree_paths

    def head_paths(self, name: str) -> list[str]:
        """Where the work tree keeps the pointers of model `name`."""
        return self._work_tree_paths.get(name, [])

    @cached_property
    def _work_tree_paths(self) -> dict[str, list[str]]:
        """Model name -> pointer paths in the work tree: the usual place to look first."""
        paths: dict[str, list[str]] = {}
        for pointer_file in self.ws.pointer_files():
            rel = self.ws.repo.relpath(pointer_file)
            try:
                data = pointer_file.read_bytes()
                paths.setdefault(parse_pointer(data, rel, location=rel).name, []).append(rel)
            except (GitModelError, OSError):
                continue
        return paths

    def _read(self, commit: str, path: str) -> Pointer | None:
        key = (commit, path)
        if key not in self._pointer_cache:
            data = self.reader.read_file(commit, path)
            try:
                self._pointer_cache[key] = (
                    parse_pointer(data, path, location=path) if data else None
                )
            except GitModelError:
                self._pointer_cache[key] = None
        return self._pointer_cache[key]

    def resolve(self, spec: str) -> ModelVersion:
        """`NAME@vX.Y.Z`, `NAME@latest` or `NAME#STAGE` -> the registered version."""
        match = _SPEC_RE.match(spec)
        if match is None:
            raise UsageError(
                f"{spec!r} is not a model version",
                "use NAME@vX.Y.Z, NAME@latest or NAME#STAGE",
            )
        history = self.history(match["name"])
        rest = match["rest"]
        if match["sep"] == "#":
            version = history.stages().get(rest)
            if version is None:
                assigned = ", ".join(history.stages()) or "none"
                raise UsageError(
                    f"stage {rest!r} of {history.name} is not assigned (assigned: {assigned})",
                    f"assign it with `git model promote {history.name}@VERSION {rest}`",
                )
            return version
        if rest in ("latest", "greatest"):
            if history.latest is None:
                raise no_versions(history.name)
            return history.latest
        found = history.find(SemVer.parse(rest))
        if found is None:
            known = ", ".join(str(v.version) for v in history.versions) or "none"
            raise UsageError(
                f"{spec} is not a registered version (known: {known})",
                f"list versions with `git model versions {history.name}`",
            )
        return found


def _read_deprecations(
    models: dict[str, ModelHistory],
    parsed: list[tuple[TagInfo, VersionTag | StageTag | DeprecationTag | None]],
) -> None:
    """Event times, counters and deprecation, as GTO reads them: a model is deprecated while
    its latest registry event is a deprecation; on a tie in tagger time the other event wins."""
    other_events: dict[str, int] = {}
    deprecations: dict[str, TagInfo] = {}
    for info, tag in parsed:
        if tag is None:
            continue
        history = models.setdefault(tag.name, ModelHistory(tag.name))
        history.last_event_at = max(history.last_event_at, info.created_at)
        if not isinstance(tag, VersionTag):
            history.highest_counter = max(history.highest_counter, tag.counter or 0)
        if isinstance(tag, DeprecationTag):
            latest = deprecations.get(tag.name)
            if latest is None or info.created_at >= latest.created_at:
                deprecations[tag.name] = info
        else:
            other_events[tag.name] = max(other_events.get(tag.name, 0), info.created_at)
    for name, info in deprecations.items():
        if info.created_at > other_events.get(name, -1):
            models[name].deprecation = info


def is_version_spec(text: str) -> bool:
    return _SPEC_RE.match(text) is not None


def ambiguous_name(name: str, paths: list[str], rev: str) -> UsageError:
    return UsageError(
        f"model {name!r} has {len(paths)} pointers at {rev}: {', '.join(paths)}",
        "give each its own name (`git model add ARTIFACT --name NAME`, then commit) first",
    )


def no_versions(name: str) -> UsageError:
    return UsageError(
        f"model {name!r} has no registered versions", f"register one with `git model tag {name}`"
    )
