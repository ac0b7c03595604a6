"""Sharing models through remotes: remote add/list/remove/default, push, fetch, pull, fsck, gc
and `status --remote`, against a folder remote, a real S3 endpoint (moto's server) and a real
SSH/SFTP server (asyncssh, tests/sshserver.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import xxhash

from gitmodel.remotes.tuning import DEFAULT_PART_SIZE as PART_SIZE
from tests.gateproxy import gate_proxy
from tests.helpers import git, gm, gm_ok, isolate_environment, write_safetensors
from tests.s3server import free_port
from tests.sshserver import SshServer

# --- models ----------------------------------------------------------------------------------


def train(path: Path, fill: int) -> bytes:
    """The `sentiment` model: a tiny safetensors file whose bytes depend on `fill`."""
    return write_safetensors(path, {"w": ("F32", [4, 4], fill)})


def write_classifier(folder: Path) -> None:
    """The `clf` folder model: a config, weights of another shape, a nested vocabulary."""
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "config.json").write_text('{"labels": ["neg", "pos"]}\n')
    write_safetensors(folder / "model.safetensors", {"emb": ("F16", [2, 2], 7)})
    (folder / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")


def oid_of(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh128(data).hexdigest()


def size_text(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB"


def cache_dir(repo: Path) -> Path:
    return repo / ".git" / "model" / "cache"


def cached(repo: Path) -> dict[str, Path]:
    """oid -> path of every object in a repository's cache."""
    objects = cache_dir(repo) / "objects"
    if not objects.is_dir():
        return {}
    return {
        f"xxh128:{p.parent.name}{p.name}": p
        for p in sorted(objects.glob("??/*"))
        if len(p.name) == 30
    }


def needs(repo: Path, rev: str, pointer: str) -> set[str]:
    """The oids a pointer at REV names (read from Git and the cache, not through git-model)."""
    doc = tomllib.loads(git(repo, "show", f"{rev}:{pointer}").stdout)
    oids = {doc["oid"]}
    if "manifest" in doc.get("format", {}):
        oids.add(doc["format"]["manifest"])
    if doc["kind"] == "dir":
        manifest = json.loads(cached(repo)[doc["oid"]].read_bytes())
        for entry in manifest["files"]:
            oids.add(entry["oid"])
            if "tensors" in entry:
                oids.add(entry["tensors"])
    return oids


def total_size(repo: Path, oids: set[str]) -> int:
    objects = cached(repo)
    return sum(objects[o].stat().st_size for o in oids)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


def api_add(repo: Path, path: str, name: str | None = None) -> None:
    """`git model add -q PATH` through the Python API: set-up steps skip a process start."""
    from gitmodel.commands.add import add

    add([path], repo=repo, name=name)


def api_push(repo: Path, *, revs: tuple[str, ...] = (), all_versions: bool = False) -> None:
    from gitmodel.commands.sync import push

    push(repo=repo, revs=revs, all_versions=all_versions)


def api_pull(repo: Path) -> None:
    from gitmodel.commands.sync import pull

    pull(repo=repo)


def commit_model(repo: Path, fill: int, message: str, *extra: str) -> set[str]:
    """Train, add and commit the sentiment model; the oids its pointer then names."""
    train(repo / "model.safetensors", fill)
    api_add(repo, "model.safetensors")
    git(repo, "commit", "-q", "-m", message, *extra)
    return needs(repo, "HEAD", "model.safetensors.gitmodel")


# --- the shared starting point -------------------------------------------------------------------


@dataclass
class World:
    work: Path  # the clone that trained the models (its cache holds every object)
    origin: Path  # a bare Git repository that `work` pushed main and the tags to
    tmp: Path

    def clone(self, name: str) -> Path:
        target = self.tmp / name
        git(self.tmp, "clone", "-q", str(self.origin), str(target))
        return target


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """work/: sentiment@v0.1.0 (HEAD~1) and sentiment@v0.2.0 (HEAD), the folder model clf/
    unchanged since v1; origin.git/: main and the tags."""
    root = tmp_path_factory.mktemp("template")
    work = root / "work"
    with pytest.MonkeyPatch.context() as mp:
        isolate_environment(mp, tmp_path_factory.mktemp("template-home"))
        work.mkdir()
        git(work, "init", "-q")
        (work / "README.md").write_text("sentiment model\n")
        git(work, "add", "README.md")
        git(work, "commit", "-q", "-m", "initial")
        train(work / "model.safetensors", 1)
        write_classifier(work / "clf")
        gm_ok(work, "add", "-q", "model.safetensors", "--name", "sentiment")
        gm_ok(work, "add", "-q", "clf")
        git(work, "commit", "-q", "-m", "v1")
        gm_ok(work, "tag", "-q", "sentiment", "v0.1.0")
        train(work / "model.safetensors", 2)
        gm_ok(work, "add", "-q", "model.safetensors")
        git(work, "commit", "-q", "-m", "v2")
        gm_ok(work, "tag", "-q", "sentiment", "v0.2.0")
        git(root, "init", "-q", "--bare", "origin.git")
        git(work, "remote", "add", "origin", str(root / "origin.git"))
        git(work, "push", "-q", "origin", "main", "--tags")
    yield root


@pytest.fixture
def world(template: Path, tmp_path: Path) -> World:
    shutil.copytree(template, tmp_path, symlinks=True, dirs_exist_ok=True)
    git(tmp_path / "work", "remote", "set-url", "origin", str(tmp_path / "origin.git"))
    return World(tmp_path / "work", tmp_path / "origin.git", tmp_path)


@dataclass
class Versions:
    v1: set[str]  # sentiment@v0.1.0: the file and its tensor manifest
    v2: set[str]  # sentiment@v0.2.0
    clf: set[str]  # the folder: manifest, three files, one tensor manifest


@pytest.fixture
def versions(world: World) -> Versions:
    w = world.work
    return Versions(
        needs(w, "HEAD~1", "model.safetensors.gitmodel"),
        needs(w, "HEAD", "model.safetensors.gitmodel"),
        needs(w, "HEAD", "clf.gitmodel"),
    )


# --- the remotes under test: a folder and an S3 bucket ---------------------------------------


@dataclass
class ModelRemote:
    kind: str
    url: str
    endpoint: str | None
    folder: Path | None
    s3: Any
    bucket: str
    prefix: str = "models"

    def label(self, name: str = "origin") -> str:
        return f"{name} ({self.url})"

    def add(self, repo: Path, name: str = "origin") -> None:
        """What `git model remote add NAME URL` writes (that command has its own test)."""
        git(repo, "config", f"model.remote.{name}.url", self.url)
        git(repo, "config", "model.defaultRemote", name)
        if self.endpoint:
            git(repo, "config", f"model.remote.{name}.endpointUrl", self.endpoint)

    def files(self) -> list[str]:
        """Every file the remote holds, relative to its URL."""
        if self.folder is not None:
            return sorted(
                p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file()
            )
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + "/"
        )
        return sorted(
            item["Key"][len(self.prefix) + 1 :]
            for page in pages
            for item in page.get("Contents", [])
        )

    def objects(self) -> set[str]:
        return {
            "xxh128:" + k.split("/")[1] + k.split("/")[2]
            for k in self.files()
            if k.startswith("objects/")
        }

    def read(self, key: str) -> bytes:
        if self.folder is not None:
            return (self.folder / key).read_bytes()
        return bytes(
            self.s3.get_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")["Body"].read()
        )

    def write(self, key: str, data: bytes) -> None:
        if self.folder is not None:
            path = self.folder / key
            path.chmod(0o644)
            path.write_bytes(data)
        else:
            self.s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}", Body=data)

    def delete(self, key: str) -> None:
        if self.folder is not None:
            (self.folder / key).unlink()
        else:
            self.s3.delete_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}")


def key(oid: str) -> str:
    digits = oid.removeprefix("xxh128:")
    return f"objects/{digits[:2]}/{digits[2:]}"


@pytest.fixture(scope="session")
def s3_client(s3_endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )


@pytest.fixture(params=["folder", "s3", "ssh"])
def remote(request: pytest.FixtureRequest, tmp_path: Path, isolated_env: Path) -> ModelRemote:
    """An empty model remote: a folder, a fresh bucket on the local S3 server, or a folder
    served by the local SSH server."""
    if request.param in ("folder", "ssh"):
        folder = tmp_path / "share" / "models"
        folder.mkdir(parents=True)
        if request.param == "folder":
            return ModelRemote("folder", str(folder), None, folder, None, "")
        server = request.getfixturevalue("ssh_server")
        server.trust_in(isolated_env)
        return ModelRemote("ssh", server.url(folder), None, folder, None, "")
    endpoint = request.getfixturevalue("s3_endpoint")
    client = request.getfixturevalue("s3_client")
    bucket = f"gm-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return ModelRemote("s3", f"s3://{bucket}/models", endpoint, None, client, bucket)


@pytest.fixture
def pushed(world: World, remote: ModelRemote, versions: Versions) -> ModelRemote:
    """`work` has the remote as origin and has pushed both versions and the folder."""
    remote.add(world.work)
    api_push(world.work, all_versions=True)
    assert remote.objects() == versions.v1 | versions.v2 | versions.clf
    return remote


def pushed_line(n: int, size: int, label: str, present: int) -> str:
    return f"pushed {n} object(s) ({size_text(size)}) to {label}; {present} already there\n"


def fetched_line(n: int, size: int, label: str, present: int) -> str:
    return f"fetched {n} object(s) ({size_text(size)}) from {label}; {present} already there\n"


# --- remote add / list / remove / default ------------------------------------------------------


def test_remote_add_list_default_remove(world: World) -> None:
    """An S3 remote and a folder remote in one clone (these commands never contact them)."""
    w = world.work
    assert gm_ok(w, "remote", "list") == (
        "no model remotes (add one: git model remote add origin s3://BUCKET/PATH --default)\n"
    )
    url, endpoint = "s3://acme-models/sentiment", "http://127.0.0.1:9000"
    assert gm_ok(w, "remote", "add", "origin", url) == "added model remote origin\n"
    git(w, "config", "model.remote.origin.endpointUrl", endpoint)
    git(w, "config", "model.remote.origin.region", "eu-west-1")
    options = f"endpointurl={endpoint} region=eu-west-1"
    backup = str(world.tmp / "backup")
    assert gm_ok(w, "remote", "add", "backup", backup) == "added model remote backup\n"

    def table(default: str) -> str:
        width = max(len(url), len(backup))
        return (
            f"  NAME    {'URL'.ljust(width)}  OPTIONS\n"
            + f"{'*' if default == 'backup' else ' '} backup  {backup.ljust(width)}".rstrip()
            + "\n"
            + f"{'*' if default == 'origin' else ' '} origin  {url.ljust(width)}  "
            f"{options}".rstrip()
            + "\n"
        )

    assert gm_ok(w, "remote", "list") == table("origin")  # the first remote became the default
    assert json.loads(gm_ok(w, "remote", "list", "--json")) == [
        {"name": "backup", "url": backup, "options": {}, "default": False},
        {
            "name": "origin",
            "url": url,
            "options": {"endpointurl": endpoint, "region": "eu-west-1"},
            "default": True,
        },
    ]
    assert gm_ok(w, "remote", "default", "backup") == "default model remote: backup\n"
    assert gm_ok(w, "remote", "list") == table("backup")
    assert git(w, "config", "model.defaultRemote").stdout == "backup\n"

    assert gm_ok(w, "remote", "remove", "backup") == "removed model remote backup\n"
    assert git(w, "config", "model.defaultRemote", check=False).returncode == 1
    assert gm_ok(w, "remote", "list") == (
        f"  NAME    URL{' ' * (len(url) - 3)}  OPTIONS\n  origin  {url}  {options}\n"
    )
    assert (
        (w / ".git" / "config")
        .read_text()
        .endswith(
            f'[model "remote.origin"]\n\turl = {url}\n\tendpointUrl = {endpoint}\n'
            "\tregion = eu-west-1\n"
        )
    )


def test_remote_errors_and_the_only_remote_as_default(
    world: World, versions: Versions, tmp_path: Path
) -> None:
    w = world.work
    folder, backup = tmp_path / "share", str(tmp_path / "backup")
    folder.mkdir()
    gm_ok(w, "remote", "add", "origin", str(folder))
    assert gm_ok(w, "remote", "add", "backup", backup, "--default") == "added model remote backup\n"
    gm_ok(w, "remote", "remove", "backup")  # the default: now there is none
    assert git(w, "config", "model.defaultRemote", check=False).stdout == ""
    head = versions.v2 | versions.clf  # with one remote, commands use it without being told
    assert gm_ok(w, "push") == pushed_line(len(head), total_size(w, head), f"origin ({folder})", 0)

    assert one_line_error(gm(w, "remote", "add", "origin", backup)) == (
        "error: model remote 'origin' already exists (remove it first "
        "(git model remote remove origin) or pick another name)\n"
    )
    assert one_line_error(gm(w, "remote", "remove", "nope")) == (
        "error: no model remote named 'nope' (see `git model remote list`)\n"
    )
    assert one_line_error(gm(w, "remote", "add", "no/slash", backup)) == (
        "error: invalid remote name 'no/slash' "
        "(use letters, digits, '.', '_' or '-', e.g. origin)\n"
    )
    assert one_line_error(gm(w, "remote", "add", "origin2\n", backup)) == (
        "error: invalid remote name 'origin2\\n' "
        "(use letters, digits, '.', '_' or '-', e.g. origin)\n"
    )
    assert one_line_error(gm(w, "push", "nope")) == (
        "error: no model remote named 'nope' (configured: origin) "
        "(list them with `git model remote list`)\n"
    )
    gm_ok(w, "remote", "add", "backup", backup)
    assert one_line_error(gm(w, "push", "backup")) == (  # the folder was never made
        f"error: remote backup ({backup}): the folder does not exist (create it "
        f"(mkdir -p {backup}) or "
        "mount it, or point the remote elsewhere (`git model remote remove backup`, then "
        "`git model remote add backup URL`))\n"
    )
    gm_ok(w, "remote", "remove", "backup")
    gm_ok(w, "remote", "add", "second", backup)
    assert one_line_error(gm(w, "push")) == (
        "error: no model remote given and no default set "
        "(name one, or set a default: git model remote default NAME)\n"
    )
    fresh = world.clone("fresh")
    assert one_line_error(gm(fresh, "fetch")) == (
        "error: no model remote is configured "
        "(add one: git model remote add origin s3://BUCKET/PATH --default)\n"
    )
    git(fresh, "config", "model.remote.origin.url", str(folder))
    assert one_line_error(gm(fresh, "fetch", "sentiment@v0.1.0")) == (  # only HEAD was pushed
        f"error: fetch incomplete: {min(versions.v1)}: not on remote origin ({folder}) "
        "(and 1 more) (push it from a clone that has it (git model push, --all-versions for "
        "old ones))\n"
    )


def test_remote_urls_with_credentials_are_refused_and_secrets_never_printed(repo: Path) -> None:
    train(repo / "model.safetensors", 1)
    api_add(repo, "model.safetensors")
    git(repo, "commit", "-q", "-m", "model")
    config_before = (repo / ".git" / "config").read_bytes()
    assert one_line_error(gm(repo, "remote", "add", "origin", "s3://AKIAXYZ:hunter2@bucket/m")) == (
        "error: the URL carries credentials; they would be stored in .git/config (drop "
        "user:password@ and let the backend read credentials from the environment or ~/.aws)\n"
    )
    assert (repo / ".git" / "config").read_bytes() == config_before

    signed = "s3://bucket/m?X-Amz-Credential=AKIASECRET&X-Amz-Signature=deadbeef1234&v=1"
    shown = "s3://bucket/m?X-Amz-Credential=***&X-Amz-Signature=***&v=1"
    gm_ok(repo, "remote", "add", "signed", signed)
    git(repo, "config", "model.remote.signed.endpointUrl", f"http://127.0.0.1:{closed_port()}")
    listed = gm_ok(repo, "remote", "list") + gm_ok(repo, "remote", "list", "--json")
    assert shown in listed
    failed = gm(repo, "push", "signed")  # botocore's error quotes the percent-encoded request URL
    assert one_line_error(failed).startswith(f"error: remote signed ({shown}): ")
    for secret in ("AKIASECRET", "deadbeef1234"):
        assert secret not in listed + failed.stdout + failed.stderr


# --- push ------------------------------------------------------------------------------------


def test_push_uploads_only_what_is_missing_in_the_cache_layout(
    world: World, remote: ModelRemote, versions: Versions
) -> None:
    w = world.work
    remote.add(w)
    head = versions.v2 | versions.clf
    assert gm_ok(w, "push") == pushed_line(len(head), total_size(w, head), remote.label(), 0)
    assert remote.files() == sorted(key(o) for o in head)  # <prefix>/objects/<2>/<30>
    for oid in head:
        assert remote.read(key(oid)) == cached(w)[oid].read_bytes()
    if remote.kind == "folder":  # read-only, like the cache (sshfs cannot chmod)
        assert {(remote.folder / k).stat().st_mode & 0o777 for k in remote.files()} == {0o444}
    assert gm_ok(w, "push") == pushed_line(0, 0, remote.label(), len(head))

    # a version by name, and every version: only v1's two objects are new
    assert gm_ok(w, "push", "--rev", "sentiment@v0.1.0", "--all-versions", "-j", "1") == (
        pushed_line(2, total_size(w, versions.v1), remote.label(), len(versions.v2))
    )
    assert remote.objects() == head | versions.v1


def test_interrupted_push_resumes_and_never_shows_half_objects(
    world: World, remote: ModelRemote
) -> None:
    w = world.work
    remote.add(w)
    many = w / "many"
    many.mkdir()
    for i in range(120):  # more than 64: push lists the remote once instead of asking per object
        (many / f"part-{i:03}.txt").write_text(f"shard {i}\n" * (i + 1))
    api_add(w, "many")
    git(w, "commit", "-q", "-m", "many small files")
    wanted = needs(w, "HEAD", "many.gitmodel") | needs(w, "HEAD", "model.safetensors.gitmodel")
    wanted |= needs(w, "HEAD", "clf.gitmodel")

    # the console script itself, not `git model`: SIGKILL must hit the process that uploads
    script = Path(sys.executable).parent / "git-model"
    proc = subprocess.Popen(
        [str(script), "push", "-q", "-j", "1"],
        cwd=w,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while len(remote.objects()) < 10 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005 if remote.folder else 0.03)
    still_running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert still_running, "the push finished before it could be interrupted"
    time.sleep(0.2)  # a request the server had fully received may still be landing
    landed = remote.objects()
    assert 10 <= len(landed) < len(wanted)
    for oid in landed:  # whatever is visible under objects/ is a whole object
        assert oid_of(remote.read(key(oid))) == oid
    assert all(k.startswith(("objects/", "tmp/")) for k in remote.files())

    rest = wanted - landed
    assert gm_ok(w, "push") == pushed_line(
        len(rest), total_size(w, rest), remote.label(), len(landed)
    )
    assert remote.objects() == wanted
    for oid in wanted:
        assert oid_of(remote.read(key(oid))) == oid


# --- clone, pull, fetch ------------------------------------------------------------------------


def test_two_clones_share_models_with_exact_bytes(
    world: World, remote: ModelRemote, versions: Versions
) -> None:
    """The headline: one clone pushes, another pulls the exact bytes, trains, pushes back."""
    alice = world.work
    remote.add(alice)
    api_push(alice)
    bob = world.clone("bob")
    remote.add(bob)
    head = versions.v2 | versions.clf
    assert gm_ok(bob, "pull") == fetched_line(
        len(head), total_size(alice, head), remote.label(), 0
    ) + ("4 restored, 0 already up to date\n")
    assert (bob / "model.safetensors").read_bytes() == (alice / "model.safetensors").read_bytes()
    for rel in ("config.json", "model.safetensors", "tokenizer/vocab.txt"):
        assert (bob / "clf" / rel).read_bytes() == (alice / "clf" / rel).read_bytes()
    assert set(cached(bob)) == head
    for oid, path in cached(bob).items():
        assert oid_of(path.read_bytes()) == oid
    assert gm_ok(bob, "status", "--check") == (
        "up to date              clf/\nup to date              model.safetensors\n"
    )

    v3 = train(bob / "model.safetensors", 3)
    api_add(bob, "model.safetensors")
    git(bob, "commit", "-q", "-m", "v3")
    api_push(bob)
    git(bob, "push", "-q", "origin", "main")
    git(alice, "pull", "-q", "origin", "main")
    assert gm_ok(alice, "pull", "-q") == ""
    assert (alice / "model.safetensors").read_bytes() == v3


def test_fetch_one_version_a_rev_or_all_versions(
    world: World, pushed: ModelRemote, versions: Versions
) -> None:
    clone = world.clone("clone")
    pushed.add(clone)
    label = pushed.label()
    v1_size = total_size(world.work, versions.v1)
    assert gm_ok(clone, "fetch", "sentiment@v0.1.0") == fetched_line(2, v1_size, label, 0)
    assert set(cached(clone)) == versions.v1  # only that version's objects arrived

    # a folder: its manifest first, then the files the manifest lists, in one command
    assert gm_ok(clone, "fetch", "--rev", "HEAD~1") == fetched_line(
        len(versions.clf), total_size(world.work, versions.clf), label, 2
    )
    assert set(cached(clone)) == versions.v1 | versions.clf
    assert gm_ok(clone, "fetch", "--all-versions") == fetched_line(
        2, total_size(world.work, versions.v2), label, 2
    )
    assert set(cached(clone)) == versions.v1 | versions.v2 | versions.clf
    for oid, path in cached(clone).items():
        assert oid_of(path.read_bytes()) == oid
    assert not (clone / "model.safetensors").exists()  # fetch fills the cache only
    assert one_line_error(gm(clone, "fetch", "sentiment@v9.9.9")) == (
        "error: sentiment@v9.9.9 is not a registered version (known: v0.1.0, v0.2.0) "
        "(list versions with `git model versions sentiment`)\n"
    )


def test_pull_refuses_a_corrupt_remote_object(
    world: World, pushed: ModelRemote, versions: Versions
) -> None:
    clone = world.clone("clone")
    pushed.add(clone)
    git(clone, "checkout", "-q", "HEAD~1")
    api_pull(clone)
    git(clone, "checkout", "-q", "main")
    before = work_tree(clone)
    v2 = tomllib.loads((world.work / "model.safetensors.gitmodel").read_text())["oid"]
    assert v2 in versions.v2
    bad = bytearray(pushed.read(key(v2)))
    bad[-1] ^= 0xFF
    pushed.write(key(v2), bytes(bad))

    assert one_line_error(gm(clone, "pull")) == (
        f"error: object {v2} from remote {pushed.label()} is corrupt: its bytes hash to "
        f"{oid_of(bytes(bad))}; the bad bytes were not kept (delete {key(v2)} from the remote, "
        "then `git model push` from a clone that has it; find all corrupt ones: "
        "git model fsck --remote origin)\n"
    )
    assert v2 not in cached(clone)
    assert list((cache_dir(clone) / "tmp").iterdir()) == []
    assert work_tree(clone) == before  # still v1's bytes
    assert (clone / "model.safetensors").read_bytes() == train(world.tmp / "v1", 1)


def work_tree(repo: Path) -> dict[str, bytes]:
    return {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted(repo.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(repo).parts
    }


# --- fsck ------------------------------------------------------------------------------------


def test_fsck_quarantines_a_corrupt_local_object_and_fetch_recovers_it(
    world: World, versions: Versions, tmp_path: Path
) -> None:
    w = world.work
    folder = tmp_path / "share"
    folder.mkdir()
    git(w, "config", "model.remote.origin.url", str(folder))
    api_push(w)
    oid = tomllib.loads((w / "model.safetensors.gitmodel").read_text())["oid"]
    path = cached(w)[oid]
    good = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(good[:-1] + b"\x00")
    count = len(cached(w))

    proc = gm(w, "fsck")
    quarantined = cache_dir(w) / "quarantine" / oid.removeprefix("xxh128:")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        1,
        f"corrupt {oid}: moved to {quarantined}\n"
        f"checked {count} object(s) in local cache: 1 corrupt\n",
        "warning: recover them with `git model fetch` (then `git model checkout`)\n",
    )
    assert quarantined.read_bytes() == good[:-1] + b"\x00"
    assert oid not in cached(w)
    assert gm_ok(w, "status", "model.safetensors") == "missing from cache      model.safetensors\n"

    present = len(versions.v2 | versions.clf) - 1
    assert gm_ok(w, "fetch") == fetched_line(1, len(good), f"origin ({folder})", present)
    assert cached(w)[oid].read_bytes() == good
    assert gm_ok(w, "fsck") == f"checked {count} object(s) in local cache: 0 corrupt\n"


def test_fsck_remote_finds_a_corrupt_object(
    world: World, pushed: ModelRemote, versions: Versions
) -> None:
    w = world.work
    everything = versions.v1 | versions.v2 | versions.clf
    oid = sorted(versions.clf)[0]
    good = pushed.read(key(oid))
    pushed.write(key(oid), good + b"!")

    proc = gm(w, "fsck", "--remote", "origin")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        1,
        f"corrupt {oid} on {pushed.label()}\n"
        f"checked {len(everything)} object(s) in {pushed.label()}: 1 corrupt, 0 missing\n",
        "warning: delete them from the remote (push skips objects already there), then "
        "`git model push` from a clone that has good copies\n",
    )
    assert pushed.read(key(oid)) == good + b"!"  # fsck never changes the remote

    pushed.delete(key(oid))  # what the hint says
    api_push(w, all_versions=True)
    assert pushed.read(key(oid)) == good
    assert gm_ok(w, "fsck", "-r", "origin") == (
        f"checked {len(everything)} object(s) in {pushed.label()}: 0 corrupt, 0 missing\n"
    )


def test_fsck_remote_reports_every_needed_object_the_remote_lacks(
    world: World, pushed: ModelRemote, versions: Versions
) -> None:
    """Needed: what gc keeps, here both versions and the folder; a fresh clone, whose cache
    lacks the folder's manifest, reads it from the remote to know the folder's files."""
    w = world.work
    everything = versions.v1 | versions.v2 | versions.clf
    folder_manifest = tomllib.loads((w / "clf.gitmodel").read_text())["oid"]
    folder_files = versions.clf - {folder_manifest}
    gone = sorted([min(versions.v1), min(versions.v2), min(folder_files)])
    v3 = commit_model(w, 3, "v3, soon abandoned")
    api_push(w)
    git(w, "reset", "-q", "--hard", "HEAD~1")  # v3's objects on the remote are not needed
    for oid in gone:
        pushed.delete(key(oid))
    label = pushed.label()

    proc = gm(w, "fsck", "--remote", "origin")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        1,
        "".join(f"missing {oid} on {label}\n" for oid in gone)
        + f"checked {len(everything | v3) - 3} object(s) in {label}: 0 corrupt, 3 missing\n",
        "warning: push the missing ones from a clone that has them (`git model push "
        "--all-versions`, or `--rev REV` for the commits that name them)\n",
    )
    clone = world.clone("clone")
    pushed.add(clone)
    proc = gm(clone, "fsck", "-r", "origin", "--json")
    assert (proc.returncode, json.loads(proc.stdout)) == (
        1,
        {
            "where": label,
            "checked": len(everything | v3) - 3,
            "corrupt": [],
            "quarantined": [],
            "missing": gone,
            "wrong_size": [],
            "wrong_digest": [],
        },
    )
    assert cached(clone) == {}  # fsck never fills the cache

    api_push(w, all_versions=True)
    assert gm_ok(clone, "fsck", "-r", "origin") == (
        f"checked {len(everything | v3)} object(s) in {label}: 0 corrupt, 0 missing\n"
    )


# --- status --remote -------------------------------------------------------------------------


def test_status_remote_reports_objects_not_pushed(
    world: World, remote: ModelRemote, versions: Versions
) -> None:
    w = world.work
    remote.add(w)
    api_push(w, revs=("HEAD~1",))  # the folder and v1, not v2
    proc = gm(w, "status", "--remote", "origin", "--check")
    assert (proc.returncode, proc.stdout) == (
        1,
        "up to date              clf/\n"
        "up to date              model.safetensors\n"
        f"not pushed              model.safetensors: 2 object(s) missing on {remote.label()}\n",
    )
    rows = json.loads(gm_ok(w, "status", "--remote", "origin", "--json"))
    assert [(r["pointer"], r["unpushed_objects"]) for r in rows] == [
        ("clf.gitmodel", 0),
        ("model.safetensors.gitmodel", 2),
    ]
    api_push(w)
    assert gm_ok(w, "status", "-r", "origin", "--check") == (
        "up to date              clf/\nup to date              model.safetensors\n"
    )


# --- gc --------------------------------------------------------------------------------------


def gc_report(verb: str, sizes: dict[str, int], where: str, kept: int, scope: str) -> str:
    lines = [f"{verb} {oid} ({size_text(size)})" for oid, size in sorted(sizes.items())]
    lines.append(
        f"{verb} {len(sizes)} object(s), {size_text(sum(sizes.values()))}, from {where}; "
        f"kept {kept} needed by {scope} of 1 repository"
    )
    return "\n".join(lines) + "\n"


def test_remote_gc_deletes_only_unreferenced_remote_objects(
    world: World, pushed: ModelRemote, versions: Versions
) -> None:
    w = world.work
    v3 = commit_model(w, 3, "v3, soon abandoned")
    api_push(w)
    git(w, "reset", "-q", "--hard", "HEAD~1")  # v3 is now only in the reflog
    kept = versions.v1 | versions.v2 | versions.clf
    assert pushed.objects() == kept | v3
    sizes = {o: cached(w)[o].stat().st_size for o in v3}

    clone = world.clone("clone")  # its cache lacks the folder's manifest: it cannot judge
    pushed.add(clone)
    manifest = tomllib.loads((clone / "clf.gitmodel").read_text())["oid"]
    assert one_line_error(gm(clone, "gc", "-r", "origin")) == (
        f"error: cannot tell which objects folder 'clf' needs: its manifest {manifest} is not "
        "in the local cache, so gc deletes nothing (fetch it first (git model fetch; --rev REV "
        "or --all-versions for older ones), then run gc again)\n"
    )
    assert pushed.objects() == kept | v3

    # Just pushed: kept by the grace period (its commit's `git push` may still be coming).
    recent = (
        f"kept {len(v3)} unneeded object(s) written in the last 24 h (a push may still be on "
        "its way; --grace 0 deletes them)\n"
    )
    report = gc_report("would delete", {}, pushed.label(), len(kept), "all-refs") + recent
    assert gm_ok(w, "gc", "--dry-run", "-r", "origin") == report
    listed = json.loads(gm_ok(w, "gc", "-n", "-r", "origin", "--json"))
    assert (listed["deleted"], listed["kept"], listed["kept_recent"]) == ([], len(kept), len(v3))
    report = gc_report("deleted", {}, pushed.label(), len(kept), "all-refs") + recent
    assert gm_ok(w, "gc", "-r", "origin") == report
    assert pushed.objects() == kept | v3

    report = gc_report("would delete", sizes, pushed.label(), len(kept), "all-refs")
    assert gm_ok(w, "gc", "--dry-run", "-r", "origin", "--grace", "0") == report
    assert pushed.objects() == kept | v3
    report = gc_report("deleted", sizes, pushed.label(), len(kept), "all-refs")
    assert gm_ok(w, "gc", "-r", "origin", "--grace", "0") == report
    assert pushed.objects() == kept
    assert set(cached(w)) == kept | v3  # remote gc leaves the local cache alone


def test_remote_gc_deletes_unneeded_objects_older_than_the_grace(
    world: World, tmp_path: Path
) -> None:
    w = world.work
    folder = tmp_path / "share" / "models"
    folder.mkdir(parents=True)
    remote = ModelRemote("folder", str(folder), None, folder, None, "")
    remote.add(w)
    v3 = commit_model(w, 3, "v3, soon abandoned")
    api_push(w)
    git(w, "reset", "-q", "--hard", "HEAD~1")
    needed = remote.objects() - v3
    two_days_ago = time.time() - 48 * 3600
    for oid in v3:
        os.utime(folder / "objects" / oid[7:9] / oid[9:], (two_days_ago, two_days_ago))
    sizes = {o: cached(w)[o].stat().st_size for o in v3}
    assert gm_ok(w, "gc", "-r", "origin", "--grace", "72") == gc_report(
        "deleted", {}, remote.label(), len(needed), "all-refs"
    ) + (
        f"kept {len(v3)} unneeded object(s) written in the last 72 h (a push may still be on "
        "its way; --grace 0 deletes them)\n"
    )
    assert gm_ok(w, "gc", "-r", "origin") == gc_report(
        "deleted", sizes, remote.label(), len(needed), "all-refs"
    )
    assert remote.objects() == needed


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--grace", "0"],
            "error: --grace applies to a remote's objects (pass --remote NAME, or leave "
            "--grace out for the local cache)\n",
        ),
        (
            ["-r", "origin", "--grace", "nan"],
            "error: --grace nan: not a number of hours (pass 0 or more, e.g. 24)\n",
        ),
        (
            ["-r", "origin", "--grace", "-1"],
            "error: --grace -1.0: not a number of hours (pass 0 or more, e.g. 24)\n",
        ),
    ],
)
def test_gc_grace_refusals(world: World, args: list[str], error: str) -> None:
    proc = gm(world.work, "gc", *args)
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", error)


def test_gc_keeps_everything_any_ref_stash_worktree_or_index_needs(world: World) -> None:
    w = world.work
    pointer = "model.safetensors.gitmodel"

    def stage(repo: Path, fill: int) -> set[str]:
        train(repo / "model.safetensors", fill)
        api_add(repo, "model.safetensors")
        return needs(repo, ":0", pointer)

    git(w, "checkout", "-q", "-b", "experiment")
    on_branch = commit_model(w, 10, "a branch")
    git(w, "checkout", "-q", "-b", "tagged")
    on_tag = commit_model(w, 11, "a tag only")
    git(w, "tag", "keep-me")
    git(w, "checkout", "-q", "-b", "doomed")
    on_deleted_branch = commit_model(w, 12, "a branch deleted later")
    git(w, "checkout", "-q", "main")
    git(w, "branch", "-q", "-D", "tagged", "doomed")

    amended_away = commit_model(w, 13, "typo")
    unpushed = commit_model(w, 14, "the fix", "--amend")  # main is ahead of origin/main
    replaced = stage(w, 15)  # staged, then replaced before any commit
    stashed = stage(w, 16)
    git(w, "stash", "-q")
    staged = stage(w, 17)
    (w / pointer).write_text(git(w, "show", f"HEAD:{pointer}").stdout)  # index != work tree
    train(w / "other.safetensors", 18)
    api_add(w, "other.safetensors")
    git(w, "rm", "-q", "--cached", "other.safetensors.gitmodel")  # untracked, in the work tree
    doc = tomllib.loads((w / "other.safetensors.gitmodel").read_text())
    in_work_tree_only = {doc["oid"], doc["format"]["manifest"]}

    wt = world.tmp / "wt"
    git(w, "worktree", "add", "-q", "--detach", str(wt))
    in_worktree_head = commit_model(wt, 19, "detached, in another worktree")
    in_worktree_index = stage(wt, 20)

    garbage = amended_away | replaced | on_deleted_branch
    needed = on_branch | on_tag | unpushed | stashed | staged | in_work_tree_only
    needed |= in_worktree_head | in_worktree_index
    before = set(cached(w))
    assert garbage | needed <= before and not garbage & needed and len(garbage) == 6
    sizes = {o: cached(w)[o].stat().st_size for o in garbage}
    kept = len(before) - len(garbage)

    assert gm_ok(w, "gc", "-n") == gc_report("would delete", sizes, "local cache", kept, "all-refs")
    assert set(cached(w)) == before
    listed = json.loads(gm_ok(w, "gc", "--dry-run", "--json"))
    assert listed == {
        "where": "local cache",
        "scope": "all-refs",
        "dry_run": True,
        "kept": kept,
        "kept_recent": 0,  # only a remote gc keeps unneeded objects for their age
        "freed": sum(sizes.values()),
        "repos": [str(w)],
        "deleted": [{"oid": o, "size": sizes[o]} for o in sorted(garbage)],
        "aborted_uploads": [],  # incomplete uploads are a remote's
        "kept_recent_uploads": 0,
        "packed": [],  # every object is under the 1 MiB that packing starts at
        "kept_loose": 0,
        "packs_written": [],
        "packs_deleted": [],
    }
    assert gm_ok(w, "gc") == gc_report("deleted", sizes, "local cache", kept, "all-refs")
    assert set(cached(w)) == before - garbage

    git(w, "reset", "-q", "--hard")
    git(w, "stash", "pop", "-q")
    assert gm_ok(w, "checkout", "-q", "--force") == ""
    assert (w / "model.safetensors").read_bytes() == train(world.tmp / "16", 16)


def test_gc_keep_tags_drops_old_branch_history(world: World, versions: Versions) -> None:
    w = world.work
    git(w, "checkout", "-q", "-b", "old")
    old_branch = commit_model(w, 30, "an old experiment")
    git(w, "push", "-q", "origin", "old")
    git(w, "checkout", "-q", "main")
    v3, v4 = commit_model(w, 3, "v3"), commit_model(w, 4, "v4")
    git(w, "push", "-q", "origin", "main")
    v5, v6 = commit_model(w, 5, "v5"), commit_model(w, 6, "v6")  # not pushed; v6 is HEAD
    before = set(cached(w))
    dropped = old_branch | v3 | v4
    sizes = {o: cached(w)[o].stat().st_size for o in dropped}
    kept = len(before) - len(dropped)

    assert gm_ok(w, "gc", "--keep-tags") == gc_report(
        "deleted", sizes, "local cache", kept, "keep-tags"
    )
    assert set(cached(w)) == before - dropped
    assert versions.v1 | versions.v2 | versions.clf | v5 | v6 <= set(cached(w))
    assert gm_ok(w, "gc", "--all-refs", "-n") == gc_report(
        "would delete", {}, "local cache", kept, "all-refs"
    )
    assert one_line_error(gm(w, "gc", "--keep-tags", "--all-refs")) == (
        "error: --keep-tags and --all-refs exclude each other (pass one of them)\n"
    )


def test_gc_in_a_shared_cache_keeps_what_other_clones_need(world: World, tmp_path: Path) -> None:
    shared, folder = tmp_path / "shared-cache", tmp_path / "share"
    folder.mkdir()
    gm_ok(world.work, "remote", "add", "origin", str(folder))
    api_push(world.work)
    clones = []
    for name in ("alice", "bob"):
        clone = world.clone(name)
        git(clone, "config", "model.cache", str(shared))
        git(clone, "config", "model.remote.origin.url", str(folder))
        api_pull(clone)
        clones.append(clone)
    alice, bob = clones
    assert (shared / "repos").read_text() == f"{alice / '.git'}\n{bob / '.git'}\n"
    git(bob, "checkout", "-q", "-b", "experiment")
    bobs = commit_model(bob, 40, "bob's experiment")

    out = json.loads(gm_ok(alice, "gc", "--json"))
    assert (out["deleted"], out["repos"]) == ([], [str(alice), str(bob)])
    shutil.rmtree(bob)
    out = json.loads(gm_ok(alice, "gc", "--json"))
    assert ({d["oid"] for d in out["deleted"]}, out["repos"]) == (bobs, [str(alice)])


# --- incomplete uploads: an interrupted push aborts its S3 multipart upload; gc --remote
# aborts what killed pushes left (S3 multipart uploads, a folder remote's temp files) ---------


BIG = 40 * 1024 * 1024  # five parts of 8 MiB: over the threshold set below, a multipart upload


def uploads(remote: ModelRemote, prefix: str = "") -> list[dict[str, Any]]:
    listed = remote.s3.list_multipart_uploads(Bucket=remote.bucket, Prefix=prefix)
    return list(listed.get("Uploads", []))


def utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary(label: str, kept: int) -> str:
    return (
        f"deleted 0 object(s), 0 B, from {label}; kept {kept} needed by all-refs of 1 repository\n"
    )


@pytest.mark.parametrize("remote", ["s3"], indirect=True)
def test_remote_gc_aborts_incomplete_s3_uploads(
    world: World, pushed: ModelRemote, versions: Versions
) -> None:
    """As a push killed with SIGKILL leaves it: a multipart upload with a part, no object."""
    w, s3, bucket = world.work, pushed.s3, pushed.bucket
    left = f"objects/ab/{'c' * 30}"
    started = s3.create_multipart_upload(Bucket=bucket, Key=f"models/{left}")
    s3.upload_part(
        Bucket=bucket, Key=f"models/{left}", UploadId=started["UploadId"], PartNumber=1, Body=b"x"
    )
    other = s3.create_multipart_upload(Bucket=bucket, Key="elsewhere/objects/ab/cd")  # not ours
    when = utc(uploads(pushed, "models/")[0]["Initiated"].timestamp())
    kept = len(versions.v1 | versions.v2 | versions.clf)
    label = pushed.label()

    # moto dates every upload 2010-11-10 (a fixed date in its responses), so the default
    # grace already lets it go; the folder remote's test below shows the grace keeping one.
    assert when == "2010-11-10T20:48:33Z"
    assert gm_ok(w, "gc", "-r", "origin", "-n") == gc_report(
        "would delete", {}, label, kept, "all-refs"
    ) + (
        f"would abort incomplete upload {left} (started {when})\n"
        "would abort 1 incomplete upload(s) that pushes left behind\n"
    )
    listed = json.loads(gm_ok(w, "gc", "-r", "origin", "-n", "--json"))
    assert (listed["aborted_uploads"], listed["kept_recent_uploads"]) == (
        [{"key": left, "started": when}],
        0,
    )
    assert [u["UploadId"] for u in uploads(pushed, "models/")] == [started["UploadId"]]

    assert gm_ok(w, "gc", "-r", "origin") == summary(label, kept) + (
        f"aborted incomplete upload {left} (started {when})\n"
        "aborted 1 incomplete upload(s) that pushes left behind\n"
    )
    assert uploads(pushed, "models/") == []
    assert [u["UploadId"] for u in uploads(pushed)] == [other["UploadId"]]
    assert gm_ok(w, "gc", "-r", "origin") == summary(label, kept)


@pytest.mark.parametrize("remote", ["folder", "ssh"], indirect=True)
def test_remote_gc_removes_old_temp_files_of_a_folder_or_ssh_remote(
    world: World, pushed: ModelRemote, versions: Versions
) -> None:
    assert pushed.folder is not None
    tmp = pushed.folder / "tmp"
    (tmp / "old-upload").write_bytes(b"half an object")
    (tmp / "running-upload").write_bytes(b"a push in progress")
    two_days_ago = time.time() - 48 * 3600
    os.utime(tmp / "old-upload", (two_days_ago, two_days_ago))
    kept = len(versions.v1 | versions.v2 | versions.clf)

    assert gm_ok(world.work, "gc", "-r", "origin") == summary(pushed.label(), kept) + (
        f"aborted incomplete upload tmp/old-upload (started {utc(two_days_ago)})\n"
        "aborted 1 incomplete upload(s) that pushes left behind\n"
        "kept 1 incomplete upload(s) started in the last 24 h (a push may still be running; "
        "--grace 0 aborts them)\n"
    )
    assert sorted(p.name for p in tmp.iterdir()) == ["running-upload"]


@pytest.mark.parametrize(
    ("stop", "exit_code", "said"),
    [(signal.SIGINT, 130, "interrupted\n"), (signal.SIGTERM, 143, "terminated\n")],
    ids=["ctrl-c", "sigterm"],
)
@pytest.mark.parametrize("remote", ["s3"], indirect=True)
def test_an_interrupted_s3_push_aborts_its_multipart_upload(
    world: World, remote: ModelRemote, stop: signal.Signals, exit_code: int, said: str
) -> None:
    """Ctrl-C, or SIGTERM (`timeout`, a CI runner), in the middle of a multipart upload: the
    upload is aborted at once, without waiting for the part in flight, and nothing is left.
    The push talks to S3 through a proxy that holds it in its second part, so the signal
    lands there every time."""
    w = world.work
    remote.add(w)
    git(w, "config", "model.remote.origin.multipartThreshold", "8m")  # the default is 128m
    big = bytes(range(256)) * (BIG // 256)
    (w / "big.bin").write_bytes(big)
    api_add(w, "big.bin")
    git(w, "commit", "-q", "-m", "a big model")
    assert remote.endpoint is not None
    s3_port = int(remote.endpoint.rsplit(":", 1)[1])

    # the first part and a little of the second pass; requests before them are small
    with gate_proxy(s3_port, budget=PART_SIZE + 1024 * 1024) as proxy:
        git(w, "config", "model.remote.origin.endpointUrl", proxy.endpoint)
        # the console script itself, not `git model`: the signal must reach the uploader
        script = Path(sys.executable).parent / "git-model"
        proc = subprocess.Popen(
            [str(script), "push", "-q", "-j", "1", "--rev", "HEAD"],
            cwd=w,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proxy.held.wait(60), "the push never reached its second part"
        (upload,) = uploads(remote)
        listed = remote.s3.list_parts(
            Bucket=remote.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
        )
        assert [part["PartNumber"] for part in listed["Parts"]] == [1]
        proc.send_signal(stop)
        deadline = time.monotonic() + 60
        while uploads(remote) and time.monotonic() < deadline:  # aborted by the signal...
            time.sleep(0.01)
        assert uploads(remote) == [], "the upload was not aborted while its part was held"
        proxy.release()  # ...while the second part was still on its way
        out, err = proc.communicate(timeout=60)
        assert (proc.returncode, out, err) == (exit_code, "", said)
        assert uploads(remote) == []  # nothing billed, nothing for gc to find
        assert oid_of(big) not in remote.objects()

        proc_again = gm(w, "push", "-q")
        assert proc_again.returncode == 0, proc_again.stderr
    assert remote.read(key(oid_of(big))) == big
    assert uploads(remote) == []
    git(w, "config", "model.remote.origin.endpointUrl", remote.endpoint)
    api_push(w)  # nothing left to send


# --- failures --------------------------------------------------------------------------------


def closed_port() -> int:
    return free_port()  # nothing listens there once the probe socket is closed


def test_an_unreachable_remote_is_one_line_quickly(
    world: World, remote: ModelRemote, tmp_path: Path
) -> None:
    if remote.endpoint:
        url, endpoint = remote.url, f"http://127.0.0.1:{closed_port()}"
    else:
        url, endpoint = str(tmp_path / "unplugged-disk"), None
    clone = world.clone("clone")
    for i in range(70):  # push asks for one listing (> 64 objects), fetch asks per object
        (world.work / "shards" / f"{i}.txt").parent.mkdir(exist_ok=True)
        (world.work / "shards" / f"{i}.txt").write_text(f"{i}\n")
    api_add(world.work, "shards")
    git(world.work, "commit", "-q", "-m", "shards")
    for repo, args in ((world.work, ["push"]), (clone, ["fetch"])):
        git(repo, "config", "model.remote.origin.url", url)
        if endpoint:
            git(repo, "config", "model.remote.origin.endpointUrl", endpoint)
        started = time.monotonic()
        proc = gm(repo, *args)
        elapsed = time.monotonic() - started
        assert one_line_error(proc).startswith(f"error: remote origin ({url}): "), proc.stderr
        assert proc.stderr.endswith(
            " (check the URL, the endpoint and your credentials (`git model remote list`; "
            "credentials come from the environment or ~/.aws))\n"
            if endpoint
            else f" (create it (mkdir -p {url}) or mount it, or point the remote elsewhere "
            "(`git model remote remove origin`, then `git model remote add origin URL`))\n"
        )
        assert elapsed < 15, f"{args}: {elapsed:.1f} s"


def test_ssh_remote_errors_name_the_ssh_credentials(
    world: World, ssh_server: SshServer, isolated_env: Path, tmp_path: Path
) -> None:
    """A closed port, and a server that does not know the user's key: one line each, with
    the hint pointing at SSH keys rather than cloud credentials; the login name is shown."""
    folder = tmp_path / "models"
    folder.mkdir()
    hint = (
        " (check the URL, the endpoint and your credentials (`git model remote list`; "
        "credentials come from your SSH agent, ~/.ssh or ~/.ssh/config))\n"
    )
    closed = f"ssh://tester@127.0.0.1:{closed_port()}{folder}"
    git(world.work, "config", "model.remote.origin.url", closed)
    error = one_line_error(gm(world.work, "push"))
    assert error.startswith(f"error: remote origin ({closed}): "), error
    assert error.endswith(hint), error

    url = ssh_server.url(folder)
    git(world.work, "config", "model.remote.origin.url", url)
    ssh_server.trust_in(isolated_env)
    (isolated_env / ".ssh" / "id_ed25519").unlink()  # the server's host key, but no user key
    error = one_line_error(gm(world.work, "push"))
    assert error == (
        f"error: remote origin ({url}): PermissionError: Permission denied for user tester on "
        "host 127.0.0.1" + hint
    )
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "extra", "module"),
    [("gs://bucket/models", "gcs", "gcsfs"), ("az://container/models", "azure", "adlfs")],
)
def test_a_missing_backend_names_the_extra_to_install(
    world: World, url: str, extra: str, module: str
) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    git(world.work, "config", "model.remote.cloud.url", url)
    protocol = url.split("://")[0]
    assert one_line_error(gm(world.work, "push")) == (
        f"error: remote cloud ({url}) needs support for {protocol}:// that is not installed "
        f"(pip install 'git-model[{extra}]')\n"
    )


def test_remote_tells_when_an_object_was_written(
    world: World, pushed: ModelRemote, versions: Versions
) -> None:
    """What the grace period of remote gc reads: S3's LastModified, a folder's mtime."""
    from gitmodel.git import GitRepo
    from gitmodel.remotes.config import resolve_remote

    target = resolve_remote(GitRepo.discover(world.work), "origin")
    oid = sorted(versions.v1)[0]
    size, written = target.size_and_age(oid)
    assert size == cached(world.work)[oid].stat().st_size
    assert written is not None
    assert abs(time.time() - written) < 300
