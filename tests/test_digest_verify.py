"""Recorded SHA-256 digests are checked: fetch/pull, checkout --verify, fsck, requireDigest,
and `git model migrate` (docs/security.md).

No test can craft bytes that share an xxh128 with others, so the tests make the other side of
the same mismatch: the pointer records the SHA-256 of other bytes than those its oid names.
The check that refuses it is the one that refuses crafted bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from gitmodel.hashing import oid_of_bytes
from tests.helpers import git, gm, gm_ok, object_path

WEIGHTS = b"weights v1\n" * 1000
OTHER = "sha256:" + hashlib.sha256(b"other bytes").hexdigest()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def remote_object(share: Path, oid: str) -> Path:
    digits = oid.removeprefix("xxh128:")
    return share / "objects" / digits[:2] / digits[2:]


@pytest.fixture
def shared(repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """repo/ with model.bin (digest) and tok/ (digests) committed and pushed to share/; and
    clone/, a Git clone with an empty cache and the same model remote."""
    share = tmp_path / "share"
    share.mkdir()
    (repo / "model.bin").write_bytes(WEIGHTS)
    (repo / "tok").mkdir()
    (repo / "tok" / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    (repo / "tok" / "config.json").write_text('{"lowercase": true}\n')
    gm_ok(repo, "add", "-q", "model.bin", "tok", "--digest", "sha256")
    git(repo, "commit", "-q", "-m", "models")
    for where in (repo,):
        git(where, "config", "model.remote.origin.url", str(share))
        git(where, "config", "model.defaultRemote", "origin")
    gm_ok(repo, "push", "-q")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "config", "model.remote.origin.url", str(share))
    git(clone, "config", "model.defaultRemote", "origin")
    return repo, clone


def pointer_oid(repo: Path, pointer: str) -> str:
    for line in (repo / pointer).read_text().splitlines():
        if line.startswith("oid = "):
            return line.split('"')[1]
    raise AssertionError(pointer)


def record_digest(repo: Path, pointer: str, digest: str) -> None:
    text = (repo / pointer).read_text()
    start = text.index('digest = "') + len('digest = "')
    (repo / pointer).write_text(text[:start] + digest + text[start + 71 :])


def cache_files(repo: Path) -> set[str]:
    objects = repo / ".git" / "model" / "cache" / "objects"
    return (
        {f"xxh128:{p.parent.name}{p.name}" for p in objects.glob("*/*")}
        if objects.is_dir()
        else set()
    )


def test_pull_checks_the_digest_before_an_object_enters_the_cache(
    shared: tuple[Path, Path], tmp_path: Path
) -> None:
    _, clone = shared
    oid = oid_of_bytes(WEIGHTS)
    record_digest(clone, "model.bin.gitmodel", OTHER)
    proc = gm(clone, "pull", "model.bin")
    share = tmp_path / "share"
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: object {oid} (from remote origin ({share})) does not match its recorded digest: "
        f"expected {OTHER}, got {sha(WEIGHTS)}; the bad bytes were not kept (its bytes were made "
        "to satisfy the xxh128 oid, or the pointer is wrong; do not use them: delete the copy "
        "and fetch it from a trusted remote (see docs/security.md))\n"
    )
    assert oid not in cache_files(clone)
    assert list((clone / ".git" / "model" / "cache" / "tmp").iterdir()) == []
    assert not (clone / "model.bin").exists()
    git(clone, "checkout", "model.bin.gitmodel")  # the true digest: the same bytes are accepted
    gm_ok(clone, "pull", "-q")
    assert (clone / "model.bin").read_bytes() == WEIGHTS


def test_fetch_checks_each_file_of_a_folder_against_its_manifest(
    shared: tuple[Path, Path], tmp_path: Path
) -> None:
    """A version-2 manifest whose file digest is wrong, named by a pointer whose own digest
    is right: the manifest is accepted, the file it vouches for wrongly is not."""
    repo, clone = shared
    share = tmp_path / "share"
    manifest = json.loads(object_path(repo, pointer_oid(repo, "tok.gitmodel")).read_bytes())
    vocab = next(f for f in manifest["files"] if f["path"] == "vocab.txt")
    vocab["digest"] = OTHER
    forged = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    forged_oid = oid_of_bytes(forged)
    remote_object(share, forged_oid).parent.mkdir(parents=True, exist_ok=True)
    remote_object(share, forged_oid).write_bytes(forged)
    text = (clone / "tok.gitmodel").read_text()
    text = text.replace(pointer_oid(clone, "tok.gitmodel"), forged_oid)
    (clone / "tok.gitmodel").write_text(text)
    record_digest(clone, "tok.gitmodel", sha(forged))

    proc = gm(clone, "fetch", "tok")
    vocab_digest = sha(b"[PAD]\n[UNK]\nhello\n")
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        f"error: object {vocab['oid']} (from remote origin ({share})) does not match its "
        f"recorded digest: expected {OTHER}, got {vocab_digest}; "
    )
    assert forged_oid in cache_files(clone)  # the manifest matched the pointer's digest
    assert vocab["oid"] not in cache_files(clone)


def test_checkout_verify_checks_the_digest_and_plain_checkout_does_not_rehash(
    repo: Path,
) -> None:
    (repo / "model.bin").write_bytes(WEIGHTS)
    gm_ok(repo, "add", "-q", "model.bin", "--digest", "sha256")
    os.remove(repo / "model.bin")
    record_digest(repo, "model.bin.gitmodel", OTHER)
    proc = gm(repo, "checkout", "--verify")
    oid = oid_of_bytes(WEIGHTS)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith(
        f"error: object {oid} ({object_path(repo, oid)}) does not match its recorded digest: "
        f"expected {OTHER}, got {sha(WEIGHTS)} ("
    )
    assert not (repo / "model.bin").exists()
    gm_ok(repo, "checkout", "-q")  # without --verify nothing is rehashed (the fast path)
    assert (repo / "model.bin").read_bytes() == WEIGHTS


def test_checkout_verify_checks_a_new_folder_file_by_file(repo: Path) -> None:
    (repo / "tok").mkdir()
    (repo / "tok" / "vocab.txt").write_text("hello\n")
    gm_ok(repo, "add", "-q", "tok", "--digest", "sha256")
    (repo / "tok" / "vocab.txt").unlink()
    (repo / "tok").rmdir()
    gm_ok(repo, "checkout", "-q", "--verify")
    assert (repo / "tok" / "vocab.txt").read_text() == "hello\n"
    (repo / "tok" / "vocab.txt").unlink()
    (repo / "tok").rmdir()
    manifest = json.loads(object_path(repo, pointer_oid(repo, "tok.gitmodel")).read_bytes())
    manifest["files"][0]["digest"] = OTHER
    forged = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    object_path(repo, oid_of_bytes(forged)).parent.mkdir(exist_ok=True)
    object_path(repo, oid_of_bytes(forged)).write_bytes(forged)
    text = (repo / "tok.gitmodel").read_text()
    (repo / "tok.gitmodel").write_text(
        text.replace(pointer_oid(repo, "tok.gitmodel"), oid_of_bytes(forged))
    )
    record_digest(repo, "tok.gitmodel", sha(forged))
    proc = gm(repo, "checkout", "--verify", "tok")
    oid = oid_of_bytes(b"hello\n")
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        f"error: object {oid} ({object_path(repo, oid)}) does not match its recorded digest: "
        f"expected {OTHER}, got {sha(b'hello' + bytes([10]))} ("
    )
    assert not (repo / "tok").exists()


def test_fsck_reports_an_object_that_does_not_match_a_recorded_digest(
    shared: tuple[Path, Path], tmp_path: Path
) -> None:
    repo, _ = shared
    oid = oid_of_bytes(WEIGHTS)
    count = len(cache_files(repo))
    assert gm_ok(repo, "fsck") == f"checked {count} object(s) in local cache: 0 corrupt\n"
    record_digest(repo, "model.bin.gitmodel", OTHER)

    share = tmp_path / "share"
    proc = gm(repo, "fsck", "--remote", "origin", "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == {
        "where": f"origin ({share})",
        "checked": count,
        "corrupt": [oid],
        "quarantined": [],
        "missing": [],
        "wrong_size": [],
        "wrong_digest": [oid],
    }
    proc = gm(repo, "fsck")
    quarantined = repo / ".git" / "model" / "cache" / "quarantine" / oid.removeprefix("xxh128:")
    assert (proc.returncode, proc.stdout) == (
        1,
        f"corrupt {oid}: moved to {quarantined} (its bytes do not match the digest a pointer "
        f"records)\nchecked {count} object(s) in local cache: 1 corrupt\n",
    )
    assert quarantined.read_bytes() == WEIGHTS


NO_DIGEST_HINT = (
    "(if you trust its bytes, record one with `git model migrate` and commit; "
    "see docs/security.md)\n"
)


def test_require_digest_refuses_old_pointers_until_they_are_migrated(
    repo: Path, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    (repo / "model.bin").write_bytes(WEIGHTS)
    gm_ok(repo, "add", "-q", "model.bin")
    git(repo, "commit", "-q", "-m", "v1 pointer")
    gm_ok(repo, "tag", "-q", "model", "v1.0.0")
    git(repo, "config", "model.remote.origin.url", str(share))
    gm_ok(repo, "push", "-q", "origin")
    git(repo, "config", "model.requireDigest", "true")
    os.remove(repo / "model.bin")

    for args, shown in [
        (("checkout",), "model.bin.gitmodel"),
        (("checkout", "model@v1.0.0"), "model@v1.0.0:model.bin.gitmodel"),
        (("fetch", "-r", "origin"), "model (model.bin)"),
        (("pull", "-r", "origin"), "model (model.bin)"),
    ]:
        proc = gm(repo, *args)
        assert (proc.returncode, proc.stdout) == (1, ""), args
        assert proc.stderr == (
            f"error: {shown}: pointer has no digest, and model.requireDigest is set "
            + NO_DIGEST_HINT
        ), args
    assert not (repo / "model.bin").exists()

    before = (repo / "model.bin.gitmodel").read_text()
    assert gm_ok(repo, "migrate") == (
        "migrated model: model.bin.gitmodel\n"
        "1 pointer(s) migrated; commit them, then tag new versions (docs/security.md)\n"
    )
    after = (repo / "model.bin.gitmodel").read_text()
    assert after == before.replace("version = 1", "version = 2").replace(
        "\nsize = ", f'\ndigest = "{sha(WEIGHTS)}"\nsize = '
    )
    assert git(repo, "diff", "--cached", "--name-only").stdout == "model.bin.gitmodel\n"
    gm_ok(repo, "checkout", "-q", "--verify")
    assert (repo / "model.bin").read_bytes() == WEIGHTS
    git(repo, "commit", "-q", "-m", "record digests")
    gm_ok(repo, "tag", "-q", "model", "--bump", "patch")
    gm_ok(repo, "checkout", "-q", "model@v1.0.1")
    proc = gm(repo, "rollback", "model", "--to", "v1.0.0")
    assert (proc.returncode, proc.stderr) == (
        1,
        "error: model@v1.0.0:model.bin.gitmodel: pointer has no digest, and "
        "model.requireDigest is set " + NO_DIGEST_HINT,
    )
    assert gm_ok(repo, "migrate", "model") == (
        "already has a digest: model: model.bin.gitmodel\n"
        "0 pointer(s) migrated; commit them, then tag new versions (docs/security.md)\n"
    )


def test_migrate_gives_a_folder_a_version_2_manifest_and_is_what_add_digest_writes(
    repo: Path, tmp_path: Path
) -> None:
    for where in (repo, tmp_path / "other"):
        where.mkdir(exist_ok=True)
        (where / "tok").mkdir()
        (where / "tok" / "a.txt").write_text("a\n")
        (where / "tok" / "b" / "c.txt").parent.mkdir()
        (where / "tok" / "b" / "c.txt").write_text("c\n")
    other = tmp_path / "other"
    git(other, "init", "-q")
    gm_ok(other, "add", "-q", "tok", "--digest", "sha256")
    gm_ok(repo, "add", "-q", "tok")
    gm_ok(repo, "migrate", "-q", "tok")
    strip = lambda text: text.split("\n[lineage]")[0]  # noqa: E731
    assert strip((repo / "tok.gitmodel").read_text()) == strip((other / "tok.gitmodel").read_text())
    assert gm_ok(repo, "status") == "up to date              tok/\n"


def test_migrate_checks_the_xxh128_first_and_changes_nothing_on_failure(repo: Path) -> None:
    (repo / "a.bin").write_bytes(b"a" * 10)
    (repo / "b.bin").write_bytes(b"b" * 10)
    gm_ok(repo, "add", "-q", "a.bin", "b.bin")
    bad = object_path(repo, oid_of_bytes(b"b" * 10))
    bad.chmod(0o644)
    bad.write_bytes(b"B" * 10)
    before = {p: (repo / p).read_bytes() for p in ("a.bin.gitmodel", "b.bin.gitmodel")}
    proc = gm(repo, "migrate")
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: object {oid_of_bytes(b'b' * 10)} is corrupt: {bad} no longer hashes to its id "
        "(delete that file and fetch it again with `git model pull`)\n"
    )
    assert {p: (repo / p).read_bytes() for p in before} == before
    bad.unlink()
    proc = gm(repo, "migrate", "b.bin")
    assert proc.stderr == (
        f"error: object {oid_of_bytes(b'b' * 10)} is not in the cache (fetch it with "
        "`git model pull`, or re-add the artifact on the machine that has it)\n"
    )
