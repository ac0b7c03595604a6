"""Text from a collaborator's pointer never reaches the terminal as control characters."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from gitmodel.pointer import FormatInfo, format_pointer, parse_pointer
from gitmodel.printable import printable, printable_lines
from tests.helpers import git, gm, gm_ok

TITLE = "\x1b]0;pwned\x07"  # OSC 0: sets the terminal's window title
SHOWN = "\\x1b]0;pwned\\x07"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("acc" + TITLE, "acc" + SHOWN),
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear the screen
        ("\x9b2J", "\\x9b2J"),  # the same with the one-character C1 CSI
        ("a\x00b\x7fc\x85d", "a\\x00b\\x7fc\\x85d"),
        ("line\nbreak\r\ttab", "line\\nbreak\\r\\ttab"),
        ("\u202eevil\u202c \u2066x\u2069 \u200f", "\\u202eevil\\u202c \\u2066x\\u2069 \\u200f"),
        ("a\u2028b", "a\\u2028b"),
        ("plain, é, ▲ ✅, 模型, \\x1b", "plain, é, ▲ ✅, 模型, \\x1b"),  # unchanged
    ],
)
def test_printable_escapes_control_characters_only(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(shown) == shown  # escaping twice changes nothing


def test_printable_lines_keeps_newlines() -> None:
    assert printable_lines(f"one{TITLE}\ntwo\r\n") == f"one{SHOWN}\ntwo\\r\n"


@pytest.fixture
def hostile(repo: Path) -> Path:
    """Two commits of a pointer a collaborator wrote with escape sequences in its metric
    names, a param value and a format fact; the first is registered as m@v1.0.0."""
    (repo / "m.bin").write_bytes(b"weights")
    gm_ok(repo, "add", "m.bin", "--name", "m")
    pointer_file = repo / "m.bin.gitmodel"
    pointer = parse_pointer(pointer_file.read_bytes())
    for step, value in enumerate((0.5, 0.75)):
        pointer = replace(
            pointer,
            format=FormatInfo("gguf", {"model_name": "llama" + TITLE}),
            metrics={"acc" + TITLE: value, "loss": 1 - value},
            params={"optimizer": f"adam{step}{TITLE}"},
        )
        pointer_file.write_bytes(format_pointer(pointer))
        git(repo, "add", "m.bin.gitmodel")
        git(repo, "commit", "-q", "-m", f"step {step}")
        if step == 0:
            gm_ok(repo, "tag", "m", "v1.0.0")
    return repo


@pytest.mark.parametrize(
    "args",
    [
        ["show", "m"],
        ["show", "m@v1.0.0"],
        ["versions", "m"],
        ["ls"],
        ["diff", "HEAD~1"],
        ["diff", "HEAD~1", "--md"],
        ["textconv", "m.bin.gitmodel"],
    ],
    ids=" ".join,
)
def test_text_output_escapes_pointer_text(hostile: Path, args: list[str]) -> None:
    proc = gm(hostile, *args)
    assert proc.returncode == 0, proc.stderr
    output = proc.stdout + proc.stderr
    assert "\x1b" not in output and "\x07" not in output
    assert "acc" + SHOWN in output


def test_show_escapes_params_and_facts(hostile: Path) -> None:
    out = gm_ok(hostile, "show", "m")
    assert f"  optimizer = adam1{SHOWN}\n" in out
    assert f"model_name=llama{SHOWN}" in out


def test_diff_escapes_changed_param_values(hostile: Path) -> None:
    out = gm_ok(hostile, "diff", "HEAD~1")
    assert f"adam0{SHOWN}" in out and f"adam1{SHOWN}" in out
    md = gm_ok(hostile, "diff", "HEAD~1", "--md")
    assert f"| optimizer | adam0{SHOWN} | adam1{SHOWN} |" in md


def test_warning_about_kept_metrics_escapes_their_names(hostile: Path) -> None:
    (hostile / "m.bin").write_bytes(b"retrained")
    proc = gm(hostile, "add", "m.bin")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (
        f"warning: m: the artifact changed but these metrics were kept from the previous "
        f"version: acc{SHOWN}, loss (pass --metric KEY=VALUE to update them)\n"
    )


@pytest.mark.parametrize("args", [["show", "m", "--json"], ["diff", "HEAD~1", "--json"]])
def test_json_output_stays_exact(hostile: Path, args: list[str]) -> None:
    data = json.loads(gm_ok(hostile, *args))
    if args[0] == "show":
        assert data["pointer"]["metrics"]["acc" + TITLE] == 0.75
        assert data["pointer"]["params"]["optimizer"] == "adam1" + TITLE
    else:
        assert data["models"][0]["metrics"][0]["key"] == "acc" + TITLE


def test_errors_that_echo_a_pointer_escape_it(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"weights")
    gm_ok(repo, "add", "m.bin", "--name", "m")
    pointer_file = repo / "m.bin.gitmodel"
    text = pointer_file.read_text().replace('name = "m"', 'name = "m\\u001b]0;pwned\\u0007"')
    pointer_file.write_text(text)
    for args in (["status"], ["show", "m.bin"], ["checkout"]):
        proc = gm(repo, *args)
        output = proc.stdout + proc.stderr
        assert "\x1b" not in output and "\x07" not in output, args
        assert "m" + SHOWN in output, (args, output)


def test_paths_with_escape_sequences_are_escaped(repo: Path) -> None:
    (repo / f"m{TITLE}.bin").write_bytes(b"weights")
    proc = gm(repo, "add", f"m{TITLE}.bin", "--name", "m")
    assert proc.stdout.startswith(f"added m: m{SHOWN}.bin.gitmodel (7 B, xxh128:")
    git(repo, "commit", "-q", "-m", "model")
    for args in (["status"], ["ls"], ["checkout"]):
        proc = gm(repo, *args)
        assert proc.returncode == 0, proc.stderr
        assert "\x1b" not in proc.stdout + proc.stderr, args
    assert gm_ok(repo, "status") == f"up to date              m{SHOWN}.bin\n"
