"""Raw and stored bytes of a place that holds objects (the local cache, a remote): what
`git model du` prints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Usage:
    where: str
    objects: int = 0  # distinct files the place holds, loose or packed
    raw: int = 0  # their sizes added up: what they take as plain files
    loose: int = 0  # loose object files
    loose_bytes: int = 0
    packs: int = 0
    pack_bytes: int = 0  # packs and their indexes
    recipes: int = 0
    recipe_bytes: int = 0

    @property
    def stored(self) -> int:
        return self.loose_bytes + self.pack_bytes + self.recipe_bytes

    @property
    def ratio(self) -> float:
        """Stored bytes per raw byte (0.0 for an empty place)."""
        return self.stored / self.raw if self.raw else 0.0
