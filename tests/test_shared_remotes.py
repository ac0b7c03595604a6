"""Remotes committed in .gitmodel.toml: a clone uses them once approved; local config wins."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import git, gm, gm_ok

WEIGHTS = b"model bytes\n"


def not_approved(name: str, url: str, state: str = "not approved in this clone") -> str:
    return (
        f"error: model remote {name!r} comes from .gitmodel.toml (committed: whoever can push "
        f"sets it), {state}: url {url}, region eu-1 (check it, then approve it: git model "
        f"remote approve {name}; to trust committed remotes (CI): GIT_MODEL_TRUST_REMOTES=1 "
        "or git config model.trustCommittedRemotes true)\n"
    )


def upstream(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose committed .gitmodel.toml names a folder remote holding its model."""
    store = tmp_path / "store"
    store.mkdir()
    up = tmp_path / "up"
    up.mkdir()
    git(up, "init", "-q")
    (up / ".gitmodel.toml").write_text('[directions]\nlatency = "lower"\n')
    (up / "model.bin").write_bytes(WEIGHTS)
    gm_ok(up, "add", "-q", "model.bin")
    out = gm_ok(up, "remote", "add", "--shared", "origin", str(store), "--region", "eu-1")
    assert out == "added model remote origin to .gitmodel.toml (staged; commit it to share it)\n"
    assert (up / ".gitmodel.toml").read_text() == (
        f'[directions]\nlatency = "lower"\n\n[remotes.origin]\nurl = "{store}"\nregion = "eu-1"\n'
    )
    assert "A  .gitmodel.toml" in git(up, "status", "--porcelain").stdout
    git(up, "commit", "-q", "-m", "model and its shared remote")
    gm_ok(up, "push", "-q")  # the writer approved it by writing it
    return up, store


def clone(tmp_path: Path, up: Path, name: str = "down") -> Path:
    down = tmp_path / name
    git(tmp_path, "clone", "-q", str(up), str(down))
    return down


def test_without_a_terminal_a_clone_refuses_until_approved(tmp_path: Path) -> None:
    up, store = upstream(tmp_path)
    down = clone(tmp_path, up)
    proc = gm(down, "pull")
    assert proc.returncode == 1
    assert proc.stderr == not_approved("origin", str(store))
    assert not (down / "model.bin").exists()
    listed = gm_ok(down, "remote", "list")
    assert listed.splitlines()[1].split() == [
        "origin",
        str(store),
        "region=eu-1",
        ".gitmodel.toml",
        "(not",
        "approved)",
    ]
    assert gm_ok(down, "remote", "approve", "origin") == (
        f"approved model remote origin: url {store}, region eu-1\n"
    )
    gm_ok(down, "pull", "-q")
    assert (down / "model.bin").read_bytes() == WEIGHTS


def test_the_environment_or_a_config_key_trusts_committed_remotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    up, _ = upstream(tmp_path)
    down = clone(tmp_path, up)
    git(down, "config", "model.trustCommittedRemotes", "true")
    gm_ok(down, "pull", "-q")
    assert (down / "model.bin").read_bytes() == WEIGHTS
    other = clone(tmp_path, up, "other")
    monkeypatch.setenv("GIT_MODEL_TRUST_REMOTES", "1")
    gm_ok(other, "pull", "-q")
    assert (other / "model.bin").read_bytes() == WEIGHTS
    assert git(other, "config", "--get-regexp", "model.sharedremote", check=False).stdout == ""


def test_local_config_takes_precedence(tmp_path: Path) -> None:
    up, store = upstream(tmp_path)
    down = clone(tmp_path, up)
    assert str(store) in gm_ok(down, "remote", "list")
    mine = tmp_path / "mine"
    mine.mkdir()
    gm_ok(down, "remote", "add", "origin", str(mine))
    proc = gm(down, "pull")  # no approval asked: this clone's own origin is used
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: fetch incomplete: xxh128:")
    assert f": not on remote origin ({mine}) (push it from a clone" in proc.stderr
    gm_ok(down, "remote", "remove", "origin")
    git(down, "config", "model.remote.origin.region", "local-region")
    gm_ok(down, "remote", "approve", "origin")
    listed = gm_ok(down, "remote", "list")
    assert "region=local-region" in listed
    gm_ok(down, "pull", "-q")
    assert (down / "model.bin").read_bytes() == WEIGHTS


def test_a_changed_committed_remote_is_asked_for_again(tmp_path: Path) -> None:
    up, store = upstream(tmp_path)
    down = clone(tmp_path, up)
    gm_ok(down, "remote", "approve", "origin")
    gm_ok(down, "pull", "-q")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    text = (up / ".gitmodel.toml").read_text()
    (up / ".gitmodel.toml").write_text(text.replace(str(store), str(elsewhere)))
    git(up, "commit", "-q", "-am", "move the remote")
    git(down, "pull", "-q")
    proc = gm(down, "push")
    assert proc.returncode == 1
    assert proc.stderr == not_approved(
        "origin", str(elsewhere), "changed since this clone approved it"
    )
    assert list(elsewhere.iterdir()) == []
    gm_ok(down, "remote", "approve", "origin")
    (up / ".gitmodel.toml").write_text(
        (up / ".gitmodel.toml").read_text() + 'endpoint = "https://s3.attacker.example"\n'
    )
    git(up, "commit", "-q", "-am", "an endpoint of its own")
    git(down, "pull", "-q")
    proc = gm(down, "push")
    assert proc.returncode == 1
    assert "changed since this clone approved it: url " in proc.stderr
    assert "endpoint https://s3.attacker.example, region eu-1 (check it" in proc.stderr


def run_on_terminal(cwd: Path, answer: bytes, *args: str) -> tuple[int, str]:
    """`git model ARGS` with stdin and stderr on a pseudo-terminal that types `answer`."""
    leader, follower = os.openpty()
    proc = subprocess.Popen(
        ["git", "model", *args], cwd=cwd, stdin=follower, stdout=subprocess.PIPE,
        stderr=follower,
    )  # fmt: skip
    os.close(follower)
    os.write(leader, answer)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.stdout is not None
    proc.stdout.read()
    return proc.wait(), out.decode().replace("\r\n", "\n")


def test_on_a_terminal_the_user_is_asked_and_the_answer_kept(tmp_path: Path) -> None:
    up, store = upstream(tmp_path)
    down = clone(tmp_path, up)
    code, shown = run_on_terminal(down, b"n\n", "pull", "-q")
    assert code == 1
    assert (
        "model remote 'origin' comes from .gitmodel.toml (committed: whoever can push sets it), "
        f"not approved in this clone:\n  url {store}, region eu-1\n"
        "Send model objects and requests there? [y/N] "
    ) in shown
    assert "error: model remote 'origin' was not approved" in shown
    assert not (down / "model.bin").exists()
    code, shown = run_on_terminal(down, b"y\n", "pull", "-q")
    assert code == 0, shown
    assert (down / "model.bin").read_bytes() == WEIGHTS
    assert gm(down, "pull", "-q").returncode == 0  # approved: no terminal needed any more


def test_a_committed_remote_may_not_set_other_keys(tmp_path: Path, repo: Path) -> None:
    (repo / ".gitmodel.toml").write_text(
        '[remotes.origin]\nurl = "s3://bucket/models"\nprofile = "admin"\n'
    )
    proc = gm(repo, "pull")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: .gitmodel.toml: remotes.origin.profile is not allowed in a committed remote "
        "(only url, endpoint, region and default are) (set it in this clone only: git config "
        "model.remote.origin.profile VALUE)\n"
    )
    (repo / ".gitmodel.toml").write_text('[remotes.origin]\nurl = "s3://me:pw@bucket/m"\n')
    assert gm(repo, "remote", "list").stderr.startswith(
        "error: .gitmodel.toml: remotes.origin.url carries credentials, in a committed file"
    )


def test_the_pre_push_hook_uploads_to_a_committed_remote_only_once_approved(
    tmp_path: Path,
) -> None:
    up, store = upstream(tmp_path)
    git(tmp_path, "clone", "-q", "--bare", str(up), str(tmp_path / "up.git"))
    down = clone(tmp_path, tmp_path / "up.git")
    gm_ok(down, "install", "-q")
    (down / "new.bin").write_bytes(b"new weights\n")
    gm_ok(down, "add", "-q", "new.bin")
    git(down, "commit", "-q", "-m", "new model")
    pushed = git(down, "push", "-q", "origin", "HEAD", check=False)
    assert pushed.returncode != 0
    hook_line = not_approved("origin", str(store)).replace("error: ", "git-model pre-push: ")
    assert pushed.stderr.startswith(hook_line)
    gm_ok(down, "remote", "approve", "origin")
    pushed = git(down, "push", "-q", "origin", "HEAD", check=False)
    assert pushed.returncode == 0, pushed.stderr
    assert "git-model pre-push: uploaded 1 object(s) to origin" in pushed.stderr


def test_remote_add_shared_refuses_a_file_it_cannot_extend(repo: Path) -> None:
    (repo / ".gitmodel.toml").write_text("remotes = { }\n")
    proc = gm(repo, "remote", "add", "--shared", "origin", "s3://bucket/models")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: cannot add a [remotes.origin] table to .gitmodel.toml: ")
    assert (repo / ".gitmodel.toml").read_text() == "remotes = { }\n"


def test_the_prompt_shows_a_hostile_url_escaped(repo: Path) -> None:
    (repo / ".gitmodel.toml").write_text(
        '[remotes.origin]\nurl = "s3://evil/x\\u001b[2K\\rs3://acme/models"\n'
    )
    code, shown = run_on_terminal(repo, b"n\n", "pull", "-q")
    assert code == 1
    assert "  url s3://evil/x\\x1b[2K\\rs3://acme/models\n" in shown
    assert "\x1b" not in shown
