"""Committed remote definitions: `[remotes.NAME]` tables in the repository's `.gitmodel.toml`.

A clone has no `.git/config` of its own yet, so a team commits where its models live: the
URL, the S3 endpoint and the region, never credentials. Like Git LFS with `.lfsconfig`, only
those few keys may be set there, and the clone's own Git config wins. Unlike `.lfsconfig`, a
committed remote is used only once this clone approved it: anyone who can push can change
the file, and a changed endpoint would send uploads (private weights) and signed requests to
another server. The approval is a hash of the definition, kept in `.git/config`; a changed
definition needs approving again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tomllib
from dataclasses import dataclass

from gitmodel.errors import UsageError
from gitmodel.fsutil import atomic_write_bytes
from gitmodel.git import GitRepo
from gitmodel.printable import printable
from gitmodel.remotes.config import NAME_RE, OPTION_KEYS, RemoteConfig
from gitmodel.tomlfmt import format_string

SHARED_FILE = ".gitmodel.toml"
SHARED_KEYS = {"url": "url", "endpoint": "endpointurl", "region": "region"}
TRUST_ENV = "GIT_MODEL_TRUST_REMOTES"
TRUST_CONFIG = "model.trustCommittedRemotes"
_TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SharedRemote:
    config: RemoteConfig
    default: bool
    digest: str  # sha256 of the definition: what an approval names

    def describe(self) -> str:
        shown = [f"url {self.config.url}"]
        shown += [
            f"{key} {self.config.options[option]}"
            for key, option in _OPTIONS
            if option in self.config.options
        ]
        return ", ".join(shown)


_OPTIONS = [(k, o) for k, o in SHARED_KEYS.items() if k != "url"]


def read_shared_remotes(repo: GitRepo) -> dict[str, SharedRemote]:
    """The remotes `.gitmodel.toml` in the work tree defines (none if it has no such table)."""
    try:
        data = (repo.root / SHARED_FILE).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{SHARED_FILE} is not valid TOML: {exc}", "fix the file") from None
    table = document.get("remotes", {})
    if not isinstance(table, dict):
        raise UsageError(f"{SHARED_FILE}: `remotes` must be a table", _FORMAT_HINT)
    return {name: _shared_remote(name, entry) for name, entry in sorted(table.items())}


_FORMAT_HINT = 'e.g. [remotes.origin] url = "s3://bucket/models" (see docs/remotes.md)'


def _shared_remote(name: str, entry: object) -> SharedRemote:
    where = f"{SHARED_FILE}: remotes.{name}"
    if not NAME_RE.fullmatch(name) or not isinstance(entry, dict):
        raise UsageError(f"{where} is not a remote: a table with a valid name", _FORMAT_HINT)
    for key, value in entry.items():
        if key not in (*SHARED_KEYS, "default"):
            raise UsageError(
                f"{where}.{key} is not allowed in a committed remote (only url, endpoint, "
                "region and default are)",
                f"set it in this clone only: git config model.remote.{name}.{key} VALUE",
            )
        if not isinstance(value, bool if key == "default" else str):
            kind = "true or false" if key == "default" else "a string"
            raise UsageError(f"{where}.{key} must be {kind}", _FORMAT_HINT)
    url = entry.get("url")
    if not url:
        raise UsageError(f"{where} has no url", _FORMAT_HINT)
    if carries_credentials(url):
        raise UsageError(
            f"{where}.url carries credentials, in a committed file",
            "remove user:password@ from it (and rotate that password: it is in Git history)",
        )
    options = {SHARED_KEYS[k]: v for k, v in entry.items() if k in SHARED_KEYS and k != "url"}
    definition = {"name": name, "url": url, **options}
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return SharedRemote(RemoteConfig(name, url, options), entry.get("default") is True, digest)


def carries_credentials(url: str) -> bool:
    """user:password@ anywhere, or user@ outside ssh:// (where it names the login, no secret)."""
    if "://" not in url:
        return False
    scheme, rest = url.split("://", 1)
    userinfo, at, _ = rest.split("/", 1)[0].rpartition("@")
    if not at:
        return False
    return ":" in userinfo or scheme.lower() not in ("ssh", "sftp")


def with_local_options(repo: GitRepo, shared: SharedRemote) -> RemoteConfig:
    """The committed remote with this clone's `model.remote.NAME.*` options over it."""
    prefix = f"model.remote.{shared.config.name}.".lower()
    local = {
        key[len(prefix) :]: value
        for key, value in repo.config_get_regexp(r"^model\.remote\.").items()
        if key.lower().startswith(prefix) and key[len(prefix) :].lower() in OPTION_KEYS
    }
    return RemoteConfig(shared.config.name, shared.config.url, {**shared.config.options, **local})


def approval_key(name: str) -> str:
    return f"model.sharedRemote.{name}.approved"


def approve(repo: GitRepo, shared: SharedRemote) -> None:
    repo.git("config", "--local", approval_key(shared.config.name), shared.digest)


def check_approved(repo: GitRepo, shared: SharedRemote) -> None:
    """Use a committed remote only as this clone approved it, or when told to trust them all.

    On a terminal the user is asked (and the answer kept); without one it is refused.
    """
    name = shared.config.name
    approved = repo.config_get(approval_key(name))
    if approved == shared.digest or trusts_all(repo):
        return
    state = "changed since this clone approved it" if approved else "not approved in this clone"
    where = f"model remote {name!r} comes from {SHARED_FILE} (committed: whoever can push sets it)"
    if sys.stdin.isatty() and sys.stderr.isatty():
        # printable: a committed URL must not hide itself behind terminal escapes
        print(f"{where}, {state}:\n  {printable(shared.describe())}", file=sys.stderr)
        print("Send model objects and requests there? [y/N] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer in ("y", "yes"):
            approve(repo, shared)
            return
        raise UsageError(
            f"model remote {name!r} was not approved",
            f"check {SHARED_FILE} (git log -p {SHARED_FILE}), or use a remote of your own: "
            f"git model remote add {name} URL",
        )
    raise UsageError(
        f"{where}, {state}: {shared.describe()}",
        f"check it, then approve it: git model remote approve {name}; to trust committed "
        f"remotes (CI): {TRUST_ENV}=1 or git config {TRUST_CONFIG} true",
    )


def trusts_all(repo: GitRepo) -> bool:
    if os.environ.get(TRUST_ENV, "").lower() in _TRUE:
        return True
    return (repo.config_get(TRUST_CONFIG) or "").lower() in _TRUE


def append_shared_remote(
    repo: GitRepo, name: str, url: str, options: dict[str, str], default: bool
) -> None:
    """Add a `[remotes.NAME]` table at the end of `.gitmodel.toml`, keeping the rest as it is."""
    path = repo.root / SHARED_FILE
    try:
        before = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        before = ""
    key = name if "." not in name else format_string(name)
    lines = [f"[remotes.{key}]", f"url = {format_string(url)}"]
    lines += [
        f"{key} = {format_string(options[option])}" for key, option in _OPTIONS if option in options
    ]
    if default:
        lines.append("default = true")
    separator = "" if not before else "\n" if before.endswith("\n") else "\n\n"  # a blank line
    after = before + separator + "\n".join(lines) + "\n"
    try:
        tomllib.loads(after)
    except tomllib.TOMLDecodeError as exc:  # e.g. `remotes` written as an inline table
        raise UsageError(
            f"cannot add a [remotes.{key}] table to {SHARED_FILE}: {exc}",
            f"add it by hand: {_FORMAT_HINT}",
        ) from None
    atomic_write_bytes(path, after.encode())
