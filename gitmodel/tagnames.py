"""Registry tag names, in the GTO convention so GTO and tools built on it read our registry.

- `NAME@vX.Y.Z`       registers a version (annotated tag on the commit holding the pointer)
- `NAME@vX.Y.Z!`      deregisters it
- `NAME#STAGE#N`      assigns STAGE to the version at the tagged commit; N increases per model
- `NAME#STAGE!#N`     unassigns (demotes) it
- `NAME@deprecated`   deprecates the model (`NAME@deprecated#N` when that tag exists already);
                      a later registry event revives it
Tags of other tools that do not fit are ignored, never fatal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitmodel.semver import SEMVER_PATTERN, SemVer

_NAME = r"[a-z0-9](?:[a-z0-9/-]*[a-z0-9])?"
_VERSION_TAG_RE = re.compile(rf"^(?P<name>{_NAME})@(?P<version>v{SEMVER_PATTERN})(?P<cancel>!?)$")
_STAGE_TAG_RE = re.compile(
    rf"^(?P<name>{_NAME})#(?P<stage>{_NAME})(?P<cancel>!?)(?:#(?P<counter>[0-9]+))?$"
)
_DEPRECATION_TAG_RE = re.compile(rf"^(?P<name>{_NAME})@deprecated(?:#(?P<counter>[0-9]+))?$")
STAGE_NAME_RE = re.compile(rf"^{_NAME}$")


@dataclass(frozen=True)
class VersionTag:
    name: str
    version: SemVer
    deregister: bool = False


@dataclass(frozen=True)
class StageTag:
    name: str
    stage: str
    counter: int | None
    unassign: bool = False


@dataclass(frozen=True)
class DeprecationTag:
    name: str
    counter: int | None


def parse_tag_name(tag: str) -> VersionTag | StageTag | DeprecationTag | None:
    """Parse a registry tag name; None for any tag that is not one."""
    match = _DEPRECATION_TAG_RE.match(tag)
    if match:
        counter = int(match["counter"]) if match["counter"] is not None else None
        return DeprecationTag(match["name"], counter)
    match = _VERSION_TAG_RE.match(tag)
    if match:
        return VersionTag(match["name"], SemVer.parse(match["version"]), bool(match["cancel"]))
    match = _STAGE_TAG_RE.match(tag)
    if match:
        counter = int(match["counter"]) if match["counter"] is not None else None
        return StageTag(match["name"], match["stage"], counter, bool(match["cancel"]))
    return None


def version_tag_name(name: str, version: SemVer) -> str:
    return f"{name}@{version}"


def stage_tag_name(name: str, stage: str, counter: int, unassign: bool = False) -> str:
    return f"{name}#{stage}{'!' if unassign else ''}#{counter}"


def deprecation_tag_name(name: str, counter: int | None) -> str:
    return f"{name}@deprecated" + (f"#{counter}" if counter is not None else "")
