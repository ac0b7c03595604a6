"""`git model remote add|list|remove|default`: where objects are shared."""

from __future__ import annotations

from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.git import GitRepo
from gitmodel.remotes.base import safe_url
from gitmodel.remotes.config import (
    RemoteConfig,
    check_remote_name,
    default_remote_name,
    read_remotes,
)


def remote_add(name: str, url: str, *, default: bool = False, repo: str | Path = ".") -> None:
    git = GitRepo.discover(Path(repo))
    check_remote_name(name)
    if name in read_remotes(git):
        raise UsageError(
            f"model remote {name!r} already exists",
            f"remove it first (git model remote remove {name}) or pick another name",
        )
    if _carries_credentials(url):
        raise UsageError(
            "the URL carries credentials; they would be stored in .git/config",
            "drop user:password@ and let the backend read credentials from the environment "
            "or ~/.aws",
        )
    git.git("config", "--local", f"model.remote.{name}.url", url)
    if default or len(read_remotes(git)) == 1:
        git.git("config", "--local", "model.defaultRemote", name)


def remote_list(*, repo: str | Path = ".") -> tuple[list[RemoteConfig], str | None]:
    git = GitRepo.discover(Path(repo))
    return list(read_remotes(git).values()), default_remote_name(git)


def remote_remove(name: str, *, repo: str | Path = ".") -> None:
    git = GitRepo.discover(Path(repo))
    if name not in read_remotes(git):
        raise UsageError(f"no model remote named {name!r}", "see `git model remote list`")
    git.git("config", "--local", "--remove-section", f"model.remote.{name}")
    if default_remote_name(git) == name:
        git.git("config", "--local", "--unset", "model.defaultRemote")


def remote_default(name: str, *, repo: str | Path = ".") -> None:
    git = GitRepo.discover(Path(repo))
    if name not in read_remotes(git):
        raise UsageError(f"no model remote named {name!r}", "see `git model remote list`")
    git.git("config", "--local", "model.defaultRemote", name)


def describe(config: RemoteConfig) -> dict[str, object]:
    return {"name": config.name, "url": safe_url(config.url), "options": config.options}


def _carries_credentials(url: str) -> bool:
    """user:password@ anywhere, or user@ outside ssh:// (where it names the login, no secret)."""
    if "://" not in url:
        return False
    scheme, rest = url.split("://", 1)
    userinfo, at, _ = rest.split("/", 1)[0].rpartition("@")
    if not at:
        return False
    return ":" in userinfo or scheme.lower() not in ("ssh", "sftp")
