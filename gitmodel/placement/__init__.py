"""The placement engine: make the work tree hold the bytes pointers name, from the cache.

Plans first (plan.py, versions.py), then acts (execute.py); a folder not in the work tree yet
is filled in one go (folderfill.py). `git model checkout`, `pull`, `rollback` and the
post-checkout hook all run it.
"""

from __future__ import annotations

from gitmodel.placement.execute import execute_plan, python_gc_paused, write_pointers
from gitmodel.placement.plan import CheckoutPlan, Placement, plan_artifact, refuse_conflicts
from gitmodel.placement.targets import CheckoutResult, place_targets
from gitmodel.placement.versions import plan_version

__all__ = [
    "CheckoutPlan",
    "CheckoutResult",
    "Placement",
    "execute_plan",
    "place_targets",
    "plan_artifact",
    "plan_version",
    "python_gc_paused",
    "refuse_conflicts",
    "write_pointers",
]
