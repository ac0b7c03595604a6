"""Link modes (`model.linkType`) and a shared cache (`model.cache`), through the real CLI."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
import xxhash

from tests.helpers import git, gm, gm_ok, object_path

DATA_V1 = b"weights v1 " * 300
DATA_V2 = b"weights v2 " * 300


def xxh(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


UNCHANGED_V2 = f"unchanged m: m.bin.gitmodel (3.2 KiB, {xxh(DATA_V2)[:19]}…)\n"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def pointer_size(pointer_file: Path) -> int:
    return int(tomllib.loads(pointer_file.read_text())["size"])


def add_two_versions(repo: Path) -> Path:
    """Commit m.bin at v1 then v2; leaves v2 checked out in Git and in the work tree."""
    model = repo / "m.bin"
    for data in (DATA_V1, DATA_V2):
        if os.path.lexists(model):
            model.unlink()  # hard- and symlinked files are read-only: replace, don't edit
        model.write_bytes(data)
        gm_ok(repo, "add", "m.bin")
        git(repo, "commit", "-q", "-m", "version")
    return model


def test_hardlink(repo: Path) -> None:
    git(repo, "config", "model.linkType", "hardlink")
    model = add_two_versions(repo)
    obj = object_path(repo, xxh(DATA_V2))
    assert model.stat().st_ino == obj.stat().st_ino
    assert (mode(model), mode(obj)) == (0o444, 0o444)
    assert gm_ok(repo, "status") == "up to date              m.bin\n"
    # Re-adding an unchanged hardlinked file keeps it as it is.
    assert gm_ok(repo, "add", "m.bin") == UNCHANGED_V2
    assert model.stat().st_ino == obj.stat().st_ino

    git(repo, "checkout", "-q", "HEAD~1")
    assert gm_ok(repo, "checkout") == "restored m.bin\n1 restored, 0 already up to date\n"
    old = object_path(repo, xxh(DATA_V1))
    assert model.read_bytes() == DATA_V1
    assert model.stat().st_ino == old.stat().st_ino
    assert mode(model) == 0o444
    assert obj.read_bytes() == DATA_V2  # the other version's object is intact
    model.unlink()
    assert gm_ok(repo, "checkout") == "restored m.bin\n1 restored, 0 already up to date\n"
    assert model.stat().st_ino == old.stat().st_ino
    assert gm_ok(repo, "status") == "up to date              m.bin\n"


def test_in_place_edit_through_a_hard_link_is_caught_not_spread(repo: Path) -> None:
    git(repo, "config", "model.linkType", "hardlink")
    model = add_two_versions(repo)
    oid = xxh(DATA_V2)
    model.chmod(0o644)  # what a user (or root) must do to write through the link
    with model.open("r+b") as f:
        f.write(b"EDITED")
    proc = gm(repo, "checkout", "--force")
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: m.bin was edited in place through a hard link, so object {oid} in the cache "
        "changed with it (keep the edit with `git model add`; the old bytes come back only "
        "from a remote (delete the object, then `git model pull`))\n"
    )
    assert model.read_bytes().startswith(b"EDITED")


def test_hardlink_folder_with_a_repeated_file(repo: Path) -> None:
    """A folder's objects are published together after one sync; a file whose bytes appear
    twice in it ends up linked to the one object all the same."""
    git(repo, "config", "model.linkType", "hardlink")
    folder = repo / "bert"
    (folder / "sub").mkdir(parents=True)
    files = {"a.bin": b"same bytes", "sub/b.bin": b"same bytes", "c.json": b"{}\n"}
    for rel, data in files.items():
        (folder / rel).write_bytes(data)
    assert gm_ok(repo, "add", "bert").startswith("added bert: bert.gitmodel (23 B, ")
    for rel, data in files.items():
        obj = object_path(repo, xxh(data))
        assert (folder / rel).stat().st_ino == obj.stat().st_ino, rel
        assert (mode(folder / rel), mode(obj)) == (0o444, 0o444)
        assert obj.read_bytes() == data
    assert os.listdir(repo / ".git" / "model" / "cache" / "tmp") == []
    assert gm_ok(repo, "status", "--check") == "up to date              bert/\n"


def test_symlink(repo: Path) -> None:
    git(repo, "config", "model.linkType", "symlink")
    model = add_two_versions(repo)
    obj = object_path(repo, xxh(DATA_V2))
    assert model.is_symlink()
    assert os.readlink(model) == str(obj.resolve())
    assert mode(obj) == 0o444
    assert model.read_bytes() == DATA_V2
    assert gm_ok(repo, "status") == "up to date              m.bin\n"
    # Re-adding the symlinked file records the object's size, not the link's.
    assert gm_ok(repo, "add", "m.bin") == UNCHANGED_V2
    assert pointer_size(repo / "m.bin.gitmodel") == len(DATA_V2)
    assert git(repo, "status", "--porcelain").stdout == ""

    git(repo, "checkout", "-q", "HEAD~1")  # no hooks: the link still names v2's object
    stale = "stale                   m.bin: pointer changed; run `git model checkout`\n"
    assert gm_ok(repo, "status") == stale
    assert gm_ok(repo, "checkout") == "restored m.bin\n1 restored, 0 already up to date\n"
    assert os.readlink(model) == str(object_path(repo, xxh(DATA_V1)).resolve())
    assert gm_ok(repo, "status", "--check") == "up to date              m.bin\n"


def test_symlink_folder(repo: Path) -> None:
    git(repo, "config", "model.linkType", "symlink")
    folder = repo / "bert"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.json").write_bytes(b"{}\n")
    (folder / "sub" / "b.bin").write_bytes(b"bbb")
    gm_ok(repo, "add", "bert")
    for rel, data in (("a.json", b"{}\n"), ("sub/b.bin", b"bbb")):
        assert os.readlink(folder / rel) == str(object_path(repo, xxh(data)).resolve())
    assert gm_ok(repo, "status") == "up to date              bert/\n"
    assert gm_ok(repo, "add", "bert").startswith("unchanged bert: bert.gitmodel (6 B, ")


def test_copy(repo: Path) -> None:
    git(repo, "config", "model.linkType", "copy")
    model = add_two_versions(repo)
    obj = object_path(repo, xxh(DATA_V2))
    assert model.stat().st_ino != obj.stat().st_ino
    assert (mode(model), mode(obj)) == (0o644, 0o444)
    git(repo, "checkout", "-q", "HEAD~1")
    gm_ok(repo, "checkout")
    assert model.read_bytes() == DATA_V1
    assert model.stat().st_ino != object_path(repo, xxh(DATA_V1)).stat().st_ino
    assert mode(model) == 0o644
    # A copy is the user's to edit: the cache is not affected.
    with model.open("ab") as f:
        f.write(b"edited")
    assert object_path(repo, xxh(DATA_V1)).read_bytes() == DATA_V1
    assert gm_ok(repo, "status") == "modified                m.bin\n"


@pytest.mark.parametrize("setting", [None, "reflink,copy", "reflink, hardlink"])
def test_default_reflink_falls_back(repo: Path, setting: str | None) -> None:
    """reflink first: a clone where the file system can (btrfs, XFS), else the next mode."""
    if setting:
        git(repo, "config", "model.linkType", setting)
    model = add_two_versions(repo)
    obj = object_path(repo, xxh(DATA_V2))
    assert obj.read_bytes() == DATA_V2
    assert model.read_bytes() == DATA_V2
    assert mode(obj) == 0o444
    git(repo, "checkout", "-q", "HEAD~1")
    assert gm_ok(repo, "checkout") == "restored m.bin\n1 restored, 0 already up to date\n"
    assert model.read_bytes() == DATA_V1
    assert gm_ok(repo, "status") == "up to date              m.bin\n"
    shares_inode = model.stat().st_ino == object_path(repo, xxh(DATA_V1)).stat().st_ino
    if setting == "reflink, hardlink" and not reflink_works(repo):
        assert shares_inode and mode(model) == 0o444
    else:
        assert not shares_inode and mode(model) == 0o644


def reflink_works(repo: Path) -> bool:
    from gitmodel.fsutil import try_link

    source, dest = repo / ".probe-src", repo / ".probe-dest"
    source.write_bytes(b"probe")
    try:
        return try_link("reflink", source, dest)
    finally:
        source.unlink()
        dest.unlink(missing_ok=True)


@pytest.mark.parametrize("command", [["add", "m.bin"], ["status"], ["checkout"]])
def test_unknown_link_mode(repo: Path, command: list[str]) -> None:
    (repo / "m.bin").write_bytes(b"model")
    git(repo, "config", "model.linkType", "reflink,teleport")
    proc = gm(repo, *command)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: model.linkType: unknown link mode 'teleport' (use a comma-separated list of "
        "reflink, hardlink, symlink, copy (e.g. `git config model.linkType reflink,copy`))\n"
    )
    assert not (repo / "m.bin.gitmodel").exists()
    assert git(repo, "status", "--porcelain").stdout == "?? m.bin\n"


def test_shared_cache_between_clones(tmp_path: Path) -> None:
    shared = tmp_path / "shared-cache"
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    clones = []
    for name in ("one", "two"):
        git(tmp_path, "clone", "-q", str(origin), name)
        git(tmp_path / name, "config", "model.cache", str(shared))
        clones.append(tmp_path / name)
    one, two = clones
    (one / "m.bin").write_bytes(DATA_V1)
    gm_ok(one, "add", "m.bin")
    git(one, "commit", "-q", "-m", "model")
    git(one, "push", "-q", "origin", "HEAD:main")

    digits = xxh(DATA_V1).removeprefix("xxh128:")
    obj = shared / "objects" / digits[:2] / digits[2:]
    assert obj.read_bytes() == DATA_V1
    assert mode(obj) == 0o444
    assert not (one / ".git" / "model" / "cache" / "objects").exists()

    git(two, "pull", "-q", "origin", "main")
    assert gm_ok(two, "status") == "missing from work tree  m.bin\n"
    assert gm_ok(two, "checkout") == "restored m.bin\n1 restored, 0 already up to date\n"
    assert (two / "m.bin").read_bytes() == DATA_V1
    assert gm_ok(two, "status", "--check") == "up to date              m.bin\n"
    # The second clone's own additions land in the shared cache too.
    (two / "n.bin").write_bytes(DATA_V2)
    gm_ok(two, "add", "n.bin")
    assert object_path(tmp_path, xxh(DATA_V2)).exists() is False
    digits = xxh(DATA_V2).removeprefix("xxh128:")
    assert (shared / "objects" / digits[:2] / digits[2:]).read_bytes() == DATA_V2
    assert sorted(p.name for p in (shared / "objects").rglob("*") if p.is_file()) == sorted(
        [xxh(DATA_V1)[9:], xxh(DATA_V2)[9:]]
    )
