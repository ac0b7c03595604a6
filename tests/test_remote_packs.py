"""Packs on remotes (docs/pack-format.md, section 9): push sends only the chunks a remote lacks,
as deltas against what it has; fetch and pull read only missing chunks with merged ranged
reads; the format marker; damage refused; kill -9 resumes; gc --remote and fsck --remote.
Against a folder remote and the local S3 server (moto)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

from gitmodel.packs.encoding import Encoding
from gitmodel.packs.packfile import Record, decode_index
from tests.helpers import git, gm, gm_ok
from tests.test_remotes import ModelRemote, s3_client  # noqa: F401  (a fixture)

LAYERS = 4
ROWS = 64


def write_model(path: Path, version: int, changed: tuple[int, ...] = (LAYERS - 1,)) -> bytes:
    """A small F16 model: an embedding and LAYERS layers. Version 0 is the base; each later
    version adds a little noise to the layers in `changed` (a partial fine-tune)."""
    rng = np.random.default_rng(7)
    tensors = {"embed": rng.normal(0, 0.02, (ROWS, 128)).astype(np.float16)}
    for layer in range(LAYERS):
        tensors[f"layer.{layer}.w"] = rng.normal(0, 0.02, (ROWS, 256)).astype(np.float16)
    for v in range(1, version + 1):
        noise = np.random.default_rng(100 + v)
        for layer in changed:
            name = f"layer.{layer}.w"
            tensors[name] = (tensors[name] + noise.normal(0, 1e-3, (ROWS, 256))).astype(np.float16)
    save_file(tensors, str(path), metadata={"version": "x"})
    return path.read_bytes()


class PackRemote(ModelRemote):
    """A model remote of tests/test_remotes.py, in the packed layout, with key sizes."""

    def add(self, repo: Path, name: str = "origin") -> None:
        super().add(repo, name)
        git(repo, "config", "model.remoteLayout", "packs")  # the tests' default is loose

    def sizes(self) -> dict[str, int]:
        """Every key the remote holds, relative to its URL, with its size."""
        if self.folder is not None:
            return {k: (self.folder / k).stat().st_size for k in self.files()}
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + "/"
        )
        return {
            item["Key"][len(self.prefix) + 1 :]: item["Size"]
            for page in pages
            for item in page.get("Contents", [])
        }

    def write(self, key: str, data: bytes) -> None:
        if self.folder is not None and not (self.folder / key).exists():
            (self.folder / key).parent.mkdir(parents=True, exist_ok=True)
            (self.folder / key).write_bytes(data)
            return
        super().write(key, data)

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.files() if k.startswith(prefix)]

    def stored(self) -> int:
        return sum(size for key, size in self.sizes().items() if key != "gitmodel-format")


@pytest.fixture(params=["folder", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> PackRemote:
    return make_remote(request, tmp_path)


@pytest.fixture(params=["folder", "s3", "ssh"])
def any_remote(request: pytest.FixtureRequest, tmp_path: Path, isolated_env: Path) -> PackRemote:
    """Also a folder served by the local SSH server (tests/sshserver.py)."""
    if request.param == "ssh":
        folder = tmp_path / "share" / "models"
        folder.mkdir(parents=True)
        server = request.getfixturevalue("ssh_server")
        server.trust_in(isolated_env)
        return PackRemote("ssh", server.url(folder), None, folder, None, "")
    return make_remote(request, tmp_path)


def make_remote(request: pytest.FixtureRequest, tmp_path: Path) -> PackRemote:
    if request.param == "folder":
        folder = tmp_path / "share" / "models"
        folder.mkdir(parents=True)
        return PackRemote("folder", str(folder), None, folder, None, "")
    endpoint = request.getfixturevalue("s3_endpoint")
    client = request.getfixturevalue("s3_client")
    bucket = f"gm-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return PackRemote("s3", f"s3://{bucket}/models", endpoint, None, client, bucket)


@pytest.fixture
def folder_remote(tmp_path: Path) -> PackRemote:
    folder = tmp_path / "share" / "models"
    folder.mkdir(parents=True)
    return PackRemote("folder", str(folder), None, folder, None, "")


@dataclass
class Project:
    work: Path
    origin: Path  # bare Git repository
    tmp: Path
    versions: list[bytes]

    def clone(self, name: str, remote: PackRemote) -> Path:
        target = self.tmp / name
        git(self.tmp, "clone", "-q", str(self.origin), str(target))
        remote.add(target)
        return target


def commit_version(work: Path, version: int, **kwargs: Any) -> bytes:
    data = write_model(work / "model.safetensors", version, **kwargs)
    gm_ok(work, "add", "-q", "model.safetensors")
    git(work, "commit", "-q", "-m", f"version {version}")
    git(work, "tag", f"v{version}")
    return data


@pytest.fixture
def project(tmp_path: Path) -> Project:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(work, "remote", "add", "origin", str(tmp_path / "origin.git"))
    return Project(work, tmp_path / "origin.git", tmp_path, [])


def cache(repo: Path) -> Path:
    return repo / ".git" / "model" / "cache"


def human(n: int) -> str:
    from gitmodel.table import human_size

    return human_size(n)


def label(repo: Path) -> str:
    return f"origin ({git(repo, 'config', 'model.remote.origin.url').stdout.strip()})"


def raw_size(repo: Path, rev: str = "HEAD") -> int:
    """The model's size plus its tensor manifest's, as the pointer at REV records them."""
    import tomllib

    doc = tomllib.loads(git(repo, "show", f"{rev}:model.safetensors.gitmodel").stdout)
    digits = doc["format"]["manifest"].removeprefix("xxh128:")
    manifest = cache(repo) / "objects" / digits[:2] / digits[2:]
    return int(doc["size"]) + manifest.stat().st_size


def pushed_line(repo: Path, sent: int, new: int, reused: int, objects: int = 2) -> str:
    return (
        f"pushed {objects} object(s) ({human(raw_size(repo))}) to {label(repo)}; 0 already "
        f"there; sent {human(sent)}: {new} new chunk(s), {reused} already on origin\n"
    )


def remote_records(remote: PackRemote) -> list[Record]:
    records = []
    for key in remote.keys("packs/"):
        if key.endswith(".idx"):
            records += decode_index(remote.read(key), Path(key), key).records
    return records


def test_versions_round_trip_and_the_second_push_sends_only_the_delta(
    project: Project, any_remote: PackRemote
) -> None:
    remote, work = any_remote, project.work
    remote.add(work)
    first = commit_version(work, 0)
    out = gm_ok(work, "push")
    assert remote.read("gitmodel-format") == b"3\n"
    assert remote.keys("objects/") == [] and remote.keys("keeps/") == []
    packs = remote.keys("packs/")
    assert len(packs) == 2 and {p.rsplit(".", 1)[1] for p in packs} == {"pack", "idx"}
    # the model; its tensor manifest is one chunk, whose id is its oid: it needs no recipe
    (recipe,) = remote.keys("recipes/")
    assert recipe == chunks_at(work, "HEAD", remote)[0][0]
    # the header, the embedding, 4 layers; the tensor manifest
    assert out == pushed_line(work, remote.stored(), 7, 0)

    second = commit_version(work, 1)
    before = remote.stored()
    out = gm_ok(work, "push")
    sent = remote.stored() - before
    # the changed layer as a delta against the one on the remote, the new tensor manifest
    assert out == pushed_line(work, sent, 2, 5)
    assert sent < ROWS * 256 * 2  # less than one raw layer
    deltas = [r for r in remote_records(remote) if r.encoding == Encoding.SUB_PLANES_ZSTD]
    assert [r.depth for r in deltas] == [1]
    git(work, "push", "-q", "origin", "main", "--tags")

    assert gm(work, "status", "--remote", "origin", "--check").returncode == 0
    usage = json.loads(gm_ok(work, "du", "--remote", "origin", "--json"))
    raw = raw_size(work) + raw_size(work, "v0")
    stored = remote.stored()
    recipe_bytes = sum(len(remote.read(k)) for k in remote.keys("recipes/"))
    assert usage == {
        "where": label(work),
        "objects": 4,
        "raw": raw,
        "stored": stored,
        "ratio": round(stored / raw, 4),
        "loose": {"files": 0, "bytes": 0},
        "packs": {"packs": 2, "bytes": stored - recipe_bytes},
        "recipes": {"files": 2, "bytes": recipe_bytes},
    }

    clone = project.clone("clone", remote)
    recipes = {k: len(remote.read(k)) for k in remote.keys("recipes/")}
    out = gm_ok(clone, "pull")
    assert (clone / "model.safetensors").read_bytes() == second
    assert out.splitlines()[0] == pulled_line(clone, "HEAD", recipes, remote, (8, 0))
    have = chunks_at(clone, "HEAD", remote)[1]
    git(clone, "checkout", "-q", "v0")
    out = gm_ok(clone, "pull")
    assert (clone / "model.safetensors").read_bytes() == first
    # v1: its 7 chunks and the base of its layer 3's delta (v0's layer 3); v0 then: that
    # layer 3 again (fetched chunks are not kept once the files are in) and its manifest
    assert out.splitlines()[0] == pulled_line(clone, "v0", recipes, remote, (2, 5), have)
    assert not (cache(clone) / "fetching").exists()  # emptied, then removed


def chunks_at(clone: Path, rev: str, remote: PackRemote) -> tuple[list[str], set[bytes]]:
    """The recipe key of the model at REV, and its chunks and its tensor manifest's (one
    chunk, whose id is the manifest's oid: it has no recipe)."""
    import tomllib

    from gitmodel.packs.recipe import chunk_of, decode_recipe

    doc = tomllib.loads(git(clone, "show", f"{rev}:model.safetensors.gitmodel").stdout)
    keys = [f"recipes/{doc['oid'][7:9]}/{doc['oid'][9:]}"]
    manifest = chunk_of(doc["format"]["manifest"])
    return keys, {c.id for k in keys for c in decode_recipe(remote.read(k)).chunks} | {manifest}


def pulled_line(
    clone: Path,
    rev: str,
    recipes: dict[str, int],
    remote: PackRemote,
    counts: tuple[int, int],
    have: set[bytes] = frozenset(),  # type: ignore[assignment]
) -> str:
    """What pull says: the recipes, then one request per pack for the entries it needs (near
    ones merged, with the bytes between them)."""
    keys, ids = chunks_at(clone, rev, remote)
    received = sum(recipes[k] for k in keys)
    by_id = {r.id: r for r in remote_records(remote)}
    needed = ids - have
    for chunk in list(needed):  # and the delta bases the clone lacks, transitively
        while (base := by_id[chunk].base) is not None and base not in have:
            needed.add(base)
            chunk = base
    for key in remote.keys("packs/"):
        if key.endswith(".idx"):
            records = decode_index(remote.read(key), Path(key), key).records
            wanted = [r for r in records if r.id in needed]
            if wanted:
                received += max(r.offset + r.length for r in wanted) - min(r.offset for r in wanted)
    return (
        f"fetched 2 object(s) ({human(raw_size(clone, rev))}) from {label(clone)}; 0 already "
        f"there; received {human(received)}: {counts[0]} chunk(s), {counts[1]} reused from the "
        "cache"
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    return proc.stderr


def shared_project(project: Project, remote: PackRemote, versions: int = 2) -> Path:
    """`work` pushed versions 0..versions-1 (model objects and Git history); a fresh clone."""
    remote.add(project.work)
    for version in range(versions):
        project.versions.append(commit_version(project.work, version))
        gm_ok(project.work, "push", "-q")
    git(project.work, "push", "-q", "origin", "main", "--tags")
    return project.clone("clone", remote)


def flip(remote: PackRemote, key: str, at: int) -> None:
    data = bytearray(remote.read(key))
    data[at] ^= 0x01
    remote.write(key, bytes(data))


@pytest.mark.parametrize("part", ["pack", "idx", "recipe"])
def test_a_flipped_byte_on_the_remote_is_refused_and_never_reaches_the_work_tree(
    project: Project, folder_remote: PackRemote, part: str
) -> None:
    clone = shared_project(project, folder_remote, versions=1)
    (pack,) = folder_remote.keys("packs/pack-")[:1]
    name = pack.rsplit(".", 1)[0]
    if part == "pack":
        size = len(folder_remote.read(f"{name}.pack"))
        flip(folder_remote, f"{name}.pack", size // 2)  # inside a layer's entry
        expected = ".pack on remote origin"
    elif part == "idx":
        flip(folder_remote, f"{name}.idx", 40)
        expected = ".idx on remote origin"
    else:
        recipe = folder_remote.keys("recipes/")[0]
        flip(folder_remote, recipe, 30)
        expected = f"recipe {recipe} on remote origin"
    error = one_line_error(gm(clone, "pull"))
    assert expected in error and " is corrupt" in error
    assert not (clone / "model.safetensors").exists()
    assert list((cache(clone) / "objects").glob("??/*")) == []

    proc = gm(clone, "fsck", "--remote", "origin")
    assert proc.returncode == 1
    damaged = [line for line in proc.stdout.splitlines() if line.startswith("damaged: ")]
    assert damaged and " is corrupt" in damaged[0], proc.stdout
    assert proc.stdout.splitlines()[-1].endswith(f"{len(damaged)} damaged")


def test_a_remote_in_a_newer_layout_is_refused_by_every_command(
    project: Project, folder_remote: PackRemote
) -> None:
    clone = shared_project(project, folder_remote, versions=1)
    folder_remote.write("gitmodel-format", b"4\n")
    line = (
        f"error: remote {label(clone)} is in layout version 4; this git-model reads versions "
        "up to 3 (upgrade git-model: pip install -U git-model)\n"
    )
    for args in (
        ["pull"],
        ["fetch"],
        ["push"],
        ["status", "--remote", "origin"],
        ["gc", "--remote", "origin"],
        ["fsck", "--remote", "origin"],
    ):
        proc = gm(project.work if args == ["push"] else clone, *args)
        assert proc.returncode == 1, args
        assert proc.stderr == line, (args, proc.stderr)


def test_a_remote_in_the_loose_layout_still_works_and_takes_packs(
    project: Project, remote: PackRemote
) -> None:
    work = project.work
    remote.add(work)
    git(work, "config", "model.remoteLayout", "loose")
    first = commit_version(work, 0)
    gm_ok(work, "push", "-q")
    assert "gitmodel-format" not in remote.sizes() and remote.keys("packs/") == []
    assert len(remote.keys("objects/")) == 2
    git(work, "push", "-q", "origin", "main", "--tags")
    clone = project.clone("clone", remote)
    git(clone, "config", "model.remoteLayout", "loose")
    gm_ok(clone, "pull")
    assert (clone / "model.safetensors").read_bytes() == first

    git(work, "config", "model.remoteLayout", "packs")
    second = commit_version(work, 1)
    gm_ok(work, "push", "-q")
    git(work, "push", "-q", "origin", "main", "--tags")
    assert remote.read("gitmodel-format") == b"3\n"
    # nothing deltas against loose objects: an older release's gc may delete them
    assert all(r.depth == 0 and r.base is None for r in remote_records(remote))
    fresh = project.clone("fresh", remote)
    gm_ok(fresh, "pull")
    assert (fresh / "model.safetensors").read_bytes() == second
    git(fresh, "checkout", "-q", "v0")
    gm_ok(fresh, "pull")
    assert (fresh / "model.safetensors").read_bytes() == first
    assert gm(fresh, "status", "--remote", "origin", "--check").returncode == 0


def test_delta_chains_stay_bounded(project: Project, folder_remote: PackRemote) -> None:
    from gitmodel.commands.add import add
    from gitmodel.commands.sync import push

    work = project.work
    folder_remote.add(work)
    for version in range(13):
        write_model(work / "model.safetensors", version)
        add(["model.safetensors"], repo=work)
        git(work, "commit", "-q", "-m", f"v{version}")
        push(repo=work)
    size = ROWS * 256 * 2
    depths = sorted(r.depth for r in remote_records(folder_remote) if r.size == size)
    # layers 0-2 once; layer 3 whole, then each version a delta on the one before, up to the
    # limit of 10; version 11 whole again (its base is at the limit), version 12 on it
    assert depths == sorted([0, 0, 0, 0, *range(1, 11), 0, 1])
    git(work, "push", "-q", "origin", "main")
    clone = project.clone("clone", folder_remote)
    gm_ok(clone, "pull")
    assert (clone / "model.safetensors").read_bytes() == (work / "model.safetensors").read_bytes()


def test_one_push_of_many_versions_chains_them_oldest_first(
    project: Project, folder_remote: PackRemote
) -> None:
    """Pushed together, versions still delta each against the one before it (the order they
    entered the cache), not in the order of their oids: pulling version n into a clone that
    holds version n-1 then needs only version n's deltas."""
    from gitmodel.commands.add import add
    from gitmodel.commands.sync import push
    from gitmodel.packs.store import LocalPacks
    from gitmodel.pointer import parse_pointer

    work = project.work
    folder_remote.add(work)
    commits = []
    for version in range(6):
        write_model(work / "model.safetensors", version)
        add(["model.safetensors"], repo=work)
        git(work, "commit", "-q", "-m", f"v{version}")
        commits.append(git(work, "rev-parse", "HEAD").stdout.strip())
    push(revs=commits, repo=work)

    local = LocalPacks(work / ".git" / "model" / "cache")
    changed = f"layer.{LAYERS - 1}.w"
    layer = []  # each version's chunk of the changed layer, oldest first
    for commit in commits:
        shown = git(work, "show", f"{commit}:model.safetensors.gitmodel").stdout
        pointer = parse_pointer(shown.encode())
        recipe = local.recipe(pointer.oid)
        assert recipe is not None
        (chunk,) = [c.id for c in recipe.chunks if (s := recipe.slot(c)) and s.name == changed]
        layer.append(chunk)
    records = {r.id: r for r in remote_records(folder_remote)}
    assert [(records[c].base, records[c].depth) for c in layer] == [
        (None, 0),
        *[(layer[n - 1], n) for n in range(1, 6)],
    ]

    # the next push: a delta on the newest version there, whatever order its recipes got
    write_model(work / "model.safetensors", 6)
    (added,) = add(["model.safetensors"], repo=work)
    git(work, "commit", "-q", "-m", "v6")
    push(repo=work)
    recipe = local.recipe(added.pointer.oid)
    assert recipe is not None
    (newest,) = [c.id for c in recipe.chunks if (s := recipe.slot(c)) and s.name == changed]
    record = {r.id: r for r in remote_records(folder_remote)}[newest]
    assert (record.base, record.depth) == (layer[5], 6)


def write_many(path: Path, count: int = 80) -> bytes:
    """A model of many small tensors (32 KiB each): many chunks, many small packs."""
    rng = np.random.default_rng(11)
    save_file(
        {f"t{i:03}": rng.normal(0, 0.02, (64, 256)).astype(np.float16) for i in range(count)},
        str(path),
    )
    return path.read_bytes()


def recipe_chunks(remote: PackRemote) -> set[bytes]:
    from gitmodel.packs.recipe import decode_recipe

    return {c.id for key in remote.keys("recipes/") for c in decode_recipe(remote.read(key)).chunks}


def manifest_chunk(repo: Path) -> bytes:
    """The one chunk of the tensor manifest of HEAD's model.safetensors (no recipe names it:
    its id is the manifest's oid)."""
    import tomllib

    from gitmodel.packs.recipe import chunk_of

    doc = tomllib.loads(git(repo, "show", "HEAD:model.safetensors.gitmodel").stdout)
    return chunk_of(doc["format"]["manifest"])


def indexed_chunks(remote: PackRemote) -> set[bytes]:
    """Chunks of the packs whose index arrived (what a later push counts as there)."""
    keys = remote.sizes()
    return {
        r.id
        for key in keys
        if key.endswith(".idx") and key.removesuffix(".idx") + ".pack" in keys
        for r in decode_index(remote.read(key), Path(key), key).records
    }


def committed(remote: PackRemote) -> int:
    """The bytes of the packs whose index arrived, and of their indexes (a pack without its
    index, which a killed push left, is sent again under the same name)."""
    sizes = remote.sizes()
    return sum(
        size
        for key, size in sizes.items()
        if key.startswith("packs/") and (key.endswith(".idx") or f"{key[:-5]}.idx" in sizes)
    )


def kill_when(args: list[str], cwd: Path, ready: Any, env: dict[str, str]) -> None:
    """Run `git-model ARGS` (the console script: SIGKILL must hit the process that works)
    and kill it with SIGKILL once `ready()` holds; fail if it finished first."""
    script = Path(sys.executable).parent / "git-model"
    proc = subprocess.Popen(
        [str(script), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    still_running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert still_running, "it finished before it could be interrupted"
    time.sleep(0.2)


SENT = r"sent (.+): (\d+) new chunk\(s\), (\d+) already on origin"
RECEIVED = r"received (.+): (\d+) chunk\(s\), (\d+) reused from the cache"


def test_a_killed_push_and_a_killed_pull_resume_without_sending_again(
    project: Project, remote: PackRemote, monkeypatch: pytest.MonkeyPatch
) -> None:
    import re

    work = project.work
    remote.add(work)
    data = write_many(work / "model.safetensors")
    gm_ok(work, "add", "-q", "model.safetensors")
    git(work, "commit", "-q", "-m", "many tensors")
    git(work, "push", "-q", "origin", "main")
    env = {**os.environ, "GIT_MODEL_PACK_SIZE": "40000"}  # about one tensor a pack

    kill_when(["push", "-j", "1"], work, lambda: len(remote.keys("packs/")) >= 8, env)
    landed = {k for k in remote.keys("packs/") if k.endswith(".idx")}
    there = indexed_chunks(remote)
    assert there and remote.keys("recipes/") == []  # the recipes go last: nothing is "pushed"
    before = committed(remote)
    monkeypatch.setenv("GIT_MODEL_PACK_SIZE", "40000")
    out = gm_ok(work, "push")
    sent, new, reused = re.search(SENT, out).groups()  # type: ignore[union-attr]
    everything = recipe_chunks(remote) | {manifest_chunk(work)}
    assert int(reused) == len(there & everything) and int(new) == len(everything - there)
    recipes = sum(len(remote.read(k)) for k in remote.keys("recipes/"))
    assert sent == human(committed(remote) + recipes - before)
    assert landed <= set(remote.keys("packs/"))  # the packs that arrived were not sent again

    clone = project.clone("clone", remote)
    fetching = cache(clone) / "fetching"
    recipes = remote_recipes(remote)  # read once: the check below runs every 10 ms
    kill_when(
        ["pull", "-j", "1"],
        clone,
        lambda: len(chunks_in_part_files(fetching, recipes)) >= 4,
        {**os.environ, "GIT_MODEL_PACK_SIZE": "40000"},
    )
    waiting = chunks_in_part_files(fetching, recipes)
    assert not (clone / "model.safetensors").exists()
    out = gm_ok(clone, "pull")
    _, fetched, kept = re.search(RECEIVED, out).groups()  # type: ignore[union-attr]
    assert int(kept) == len(waiting) and int(fetched) == len(everything) - len(waiting)
    assert (clone / "model.safetensors").read_bytes() == data
    assert not fetching.exists()


def remote_recipes(remote: PackRemote) -> list[Any]:
    from gitmodel.packs.recipe import decode_recipe

    return [decode_recipe(remote.read(key)) for key in remote.keys("recipes/")]


def chunks_in_part_files(fetching: Path, recipes: list[Any]) -> set[bytes]:
    """The chunks a pull has written into its part files so far (docs/pack-format.md, 10.3):
    each chunk range of `fetching/<oid hex>.part` that hashes to its chunk id."""
    import xxhash

    found = set()
    for recipe in recipes:
        try:
            data = (fetching / f"{recipe.oid.removeprefix('xxh128:')}.part").read_bytes()
        except FileNotFoundError:
            continue
        offset = 0
        for chunk in recipe.chunks:
            if xxhash.xxh3_128_digest(data[offset : offset + chunk.size]) == chunk.id:
                found.add(chunk.id)
            offset += chunk.size
    return found


def layer_ids(model: bytes) -> bytes:
    """The chunk id of the last layer of a model written by `write_model`."""
    import json
    import struct

    import xxhash

    (length,) = struct.unpack_from("<Q", model)
    begin, end = json.loads(model[8 : 8 + length])[f"layer.{LAYERS - 1}.w"]["data_offsets"]
    return xxhash.xxh3_128_digest(model[8 + length + begin : 8 + length + end])


def age(folder: Path, hours: float) -> None:
    """Make every file of a folder remote `hours` older (keeping which is newer)."""
    for path in folder.rglob("*"):
        then = path.stat().st_mtime - hours * 3600
        os.utime(path, (then, then))


def test_gc_remote_drops_unneeded_recipes_and_rewrites_packs_keeping_live_bases(
    project: Project, folder_remote: PackRemote
) -> None:
    remote, work = folder_remote, project.work
    assert remote.folder is not None
    remote.add(work)
    v0 = commit_version(work, 0)
    gm_ok(work, "push", "-q")
    git(work, "checkout", "-q", "-b", "experiment")
    commit_version(work, 1)  # pushed, then abandoned: its layer 3 stays as v2's delta base
    gm_ok(work, "push", "-q")
    git(work, "checkout", "-q", "main")
    git(work, "tag", "-d", "v1")
    git(work, "branch", "-q", "-D", "experiment")
    v2 = write_model(work / "model.safetensors", 2)
    gm_ok(work, "add", "-q", "model.safetensors")
    git(work, "commit", "-q", "-m", "version 2")
    gm_ok(work, "push", "-q")
    git(work, "push", "-q", "origin", "main", "--tags")
    packs = sorted(k for k in remote.keys("packs/") if k.endswith(".idx"))
    assert len(packs) == 3

    out = gm_ok(work, "gc", "--remote", "origin")  # everything is younger than the grace
    assert "kept 2 unneeded object(s) written in the last 24 h" in out
    assert "packs: deleted 0, rewrote 0 into 0, kept 0 and 3 recent or in use by a push\n" in out

    age(remote.folder, 48)
    keep = "keeps/20260101T000000Z-0123456789abcdef"
    names = [p.removeprefix("packs/").removesuffix(".idx") for p in packs]
    remote.write(keep, "".join(f"{n}\n" for n in names).encode())  # a push relies on them
    out = gm_ok(work, "gc", "--remote", "origin", "--grace", "1")
    assert "packs: deleted 0, rewrote 0 into 0, kept 0 and 3 recent or in use by a push\n" in out
    assert len(remote.keys("recipes/")) == 2  # the abandoned version's recipe is gone

    age(remote.folder, 48)
    before = remote.stored()
    old_packs = {k: remote.read(k) for k in remote.keys("packs/")}
    out = gm_ok(work, "gc", "--remote", "origin", "--grace", "1", "--json")
    import json

    report = json.loads(out)
    # pushes made v1 a delta on v0 and v2 one on v1: repacked, v2 is whole, v0 a delta on it,
    # and v1's chunks are gone but for nothing
    assert report["packs"]["repacked"] is True and report["packs"]["kept"] == 0
    assert len(report["packs"]["rewritten"]) == 3 and len(report["packs"]["new"]) == 2
    assert report["packs"]["deleted"] == []
    assert report["freed"] == before - remote.stored() > 0
    assert remote.keys("keeps/") == []  # expired
    layers = {r.id: r for r in remote_records(remote) if r.size == ROWS * 256 * 2}
    v0_layer, v2_layer = layer_ids(v0), layer_ids(v2)
    assert len(layers) == 4 + 1  # layers 0-3 of v0 and v2's layer 3: v1's went
    assert layers[v2_layer].base is None and layers[v0_layer].base == v2_layer
    # the newest chunks in a pack of their own, the older versions' deltas in another
    newest, older = sorted(
        (
            decode_index(remote.read(f"packs/{n}.idx"), Path(n), n).ids
            for n in report["packs"]["new"]
        ),
        key=len,
        reverse=True,
    )
    assert older == [v0_layer] and v2_layer in newest and v0_layer not in newest
    check_remote_and_pull(project, remote, work, v0, v2, "clone")
    age(remote.folder, 48)
    out = gm_ok(work, "gc", "--remote", "origin", "--grace", "1")
    assert "packs: deleted 0, rewrote 0 into 0, kept 2\n" in out  # nothing more to do

    # a repack killed after its new pack went up, before the old ones were deleted: both
    # generations hold v0's layer 3, at other depths; readers take the least deep copy
    repacked = remote.keys("packs/")
    for key, data in old_packs.items():
        remote.write(key, data)
    check_remote_and_pull(project, remote, work, v0, v2, "mixed")
    age(remote.folder, 48)
    out = gm_ok(work, "gc", "--remote", "origin", "--grace", "1")
    # v1's pack is dead; v0's and v2's are rewritten into packs that come out the same as
    # the ones the first repack made (same chunks, same bytes, same names): those stay
    assert "packs: deleted 1, rewrote 2 into 2, kept 0; repacked" in out
    assert sorted(remote.keys("packs/")) == sorted(repacked)
    check_remote_and_pull(project, remote, work, v0, v2, "after")


def check_remote_and_pull(
    project: Project, remote: PackRemote, work: Path, v0: bytes, v2: bytes, name: str
) -> None:
    proc = gm(work, "fsck", "--remote", "origin")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == f"checked 4 object(s) in {label(work)}: 0 corrupt, 0 missing\n"
    clone = project.clone(name, remote)
    gm_ok(clone, "pull")
    assert (clone / "model.safetensors").read_bytes() == v2
    git(clone, "checkout", "-q", "v0")
    gm_ok(clone, "pull")
    assert (clone / "model.safetensors").read_bytes() == v0


def test_a_packed_file_is_checked_against_the_digest_its_pointer_records(
    project: Project, folder_remote: PackRemote
) -> None:
    import hashlib

    work = project.work
    folder_remote.add(work)
    data = write_model(work / "model.safetensors", 0)
    gm_ok(work, "add", "-q", "model.safetensors", "--digest", "sha256")
    git(work, "commit", "-q", "-m", "with a digest")
    assert gm_ok(work, "push", "-q") == ""
    git(work, "push", "-q", "origin", "main")
    clone = project.clone("clone", folder_remote)
    pointer = clone / "model.safetensors.gitmodel"
    right = "sha256:" + hashlib.sha256(data).hexdigest()
    wrong = "sha256:" + hashlib.sha256(b"other bytes").hexdigest()
    assert f'digest = "{right}"' in pointer.read_text()
    pointer.write_text(pointer.read_text().replace(right, wrong))

    error = one_line_error(gm(clone, "pull"))
    assert f"does not match its recorded digest: expected {wrong}, got {right}" in error
    assert "; the bad bytes were not kept" in error
    assert not (clone / "model.safetensors").exists()
    assert len(list((cache(clone) / "objects").glob("??/*"))) == 1  # the tensor manifest only

    git(clone, "checkout", "-q", "--", "model.safetensors.gitmodel")
    gm_ok(clone, "pull")
    assert (clone / "model.safetensors").read_bytes() == data
