"""Remote settings live in git config: `model.remote.<name>.url`, `model.defaultRemote`.

Credentials never go there: backends read them from their usual sources (environment,
~/.aws, profiles). Extra settings per remote: endpointUrl, region, profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.git import GitRepo
from gitmodel.remotes.base import Remote

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
    url = config.url
    if "://" not in url or url.startswith("file://"):
        from gitmodel.remotes.folder import FolderRemote

        path = Path(url.removeprefix("file://")).expanduser()
        if not path.is_absolute():
            path = repo.root / path
        return FolderRemote(config.name, str(path))
    from gitmodel.remotes.fsspec_remote import FsspecRemote

    return FsspecRemote(config.name, url, config.options)


def resolve_remote(repo: GitRepo, name: str | None) -> Remote:
    remotes = read_remotes(repo)
    chosen = name or default_remote_name(repo)
    if chosen is None:
        if len(remotes) == 1:
            chosen = next(iter(remotes))
        else:
            raise UsageError(
                "no model remote given and no default set"
                if remotes
                else "no model remote is configured",
                "add one: git model remote add origin s3://BUCKET/PATH --default"
                if not remotes
                else "name one, or set a default: git model remote default NAME",
            )
    if chosen not in remotes:
        known = ", ".join(remotes) or "none"
        raise UsageError(
            f"no model remote named {chosen!r} (configured: {known})",
            "list them with `git model remote list`",
        )
    return open_remote(repo, remotes[chosen])


def check_remote_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise UsageError(
            f"invalid remote name {name!r}", "use letters, digits, '.', '_' or '-', e.g. origin"
        )
