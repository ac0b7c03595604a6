"""The pointer format: docs/pointer-format.md examples, canonical bytes, strict rejection."""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from pathlib import Path

import pytest

from gitmodel.errors import PointerError
from gitmodel.hashing import oid_of_bytes
from gitmodel.manifests import decode_dir_manifest
from gitmodel.pointer import (
    NAME_RE,
    DataRef,
    FormatInfo,
    Lineage,
    Pointer,
    artifact_location,
    format_pointer,
    parse_pointer,
)
from tests.helpers import git, gm, gm_ok, write_safetensors

DOC = Path(__file__).resolve().parent.parent / "docs" / "pointer-format.md"
HINT = (
    "restore it with `git checkout -- <pointer>` or re-run `git model add`; "
    "the format is in docs/pointer-format.md"
)
OID = "xxh128:" + "0123456789abcdef" * 2
COMMIT = "4d17d4a3a8ed7d1d7be27f039393fcc9d033a6bd"
BASE = f'version = 1\nname = "m"\npath = "m.bin"\noid = "{OID}"\nsize = 1\nkind = "file"\n'


def doc_blocks(lang: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"^```{lang}\n(.*?)^```$", text, flags=re.S | re.M)


def refused(data: str | bytes) -> PointerError:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(PointerError) as info:
        parse_pointer(raw, "m.gitmodel")
    return info.value


# --- (a) the spec's examples are canonical pointers, byte for byte -------------------------


def test_doc_has_the_examples() -> None:
    blocks = doc_blocks("toml")
    assert len(blocks) >= 4
    kinds = {parse_pointer(b.encode()).kind for b in blocks}
    formats = {p.format.name for b in blocks if (p := parse_pointer(b.encode())).format}
    assert kinds == {"file", "dir"}
    assert formats == {"safetensors", "dir"}


@pytest.mark.parametrize("index", range(len(doc_blocks("toml"))))
def test_doc_example_round_trips_byte_for_byte(index: int) -> None:
    block = doc_blocks("toml")[index].encode()
    assert format_pointer(parse_pointer(block, f"example {index}")) == block


@pytest.mark.parametrize("index", range(len(doc_blocks("json"))))
def test_doc_manifest_example_is_canonical_json(index: int) -> None:
    block = doc_blocks("json")[index]
    assert block.endswith("\n")
    text = block[:-1]
    doc = json.loads(text)
    assert json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == text


def test_doc_manifests_hash_to_the_oids_the_examples_name() -> None:
    pointers = [parse_pointer(b.encode()) for b in doc_blocks("toml")]
    folders = [p for p in pointers if p.kind == "dir"]
    tensors = next(p for p in pointers if p.format and p.format.name == "safetensors")
    assert tensors.format is not None
    manifests = {oid_of_bytes(b[:-1].encode()): b[:-1].encode() for b in doc_blocks("json")}
    assert set(manifests) == {f.oid for f in folders} | {tensors.format.facts["manifest"]}
    for folder in folders:
        entries = decode_dir_manifest(manifests[folder.oid], folder.oid)
        assert sum(e.size for e in entries) == folder.size
        assert folder.format is not None and folder.format.facts["files"] == len(entries)


def test_doc_examples_are_what_git_model_add_writes(repo: Path) -> None:
    """Rebuild the scratch repository the examples came from; only commit ids may differ."""
    (repo / "model.bin").write_bytes(b"weights v1\n" * 1000)
    write_safetensors(
        repo / "models" / "classifier.safetensors",
        {
            "embed.weight": ("F32", [1000, 64], 1),
            "head.bias": ("F32", [10], 2),
            "head.weight": ("F16", [10, 64], 3),
        },
        metadata={"format": "pt"},
    )
    write_safetensors(
        repo / "bert" / "model.safetensors",
        {
            "encoder.layer.0.weight": ("BF16", [256, 256], 4),
            "encoder.layer.0.bias": ("BF16", [256], 5),
            "pooler.dense.weight": ("F32", [256, 256], 6),
        },
    )
    (repo / "bert" / "config.json").write_text('{"hidden_size": 256, "model_type": "bert"}\n')
    (repo / "bert" / "tokenizer.json").write_text(
        '{"version": "1.0", "vocab": {"[PAD]": 0, "[UNK]": 1}}\n'
    )
    (repo / "data" / "eval").mkdir(parents=True)
    (repo / "data" / "train.csv").write_text("text,label\nhello,1\nbye,0\n")
    git(repo, "add", "data/train.csv")
    git(repo, "commit", "-q", "-m", "data")
    (repo / "data" / "eval" / "x.txt").write_text("a\n")
    (repo / "eval.json").write_text(
        '{"accuracy": 0.9125, "loss": 0.2431, '
        '"eval": {"f1": 0.89, "per-class": {"neg": 0.91, "pos": 0.87}}}\n'
    )
    gm_ok(repo, "add", "model.bin")
    gm_ok(
        repo,
        *["add", "models/classifier.safetensors", "--name", "classifier"],
        *["--metrics", "eval.json"],
        *["-m", "top-5 acc=0.99", "-p", "lr=3e-4", "-p", "epochs=3", "-p", "optimizer=adamw"],
        *["-p", "use_amp=true", "-d", "data/train.csv", "-d", "data/eval"],
    )
    gm_ok(repo, "add", "bert", "--name", "nlp/bert-base", "-m", "accuracy=0.88")
    head = git(repo, "rev-parse", "HEAD").stdout.strip()

    blocks = doc_blocks("toml")
    examples = {p.path: b for b in blocks if (p := parse_pointer(b.encode())).lineage}
    written = {
        "model.bin": repo / "model.bin.gitmodel",
        "classifier.safetensors": repo / "models" / "classifier.safetensors.gitmodel",
        "bert": repo / "bert.gitmodel",
    }
    assert set(examples) == set(written)
    for path, pointer_file in written.items():
        expected = re.sub(
            r'^commit = "[0-9a-f]{40}"$', f'commit = "{head}"', examples[path], flags=re.M
        )
        assert pointer_file.read_text(encoding="utf-8") == expected
    minimal = next(b for b in blocks if not parse_pointer(b.encode()).lineage)
    assert examples["model.bin"].startswith(minimal + "\n[lineage]\n")


def test_doc_states_the_name_pattern_the_code_enforces() -> None:
    assert f"\n```\n{NAME_RE.pattern}\n```\n" in DOC.read_text(encoding="utf-8")


# --- (b) canonical bytes ------------------------------------------------------------------


def test_minimal_pointer_bytes() -> None:
    pointer = Pointer(name="m", path="m.bin", oid=OID, size=1, kind="file")
    assert format_pointer(pointer) == BASE.encode()


def test_full_pointer_bytes_key_order_and_quoting() -> None:
    pointer = Pointer(
        name="nlp/bert-base",
        path="bert",
        oid=OID,
        size=394097,
        kind="dir",
        format=FormatInfo("dir", {"tensors": 3, "files": 2, "dtypes": ["BF16", "F32"]}),
        metrics={"loss": 0.25, "eval.f1": 0.5, "Zeta": 1, "top-5 acc": 3e-4, "ü": "x"},
        params={"use_amp": True, "lr": 1e-5, "optimizer": "adamw", "steps": 10**12},
        lineage=Lineage(
            commit=COMMIT,
            dirty=False,
            data=(DataRef("z/train", OID), DataRef("a.csv", "git:" + "a" * 40)),
        ),
    )
    expected = (
        'version = 1\nname = "nlp/bert-base"\npath = "bert"\n'
        f'oid = "{OID}"\nsize = 394097\nkind = "dir"\n'
        '\n[format]\nname = "dir"\ndtypes = ["BF16", "F32"]\nfiles = 2\ntensors = 3\n'
        '\n[metrics]\nZeta = 1\n"eval.f1" = 0.5\nloss = 0.25\n"top-5 acc" = 0.0003\n"ü" = "x"\n'
        '\n[params]\nlr = 1e-05\noptimizer = "adamw"\nsteps = 1000000000000\nuse_amp = true\n'
        f'\n[lineage]\ncommit = "{COMMIT}"\ndirty = false\n'
        f'\n[[lineage.data]]\npath = "z/train"\noid = "{OID}"\n'
        f'\n[[lineage.data]]\npath = "a.csv"\noid = "git:{"a" * 40}"\n'
    )
    data = format_pointer(pointer)
    assert data == expected.encode("utf-8")
    assert parse_pointer(data) == pointer


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3e-4, "0.0003"),
        (1e-5, "1e-05"),
        (1e16, "1e+16"),
        (2.0, "2.0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (-0.0, "-0.0"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), "nan"),
        (True, "true"),
        (False, "false"),
        (-7, "-7"),
        (0, "0"),
    ],
)
def test_scalar_formatting_and_round_trip(value: float, text: str) -> None:
    pointer = Pointer(name="m", path="m.bin", oid=OID, size=1, kind="file", metrics={"v": value})
    data = format_pointer(pointer)
    assert data == f"{BASE}\n[metrics]\nv = {text}\n".encode()
    back = parse_pointer(data).metrics["v"]
    assert type(back) is type(value)
    assert (math.isnan(back) and math.isnan(value)) or back == value


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ('say "hi"', r'"say \"hi\""'),
        ("a\\b", r'"a\\b"'),
        ("line1\nline2\r\n", r'"line1\nline2\r\n"'),
        ("tab\there\b\f", r'"tab\there\b\f"'),
        ("bell\x07 del\x7f nul\x00 esc\x1b", r'"bell\u0007 del\u007F nul\u0000 esc\u001B"'),
        ("café ✓ 模型 😀", '"café ✓ 模型 😀"'),
        ("", '""'),
    ],
)
def test_string_escaping_and_round_trip(value: str, text: str) -> None:
    pointer = Pointer(name="m", path="m.bin", oid=OID, size=1, kind="file", params={"s": value})
    data = format_pointer(pointer)
    assert data == f"{BASE}\n[params]\ns = {text}\n".encode()
    assert parse_pointer(data).params == {"s": value}


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("plain_key-1", "plain_key-1"),
        ("UPPER", "UPPER"),
        ("eval.f1", '"eval.f1"'),
        ("with space", '"with space"'),
        ("ü", '"ü"'),
        ('q"uote', r'"q\"uote"'),
        ("", '""'),
    ],
)
def test_key_quoting(key: str, text: str) -> None:
    pointer = Pointer(name="m", path="m.bin", oid=OID, size=1, kind="file", metrics={key: 1})
    assert format_pointer(pointer) == f"{BASE}\n[metrics]\n{text} = 1\n".encode()


def test_lineage_without_commit_and_format_without_facts() -> None:
    pointer = Pointer(
        name="m",
        path="m.bin",
        oid=OID,
        size=1,
        kind="file",
        format=FormatInfo("onnx"),
        lineage=Lineage(commit=None, dirty=True),
    )
    data = format_pointer(pointer)
    assert data == f'{BASE}\n[format]\nname = "onnx"\n\n[lineage]\ndirty = true\n'.encode()
    assert parse_pointer(data) == pointer


def test_reader_accepts_non_canonical_layout_and_writer_canonicalises() -> None:
    text = (
        "# written by hand\r\n"
        'kind = "file"\r\nsize = 1\r\noid = "' + OID + '"\r\npath = "m.bin"\r\n'
        'name = "m"\r\nversion = 1\r\n'
        "[params]\r\nb = 2\r\na = 1\r\n"
        "[metrics.eval]\r\nf1 = 0.8\r\n"
        "[metrics.eval.per-class]\r\nneg = 0.75\r\n"
        "[lineage]\r\ncommit = '" + COMMIT + "'\r\n"
    )
    pointer = parse_pointer(text.encode())
    assert pointer.metrics == {"eval.f1": 0.8, "eval.per-class.neg": 0.75}
    assert pointer.lineage == Lineage(commit=COMMIT, dirty=False)
    assert (
        format_pointer(pointer)
        == (
            BASE + '\n[metrics]\n"eval.f1" = 0.8\n"eval.per-class.neg" = 0.75\n'
            "\n[params]\na = 1\nb = 2\n"
            f'\n[lineage]\ncommit = "{COMMIT}"\ndirty = false\n'
        ).encode()
    )


def test_unknown_format_facts_are_kept() -> None:
    data = f'{BASE}\n[format]\nname = "gguf"\narch = "llama"\nquant = ["Q4_K"]\nratio = 0.5\n'
    pointer = parse_pointer(data.encode())
    assert pointer.format == FormatInfo("gguf", {"arch": "llama", "quant": ["Q4_K"], "ratio": 0.5})
    assert format_pointer(pointer) == data.encode()


def test_pointer_exactly_at_the_cap_is_read() -> None:
    data = BASE.encode() + b"#" * (64 * 1024 - len(BASE) - 1) + b"\n"
    assert len(data) == 65536
    assert parse_pointer(data).size == 1


def test_writer_refuses_pointer_over_the_cap() -> None:
    pointer = Pointer(
        name="m", path="m.bin", oid=OID, size=1, kind="file", metrics={"x": "y" * 65536}
    )
    with pytest.raises(PointerError) as info:
        format_pointer(pointer)
    assert info.value.message == "pointer for 'm.bin' would be 65663 bytes, over the 65536-byte cap"
    assert info.value.hint == (
        "keep metrics and params to the key figures; store full reports as artifacts"
    )


def test_writer_validates_too() -> None:
    with pytest.raises(PointerError) as info:
        format_pointer(Pointer(name="m", path="../m.bin", oid=OID, size=1, kind="file"))
    assert info.value.message == (
        "pointer: path '../m.bin' contains '..' or '.'; it must stay beside the pointer"
    )


# --- (c) rejection, with exact messages -----------------------------------------------------


def test_unknown_version_is_refused_with_upgrade_hint() -> None:
    error = refused(BASE.replace("version = 1", "version = 3"))
    assert error.message == (
        "m.gitmodel: pointer version 3 is not supported (this git-model reads versions 1 and 2)"
    )
    assert error.hint == "upgrade git-model if the pointer was written by a newer release"


def test_unknown_version_wins_over_its_new_keys() -> None:
    error = refused(BASE.replace("version = 1", "version = 3") + "chunks = 4\n")
    assert error.message == (
        "m.gitmodel: pointer version 3 is not supported (this git-model reads versions 1 and 2)"
    )


def _replace(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


BAD_OIDS = [
    "xxh128:" + "0123456789ABCDEF" * 2,
    "xxh128:" + "0" * 31,
    "xxh128:" + "0" * 33,
    "sha256:" + "0" * 64,
    "0" * 32,
    "xxh128:" + "g" * 32,
    " xxh128:" + "0" * 32,
]

REJECTIONS: list[tuple[str, str]] = [
    (BASE.replace("version = 1\n", ""), "missing required key 'version'"),
    (_replace("version = 1", 'version = "1"'), "'version' must be an integer, got '1'"),
    (_replace("version = 1", "version = true"), "'version' must be an integer, got True"),
    (_replace("version = 1", "version = 1.0"), "'version' must be an integer, got 1.0"),
    *[
        (
            "".join(line for line in BASE.splitlines(True) if not line.startswith(k + " ")),
            f"missing required key '{k}'",
        )
        for k in ("name", "path", "oid", "size", "kind")
    ],
    *[
        (_replace(OID, oid), f"oid {oid!r} is not 'xxh128:' followed by 32 lowercase hex")
        for oid in BAD_OIDS
    ],
    (_replace(f'"{OID}"', "12"), "'oid' must be a string, got 12"),
    (_replace('name = "m"', "name = 1"), "'name' must be a string, got 1"),
    (_replace('path = "m.bin"', "path = ['m.bin']"), "'path' must be a string, got ['m.bin']"),
    (_replace("size = 1", 'size = "1"'), "'size' must be a non-negative integer"),
    (_replace("size = 1", "size = -1"), "'size' must be a non-negative integer"),
    (_replace("size = 1", "size = 1.0"), "'size' must be a non-negative integer"),
    (_replace("size = 1", "size = true"), "'size' must be a non-negative integer"),
    (_replace('kind = "file"', 'kind = "blob"'), "'kind' must be 'file' or 'dir', got 'blob'"),
    (_replace('kind = "file"', 'kind = "File"'), "'kind' must be 'file' or 'dir', got 'File'"),
    (_replace('kind = "file"', "kind = 1"), "'kind' must be a string, got 1"),
    (BASE + "extra = 1\n", "unknown key 'extra'"),
    (BASE + "[notes]\ntext = 'x'\n", "unknown key 'notes'"),
    (BASE + "[lineage]\nauthor = 'me'\n", "unknown key 'lineage.author'"),
    (BASE + "lineage = 1\n", "[lineage] must be a table"),
    (
        BASE + "[lineage]\ncommit = 'abc'\n",
        "lineage.commit must be a full Git commit id, got 'abc'",
    ),
    (
        BASE + f"[lineage]\ncommit = '{COMMIT.upper()}'\n",
        f"lineage.commit must be a full Git commit id, got '{COMMIT.upper()}'",
    ),
    (
        BASE + f"[lineage]\ncommit = '{COMMIT}0'\n",
        f"lineage.commit must be a full Git commit id, got '{COMMIT}0'",
    ),
    (BASE + "[lineage]\ncommit = 7\n", "lineage.commit must be a full Git commit id, got 7"),
    (BASE + "[lineage]\ndirty = 'yes'\n", "lineage.dirty must be true or false"),
    (BASE + "[lineage]\ndata = 'x'\n", "lineage.data must be an array of tables"),
    (
        BASE + "[[lineage.data]]\npath = 'd'\noid = 'sha256:00'\n",
        "lineage data oid 'sha256:00' is not xxh128:… or git:…",
    ),
    (
        BASE + "[[lineage.data]]\npath = 'd'\noid = 'git:abc'\n",
        "lineage data oid 'git:abc' is not xxh128:… or git:…",
    ),
    (
        BASE + "[[lineage.data]]\npath = 'd'\noid = 'xxh128:" + "A" * 32 + "'\n",
        "lineage data oid 'xxh128:" + "A" * 32 + "' is not xxh128:… or git:…",
    ),
    (
        BASE + "[[lineage.data]]\npath = 'd'\n",
        "each [[lineage.data]] needs exactly a string 'path' and 'oid'",
    ),
    (
        BASE + f"[[lineage.data]]\npath = 'd'\noid = '{OID}'\nsize = 3\n",
        "each [[lineage.data]] needs exactly a string 'path' and 'oid'",
    ),
    (BASE + "[format]\nparameters = 3\n", "[format] must be a table with a string 'name'"),
    (BASE + "format = 'safetensors'\n", "[format] must be a table with a string 'name'"),
    (
        BASE + "[format]\nname = 'x'\nshape = [1, 2]\n",
        "format fact 'shape' must be a scalar or a list of strings",
    ),
    (
        BASE + "[format]\nname = 'x'\n[format.extra]\na = 1\n",
        "format fact 'extra' must be a scalar or a list of strings",
    ),
    (BASE + "metrics = 1\n", "[metrics] must be a table"),
    (BASE + "[metrics]\nacc = [0.9]\n", "metrics value 'acc' must be a number, string or bool"),
    (
        BASE + "[params]\n[params.opt]\nwhen = 2024-01-01\n",
        "params value 'opt.when' must be a number, string or bool",
    ),
]

for _bad_name in ("My Model", "Model", "my model", "-model", "model-", "a_b", "", "é"):
    REJECTIONS.append(
        (
            _replace('name = "m"', f"name = {json.dumps(_bad_name)}"),
            f"model name {_bad_name!r} must be lowercase letters, digits, '-' or '/', "
            "starting and ending with a letter or digit",
        )
    )

for _bad_path, _why in [
    ("/etc/passwd", "is absolute; it must be relative to the pointer"),
    ("C:/m.bin", "is absolute; it must be relative to the pointer"),
    ("../m.bin", "contains '..' or '.'; it must stay beside the pointer"),
    ("a/../m.bin", "contains '..' or '.'; it must stay beside the pointer"),
    ("..", "contains '..' or '.'; it must stay beside the pointer"),
    ("a/./b", "contains '..' or '.'; it must stay beside the pointer"),
    ("./m.bin", "contains '..' or '.'; it must stay beside the pointer"),
    (".", "contains '..' or '.'; it must stay beside the pointer"),
    ("a\\b", "is empty or has a backslash or NUL"),
    ("..\\m.bin", "is empty or has a backslash or NUL"),
    ("a\x00b", "is empty or has a backslash or NUL"),
    ("", "is empty or has a backslash or NUL"),
]:
    REJECTIONS.append((_replace('"m.bin"', json.dumps(_bad_path)), f"path {_bad_path!r} {_why}"))


@pytest.mark.parametrize(("data", "message"), REJECTIONS, ids=[m for _, m in REJECTIONS])
def test_malformed_pointer_is_refused(data: str, message: str) -> None:
    error = refused(data)
    assert error.message == f"m.gitmodel: {message}"
    assert error.hint == HINT


def test_invalid_toml_is_refused() -> None:
    data = BASE + "name = \n"
    with pytest.raises(tomllib.TOMLDecodeError) as toml_error:
        tomllib.loads(data)
    error = refused(data)
    assert error.message == f"m.gitmodel: not a valid pointer ({toml_error.value})"
    assert error.message.startswith("m.gitmodel: not a valid pointer (")
    assert error.hint == "restore it with `git checkout -- <pointer>` or re-run `git model add`"


def test_duplicate_key_is_refused() -> None:
    error = refused(BASE + "size = 2\n")
    assert error.message.startswith("m.gitmodel: not a valid pointer (")


def test_non_utf8_is_refused() -> None:
    error = refused(BASE.encode() + b'[metrics]\nx = "\xff"\n')
    assert error.message == (
        "m.gitmodel: not a valid pointer ('utf-8' codec can't decode byte 0xff in position "
        f"{len(BASE) + 15}: invalid start byte)"
    )


def test_pointer_over_the_cap_is_refused_before_parsing() -> None:
    data = b"\xff" * (64 * 1024 + 1)  # not even UTF-8: the size check comes first
    error = refused(data)
    assert error.message == "m.gitmodel: 65537 bytes, over the 65536-byte pointer cap"
    assert error.hint == "a pointer is a small TOML file; is this an artifact named like a pointer?"


def test_accepted_variants() -> None:
    sha256_commit = "ab" * 32
    data = (
        _replace('name = "m"', 'name = "nlp/bert-base-2"').replace('"m.bin"', '"sub/dir/m.bin"')
        + f'\n[lineage]\ncommit = "{sha256_commit}"\ndirty = false\n'
        + f'\n[[lineage.data]]\npath = "/abs/data"\noid = "git:{"c" * 64}"\n'
    )
    pointer = parse_pointer(data.encode())
    assert pointer.name == "nlp/bert-base-2"
    assert pointer.path == "sub/dir/m.bin"
    data_ref = DataRef("/abs/data", "git:" + "c" * 64)
    assert pointer.lineage == Lineage(sha256_commit, False, (data_ref,))
    assert format_pointer(pointer) == data.encode()


# --- (d) artifact_location and symlinks -------------------------------------------------------


def _location_error(root: Path, pointer_file: Path, pointer: Pointer) -> str:
    with pytest.raises(PointerError) as info:
        artifact_location(root, pointer_file, pointer)
    assert info.value.hint == (
        "a symlink on the way leads out of the repository; remove it or move the artifact"
    )
    return info.value.message


def test_artifact_location_refuses_symlinked_folder_out_of_repo(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "inner").mkdir()
    (root / "inner" / "up").symlink_to("../..", target_is_directory=True)
    real_outside = os.path.realpath(outside)
    pointer_file = root / "m.bin.gitmodel"

    file_ptr = Pointer(name="m", path="link/m.bin", oid=OID, size=1, kind="file")
    assert _location_error(root, pointer_file, file_ptr) == (
        f"{pointer_file}: path 'link/m.bin' resolves to {real_outside}/m.bin, "
        "outside the repository"
    )
    dir_ptr = Pointer(name="m", path="link", oid=OID, size=1, kind="dir")
    assert _location_error(root, root / "link.gitmodel", dir_ptr) == (
        f"{root / 'link.gitmodel'}: path 'link' resolves to {real_outside}, outside the repository"
    )
    up_ptr = Pointer(name="m", path="up/outside/m.bin", oid=OID, size=1, kind="file")
    inner_pointer = root / "inner" / "m.bin.gitmodel"
    assert _location_error(root, inner_pointer, up_ptr) == (
        f"{inner_pointer}: path 'up/outside/m.bin' resolves to {real_outside}/m.bin, "
        "outside the repository"
    )


def test_artifact_location_accepts_paths_inside_the_repo(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "real").mkdir(parents=True)
    outside.mkdir()
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    # A file artifact may itself be a symlink out (the symlink link mode into a shared cache).
    (root / "m.bin").symlink_to(outside / "object")
    ptr = Pointer(name="m", path="alias/w.bin", oid=OID, size=1, kind="file")
    assert artifact_location(root, root / "x.gitmodel", ptr) == root / "alias" / "w.bin"
    linked = Pointer(name="m", path="m.bin", oid=OID, size=1, kind="file")
    assert artifact_location(root, root / "m.bin.gitmodel", linked) == root / "m.bin"
    folder = Pointer(name="m", path="real", oid=OID, size=1, kind="dir")
    assert artifact_location(root, root / "real.gitmodel", folder) == root / "real"


# --- (e) the CLI refuses bad pointers cleanly ---------------------------------------------------


def _work_tree_snapshot(repo: Path) -> dict[str, tuple[int, int]]:
    snap = {}
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath) / name
            st = os.lstat(path)
            snap[str(path.relative_to(repo))] = (st.st_size, st.st_mtime_ns)
    return snap


def test_cli_status_and_checkout_refuse_malformed_pointer(repo: Path) -> None:
    root = Path(os.path.realpath(repo))
    (repo / "model.bin").write_bytes(b"weights" * 100)
    gm_ok(repo, "add", "model.bin")
    bad_oid = "xxh128:" + "ABCDEF0123456789" * 2
    (repo / "bad.bin.gitmodel").write_text(_replace(OID, bad_oid).replace("m.bin", "bad.bin"))
    git(repo, "add", "bad.bin.gitmodel")
    git(repo, "commit", "-q", "-m", "pointers")
    message = (
        f"{root}/bad.bin.gitmodel: oid {bad_oid!r} is not 'xxh128:' followed by 32 lowercase hex"
    )

    proc = gm(repo, "status")
    assert proc.returncode == 0
    assert proc.stdout == f"invalid pointer         bad.bin: {message}\n" + (
        "up to date              model.bin\n"
    )
    assert gm(repo, "status", "--check").returncode == 1

    (repo / "model.bin").unlink()
    before = _work_tree_snapshot(repo)
    proc = gm(repo, "checkout")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == f"error: {message} ({HINT})\n"
    assert _work_tree_snapshot(repo) == before
    assert not (repo / "model.bin").exists()


def test_cli_checkout_refuses_symlink_escape(repo: Path, tmp_path: Path) -> None:
    root = Path(os.path.realpath(repo))
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "model.bin").write_bytes(b"weights" * 100)
    gm_ok(repo, "add", "model.bin")
    good = parse_pointer((repo / "model.bin.gitmodel").read_bytes())
    (repo / "ext").symlink_to(outside, target_is_directory=True)
    escape = Pointer(name="escape", path="ext", oid=good.oid, size=good.size, kind="dir")
    (repo / "ext.gitmodel").write_bytes(format_pointer(escape))
    git(repo, "add", "ext.gitmodel", "ext")
    git(repo, "commit", "-q", "-m", "escape")
    message = (
        f"{root}/ext.gitmodel: path 'ext' resolves to {os.path.realpath(outside)}, "
        "outside the repository"
    )

    proc = gm(repo, "checkout")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr == (
        f"error: {message} (a symlink on the way leads out of the repository; "
        "remove it or move the artifact)\n"
    )
    assert list(outside.iterdir()) == []
    assert gm_ok(repo, "status") == (
        f"invalid pointer         ext: {message}\nup to date              model.bin\n"
    )


def test_cli_symlink_link_mode_into_shared_cache_outside_repo(repo: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared-cache"
    git(repo, "config", "model.cache", str(shared))
    git(repo, "config", "model.linkType", "symlink")
    (repo / "model.bin").write_bytes(b"weights" * 100)
    gm_ok(repo, "add", "model.bin")
    assert (repo / "model.bin").is_symlink()
    assert gm_ok(repo, "status") == "up to date              model.bin\n"
    (repo / "model.bin").unlink()
    assert gm_ok(repo, "checkout") == "restored model.bin\n1 restored, 0 already up to date\n"
    assert (repo / "model.bin").read_bytes() == b"weights" * 100


@pytest.mark.parametrize("table", ['"eval.f1" = 1\neval.f1 = 2\n', 'eval.f1 = 2\n"eval.f1" = 1\n'])
def test_a_metric_defined_twice_is_refused_not_dropped(table: str) -> None:
    raw = (
        'version = 1\nname = "m"\npath = "m.bin"\n'
        'oid = "xxh128:f4d0497cf9394caab34d1a3ab2bece70"\nsize = 3\nkind = "file"\n\n'
        f"[metrics]\n{table}"
    ).encode()
    with pytest.raises(PointerError) as info:
        parse_pointer(raw, "m.bin.gitmodel")
    assert str(info.value) == "m.bin.gitmodel: metrics name 'eval.f1' is defined twice"
