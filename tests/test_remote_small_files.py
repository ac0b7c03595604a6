"""Files of one chunk on a remote in the packed layout (docs/pack-format.md, 10.1): no recipe
each, the index that lists the chunk is their commit point. A folder of many small files goes
up as one pack and its index; status, gc, fsck and du --remote find them through the indexes;
a remote of layout version 2 (a recipe for every file) still reads; a killed push resumes.
Against a folder remote and the local S3 server (moto)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gitmodel.packs.recipe import chunk_of, encode_recipe, single_chunk_recipe
from tests import test_remote_packs as packs
from tests.helpers import git, gm, gm_ok
from tests.test_remote_packs import (
    RECEIVED,
    SENT,
    PackRemote,
    Project,
    age,
    cache,
    committed,
    human,
    indexed_chunks,
    kill_when,
    label,
)
from tests.test_remotes import s3_client  # noqa: F401  (a fixture)

# The fixtures of tests/test_remote_packs.py: a project, a folder remote, and each kind.
project = packs.project
folder_remote = packs.folder_remote
remote = packs.remote


def write_files(folder: Path, count: int, seed: int = 5) -> dict[str, bytes]:
    """`count` files of random bytes, 1 to 8 KiB each (each one chunk: below FastCDC's
    minimum)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for i in range(count):
        data = rng.bytes(1024 * (1 + i % 8))
        (folder / f"part-{i:04d}.bin").write_bytes(data)
        written[f"part-{i:04d}.bin"] = data
    return written


def commit_files(work: Path, count: int, seed: int = 5) -> dict[str, bytes]:
    files = write_files(work / "data", count, seed)
    gm_ok(work, "add", "-q", "data")
    git(work, "commit", "-q", "-m", f"{count} files")
    return files


def oids_of(repo: Path, rev: str = "HEAD") -> set[str]:
    """The oids of the folder `data` at REV: its manifest and its files."""
    import tomllib

    doc = tomllib.loads(git(repo, "show", f"{rev}:data.gitmodel").stdout)
    digits = doc["oid"].removeprefix("xxh128:")
    manifest = json.loads((cache(repo) / "objects" / digits[:2] / digits[2:]).read_bytes())
    files = manifest["files"] if isinstance(manifest, dict) else manifest
    return {doc["oid"], *(entry["oid"] for entry in _entries(files))}


def _entries(files: object) -> list[dict[str, str]]:
    if isinstance(files, dict):
        return list(files.values())
    assert isinstance(files, list)
    return files


def test_small_files_go_up_as_one_pack_without_recipes_and_come_back(
    project: Project, remote: PackRemote
) -> None:
    work = project.work
    remote.add(work)
    files = commit_files(work, 120)
    out = gm_ok(work, "push")
    keys = sorted(remote.sizes())
    assert keys[0] == "gitmodel-format" and remote.read("gitmodel-format") == b"3\n"
    (index, pack) = keys[1:]
    assert pack.startswith("packs/pack-") and pack.endswith(".pack")
    assert index == pack.removesuffix(".pack") + ".idx"
    there = indexed_chunks(remote)
    assert {chunk_of(oid) for oid in oids_of(work)} == there  # the manifest too: one chunk
    raw = sum(map(len, files.values()))
    line = out.splitlines()[0]
    assert line.startswith(f"pushed 121 object(s) ({human(raw + _manifest_size(work))}) to ")
    assert line.endswith(f"; sent {human(remote.stored())}: 121 new chunk(s), 0 already on origin")
    assert gm_ok(work, "push").startswith("pushed 0 object(s) (0 B) ")  # nothing more to send
    assert sorted(remote.sizes()) == keys
    git(work, "push", "-q", "origin", "main")
    assert gm(work, "status", "--remote", "origin", "--check").returncode == 0

    clone = project.clone("clone", remote)
    out = gm_ok(clone, "pull")
    assert re_search(RECEIVED, out)[1:] == ("121", "0")
    assert {p.name: p.read_bytes() for p in (clone / "data").iterdir()} == files
    status = gm(clone, "status", "--remote", "origin", "--check")
    assert status.returncode == 0, status.stdout + status.stderr
    assert not (cache(clone) / "recipes").exists()  # a file of one chunk needs none here either
    assert not (cache(clone) / "fetching").exists()  # files of one chunk go straight in
    usage = json.loads(gm_ok(clone, "du", "--remote", "origin", "--json"))
    assert (usage["objects"], usage["raw"]) == (121, raw + _manifest_size(work))
    assert usage["recipes"] == {"files": 0, "bytes": 0}


def _manifest_size(repo: Path) -> int:
    import tomllib

    doc = tomllib.loads(git(repo, "show", "HEAD:data.gitmodel").stdout)
    digits = doc["oid"].removeprefix("xxh128:")
    return (cache(repo) / "objects" / digits[:2] / digits[2:]).stat().st_size


def re_search(pattern: str, text: str) -> tuple[str, ...]:
    import re

    found = re.search(pattern, text)
    assert found is not None, text
    return found.groups()


def test_status_remote_names_a_small_file_the_remote_lacks(
    project: Project, folder_remote: PackRemote
) -> None:
    work = project.work
    folder_remote.add(work)
    commit_files(work, 10)
    gm_ok(work, "push", "-q")
    (work / "data" / "part-0003.bin").write_bytes(b"changed, not pushed")
    gm_ok(work, "add", "-q", "data")
    git(work, "commit", "-q", "-m", "one file changed")
    proc = gm(work, "status", "--remote", "origin", "--check")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1] == (  # the new file and the folder's new manifest
        f"not pushed              data: 2 object(s) missing on {label(work)}"
    )
    gm_ok(work, "push", "-q")
    assert gm(work, "status", "--remote", "origin", "--check").returncode == 0


def test_gc_remote_keeps_small_files_while_needed_and_drops_them_after(
    project: Project, folder_remote: PackRemote
) -> None:
    remote, work = folder_remote, project.work
    assert remote.folder is not None
    remote.add(work)
    old = commit_files(work, 20, seed=1)
    old_oids = oids_of(work)
    gm_ok(work, "push", "-q")
    git(work, "checkout", "-q", "-b", "experiment")
    for name in list(old)[:5]:  # an abandoned experiment changes five files
        (work / "data" / name).write_bytes(os.urandom(2048))
    gm_ok(work, "add", "-q", "data")
    git(work, "commit", "-q", "-m", "experiment")
    abandoned = oids_of(work) - old_oids
    gm_ok(work, "push", "-q")
    git(work, "checkout", "-q", "main")
    git(work, "branch", "-q", "-D", "experiment")
    gm_ok(work, "checkout", "data")
    assert len(abandoned) == 6  # five files and the folder's manifest

    out = gm_ok(work, "gc", "--remote", "origin")  # everything is younger than the grace
    assert "kept 6 unneeded object(s) written in the last 24 h" in out
    assert indexed_chunks(remote) >= {chunk_of(o) for o in old_oids | abandoned}

    age(remote.folder, 48)
    out = gm_ok(work, "gc", "--remote", "origin", "--grace", "1", "-n", "--json")
    report = json.loads(out)
    assert sorted(entry["oid"] for entry in report["deleted"]) == sorted(abandoned)
    gm_ok(work, "gc", "--remote", "origin", "--grace", "1")
    assert indexed_chunks(remote) == {chunk_of(o) for o in old_oids}
    assert remote.keys("recipes/") == []
    proc = gm(work, "fsck", "--remote", "origin")
    assert proc.stdout == f"checked 21 object(s) in {label(work)}: 0 corrupt, 0 missing\n"
    git(work, "push", "-q", "origin", "main")
    clone = project.clone("clone", remote)
    gm_ok(clone, "pull")
    assert {p.name: p.read_bytes() for p in (clone / "data").iterdir()} == old


def test_fsck_remote_finds_a_flipped_byte_in_a_small_file(
    project: Project, folder_remote: PackRemote
) -> None:
    from gitmodel.packs.packfile import decode_index

    remote, work = folder_remote, project.work
    remote.add(work)
    files = commit_files(work, 6)
    gm_ok(work, "push", "-q")
    git(work, "push", "-q", "origin", "main")
    (index,) = [k for k in remote.keys("packs/") if k.endswith(".idx")]
    records = decode_index(remote.read(index), Path(index), index).records
    victim = next(r for r in records if r.size == len(files["part-0002.bin"]))
    data = bytearray(remote.read(index.removesuffix(".idx") + ".pack"))
    data[victim.offset + victim.length - 7] ^= 0x01  # inside its stored bytes
    remote.write(index.removesuffix(".idx") + ".pack", bytes(data))

    proc = gm(work, "fsck", "--remote", "origin")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(line.startswith("damaged: ") and " is corrupt" in line for line in lines)
    assert f"corrupt xxh128:{victim.id.hex()} on {label(work)}" in proc.stdout
    clone = project.clone("clone", remote)
    error = gm(clone, "pull")
    assert error.returncode == 1 and " is corrupt" in error.stderr
    assert not (clone / "data").exists()


def test_a_remote_of_layout_2_with_a_recipe_for_every_file_still_reads(
    project: Project, folder_remote: PackRemote
) -> None:
    """What an older release left: recipes for files of one chunk too, marker 2. It reads;
    a push that adds a file without a recipe raises the marker to 3 first."""
    remote, work = folder_remote, project.work
    remote.add(work)
    files = commit_files(work, 8)
    gm_ok(work, "push", "-q")
    for oid in oids_of(work):
        size = (cache(work) / "objects" / oid[7:9] / oid[9:]).stat().st_size
        remote.write(f"recipes/{oid[7:9]}/{oid[9:]}", encode_recipe(single_chunk_recipe(oid, size)))
    remote.write("gitmodel-format", b"2\n")
    git(work, "push", "-q", "origin", "main")

    clone = project.clone("clone", remote)
    gm_ok(clone, "pull")
    assert {p.name: p.read_bytes() for p in (clone / "data").iterdir()} == files
    assert gm(clone, "status", "--remote", "origin", "--check").returncode == 0
    proc = gm(clone, "fsck", "--remote", "origin")
    assert proc.stdout == f"checked 9 object(s) in {label(clone)}: 0 corrupt, 0 missing\n"
    assert remote.read("gitmodel-format") == b"2\n"  # reading changes nothing

    (clone / "data" / "new.bin").write_bytes(b"one more small file")
    gm_ok(clone, "add", "-q", "data")
    git(clone, "commit", "-q", "-m", "one more")
    gm_ok(clone, "push", "-q")
    assert remote.read("gitmodel-format") == b"3\n"


def test_a_release_that_reads_only_layout_2_refuses_layout_3(
    project: Project, folder_remote: PackRemote, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older release knows versions up to 2: it says to upgrade rather than calling the
    files without a recipe missing."""
    from gitmodel.errors import UsageError
    from gitmodel.git import GitRepo
    from gitmodel.remotes import layout
    from gitmodel.remotes.config import resolve_remote

    work = project.work
    folder_remote.add(work)
    commit_files(work, 3)
    gm_ok(work, "push", "-q")
    assert folder_remote.read("gitmodel-format") == b"3\n"
    monkeypatch.setattr(layout, "FORMAT_VERSION", 2)
    target = resolve_remote(GitRepo.discover(work), "origin")
    with pytest.raises(UsageError) as refused:
        layout.read_format(target)
    assert refused.value.message == (
        f"remote {label(work)} is in layout version 3; this git-model reads versions up to 2"
    )
    assert refused.value.hint == "upgrade git-model: pip install -U git-model"


def test_a_killed_push_of_small_files_resumes_without_sending_again(
    project: Project, remote: PackRemote, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = project.work
    remote.add(work)
    files = commit_files(work, 300)
    git(work, "push", "-q", "origin", "main")
    env = {**os.environ, "GIT_MODEL_PACK_SIZE": "40000"}  # about eight files a pack

    kill_when(["push", "-j", "1"], work, lambda: len(remote.keys("packs/")) >= 8, env)
    landed = {k for k in remote.keys("packs/") if k.endswith(".idx")}
    there = indexed_chunks(remote)
    assert there and remote.keys("recipes/") == []
    before = committed(remote)
    monkeypatch.setenv("GIT_MODEL_PACK_SIZE", "40000")
    out = gm_ok(work, "push")
    sent, new, reused = re_search(SENT, out)
    everything = {chunk_of(oid) for oid in oids_of(work)}
    # the files in packs that arrived are on the remote: already there, not even reused
    (already,) = re_search(r"; (\d+) already there;", out)
    assert int(already) == len(there & everything) and int(reused) == 0
    assert int(new) == len(everything - there)
    assert sent == human(committed(remote) - before)
    assert landed <= set(remote.keys("packs/"))  # the packs that arrived were not sent again
    assert indexed_chunks(remote) == everything

    clone = project.clone("clone", remote)
    gm_ok(clone, "pull")
    assert {p.name: p.read_bytes() for p in (clone / "data").iterdir()} == files


def test_gc_remote_keeps_a_needed_small_file_that_is_also_a_chunk_of_a_file_that_goes(
    project: Project, folder_remote: PackRemote
) -> None:
    """A small file whose bytes are a tensor of a model: the model's recipe names that chunk,
    so the file needs no bytes of its own on the remote. When the model goes, the chunk stays
    for the file."""
    from gitmodel.packs.recipe import decode_recipe
    from tests.helpers import write_safetensors

    remote, work = folder_remote, project.work
    assert remote.folder is not None
    remote.add(work)
    layer = os.urandom(4096)
    (work / "layer.bin").write_bytes(layer)
    gm_ok(work, "add", "-q", "layer.bin")
    git(work, "commit", "-q", "-m", "a layer")
    git(work, "checkout", "-q", "-b", "experiment")
    tensors = {"w": ("F16", [2048], layer), "b": ("F16", [8], 1)}
    write_safetensors(work / "model.safetensors", tensors)
    gm_ok(work, "add", "-q", "model.safetensors")
    git(work, "commit", "-q", "-m", "a model with that layer")
    gm_ok(work, "push", "-q")
    layer_oid = _oid(work, "layer.bin")
    assert chunk_of(layer_oid) in {  # pushed as the model's chunk: the model's recipe names it
        c.id for c in decode_recipe(remote.read(remote.keys("recipes/")[0])).chunks
    }
    git(work, "checkout", "-q", "main")
    git(work, "branch", "-q", "-D", "experiment")

    age(remote.folder, 48)
    gm_ok(work, "gc", "--remote", "origin", "--grace", "1")
    assert remote.keys("recipes/") == []  # the model went
    assert chunk_of(layer_oid) in indexed_chunks(remote)  # the file stayed
    git(work, "push", "-q", "origin", "main")
    clone = project.clone("clone", remote)
    gm_ok(clone, "pull")
    assert (clone / "layer.bin").read_bytes() == layer


def _oid(repo: Path, path: str) -> str:
    import tomllib

    return str(tomllib.loads(git(repo, "show", f"HEAD:{path}.gitmodel").stdout)["oid"])
