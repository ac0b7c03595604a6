"""The terminal sessions shown in the docs are run, and must print what the docs say.

Each page listed in PAGES is read for its ```console blocks. In a block, a line starting with
`$ ` is a command (a here-document's lines, up to its terminator, belong to it); the lines up
to the next command are its expected output: standard output and standard error together, as
a terminal shows them. All blocks of a page run in order in one `bash` process, so `cd`,
files and variables carry over from block to block, in a fresh scratch folder with a fresh
Git configuration (only `user.name`/`user.email`, in a HOME of `.home` in the scratch folder)
and fixed commit dates, so commit ids and
pointer lineage are the same on every run.

How the output is compared, all of it strict:
- the scratch folder's real path is written as the folder the page names (in PAGES:
  `/tmp/git-model-tour` for getting-started, `/tmp/gm-docs` for the others);
- trailing white space is ignored on each line (Markdown editors strip it; `git diff`
  prints a lone space for an empty context line), and so are blank lines at the end.
Nothing else is loosened: every other character must match.

A block that cannot run as written (it needs an S3 bucket, say) is fenced as ```text.
The command pages and the README say their examples run in a new repository
(`/tmp/gm-docs/PAGE/demo`, `git init -b main`) whose one commit holds the `train.py` of
getting-started: setup_for builds exactly that, from getting-started's own `cat > train.py`
command.

To rewrite the expected output after a deliberate change of behaviour, run this module with
DOC_EXAMPLES_UPDATE=1 and read the diff of the docs before committing it.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GETTING_STARTED = "docs/getting-started.md"
PAGES = {
    GETTING_STARTED: "/tmp/git-model-tour",
    "docs/commands/add.md": "/tmp/gm-docs",
    "docs/commands/checkout.md": "/tmp/gm-docs",
    "docs/commands/status.md": "/tmp/gm-docs",
    "docs/configuration.md": "/tmp/gm-docs",
    "README.md": "/tmp/gm-docs",
}
FIXED_DATE = "2026-01-05T09:00:00+00:00"
MARK = "\x1edoc-example"
HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")


@dataclass
class Command:
    text: str
    expected: list[str]
    first_output_line: int  # 0-based index into the page's lines
    end_output_line: int
    indent: str


def commands_of(page: str, root: Path = ROOT) -> list[Command]:
    """Every command of every ```console block of `page`, with its expected output."""
    lines = (root / page).read_text(encoding="utf-8").split("\n")
    commands: list[Command] = []
    indent: str | None = None  # of the open ```console fence (a block in a list is indented)
    index = 0
    while index < len(lines):
        line = lines[index]
        if indent is None:
            if line.strip() == "```console":
                indent = line[: line.index("`")]
            index += 1
            continue
        line = line.removeprefix(indent)
        if line.startswith("```"):
            indent = None
            index += 1
            continue
        assert line.startswith("$ "), f"{page}:{index + 1}: output before any command: {line!r}"
        text = [line[2:]]
        index += 1
        heredoc = HEREDOC.search(text[0])
        if heredoc:
            while lines[index].removeprefix(indent) != heredoc.group(1):
                text.append(lines[index].removeprefix(indent))
                index += 1
            text.append(heredoc.group(1))
            index += 1
        start = index
        while not lines[index].removeprefix(indent).startswith(("$ ", "```")):
            index += 1
        expected = [output.removeprefix(indent) for output in lines[start:index]]
        commands.append(Command("\n".join(text), expected, start, index, indent))
    assert commands, f"{page} has no ```console block"
    return commands


def setup_for(page: str) -> str:
    """What a page's prose promises before its first example, as bash."""
    if page == GETTING_STARTED:
        return ""
    train_py = next(c.text for c in commands_of(GETTING_STARTED) if "> train.py" in c.text)
    name = "readme" if page == "README.md" else Path(page).stem
    return (
        f"mkdir -p {name}/demo && cd {name}/demo && git init -q -b main\n"
        f"{train_py}\n"
        'git add train.py && git commit -q -m "Training script"\n'
    )


def run_page(
    page: str, scratch: Path, root: Path = ROOT, bin_dir: Path | None = None
) -> list[list[str]]:
    """Run the page's commands in one bash (with `bin_dir` first on PATH, when given: an
    installed git-model); return each command's output lines."""
    commands = commands_of(page, root)
    # The mark keeps $? so that a documented `echo $?` sees the command before it.
    script = ["exec 2>&1", f"__doc_mark() {{ set -- $? $1; printf '{MARK} %s\\n' $2; return $1; }}"]
    script.append(setup_for(page))
    for number, command in enumerate(commands):
        script += [f"__doc_mark {number}", command.text]
    home = scratch / ".home"  # so that the page can show paths in ~ as /tmp/gm-docs/.home
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Ada Lovelace\n\temail = ada@example.com\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_", "LC_", "COLUMNS", "LINES"))
    }
    env.update(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_DATE=FIXED_DATE,
        GIT_COMMITTER_DATE=FIXED_DATE,
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONUNBUFFERED="1",  # stdout and stderr interleave as on a terminal
        TMPDIR=str(scratch),
    )
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc"],
        input="\n".join(script) + "\n",
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    pieces = proc.stdout.split(MARK)
    assert pieces[0] == "", f"the set-up of {page} printed:\n{pieces[0]}"
    outputs = []
    for piece in pieces[1:]:
        _, _, output = piece.partition("\n")
        output = output.replace(str(scratch), PAGES.get(page, "/tmp/gm-docs"))
        outputs.append(normalised(output.split("\n")))
    assert len(outputs) == len(commands), proc.stdout
    return outputs


def normalised(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def rewrite_page(page: str, commands: list[Command], outputs: list[list[str]]) -> None:
    lines = (ROOT / page).read_text(encoding="utf-8").split("\n")
    for command, output in reversed(list(zip(commands, outputs, strict=True))):
        if normalised(command.expected) != output:
            trailing_blank = command.expected[len(normalised(command.expected)) :]
            indented = [command.indent + line if line else line for line in output]
            lines[command.first_output_line : command.end_output_line] = indented + trailing_blank
    (ROOT / page).write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize("page", PAGES)
def test_doc_examples_print_what_they_show(page: str, tmp_path: Path) -> None:
    assert_page_runs_as_shown(page, tmp_path)


def assert_page_runs_as_shown(page: str, tmp_path: Path, bin_dir: Path | None = None) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    commands = commands_of(page)
    outputs = run_page(page, scratch.resolve(), bin_dir=bin_dir)
    wrong = [
        f"$ {command.text}\n--- the page shows:\n"
        + "\n".join(command.expected)
        + "\n--- it prints:\n"
        + "\n".join(output)
        for command, output in zip(commands, outputs, strict=True)
        if normalised(command.expected) != output
    ]
    if wrong and os.environ.get("DOC_EXAMPLES_UPDATE") == "1":
        rewrite_page(page, commands, outputs)
    assert not wrong, f"{page}: {len(wrong)} example(s) differ\n\n" + "\n\n".join(wrong)


def test_console_blocks_are_parsed_as_commands_and_output() -> None:
    commands = commands_of(GETTING_STARTED)
    heredoc = next(c for c in commands if c.text.startswith("cat > train.py"))
    assert heredoc.text.endswith("\nEOF") and heredoc.expected == []
    assert commands[0].text == "git model --version"


def test_a_wrong_example_and_exit_codes_are_seen(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```console\n$ echo hello; false\nhallo\n$ echo $?\n1\n$ pwd\n```\n"
        "```text\n$ not run\n```\n"
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    outputs = run_page("page.md", scratch, root=tmp_path)
    expected = [command.expected for command in commands_of("page.md", tmp_path)]
    assert outputs == [["hello"], ["1"], ["/tmp/gm-docs/page/demo"]]
    assert expected == [["hallo"], ["1"], []]
