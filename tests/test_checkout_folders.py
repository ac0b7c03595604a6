"""Checkout of folder artifacts: filling a folder that is not there yet (in a hidden sibling,
renamed into place), and the general path that never loses a user's file."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from gitmodel.artifacts import folder_fingerprint, walk_folder
from gitmodel.cache.placing import fill_new_folder
from gitmodel.cache.statcache import StatCache
from gitmodel.cache.tempfiles import TempFolder, WorkTemps
from gitmodel.errors import WouldOverwriteError
from gitmodel.hashing import oid_of_bytes
from tests.helpers import git, gm, gm_ok, object_path

FILES = {
    "config.json": b'{"hidden": 8}\n',
    "run.sh": b"#!/bin/sh\necho serve\n",
    "sub/deeper/weights.bin": bytes(range(256)) * 16,
    "sub/notes.txt": b"nested file\n",
    "empty.txt": b"",
}
OVERWRITE_HINT = "(save them with `git model add`, or discard them with --force)"


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def make_model(repo: Path, link_type: str) -> Path:
    git(repo, "config", "model.linkType", link_type)
    model = repo / "models" / "bert"
    for rel, data in FILES.items():
        (model / rel).parent.mkdir(parents=True, exist_ok=True)
        (model / rel).write_bytes(data)
    (model / "run.sh").chmod(0o755)
    gm_ok(repo, "add", "models/bert")
    git(repo, "commit", "-q", "-m", "bert")
    return model


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".tmp-" in p.name)


def assert_status_trusts_fingerprint(repo: Path, model: Path) -> None:
    """The stat cache holds the fingerprint `status` computes: it compares no file."""
    cache = StatCache(repo / ".git" / "model" / "statcache.sqlite")
    try:
        state = cache.folder_state(model)
    finally:
        cache.close()
    assert state is not None
    assert state.fingerprint == folder_fingerprint(walk_folder(model))
    assert gm_ok(repo, "status") == "up to date              models/bert/\n"


EXPECTED_OUT = (
    "restored models/bert/config.json\n"
    "restored models/bert/empty.txt\n"
    "restored models/bert/run.sh\n"
    "restored models/bert/sub/deeper/weights.bin\n"
    "restored models/bert/sub/notes.txt\n"
    "5 restored, 0 already up to date\n"
)


def test_hardlink_fill_of_a_missing_folder(repo: Path) -> None:
    model = make_model(repo, "hardlink")
    shutil.rmtree(model)
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, EXPECTED_OUT, "")
    assert tree_bytes(model) == FILES
    assert leftovers(repo / "models") == []
    for rel, data in FILES.items():
        st = (model / rel).stat()
        assert stat.S_IMODE(st.st_mode) == 0o444  # read-only: it is the object
        assert st.st_ino == object_path(repo, oid_of_bytes(data)).stat().st_ino
    assert_status_trusts_fingerprint(repo, model)
    # Again: the recorded fingerprint says every file is there (nothing compared or written).
    assert gm_ok(repo, "checkout") == "0 restored, 5 already up to date\n"
    (model / "sub" / "notes.txt").unlink()
    assert gm_ok(repo, "checkout") == (
        "restored models/bert/sub/notes.txt\n1 restored, 4 already up to date\n"
    )
    assert tree_bytes(model) == FILES


def test_copy_fill_of_an_empty_folder(repo: Path) -> None:
    model = make_model(repo, "copy")
    shutil.rmtree(model)
    model.mkdir()  # empty: filled like a missing one
    proc = gm(repo, "checkout", "models/bert")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, EXPECTED_OUT, "")
    assert tree_bytes(model) == FILES
    assert leftovers(repo / "models") == []
    for rel, data in FILES.items():
        st = (model / rel).stat()
        assert stat.S_IMODE(st.st_mode) == (0o755 if rel == "run.sh" else 0o644)
        assert st.st_ino != object_path(repo, oid_of_bytes(data)).stat().st_ino
    assert_status_trusts_fingerprint(repo, model)
    # A copy is the user's to edit; status sees the edit although the folder was trusted.
    (model / "sub" / "notes.txt").write_bytes(b"edited\n")
    assert gm_ok(repo, "status") == "modified                models/bert/: sub/notes.txt\n"


def test_missing_object_leaves_nothing_behind(repo: Path) -> None:
    model = make_model(repo, "copy")
    shutil.rmtree(model)
    gone = object_path(repo, oid_of_bytes(FILES["sub/notes.txt"]))
    gone.unlink()
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith(
        f"error: object {oid_of_bytes(FILES['sub/notes.txt'])} is not in the cache "
        "(needed for models/bert/sub/notes.txt)"
    )
    assert sorted(p.name for p in (repo / "models").iterdir()) == [".gitignore", "bert.gitmodel"]


def test_modified_file_refused_and_nothing_touched(repo: Path) -> None:
    model = make_model(repo, "copy")
    (model / "config.json").write_bytes(b"hand-edited, not in the cache\n")
    (model / "run.sh").unlink()
    before = tree_bytes(model)
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: checkout would overwrite changes not saved in the cache: "
        f"models/bert/config.json {OVERWRITE_HINT}\n"
    )
    assert tree_bytes(model) == before  # run.sh not restored either
    assert leftovers(model.parent) == []

    proc = gm(repo, "checkout", "--force")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == (
        "restored models/bert/config.json\n"
        "restored models/bert/run.sh\n"
        "2 restored, 3 already up to date\n"
    )
    assert tree_bytes(model) == FILES


def test_stale_unmodified_file_removed(repo: Path) -> None:
    model = make_model(repo, "copy")
    (model / "extra.bin").write_bytes(b"added in v2\n")
    gm_ok(repo, "add", "models/bert")
    git(repo, "commit", "-q", "-m", "v2")
    git(repo, "checkout", "-q", "HEAD~1")
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == (
        "removed models/bert/extra.bin (not in this version; its bytes are in the cache)\n"
        "0 restored, 5 already up to date, 1 removed\n"
    )
    assert tree_bytes(model) == FILES


def test_fill_refuses_a_folder_that_is_no_longer_empty(repo: Path, tmp_path: Path) -> None:
    """The check for an empty folder and the rename are apart in time: whatever appeared
    there meanwhile is kept, and the hidden sibling is removed."""
    objects = tmp_path / "objects"
    data = b"object bytes\n"
    oid = oid_of_bytes(data)
    (objects / oid[7:9]).mkdir(parents=True)
    (objects / oid[7:9] / oid[9:]).write_bytes(data)
    target = tmp_path / "work" / "model"
    target.mkdir(parents=True)
    (target / "mine.txt").write_bytes(b"mine\n")
    st = (objects / oid[7:9] / oid[9:]).stat()
    temp_folder = TempFolder(str(tmp_path / "tmp"))
    temps = WorkTemps([temp_folder], tmp_path / "exclude")
    with pytest.raises(WouldOverwriteError) as caught:
        fill_new_folder(
            str(objects), str(target), ["a/x.bin"], [oid], [False], {"a"}, ["copy"], {oid: st},
            temps,
        )  # fmt: skip
    assert caught.value.message == (
        f"{target} appeared in the work tree during the checkout; left untouched"
    )
    assert sorted(os.listdir(target.parent)) == ["model"]
    assert tree_bytes(target) == {"mine.txt": b"mine\n"}
    assert os.listdir(tmp_path / "tmp") == [f"{temp_folder.token()}.owner"]

    # Where nothing is in the way: the files and their stats, in the order given.
    other = tmp_path / "work" / "other"
    stats = fill_new_folder(
        str(objects), str(other), ["a/x.bin", "y.bin"], [oid, oid], [False, True], {"a"},
        ["reflink", "copy"], {oid: st}, temps,
    )  # fmt: skip
    assert tree_bytes(other) == {"a/x.bin": data, "y.bin": data}
    assert [s.st_ino for s in stats] == [
        (other / "a/x.bin").stat().st_ino,
        (other / "y.bin").stat().st_ino,
    ]
    assert stat.S_IMODE((other / "y.bin").stat().st_mode) == 0o755
