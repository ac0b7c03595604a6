"""Edit .pre-commit-config.yaml as text, so the user's comments, quoting and order survive.

Loading the YAML and dumping it again would drop every comment. Instead git-model's repo entry
goes in as text at the end of the top-level `repos:` list (replacing an earlier entry of ours),
and `default_install_hook_types` is rewritten or appended. The result is loaded again and must
equal the intended document; where the text is too unusual for that (a flow-style list, say),
the whole file is dumped anew and the caller says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

TOP_LEVEL_KEY = re.compile(r"^[^\s#-]")
REPOS_KEY = re.compile(r"^repos\s*:\s*(#.*)?$")
HOOK_TYPES_KEY = re.compile(r"^default_install_hook_types\s*:")
ITEM = re.compile(r"^( *)- ")


def edit_config(
    text: str, doc: dict[str, Any], intended: dict[str, Any], is_ours: Callable[[object], bool]
) -> tuple[str, bool]:
    """The new text for `intended` (which is `doc`, the loaded `text`, with git-model's entry
    last in `repos` and the hook types completed); True if the user's text was kept."""
    try:
        edited = _edit(text, doc, intended, is_ours)
    except (ValueError, yaml.YAMLError):
        edited = None
    if edited is not None and yaml.safe_load(edited) == intended:
        return edited, True
    return yaml.safe_dump(intended, sort_keys=False), False


def _edit(
    text: str, doc: dict[str, Any], intended: dict[str, Any], is_ours: Callable[[object], bool]
) -> str | None:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    start = next((i for i, line in enumerate(lines) if REPOS_KEY.match(line)), None)
    if start is None:
        return None
    end = _block_end(lines, start)
    while end > start + 1 and _blank_or_comment(lines[end - 1]):
        end -= 1  # trailing comments belong to what follows
    items = _items(lines, start + 1, end)
    indent = _indent(lines[items[0][0]]) if items else 0
    kept: list[str] = []
    cursor = start + 1
    for first, last in items:
        kept += lines[cursor:first]
        item = "".join(lines[first:last])
        if not is_ours(_load_item(item, indent)):
            kept += lines[first:last]
        cursor = last
    kept += lines[cursor:end]
    ours = yaml.safe_dump([intended["repos"][-1]], sort_keys=False)
    ours = "".join(" " * indent + line for line in ours.splitlines(keepends=True))
    lines = [*lines[: start + 1], *kept, ours, *lines[end:]]
    if intended.get("default_install_hook_types") != doc.get("default_install_hook_types"):
        lines = _set_hook_types(lines, intended["default_install_hook_types"])
    return "".join(lines)


def _block_end(lines: list[str], start: int) -> int:
    """Index of the first line after the top-level key at `start` that starts another key."""
    for index in range(start + 1, len(lines)):
        if TOP_LEVEL_KEY.match(lines[index]):
            return index
    return len(lines)


def _blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _items(lines: list[str], begin: int, end: int) -> list[tuple[int, int]]:
    """(first, last) line ranges of the list items between `begin` and `end`."""
    starts = [i for i in range(begin, end) if ITEM.match(lines[i])]
    if not starts:
        return []
    starts = [i for i in starts if _indent(lines[i]) == _indent(lines[starts[0]])]
    return [(s, n) for s, n in zip(starts, [*starts[1:], end], strict=True)]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _load_item(item: str, indent: int) -> object:
    dedented = "".join(line[indent:] for line in item.splitlines(keepends=True))
    loaded = yaml.safe_load(dedented)
    if not isinstance(loaded, list) or len(loaded) != 1:
        raise ValueError("not one list item")
    return loaded[0]


def _set_hook_types(lines: list[str], types: list[str]) -> list[str]:
    block = yaml.safe_dump({"default_install_hook_types": types}, sort_keys=False)
    start = next((i for i, line in enumerate(lines) if HOOK_TYPES_KEY.match(line)), None)
    if start is None:
        return [*lines, block]
    return [*lines[:start], block, *lines[_block_end(lines, start) :]]
