"""Remote settings live in git config: `model.remote.<name>.url`, `model.defaultRemote`,
or, committed for every clone, in `.gitmodel.toml` (remotes/shared.py); git config wins.

Credentials never go there: backends read them from their usual sources (environment,
~/.aws, profiles). Extra settings per remote: endpointUrl, region, profile, layout, and the
request sizes and concurrency of remotes/tuning.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitmodel.errors import UsageError
from gitmodel.git import GitRepo
from gitmodel.remotes.base import Remote
from gitmodel.remotes.tuning import TUNING_KEYS, tuning_of

if TYPE_CHECKING:
    from gitmodel.remotes.shared import SharedRemote

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
OPTION_KEYS = ("endpointurl", "region", "profile", "layout", *TUNING_KEYS)


@dataclass(frozen=True)
class RemoteConfig:
    name: str
    url: str
    options: dict[str, str] = field(default_factory=dict)  # lowercased keys


def read_remotes(repo: GitRepo) -> dict[str, RemoteConfig]:
    raw = repo.config_get_regexp(r"^model\.remote\.")
    urls: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    for key, value in raw.items():
        body = key[len("model.remote.") :]
        name, _, option = body.rpartition(".")
        if option == "url":
            urls[name] = value
        elif name:
            options.setdefault(name, {})[option.lower()] = value
    return {n: RemoteConfig(n, u, options.get(n, {})) for n, u in sorted(urls.items())}


def default_remote_name(repo: GitRepo) -> str | None:
    return repo.config_get("model.defaultRemote")


def open_remote(repo: GitRepo, config: RemoteConfig) -> Remote:
    remote = _open(repo, config)
    remote.tuning = tuning_of(config.name, config.options)
    return remote


def _open(repo: GitRepo, config: RemoteConfig) -> Remote:
    url = config.url
    if "layout" not in config.options:  # model.remoteLayout: the default for every remote
        layout = repo.config_get("model.remoteLayout")
        if layout:
            config = RemoteConfig(config.name, url, {**config.options, "layout": layout})
    if "://" not in url or url.startswith("file://"):
        from gitmodel.remotes.folder import FolderRemote

        path = Path(url.removeprefix("file://")).expanduser()
        if not path.is_absolute():
            path = repo.root / path
        folder = FolderRemote(config.name, str(path))
        folder.options = config.options
        return folder
    from gitmodel.remotes.fsspec_remote import FsspecRemote

    return FsspecRemote(config.name, url, config.options)


def all_remotes(repo: GitRepo) -> tuple[dict[str, RemoteConfig], dict[str, SharedRemote]]:
    """This clone's remotes, and the committed ones of other names."""
    from gitmodel.remotes.shared import read_shared_remotes

    local = read_remotes(repo)
    return local, {n: s for n, s in read_shared_remotes(repo).items() if n not in local}


def resolve_remote(repo: GitRepo, name: str | None) -> Remote:
    local, shared = all_remotes(repo)
    remotes = sorted({*local, *shared})
    committed_default = [n for n, s in shared.items() if s.default]
    chosen = name or default_remote_name(repo) or next(iter(committed_default), None)
    if chosen is None:
        if len(remotes) == 1:
            chosen = remotes[0]
        else:
            raise UsageError(
                "no model remote given and no default set"
                if remotes
                else "no model remote is configured",
                "add one: git model remote add origin s3://BUCKET/PATH --default"
                if not remotes
                else "name one, or set a default: git model remote default NAME",
            )
    if chosen in shared:
        from gitmodel.remotes.shared import check_approved, with_local_options

        check_approved(repo, shared[chosen])
        return open_remote(repo, with_local_options(repo, shared[chosen]))
    if chosen not in local:
        known = ", ".join(remotes) or "none"
        raise UsageError(
            f"no model remote named {chosen!r} (configured: {known})",
            "list them with `git model remote list`",
        )
    return open_remote(repo, local[chosen])


def check_remote_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise UsageError(
            f"invalid remote name {name!r}", "use letters, digits, '.', '_' or '-', e.g. origin"
        )
