"""Two pointers that share a model name: diffs key by pointer path, the registry refuses."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import git, gm, gm_ok


def two_models(repo: Path) -> None:
    """`model.safetensors` and `model.bin`, both named `model`; the .safetensors one regresses."""
    (repo / "model.bin").write_bytes(b"bin weights")
    (repo / "model.safetensors").write_bytes(b"other weights")
    gm_ok(repo, "add", "-q", "model.bin", "-m", "acc=0.9")
    gm_ok(repo, "add", "-q", "model.safetensors", "--name", "model", "-m", "acc=0.9")
    git(repo, "commit", "-q", "-m", "two models")
    gm_ok(repo, "add", "-q", "model.safetensors", "-m", "acc=0.5")
    git(repo, "commit", "-q", "-m", "regressed")


def test_add_refuses_a_second_pointer_of_a_default_name(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"a")
    (repo / "model.safetensors").write_bytes(b"b")
    gm_ok(repo, "add", "-q", "model.bin")
    proc = gm(repo, "add", "model.safetensors")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: model.safetensors.gitmodel would be a second pointer of model 'model' "
        "(already: model.bin.gitmodel) (give it a name of its own: "
        "git model add model.safetensors --name NAME)\n"
    )
    assert not (repo / "model.safetensors.gitmodel").exists()
    assert git(repo, "diff", "--cached", "--name-only").stdout == ".gitignore\nmodel.bin.gitmodel\n"


def test_add_refuses_two_new_paths_of_one_name_before_writing_anything(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"a")
    (repo / "model.pt").write_bytes(b"b")
    proc = gm(repo, "add", "model.bin", "model.pt")
    assert proc.returncode == 1
    assert "model.pt.gitmodel would be a second pointer of model 'model'" in proc.stderr
    assert not (repo / "model.bin.gitmodel").exists()


def test_add_with_an_explicit_shared_name_warns(repo: Path) -> None:
    (repo / "model.bin").write_bytes(b"a")
    (repo / "model.safetensors").write_bytes(b"b")
    gm_ok(repo, "add", "-q", "model.bin")
    proc = gm(repo, "add", "model.safetensors", "--name", "model")
    assert proc.returncode == 0
    assert (
        "warning: model 'model' now has 2 pointers (model.bin.gitmodel, "
        "model.safetensors.gitmodel); `git model tag model` will refuse it as ambiguous\n"
    ) in proc.stderr
    assert gm_ok(repo, "add", "-q", "model.safetensors") == ""  # re-adding keeps quiet


def test_regression_gate_sees_every_pointer_of_a_shared_name(repo: Path) -> None:
    two_models(repo)
    proc = gm(repo, "diff", "HEAD~1", "HEAD", "--fail-on-regression")
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == (
        "HEAD~1 -> HEAD: 0 improved, 1 regressed, 1 of 2 models changed"
    )
    assert "model (model.safetensors.gitmodel) (modified)" in proc.stdout
    assert proc.stderr == (
        "regression: model (model.safetensors.gitmodel) acc 0.9 -> 0.5 "
        "(worse by more than the tolerance 0)\n"
    )


def test_diff_selects_by_artifact_and_pointer_path(repo: Path) -> None:
    two_models(repo)
    for target in ("model.safetensors", "model.safetensors.gitmodel"):
        report = json.loads(gm_ok(repo, "diff", "HEAD~1", "HEAD", target, "--json", "--all"))
        assert [m["new_pointer"] for m in report["models"]] == ["model.safetensors.gitmodel"]
    report = json.loads(gm_ok(repo, "diff", "HEAD~1", "HEAD", "model.bin", "--json", "--all"))
    assert [(m["new_pointer"], m["status"]) for m in report["models"]] == [
        ("model.bin.gitmodel", "unchanged")
    ]
    by_name = json.loads(gm_ok(repo, "diff", "HEAD~1", "HEAD", "model", "--json", "--all"))
    assert [m["new_pointer"] for m in by_name["models"]] == [
        "model.bin.gitmodel",
        "model.safetensors.gitmodel",
    ]


def test_tag_and_promote_refuse_an_ambiguous_name(repo: Path) -> None:
    two_models(repo)
    proc = gm(repo, "tag", "model")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: model 'model' has 2 pointers at HEAD: model.bin.gitmodel, "
        "model.safetensors.gitmodel (give each its own name (`git model add ARTIFACT "
        "--name NAME`, then commit) first)\n"
    )
    assert git(repo, "tag").stdout == ""
    git(repo, "tag", "-a", "model@v0.1.0", "-m", "made by GTO, names no pointer")
    proc = gm(repo, "promote", "model@v0.1.0", "production")
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "error: model 'model' has 2 pointers at model@v0.1.0: model.bin.gitmodel, "
        "model.safetensors.gitmodel ("
    )
    assert git(repo, "tag").stdout == "model@v0.1.0\n"
