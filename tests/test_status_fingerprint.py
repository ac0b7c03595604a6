"""`git model status` trusts a folder's recorded fingerprint, and nothing else.

When a folder artifact is found up to date (by `add`, or by a full status), the stat cache
records a fingerprint of its files' stat results. The next status that finds the same
fingerprint, for the same manifest oid and cache generation, reports the folder up to date
without comparing its files or checking its objects.

A hit is not visible in the output when the folder really is up to date, so these tests
delete an object file by hand (which no git-model command does, and which plain status
does not notice by design): a trusting status still says `up to date`, a full comparison
says `missing from cache`. That tells apart, from the outside, which of the two ran.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
import xxhash

from tests.helpers import git, gm, gm_ok, object_path

CONFIG = b'{"hidden": 8}\n'


def xxh(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


def line(state: str, label: str) -> str:
    return f"{state:<24}{label}\n"


UP_TO_DATE = line("up to date", "bert/")
CONFIG_MISSING = line("missing from cache", "bert/: config.json")


@pytest.fixture
def bert(repo: Path) -> Path:
    """A committed folder artifact `bert/` (its fingerprint recorded by `add`)."""
    folder = repo / "bert"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_bytes(CONFIG)
    (folder / "tokenizer.json").write_bytes(b'{"vocab": ["a", "b"]}\n')
    (folder / "sub" / "notes.txt").write_bytes(b"nested\n")
    (folder / "run.sh").write_bytes(b"#!/bin/sh\n")
    gm_ok(repo, "add", "-q", "bert")
    git(repo, "commit", "-q", "-m", "bert")
    return folder


def delete_object(repo: Path, data: bytes) -> None:
    """Remove the object holding `data` behind git-model's back."""
    obj = object_path(repo, xxh(data))
    obj.parent.chmod(0o755)
    obj.chmod(0o644)
    obj.unlink()


def pointer_oid(repo: Path) -> str:
    return (repo / "bert.gitmodel").read_text().split('oid = "')[1].split('"')[0]


def folder_rows(repo: Path) -> list[tuple[str, ...]]:
    db = sqlite3.connect(repo / ".git" / "model" / "statcache.sqlite")
    try:
        return db.execute("SELECT path, oid, cache, generation FROM folders").fetchall()
    finally:
        db.close()


def test_a_recorded_fingerprint_is_trusted_and_check_verifies_everything(
    repo: Path, bert: Path
) -> None:
    cache = repo / ".git" / "model" / "cache"
    assert folder_rows(repo) == [(str(bert), pointer_oid(repo), str(cache), "0")]
    assert gm_ok(repo, "status") == UP_TO_DATE
    delete_object(repo, CONFIG)
    # The files did not change since `add` found them stored: plain status trusts that.
    assert gm_ok(repo, "status") == UP_TO_DATE
    # --check compares every file and checks every object.
    proc = gm(repo, "status", "--check")
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, CONFIG_MISSING, "")
    # A full status that finds something wrong records nothing: it is not trusted later.
    assert gm_ok(repo, "status") == UP_TO_DATE


def test_status_records_the_fingerprint_after_a_full_comparison(repo: Path, bert: Path) -> None:
    for name in os.listdir(repo / ".git" / "model"):
        if name.startswith("statcache.sqlite"):
            os.unlink(repo / ".git" / "model" / name)
    shutil.rmtree(bert)
    assert gm_ok(repo, "checkout", "-q") == ""
    # Checkout records the fingerprint of the folder it filled (every object found), as add does.
    cache = repo / ".git" / "model" / "cache"
    assert folder_rows(repo) == [(str(bert), pointer_oid(repo), str(cache), "0")]
    delete_object(repo, b"nested\n")
    assert gm_ok(repo, "status") == UP_TO_DATE  # trusted
    for name in os.listdir(repo / ".git" / "model"):
        if name.startswith("statcache.sqlite"):
            os.unlink(repo / ".git" / "model" / name)
    # No fingerprint now, so every file is compared.
    assert gm_ok(repo, "status") == line("missing from cache", "bert/: sub/notes.txt")
    gm_ok(repo, "add", "-q", "bert")  # puts the object back (and records the fingerprint)
    for name in os.listdir(repo / ".git" / "model"):
        if name.startswith("statcache.sqlite"):
            os.unlink(repo / ".git" / "model" / name)
    assert gm_ok(repo, "status") == UP_TO_DATE  # full comparison, found up to date: recorded
    delete_object(repo, CONFIG)
    assert gm_ok(repo, "status") == UP_TO_DATE  # trusted
    assert gm(repo, "status", "--check").stdout == CONFIG_MISSING


def edit_config(folder: Path) -> None:
    (folder / "config.json").write_bytes(b'{"hidden": 16}\n')


def edit_config_same_size(folder: Path) -> None:
    (folder / "config.json").write_bytes(b'{"hidden": 9}\n')


def add_file(folder: Path) -> None:
    (folder / "extra.txt").write_bytes(b"new\n")


def remove_file(folder: Path) -> None:
    (folder / "tokenizer.json").unlink()


def replace_keeping_size_and_mtime(folder: Path) -> None:
    """Another file of the same size and the same mtime: only the inode tells them apart."""
    config = folder / "config.json"
    st = config.stat()
    other = folder / "other.tmp"
    other.write_bytes(b'{"hidden": 9}\n')
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, config)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (edit_config, line("modified", "bert/: config.json")),
        (edit_config_same_size, line("modified", "bert/: config.json")),
        (add_file, line("modified", "bert/: +extra.txt")),
        (remove_file, line("modified", "bert/: -tokenizer.json")),
        (replace_keeping_size_and_mtime, line("modified", "bert/: config.json")),
    ],
)
def test_every_change_is_seen_after_a_fingerprint_was_recorded(
    repo: Path, bert: Path, change: Callable[[Path], None], expected: str
) -> None:
    assert gm_ok(repo, "status") == UP_TO_DATE
    change(bert)
    assert gm_ok(repo, "status") == expected
    assert gm_ok(repo, "status") == expected  # and again: nothing wrong was recorded


def chmod_plus_x(folder: Path) -> None:
    (folder / "run.sh").chmod(0o755)


def touch(folder: Path) -> None:
    st = (folder / "tokenizer.json").stat()
    os.utime(folder / "tokenizer.json", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def rewrite_same_bytes(folder: Path) -> None:
    """A new file with the very same bytes: a new inode."""
    data = (folder / "sub" / "notes.txt").read_bytes()
    (folder / "sub" / "notes.txt").unlink()
    (folder / "sub" / "notes.txt").write_bytes(data)


@pytest.mark.parametrize("change", [chmod_plus_x, touch, rewrite_same_bytes])
def test_changes_that_keep_the_bytes_still_end_the_trust(
    repo: Path, bert: Path, change: Callable[[Path], None]
) -> None:
    delete_object(repo, CONFIG)
    assert gm_ok(repo, "status") == UP_TO_DATE  # trusted: the files are as recorded
    change(bert)
    # The fingerprint no longer matches, so the files and objects are all checked again.
    assert gm_ok(repo, "status") == CONFIG_MISSING


def test_a_row_recorded_for_another_oid_is_not_trusted(repo: Path, bert: Path) -> None:
    edit_config(bert)
    gm_ok(repo, "add", "-q", "bert")  # records the edited files for the new manifest
    git(repo, "commit", "-q", "-am", "bert v2")
    assert gm_ok(repo, "status") == UP_TO_DATE
    # The pointer goes back to the first version; the files stay as they are.
    git(repo, "checkout", "-q", "HEAD~1", "--", "bert.gitmodel")
    # The recorded row names the other manifest, still cached: stale, not up to date.
    assert gm_ok(repo, "status") == line(
        "stale", "bert/: pointer changed; run `git model checkout`"
    )
    assert gm(repo, "add", "-q", "bert").returncode == 1
    assert gm_ok(repo, "checkout", "-q") == ""
    assert gm_ok(repo, "status") == UP_TO_DATE


def test_fsck_quarantine_ends_the_trust(repo: Path, bert: Path) -> None:
    assert gm_ok(repo, "status") == UP_TO_DATE
    obj = object_path(repo, xxh(CONFIG))
    obj.chmod(0o644)
    obj.write_bytes(b'{"hidden": 0}\n')  # same size, other bytes: corrupt
    assert gm(repo, "fsck").returncode == 1
    generation = (repo / ".git" / "model" / "cache" / "generation").read_text()
    assert len(generation) == 33 and generation.endswith("\n")
    assert gm_ok(repo, "status") == CONFIG_MISSING


def test_gc_deleting_objects_ends_the_trust(repo: Path, tmp_path: Path) -> None:
    """Two repositories share a cache; the second never registered with it (it only ran
    status), so gc in the first deletes what the second's folder names."""
    shared = tmp_path / "shared-cache"
    git(repo, "config", "model.cache", str(shared))
    folder = repo / "bert"
    folder.mkdir()
    (folder / "config.json").write_bytes(CONFIG)
    (folder / "notes.txt").write_bytes(b"notes\n")
    gm_ok(repo, "add", "-q", "bert")
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q")
    git(other, "config", "model.cache", str(shared))
    shutil.copytree(folder, other / "bert")
    shutil.copy(repo / "bert.gitmodel", other / "bert.gitmodel")
    assert gm_ok(other, "status") == UP_TO_DATE  # compared in full, then recorded

    manifest_oid = pointer_oid(other)
    manifest = object_path_in(shared, manifest_oid)
    manifest_bytes = manifest.read_bytes()
    git(repo, "rm", "-q", "--cached", "bert.gitmodel")
    (repo / "bert.gitmodel").unlink()
    gm_ok(repo, "gc", "-n")
    assert not (shared / "generation").exists()  # a dry run deletes nothing
    gm_ok(repo, "gc")
    assert (shared / "generation").is_file()
    assert gm_ok(other, "status") == line("missing from cache", "bert/: folder manifest")
    # Only the manifest comes back (as from a fetch that stopped after it): the files'
    # objects are still gone, and status must not trust what it recorded before the gc.
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_bytes(manifest_bytes)
    assert gm_ok(other, "status") == line("missing from cache", "bert/: config.json, notes.txt")


def object_path_in(cache: Path, oid: str) -> Path:
    digits = oid.removeprefix("xxh128:")
    return cache / "objects" / digits[:2] / digits[2:]
