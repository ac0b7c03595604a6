"""`git model checkout`: put the bytes every pointer names into the work tree.

The engine (plan first, then place) is gitmodel/placement/, shared with `pull`, `rollback`
and the post-checkout hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gitmodel.placement import CheckoutResult, place_targets
from gitmodel.progress import ProgressCallback

__all__ = ["CheckoutResult", "checkout"]


def checkout(
    targets: Sequence[str | Path] = (),
    *,
    repo: str | Path = ".",
    force: bool = False,
    verify: bool = False,
    side: str | None = None,
    progress: ProgressCallback | None = None,
) -> CheckoutResult:
    """Materialise artifacts. A target NAME@vX.Y.Z, NAME@latest or NAME#STAGE first restores
    that version's pointer (like `git checkout TAG -- POINTER`, staged), then its bytes.
    With `side` ("ours" or "theirs"), each target is a pointer in a merge conflict (default:
    every one): that side's pointer is written and staged, resolving it, then its bytes.
    `progress`, if given, is called as `progress(done_bytes, total_bytes, label)` while the
    bytes are placed (gitmodel.progress.ProgressCallback)."""
    if side is not None:
        from gitmodel.conflicts import resolve_conflicts

        targets = resolve_conflicts(Path(repo), targets, side)
    return place_targets(targets, Path(repo), force, verify, progress)
