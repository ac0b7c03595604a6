"""The storage and transfer benchmarks of issue 15 run end to end in a tiny configuration.

They are scripts, not tests (a full run takes many minutes and gigabytes); this only keeps
them from rotting as the commands they drive change: each must finish and print its tables.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
GIT_MODEL = Path(sys.executable).parent / "git-model"


def run_script(name: str, *args: str | Path) -> str:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), "--git-model", str(GIT_MODEL), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def test_storage_benchmark_prints_every_table(tmp_path: Path) -> None:
    out = run_script(
        "storage.py",
        *("--size-mib", "1", "--versions", "2", "--scenario", "S1", "--scenario", "S4"),
        *("--skip", "dvc", "--skip", "lfs", "--work", tmp_path),
    )
    assert "dvc: n/a, skipped (--skip dvc)" in out
    assert "lfs: n/a, skipped (--skip lfs)" in out
    lines = out.splitlines()
    for head in (
        "| scenario | git-model remote | git-model cache | DVC remote | LFS remote |",
        "| scenario | pull newest, empty clone, before gc | after gc --remote (≤ 1.0x) |",
        "| scenario | push, all versions (≥ 200) | fetch all + checkout (≥ 200) |",
        "| scenario | git-model add | push | gc  | gc --remote | DVC add | DVC push |",
    ):
        assert any(line.startswith(head) for line in lines), head
    rows = [line.split("|")[1:-1] for line in lines if line.startswith("| S")]
    # four tables, a row each for S1 and S4; DVC and LFS were skipped
    assert [r[0].strip() for r in rows] == ["S1", "S4"] * 4
    assert [c.strip() for c in rows[0][3:7]] == ["n/a"] * 4
    assert rows[0][1].strip().endswith("x)")  # remote after gc, (before gc)
    assert not (tmp_path / "storage").exists()  # cleaned up


def test_transfer_benchmark_prints_its_table(tmp_path: Path) -> None:
    out = run_script(
        "transfer.py",
        *("--files", "3", "--big-mib", "1", "--jobs", "2", "--skip", "dvc", "--work", tmp_path),
    )
    assert "dvc: n/a, skipped (--skip dvc)" in out
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in row] for row in rows[1:]]
    assert [(r[0], r[1]) for r in cells] == [
        ("3 x 4 KiB", "push"),
        ("3 x 4 KiB", "pull"),
        ("1 file, 1 MiB", "push"),
        ("1 file, 1 MiB", "pull"),
    ]
    for row in cells:
        assert float(row[2]) > 0 and int(row[3]) > 0  # seconds and requests counted
        assert row[4:] == ["n/a", "n/a", "n/a", row[7], "n/a"]
    assert not (tmp_path / "transfer").exists()


def test_transfer_benchmark_counts_every_request_line(tmp_path: Path) -> None:
    """moto's log colours some lines (4xx yellow, 206 bold magenta): each is one request."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from transfer import Moto
    finally:
        sys.path.remove(str(BENCHMARKS))
    log = tmp_path / "moto.log"
    log.write_text(
        " * Running on http://127.0.0.1:5000\n"
        '127.0.0.1 - - [04/Dec/2026 19:02:13] "PUT /b/objects/ff/a6 HTTP/1.1" 200 -\n'
        '127.0.0.1 - - [04/Dec/2026 19:02:13] "\x1b[33mHEAD /b/objects/04/80 HTTP/1.1\x1b[0m"'
        " 404 -\n"
        '127.0.0.1 - - [04/Dec/2026 19:02:17] "\x1b[35m\x1b[1mGET /b/objects/0c/e6 HTTP/1.1\x1b[0m"'
        " 206 -\n"
    )
    assert Moto("http://127.0.0.1:5000", log).requests() == 3
