"""The per-file fast paths of `git model add`: one descriptor per file, header reads with
pread, temp names without randomness per file, one existence check per object, a folder
manifest written as text, and staging through the `git` binary. Same bytes as before."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitmodel.formats import FormatError, scan_fd, scan_file
from tests.helpers import write_safetensors

OID_A = "xxh128:" + "a" * 32
OID_B = "xxh128:" + "b" * 32
OID_T = "xxh128:" + "c" * 32


def test_scan_fd_reads_with_pread_and_leaves_the_offset(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"  # safetensors by content, not by name
    write_safetensors(path, {"w": ("F32", [2, 3], 1), "b": ("F32", [3], 2)})
    fd = os.open(path, os.O_RDONLY)
    try:
        scan = scan_fd(fd, str(path))
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0
    finally:
        os.close(fd)
    assert scan is not None and scan == scan_file(path)
    assert (scan.name, scan.facts["parameters"]) == ("safetensors", 9)


def test_scan_fd_still_reads_formats_named_by_suffix_only(tmp_path: Path) -> None:
    (tmp_path / "plain.bin").write_bytes(b"just some bytes")
    (tmp_path / "bad.ONNX").write_bytes(b"\xff" * 32)  # suffix decides; header is broken
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 16)
    assert scan_file(tmp_path / "plain.bin") is None
    with pytest.raises(FormatError):
        scan_file(tmp_path / "bad.ONNX")
    with pytest.raises(FormatError):
        scan_file(tmp_path / "bad.safetensors")
