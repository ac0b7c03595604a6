"""`git model remote add|list|remove|default|approve`: where objects are shared."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.git import GitRepo
from gitmodel.remotes.base import safe_url
from gitmodel.remotes.config import (
    RemoteConfig,
    all_remotes,
    check_remote_name,
    default_remote_name,
    read_remotes,
)
from gitmodel.remotes.shared import (
    SHARED_FILE,
    SharedRemote,
    append_shared_remote,
    approval_key,
    approve,
    carries_credentials,
    read_shared_remotes,
    trusts_all,
)


@dataclass(frozen=True)
class ListedRemote:
    config: RemoteConfig
    shared: SharedRemote | None = None  # from .gitmodel.toml
    approved: bool = True  # a committed remote this clone approved (or was told to trust)


def remote_add(
    name: str,
    url: str,
    *,
    default: bool = False,
    shared: bool = False,
    endpoint: str | None = None,
    region: str | None = None,
    repo: str | Path = ".",
) -> None:
    """Record a remote in .git/config, or with `shared` in the committed `.gitmodel.toml`."""
    git = GitRepo.discover(Path(repo))
    check_remote_name(name)
    local, committed = all_remotes(git)
    if name in local or (shared and name in read_shared_remotes(git)):
        where = f" (in {SHARED_FILE})" if name not in local else ""
        raise UsageError(
            f"model remote {name!r} already exists{where}",
            f"remove it first (git model remote remove {name}) or pick another name",
        )
    if carries_credentials(url):
        where = SHARED_FILE if shared else ".git/config"
        raise UsageError(
            f"the URL carries credentials; they would be stored in {where}",
            "drop user:password@ and let the backend read credentials from the environment "
            "or ~/.aws",
        )
    options = {k: v for k, v in (("endpointurl", endpoint), ("region", region)) if v}
    if shared:
        append_shared_remote(git, name, url, options, default)
        git.stage([SHARED_FILE])
        approve(git, read_shared_remotes(git)[name])  # whoever wrote it trusts it
        return
    git.git("config", "--local", f"model.remote.{name}.url", url)
    for key, value in options.items():
        git.git("config", "--local", f"model.remote.{name}.{key}", value)
    if default or len(read_remotes(git)) + len(committed) == 1:
        git.git("config", "--local", "model.defaultRemote", name)


def remote_list(*, repo: str | Path = ".") -> tuple[list[ListedRemote], str | None]:
    """Every remote (this clone's, then committed ones of other names) and the default."""
    from gitmodel.remotes.shared import with_local_options

    git = GitRepo.discover(Path(repo))
    local, shared = all_remotes(git)
    listed = [ListedRemote(config) for config in local.values()]
    listed += [
        ListedRemote(
            with_local_options(git, s),
            s,
            git.config_get(approval_key(n)) == s.digest or trusts_all(git),
        )
        for n, s in shared.items()
    ]
    listed.sort(key=lambda r: r.config.name)
    committed_default = next((n for n, s in shared.items() if s.default), None)
    return listed, default_remote_name(git) or committed_default


def remote_approve(name: str, *, repo: str | Path = ".") -> SharedRemote:
    """Approve the committed remote `name` as `.gitmodel.toml` defines it now."""
    git = GitRepo.discover(Path(repo))
    local, shared = all_remotes(git)
    if name not in shared:
        raise UsageError(
            f"no committed model remote named {name!r} in {SHARED_FILE}"
            + (" (this clone's own remote of that name is used instead)" if name in local else ""),
            "see `git model remote list`",
        )
    approve(git, shared[name])
    return shared[name]


def remote_remove(name: str, *, repo: str | Path = ".") -> None:
    git = GitRepo.discover(Path(repo))
    if name not in read_remotes(git):
        if name in read_shared_remotes(git):
            raise UsageError(
                f"model remote {name!r} is defined in {SHARED_FILE}, committed for every clone",
                f"delete its [remotes.{name}] table from {SHARED_FILE} and commit that",
            )
        raise UsageError(f"no model remote named {name!r}", "see `git model remote list`")
    git.git("config", "--local", "--remove-section", f"model.remote.{name}")
    if default_remote_name(git) == name:
        git.git("config", "--local", "--unset", "model.defaultRemote")


def remote_default(name: str, *, repo: str | Path = ".") -> None:
    git = GitRepo.discover(Path(repo))
    if not any(name in remotes for remotes in all_remotes(git)):
        raise UsageError(f"no model remote named {name!r}", "see `git model remote list`")
    git.git("config", "--local", "model.defaultRemote", name)


def describe(config: RemoteConfig) -> dict[str, object]:
    return {"name": config.name, "url": safe_url(config.url), "options": config.options}
