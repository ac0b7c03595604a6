"""`git model textconv FILE`: a pointer as readable lines, for `git diff` / `git log -p`.

Git runs this for every `*.gitmodel` blob once `git model install` registered the driver. One
fact per line, so a changed metric shows up as one changed line.
"""

from __future__ import annotations

from pathlib import Path

from gitmodel.errors import GitModelError
from gitmodel.pointer import MAX_POINTER_SIZE, Pointer, parse_pointer
from gitmodel.printable import printable, printable_lines
from gitmodel.table import format_value, human_size


def textconv(path: str | Path) -> str:
    with Path(path).open("rb") as f:
        data = f.read(MAX_POINTER_SIZE + 1)
    try:
        pointer = parse_pointer(data, Path(path).name)  # not Git's random temp folder
    except GitModelError as exc:
        # Never break `git diff`: show the raw text, flagged, instead of failing.
        flagged = printable(f"# not a valid git-model pointer: {exc.message}")
        return flagged + "\n" + printable_lines(data.decode("utf-8", "replace"))
    return summarise(pointer)


def summarise(pointer: Pointer) -> str:
    lines = [
        f"model    {pointer.name} ({pointer.kind}, {human_size(pointer.size)}, "
        f"{pointer.size} bytes)",
        f"path     {pointer.path}",
        f"oid      {pointer.oid}",
    ]
    if pointer.format is not None:
        lines.append(f"format   {pointer.format.name}")
        for key, value in sorted(pointer.format.facts.items()):
            shown = ",".join(value) if isinstance(value, list) else format_value(value)
            lines.append(f"fact     {key} = {shown}")
    lines += [f"metric   {k} = {format_value(v)}" for k, v in sorted(pointer.metrics.items())]
    lines += [f"param    {k} = {format_value(v)}" for k, v in sorted(pointer.params.items())]
    if pointer.lineage is not None:
        state = "dirty" if pointer.lineage.dirty else "clean"
        lines.append(f"lineage  commit {pointer.lineage.commit or '(none)'} ({state})")
        lines += [f"data     {d.path} {d.oid}" for d in pointer.lineage.data]
    return "\n".join(printable(line) for line in lines) + "\n"
