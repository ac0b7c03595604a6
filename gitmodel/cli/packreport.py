"""How `git model gc` and `git model fsck` report on the local packs (cli/remote.py prints
the rest of their results)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitmodel.cli.common import say
from gitmodel.table import human_size

if TYPE_CHECKING:
    from gitmodel.commands.fsck import FsckResult
    from gitmodel.packing import PackingResult


def packing_json(packing: PackingResult | None) -> dict[str, object]:
    if packing is None:
        return {}
    return {
        "packed": [{"oid": o, "size": s} for o, s in packing.packed],
        "kept_loose": packing.kept_loose,
        "packs_written": packing.packs_written,
        "packs_deleted": packing.packs_deleted,
    }


def say_packing(packing: PackingResult, dry_run: bool) -> None:
    if packing.packed or packing.packs_written:
        size = human_size(sum(size for _, size in packing.packed))
        verb = "would drop" if dry_run else "dropped"
        line = f"{verb} the loose copies of {len(packing.packed)} packed object(s), {size}"
        if packing.packs_written:
            line += f"; wrote {len(packing.packs_written)} pack(s)"
        say(line + f"; {packing.kept_loose} checked-out object(s) stay loose")


def packs_check_json(result: FsckResult) -> dict[str, object]:
    if result.packs is None:
        return {}
    return {
        "packs": result.packs.packs,
        "chunks": result.packs.chunks,
        "recipes": result.packs.recipes,
        "damaged_packs": [{"problem": m, "moved_to": moved} for m, moved in result.damaged_packs],
    }


def say_packs_check(result: FsckResult) -> None:
    if result.packs is None:
        return
    for message, moved in result.damaged_packs:
        print(f"{message} (moved to {', '.join(moved)})" if moved else message)
    check = result.packs
    print(
        f"checked {check.packs} pack(s), {check.chunks} chunk(s) and {check.recipes} "
        f"recipe(s) in {result.where}: {len(result.damaged_packs)} damaged"
    )
