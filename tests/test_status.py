"""`git model status` end to end: states, folder details, --json, --check and targets."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import xxhash

from tests.helpers import git, gm, gm_ok, object_path, write_safetensors


def xxh(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


def make_bert(repo: Path) -> Path:
    bert = repo / "models" / "bert"
    (bert / "sub" / "dir").mkdir(parents=True)
    (bert / "config.json").write_bytes(b'{"hidden": 8}\n')
    (bert / "tokenizer.json").write_bytes(b'{"vocab": ["a"]}\n')
    (bert / "sub" / "dir" / "notes.txt").write_bytes(b"nested\n")
    (bert / "run.sh").write_bytes(b"#!/bin/sh\n")
    (bert / "run.sh").chmod(0o755)
    write_safetensors(bert / "model.safetensors", {"emb": ("F32", [3, 2], 5)})
    return bert


@pytest.fixture
def tracked(repo: Path) -> Path:
    """A repository with a committed file artifact (`weights.bin`) and folder (`models/bert`)."""
    (repo / "weights.bin").write_bytes(b"weights v1" * 100)
    make_bert(repo)
    gm_ok(repo, "add", "weights.bin", "models/bert")
    git(repo, "commit", "-q", "-m", "models")
    return repo


def line(state: str, label: str) -> str:
    return f"{state:<24}{label}\n"


ALL_UP_TO_DATE = line("up to date", "models/bert/") + line("up to date", "weights.bin")


def test_up_to_date_and_check(tracked: Path) -> None:
    assert gm_ok(tracked, "status") == ALL_UP_TO_DATE
    proc = gm(tracked, "status", "--check")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, ALL_UP_TO_DATE, "")
    proc = gm(tracked, "status", "--check", "-q")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_modified_file_same_size(tracked: Path) -> None:
    (tracked / "weights.bin").write_bytes(b"weights v2" * 100)
    expected = line("up to date", "models/bert/") + line("modified", "weights.bin")
    assert gm_ok(tracked, "status") == expected
    proc = gm(tracked, "status", "--check")
    assert (proc.returncode, proc.stdout, proc.stderr) == (1, expected, "")
    # Restoring the original bytes makes it up to date again.
    (tracked / "weights.bin").write_bytes(b"weights v1" * 100)
    assert gm_ok(tracked, "status") == ALL_UP_TO_DATE


def test_folder_details(tracked: Path) -> None:
    bert = tracked / "models" / "bert"
    (bert / "config.json").write_bytes(b'{"hidden": 16}\n')
    assert gm_ok(tracked, "status", "bert") == line("modified", "models/bert/: config.json")
    (bert / "extra.txt").write_bytes(b"new file\n")
    (bert / "tokenizer.json").unlink()
    (bert / "sub" / "dir" / "notes.txt").write_bytes(b"nested!\n")
    assert gm_ok(tracked, "status", "models/bert") == line(
        "modified", "models/bert/: config.json, +extra.txt, sub/dir/notes.txt, -tokenizer.json"
    )
    proc = gm(tracked, "status", "--check", "bert")
    assert proc.returncode == 1


def test_json(tracked: Path) -> None:
    (tracked / "models" / "bert" / "config.json").write_bytes(b"{}\n")
    proc = gm(tracked, "status", "--json")
    assert (proc.returncode, proc.stderr) == (0, "")
    pointer = (tracked / "models" / "bert.gitmodel").read_text()
    bert_oid = pointer.split('oid = "')[1].split('"')[0]
    assert json.loads(proc.stdout) == [
        {
            "path": "models/bert",
            "pointer": "models/bert.gitmodel",
            "name": "bert",
            "state": "modified",
            "oid": bert_oid,
            "detail": "config.json",
        },
        {
            "path": "weights.bin",
            "pointer": "weights.bin.gitmodel",
            "name": "weights",
            "state": "up to date",
            "oid": xxh(b"weights v1" * 100),
            "detail": "",
        },
    ]
    assert proc.stdout.startswith('[\n  {\n    "path": "models/bert",\n')
    proc = gm(tracked, "status", "--json", "--check", "weights")
    assert proc.returncode == 0
    assert [r["state"] for r in json.loads(proc.stdout)] == ["up to date"]


def test_missing_from_work_tree(tracked: Path) -> None:
    (tracked / "weights.bin").unlink()
    shutil.rmtree(tracked / "models" / "bert")
    expected = line("missing from work tree", "models/bert/") + line(
        "missing from work tree", "weights.bin"
    )
    assert gm_ok(tracked, "status") == expected
    assert gm(tracked, "status", "--check").returncode == 1


def test_missing_from_cache(tracked: Path) -> None:
    obj = object_path(tracked, xxh(b"weights v1" * 100))
    obj.parent.chmod(0o755)
    obj.chmod(0o644)
    obj.unlink()
    expected = line("up to date", "models/bert/") + line("missing from cache", "weights.bin")
    assert gm_ok(tracked, "status") == expected
    assert gm(tracked, "status", "--check").returncode == 1
    # One file object of a folder gone: the detail names the file. Deleted by hand, so only
    # --check sees it (plain status trusts the folder's recorded fingerprint).
    object_path(tracked, xxh(b'{"hidden": 8}\n')).unlink()
    assert gm_ok(tracked, "status", "bert") == line("up to date", "models/bert/")
    proc = gm(tracked, "status", "--check", "bert")
    assert (proc.returncode, proc.stdout) == (
        1,
        line("missing from cache", "models/bert/: config.json"),
    )
    # The folder manifest gone.
    pointer = (tracked / "models" / "bert.gitmodel").read_text()
    object_path(tracked, pointer.split('oid = "')[1].split('"')[0]).unlink()
    assert gm_ok(tracked, "status", "bert") == line(
        "missing from cache", "models/bert/: folder manifest"
    )


def test_targets_by_path_pointer_folder_and_name(tracked: Path) -> None:
    weights = line("up to date", "weights.bin")
    bert = line("up to date", "models/bert/")
    assert gm_ok(tracked, "status", "weights.bin") == weights
    assert gm_ok(tracked, "status", "weights.bin.gitmodel") == weights
    assert gm_ok(tracked, "status", "weights") == weights
    assert gm_ok(tracked, "status", "models") == bert
    assert gm_ok(tracked, "status", "models/bert/") == bert
    assert gm_ok(tracked, "status", "bert", "weights") == bert + weights
    assert gm_ok(tracked, "status", "weights", "weights.bin") == weights  # no duplicates
    # From a subfolder: paths are relative to it; output stays relative to the root.
    assert gm_ok(tracked / "models", "status", "bert") == bert
    assert gm_ok(tracked / "models", "status", "../weights.bin") == weights
    assert gm_ok(tracked / "models", "status") == ALL_UP_TO_DATE


def test_unknown_target(tracked: Path) -> None:
    proc = gm(tracked, "status", "weights", "nothere")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: nothere: no pointer matches this path or model name "
        "(list tracked models with `git model status`)\n"
    )


def test_no_models_and_invalid_pointer(repo: Path) -> None:
    assert gm_ok(repo, "status") == "no models tracked (track one with `git model add PATH`)\n"
    assert gm_ok(repo, "status", "--json") == "[]\n"
    assert gm(repo, "status", "--check").returncode == 0
    (repo / "bad.bin.gitmodel").write_text("garbage\n")
    proc = gm(repo, "status", "--check")
    assert proc.returncode == 1
    assert proc.stdout == line(
        "invalid pointer",
        f"bad.bin: {repo}/bad.bin.gitmodel: not a valid pointer (Expected '=' after a key in a "
        "key/value pair (at line 1, column 8))",
    )


def test_status_uses_stat_cache_but_sees_touched_files(tracked: Path) -> None:
    """A touched file (same bytes, new mtime) is rehashed and still up to date."""
    weights = tracked / "weights.bin"
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert gm_ok(tracked, "status") == ALL_UP_TO_DATE
    # Same size, same mtime as recorded, but different bytes would fool any stat cache; a new
    # mtime (as any real write gives) must not.
    weights.write_bytes(b"WEIGHTS V1" * 100)
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 9_000_000_000))
    assert gm_ok(tracked, "status", "weights") == line("modified", "weights.bin")
