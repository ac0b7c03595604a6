"""The model registry end to end through the CLI: versions, stages and rollback on Git tags."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import git, gm, gm_ok, isolate_environment, write_safetensors

T0 = 1_699_999_200  # 2023-11-14 22:00:00 UTC; step N happens at 22:0N
MODEL = "models/sentiment.safetensors"
POINTER = MODEL + ".gitmodel"
ENCODER = "models/encoder.safetensors"
TAGGER = "Test User <test@example.com>"
V1 = {"accuracy": 0.913, "loss": 0.21}
V2 = {"accuracy": 0.934, "loss": 0.18}
V3 = {"accuracy": 0.941, "loss": 0.17}


def at(mp: pytest.MonkeyPatch, minute: int) -> None:
    """Make the next commits and tags happen at 22:MM (GTO orders events by tagger time)."""
    stamp = f"@{T0 + 60 * minute} +0000"
    mp.setenv("GIT_AUTHOR_DATE", stamp)
    mp.setenv("GIT_COMMITTER_DATE", stamp)


def safetensors_bytes(repo: Path, fill: int) -> bytes:
    return write_safetensors(repo / MODEL, {"w": ("F32", [4, 2], fill)})


def commit_version(repo: Path, fill: int, message: str, metrics: dict[str, float]) -> bytes:
    """Write new weights, `git model add` them with metrics, commit; return the bytes."""
    data = safetensors_bytes(repo, fill)
    options = [f"--metric={k}={v}" for k, v in metrics.items()]
    gm_ok(repo, "add", MODEL, "--name", "sentiment", *options)
    git(repo, "commit", "-q", "-m", message)
    return data


def rev(repo: Path, spec: str) -> str:
    return git(repo, "rev-parse", spec).stdout.strip()


def tags(repo: Path) -> list[str]:
    return git(repo, "tag", "-l").stdout.splitlines()


def blob(repo: Path, spec: str) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "blob", spec], cwd=repo, capture_output=True, check=True
    ).stdout


def oid_of(repo: Path, commit: str) -> str:
    for line in blob(repo, f"{commit}:{POINTER}").decode().splitlines():
        if line.startswith("oid = "):
            return line.removeprefix('oid = "').removesuffix('"')
    raise AssertionError("no oid in pointer")


def fails(repo: Path, *args: str) -> str:
    """Run `git model ARGS`, expect exit 1 and nothing on stdout; return the stderr line."""
    proc = gm(repo, *args)
    assert proc.returncode == 1, proc
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.rstrip("\n")


# --- the shared starting point: three versions, two stages, one re-assignment ---------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """sentiment v0.1.0, v0.2.0, v0.2.1 (HEAD) on main; production -> v0.2.0; staging was
    v0.2.0 and is now v0.2.1; an unregistered second model `encoder` at HEAD."""
    root = tmp_path_factory.mktemp("template") / "repo"
    with pytest.MonkeyPatch.context() as mp:
        isolate_environment(mp, tmp_path_factory.mktemp("template-home"))
        at(mp, 0)
        root.mkdir()
        git(root, "init", "-q")
        git(root, "remote", "add", "origin", str(root.parent / "origin.git"))  # never pushed to
        (root / "README.md").write_text("sentiment model\n")
        git(root, "add", "README.md")
        git(root, "commit", "-q", "-m", "initial")
        at(mp, 1)
        commit_version(root, 1, "train v1", V1)
        at(mp, 2)
        gm_ok(root, "tag", "sentiment")
        at(mp, 3)
        commit_version(root, 2, "new tokenizer", V2)
        at(mp, 4)
        gm_ok(root, "tag", "sentiment", "--bump", "minor", "-m", "new tokenizer")
        at(mp, 5)
        write_safetensors(root / ENCODER, {"emb": ("F16", [2, 2], 9)})
        gm_ok(root, "add", ENCODER, "--name", "encoder", "--metric", "bleu=31.5")
        git(root, "commit", "-q", "-m", "add encoder")
        commit_version(root, 3, "train v3", V3)
        at(mp, 6)
        gm_ok(root, "tag", "sentiment")
        at(mp, 7)
        gm_ok(root, "promote", "sentiment@v0.2.0", "staging")
        at(mp, 8)
        gm_ok(root, "promote", "sentiment@v0.2.0", "production")
        at(mp, 9)
        gm_ok(root, "promote", "sentiment@latest", "staging")
    yield root


@pytest.fixture
def reg(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the template repository (with its cache); the clock at 22:10."""
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    at(monkeypatch, 10)
    return root


def version_commits(repo: Path) -> dict[str, str]:
    return {v: rev(repo, f"sentiment@{v}^{{commit}}") for v in ("v0.1.0", "v0.2.0", "v0.2.1")}


def contents(repo: Path, tag: str) -> str:
    return git(repo, "tag", "-l", "--format=%(contents)", tag).stdout


TEMPLATE_TAGS = [
    "sentiment#production#2",
    "sentiment#staging#1",
    "sentiment#staging#3",
    "sentiment@v0.1.0",
    "sentiment@v0.2.0",
    "sentiment@v0.2.1",
]


# --- tag ------------------------------------------------------------------------------------------


def test_tag_first_version_records_oid_and_metrics(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at(monkeypatch, 1)
    commit_version(repo, 1, "train v1", V1)
    head = rev(repo, "HEAD")
    proc = gm(repo, "tag", "sentiment")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == (
        f"registered sentiment@v0.1.0 at {head[:12]} ({POINTER})\n"
        "share it: git push REMOTE sentiment@v0.1.0 (this repository has no Git remote yet)\n"
    )
    assert git(repo, "cat-file", "-t", "sentiment@v0.1.0").stdout == "tag\n"  # annotated
    assert rev(repo, "sentiment@v0.1.0^{commit}") == head
    assert contents(repo, "sentiment@v0.1.0") == (
        "Register sentiment v0.1.0\n"
        "\n"
        "git-model: sentiment v0.1.0\n"
        f"pointer: {POINTER}\n"
        f"oid: {oid_of(repo, head)}\n"
        "metrics: accuracy=0.913, loss=0.21\n"
        "\n"  # the line `git tag -l` ends each entry with
    )
    tagger = git(repo, "tag", "-l", "--format=%(taggername) %(taggeremail) %(taggerdate:unix)")
    assert tagger.stdout == f"Test User <test@example.com> {T0 + 60}\n"


@pytest.mark.parametrize(("bump", "expected"), [("major", "v1.0.0"), ("patch", "v0.0.1")])
def test_tag_first_version_with_bump(
    repo: Path, monkeypatch: pytest.MonkeyPatch, bump: str, expected: str
) -> None:
    at(monkeypatch, 1)
    commit_version(repo, 1, "train v1", V1)
    out = gm_ok(repo, "tag", "sentiment", "--bump", bump, "-q")
    assert out == ""
    assert tags(repo) == [f"sentiment@{expected}"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "v0.2.2"),  # default: patch
        (("--bump", "minor"), "v0.3.0"),
        (("--bump", "major"), "v1.0.0"),
        (("1.5.0",), "v1.5.0"),  # the leading v may be left out
    ],
)
def test_tag_bumps_and_explicit_versions(reg: Path, args: tuple[str, ...], expected: str) -> None:
    commit_version(reg, 4, "train v4", {"accuracy": 0.95, "loss": 0.15})
    head = rev(reg, "HEAD")
    out = gm_ok(reg, "tag", "sentiment", *args, "-m", "bigger model")
    assert out == (
        f"registered sentiment@{expected} at {head[:12]} ({POINTER})\n"
        f"share it: git push origin sentiment@{expected}\n"
    )
    assert rev(reg, f"sentiment@{expected}^{{commit}}") == head
    assert contents(reg, f"sentiment@{expected}").startswith(
        f"bigger model\n\ngit-model: sentiment {expected}\n"
    )
    assert sorted(tags(reg)) == sorted([*TEMPLATE_TAGS, f"sentiment@{expected}"])


def test_tag_pre_release_then_release(reg: Path) -> None:
    commit_version(reg, 4, "rc", {"accuracy": 0.95})
    gm_ok(reg, "tag", "sentiment", "v1.0.0-rc.1")
    commit_version(reg, 5, "final", {"accuracy": 0.96})
    assert gm_ok(reg, "tag", "sentiment", "-q") == ""
    assert "sentiment@v1.0.0" in tags(reg)  # patch bump of a pre-release is its release
    assert gm_ok(reg, "show", "sentiment@latest").splitlines()[1] == "version:   v1.0.0"


def test_tag_rev_registers_an_older_commit(reg: Path) -> None:
    commit_version(reg, 4, "train v4", {"accuracy": 0.95})
    c4 = rev(reg, "HEAD")
    commit_version(reg, 5, "train v5", {"accuracy": 0.96})
    safetensors_bytes(reg, 6)  # the work tree is dirty, which --rev does not care about
    out = gm_ok(reg, "tag", "sentiment", "--rev", "HEAD~1")
    assert out == (
        f"registered sentiment@v0.2.2 at {c4[:12]} ({POINTER})\n"
        "share it: git push origin sentiment@v0.2.2\n"
    )
    assert rev(reg, "sentiment@v0.2.2^{commit}") == c4
    assert f"oid: {oid_of(reg, c4)}\n" in contents(reg, "sentiment@v0.2.2")
    # HEAD, however it is named, is checked against the work tree
    assert fails(reg, "tag", "sentiment", "--rev", "main") == (
        f"error: {MODEL} was modified after `git model add` "
        f"(re-add and commit it first: git model add {MODEL} && git commit)"
    )
    initial = rev(reg, "main~6")
    assert fails(reg, "tag", "sentiment", "--rev", "main~6") == (
        f"error: no pointer for model 'sentiment' at main~6 ({initial[:12]}) (commit the "
        "pointer first (`git model add … --name NAME`, `git commit`), or pass --rev)"
    )
    assert fails(reg, "tag", "sentiment", "--rev", "nope") == (
        "error: unknown revision 'nope' (check it with `git log --oneline`)"
    )


def test_tag_refusals(reg: Path) -> None:
    head = rev(reg, "HEAD")
    assert fails(reg, "tag", "sentiment") == (
        f"error: {head[:12]} is already registered as sentiment@v0.2.1 (versions are "
        "immutable; commit a new pointer to register another version)"
    )
    assert fails(reg, "tag", "sentiment", "--rev", "sentiment@v0.1.0").startswith(
        f"error: {version_commits(reg)['v0.1.0'][:12]} is already registered as sentiment@v0.1.0 "
    )
    assert fails(reg, "tag", "sentimental") == (
        f"error: no pointer for model 'sentimental' at HEAD ({head[:12]}) (commit the pointer "
        "first (`git model add … --name NAME`, `git commit`), or pass --rev)"
    )
    commit_version(reg, 4, "train v4", {"accuracy": 0.95})
    immutable = (
        "already exists; versions are immutable "
        "(pick a higher version, or let git-model bump: git model tag sentiment)"
    )
    assert fails(reg, "tag", "sentiment", "v0.2.0") == f"error: sentiment@v0.2.0 {immutable}"
    assert fails(reg, "tag", "sentiment", "0.2.1") == f"error: sentiment@v0.2.1 {immutable}"
    not_above = "is not above the latest version v0.2.1 (pick a version above v0.2.1)"
    assert fails(reg, "tag", "sentiment", "v0.1.5") == f"error: v0.1.5 {not_above}"
    assert fails(reg, "tag", "sentiment", "v0.2.1-rc.1") == f"error: v0.2.1-rc.1 {not_above}"
    hint = "(versions are SemVer with a leading v, e.g. v1.2.0 or v2.0.0-rc.1)"
    assert fails(reg, "tag", "sentiment", "1.2") == f"error: invalid version 'v1.2' {hint}"
    assert fails(reg, "tag", "sentiment", "latest") == f"error: invalid version 'latest' {hint}"
    assert fails(reg, "tag", "sentiment", "--bump", "huge") == (
        "error: unknown bump 'huge' (use --bump major, minor or patch)"
    )
    assert fails(reg, "tag", "sentiment", "v1.0.0", "--bump", "major") == (
        "error: give either VERSION or --bump, not both (e.g. git model tag NAME)"
    )
    assert sorted(tags(reg)) == TEMPLATE_TAGS  # nothing was created
    assert gm_ok(reg, "tag", "sentiment", "-q") == ""
    assert "sentiment@v0.2.2" in tags(reg)


def test_tag_refuses_uncommitted_work(reg: Path) -> None:
    safetensors_bytes(reg, 4)
    assert fails(reg, "tag", "sentiment", "v1.0.0") == (
        f"error: {MODEL} was modified after `git model add` "
        f"(re-add and commit it first: git model add {MODEL} && git commit)"
    )
    gm_ok(reg, "add", MODEL, "--metric", "accuracy=0.95")
    assert fails(reg, "tag", "sentiment") == (
        f"error: {POINTER} has uncommitted changes "
        "(commit them first (a version names a commit), or pass --rev REV)"
    )
    assert sorted(tags(reg)) == TEMPLATE_TAGS
    git(reg, "commit", "-q", "-m", "v4")
    assert gm_ok(reg, "tag", "sentiment").startswith("registered sentiment@v0.2.2 at ")


# --- promote and demote ---------------------------------------------------------------------------


def test_promote_counts_across_stages(reg: Path) -> None:
    commits = version_commits(reg)
    assert gm_ok(reg, "promote", "sentiment@v0.1.0", "dev") == (
        "sentiment dev -> v0.1.0: tag sentiment#dev#4\nshare it: git push origin sentiment#dev#4\n"
    )
    assert git(reg, "cat-file", "-t", "sentiment#dev#4").stdout == "tag\n"
    assert rev(reg, "sentiment#dev#4^{commit}") == commits["v0.1.0"]
    assert contents(reg, "sentiment#dev#4") == "Assign dev to sentiment v0.1.0\n\n"
    out = gm_ok(reg, "promote", "sentiment@latest", "production", "-m", "ship it")
    assert out == (
        "sentiment production -> v0.2.1 (was v0.2.0): tag sentiment#production#5\n"
        "share it: git push origin sentiment#production#5\n"
    )
    assert rev(reg, "sentiment#production#5^{commit}") == commits["v0.2.1"]
    assert contents(reg, "sentiment#production#5") == "ship it\n\n"
    # from another stage; and a hand-made tag with a high counter moves the counter on
    assert gm_ok(reg, "promote", "sentiment#dev", "qa", "-q") == ""
    assert rev(reg, "sentiment#qa#6^{commit}") == commits["v0.1.0"]
    git(reg, "tag", "-a", "-m", "by hand", "sentiment#canary#10", commits["v0.2.0"])
    assert gm_ok(reg, "promote", "sentiment@v0.2.0", "dev").startswith(
        "sentiment dev -> v0.2.0 (was v0.1.0): tag sentiment#dev#11\n"
    )
    assert gm_ok(reg, "ls", "--json").count('"canary": "v0.2.0"') == 1


def test_promote_to_the_same_version_is_a_no_op(reg: Path) -> None:
    proc = gm(reg, "promote", "sentiment@v0.2.0", "production")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "sentiment production already points at v0.2.0; nothing to do\n"
    assert gm_ok(reg, "promote", "sentiment@latest", "staging") == (
        "sentiment staging already points at v0.2.1; nothing to do\n"
    )
    assert sorted(tags(reg)) == TEMPLATE_TAGS


def test_promote_stage_names(reg: Path) -> None:
    for bad in ("Prod", "prod#1", "pro duction", "prod\n"):  # the full rule: test_semver_tags.py
        assert fails(reg, "promote", "sentiment@latest", bad) == (
            f"error: invalid stage name {bad!r} "
            "(use lowercase letters, digits, '-' or '/', e.g. staging or production)"
        )
    git(reg, "config", "model.stages", "dev, production")
    assert fails(reg, "promote", "sentiment@latest", "staging") == (
        "error: stage 'staging' is not allowed here (model.stages = dev, production) "
        "(use one of those, or change `git config model.stages`)"
    )
    assert fails(reg, "rollback", "sentiment", "--stage", "staging").startswith(
        "error: stage 'staging' is not allowed here"
    )
    assert sorted(tags(reg)) == TEMPLATE_TAGS
    assert gm_ok(reg, "promote", "sentiment@latest", "dev").startswith(
        "sentiment dev -> v0.2.1: tag sentiment#dev#4\n"
    )


def test_promote_unknown_targets(reg: Path) -> None:
    assert fails(reg, "promote", "sentiment@v9.9.9", "dev") == (
        "error: sentiment@v9.9.9 is not a registered version (known: v0.1.0, v0.2.0, v0.2.1) "
        "(list versions with `git model versions sentiment`)"
    )
    assert fails(reg, "promote", "sentiment#qa", "dev") == (
        "error: stage 'qa' of sentiment is not assigned (assigned: production, staging) "
        "(assign it with `git model promote sentiment@VERSION qa`)"
    )
    assert fails(reg, "promote", "sentiment", "dev") == (
        "error: 'sentiment' is not a model version (use NAME@vX.Y.Z, NAME@latest or NAME#STAGE)"
    )
    assert fails(reg, "promote", "sentiment@latest\n", "dev") == (
        "error: 'sentiment@latest\\n' is not a model version "
        "(use NAME@vX.Y.Z, NAME@latest or NAME#STAGE)"
    )
    assert fails(reg, "promote", "encoder@latest", "dev") == (
        "error: model 'encoder' has no registered versions "
        "(register one with `git model tag encoder`)"
    )
    assert fails(reg, "promote", "sentiment@vfoo", "dev") == (
        "error: invalid version 'vfoo' "
        "(versions are SemVer with a leading v, e.g. v1.2.0 or v2.0.0-rc.1)"
    )
    assert sorted(tags(reg)) == TEMPLATE_TAGS


def test_demote(reg: Path) -> None:
    commits = version_commits(reg)
    assert gm_ok(reg, "demote", "sentiment", "production") == (
        "sentiment production unassigned (was v0.2.0): tag sentiment#production!#4\n"
    )
    assert git(reg, "cat-file", "-t", "sentiment#production!#4").stdout == "tag\n"
    assert rev(reg, "sentiment#production!#4^{commit}") == commits["v0.2.0"]
    assert contents(reg, "sentiment#production!#4") == (
        "Unassign production from sentiment v0.2.0\n\n"
    )
    assert fails(reg, "demote", "sentiment", "production") == (
        "error: sentiment has no version in stage 'production' "
        "(see the assigned stages with `git model versions sentiment`)"
    )
    # staging was v0.2.0, then v0.2.1; as in GTO, the earlier assignment still holds
    assert gm_ok(reg, "demote", "sentiment", "staging", "-m", "broken") == (
        "sentiment staging unassigned (was v0.2.1): tag sentiment#staging!#5\n"
        "sentiment staging now falls back to v0.2.0: it was assigned earlier and never "
        "unassigned (demote again to clear the stage)\n"
    )
    assert contents(reg, "sentiment#staging!#5") == "broken\n\n"
    assert json.loads(gm_ok(reg, "ls", "--json"))[1]["stages"] == {"staging": "v0.2.0"}
    assert gm_ok(reg, "demote", "sentiment", "staging") == (
        "sentiment staging unassigned (was v0.2.0): tag sentiment#staging!#6\n"
    )
    assert json.loads(gm_ok(reg, "ls", "--json"))[1]["stages"] == {}
    assert fails(reg, "demote", "nomodel", "staging") == (
        "error: there is no model named 'nomodel' (list the models with `git model ls`; "
        "a name comes from `git model add`)"
    )


# --- versions and ls ------------------------------------------------------------------------------


def test_versions_table(reg: Path) -> None:
    c = version_commits(reg)
    o = {v: oid_of(reg, commit).removeprefix("xxh128:")[:12] for v, commit in c.items()}
    proc = gm(reg, "versions", "sentiment")
    assert (proc.returncode, proc.stderr) == (0, "")
    # staging was on v0.2.0 before it moved: only current stages are shown
    assert proc.stdout.splitlines() == [
        "VERSION  DATE              COMMIT        OID           SIZE   STAGES      METRICS",
        f"v0.1.0   2023-11-14 22:02  {c['v0.1.0'][:12]}  {o['v0.1.0']}  104 B  -           "
        "accuracy=0.913 loss=0.21",
        f"v0.2.0   2023-11-14 22:04  {c['v0.2.0'][:12]}  {o['v0.2.0']}  104 B  production  "
        "accuracy=0.934 loss=0.18",
        f"v0.2.1   2023-11-14 22:06  {c['v0.2.1'][:12]}  {o['v0.2.1']}  104 B  staging     "
        "accuracy=0.941 loss=0.17",
    ]


def test_versions_json(reg: Path) -> None:
    c = version_commits(reg)
    rows = json.loads(gm_ok(reg, "versions", "sentiment", "--json"))
    expected = [
        ("v0.1.0", "2023-11-14T22:02:00+00:00", V1, []),
        ("v0.2.0", "2023-11-14T22:04:00+00:00", V2, ["production"]),
        ("v0.2.1", "2023-11-14T22:06:00+00:00", V3, ["staging"]),
    ]
    assert rows == [
        {
            "name": "sentiment",
            "version": version,
            "tag": f"sentiment@{version}",
            "commit": c[version],
            "created_at": created,
            "author": TAGGER,
            "oid": oid_of(reg, c[version]),
            "size": 104,
            "metrics": metrics,
            "stages": stages,
            "registered": True,
            "ref": None,
        }
        for version, created, metrics, stages in expected
    ]


def test_versions_all_lists_unregistered_commits(
    reg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(reg, "checkout", "-q", "-b", "experiment")
    commit_version(reg, 4, "try a bigger lr", {"accuracy": 0.9})
    experiment = rev(reg, "HEAD")
    git(reg, "checkout", "-q", "main")
    at(monkeypatch, 11)
    gm_ok(reg, "rollback", "sentiment")  # same pointer as v0.2.0: not a candidate
    at(monkeypatch, 12)
    commit_version(reg, 5, "retrain", {"accuracy": 0.96})
    retrain = rev(reg, "HEAD")
    lines = gm_ok(reg, "versions", "sentiment", "--all").splitlines()
    assert [line.split()[0] for line in lines] == [
        "VERSION",
        "v0.1.0",
        "v0.2.0",
        "v0.2.1",
        "(experiment)",
        "(main)",
    ]
    assert lines[4] == (
        f"(experiment)  2023-11-14 22:10  {experiment[:12]}  "
        f"{oid_of(reg, experiment)[7:19]}  104 B  -           accuracy=0.9 loss=0.17"
    )
    assert lines[5].startswith(f"(main)        2023-11-14 22:12  {retrain[:12]}  ")
    rows = json.loads(gm_ok(reg, "versions", "sentiment", "--all", "--json"))
    assert rows[3] == {
        "name": "sentiment",
        "version": None,
        "tag": None,
        "commit": experiment,
        "created_at": "2023-11-14T22:10:00+00:00",
        "author": TAGGER,
        "oid": oid_of(reg, experiment),
        "size": 104,
        "metrics": {"accuracy": 0.9, "loss": 0.17},  # loss carried over by `add`
        "stages": [],
        "registered": False,
        "ref": "experiment",
    }
    assert [(r["version"], r["ref"]) for r in rows] == [
        ("v0.1.0", None),
        ("v0.2.0", None),
        ("v0.2.1", None),
        (None, "experiment"),
        (None, "main"),
    ]
    assert len(gm_ok(reg, "versions", "sentiment").splitlines()) == 4  # without --all


def test_versions_all_in_a_clone_names_remote_branches_not_origin_head(
    reg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(reg, "checkout", "-q", "-b", "experiment")
    commit_version(reg, 4, "try a bigger lr", {"accuracy": 0.9})
    experiment = rev(reg, "HEAD")
    git(reg, "checkout", "-q", "main")
    at(monkeypatch, 11)
    commit_version(reg, 5, "retrain", {"accuracy": 0.96})
    retrain = rev(reg, "HEAD")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(reg), str(clone))
    git(clone, "checkout", "-q", "--detach", "HEAD~1")
    git(clone, "branch", "-q", "-D", "main")  # the retrain is on origin/main (and origin/HEAD)
    rows = json.loads(gm_ok(clone, "versions", "sentiment", "--all", "--json"))
    assert [(r["version"], r["commit"], r["ref"]) for r in rows] == [
        ("v0.1.0", rev(clone, "sentiment@v0.1.0^{commit}"), None),
        ("v0.2.0", rev(clone, "sentiment@v0.2.0^{commit}"), None),
        ("v0.2.1", rev(clone, "sentiment@v0.2.1^{commit}"), None),
        (None, experiment, "origin/experiment"),
        (None, retrain, "origin/main"),
    ]


def test_versions_of_unregistered_models(reg: Path) -> None:
    assert fails(reg, "versions", "encoder") == (
        "error: model 'encoder' has no registered versions "
        "(register one with `git model tag encoder`)"
    )
    rows = json.loads(gm_ok(reg, "versions", "encoder", "--all", "--json"))
    assert [(r["commit"], r["ref"], r["metrics"]) for r in rows] == [
        (rev(reg, "HEAD~1"), "main", {"bleu": 31.5})
    ]
    assert fails(reg, "versions", "nomodel", "--all") == (
        "error: there is no model named 'nomodel' (list the models with `git model ls`; "
        "a name comes from `git model add`)"
    )


def test_ls(reg: Path) -> None:
    assert gm_ok(reg, "ls").splitlines() == [
        "NAME       LATEST  HEAD            STAGES                            METRICS"
        "                   POINTER",
        "encoder    -       (unregistered)  -                                 bleu=31.5"
        "                 models/encoder.safetensors.gitmodel",
        "sentiment  v0.2.1  v0.2.1          production=v0.2.0 staging=v0.2.1  accuracy=0.941 "
        f"loss=0.17  {POINTER}",
    ]
    head = rev(reg, "HEAD")
    assert json.loads(gm_ok(reg, "ls", "--json")) == [
        {
            "name": "encoder",
            "pointer": "models/encoder.safetensors.gitmodel",
            "oid": json.loads(gm_ok(reg, "status", "encoder", "--json"))[0]["oid"],
            "size": 80,
            "latest": None,
            "head_version": None,
            "stages": {},
            "metrics": {"bleu": 31.5},
            "deprecated": False,
        },
        {
            "name": "sentiment",
            "pointer": POINTER,
            "oid": oid_of(reg, head),
            "size": 104,
            "latest": "v0.2.1",
            "head_version": "v0.2.1",
            "stages": {"production": "v0.2.0", "staging": "v0.2.1"},
            "metrics": V3,
            "deprecated": False,
        },
    ]
    commit_version(reg, 4, "retrain", {"accuracy": 0.96})
    row = json.loads(gm_ok(reg, "ls", "--json"))[1]
    assert (row["latest"], row["head_version"], row["metrics"]) == (
        "v0.2.1",
        None,
        {"accuracy": 0.96, "loss": 0.17},
    )


def test_ls_without_models(repo: Path) -> None:
    assert gm_ok(repo, "ls") == (
        "no models committed at HEAD (track one with `git model add PATH`)\n"
    )
    assert gm_ok(repo, "ls", "--json") == "[]\n"


def test_listing_into_a_closed_pipe_is_quiet(reg: Path) -> None:
    """`git model versions NAME | head -1`: the reader goes away; no error, exit 141 as git."""
    for args in (["versions", "sentiment"], ["ls", "--json"], ["show", "sentiment"]):
        read, write = os.pipe()
        os.close(read)
        proc = subprocess.run(
            ["git", "model", *args], cwd=reg, stdout=write, stderr=subprocess.PIPE, text=True
        )
        os.close(write)
        assert (proc.returncode, proc.stderr) == (141, ""), args


# --- show -----------------------------------------------------------------------------------------


def expected_show(reg: Path, version: str, trained_at: str) -> list[str]:
    commit = version_commits(reg)[version]
    metrics = {"v0.1.0": V1, "v0.2.0": V2, "v0.2.1": V3}[version]
    minute = {"v0.1.0": 2, "v0.2.0": 4, "v0.2.1": 6}[version]
    return [
        "name:      sentiment",
        f"version:   {version}",
        f"tag:       sentiment@{version} (2023-11-14 22:0{minute})",
        f"commit:    {commit}",
        f"pointer:   {POINTER}",
        f"oid:       {oid_of(reg, commit)}",
        "size:      104 B (104 bytes)",
        "kind:      file",
        "format:    safetensors (dtypes=F32, parameters=8, tensors=1)",
        "metrics:",
        f"  accuracy = {metrics['accuracy']}",
        f"  loss = {metrics['loss']}",
        f"trained at: {trained_at}",
        "stages:",
        "  production -> v0.2.0",
        "  staging -> v0.2.1",
        "stage history:",
        f"  2023-11-14 22:07  staging assigned v0.2.0  (sentiment#staging#1, {TAGGER})",
        f"  2023-11-14 22:08  production assigned v0.2.0  (sentiment#production#2, {TAGGER})",
        f"  2023-11-14 22:09  staging assigned v0.2.1  (sentiment#staging#3, {TAGGER})",
    ]


def test_show_every_target_kind(reg: Path) -> None:
    c = version_commits(reg)
    head = expected_show(reg, "v0.2.1", rev(reg, "HEAD~1"))  # trained after `add encoder`
    for target in ("sentiment", MODEL, POINTER, "models", "sentiment@latest", "sentiment#staging"):
        if target == "models":
            assert fails(reg, "show", target) == (
                "error: 'models' matches 2 pointers (name one artifact or model)"
            )
            continue
        proc = gm(reg, "show", target)
        assert (proc.returncode, proc.stderr) == (0, ""), target
        assert proc.stdout.splitlines() == head, target
    assert gm_ok(reg, "show", "sentiment#production").splitlines() == expected_show(
        reg, "v0.2.0", c["v0.1.0"]
    )
    initial = rev(reg, "main~4")
    assert gm_ok(reg, "show", "sentiment@v0.1.0").splitlines() == expected_show(
        reg, "v0.1.0", initial
    )
    assert gm_ok(reg, "show", "encoder").splitlines()[:3] == [
        "name:      encoder",
        "version:   (unregistered)",
        "pointer:   models/encoder.safetensors.gitmodel",
    ]
    assert fails(reg, "show", "nosuch") == (
        "error: nosuch: no pointer matches this path or model name "
        "(list tracked models with `git model status`)"
    )
    assert fails(reg, "show", "sentiment@v3.0.0").startswith(
        "error: sentiment@v3.0.0 is not a registered version (known: v0.1.0, v0.2.0, v0.2.1)"
    )


def test_show_json(reg: Path) -> None:
    c = version_commits(reg)
    result = json.loads(gm_ok(reg, "show", "sentiment@v0.1.0", "--json"))
    assert result["pointer_path"] == POINTER
    assert result["pointer"]["name"] == "sentiment"
    assert result["pointer"]["oid"] == oid_of(reg, c["v0.1.0"])
    assert result["pointer"]["metrics"] == V1
    assert (result["version"], result["tag"], result["commit"]) == (
        "v0.1.0",
        "sentiment@v0.1.0",
        c["v0.1.0"],
    )
    assert result["stages"] == []
    assert result["current_stages"] == {"production": "v0.2.0", "staging": "v0.2.1"}
    assert result["history"] == [
        {
            "stage": stage,
            "action": "assign",
            "version": version,
            "commit": c[version],
            "tag": tag,
            "created_at": f"2023-11-14T22:0{minute}:00+00:00",
            "tagger": TAGGER,
        }
        for stage, version, tag, minute in [
            ("staging", "v0.2.0", "sentiment#staging#1", 7),
            ("production", "v0.2.0", "sentiment#production#2", 8),
            ("staging", "v0.2.1", "sentiment#staging#3", 9),
        ]
    ]
    production = json.loads(gm_ok(reg, "show", "sentiment#production", "--json"))
    assert (production["version"], production["stages"]) == ("v0.2.0", ["production"])
    unregistered = json.loads(gm_ok(reg, "show", "encoder", "--json"))
    assert (unregistered["version"], unregistered["tag"], unregistered["history"]) == (
        None,
        None,
        [],
    )


# --- checkout of a version or stage ---------------------------------------------------------------


def test_checkout_version_and_stage(reg: Path) -> None:
    v1 = safetensors_bytes(reg.parent / "scratch", 1)
    v2 = safetensors_bytes(reg.parent / "scratch", 2)
    v3 = (reg / MODEL).read_bytes()
    head = rev(reg, "HEAD")
    assert gm_ok(reg, "checkout", "sentiment@v0.2.1") == "0 restored, 1 already up to date\n"
    assert gm_ok(reg, "checkout", "sentiment@v0.1.0") == (
        f"restored {MODEL}\n1 restored, 0 already up to date\n"
    )
    assert (reg / MODEL).read_bytes() == v1
    assert (reg / POINTER).read_bytes() == blob(reg, f"sentiment@v0.1.0:{POINTER}")
    assert git(reg, "diff", "--cached", "--name-only").stdout == f"{POINTER}\n"  # staged
    assert blob(reg, f":{POINTER}") == blob(reg, f"sentiment@v0.1.0:{POINTER}")
    assert rev(reg, "HEAD") == head  # nothing committed
    # the staged pointer is a registered version's, so replacing it loses nothing
    assert gm_ok(reg, "checkout", "sentiment#production") == (
        f"restored {MODEL}\n1 restored, 0 already up to date\n"
    )
    assert (reg / MODEL).read_bytes() == v2
    assert blob(reg, f":{POINTER}") == blob(reg, f"sentiment@v0.2.0:{POINTER}")
    gm_ok(reg, "checkout", "sentiment@latest")
    assert (reg / MODEL).read_bytes() == v3
    assert git(reg, "status", "--porcelain").stdout == ""  # back where HEAD is


def test_checkout_version_refuses_unsaved_artifact(reg: Path) -> None:
    unsaved = safetensors_bytes(reg, 7)
    pointer = (reg / POINTER).read_bytes()
    assert fails(reg, "checkout", "sentiment@v0.1.0") == (
        f"error: checkout would overwrite changes not saved in the cache: {MODEL} "
        "(save them with `git model add`, or discard them with --force)"
    )
    assert (reg / MODEL).read_bytes() == unsaved
    assert (reg / POINTER).read_bytes() == pointer
    assert git(reg, "status", "--porcelain").stdout == ""
    gm_ok(reg, "checkout", "sentiment@v0.1.0", "--force")
    assert (reg / MODEL).read_bytes() == safetensors_bytes(reg.parent / "scratch", 1)


def test_checkout_version_refuses_uncommitted_pointer(reg: Path) -> None:
    added = safetensors_bytes(reg, 7)
    gm_ok(reg, "add", MODEL)
    staged = (reg / POINTER).read_bytes()
    assert fails(reg, "checkout", "sentiment@v0.1.0") == (
        f"error: {POINTER} has uncommitted changes (commit them, or discard them with --force)"
    )
    assert (reg / MODEL).read_bytes() == added
    assert (reg / POINTER).read_bytes() == staged


# --- rollback -------------------------------------------------------------------------------------


def test_rollback_to_the_previous_version(reg: Path) -> None:
    before = rev(reg, "HEAD")
    old_commits = git(reg, "rev-list", "HEAD").stdout.split()
    proc = gm(reg, "rollback", "sentiment")
    assert (proc.returncode, proc.stderr) == (0, "")
    head = rev(reg, "HEAD")
    assert proc.stdout == (
        f"rolled back sentiment to v0.2.0 (was v0.2.1): commit {head[:12]}\n"
        "  accuracy: 0.941 -> 0.934\n"
        "  loss: 0.17 -> 0.18\n"
    )
    assert git(reg, "log", "-1", "--format=%B").stdout == (
        "Roll back sentiment to v0.2.0 (was v0.2.1)\n\n"
    )
    assert rev(reg, "HEAD~1") == before  # a new commit on top; history not rewritten
    assert git(reg, "rev-list", "HEAD~1").stdout.split() == old_commits
    assert git(reg, "diff", "--name-only", "HEAD~1", "HEAD").stdout == f"{POINTER}\n"
    assert blob(reg, f"HEAD:{POINTER}") == blob(reg, f"sentiment@v0.2.0:{POINTER}")
    assert (reg / MODEL).read_bytes() == safetensors_bytes(reg.parent / "scratch", 2)
    assert git(reg, "status", "--porcelain").stdout == ""
    assert sorted(tags(reg)) == TEMPLATE_TAGS
    # again: from v0.2.0 to v0.1.0, then there is nothing before
    assert gm_ok(reg, "rollback", "sentiment", "-q") == ""
    assert git(reg, "log", "-1", "--format=%s").stdout == (
        "Roll back sentiment to v0.1.0 (was v0.2.0)\n"
    )
    assert (reg / MODEL).read_bytes() == safetensors_bytes(reg.parent / "scratch", 1)
    assert fails(reg, "rollback", "sentiment") == (
        "error: sentiment v0.1.0 is the first version; there is none before it "
        "(pass --to VERSION to choose one)"
    )


def test_rollback_stage(reg: Path) -> None:
    proc = gm(reg, "rollback", "sentiment", "--stage", "production")
    assert proc.returncode == 0, proc.stderr
    head = rev(reg, "HEAD")
    # the default target is the version before production's (v0.2.0), not before HEAD's
    assert proc.stdout == (
        f"rolled back sentiment to v0.1.0 (was v0.2.0): commit {head[:12]}\n"
        "  accuracy: 0.934 -> 0.913\n"
        "  loss: 0.18 -> 0.21\n"
        "sentiment production -> v0.1.0: tag sentiment#production#4\n"
        "share it: git push origin sentiment#production#4\n"
    )
    assert git(reg, "log", "-1", "--format=%s").stdout == (
        "Roll back sentiment to v0.1.0 (was v0.2.0)\n"
    )
    assert rev(reg, "sentiment#production#4^{commit}") == version_commits(reg)["v0.1.0"]
    assert (reg / MODEL).read_bytes() == safetensors_bytes(reg.parent / "scratch", 1)
    stages = json.loads(gm_ok(reg, "ls", "--json"))[1]["stages"]
    assert stages == {"production": "v0.1.0", "staging": "v0.2.1"}
    out = gm_ok(reg, "rollback", "sentiment", "--to", "0.2.1")
    assert out.splitlines() == [
        f"rolled back sentiment to v0.2.1 (was v0.1.0): commit {rev(reg, 'HEAD')[:12]}",
        "  accuracy: 0.913 -> 0.941",
        "  loss: 0.21 -> 0.17",
    ]
    assert (reg / MODEL).read_bytes() == safetensors_bytes(reg.parent / "scratch", 3)
    assert sorted(tags(reg)) == sorted([*TEMPLATE_TAGS, "sentiment#production#4"])


def test_rollback_to_without_commit(reg: Path) -> None:
    head = rev(reg, "HEAD")
    out = gm_ok(reg, "rollback", "sentiment", "--to", "v0.1.0", "--no-commit")
    assert out == (
        "rolled back sentiment to v0.1.0 (was v0.2.1) (staged, not committed)\n"
        "  accuracy: 0.941 -> 0.913\n"
        "  loss: 0.17 -> 0.21\n"
    )
    assert rev(reg, "HEAD") == head
    assert git(reg, "status", "--porcelain").stdout == f"M  {POINTER}\n"
    assert blob(reg, f":{POINTER}") == blob(reg, f"sentiment@v0.1.0:{POINTER}")
    assert (reg / MODEL).read_bytes() == safetensors_bytes(reg.parent / "scratch", 1)


def test_rollback_after_checkout_still_commits(reg: Path) -> None:
    gm_ok(reg, "checkout", "sentiment@v0.1.0")
    out = gm_ok(reg, "rollback", "sentiment", "--to", "v0.1.0")
    head = rev(reg, "HEAD")
    assert out.splitlines()[0] == (
        f"rolled back sentiment to v0.1.0 (was v0.2.1): commit {head[:12]}"
    )
    assert blob(reg, f"HEAD:{POINTER}") == blob(reg, f"sentiment@v0.1.0:{POINTER}")
    assert git(reg, "status", "--porcelain").stdout == ""


def test_rollback_refusals(reg: Path) -> None:
    head = rev(reg, "HEAD")
    assert fails(reg, "rollback", "sentiment", "--to", "v9.9.9") == (
        "error: sentiment@v9.9.9 is not a registered version (known: v0.1.0, v0.2.0, v0.2.1) "
        "(list versions with `git model versions sentiment`)"
    )
    assert fails(reg, "rollback", "sentiment", "--stage", "qa") == (
        "error: sentiment has no version in stage 'qa' "
        "(pass --to VERSION, or see stages with `git model versions sentiment`)"
    )
    assert fails(reg, "rollback", "encoder") == (
        "error: model 'encoder' has no registered versions "
        "(register one with `git model tag encoder`)"
    )
    unsaved = safetensors_bytes(reg, 7)
    assert fails(reg, "rollback", "sentiment") == (
        f"error: checkout would overwrite changes not saved in the cache: {MODEL} "
        "(save them with `git model add`, or discard them with --force)"
    )
    assert (reg / MODEL).read_bytes() == unsaved
    assert rev(reg, "HEAD") == head
    gm_ok(reg, "add", MODEL, "--metric", "accuracy=0.5")
    git(reg, "commit", "-q", "-m", "unregistered")
    assert fails(reg, "rollback", "sentiment") == (
        "error: the sentiment pointer at HEAD is not a registered version "
        "(say which version to go back to with --to VERSION)"
    )
    assert (
        gm_ok(reg, "rollback", "sentiment", "--to", "v0.2.1")
        .splitlines()[0]
        .startswith("rolled back sentiment to v0.2.1: commit ")
    )


# --- tags made without git-model ------------------------------------------------------------------


def test_tags_made_by_hand_are_understood(reg: Path) -> None:
    commit_version(reg, 4, "train v4", {"accuracy": 0.95})
    c4 = rev(reg, "HEAD")
    git(reg, "tag", "-a", "-m", "by hand", "sentiment@v0.3.0")  # no `pointer:` line
    commit_version(reg, 5, "train v5", {"accuracy": 0.96})
    c5 = rev(reg, "HEAD")
    git(reg, "tag", "sentiment@v0.4.0")  # lightweight
    v1 = version_commits(reg)["v0.1.0"]
    git(reg, "tag", "-a", "-m", "hand", "sentiment#production#7", v1)
    git(reg, "tag", "sentiment#dev#8", c4)  # lightweight stage tag
    rows = json.loads(gm_ok(reg, "versions", "sentiment", "--json"))
    assert [(r["version"], r["commit"], r["stages"]) for r in rows] == [
        ("v0.1.0", v1, ["production"]),
        ("v0.2.0", version_commits(reg)["v0.2.0"], []),
        ("v0.2.1", version_commits(reg)["v0.2.1"], ["staging"]),
        ("v0.3.0", c4, ["dev"]),
        ("v0.4.0", c5, []),
    ]
    assert rows[3]["oid"] == oid_of(reg, c4)
    assert rows[3]["metrics"] == {"accuracy": 0.95, "loss": 0.17}
    assert rows[4]["created_at"] == "2023-11-14T22:10:00+00:00"  # the commit's time
    assert fails(reg, "tag", "sentiment").startswith(
        f"error: {c5[:12]} is already registered as sentiment@v0.4.0 "
    )
    assert gm_ok(reg, "promote", "sentiment@v0.4.0", "production").startswith(
        "sentiment production -> v0.4.0 (was v0.1.0): tag sentiment#production#9\n"
    )
    commit_version(reg, 6, "train v6", {"accuracy": 0.97})
    assert gm_ok(reg, "tag", "sentiment").startswith("registered sentiment@v0.4.1 at ")


def test_foreign_and_malformed_tags_are_ignored(reg: Path) -> None:
    commands = [["versions", "sentiment"], ["ls", "--json"], ["show", "sentiment#production"]]
    before = [gm_ok(reg, *args) for args in commands]
    readme = git(reg, "hash-object", "-w", "README.md").stdout.strip()
    for name in (
        "v1.0",
        "v1.0.0",
        "release-2024",
        "foo@bar",
        "x#y#z",
        "Model@v1.0.0",
        "sentiment@v1.0",
        "sentiment@1.0.0",
        "sentiment#Prod#1",
        "sentiment#prod#x",
    ):
        git(reg, "tag", name)
    git(reg, "tag", "-a", "-m", "annotated foreign", "Sentiment@v2.0.0")
    git(reg, "tag", "sentiment@v7.0.0", readme)  # a tag on a blob, not a commit
    assert [gm_ok(reg, *args) for args in commands] == before
    commit_version(reg, 4, "train v4", {"accuracy": 0.95})
    assert gm_ok(reg, "tag", "sentiment").startswith("registered sentiment@v0.2.2 at ")


def test_version_tag_on_a_commit_without_the_model(reg: Path) -> None:
    initial = rev(reg, "main~4")
    git(reg, "tag", "-a", "-m", "wrong commit", "sentiment@v5.0.0", initial)
    lines = gm_ok(reg, "versions", "sentiment").splitlines()
    assert lines[-1] == f"v5.0.0   2023-11-14 22:10  {initial[:12]}  -             -      -" + (
        "           -"
    )
    assert fails(reg, "show", "sentiment@v5.0.0") == (
        f"error: sentiment@v5.0.0 points at {initial[:12]}, which has no pointer for sentiment "
        "(the tag was made by hand on the wrong commit; delete and recreate it)"
    )
    assert fails(reg, "checkout", "sentiment@latest") == (
        f"error: sentiment@v5.0.0 points at {initial[:12]}, which has no pointer for sentiment "
        "(the tag was made on the wrong commit; delete and recreate it)"
    )


# --- GTO reads the same registry ------------------------------------------------------------------


def test_gto_agrees(reg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gto = Path(sys.executable).parent / "gto"
    if not gto.exists():
        pytest.skip(f"the gto executable is not installed next to {sys.executable}")
    steps = [
        ["promote", "sentiment@v0.1.0", "production"],  # re-assign production
        ["promote", "sentiment@v0.2.1", "production"],  # and again
        ["demote", "sentiment", "production"],  # falls back to v0.1.0 (22:10), as in GTO
        ["promote", "sentiment@v0.2.0", "dev"],
        ["tag", "encoder"],
        ["promote", "encoder@latest", "production"],
    ]
    for minute, step in enumerate(steps, start=10):
        at(monkeypatch, minute)
        gm_ok(reg, *step)

    def run_gto(*args: str) -> object:
        proc = subprocess.run(
            [str(gto), *args], cwd=reg, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    registry = run_gto("show", "--json")
    assert isinstance(registry, dict)
    ours = {row["name"]: row for row in json.loads(gm_ok(reg, "ls", "--json"))}
    assert sorted(registry) == sorted(ours) == ["encoder", "sentiment"]
    for name, state in registry.items():
        stages = {stage: v for stage, v in state["stage"].items() if v is not None}
        assert (state["version"], stages) == (ours[name]["latest"], ours[name]["stages"])
    assert ours["sentiment"]["stages"] == {
        "dev": "v0.2.0",
        "production": "v0.1.0",
        "staging": "v0.2.1",
    }
    assert ours["encoder"]["stages"] == {"production": "v0.1.0"}

    for name in ("sentiment", "encoder"):
        theirs = run_gto("show", name, "--json")
        assert isinstance(theirs, list)
        mine = json.loads(gm_ok(reg, "versions", name, "--json"))
        assert sorted(
            (v["version"], v["commit_hexsha"], sorted(s["stage"] for s in v["stages"]))
            for v in theirs
        ) == [(r["version"], r["commit"], r["stages"]) for r in mine]


def test_share_hint_names_the_remote_git_push_would_use(repo: Path) -> None:
    write_safetensors(repo / "m.safetensors", {"w": ("F16", [2], 1)})
    gm_ok(repo, "add", "m.safetensors")
    git(repo, "commit", "-q", "-m", "m")
    out = gm_ok(repo, "tag", "m")
    assert out.splitlines()[-1] == (
        "share it: git push REMOTE m@v0.1.0 (this repository has no Git remote yet)"
    )
    git(repo, "remote", "add", "upstream", str(repo.parent / "up.git"))
    out = gm_ok(repo, "promote", "m@v0.1.0", "dev")
    assert out.splitlines()[-1] == "share it: git push upstream m#dev#1"
    git(repo, "remote", "add", "fork", str(repo.parent / "fork.git"))
    git(repo, "config", "remote.pushDefault", "fork")
    out = gm_ok(repo, "promote", "m@v0.1.0", "prod")
    assert out.splitlines()[-1] == "share it: git push fork m#prod#2"


def test_versions_of_a_model_that_does_not_exist_says_so(reg: Path) -> None:
    proc = gm(reg, "versions", "nosuch")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: there is no model named 'nosuch' (list the models with `git model ls`; a name "
        "comes from `git model add`)\n"
    )
    proc = gm(reg, "versions", "encoder")  # exists, never tagged
    assert proc.stderr == (
        "error: model 'encoder' has no registered versions (register one with "
        "`git model tag encoder`)\n"
    )
