"""`git model add` of Git LFS pointer stubs (a Hugging Face clone without `git lfs pull`)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import git, gm, gm_ok

STUB = (
    b"version https://git-lfs.github.com/spec/v1\n"
    b"oid sha256:4b6bd1a4c1e2d1e0f1c1b9e9c5a6e7f3b2d1c0a9e8f7d6c5b4a3f2e1d0c9b8a7\n"
    b"size 498000000\n"
)
HINT = (
    "(fetch the real files first: run `git lfs install` and `git lfs pull` in the repository "
    "it was cloned from; or pass --force to add the pointer files as they are)"
)


def hf_clone(repo: Path) -> Path:
    """A model folder as `git clone` leaves it without Git LFS: small files real, weights stubs."""
    folder = repo / "bert"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}\n')
    (folder / "model.safetensors").write_bytes(STUB)
    (folder / "onnx").mkdir()
    (folder / "onnx" / "model.onnx").write_bytes(STUB.replace(b"498000000", b"12"))
    return folder


def test_add_refuses_a_folder_of_lfs_stubs(repo: Path) -> None:
    hf_clone(repo)
    proc = gm(repo, "add", "bert")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: bert: 2 files are Git LFS pointer files, not the model's bytes "
        f"(model.safetensors, onnx/model.onnx) {HINT}\n"
    )
    assert not (repo / "bert.gitmodel").exists()
    assert git(repo, "status", "--porcelain").stdout == "?? bert/\n"
    assert not list((repo / ".git" / "model" / "cache" / "objects").glob("*/*"))


def test_add_refuses_a_single_stub_file(repo: Path) -> None:
    (repo / "model.safetensors").write_bytes(STUB)
    proc = gm(repo, "add", "model.safetensors")
    assert proc.returncode == 1
    assert proc.stderr == (
        f"error: model.safetensors is a Git LFS pointer file, not the model's bytes {HINT}\n"
    )
    assert not (repo / "model.safetensors.gitmodel").exists()


def test_force_adds_the_stubs_as_they_are(repo: Path) -> None:
    hf_clone(repo)
    out = gm_ok(repo, "add", "--force", "bert")
    assert out.startswith("added bert: bert.gitmodel (")
    (repo / "model.bin").write_bytes(STUB)
    assert gm_ok(repo, "add", "-f", "-q", "model.bin") == ""


def test_files_that_only_mention_lfs_are_added(repo: Path) -> None:
    folder = repo / "notes"
    folder.mkdir()
    (folder / "README.md").write_bytes(b"see " + STUB)  # not at the start
    (folder / "big.bin").write_bytes(STUB + b"x" * 1024)  # too big for a pointer
    gm_ok(repo, "add", "-q", "notes")
