"""`git model gc` packs the local cache: what no work tree uses leaves its loose copy, every
version still checks out byte for byte, and shared caches keep what any work tree links to."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from tests.helpers import git, gm, gm_ok, kill_when, spawn_gm

CACHE = Path(".git") / "model" / "cache"


def checkpoint(path: Path, step: int, side: int = 512, layers: int = 4) -> bytes:
    """Version `step` of an F16 fine-tune: Gaussian weights, N(0, 1e-3) added per step."""
    rng = np.random.default_rng(0)
    tensors = {f"layer{i}.weight": rng.standard_normal((side, side)) * 0.02 for i in range(layers)}
    for s in range(1, step + 1):
        noise = np.random.default_rng(100 + s)
        for name in tensors:
            tensors[name] = tensors[name] + noise.standard_normal((side, side)) * 1e-3
    save_file({k: v.astype(np.float16) for k, v in tensors.items()}, str(path))
    return path.read_bytes()


def train(repo: Path, count: int, **shape: int) -> list[bytes]:
    """`count` versions of model `m` at model.safetensors: added, committed and tagged."""
    versions = []
    for step in range(1, count + 1):
        versions.append(checkpoint(repo / "model.safetensors", step, **shape))
        gm_ok(repo, "add", "-q", "model.safetensors", "--name", "m")
        git(repo, "commit", "-q", "-m", f"train {step}")
        gm_ok(repo, "tag", "m")
    return versions


def oid_of(repo: Path, rev: str = "HEAD") -> str:
    text = git(repo, "show", f"{rev}:model.safetensors.gitmodel").stdout
    return next(line.split('"')[1] for line in text.splitlines() if line.startswith("oid ="))


def loose(cache: Path, oid: str) -> bool:
    digits = oid.removeprefix("xxh128:")
    return (cache / "objects" / digits[:2] / digits[2:]).exists()


def tags(count: int) -> list[str]:
    return [f"m@v0.1.{i}" for i in range(count)]


def test_gc_packs_what_no_work_tree_uses_and_every_version_checks_out(repo: Path) -> None:
    versions = train(repo, 4)
    oids = [oid_of(repo, tag) for tag in tags(4)]
    assert gm_ok(repo, "gc", "--dry-run").splitlines()[1] == (
        "would drop the loose copies of 3 packed object(s), 6.0 MiB; "
        "1 checked-out object(s) stay loose"
    )
    assert all(loose(repo / CACHE, oid) for oid in oids)
    assert not (repo / CACHE / "packs").exists()
    out = gm_ok(repo, "gc")
    assert out.splitlines() == [
        "deleted 0 object(s), 0 B, from local cache; kept 8 needed by all-refs of 1 repository",
        "dropped the loose copies of 3 packed object(s), 6.0 MiB; wrote 1 pack(s); "
        "1 checked-out object(s) stay loose",
    ]
    assert [loose(repo / CACHE, oid) for oid in oids] == [False, False, False, True]
    packs = sorted(p.name for p in (repo / CACHE / "packs").iterdir())
    assert [p.rsplit(".", 1)[1] for p in packs] == ["idx", "pack"]
    # Stored: less than the four raw copies (8 MiB), newest whole, older ones as deltas.
    assert (repo / CACHE / "packs" / packs[1]).stat().st_size < 0.8 * 4 * len(versions[0])
    assert gm_ok(repo, "status") == "up to date              model.safetensors\n"
    for tag, content in zip(tags(4), versions, strict=True):
        assert gm_ok(repo, "checkout", tag).endswith("1 restored, 0 already up to date\n")
        assert (repo / "model.safetensors").read_bytes() == content
        assert gm_ok(repo, "status") == "up to date              model.safetensors\n"
    # Copy mode reassembled each packed version straight into the work tree: no loose copy
    # was written, so gc has nothing to do.
    assert [loose(repo / CACHE, oid) for oid in oids] == [False, False, False, True]
    assert gm_ok(repo, "gc").splitlines()[1:] == []


def test_a_packed_version_is_in_the_cache_for_status_and_checkout(repo: Path) -> None:
    versions = train(repo, 2)
    gm_ok(repo, "gc")
    git(repo, "checkout", "-q", "HEAD~1", "--", "model.safetensors.gitmodel")
    assert not loose(repo / CACHE, oid_of(repo, "HEAD~1"))
    assert gm_ok(repo, "status") == (
        "stale                   model.safetensors: pointer changed; run `git model checkout`\n"
    )
    (repo / "model.safetensors").unlink()
    assert gm_ok(repo, "status") == "missing from work tree  model.safetensors\n"
    gm_ok(repo, "checkout")
    assert (repo / "model.safetensors").read_bytes() == versions[0]
    assert stat.S_IMODE(os.stat(repo / "model.safetensors").st_mode) == 0o644
    assert not loose(repo / CACHE, oid_of(repo, "HEAD~1"))  # reassembled in place: copy mode
    assert gm_ok(repo, "status") == "up to date              model.safetensors\n"
    assert gm_ok(repo, "gc").splitlines()[1:] == []  # it stays packed


def test_checkout_verify_unpacks_a_packed_version_and_checks_it(repo: Path) -> None:
    versions = train(repo, 2)
    gm_ok(repo, "gc")
    gm_ok(repo, "checkout", "--verify", "m@v0.1.0")
    assert (repo / "model.safetensors").read_bytes() == versions[0]
    assert loose(repo / CACHE, oid_of(repo, "m@v0.1.0"))  # rehashed as a loose object


@pytest.mark.parametrize("mode", ["hardlink", "symlink"])
def test_a_link_mode_unpacks_a_packed_version_into_the_cache_first(repo: Path, mode: str) -> None:
    versions = train(repo, 2)
    gm_ok(repo, "gc")
    git(repo, "config", "model.linkType", f"{mode},copy")
    gm_ok(repo, "checkout", "m@v0.1.0")
    assert (repo / "model.safetensors").read_bytes() == versions[0]
    oid = oid_of(repo, "m@v0.1.0")
    assert loose(repo / CACHE, oid)  # what the link points to
    digits = oid.removeprefix("xxh128:")
    obj = os.stat(repo / CACHE / "objects" / digits[:2] / digits[2:])
    placed = os.stat(repo / "model.safetensors")  # through the symlink
    assert (placed.st_ino, placed.st_dev) == (obj.st_ino, obj.st_dev)
    assert gm_ok(repo, "status") == "up to date              model.safetensors\n"


def test_model_pack_loose_false_keeps_every_loose_object(repo: Path) -> None:
    train(repo, 2)
    git(repo, "config", "model.packLoose", "false")
    assert gm_ok(repo, "gc").splitlines()[1:] == []
    assert not (repo / CACHE / "packs").exists()
    assert all(loose(repo / CACHE, oid_of(repo, tag)) for tag in tags(2))
    git(repo, "config", "model.packLoose", "maybe")
    proc = gm(repo, "gc")
    assert (proc.returncode, proc.stderr) == (
        1,
        "error: model.packLoose is 'maybe', not a boolean "
        "(set it with `git config model.packLoose false` (or true))\n",
    )


def test_small_objects_and_manifests_stay_loose(repo: Path) -> None:
    train(repo, 2, side=64)  # 32 KiB versions: under the 1 MiB floor
    assert gm_ok(repo, "gc").splitlines()[1:] == []
    assert not (repo / CACHE / "packs").exists()


def test_unneeded_packed_versions_are_deleted_and_the_pack_rewritten(repo: Path) -> None:
    versions = train(repo, 3)
    gm_ok(repo, "gc")
    (before,) = (repo / CACHE / "packs").glob("*.pack")
    size_before = before.stat().st_size
    dropped = oid_of(repo, "HEAD~1")
    git(repo, "tag", "-d", "m@v0.1.1", "m@v0.1.2")
    git(repo, "reset", "-q", "--soft", "HEAD~2")  # version 2 leaves the history
    git(repo, "commit", "-q", "-m", "train 1 and 3")
    proc = gm(repo, "gc", "--dry-run")
    assert f"would delete {dropped} (2.0 MiB)" in proc.stdout.splitlines()
    out = gm_ok(repo, "gc").splitlines()
    assert out[1] == f"deleted {dropped} (2.0 MiB)"  # after its tensor manifest, loose
    assert out[2].startswith("deleted 2 object(s), 2.0 MiB, from local cache; kept 4 needed")
    assert out[3] == (
        "dropped the loose copies of 0 packed object(s), 0 B; wrote 1 pack(s); "
        "1 checked-out object(s) stay loose"
    )
    (after,) = (repo / CACHE / "packs").glob("*.pack")
    assert after != before and after.stat().st_size < 0.8 * size_before
    assert not (repo / CACHE / "recipes" / dropped[7:9] / dropped[9:]).exists()
    gm_ok(repo, "checkout", "m@v0.1.0")
    assert (repo / "model.safetensors").read_bytes() == versions[0]


def test_a_corrupt_pack_is_refused_and_never_reaches_the_work_tree(repo: Path) -> None:
    versions = train(repo, 2)
    gm_ok(repo, "gc")
    (pack,) = (repo / CACHE / "packs").glob("*.pack")
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    for at in range(1000, len(data) - 100, 4096):
        data[at] ^= 0xFF
    pack.write_bytes(bytes(data))
    proc = gm(repo, "checkout", "m@v0.1.0")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: chunk ")
    assert proc.stderr.endswith(
        "(run `git model fsck`; fetch the object again from a remote that has it)\n"
    )
    assert (repo / "model.safetensors").read_bytes() == versions[1]
    for temps in (repo / CACHE / "tmp", repo / ".git" / "model" / "tmp"):  # work-tree temps
        leftovers = [p for p in temps.glob("*") if not p.name.endswith(".owner")]
        assert leftovers == []
    assert sorted(p.name for p in repo.iterdir()) == [
        ".git",
        ".gitignore",
        "README.md",
        "model.safetensors",
        "model.safetensors.gitmodel",
    ]
    assert not loose(repo / CACHE, oid_of(repo, "m@v0.1.0"))


def share(cache: Path, *repos: Path) -> None:
    for r in repos:
        git(r, "config", "model.cache", str(cache))


@pytest.mark.parametrize("mode", ["hardlink", "symlink", "copy"])
def test_a_shared_cache_keeps_every_object_a_work_tree_links_to(
    tmp_path: Path, repo: Path, mode: str
) -> None:
    cache = tmp_path / "shared-cache"
    share(cache, repo)
    git(repo, "config", "model.linkType", f"{mode},copy")
    versions = train(repo, 3)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    share(cache, other)
    git(other, "config", "model.linkType", f"{mode},copy")
    git(other, "checkout", "-q", "m@v0.1.0")
    gm_ok(other, "checkout")
    assert (other / "model.safetensors").read_bytes() == versions[0]
    out = gm_ok(repo, "gc").splitlines()
    assert out[0].endswith("of 2 repositories")
    assert out[1].endswith("; 2 checked-out object(s) stay loose")
    assert [loose(cache, oid_of(repo, tag)) for tag in tags(3)] == [True, False, True]
    assert (other / "model.safetensors").read_bytes() == versions[0]
    assert (repo / "model.safetensors").read_bytes() == versions[2]
    assert gm_ok(other, "status") == "up to date              model.safetensors\n"
    gm_ok(other, "checkout", "m@v0.1.1")
    assert (other / "model.safetensors").read_bytes() == versions[1]


def test_a_symlinked_file_whose_pointer_moved_on_keeps_its_object(
    tmp_path: Path, repo: Path
) -> None:
    git(repo, "config", "model.linkType", "symlink,copy")
    versions = train(repo, 2)
    first = oid_of(repo, "HEAD~1")
    (repo / "model.safetensors").unlink()
    git(repo, "checkout", "-q", "HEAD~1", "--", "model.safetensors.gitmodel")
    gm_ok(repo, "checkout")
    git(repo, "checkout", "-q", "HEAD", "--", "model.safetensors.gitmodel")  # no placement
    assert os.path.islink(repo / "model.safetensors")
    gm_ok(repo, "gc")
    assert loose(repo / CACHE, first)
    assert (repo / "model.safetensors").read_bytes() == versions[0]


def test_kill_during_gc_repack_leaves_the_cache_readable_and_the_next_gc_completes(
    repo: Path,
) -> None:
    versions = train(repo, 4, side=1024, layers=6)  # 12 MiB a version
    packs = repo / CACHE / "packs"
    proc = spawn_gm(repo, "gc")

    def writing_a_pack() -> bool:
        temps = list(packs.glob("tmp-*")) if packs.exists() else []
        return any(t.exists() and t.stat().st_size > 1024 * 1024 for t in temps)

    kill_when(proc, writing_a_pack, 60)
    assert proc.returncode == -signal.SIGKILL, "gc finished before it could be killed"
    assert list(packs.glob("*.idx")) == []
    assert gm_ok(repo, "status") == "up to date              model.safetensors\n"
    out = gm_ok(repo, "gc").splitlines()
    assert out[1] == (
        "dropped the loose copies of 3 packed object(s), 36.0 MiB; wrote 1 pack(s); "
        "1 checked-out object(s) stay loose"
    )
    assert sorted(p.suffix for p in packs.iterdir()) == [".idx", ".pack"]
    for tag, content in zip(tags(4), versions, strict=True):
        gm_ok(repo, "checkout", tag)
        assert (repo / "model.safetensors").read_bytes() == content


def test_kill_after_new_packs_before_old_ones_go_leaves_every_version_readable(
    repo: Path,
) -> None:
    """A repack killed between writing its packs and deleting the old ones leaves a chunk in
    two packs at different chain depths: readers pick the entry whose depth fits."""
    versions = train(repo, 2)
    gm_ok(repo, "gc")
    packs = repo / CACHE / "packs"
    old = {p.name: p.read_bytes() for p in packs.iterdir()}
    checkpoint(repo / "model.safetensors", 3)
    gm_ok(repo, "add", "-q", "model.safetensors")
    git(repo, "commit", "-q", "-m", "train 3")
    versions.append((repo / "model.safetensors").read_bytes())
    gm_ok(repo, "gc")
    for name, data in old.items():  # as if the gc was killed before it deleted them
        (packs / name).write_bytes(data)
    for rev, content in zip(["HEAD~2", "HEAD~1", "HEAD"], versions, strict=True):
        git(repo, "checkout", "-q", rev, "--", "model.safetensors.gitmodel")
        (repo / "model.safetensors").unlink()
        gm_ok(repo, "checkout")
        assert (repo / "model.safetensors").read_bytes() == content
    git(repo, "checkout", "-q", "HEAD", "--", "model.safetensors.gitmodel")
    out = gm_ok(repo, "gc").splitlines()
    assert out[1].startswith("dropped the loose copies of 0 packed object(s), 0 B; wrote 1")
    assert len(list(packs.glob("*.pack"))) == 1


def test_fsck_checks_packs_chunks_and_recipes(repo: Path) -> None:
    """Three versions: one header chunk (the same bytes each time) and 4 tensors each; the
    header stays only in the checked-out version's loose copy, its tensors are delta bases."""
    train(repo, 3)
    gm_ok(repo, "gc")
    assert gm_ok(repo, "fsck").splitlines() == [
        "checked 4 object(s) in local cache: 0 corrupt",
        "checked 1 pack(s), 12 chunk(s) and 3 recipe(s) in local cache: 0 damaged",
    ]


def test_fsck_moves_a_corrupt_pack_aside_and_exits_1(repo: Path) -> None:
    train(repo, 2)
    gm_ok(repo, "gc")
    (pack,) = (repo / CACHE / "packs").glob("*.pack")
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    data[5000] ^= 1
    pack.write_bytes(bytes(data))
    quarantine = repo / CACHE / "quarantine"
    proc = gm(repo, "fsck")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "checked 3 object(s) in local cache: 0 corrupt",
        f"pack {pack.name} is corrupt: its checksum does not match its bytes or its index "
        f"(moved to {quarantine / pack.with_suffix('.idx').name}, {quarantine / pack.name})",
        "checked 1 pack(s), 0 chunk(s) and 2 recipe(s) in local cache: 1 damaged",
    ]
    assert proc.stderr == (
        "warning: recover what they held with `git model fetch` (then `git model checkout`)\n"
    )
    assert not pack.exists() and (quarantine / pack.name).exists()
    proc = gm(repo, "checkout", "m@v0.1.0")
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: object {oid_of(repo, 'm@v0.1.0')} is not in the cache")


def test_fsck_moves_a_corrupt_recipe_aside(repo: Path) -> None:
    train(repo, 2)
    gm_ok(repo, "gc")
    oid = oid_of(repo, "HEAD~1")
    recipe = repo / CACHE / "recipes" / oid[7:9] / oid[9:]
    os.chmod(recipe, 0o644)
    recipe.write_bytes(recipe.read_bytes()[:-1] + b"\0")
    proc = gm(repo, "fsck")
    assert proc.returncode == 1
    moved = repo / CACHE / "quarantine" / f"recipe-{oid[7:]}"
    assert proc.stdout.splitlines()[1:] == [
        f"recipe of {oid} is corrupt: its checksum does not match its bytes (moved to {moved})",
        "checked 1 pack(s), 8 chunk(s) and 2 recipe(s) in local cache: 1 damaged",
    ]


def test_du_shows_raw_and_stored_sizes_of_the_local_cache(repo: Path) -> None:
    train(repo, 3)
    before = json.loads(gm_ok(repo, "du", "--json"))
    assert before["objects"] == 6 and before["loose"]["files"] == 6
    assert before["stored"] == before["raw"] == before["loose"]["bytes"]
    assert before["packs"] == {"packs": 0, "bytes": 0}
    gm_ok(repo, "gc")
    after = json.loads(gm_ok(repo, "du", "--json"))
    packs = repo / CACHE / "packs"
    pack_bytes = sum(p.stat().st_size for p in packs.iterdir())
    assert after["objects"] == 6 and after["raw"] == before["raw"]
    assert after["loose"]["files"] == 4  # the checked-out version and the 3 tensor manifests
    assert after["packs"] == {"packs": 1, "bytes": pack_bytes}
    assert after["stored"] == after["loose"]["bytes"] + pack_bytes + after["recipes"]["bytes"]
    assert after["ratio"] == round(after["stored"] / after["raw"], 4)
    lines = gm_ok(repo, "du").splitlines()
    assert lines[0].startswith("local cache: 6 object(s), 6.0 MiB raw, ")
    assert lines[1:] == [
        f"  loose objects  4 file(s), {human(after['loose']['bytes'])}",
        f"  packs          1 pack(s), {human(pack_bytes)} with indexes",
        f"  recipes        3 file(s), {human(after['recipes']['bytes'])}",
    ]


def human(n: int) -> str:
    from gitmodel.table import human_size

    return human_size(n)


def test_packed_versions_push_to_a_folder_remote_and_are_not_fetched_again(
    tmp_path: Path, repo: Path
) -> None:
    versions = train(repo, 3)
    gm_ok(repo, "gc")
    (tmp_path / "models").mkdir()
    gm_ok(repo, "remote", "add", "origin", str(tmp_path / "models"))
    out = gm_ok(repo, "fetch", "--all-versions")  # nothing to fetch: packed is present
    assert "fetched 0 object(s) (0 B) from origin" in out
    assert gm_ok(repo, "push", "--all-versions").startswith("pushed 6 object(s) ")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    gm_ok(clone, "remote", "add", "origin", str(tmp_path / "models"))
    gm_ok(clone, "fetch", "--all-versions")
    for tag, content in zip(tags(3), versions, strict=True):
        gm_ok(clone, "checkout", tag)
        assert (clone / "model.safetensors").read_bytes() == content


def test_rollback_and_a_branch_switch_place_packed_versions(repo: Path) -> None:
    gm_ok(repo, "install")
    versions = train(repo, 2)
    assert not (repo / CACHE / "recipes").exists()  # add never packs
    gm_ok(repo, "gc")
    assert not loose(repo / CACHE, oid_of(repo, "m@v0.1.0"))
    gm_ok(repo, "rollback", "m", "--to", "v0.1.0")
    assert (repo / "model.safetensors").read_bytes() == versions[0]
    git(repo, "switch", "-q", "-c", "newest", "m@v0.1.1")
    assert (repo / "model.safetensors").read_bytes() == versions[1]
    gm_ok(repo, "gc")
    assert not loose(repo / CACHE, oid_of(repo, "m@v0.1.0"))
    git(repo, "switch", "-q", "-")  # back to the rollback: placed by the post-checkout hook
    assert (repo / "model.safetensors").read_bytes() == versions[0]


def test_a_folder_whose_files_are_packed_checks_out_whole(repo: Path) -> None:
    contents = []
    for step in (1, 2):
        folder = repo / "clf"
        folder.mkdir(exist_ok=True)
        weights = checkpoint(folder / "model.safetensors", step)
        (folder / "config.json").write_text(f'{{"step": {step}}}\n')
        contents.append((weights, (folder / "config.json").read_bytes()))
        gm_ok(repo, "add", "-q", "clf", "--name", "clf")
        git(repo, "commit", "-q", "-m", f"train {step}")
    out = gm_ok(repo, "gc").splitlines()
    assert out[1].startswith("dropped the loose copies of 1 packed object(s), 2.0 MiB; wrote 1")
    git(repo, "checkout", "-q", "HEAD~1", "--", "clf.gitmodel")
    gm_ok(repo, "checkout")  # the folder is there: file by file
    assert (repo / "clf" / "model.safetensors").read_bytes() == contents[0][0]
    assert (repo / "clf" / "config.json").read_bytes() == contents[0][1]
    git(repo, "checkout", "-q", "HEAD", "--", "clf.gitmodel")
    gm_ok(repo, "checkout")
    gm_ok(repo, "gc")
    git(repo, "checkout", "-q", "HEAD~1", "--", "clf.gitmodel")
    shutil.rmtree(repo / "clf")
    gm_ok(repo, "checkout")  # a new folder: filled in one go
    assert (repo / "clf" / "model.safetensors").read_bytes() == contents[0][0]
    assert gm_ok(repo, "status") == "up to date              clf/\n"


def packed_chunks(cache: Path) -> set[bytes]:
    from gitmodel.packs.packfile import load_index

    return {c for idx in (cache / "packs").glob("*.idx") for c in load_index(idx).ids}


def chunk_ids(cache: Path, oid: str) -> list[bytes]:
    from gitmodel.packs.store import LocalPacks

    recipe = LocalPacks(cache).recipe(oid)
    assert recipe is not None
    return [c.id for c in recipe.chunks]


def test_a_checked_out_version_is_packed_only_as_far_as_other_versions_need_it(
    repo: Path,
) -> None:
    cache = repo / CACHE
    rng = np.random.default_rng(0)
    tensors = {f"layer{i}.weight": rng.standard_normal((512, 512)) * 0.02 for i in range(4)}
    contents = []
    for step in (1, 2):  # version 2 changes layer0 only, and its header's metadata
        save_file(
            {k: v.astype(np.float16) for k, v in tensors.items()},
            str(repo / "model.safetensors"),
            metadata={"step": str(step)},
        )
        contents.append((repo / "model.safetensors").read_bytes())
        gm_ok(repo, "add", "-q", "model.safetensors", "--name", "m")
        git(repo, "commit", "-q", "-m", f"train {step}")
        if step == 1:
            # The only version, checked out: it stays loose and nothing is packed.
            assert gm_ok(repo, "gc").splitlines()[1:] == []
            assert packed_chunks(cache) == set() and loose(cache, oid_of(repo))
        tensors["layer0.weight"] = tensors["layer0.weight"] + rng.standard_normal((512, 512)) * 1e-3
    first, second = oid_of(repo, "HEAD~1"), oid_of(repo)
    assert gm_ok(repo, "gc").splitlines()[1] == (
        "dropped the loose copies of 1 packed object(s), 2.0 MiB; wrote 1 pack(s); "
        "1 checked-out object(s) stay loose"
    )
    old, new = chunk_ids(cache, first), chunk_ids(cache, second)
    assert [a == b for a, b in zip(old, new, strict=True)] == [False, False, True, True, True]
    # Version 1's own chunks and the base of its layer0's delta (version 2's layer0); the
    # layers both share are only in version 2's loose copy.
    assert packed_chunks(cache) == {old[0], old[1], new[1]}
    assert [loose(cache, first), loose(cache, second)] == [False, True]
    assert gm_ok(repo, "status") == "up to date              model.safetensors\n"

    # Version 2 leaves the history: gc packs the layers version 1 needs from its loose copy
    # before it deletes that copy.
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    out = gm_ok(repo, "gc").splitlines()
    assert out[0] == f"deleted {second} (2.0 MiB)"
    assert packed_chunks(cache) == set(old)
    assert [loose(cache, first), loose(cache, second)] == [False, False]
    (repo / "model.safetensors").unlink()
    gm_ok(repo, "checkout", "-q")
    assert (repo / "model.safetensors").read_bytes() == contents[0]
