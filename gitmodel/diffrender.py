"""Rendering a model diff: a terminal table, GitHub-flavoured Markdown, or JSON."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from gitmodel.commands.diff import (
    ADDED,
    CONFLICT,
    REMOVED,
    RENAMED,
    UNCHANGED,
    DiffResult,
    ModelDiff,
)
from gitmodel.compare import BETTER, CHANGED, SAME, WORSE, Tolerance, ValueChange
from gitmodel.pointer import FactValue
from gitmodel.printable import printable
from gitmodel.table import human_size, render_table

MARKS = {BETTER: "▲ better", WORSE: "▼ worse", SAME: "= same"}
MD_MARKS = {BETTER: "▲ ✅ better", WORSE: "▼ ❌ worse", SAME: "= same"}


@dataclass(frozen=True)
class Options:
    show_all: bool = False
    precision: int = 4


def headline(result: DiffResult) -> str:
    counts = {BETTER: 0, WORSE: 0}
    for model in result.models:
        for change in model.metrics:
            if change.verdict in counts:
                counts[change.verdict] += 1
    changed = [m for m in result.models if m.status != UNCHANGED]
    parts = [f"{counts[BETTER]} improved", f"{counts[WORSE]} regressed"]
    for status in (ADDED, REMOVED, RENAMED, CONFLICT):
        n = sum(1 for m in changed if m.status == status)
        if n:
            parts.append(f"{n} {'model' if n == 1 else 'models'} {status}")
    n_changed = len(changed)
    parts.append(
        f"{n_changed} of {len(result.models)} {_plural('model', len(result.models))} changed"
    )
    return ", ".join(parts)


def _plural(word: str, n: int) -> str:
    return word if n == 1 else word + "s"


def fmt(value: FactValue | None, precision: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{precision}g}"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def fmt_change(change: ValueChange, precision: int) -> tuple[str, str]:
    """(absolute change, relative change) as text, e.g. ('+0.012', '+1.31%')."""
    delta = change.delta
    if delta is None:
        return ("", "")
    rel = change.relative
    absolute = f"{delta:+.{precision}g}"
    return absolute, (f"{rel * 100:+.2f}%" if rel is not None else "")


def _rows(changes: Sequence[ValueChange], opts: Options) -> list[ValueChange]:
    return [c for c in changes if opts.show_all or c.status != "unchanged"]


def _title(model: ModelDiff) -> str:
    if model.status == RENAMED:
        return f"{model.old_name} -> {model.label} (renamed)"
    return f"{model.label} ({model.status})"


def _artifact_line(model: ModelDiff) -> str | None:
    old, new = model.old, model.new
    if old and new and old.oid != new.oid:
        size = f"{human_size(old.size)} -> {human_size(new.size)}"
        return f"{old.oid[:19]} -> {new.oid[:19]} ({size})"
    if model.status in (ADDED, REMOVED):
        pointer = new or old
        assert pointer is not None
        return f"{pointer.oid[:19]} ({human_size(pointer.size)})"
    return None


def _facts_line(model: ModelDiff, opts: Options) -> str | None:
    changed = [c for c in model.facts if c.status == CHANGED and c.key != "size"]
    if not changed or model.status in (ADDED, REMOVED):
        return None
    return ", ".join(
        f"{c.key} {fmt(c.old, opts.precision)} -> {fmt(c.new, opts.precision)}" for c in changed
    )


def _tensor_line(model: ModelDiff) -> str | None:
    if model.tensors is not None:
        return model.tensors.summary()
    return f"not compared: {model.tensor_note}" if model.tensor_note else None


def render_text(result: DiffResult, opts: Options) -> str:
    lines = [f"{result.old_label} -> {result.new_label}: {headline(result)}"]
    for model in result.models:
        if model.status == UNCHANGED and not opts.show_all:
            continue
        lines += ["", _title(model)]
        path = model.new_path or model.old_path
        if model.old_path and model.new_path and model.old_path != model.new_path:
            path = f"{model.old_path} -> {model.new_path}"
        lines.append(f"  pointer:  {path}")
        for label, value in (
            ("artifact", _artifact_line(model)),
            ("format", _facts_line(model, opts)),
            ("tensors", _tensor_line(model)),
        ):
            if value:
                lines.append(f"  {label + ':':<9} {value}")
        lines += [f"  lineage:  {c}" for c in model.lineage]
        for heading, changes, marks in (
            ("METRIC", model.metrics, True),
            ("PARAM", model.params, False),
        ):
            rows = _rows(changes, opts)
            if rows:
                table = [_text_row(c, opts, marks) for c in rows]
                headers = [heading, "OLD", "NEW", "CHANGE", "REL", ""]
                lines += ["  " + line for line in render_table(headers, table).splitlines()]
    return "\n".join(printable(line) for line in lines)


def _text_row(change: ValueChange, opts: Options, marks: bool) -> list[str]:
    absolute, rel = fmt_change(change, opts.precision)
    mark = MARKS.get(change.verdict or "", "") if marks else ""
    if change.status in ("added", "removed"):
        mark = change.status
    return [
        change.key,
        fmt(change.old, opts.precision),
        fmt(change.new, opts.precision),
        absolute,
        rel,
        mark,
    ]


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def _md_code(text: str) -> str:
    return f"`{text}`" if "`" not in text else text


def render_markdown(result: DiffResult, opts: Options) -> str:
    out = [f"## git-model: {result.old_label} → {result.new_label}", "", f"**{headline(result)}**"]
    shown = [m for m in result.models if opts.show_all or m.status != UNCHANGED]
    if not shown:
        out += ["", "No model changed."]
    for model in shown:
        title = _md_code(model.label)
        if model.status == RENAMED:
            title = f"{_md_code(model.old_name or '')} → {_md_code(model.label)}"
        out += ["", f"### {title} ({model.status})", ""]
        path = model.new_path or model.old_path or ""
        facts = [f"pointer {_md_code(path)}"]
        artifact = _artifact_line(model)
        if artifact:
            facts.append(f"artifact {artifact.replace(' -> ', ' → ')}")
        out.append(" · ".join(facts))
        for label, value in (
            ("Format", _facts_line(model, opts)),
            ("Tensors", _tensor_line(model)),
        ):
            if value:
                out += ["", f"**{label}:** {value.replace(' -> ', ' → ')}"]
        if model.lineage:
            out += [
                "",
                "**Lineage:** " + "; ".join(c.replace(" -> ", " → ") for c in model.lineage),
            ]
        for heading, changes, marks in (
            ("Metric", model.metrics, True),
            ("Param", model.params, False),
        ):
            rows = _rows(changes, opts)
            if not rows:
                continue
            out += ["", f"| {heading} | Old | New | Change | |", "|:--|--:|--:|--:|:--|"]
            for change in rows:
                absolute, rel = fmt_change(change, opts.precision)
                both = f"{absolute} ({rel})" if rel else absolute
                mark = MD_MARKS.get(change.verdict or "", "") if marks else ""
                if change.status in ("added", "removed"):
                    mark = change.status
                cells = [
                    change.key,
                    fmt(change.old, opts.precision),
                    fmt(change.new, opts.precision),
                    both,
                    mark,
                ]
                out.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(printable(line) for line in out) + "\n"


def render_json(result: DiffResult, opts: Options) -> dict[str, object]:
    def change_json(c: ValueChange) -> dict[str, object]:
        return {
            "key": c.key,
            "old": c.old,
            "new": c.new,
            "status": c.status,
            "delta": c.delta,
            "relative": c.relative,
            "direction": c.direction,
            "verdict": c.verdict,
        }

    return {
        "old": result.old_label,
        "new": result.new_label,
        "summary": headline(result),
        "models": [
            {
                "name": m.name,
                "old_name": m.old_name,
                "status": m.status,
                "old_pointer": m.old_path,
                "new_pointer": m.new_path,
                "old_oid": m.old.oid if m.old else None,
                "new_oid": m.new.oid if m.new else None,
                "artifact_changed": m.artifact_changed,
                "metrics": [change_json(c) for c in _rows(m.metrics, opts)],
                "params": [change_json(c) for c in _rows(m.params, opts)],
                "facts": [change_json(c) for c in m.facts if c.status != "unchanged"],
                "tensors": m.tensors.to_json() if m.tensors else None,
                "lineage": m.lineage,
            }
            for m in result.models
            if opts.show_all or m.status != UNCHANGED
        ],
    }


def regressions(
    result: DiffResult, metrics: Sequence[str], tolerance: Tolerance
) -> list[tuple[str, ValueChange]]:
    """Metrics that got worse by more than the tolerance (all metrics if none are named)."""
    found = []
    for model in result.models:
        for change in model.metrics:
            if metrics and change.key not in metrics:
                continue
            if tolerance.exceeded_by(change):
                found.append((model.label, change))
    return found
