"""ONNX external data: tensors kept in files beside the model file (`model.onnx.data`).

Such a model is two (or more) files. Added alone, the `.onnx` file's pointer would not bring
its weights along: `add` says so. Inside a folder the files travel together, and the folder's
facts count the external tensors from the `.onnx` header (they have no tensor manifest: their
bytes are in another file).
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection
from pathlib import Path

from gitmodel.formats import FormatError, FormatScan, scan_file
from gitmodel.manifests import TensorSummary
from gitmodel.pointer import POINTER_SUFFIX


def external_scan(location: str | Path, scan: FormatScan | None) -> FormatScan | None:
    """The ONNX scan of a file whose tensors live elsewhere (re-read from the header if the
    add pass did not read it, e.g. unchanged since the stat cache saw it); else None."""
    if not str(location).lower().endswith(".onnx"):
        return None
    if scan is None:
        try:
            scan = scan_file(Path(location))
        except (FormatError, OSError):
            return None
    if scan is None or scan.name != "onnx" or not scan.external_files:
        return None
    return scan


def untracked_data_warning(shown: str, artifact: Path, scan: FormatScan) -> str | None:
    """A warning when a single `.onnx` file is added but its data files have no pointer."""
    missing = [
        name
        for name in scan.external_files
        if not (artifact.parent / (name + POINTER_SUFFIX)).is_file()
    ]
    if not missing:
        return None
    first = posixpath.join(posixpath.dirname(shown), missing[0])
    return (
        f"{shown}: its tensor data is in {', '.join(missing)}, which this pointer does not "
        f"track (add it too: git model add {first}; or add the folder that holds both)"
    )


def missing_in_folder_warning(
    folder: str, relpath: str, scan: FormatScan, relpaths: Collection[str]
) -> str | None:
    """A warning when an `.onnx` file in a folder names data files the folder does not hold."""
    base = posixpath.dirname(relpath)
    missing = [
        name
        for name in scan.external_files
        if posixpath.normpath(posixpath.join(base, name)) not in relpaths
    ]
    if not missing:
        return None
    return (
        f"{folder}/{relpath}: its tensor data file {', '.join(missing)} is not in {folder}/ "
        "(move it into the folder, or the model cannot be loaded from a checkout)"
    )


def summary_of(scan: FormatScan) -> TensorSummary:
    """Parameters, tensors and dtypes of an ONNX model from its header facts."""
    facts = scan.facts
    parameters, initializers, dtypes = (
        facts.get("parameters"),
        facts.get("initializers"),
        facts.get("dtypes"),
    )
    return TensorSummary(
        parameters=parameters if isinstance(parameters, int) else 0,
        tensors=initializers if isinstance(initializers, int) else 0,
        dtypes=frozenset(dtypes) if isinstance(dtypes, list) else frozenset(),
    )
