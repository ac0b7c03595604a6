"""`git model add` end to end: the real CLI as a Git subcommand, on real repositories."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path

import pytest
import xxhash

import gitmodel
from tests.helpers import git, gm, gm_ok, object_path, write_safetensors

SENTIMENT = "models/sentiment.safetensors"


def xxh(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


def read_toml(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text())


def staged(repo: Path) -> str:
    return git(repo, "diff", "--cached", "--name-only").stdout


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").stdout.strip()


def all_objects(repo: Path) -> list[Path]:
    objects = repo / ".git" / "model" / "cache" / "objects"
    return sorted(p for p in objects.rglob("*") if p.is_file()) if objects.exists() else []


def write_sentiment(repo: Path, fill: int) -> bytes:
    return write_safetensors(
        repo / SENTIMENT, {"w": ("F32", [4, 4], fill), "b": ("F16", [4], 2)}, {"task": "sst2"}
    )


def expected_pointer(
    *, oid: str, size: int, manifest: str, commit: str, accuracy: str, dirty: str = "false"
) -> str:
    return (
        "version = 1\n"
        'name = "sentiment"\n'
        'path = "sentiment.safetensors"\n'
        f'oid = "{oid}"\n'
        f"size = {size}\n"
        'kind = "file"\n'
        "\n"
        "[format]\n"
        'name = "safetensors"\n'
        'dtypes = ["F16", "F32"]\n'
        f'manifest = "{manifest}"\n'
        "parameters = 20\n"
        "tensors = 2\n"
        "\n"
        "[metrics]\n"
        f"accuracy = {accuracy}\n"
        "loss = 0.21\n"
        "\n"
        "[params]\n"
        "lr = 0.0003\n"
        "\n"
        "[lineage]\n"
        f'commit = "{commit}"\n'
        f"dirty = {dirty}\n"
    )


def test_issue_scenario_add_modify_readd_rollback(repo: Path) -> None:
    v1 = write_sentiment(repo, 1)
    commit0 = head(repo)
    proc = gm(
        repo, "add", SENTIMENT, "--name", "sentiment", "--metric", "accuracy=0.913",
        "--metric", "loss=0.21", "--param", "lr=3e-4",
    )  # fmt: skip
    oid1 = xxh(v1)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == (
        f"added sentiment: {SENTIMENT}.gitmodel ({len(v1)} B, safetensors, {oid1[:19]}…)\n"
    )
    assert staged(repo) == "models/.gitignore\nmodels/sentiment.safetensors.gitmodel\n"
    assert (repo / "models" / ".gitignore").read_bytes() == b"/sentiment.safetensors\n"
    assert git(repo, "status", "--porcelain", "--ignored").stdout == (
        "A  models/.gitignore\nA  models/sentiment.safetensors.gitmodel\n"
        "!! models/sentiment.safetensors\n"
    )
    obj = object_path(repo, oid1)
    assert obj.read_bytes() == v1
    assert stat.S_IMODE(obj.stat().st_mode) == 0o444
    pointer_file = repo / (SENTIMENT + ".gitmodel")
    manifest1 = str(read_toml(pointer_file)["format"]["manifest"])  # type: ignore[index]
    assert pointer_file.read_text() == expected_pointer(
        oid=oid1, size=len(v1), manifest=manifest1, commit=commit0, accuracy="0.913"
    )
    # The tensor manifest is an object too: each tensor's byte range has its own hash.
    header_len = int.from_bytes(v1[:8], "little")
    tensors = json.loads(object_path(repo, manifest1).read_bytes())["tensors"]
    start = 8 + header_len
    assert tensors == [
        {"begin": start + 64, "dtype": "F16", "end": start + 72, "name": "b", "oid":
         xxh(v1[start + 64 : start + 72]), "shape": [4]},
        {"begin": start, "dtype": "F32", "end": start + 64, "name": "w", "oid":
         xxh(v1[start : start + 64]), "shape": [4, 4]},
    ]  # fmt: skip
    git(repo, "commit", "-q", "-m", "sentiment v1")
    commit1 = head(repo)

    v2 = write_sentiment(repo, 7)
    assert len(v2) == len(v1) and v2 != v1
    assert gm_ok(repo, "status") == f"modified                {SENTIMENT}\n"
    proc = gm(repo, "add", SENTIMENT, "--metric", "accuracy=0.925")
    assert proc.returncode == 0
    assert proc.stderr == (
        "warning: sentiment: the artifact changed but these metrics were kept from the previous "
        "version: loss (pass --metric KEY=VALUE to update them)\n"
    )
    oid2 = xxh(v2)
    assert proc.stdout == (
        f"added sentiment: {SENTIMENT}.gitmodel ({len(v2)} B, safetensors, {oid2[:19]}…)\n"
    )
    manifest2 = str(read_toml(pointer_file)["format"]["manifest"])  # type: ignore[index]
    assert manifest2 != manifest1
    assert pointer_file.read_text() == expected_pointer(
        oid=oid2, size=len(v2), manifest=manifest2, commit=commit1, accuracy="0.925"
    )
    assert staged(repo) == "models/sentiment.safetensors.gitmodel\n"
    git(repo, "commit", "-q", "-m", "sentiment v2")
    assert object_path(repo, oid1).read_bytes() == v1  # the old version stays cached

    git(repo, "checkout", "-q", "HEAD~1")  # no hooks installed: v2's bytes stay, in the cache
    stale = f"stale                   {SENTIMENT}: pointer changed; run `git model checkout`\n"
    assert gm_ok(repo, "status") == stale
    assert gm_ok(repo, "checkout") == f"restored {SENTIMENT}\n1 restored, 0 already up to date\n"
    assert (repo / SENTIMENT).read_bytes() == v1
    assert gm_ok(repo, "status") == f"up to date              {SENTIMENT}\n"
    assert gm_ok(repo, "checkout") == "0 restored, 1 already up to date\n"


def test_add_default_name_and_second_gitignore_line(repo: Path) -> None:
    (repo / "models").mkdir()
    (repo / "models" / ".gitignore").write_bytes(b"*.log")  # no final newline
    (repo / "models" / "My Model.v2.bin").write_bytes(b"abc")
    out = gm_ok(repo, "add", "models/My Model.v2.bin")
    assert out == f"added my-model-v2: models/My Model.v2.bin.gitmodel (3 B, {xxh(b'abc')[:19]}…)\n"
    assert (repo / "models" / ".gitignore").read_bytes() == b"*.log\n/My Model.v2.bin\n"
    assert read_toml(repo / "models" / "My Model.v2.bin.gitmodel")["name"] == "my-model-v2"
    # Adding again does not repeat the .gitignore line.
    assert gm_ok(repo, "add", "models/My Model.v2.bin").startswith("unchanged my-model-v2: ")
    assert (repo / "models" / ".gitignore").read_bytes() == b"*.log\n/My Model.v2.bin\n"


def make_bert(repo: Path) -> dict[str, bytes]:
    bert = repo / "models" / "bert"
    (bert / "sub" / "dir").mkdir(parents=True)
    files = {
        "config.json": b'{"hidden": 8}\n',
        "tokenizer.json": b'{"vocab": ["a", "b"]}\n',
        "sub/dir/notes.txt": b"nested file\n",
        "run.sh": b"#!/bin/sh\necho serve\n",
    }
    for rel, data in files.items():
        (bert / rel).write_bytes(data)
    (bert / "run.sh").chmod(0o755)
    files["model.safetensors"] = write_safetensors(
        bert / "model.safetensors", {"emb": ("F32", [3, 2], 5), "ids": ("I64", [2], 0)}
    )
    return files


def test_add_folder(repo: Path) -> None:
    files = make_bert(repo)
    proc = gm(repo, "add", "models/bert")
    assert (proc.returncode, proc.stderr) == (0, "")
    pointer = read_toml(repo / "models" / "bert.gitmodel")
    oid = str(pointer["oid"])
    total = sum(len(d) for d in files.values())
    assert proc.stdout == f"added bert: models/bert.gitmodel ({total} B, {oid[:19]}…)\n"
    assert staged(repo) == "models/.gitignore\nmodels/bert.gitmodel\n"
    assert (repo / "models" / ".gitignore").read_text() == "/bert\n"
    assert (repo / "models" / "bert.gitmodel").read_text() == (
        "version = 1\n"
        'name = "bert"\n'
        'path = "bert"\n'
        f'oid = "{oid}"\n'
        f"size = {total}\n"
        'kind = "dir"\n'
        "\n"
        "[format]\n"
        'name = "dir"\n'
        'dtypes = ["F32", "I64"]\n'
        "files = 5\n"
        "parameters = 8\n"
        "tensors = 2\n"
        "\n"
        "[lineage]\n"
        f'commit = "{head(repo)}"\n'
        "dirty = false\n"
    )
    manifest_bytes = object_path(repo, oid).read_bytes()
    assert xxh(manifest_bytes) == oid
    manifest = json.loads(manifest_bytes)
    assert (manifest["version"], manifest["kind"]) == (1, "dir")
    entries = {e["path"]: e for e in manifest["files"]}
    assert list(entries) == sorted(files)
    for rel, data in files.items():
        entry = entries[rel]
        assert (entry["oid"], entry["size"]) == (xxh(data), len(data))
        assert entry["mode"] == ("755" if rel == "run.sh" else "644")
        assert ("tensors" in entry) == (rel == "model.safetensors")
        obj = object_path(repo, entry["oid"])
        assert obj.read_bytes() == data
        assert stat.S_IMODE(obj.stat().st_mode) == 0o444
    tensors = json.loads(object_path(repo, entries["model.safetensors"]["tensors"]).read_bytes())
    assert [(t["name"], t["dtype"], t["shape"]) for t in tensors["tensors"]] == [
        ("emb", "F32", [3, 2]),
        ("ids", "I64", [2]),
    ]
    assert gm_ok(repo, "status") == "up to date              models/bert/\n"


def test_readd_unchanged_hashes_nothing_and_merges_metrics(repo: Path) -> None:
    data = write_sentiment(repo, 1)
    first = gitmodel.add(
        [SENTIMENT], repo=repo, metrics={"accuracy": 0.9, "loss": 0.3}, params={"lr": 0.1}
    )
    assert [(r.changed, r.hashed_bytes) for r in first] == [(True, len(data))]
    pointer_file = repo / (SENTIMENT + ".gitmodel")
    before = pointer_file.read_bytes()

    again = gitmodel.add([SENTIMENT], repo=repo)
    assert [(r.changed, r.hashed_bytes, r.carried_metrics) for r in again] == [(False, 0, ())]
    assert pointer_file.read_bytes() == before  # no metrics given: nothing changes

    updated = gitmodel.add([SENTIMENT], repo=repo, metrics={"accuracy": 0.95, "f1": 0.5})
    assert [(r.changed, r.hashed_bytes, r.carried_metrics) for r in updated] == [(False, 0, ())]
    assert updated[0].pointer.metrics == {"accuracy": 0.95, "f1": 0.5, "loss": 0.3}
    assert updated[0].pointer.params == {"lr": 0.1}
    assert read_toml(pointer_file)["metrics"] == {"accuracy": 0.95, "f1": 0.5, "loss": 0.3}

    # Through the CLI too: unchanged, no warning, no rehash of the unchanged bytes.
    proc = gm(repo, "add", SENTIMENT)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith(f"unchanged sentiment: {SENTIMENT}.gitmodel ")


def test_readd_unchanged_folder_hashes_nothing_then_only_the_changed_file(repo: Path) -> None:
    files = make_bert(repo)
    first = gitmodel.add(["models/bert"], repo=repo)
    assert first[0].hashed_bytes == sum(len(d) for d in files.values())
    again = gitmodel.add(["models/bert"], repo=repo)
    assert (again[0].changed, again[0].hashed_bytes) == (False, 0)
    assert again[0].pointer == first[0].pointer
    (repo / "models" / "bert" / "config.json").write_bytes(b'{"hidden": 16}\n')
    third = gitmodel.add(["models/bert"], repo=repo)
    assert (third[0].changed, third[0].hashed_bytes) == (True, len(b'{"hidden": 16}\n'))
    assert third[0].pointer.format == first[0].pointer.format


def test_metrics_and_params_files_json_and_yaml(repo: Path) -> None:
    (repo / "m.bin").write_bytes(b"model")
    (repo / "metrics.yaml").write_text(
        "eval:\n  f1: 0.8\n  acc: 0.9\nloss: 0.1\nrun: r7\nok: true\nepochs: 3\n"
    )
    (repo / "params.json").write_text('{"opt": {"lr": 0.001, "name": "adam"}, "layers": 12}')
    gm_ok(
        repo, "add", "m.bin", "--metrics", "metrics.yaml", "--params", "params.json",
        "--metric", "loss=0.05", "--param", "batch=32", "--param", "drop=0.1",
        "--param", "shuffle=true", "--param", "tag=abc", "--param", "big=1e3",
        "--param", "neg=-4", "--param", "off=false", "--param", "ver=1.2.3",
    )  # fmt: skip
    text = (repo / "m.bin.gitmodel").read_text()
    assert text.split("[lineage]")[0].split("\n\n", 1)[1] == (
        "[metrics]\n"
        "epochs = 3\n"
        '"eval.acc" = 0.9\n'
        '"eval.f1" = 0.8\n'
        "loss = 0.05\n"
        "ok = true\n"
        'run = "r7"\n'
        "\n"
        "[params]\n"
        "batch = 32\n"
        "big = 1000.0\n"
        "drop = 0.1\n"
        "layers = 12\n"
        "neg = -4\n"
        "off = false\n"
        '"opt.lr" = 0.001\n'
        '"opt.name" = "adam"\n'
        "shuffle = true\n"
        'tag = "abc"\n'
        'ver = "1.2.3"\n'
        "\n"
    )
    doc = read_toml(repo / "m.bin.gitmodel")
    assert doc["params"] == {
        "batch": 32, "big": 1000.0, "drop": 0.1, "layers": 12, "neg": -4, "off": False,
        "opt.lr": 0.001, "opt.name": "adam", "shuffle": True, "tag": "abc", "ver": "1.2.3",
    }  # fmt: skip
    # The same nesting from JSON metrics and YAML params.
    (repo / "n.bin").write_bytes(b"model n")
    (repo / "metrics.json").write_text('{"eval": {"f1": 0.75}, "loss": 0.2}')
    (repo / "params.yml").write_text("optim:\n  beta: 0.9\n")
    gm_ok(repo, "add", "n.bin", "--metrics", "metrics.json", "--params", "params.yml")
    doc = read_toml(repo / "n.bin.gitmodel")
    assert doc["metrics"] == {"eval.f1": 0.75, "loss": 0.2}
    assert doc["params"] == {"optim.beta": 0.9}


def test_data_lineage_ids(repo: Path) -> None:
    sentiment = write_sentiment(repo, 1)
    gm_ok(repo, "add", SENTIMENT)
    (repo / "data").mkdir()
    (repo / "data" / "train.csv").write_text("text,label\nok,1\n")
    git(repo, "add", "data/train.csv", ".")
    git(repo, "commit", "-q", "-m", "data and sentiment")
    (repo / "raw.txt").write_bytes(b"raw data\n")
    (repo / "images" / "cats").mkdir(parents=True)
    (repo / "images" / "cats" / "1.png").write_bytes(b"png one")
    (repo / "images" / "2.png").write_bytes(b"png two")
    (repo / "out.bin").write_bytes(b"derived model")
    proc = gm(
        repo, "add", "out.bin", "--data", SENTIMENT, "--data", "data/train.csv",
        "--data", "raw.txt", "--data", "images",
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (0, "")
    blob = git(repo, "hash-object", "data/train.csv").stdout.strip()
    # A plain folder is identified by the oid of its canonical manifest.
    images_manifest = json.dumps(
        {"files": [
            {"mode": "644", "oid": xxh(b"png two"), "path": "2.png", "size": 7},
            {"mode": "644", "oid": xxh(b"png one"), "path": "cats/1.png", "size": 7},
        ], "kind": "dir", "version": 1},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    lineage = read_toml(repo / "out.bin.gitmodel")["lineage"]
    assert lineage == {
        "commit": head(repo),
        "dirty": False,
        "data": [
            {"path": SENTIMENT, "oid": xxh(sentiment)},
            {"path": "data/train.csv", "oid": f"git:{blob}"},
            {"path": "raw.txt", "oid": xxh(b"raw data\n")},
            {"path": "images", "oid": xxh(images_manifest)},
        ],
    }
    # A modified tracked file makes the lineage dirty.
    (repo / "README.md").write_text("changed\n")
    (repo / "dirty.bin").write_bytes(b"dirty model")
    gm_ok(repo, "add", "dirty.bin")
    assert read_toml(repo / "dirty.bin.gitmodel")["lineage"] == {
        "commit": head(repo),
        "dirty": True,
    }


def test_add_in_empty_repo_has_no_lineage_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "fresh")
    repo = tmp_path / "fresh"
    (repo / "m.bin").write_bytes(b"m")
    gm_ok(repo, "add", "m.bin")
    assert read_toml(repo / "m.bin.gitmodel")["lineage"] == {"dirty": False}


REFUSALS = [
    pytest.param(
        ["README.md"],
        "error: README.md is tracked by Git; git-model cannot take over a path Git stores "
        "(untrack it first: git rm -r --cached README.md (then commit), and add it again)",
        id="tracked",
    ),
    pytest.param(
        ["{outside}"],
        "error: {outside} is outside the repository {repo} (move the file into the repository, "
        "or run from the repository it belongs to)",
        id="outside",
    ),
    pytest.param(
        ["old.bin.gitmodel"],
        "error: old.bin.gitmodel is a pointer file; add the artifact it describes instead "
        "(git model add old.bin)",
        id="pointer-file",
    ),
    pytest.param(
        ["nope.bin"],
        "error: nope.bin: no such file or folder (check the path and try again)",
        id="missing",
    ),
    pytest.param(
        ["new.bin", "--metric", "acc"],
        "error: --metric expects KEY=VALUE, got 'acc' (for example: --metric accuracy=0.91)",
        id="metric-without-equals",
    ),
    pytest.param(
        ["new.bin", "--param", "=3"],
        "error: --param expects KEY=VALUE, got '=3' (for example: --param lr=3e-4)",
        id="param-empty-key",
    ),
    pytest.param(
        ["new.bin", "--name", "Bad Name"],
        "error: invalid model name 'Bad Name' (use lowercase letters, digits, '-' or '/', "
        "starting and ending with a letter or digit (it becomes part of Git tag names))",
        id="bad-name",
    ),
    pytest.param(
        ["new.bin", "--name", "good\n"],
        "error: invalid model name 'good\\n' (use lowercase letters, digits, '-' or '/', "
        "starting and ending with a letter or digit (it becomes part of Git tag names))",
        id="name-ending-in-newline",
    ),
    pytest.param(
        ["new.bin", "other.bin", "--name", "foo"],
        "error: --name names one model, but several paths were given (add the paths one at a "
        "time, each with its own --name)",
        id="name-with-two-paths",
    ),
    pytest.param(
        ["new.bin", "--metrics", "bad.json"],
        "error: bad.json: invalid JSON (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)) (fix the file and retry)",
        id="malformed-json",
    ),
    pytest.param(
        ["new.bin", "--metrics", "list.json"],
        "error: list.json: top level must be a mapping of names to values (for example "
        '{"accuracy": 0.91, "loss": 0.2})',
        id="json-not-mapping",
    ),
    pytest.param(
        ["new.bin", "--params", "nested-list.yaml"],
        "error: nested-list.yaml: 'a.b' is a list; values must be numbers, strings or booleans "
        "(flatten lists into separate keys (e.g. f1.class0, f1.class1) or drop them)",
        id="yaml-list-value",
    ),
    pytest.param(
        ["new.bin", "--metrics", "none.json"],
        "error: none.json: no such file (check the path you passed)",
        id="missing-metrics-file",
    ),
    pytest.param(
        ["new.bin", "--data", "missing.csv"],
        "error: --data missing.csv: no such file or folder (check the path)",
        id="missing-data",
    ),
    pytest.param(
        ["new.bin", "--name", ""],
        "error: invalid model name '' (use lowercase letters, digits, '-' or '/', starting and "
        "ending with a letter or digit (it becomes part of Git tag names))",
        id="empty-name",
    ),
    pytest.param(
        [".git"],
        "error: cannot add .git: it is the repository itself or inside .git (name a model file "
        "or folder inside the work tree)",
        id="dot-git",
    ),
    pytest.param(
        ["new.bin", "broken.bin"],
        "error: {repo}/broken.bin.gitmodel: not a valid pointer (Expected '=' after a key in a "
        "key/value pair (at line 1, column 8)) (fix or delete broken.bin.gitmodel and run "
        "`git model add` again)",
        id="malformed-existing-pointer",
    ),
]


@pytest.mark.parametrize(("args", "message"), REFUSALS)
def test_refusals_write_nothing(repo: Path, tmp_path: Path, args: list[str], message: str) -> None:
    (repo / "old.bin").write_bytes(b"old")
    gitmodel.add(["old.bin"], repo=repo)
    git(repo, "commit", "-q", "-m", "old")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"outside")
    for name in ("new.bin", "other.bin", "broken.bin"):
        (repo / name).write_bytes(name.encode())
    (repo / "broken.bin.gitmodel").write_text("garbage\n")
    (repo / "bad.json").write_text("{bad")
    (repo / "list.json").write_text("[1, 2]")
    (repo / "nested-list.yaml").write_text("a:\n  b: [1, 2]\n")
    status_before = git(repo, "status", "--porcelain", "--ignored").stdout
    objects_before = all_objects(repo)

    proc = gm(repo, "add", *[a.replace("{outside}", str(outside)) for a in args])
    assert proc.returncode == 1
    assert proc.stdout == ""
    expected = message.replace("{outside}", str(outside)).replace("{repo}", str(repo))
    assert proc.stderr == expected + "\n"
    assert staged(repo) == ""
    assert git(repo, "status", "--porcelain", "--ignored").stdout == status_before
    assert all_objects(repo) == objects_before
    for name in ("new.bin", "other.bin", "README.md", "outside.bin"):
        assert not (repo / f"{name}.gitmodel").exists()
    assert not outside.with_name("outside.bin.gitmodel").exists()
    assert not (repo / ".gitignore").read_text().count("new.bin")


def test_refuses_malformed_yaml_metrics(repo: Path) -> None:
    (repo / "new.bin").write_bytes(b"new")
    (repo / "m.yaml").write_text("a: [1\n")
    proc = gm(repo, "add", "new.bin", "--metrics", "m.yaml")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: m.yaml: invalid YAML (")
    assert proc.stderr.endswith(" (fix the file and retry)\n")
    assert proc.stderr.count("\n") == 1
    assert staged(repo) == ""
    assert not (repo / "new.bin.gitmodel").exists()
    assert all_objects(repo) == []


def test_refuses_the_repository_itself(tmp_path: Path) -> None:
    # Nothing tracked yet, so the Git-tracked check cannot catch it: `add .` must still refuse
    # (it once hashed the whole .git folder, cache included, into the cache).
    git(tmp_path, "init", "-q", "fresh")
    repo = tmp_path / "fresh"
    (repo / "m.bin").write_bytes(b"m")
    proc = gm(repo, "add", ".")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: cannot add .: it is the repository itself or inside .git (name a model file or "
        "folder inside the work tree)\n"
    )
    assert all_objects(repo) == []
    assert sorted(os.listdir(repo)) == [".git", "m.bin"]


def test_data_folder_with_symlinks_is_hashed_through_them(repo: Path) -> None:
    data = repo / "data"
    data.mkdir()
    (data / "train.csv").write_text("a,b\n1,2\n")
    (data / "latest.csv").symlink_to("train.csv")
    (data / "gone.csv").symlink_to("nowhere.csv")
    (repo / "m.bin").write_bytes(b"m")
    proc = gm(repo, "add", "m.bin", "--data", "data")
    assert (proc.returncode, proc.stderr) == (0, "")
    first = tomllib.loads((repo / "m.bin.gitmodel").read_text())["lineage"]["data"]
    assert [d["path"] for d in first] == ["data"]
    (data / "train.csv").write_text("a,b\n1,3\n")  # seen through the link too
    (repo / "m.bin").write_bytes(b"m2")
    gm_ok(repo, "add", "m.bin", "--data", "data")
    second = tomllib.loads((repo / "m.bin.gitmodel").read_text())["lineage"]["data"]
    assert first[0]["oid"] != second[0]["oid"]
