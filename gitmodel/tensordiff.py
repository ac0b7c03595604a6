"""Which tensors changed between two tensor manifests, grouped by layer prefix for reading."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TensorRecord:
    name: str
    dtype: str
    shape: tuple[int, ...]
    oid: str


@dataclass(frozen=True)
class TensorDiff:
    old_count: int
    new_count: int
    changed: list[str] = field(default_factory=list)  # same dtype and shape, other bytes
    reshaped: list[str] = field(default_factory=list)  # dtype or shape changed
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)  # name -> "F32[2, 8] -> F16[2, 8]"

    @property
    def any(self) -> bool:
        return bool(self.changed or self.reshaped or self.added or self.removed)

    def summary(self, limit: int = 8) -> str:
        """e.g. `2 of 148 tensors changed: encoder.layer.10.*, classifier.*; 1 added: x`."""
        universe = [*self.changed, *self.reshaped, *self.unchanged, *self.added]
        parts = []
        if self.changed:
            groups = group_names(self.changed, universe, limit)
            parts.append(f"{len(self.changed)} of {self.new_count} tensors changed: {groups}")
        if self.reshaped:
            parts.append(f"{len(self.reshaped)} changed dtype/shape: {_list(self.reshaped, limit)}")
        if self.added:
            parts.append(f"{len(self.added)} added: {_list(self.added, limit)}")
        if self.removed:
            parts.append(f"{len(self.removed)} removed: {_list(self.removed, limit)}")
        return "; ".join(parts) if parts else f"all {self.new_count} tensors unchanged"

    def to_json(self) -> dict[str, object]:
        return {
            "old_count": self.old_count,
            "new_count": self.new_count,
            "changed": self.changed,
            "reshaped": {n: self.details.get(n, "") for n in self.reshaped},
            "added": self.added,
            "removed": self.removed,
        }


def diff_tensors(old: Sequence[TensorRecord], new: Sequence[TensorRecord]) -> TensorDiff:
    before = {t.name: t for t in old}
    after = {t.name: t for t in new}
    changed, reshaped, details = [], [], {}
    unchanged = []
    for name in sorted(set(before) & set(after)):
        a, b = before[name], after[name]
        if (a.dtype, a.shape) != (b.dtype, b.shape):
            reshaped.append(name)
            details[name] = f"{a.dtype}{list(a.shape)} -> {b.dtype}{list(b.shape)}"
        elif a.oid != b.oid:
            changed.append(name)
        else:
            unchanged.append(name)
    return TensorDiff(
        old_count=len(before),
        new_count=len(after),
        changed=changed,
        reshaped=reshaped,
        added=sorted(set(after) - set(before)),
        removed=sorted(set(before) - set(after)),
        unchanged=unchanged,
        details=details,
    )


def group_names(names: Iterable[str], universe: Iterable[str], limit: int = 8) -> str:
    """Collapse dotted names to `prefix.*` wherever every tensor under the prefix is listed."""
    chosen = {_file_as_one_part(n) for n in names}
    all_names = {_file_as_one_part(n) for n in universe} | chosen
    groups: list[str] = []

    def visit(prefix: str, members: list[str]) -> None:
        if all(m in chosen for m in members) and prefix:
            groups.append(prefix + ".*" if len(members) > 1 else members[0])
            return
        children: dict[str, list[str]] = {}
        for member in members:
            rest = member[len(prefix) + 1 :] if prefix else member
            head = rest.split(".", 1)[0]
            key = f"{prefix}.{head}" if prefix else head
            children.setdefault(key, []).append(member)
        for key in sorted(children):
            subset = children[key]
            if not any(m in chosen for m in subset):
                continue
            if subset == [key]:
                groups.append(key)
            else:
                visit(key, subset)

    visit("", sorted(all_names))
    return _list([_file_part_restored(g) for g in groups], limit)


_FILE, _DOT = "\x02", "\x01"


def _file_as_one_part(name: str) -> str:
    """`model.safetensors:encoder.w` (a tensor of a folder's file) -> one leading part for
    the file, so the dots in the file name do not split it into layers."""
    file, sep, tensor = name.partition(":")
    return f"{_FILE}{file.replace('.', _DOT)}.{tensor}" if sep else name


def _file_part_restored(group: str) -> str:
    if not group.startswith(_FILE):
        return group
    file, _, rest = group[1:].partition(".")
    return f"{file.replace(_DOT, '.')}:{rest}"


def _list(items: Sequence[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … (+{len(items) - limit})" if len(items) > limit else "")
