"""`git model diff`: how every model's metrics, params, bytes and lineage moved between two sides.

Reads pointers (and tensor manifests from the cache), never the weights themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from gitmodel.compare import ValueChange, compare_maps
from gitmodel.direction import direction_of
from gitmodel.errors import GitModelError, ObjectMissingError, UsageError
from gitmodel.manifestfetch import diff_fetches, fetch_for_diff
from gitmodel.manifests import decode_dir_manifest, decode_tensor_manifest
from gitmodel.pointer import POINTER_SUFFIX, FactValue, Pointer
from gitmodel.registry import Registry
from gitmodel.sides import INDEX, WORKTREE, Side, commit_side, resolve_side, split_range
from gitmodel.tensordiff import TensorDiff, TensorRecord, diff_tensors
from gitmodel.workspace import Workspace, open_workspace

DiffStatus = Literal["added", "removed", "modified", "unchanged", "renamed", "in conflict"]
ADDED: Final = "added"
REMOVED: Final = "removed"
MODIFIED: Final = "modified"
UNCHANGED: Final = "unchanged"
RENAMED: Final = "renamed"
CONFLICT: Final = "in conflict"


@dataclass
class ModelDiff:
    name: str
    status: DiffStatus
    old_path: str | None
    new_path: str | None
    old: Pointer | None
    new: Pointer | None
    old_name: str | None = None  # for a rename
    metrics: list[ValueChange] = field(default_factory=list)
    params: list[ValueChange] = field(default_factory=list)
    facts: list[ValueChange] = field(default_factory=list)
    tensors: TensorDiff | None = None
    tensor_note: str = ""  # why tensors could not be compared
    lineage: list[str] = field(default_factory=list)
    label: str = ""  # the name as shown: with the pointer path when another model shares it

    def __post_init__(self) -> None:
        self.label = self.label or self.name

    @property
    def artifact_changed(self) -> bool:
        return self.old is not None and self.new is not None and self.old.oid != self.new.oid


@dataclass
class DiffResult:
    old_label: str
    new_label: str
    models: list[ModelDiff]
    warnings: list[str] = field(default_factory=list)


def diff(
    old: str | None = None,
    new: str | None = None,
    *,
    targets: Sequence[str] = (),
    cached: bool = False,
    fetch_manifests: bool | None = None,
    remote: str | None = None,
    repo: str | Path = ".",
) -> DiffResult:
    """Compare OLD (default HEAD) with NEW (default: the work tree, or the index if cached).

    OLD may be a range `A...B` (merge base of A and B against B) or `A..B`. With
    `fetch_manifests` (default: `git config model.diffFetch`), tensor manifests missing from
    the cache are fetched from REMOTE or the default remote, if Git config defines it.
    """
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    fetching = diff_fetches(ws, fetch_manifests, remote)
    before, after = _sides(ws, registry, old, new, cached)
    directions = {**before.directions, **after.directions}
    wanted = _filter(ws, targets, before, after)
    models = compare_sides(ws, before, after, directions, wanted)
    warnings = before.warnings + after.warnings
    if fetching and any(m.tensor_note for m in models):
        uncompared = [p for m in models if m.tensor_note for p in (m.old, m.new) if p]
        warnings += fetch_for_diff(ws, uncompared, remote)
        models = compare_sides(ws, before, after, directions, wanted)
    return DiffResult(before.label, after.label, models, warnings)


def _sides(
    ws: Workspace, registry: Registry, old: str | None, new: str | None, cached: bool
) -> tuple[Side, Side]:
    if old is not None and (split := split_range(old)) is not None:
        if new is not None:
            raise UsageError(
                f"{old!r} is already a range; give no second revision",
                "use `git model diff A...B` or `git model diff A B`",
            )
        left, right, merge_base = split
        right_side = resolve_side(ws, registry, right)
        if merge_base:
            left_commit = resolve_side(ws, registry, left).commit or left  # versions, stages too
            try:
                base = ws.repo.git("merge-base", left_commit, right_side.commit or right).strip()
            except GitModelError:  # exit 1: unrelated histories
                base = ""
            if not base:
                raise UsageError(f"{left} and {right} have no merge base", "use A..B instead")
            return commit_side(registry, f"merge-base of {left} and {right}", base), right_side
        return resolve_side(ws, registry, left), right_side
    if old is None and ws.repo.head_commit() is None:
        before = Side("HEAD", None)  # no commit yet: compare with nothing, as `git diff --cached`
    else:
        before = resolve_side(ws, registry, old or "HEAD")
    default_new = INDEX if cached else WORKTREE
    return before, resolve_side(ws, registry, new or default_new)


def _filter(ws: Workspace, targets: Sequence[str], before: Side, after: Side) -> set[str] | None:
    """Pointer paths the targets select (by model name, pointer path or artifact path)."""
    if not targets:
        return None
    paths: set[str] = set()
    for target in targets:
        found = False
        for side in (before, after):
            for path, pointer in side.pointers.items():
                artifact = path.removesuffix(POINTER_SUFFIX)
                if target in (pointer.name, path, artifact) or _under(ws, target, path):
                    paths.add(path)
                    found = True
        if not found:
            raise UsageError(
                f"{target}: no model of that name or path on either side",
                "list models with `git model ls`",
            )
    return paths


def _under(ws: Workspace, target: str, path: str) -> bool:
    try:
        rel = ws.repo.relpath(Path(target))
    except GitModelError:
        return False
    return rel == path.removesuffix(POINTER_SUFFIX) or path.startswith(rel.rstrip("/") + "/")


def compare_sides(
    ws: Workspace,
    before: Side,
    after: Side,
    directions: dict[str, str],
    wanted: set[str] | None,
) -> list[ModelDiff]:
    """One entry per pointer path; two pointers may share a model name, so names are no key."""
    pairs: list[tuple[str | None, str | None]] = [
        (path, path) for path in sorted(set(before.pointers) & set(after.pointers))
    ]
    gone = sorted(set(before.pointers) - set(after.pointers))
    new = sorted(set(after.pointers) - set(before.pointers))
    moved = _pair_moves(before, after, gone, new)
    pairs += moved
    pairs += [(path, None) for path in gone if path not in {a for a, _ in moved}]
    pairs += [(None, path) for path in new if path not in {b for _, b in moved}]
    diffs = [
        _model_diff(ws, _entry(before, old_path), _entry(after, new_path), directions)
        for old_path, new_path in pairs
    ]
    paired = _pair_renames(ws, diffs, directions)  # before filtering: either path finds a rename
    for d in paired:
        if d.new_path in after.conflicts or d.old_path in before.conflicts:
            d.status = CONFLICT
    paired.sort(key=lambda d: (d.name, d.new_path or d.old_path or ""))
    _label_shared_names(paired)
    return [d for d in paired if wanted is None or wanted & {d.old_path, d.new_path}]


def _pair_moves(
    before: Side, after: Side, gone: list[str], new: list[str]
) -> list[tuple[str, str]]:
    """A pointer that moved keeps its model: pair a vanished and a new path by a unique name."""
    gone_by_name = _by_name(before, gone)
    new_by_name = _by_name(after, new)
    return [
        (old_paths[0], new_by_name[name][0])
        for name, old_paths in gone_by_name.items()
        if len(old_paths) == 1 and len(new_by_name.get(name, [])) == 1
    ]


def _by_name(side: Side, paths: list[str]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for path in paths:
        names.setdefault(side.pointers[path].name, []).append(path)
    return names


def _entry(side: Side, path: str | None) -> tuple[str, Pointer] | None:
    return (path, side.pointers[path]) if path is not None else None


def _label_shared_names(diffs: list[ModelDiff]) -> None:
    """Models that share a name are shown with their pointer path: `model (a.bin.gitmodel)`."""
    counts: dict[str, int] = {}
    for d in diffs:
        counts[d.name] = counts.get(d.name, 0) + 1
    for d in diffs:
        if counts[d.name] > 1:
            d.label = f"{d.name} ({d.new_path or d.old_path})"


def _model_diff(
    ws: Workspace,
    old: tuple[str, Pointer] | None,
    new: tuple[str, Pointer] | None,
    directions: dict[str, str],
) -> ModelDiff:
    status: DiffStatus = ADDED if old is None else REMOVED if new is None else MODIFIED
    either = new or old
    assert either is not None
    result = ModelDiff(
        either[1].name, status, old[0] if old else None, new[0] if new else None,
        old[1] if old else None, new[1] if new else None,
    )  # fmt: skip
    _fill(ws, result, directions)
    return result


def _fill(ws: Workspace, result: ModelDiff, directions: dict[str, str]) -> None:
    old, new = result.old, result.new
    metric_keys = set(old.metrics if old else {}) | set(new.metrics if new else {})
    dirs = {k: direction_of(k, directions) for k in metric_keys}
    result.metrics = compare_maps(old.metrics if old else {}, new.metrics if new else {}, dirs)
    result.params = compare_maps(old.params if old else {}, new.params if new else {})
    result.facts = compare_maps(_facts(old), _facts(new))
    if old is not None and new is not None:
        result.lineage = _lineage_changes(old, new)
        if old.oid != new.oid:
            result.tensors, result.tensor_note = _tensor_diff(ws, old, new)
        changed = any(c.status != "unchanged" for c in [*result.metrics, *result.params])
        changed = changed or bool(result.lineage)  # e.g. re-added with other data
        if result.status == MODIFIED and not (changed or result.artifact_changed):
            result.status = UNCHANGED if result.old_path == result.new_path else MODIFIED


def _facts(pointer: Pointer | None) -> dict[str, FactValue]:
    if pointer is None:
        return {}
    facts: dict[str, FactValue] = {"size": pointer.size, "kind": pointer.kind}
    if pointer.format is not None:
        facts["format"] = pointer.format.name
        facts.update({k: v for k, v in pointer.format.facts.items() if k != "manifest"})
    return facts


def _lineage_changes(old: Pointer, new: Pointer) -> list[str]:
    changes = []
    a, b = old.lineage, new.lineage
    if (a.commit if a else None) != (b.commit if b else None):
        before = (a.commit or "none")[:12] if a else "none"
        after = (b.commit or "none")[:12] if b else "none"
        changes.append(f"produced from commit {before} -> {after}")
    data_a = {d.path: d.oid for d in (a.data if a else ())}
    data_b = {d.path: d.oid for d in (b.data if b else ())}
    for path in sorted(set(data_a) | set(data_b)):
        if path not in data_a:
            changes.append(f"data {path} added")
        elif path not in data_b:
            changes.append(f"data {path} removed")
        elif data_a[path] != data_b[path]:
            changes.append(
                f"data {path} changed ({_short(data_a[path])} -> {_short(data_b[path])})"
            )
    return changes


def _short(oid: str) -> str:
    prefix, _, digits = oid.partition(":")
    return f"{prefix}:{digits[:12]}"


def _tensor_diff(ws: Workspace, old: Pointer, new: Pointer) -> tuple[TensorDiff | None, str]:
    try:
        a, b = _tensors_of(ws, old), _tensors_of(ws, new)
    except ObjectMissingError as exc:
        return None, f"{exc.message} ({exc.hint})"
    except GitModelError as exc:
        return None, exc.message
    if a is None or b is None:
        return None, ""
    return diff_tensors(a, b), ""


def _tensors_of(ws: Workspace, pointer: Pointer) -> list[TensorRecord] | None:
    """Every tensor of the artifact, from tensor manifests in the cache (folders: per file)."""
    if pointer.kind == "file":
        manifest = pointer.format.facts.get("manifest") if pointer.format else None
        if not isinstance(manifest, str):
            return None
        return _load_tensors(ws, manifest, "")
    if not ws.store.has(pointer.oid):
        raise _not_cached(pointer.oid)
    records: list[TensorRecord] = []
    found = False
    for entry in decode_dir_manifest(ws.store.read_bytes(pointer.oid), pointer.oid):
        if entry.tensors:
            found = True
            records += _load_tensors(ws, entry.tensors, entry.path + ":")
    return records if found else None


def _load_tensors(ws: Workspace, manifest: str, prefix: str) -> list[TensorRecord]:
    if not ws.store.has(manifest):
        raise _not_cached(manifest)
    records = decode_tensor_manifest(ws.store.read_bytes(manifest), manifest)
    if not prefix:
        return records
    return [TensorRecord(prefix + r.name, r.dtype, r.shape, r.oid) for r in records]


def _not_cached(oid: str) -> ObjectMissingError:
    return ObjectMissingError(
        f"manifest {oid[:19]}… is not in the cache",
        "fetch it without the weights: git model fetch --manifests-only --rev REV",
    )


def _pair_renames(
    ws: Workspace, diffs: list[ModelDiff], directions: dict[str, str]
) -> list[ModelDiff]:
    """A model removed under one name and added under another with the same bytes: renamed."""
    removed = {d.old.oid: d for d in diffs if d.status == REMOVED and d.old}
    result = []
    paired: set[str | None] = set()
    for d in diffs:
        if d.status == ADDED and d.new and d.new.oid in removed:
            gone = removed.pop(d.new.oid)
            paired.add(gone.old_path)
            renamed = ModelDiff(
                d.name, RENAMED, gone.old_path, d.new_path, gone.old, d.new, old_name=gone.name
            )
            _fill(ws, renamed, directions)
            renamed.status = RENAMED
            result.append(renamed)
        else:
            result.append(d)
    return [d for d in result if not (d.status == REMOVED and d.old_path in paired)]


def split_arguments(args: Sequence[str], *, repo: str | Path = ".") -> tuple[list[str], list[str]]:
    """Split `diff` arguments into up to two revisions and the model names/paths after them.

    A work-tree path or model name is a target; a range, a registered version or anything
    Git resolves to a commit is a revision.
    """
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    names = set(registry.head_paths_by_name()) | set(registry.models)
    revisions: list[str] = []
    targets: list[str] = []
    for arg in args:
        if targets or len(revisions) == 2 or _is_target(Path(repo), arg, names):
            targets.append(arg)
        elif split_range(arg) is not None or _is_revision(ws, registry, arg):
            revisions.append(arg)
        else:
            raise UsageError(
                f"{arg!r} is neither a revision nor a model name or path",
                "check `git log --oneline`, `git model ls` or `git model versions NAME`",
            )
    return revisions, targets


def _is_target(cwd: Path, arg: str, names: set[str]) -> bool:
    return arg in names or (cwd / arg).exists()


def _is_revision(ws: Workspace, registry: Registry, arg: str) -> bool:
    from gitmodel.sides import is_model_version

    if is_model_version(registry, arg):
        return True
    try:
        ws.repo.resolve_commit(arg)
    except GitModelError:
        return False
    return True
