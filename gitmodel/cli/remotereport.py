"""What push, fetch, gc --remote and fsck --remote say about a remote in the packed layout
(docs/pack-format.md, section 10): bytes moved against model bytes, what became of packs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitmodel.cli.common import say
from gitmodel.table import human_size

if TYPE_CHECKING:
    from gitmodel.commands.sync import SyncResult
    from gitmodel.remotes.packgc import PackGcResult


def transfer_line(verb: str, result: SyncResult, noun: str = "object(s)") -> str:
    """`pushed N object(s) (SIZE) to NAME (URL); M already there`, and for a packed remote
    what crossed the wire: `; sent BYTES: C new chunk(s), R already on NAME` (push) or
    `; received BYTES: C chunk(s), R reused from the cache` (fetch)."""
    t = result.transfer
    line = (
        f"{verb} {len(t.transferred)} {noun} ({human_size(t.bytes)}) "
        f"{'to' if verb == 'pushed' else 'from'} {result.remote}; {t.present} already there"
    )
    if not t.packed:
        return line
    if verb == "pushed":
        name = result.remote.split(" ", 1)[0]
        return (
            f"{line}; sent {human_size(t.moved)}: {t.chunks} new chunk(s), "
            f"{t.reused_chunks} already on {name}"
        )
    return (
        f"{line}; received {human_size(t.moved)}: {t.chunks} chunk(s), "
        f"{t.reused_chunks} reused from the cache"
    )


def say_remote_packs(packs: PackGcResult | None, dry_run: bool) -> None:
    if packs is None:
        return
    recent = f" and {packs.recent_packs} recent or in use by a push" if packs.recent_packs else ""
    repacked = "; repacked: the newest version of each tensor whole" if packs.repacked else ""
    say(
        f"packs: {'would delete' if dry_run else 'deleted'} {len(packs.deleted_packs)}, "
        f"{'would rewrite' if dry_run else 'rewrote'} {len(packs.rewritten)} into "
        f"{len(packs.new_packs)}, kept {packs.kept_packs}{recent}{repacked}"
    )


def remote_packs_json(packs: PackGcResult | None) -> dict[str, object]:
    """What gc did to a remote's packs (nothing to say for the cache or a loose remote)."""
    if packs is None:
        return {}
    return {
        "packs": {
            "deleted": [n for n, _ in packs.deleted_packs],
            "rewritten": [n for n, _ in packs.rewritten],
            "new": packs.new_packs,
            "kept": packs.kept_packs,
            "kept_recent": packs.recent_packs,
            "repacked": packs.repacked,
        }
    }
