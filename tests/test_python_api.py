"""The public Python API (docs/python-api.md): every verb importable from `gitmodel`, typed,
validating its own input, and the page's training script running as written."""

from __future__ import annotations

import inspect
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gitmodel
from gitmodel.errors import UsageError
from tests.helpers import git

DOC = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"
VERBS = {
    "add": "gitmodel.commands.add",
    "status": "gitmodel.commands.status",
    "checkout": "gitmodel.commands.checkout",
    "diff": "gitmodel.commands.diff",
    "report": "gitmodel.cireport",
    "tag": "gitmodel.commands.tag",
    "promote": "gitmodel.commands.promote",
    "demote": "gitmodel.commands.promote",
    "versions": "gitmodel.commands.versions",
    "ls": "gitmodel.commands.ls",
    "show": "gitmodel.commands.show",
    "rollback": "gitmodel.commands.rollback",
    "push": "gitmodel.commands.sync",
    "fetch": "gitmodel.commands.sync",
    "pull": "gitmodel.commands.sync",
    "gc": "gitmodel.commands.gc",
    "fsck": "gitmodel.commands.fsck",
    "du": "gitmodel.commands.du",
    "install": "gitmodel.commands.install",
    "uninstall": "gitmodel.commands.install",
    "remote_add": "gitmodel.commands.remote",
    "remote_list": "gitmodel.commands.remote",
    "remote_remove": "gitmodel.commands.remote",
    "remote_default": "gitmodel.commands.remote",
    "remote_approve": "gitmodel.commands.remote",
    "deprecate": "gitmodel.commands.deprecate",
    "migrate": "gitmodel.commands.migrate",
}


def doc_block(language: str, after: str) -> str:
    """The first ```LANGUAGE block after the heading `after` in docs/python-api.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(after) :]
    match = re.search(rf"^```{language}\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert match is not None, f"no {language} block after {after!r}"
    return match.group(1)


def test_the_training_script_in_the_docs_runs_as_written(repo: Path) -> None:
    script = doc_block("python", "## A training script")
    expected = doc_block("console", "## A training script")
    (repo / "train.py").write_text(script, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "train.py"], cwd=repo, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert f"$ python train.py\n{proc.stdout}" == expected
    tags = git(repo, "tag", "--list", "--points-at", "HEAD").stdout.split()
    assert tags == ["classifier#production#1", "classifier@v0.1.0"]
    pointer = (repo / "models" / "classifier.bin.gitmodel").read_text()
    assert 'name = "classifier"' in pointer
    assert "accuracy = 0.912\n" in pointer and "learning_rate = 0.001\n" in pointer
    assert git(repo, "status", "--porcelain", "--", "models").stdout == ""


def test_every_verb_is_the_function_its_command_calls_with_a_typed_result() -> None:
    import importlib

    for name, module in VERBS.items():
        function = getattr(gitmodel, name)
        assert function is getattr(importlib.import_module(module), name)
        returns = inspect.signature(function).return_annotation
        assert returns is not inspect.Signature.empty, name
        assert "object" not in str(returns) and "Any" not in str(returns), (name, returns)
    verbs_and_results = {n for n in gitmodel.__all__ if n != "__version__"}
    assert set(VERBS) <= verbs_and_results
    for name in verbs_and_results - set(VERBS):  # results and errors are classes
        assert inspect.isclass(getattr(gitmodel, name)), name
    assert sorted(dir(gitmodel)) == sorted(gitmodel.__all__)
    with pytest.raises(AttributeError, match="module 'gitmodel' has no attribute 'nope'"):
        gitmodel.nope  # noqa: B018


def test_every_verb_is_in_the_docs_table() -> None:
    table = DOC.read_text(encoding="utf-8").split("## The functions", 1)[1]
    for name in VERBS:
        assert f"`{name}(" in table or f", `{name}(" in table, name


def test_import_gitmodel_loads_nothing_else_of_ours() -> None:
    code = "import sys, gitmodel; print(sorted(m for m in sys.modules if 'gitmodel' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "['gitmodel']\n"


@pytest.mark.parametrize(
    ("grace", "remote", "message"),
    [
        (math.nan, "origin", "--grace nan: not a number of hours"),
        (-1.0, "origin", "--grace -1.0: not a number of hours"),
        (0.0, None, "--grace applies to a remote's objects"),
    ],
)
def test_gc_refuses_a_bad_grace_before_touching_anything(
    repo: Path, grace: float, remote: str | None, message: str
) -> None:
    """The check lives in gc() itself, not only in the command line."""
    with pytest.raises(UsageError) as info:
        gitmodel.gc(grace_hours=grace, remote=remote, repo=repo / "no such folder")
    assert info.value.message == message


def test_report_is_the_markdown_the_command_writes(repo: Path, tmp_path: Path) -> None:
    (repo / "model.bin").write_bytes(b"weights")
    gitmodel.add(["model.bin"], name="m", metrics={"acc": 0.5}, repo=repo)
    git(repo, "commit", "-q", "-m", "model")
    gitmodel.tag("m", repo=repo)
    text = gitmodel.report(repo=repo)
    out = tmp_path / "report.md"
    proc = subprocess.run(
        ["git", "model", "report", "-q", "-o", str(out)], cwd=repo, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_text(encoding="utf-8") == text
    assert text.endswith(
        "## Registry at HEAD\n\n| Model | Latest | HEAD | Stages |\n|:--|:--|:--|:--|\n"
        "| `m` | v0.1.0 | v0.1.0 | - |\n"
    )
