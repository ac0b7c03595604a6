"""The fast path parses the usual forms of add, status and checkout exactly as the typer
commands do, leaves everything else to them, and imports no CLI framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from gitmodel.cli import app as cli_app
from gitmodel.cli.fast import COMMAND_OPTIONS, POSITIONAL, Invocation, parse
from tests.helpers import gm


def typer_command(name: str) -> Any:
    cli_app.load_commands(name)
    group = typer.main.get_command(cli_app.app)
    return group.commands[name]  # type: ignore[attr-defined]


def typer_params(argv: list[str]) -> dict[str, Any]:
    """What the typer command passes its function for `argv` (a command and its arguments):
    click's values, with a path option's made a Path as typer does."""
    command = typer_command(argv[0])
    ctx = command.make_context(argv[0], list(argv[1:]))
    paths = {p.name for p in command.params if p.type.name == "path"}
    return {k: Path(v) if k in paths and v is not None else v for k, v in ctx.params.items()}


@pytest.mark.parametrize("name", sorted(COMMAND_OPTIONS))
def test_the_option_table_is_the_typer_commands_own(name: str) -> None:
    derived: dict[str, tuple[str, str]] = {}
    positional = None
    for param in typer_command(name).params:
        if param.param_type_name == "argument":
            positional = param.name
            continue
        kind = "flag" if param.is_flag else "list" if param.multiple else "value"
        for spelling in [*param.opts, *param.secondary_opts]:
            derived[spelling] = (param.name, kind)
    derived.pop("--help", None)
    derived.pop("-h", None)
    assert COMMAND_OPTIONS[name] == derived
    assert POSITIONAL[name] == positional


SAME_AS_TYPER = [
    ["add", "m.bin"],
    ["add", "m.bin", "--name", "sentiment", "--metric", "acc=0.9", "-m", "loss=0.2"],
    ["add", "--name=x", "-n", "y", "a.bin", "b.bin", "--param", "lr=3e-4", "-p", "bs=8"],
    ["add", "m.bin", "--metrics", "metrics.json", "--params=p.yaml", "-d", "data.csv", "-q"],
    ["add", "m.bin", "--data", "a", "--data=b", "--quiet"],
    ["status"],
    ["status", "--json", "models/", "--check", "-q"],
    ["status", "-r", "origin", "--remote=backup", "m.bin"],
    ["checkout"],
    ["checkout", "-f", "--verify", "sentiment", "models/bert"],
    ["checkout", "--force", "--quiet", "a", "b"],
]


def normalized(params: dict[str, Any], positional: str) -> dict[str, Any]:
    """Typer's defaults (None for an empty list, False for a flag not given) dropped."""
    kept = {k: v for k, v in params.items() if v not in (None, False, [], ())}
    kept[positional] = list(params.get(positional) or [])
    for key, value in kept.items():
        if isinstance(value, tuple):
            kept[key] = list(value)
    return kept


@pytest.mark.parametrize("argv", SAME_AS_TYPER, ids=" ".join)
def test_the_usual_forms_parse_as_typer_parses_them(argv: list[str]) -> None:
    invocation = parse(argv)
    assert invocation is not None
    positional = POSITIONAL[argv[0]]
    assert normalized(invocation.params, positional) == normalized(typer_params(argv), positional)


def test_global_options_before_the_command() -> None:
    assert parse(["-C", "sub", "-q", "--traceback", "status", "--json"]) == Invocation(
        "status", {"targets": [], "as_json": True}, directory="sub", quiet=True, traceback=True
    )
    assert parse(["--quiet", "checkout"]) == Invocation("checkout", {"targets": []}, quiet=True)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--version"],
        ["-C"],
        ["help", "status"],
        ["status", "-h"],
        ["add", "--help"],
        ["add"],  # typer reports the missing path
        ["add", "-q"],
        ["status", "--bogus"],
        ["status", "--json=yes"],  # a flag takes no value
        ["add", "m.bin", "--name"],  # value missing
        ["add", "m.bin", "--name", "-x"],  # a value like an option: typer decides
        ["add", "-nfoo", "m.bin"],  # short option with its value attached
        ["checkout", "-fq"],  # short flags combined
        ["checkout", "--", "-odd-name"],
        ["status", "-"],
        ["diff", "HEAD~1"],
        ["-x", "status"],
    ],
    ids=lambda argv: " ".join(argv) or "(nothing)",
)
def test_anything_else_is_left_to_the_full_cli(argv: list[str]) -> None:
    assert parse(argv) is None


def test_status_runs_without_importing_typer(repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gitmodel", "status"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert (proc.returncode, proc.stdout) == (
        0,
        "no models tracked (track one with `git model add PATH`)\n",
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()]
    assert "gitmodel.cli.coreops" in imported
    assert not [name for name in imported if name.startswith(("typer", "click"))]


def test_a_form_left_to_the_full_cli_still_works(repo: Path) -> None:
    proc = gm(repo, "-q", "checkout", "--", "absent")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith("error: ")
    assert proc.stderr.count("\n") == 1
    fast = gm(repo, "-q", "checkout", "absent")
    assert (fast.returncode, fast.stdout, fast.stderr) == (proc.returncode, "", proc.stderr)
