"""Version-2 pointers and folder manifests: the SHA-256 `digest` (docs/pointer-format.md 3.7)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from gitmodel.errors import CorruptObjectError
from gitmodel.hashing import oid_of_bytes
from gitmodel.manifests import FileEntry, decode_dir_manifest, encode_dir_manifest
from gitmodel.pointer import Pointer, format_pointer, parse_pointer
from tests.helpers import git, gm, gm_ok, object_path
from tests.test_pointer import BASE, DOC, OID, doc_blocks, refused

DIGEST = "sha256:" + "0123456789abcdef" * 4
V2 = BASE.replace("version = 1", "version = 2").replace(
    f'oid = "{OID}"\n', f'oid = "{OID}"\ndigest = "{DIGEST}"\n'
)
HINT = (
    "restore it with `git checkout -- <pointer>` or re-run `git model add`; "
    "the format is in docs/pointer-format.md"
)


def test_a_pointer_with_a_digest_is_version_2_and_one_without_stays_version_1() -> None:
    plain = Pointer(name="m", path="m.bin", oid=OID, size=1, kind="file")
    assert format_pointer(plain).decode() == BASE
    assert format_pointer(Pointer(**{**plain.__dict__, "digest": DIGEST})).decode() == V2
    assert parse_pointer(V2.encode()).digest == DIGEST
    assert parse_pointer(BASE.encode()).digest is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BASE.replace('kind = "file"\n', f'kind = "file"\ndigest = "{DIGEST}"\n'),
            "m.gitmodel: 'digest' needs 'version = 2'",
        ),
        (V2.replace(f'digest = "{DIGEST}"\n', ""), "m.gitmodel: missing required key 'digest'"),
        (
            V2.replace(DIGEST, DIGEST.upper().replace("SHA256", "sha256")),
            f"m.gitmodel: digest {DIGEST.upper().replace('SHA256', 'sha256')!r} is not 'sha256:' "
            "followed by 64 lowercase hex",
        ),
        (
            V2.replace(DIGEST, "blake3:" + "0" * 64),
            f"m.gitmodel: digest {'blake3:' + '0' * 64!r} is not 'sha256:' followed by 64 "
            "lowercase hex",
        ),
        (
            V2.replace(DIGEST, DIGEST + "\\n"),
            f"m.gitmodel: digest {DIGEST + chr(10)!r} is not 'sha256:' followed by 64 "
            "lowercase hex",
        ),
        (V2.replace(f'"{DIGEST}"', "7"), "m.gitmodel: 'digest' must be a string, got 7"),
    ],
)
def test_digest_rules_are_enforced(text: str, message: str) -> None:
    error = refused(text)
    assert (error.message, error.hint) == (message, HINT)


def test_a_newer_version_asks_for_an_upgrade_not_about_unknown_keys() -> None:
    error = refused(V2.replace("version = 2", "version = 3") + 'chunks = "x"\n')
    assert error.message == (
        "m.gitmodel: pointer version 3 is not supported (this git-model reads versions 1 and 2)"
    )
    assert error.hint == "upgrade git-model if the pointer was written by a newer release"


def test_the_spec_quotes_what_a_version_1_reader_says_about_version_2() -> None:
    """The message of the version-1-only reader (git-model before this change), quoted in
    section 3.1, is the same sentence the current reader says for version 3."""
    text = DOC.read_text(encoding="utf-8")
    assert (
        "error: m.bin.gitmodel: pointer version 2 is not supported (this git-model reads "
        "version 1) (upgrade git-model if the pointer was written by a newer release)"
    ) in text


def test_folder_manifest_version_2_carries_a_digest_per_file() -> None:
    a = FileEntry("a", OID, 1, digest=DIGEST)
    b = FileEntry("b/c", OID, 2, True, digest=DIGEST.replace("0", "f"))
    data = encode_dir_manifest([b, a])
    doc = json.loads(data)
    assert doc["version"] == 2
    assert data == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert decode_dir_manifest(data, "m") == [a, b]
    plain = encode_dir_manifest([FileEntry("a", OID, 1)])
    assert json.loads(plain)["version"] == 1
    assert decode_dir_manifest(plain, "m") == [FileEntry("a", OID, 1)]
    with pytest.raises(ValueError, match="a digest for every file or for none"):
        encode_dir_manifest([a, FileEntry("z", OID, 1)])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda f: f.pop("digest"), "'digest'"),
        (lambda f: f.update(digest="sha256:abc"), "bad file digest 'sha256:abc'"),
        (lambda f: f.update(digest=None), "bad file digest None"),
    ],
)
def test_a_version_2_manifest_needs_a_good_digest_for_every_file(change, reason) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(encode_dir_manifest([FileEntry("a", OID, 1, digest=DIGEST)]))
    change(doc["files"][0])
    with pytest.raises(CorruptObjectError) as info:
        decode_dir_manifest(json.dumps(doc).encode(), "xxh128:m")
    assert info.value.message == f"folder manifest xxh128:m is not valid: {reason}"


def test_an_unknown_manifest_version_is_refused() -> None:
    doc = json.loads(encode_dir_manifest([FileEntry("a", OID, 1)]))
    doc["version"] = 3
    with pytest.raises(CorruptObjectError, match="not a version-1 or version-2 folder manifest"):
        decode_dir_manifest(json.dumps(doc).encode(), "xxh128:m")


def test_doc_digest_examples_are_what_add_digest_writes(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"weights v1\n" * 1000)
    (repo / "tok").mkdir()
    (repo / "tok" / "config.json").write_text('{"lowercase": true}\n')
    (repo / "tok" / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    gm_ok(repo, "add", "model.bin", "tok", "--digest", "sha256")
    versioned = {p.path: b for b in doc_blocks("toml") if (p := parse_pointer(b.encode())).digest}
    assert set(versioned) == {"model.bin", "tok"}
    for path, block in versioned.items():
        written = (repo / f"{path}.gitmodel").read_text(encoding="utf-8")
        head = git(repo, "rev-parse", "HEAD").stdout.strip()
        assert written == block + f'\n[lineage]\ncommit = "{head}"\ndirty = false\n'
    assert hashlib.sha256((repo / "model.bin").read_bytes()).hexdigest() in versioned["model.bin"]
    tok = parse_pointer(versioned["tok"].encode())
    manifest = object_path(repo, tok.oid).read_bytes()
    assert manifest.decode() + "\n" in doc_blocks("json")
    assert (oid_of_bytes(manifest), "sha256:" + hashlib.sha256(manifest).hexdigest()) == (
        tok.oid,
        tok.digest,
    )


def test_add_without_digest_writes_the_same_bytes_as_before(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"weights v1\n" * 1000)
    gm_ok(repo, "add", "model.bin")
    text = (repo / "model.bin.gitmodel").read_text()
    assert text.startswith('version = 1\nname = "model"\npath = "model.bin"\noid = "xxh128:')
    assert "digest" not in text


def test_digest_setting_and_stickiness(repo: Path) -> None:
    (repo / "a.bin").write_bytes(b"a" * 100)
    git(repo, "config", "model.digest", "sha256")
    gm_ok(repo, "add", "a.bin")
    assert "\ndigest = " in (repo / "a.bin.gitmodel").read_text()
    git(repo, "config", "--unset", "model.digest")
    (repo / "a.bin").write_bytes(b"b" * 100)
    gm_ok(repo, "add", "a.bin")  # the previous pointer had one: it keeps one
    text = (repo / "a.bin.gitmodel").read_text()
    assert ("sha256:" + hashlib.sha256(b"b" * 100).hexdigest()) in text
    gm_ok(repo, "add", "a.bin", "--digest", "none")
    assert (repo / "a.bin.gitmodel").read_text().startswith("version = 1\n")


def test_bad_digest_choices_are_refused_before_anything_is_written(repo: Path) -> None:
    (repo / "a.bin").write_bytes(b"a")
    proc = gm(repo, "add", "a.bin", "--digest", "md5")
    assert (proc.returncode, proc.stderr) == (
        1,
        "error: --digest 'md5' is not a digest git-model knows "
        "(use sha256 (or none to record no digest))\n",
    )
    assert not (repo / "a.bin.gitmodel").exists()
    git(repo, "config", "model.requireDigest", "true")
    proc = gm(repo, "add", "a.bin", "--digest", "none")
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "error: --digest is none, but model.requireDigest is set: a pointer without a digest "
        "would be refused"
    )
    gm_ok(repo, "add", "a.bin")  # requireDigest: add records one unasked
    assert re.search(
        r'^digest = "sha256:[0-9a-f]{64}"$', (repo / "a.bin.gitmodel").read_text(), re.M
    )
    git(repo, "config", "model.requireDigest", "maybe")
    proc = gm(repo, "add", "a.bin")
    assert proc.stderr == (
        "error: model.requireDigest is 'maybe', not a boolean "
        "(set it with `git config model.requireDigest true` (or false))\n"
    )


def test_show_prints_the_digest(repo: Path) -> None:
    (repo / "model.bin").write_bytes(WEIGHTS)
    gm_ok(repo, "add", "-q", "model.bin", "--digest", "sha256")
    out = gm_ok(repo, "show", "model.bin")
    assert f"\noid:       {oid_of_bytes(WEIGHTS)}\ndigest:    {sha256(WEIGHTS)}\nsize:  " in out
    assert json.loads(gm_ok(repo, "show", "model.bin", "--json"))["pointer"]["digest"] == (
        sha256(WEIGHTS)
    )
    gm_ok(repo, "add", "-q", "model.bin", "--digest", "none")
    assert "digest:" not in gm_ok(repo, "show", "model.bin")


WEIGHTS = b"weights v1\n" * 1000


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_merge_driver_keeps_a_digest_added_on_one_side(repo: Path) -> None:
    gm_ok(repo, "install", "-q")
    (repo / "model.bin").write_bytes(WEIGHTS)
    gm_ok(repo, "add", "-q", "model.bin", "-m", "acc=0.9")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "t")
    gm_ok(repo, "migrate", "-q")
    git(repo, "commit", "-q", "-m", "digest")
    git(repo, "checkout", "-q", "-")
    gm_ok(repo, "add", "-q", "model.bin", "-m", "acc=0.95")
    ours = (repo / "model.bin.gitmodel").read_text()
    git(repo, "commit", "-q", "-m", "metric")
    proc = git(repo, "merge", "--no-edit", "-q", "t", check=False)
    assert proc.returncode == 0, proc.stderr
    merged = (repo / "model.bin.gitmodel").read_text()
    assert merged == ours.replace("version = 1", "version = 2").replace(
        "\nsize = ", f'\ndigest = "{sha256(WEIGHTS)}"\nsize = '
    )
