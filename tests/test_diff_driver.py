"""`git diff`, `git log -p` and `git show` through the `gitmodel` textconv driver."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import git, gm, gm_ok, write_safetensors

MODEL = "models/sentiment.safetensors"
POINTER = MODEL + ".gitmodel"


def value(pointer_text: str, key: str) -> str:
    line = next(x for x in pointer_text.splitlines() if x.startswith(f"{key} = "))
    return line.split(" = ", 1)[1].strip('"')


@pytest.fixture
def two_commits(repo: Path) -> Path:
    """sentiment committed twice: accuracy 0.9 -> 0.925, same weights."""
    write_safetensors(repo / MODEL, {"w": ("F32", [2, 2], 1)})
    gm_ok(repo, "add", "-q", MODEL, "--name", "sentiment", "-m", "accuracy=0.9", "-m", "loss=0.3")
    git(repo, "commit", "-q", "-m", "v1")
    gm_ok(repo, "add", "-q", MODEL, "-m", "accuracy=0.925")
    git(repo, "commit", "-q", "-m", "v2")
    return repo


def summary(repo: Path, accuracy: str) -> list[str]:
    """The textconv lines of the committed pointer, with `accuracy` as given."""
    text = (repo / POINTER).read_text()
    return [
        "model    sentiment (file, 88 B, 88 bytes)",
        "path     sentiment.safetensors",
        f"oid      {value(text, 'oid')}",
        "format   safetensors",
        "fact     dtypes = F32",
        f"fact     manifest = {value(text, 'manifest')}",
        "fact     parameters = 4",
        "fact     tensors = 1",
        f"metric   accuracy = {accuracy}",
        "metric   loss = 0.3",
        f"lineage  commit {value(text, 'commit')} (clean)",
    ]


def test_git_diff_log_and_show_print_summaries(two_commits: Path) -> None:
    repo = two_commits
    raw = git(repo, "diff", "HEAD~1", "--", "models/").stdout
    assert "-accuracy = 0.9\n+accuracy = 0.925\n" in raw  # TOML until the driver is installed
    gm_ok(repo, "install", "-q")
    old_blob = git(repo, "rev-parse", "--short", f"HEAD~1:{POINTER}").stdout.strip()
    new_blob = git(repo, "rev-parse", "--short", f"HEAD:{POINTER}").stdout.strip()
    lines = summary(repo, "0.925")
    hunk = (
        "@@ -6,6 +6,6 @@ fact     dtypes = F32\n"
        + "".join(f" {line}\n" for line in lines[5:8])
        + "-metric   accuracy = 0.9\n"
        + "+metric   accuracy = 0.925\n"
        + "".join(f" {line}\n" for line in lines[9:])
    )  # fmt: skip
    assert git(repo, "diff", "HEAD~1", "--", "models/").stdout == (
        f"diff --git a/{POINTER} b/{POINTER}\n"
        f"index {old_blob}..{new_blob} 100644\n"
        f"--- a/{POINTER}\n"
        f"+++ b/{POINTER}\n" + hunk
    )
    log = git(repo, "log", "-p", "--format=commit %s").stdout
    assert "commit v2\n" in log
    assert hunk in log
    assert "\n+metric   accuracy = 0.9\n" in log  # v1's pointer, added in full
    assert "accuracy = 0.9\n" not in log.replace("metric   accuracy", "")  # no raw TOML
    show = git(repo, "show", "HEAD").stdout
    assert show.endswith(hunk)
    assert git(repo, "show", f"HEAD:{POINTER}").stdout == (repo / POINTER).read_text()  # blob
    assert git(repo, "show", "--textconv", f"HEAD:{POINTER}").stdout == "\n".join(lines) + "\n"
    # the work tree side too: an uncommitted edit
    gm_ok(repo, "add", "-q", MODEL, "-m", "loss=0.25")
    assert git(repo, "diff", "--cached").stdout.endswith(
        " metric   accuracy = 0.925\n-metric   loss = 0.3\n+metric   loss = 0.25\n"
        f" lineage  commit {value((repo / POINTER).read_text(), 'commit')} (clean)\n"
    )


def test_textconv_prints_a_summary(two_commits: Path) -> None:
    out = gm_ok(two_commits, "textconv", POINTER)
    assert out == "\n".join(summary(two_commits, "0.925")) + "\n"


def test_install_is_idempotent_and_uninstall_removes_the_driver(repo: Path) -> None:
    (repo / ".gitattributes").write_text("*.bin binary\n")
    first = gm_ok(repo, "install").splitlines()
    assert "config diff.gitmodel.textconv = git-model textconv" in first
    gm_ok(repo, "install")
    attributes = (repo / ".gitattributes").read_text().splitlines()
    assert attributes[0] == "*.bin binary"
    assert [line for line in attributes if line.startswith("*.gitmodel")] == [attributes[1]]
    assert len(attributes) == 2
    assert git(repo, "check-attr", "diff", "--", "a/b.gitmodel").stdout == (
        "a/b.gitmodel: diff: gitmodel\n"
    )
    get = ("config", "--local", "--get", "diff.gitmodel.textconv")
    assert git(repo, *get).stdout == "git-model textconv\n"
    git(repo, "add", ".gitattributes")
    out = gm_ok(repo, "uninstall")
    assert "config diff.gitmodel: removed" in out.splitlines()
    assert git(repo, *get, check=False).returncode == 1
    assert "*.gitmodel" in (repo / ".gitattributes").read_text()  # committed: kept
    gm_ok(repo, "uninstall")  # nothing left to remove: still fine


def test_uninstall_brings_back_the_raw_toml(two_commits: Path) -> None:
    gm_ok(two_commits, "install", "-q")
    assert "+metric   accuracy = 0.925\n" in git(two_commits, "show", "HEAD").stdout
    gm_ok(two_commits, "uninstall", "-q")
    assert "+accuracy = 0.925\n" in git(two_commits, "show", "HEAD").stdout


@pytest.mark.parametrize(
    ("content", "first_line"),
    [
        (
            b"version = 3\n",
            "broken.gitmodel: pointer version 3 is not supported "
            "(this git-model reads versions 1 and 2)",
        ),
        (b'version = 1\nname = "x"\n', "broken.gitmodel: missing required key 'path'"),
        (
            b"not toml [\n",
            "broken.gitmodel: not a valid pointer (Expected '=' after a key in "
            "a key/value pair (at line 1, column 5))",
        ),
    ],
)
def test_textconv_of_a_broken_pointer_prints_it_raw(
    repo: Path, content: bytes, first_line: str
) -> None:
    (repo / "broken.gitmodel").write_bytes(content)
    proc = gm(repo, "textconv", "broken.gitmodel")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == f"# not a valid git-model pointer: {first_line}\n" + content.decode()


def test_textconv_never_fails_on_binary_bytes(repo: Path) -> None:
    (repo / "junk.gitmodel").write_bytes(b"\xff\xfe\x00junk")
    proc = subprocess.run(
        ["git", "model", "textconv", "junk.gitmodel"], cwd=repo, capture_output=True
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith(b"# not a valid git-model pointer: junk.gitmodel: not a valid ")
    # U+FFFD for bad bytes; control characters escaped, as everywhere text reaches a terminal
    assert proc.stdout.endswith(b"\n\xef\xbf\xbd\xef\xbf\xbd\\x00junk")


def test_a_broken_pointer_in_history_shows_up_in_git_show(repo: Path) -> None:
    gm_ok(repo, "install", "-q")
    (repo / "future.gitmodel").write_text("version = 3\n")
    git(repo, "add", ".gitattributes", "future.gitmodel")
    git(repo, "commit", "-q", "--no-verify", "-m", "future pointer")  # past our own hook
    (repo / "future.gitmodel").write_text("version = 3\nsize = 1\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "changed")
    show = git(repo, "show", "HEAD").stdout
    assert show.endswith(
        "@@ -1,2 +1,3 @@\n"
        " # not a valid git-model pointer: future.gitmodel: pointer version 3 is not supported "
        "(this git-model reads versions 1 and 2)\n"
        " version = 3\n"
        "+size = 1\n"
    )  # the flag line is the same on both sides: no noise from Git's temp file names
