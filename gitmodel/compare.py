"""Comparing two values of a metric, param or fact: change, relative change, better or worse."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from gitmodel.direction import HIGHER, LOWER
from gitmodel.errors import UsageError
from gitmodel.pointer import FactValue

ChangeStatus = Literal["added", "removed", "changed", "unchanged"]
ADDED: Final = "added"
REMOVED: Final = "removed"
CHANGED: Final = "changed"
UNCHANGED: Final = "unchanged"
Verdict = Literal["better", "worse", "same"]
BETTER: Final = "better"
WORSE: Final = "worse"
SAME: Final = "same"


@dataclass(frozen=True)
class ValueChange:
    key: str
    old: FactValue | None
    new: FactValue | None
    direction: str | None = None  # higher / lower / None (unknown or not a metric)

    @property
    def status(self) -> ChangeStatus:
        if self.old is None:
            return ADDED
        if self.new is None:
            return REMOVED
        return UNCHANGED if _same(self.old, self.new) else CHANGED

    @property
    def delta(self) -> float | None:
        if _is_number(self.old) and _is_number(self.new):
            return float(self.new) - float(self.old)  # type: ignore[arg-type]
        return None

    @property
    def relative(self) -> float | None:
        delta = self.delta
        if delta is None or not self.old:
            return None
        return delta / abs(float(self.old))  # type: ignore[arg-type]

    @property
    def verdict(self) -> Verdict | None:
        """better / worse / same for a numeric metric with a known direction, else None."""
        delta = self.delta
        if delta is None or self.direction not in (HIGHER, LOWER) or math.isnan(delta):
            return None
        if delta == 0:
            return SAME
        return BETTER if (delta > 0) == (self.direction == HIGHER) else WORSE


def compare_maps(
    old: Mapping[str, FactValue],
    new: Mapping[str, FactValue],
    directions: Mapping[str, str | None] | None = None,
) -> list[ValueChange]:
    keys = sorted(set(old) | set(new))
    return [ValueChange(k, old.get(k), new.get(k), (directions or {}).get(k)) for k in keys]


@dataclass(frozen=True)
class Tolerance:
    """How much worse a metric may get before a CI gate fails: absolute, or relative (`1%`)."""

    amount: float = 0.0
    relative: bool = False

    @classmethod
    def parse(cls, text: str) -> Tolerance:
        raw = text.strip()
        try:
            relative = raw.endswith("%")
            amount = float(raw[:-1] if relative else raw)
            if math.isnan(amount) or amount < 0:
                raise ValueError(raw)
        except ValueError:
            raise UsageError(
                f"invalid tolerance {text!r}",
                "give how much worse a metric may get, as a number (0.01) or a percentage (1%), "
                "not negative",
            ) from None
        return cls(amount / 100 if relative else amount, relative=relative)

    def exceeded_by(self, change: ValueChange) -> bool:
        if change.verdict != WORSE or change.delta is None:
            return False
        if self.relative:
            rel = change.relative
            return rel is None or _beyond(abs(rel), self.amount)
        return _beyond(abs(change.delta), self.amount)


def _beyond(worsening: float, allowed: float) -> bool:
    """More than allowed, ignoring float noise (0.9 -> 0.85 is a drop of 0.05, not 0.05000…04)."""
    return worsening > allowed and not math.isclose(worsening, allowed, rel_tol=1e-9)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: object, b: object) -> bool:
    if _is_number(a) and _is_number(b):
        return float(a) == float(b) or (  # type: ignore[arg-type]
            isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
        )
    return a == b and type(a) is type(b)
