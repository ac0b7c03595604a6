"""`git model help COMMAND`, and the manual page that answers `git model --help`."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from gitmodel.cli.manpage import render
from tests.helpers import gm

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "man" / "git-model.1"


def test_the_shipped_manual_page_is_rendered_from_the_current_commands() -> None:
    assert PAGE.read_text() == render(), (
        "regenerate: python -m gitmodel.cli.manpage > man/git-model.1"
    )


def test_the_manual_page_lists_every_command_with_its_options() -> None:
    page = render()
    for heading in (
        r".SS git model add [OPTIONS] {PATHS...}",
        r".SS git model remote add [OPTIONS] {NAME} {URL}",
        r".SS git model diff [OPTIONS] [ARGS...]",
    ):
        assert heading.replace("-", r"\-") in page.splitlines()
    assert (
        "\n.TP\n\\fB\\-m, \\-\\-metric KEY=VALUE\\fR\nA metric as KEY=VALUE; repeatable.\n" in page
    )


@pytest.mark.parametrize("words", [["add"], ["remote", "add"], []])
def test_help_command_prints_the_commands_own_help(repo: Path, words: list[str]) -> None:
    via_help = gm(repo, "help", *words)
    via_option = gm(repo, *words, "-h")
    assert (via_help.returncode, via_help.stderr) == (0, "")
    assert via_help.stdout == via_option.stdout
    assert via_help.stdout.startswith(f"Usage: git-model {' '.join([*words, ''])}".rstrip())


def test_help_for_an_unknown_command_is_one_line_and_exit_2(repo: Path) -> None:
    proc = gm(repo, "help", "nope")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "error: No such command 'nope'. (see `git-model -h`)\n"


def test_git_model_dash_dash_help_opens_the_manual_page(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = Path(sys.prefix) / "share" / "man" / "man1" / "git-model.1"
    if shutil.which("man") is None or not installed.exists():
        pytest.skip("needs man and the page installed by scripts/venv.sh or a wheel")
    assert installed.read_text() == PAGE.read_text()
    monkeypatch.setenv("MANPAGER", "cat")
    monkeypatch.setenv("MANWIDTH", "100")
    proc = gm(repo, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "git model add [OPTIONS] {PATHS...}" in proc.stdout
    assert "-m, --metric KEY=VALUE" in proc.stdout


def test_bare_git_model_shows_the_commands_and_where_to_start(repo: Path) -> None:
    proc = gm(repo)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith("Usage: git-model [OPTIONS] COMMAND [ARGS]...\n")
    assert proc.stdout.endswith(
        "\nStart here:\n"
        "  git model install                        hooks: big files stay out of Git, "
        "checkouts follow\n"
        "  git model add model.safetensors -m acc=0.91\n"
        '  git commit -m "train v1" && git model tag NAME\n'
        "  git model diff --cached                  what changed, metric by metric\n\n"
        "`git model help COMMAND` for one command; `git model --help` for the manual.\n"
    )


def test_a_missing_output_folder_is_named_as_such(repo: Path) -> None:
    proc = gm(repo, "diff", "-o", "no/such/dir/out.md")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: No such file or directory: no/such/dir/out.md (check that the path and the "
        "folders above it exist)\n"
    )
