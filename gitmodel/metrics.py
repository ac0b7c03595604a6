"""Metrics and params: `K=V` parsing, JSON/YAML files, flattening nested keys with dots."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.tomlfmt import Scalar

_INT_RE = re.compile(r"^[+-]?\d+$")
_LEADING_ZERO_RE = re.compile(r"^[+-]?0\d")
_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$")
MAX_FILE_SIZE = 1024 * 1024


def parse_value(text: str) -> Scalar:
    """`0.9` -> float, `12` -> int, `true`/`false` -> bool, anything else stays a string."""
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        return stripped[1:-1]  # quoted: always a string, e.g. --param 'tag="007"'
    if stripped in ("true", "false"):
        return stripped == "true"
    if _LEADING_ZERO_RE.match(stripped):
        return text  # an id like 007 or 0123, not a number
    if _INT_RE.match(stripped):
        return int(stripped)
    if _FLOAT_RE.match(stripped):
        return float(stripped)
    return text


def parse_assignments(items: Iterable[str], option: str) -> dict[str, Scalar]:
    result: dict[str, Scalar] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"{option} expects KEY=VALUE, got {item!r}",
                f"for example: {option} {'lr=3e-4' if option == '--param' else 'accuracy=0.91'}",
            )
        result[key.strip()] = parse_value(value)
    return result


def flatten(mapping: Mapping[object, object], source: str) -> dict[str, Scalar]:
    """Nested mappings become dotted keys: {"eval": {"f1": 0.8}} -> {"eval.f1": 0.8}."""
    flat: dict[str, Scalar] = {}

    def walk(prefix: str, node: Mapping[object, object]) -> None:
        for raw_key, value in node.items():
            key = f"{prefix}.{raw_key}" if prefix else str(raw_key)
            if isinstance(value, Mapping):
                walk(key, value)
            elif isinstance(value, bool | int | float | str):
                flat[key] = value
            else:
                kind = "null" if value is None else type(value).__name__
                raise UsageError(
                    f"{source}: {key!r} is a {kind}; values must be numbers, strings or booleans",
                    "flatten lists into separate keys (e.g. f1.class0, f1.class1) or drop them",
                )

    walk("", mapping)
    return flat


def load_mapping_file(path: Path) -> dict[str, Scalar]:
    """Read a flat or nested mapping from a JSON or YAML file."""
    try:
        if path.stat().st_size > MAX_FILE_SIZE:
            raise UsageError(
                f"{path}: larger than 1 MiB; not a metrics or params file",
                "pass a small JSON or YAML mapping",
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file", "check the path you passed") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text", "pass a JSON or YAML file") from None
    data = _parse_json_or_yaml(path, text)
    if not isinstance(data, Mapping):
        raise UsageError(
            f"{path}: top level must be a mapping of names to values",
            'for example {"accuracy": 0.91, "loss": 0.2}',
        )
    return flatten(data, str(path))


def _parse_json_or_yaml(path: Path, text: str) -> object:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: invalid JSON ({exc})", "fix the file and retry") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = str(exc).replace("\n", " ")
        raise UsageError(f"{path}: invalid YAML ({line})", "fix the file and retry") from None
