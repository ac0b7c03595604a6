"""The git-model(1) manual page, rendered from the command line's own help.

`git model --help` is answered by Git, not by git-model: Git runs `man git-model`. The page is
generated from the same commands, options and help texts as `git model COMMAND -h`, so the two
cannot drift apart (`python -m gitmodel.cli.manpage > man/git-model.1`; a test compares).
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from gitmodel import __version__
from gitmodel.cli.app import _name_placeholders, app, load_commands


def render() -> str:
    load_commands(None)
    root = typer.main.get_command(app)
    _name_placeholders(root)
    ctx = typer.Context(root, info_name="git-model")
    lines = [
        f'.TH GIT-MODEL 1 "" "git-model {__version__}" "Git Manual"',
        ".SH NAME",
        r"git-model \- version machine-learning models like code",
        ".SH SYNOPSIS",
        r".B git model",
        r"[\fB\-C\fR \fIPATH\fR] [\fB\-q\fR] [\fB\-\-traceback\fR] \fICOMMAND\fR [\fIARGS\fR]",
        ".br",
        r".B git model help",
        r"[\fICOMMAND\fR]",
        ".SH DESCRIPTION",
        _text(root.help or ""),
        ".PP",
        "Every command also prints its own help with",
        r".BR \-h .",
        "The full documentation (getting started, the pointer format, the cache layout,",
        "security, one page per command) is installed with git-model in",
        r"\fIPREFIX\fR/share/doc/git-model/ (PREFIX: the folder holding the bin/ that has",
        r"\fBgit-model\fR, e.g. a virtual environment), and is the docs/ folder of its source.",
        ".SH OPTIONS",
        *_options(root, ctx),
        ".SH COMMANDS",
    ]
    for name, command in _commands(root):
        lines += _command(name, command, ctx)
    lines += [
        ".SH EXIT STATUS",
        "0 on success; 1 when a command fails (one line on standard error says what is wrong",
        "and what to do); 2 for a usage error; 3 for an internal error (a bug in git-model:",
        r"run again with \fB\-\-traceback\fR and report it); 130 when interrupted;",
        "143 when terminated (SIGTERM), as cleanly as on an interrupt;",
        "141 when the reader of the output went away (a closed pipe, as with git).",
        ".SH SEE ALSO",
        r".BR git (1),",
        r".BR git-lfs (1),",
        r".BR dvc (1)",
    ]
    return "\n".join(lines) + "\n"


def _commands(group: Any) -> list[tuple[str, Any]]:
    return [(n, c) for n, c in group.commands.items() if not c.hidden]


def _command(path: str, command: Any, parent: typer.Context) -> list[str]:
    ctx = typer.Context(command, info_name=path.split()[-1], parent=parent)
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines = [f".SS git model {_escape(path)} {_escape(usage)}", _text(command.help or "")]
    if hasattr(command, "commands"):
        for name, sub in _commands(command):
            lines += _command(f"{path} {name}", sub, ctx)
        return lines
    return lines + _options(command, ctx)


def _options(command: Any, ctx: typer.Context) -> list[str]:
    lines: list[str] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None or record[0] in ("-h, --help", "--help"):
            continue
        lines += [".TP", rf"\fB{_escape(record[0])}\fR", _text(record[1])]
    return lines


def _text(text: str) -> str:
    """Help text as roff: paragraphs kept, no line starting with a control character."""
    paragraphs = [" ".join(p.split()) for p in text.strip().split("\n\n") if p.strip()]
    return "\n.PP\n".join(_escape(p) for p in paragraphs)


def _escape(text: str) -> str:
    text = text.replace("\\", r"\e").replace("-", r"\-")
    return "\\&" + text if text.startswith((".", "'")) else text


if __name__ == "__main__":
    sys.stdout.write(render())
