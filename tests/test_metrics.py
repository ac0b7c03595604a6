"""Metrics and params: KEY=VALUE parsing, JSON/YAML files, flattening, and their errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from gitmodel.errors import UsageError
from gitmodel.metrics import flatten, load_mapping_file, parse_assignments, parse_value
from gitmodel.pointer import parse_pointer
from tests.helpers import gm, gm_ok

LIST_HINT = "flatten lists into separate keys (e.g. f1.class0, f1.class1) or drop them"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.9", 0.9),
        ("12", 12),
        ("-3", -3),
        ("+7", 7),
        (" 12 ", 12),
        ("3e-4", 0.0003),
        ("1E5", 100000.0),
        ("-1.5e+2", -150.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("true", True),
        ("false", False),
        (" true ", True),
        ("True", "True"),
        ("yes", "yes"),
        ("adamw", "adamw"),
        ("1.2.3", "1.2.3"),
        ("0x10", "0x10"),
        ("1_000", "1_000"),
        ("", ""),
        (" spaced text ", " spaced text "),
        ("=", "="),
    ],
)
def test_parse_value(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert type(parsed) is type(value)
    assert parsed == value


def test_parse_value_nan() -> None:
    parsed = parse_value("nan")
    assert isinstance(parsed, float) and math.isnan(parsed)


def test_parse_assignments() -> None:
    items = ["acc=0.9", " loss = 0.25", "name=run=7", "empty=", "acc=0.95", "top-5 acc=1"]
    assert parse_assignments(items, "--metric") == {
        "acc": 0.95,
        "loss": 0.25,
        "name": "run=7",
        "empty": "",
        "top-5 acc": 1,
    }


@pytest.mark.parametrize("item", ["accuracy", "=0.9", " =0.9", "", "   "])
@pytest.mark.parametrize("option", ["--metric", "--param"])
def test_parse_assignments_refuses_items_without_key(item: str, option: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_assignments(["ok=1", item], option)
    assert info.value.message == f"{option} expects KEY=VALUE, got {item!r}"
    example = "lr=3e-4" if option == "--param" else "accuracy=0.91"
    assert info.value.hint == f"for example: {option} {example}"


@pytest.mark.parametrize(
    ("text", "value"),
    [("007", "007"), ("00.5", "00.5"), ("0", 0), ("0.5", 0.5), ('"12"', "12"), ('"a b"', "a b")],
)
def test_leading_zeros_and_quotes_keep_strings(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_flatten_nested() -> None:
    nested = {
        "accuracy": 0.9,
        "eval": {"f1": 0.8, "per-class": {"neg": 0.7, "pos": 1}, "ok": True},
        "note": "x",
        1: {2: "int keys"},
        "empty": {},
    }
    assert flatten(nested, "m.json") == {
        "accuracy": 0.9,
        "eval.f1": 0.8,
        "eval.per-class.neg": 0.7,
        "eval.per-class.pos": 1,
        "eval.ok": True,
        "note": "x",
        "1.2": "int keys",
    }


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"f1": [0.1, 0.2]}, "'f1' is a list; values must be numbers, strings or booleans"),
        ({"a": {"b": None}}, "'a.b' is a null; values must be numbers, strings or booleans"),
        (
            {"a": {"b": {"c": (1,)}}},
            "'a.b.c' is a tuple; values must be numbers, strings or booleans",
        ),
    ],
)
def test_flatten_refuses_non_scalars(mapping: dict[object, object], message: str) -> None:
    with pytest.raises(UsageError) as info:
        flatten(mapping, "m.json")
    assert info.value.message == f"m.json: {message}"
    assert info.value.hint == LIST_HINT


def test_load_json(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text('{"accuracy": 0.9125, "eval": {"f1": 0.89}, "epochs": 3, "best": true}')
    assert load_mapping_file(path) == {
        "accuracy": 0.9125,
        "eval.f1": 0.89,
        "epochs": 3,
        "best": True,
    }


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".txt", ""])
def test_load_yaml(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"params{suffix}"
    path.write_text(
        "lr: 3.0e-4\noptimizer: adamw\nschedule:\n  warmup: 100\n  kind: cosine\nuse_amp: true\n"
    )
    assert load_mapping_file(path) == {
        "lr": 0.0003,
        "optimizer": "adamw",
        "schedule.warmup": 100,
        "schedule.kind": "cosine",
        "use_amp": True,
    }


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("m.json", "[0.9, 0.8]"),
        ("m.json", "0.9"),
        ("m.json", "null"),
        ("m.json", '"text"'),
        ("m.yaml", "- 0.9\n- 0.8\n"),
        ("m.yaml", ""),
        ("m.yaml", "null\n"),
        ("m.yaml", "just text\n"),
    ],
)
def test_load_refuses_non_mapping(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_mapping_file(path)
    assert info.value.message == f"{path}: top level must be a mapping of names to values"
    assert info.value.hint == 'for example {"accuracy": 0.91, "loss": 0.2}'


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("m.json", '{"f1": [0.1]}', "'f1' is a list"),
        ("m.json", '{"a": {"b": null}}', "'a.b' is a null"),
        ("m.yaml", "f1:\n  - 0.1\n", "'f1' is a list"),
        ("m.yaml", "loss: ~\n", "'loss' is a null"),
        ("m.yaml", "when: 2024-01-01\n", "'when' is a date"),
    ],
)
def test_load_refuses_lists_and_nulls(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_mapping_file(path)
    assert info.value.message == (f"{path}: {message}; values must be numbers, strings or booleans")
    assert info.value.hint == LIST_HINT


def test_load_refuses_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"accuracy": 0.9,}')
    with pytest.raises(json.JSONDecodeError) as json_error:
        json.loads(path.read_text())
    with pytest.raises(UsageError) as info:
        load_mapping_file(path)
    assert info.value.message == f"{path}: invalid JSON ({json_error.value})"
    assert info.value.message == (
        f"{path}: invalid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 18 (char 17))"
    )
    assert info.value.hint == "fix the file and retry"


def test_load_refuses_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("a: b: c\n")
    with pytest.raises(yaml.YAMLError) as yaml_error:
        yaml.safe_load(path.read_text())
    with pytest.raises(UsageError) as info:
        load_mapping_file(path)
    detail = str(yaml_error.value).replace("\n", " ")
    assert info.value.message == f"{path}: invalid YAML ({detail})"
    assert info.value.message.startswith(f"{path}: invalid YAML (mapping values are not allowed")
    assert "\n" not in info.value.message
    assert info.value.hint == "fix the file and retry"


def test_load_refuses_missing_non_utf8_and_huge_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(UsageError) as info:
        load_mapping_file(missing)
    assert (info.value.message, info.value.hint) == (
        f"{missing}: no such file",
        "check the path you passed",
    )

    latin = tmp_path / "m.yaml"
    latin.write_bytes(b"caf\xe9: 1\n")
    with pytest.raises(UsageError) as info:
        load_mapping_file(latin)
    assert (info.value.message, info.value.hint) == (
        f"{latin}: not UTF-8 text",
        "pass a JSON or YAML file",
    )

    huge = tmp_path / "huge.json"
    huge.write_text('{"a": "' + "x" * (1024 * 1024) + '"}')
    with pytest.raises(UsageError) as info:
        load_mapping_file(huge)
    assert (info.value.message, info.value.hint) == (
        f"{huge}: larger than 1 MiB; not a metrics or params file",
        "pass a small JSON or YAML mapping",
    )


def test_cli_metrics_file_then_flags_override(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"weights")
    (repo / "eval.json").write_text('{"accuracy": 0.5, "eval": {"f1": 0.25}}')
    (repo / "params.yaml").write_text("lr: 0.001\nbatch: 32\n")
    gm_ok(
        repo,
        "add",
        "model.bin",
        "--metrics",
        "eval.json",
        "-m",
        "accuracy=0.75",
        "--params",
        "params.yaml",
        "-p",
        "batch=64",
        "-p",
        "tag=best run",
    )
    pointer = parse_pointer((repo / "model.bin.gitmodel").read_bytes())
    assert pointer.metrics == {"accuracy": 0.75, "eval.f1": 0.25}
    assert pointer.params == {"lr": 0.001, "batch": 64, "tag": "best run"}


def test_cli_bad_metrics_are_one_line_errors(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"weights")
    (repo / "eval.json").write_text('{"f1": [0.1, 0.2]}')
    proc = gm(repo, "add", "model.bin", "--metrics", "eval.json")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: eval.json: 'f1' is a list; values must be numbers, strings or booleans "
        f"({LIST_HINT})\n"
    )
    proc = gm(repo, "add", "model.bin", "-m", "accuracy")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: --metric expects KEY=VALUE, got 'accuracy' (for example: --metric accuracy=0.91)\n"
    )
    assert not (repo / "model.bin.gitmodel").exists()
