"""ONNX models saved with external data (`model.onnx` + `model.onnx.data`, by the onnx package)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import onnx

from tests.helpers import git, gm, gm_ok
from tests.test_onnx import tiny_model


def save_external(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(
        tiny_model(),
        path,
        save_as_external_data=True,
        location=path.name + ".data",
        size_threshold=0,
    )


def test_adding_the_onnx_file_alone_warns_that_its_data_is_not_tracked(repo: Path) -> None:
    save_external(repo / "models" / "model.onnx")
    proc = gm(repo, "add", "models/model.onnx")
    assert proc.returncode == 0
    warning = (
        "warning: models/model.onnx: its tensor data is in model.onnx.data, which this "
        "pointer does not track (add it too: git model add models/model.onnx.data; or add "
        "the folder that holds both)\n"
    )
    assert proc.stderr == warning
    assert gm(repo, "add", "models/model.onnx").stderr == warning  # unchanged: still said
    gm_ok(repo, "add", "-q", "models/model.onnx.data")
    assert gm(repo, "add", "models/model.onnx").stderr == ""  # both tracked now


def test_a_folder_with_an_external_data_model_gets_its_facts(repo: Path) -> None:
    save_external(repo / "model" / "model.onnx")
    gm_ok(repo, "add", "-q", "model")
    pointer = tomllib.loads((repo / "model.gitmodel").read_text())
    assert pointer["format"] == {
        "name": "dir",
        "dtypes": ["FLOAT"],
        "files": 2,
        "parameters": 12 + 4,  # W (3x4) and B (4), both in model.onnx.data
        "tensors": 2,
    }
    git(repo, "commit", "-q", "-m", "model")
    (repo / "model" / "notes.txt").write_text("re-added: the .onnx comes from the stat cache\n")
    gm_ok(repo, "add", "-q", "model")
    again = tomllib.loads((repo / "model.gitmodel").read_text())
    assert again["format"]["parameters"] == 16
    assert again["format"]["files"] == 3


def test_a_folder_missing_the_data_file_warns(repo: Path) -> None:
    save_external(repo / "model" / "model.onnx")
    (repo / "model" / "model.onnx.data").rename(repo / "model.onnx.data")
    proc = gm(repo, "add", "model")
    assert proc.returncode == 0
    assert proc.stderr == (
        "warning: model/model.onnx: its tensor data file model.onnx.data is not in model/ "
        "(move it into the folder, or the model cannot be loaded from a checkout)\n"
    )
