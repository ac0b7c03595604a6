"""What ships is what is tested: build the wheel, install it into a fresh venv as a user would
(`pip install`, not the editable install the rest of the suite uses) and drive it."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from gitmodel.commands.hook import HOOK_NAMES
from tests.helpers import git
from tests.test_doc_examples import GETTING_STARTED, assert_page_runs_as_shown

ROOT = Path(__file__).resolve().parent.parent


def test_every_hook_has_a_shim_and_every_shim_is_a_hook() -> None:
    shims = {p.name for p in (ROOT / "hooks").iterdir() if p.is_file() and p.name[0] != "_"}
    assert shims == set(HOOK_NAMES)


def _source_copy(dest: Path) -> Path:
    """The files Git would ship from this work tree (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        src = ROOT / os.fsdecode(name)
        if src.is_file():
            target = dest / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def _pip(python: str, *args: str) -> None:
    quiet = ["--quiet", "--disable-pip-version-check"]
    subprocess.run([python, "-m", "pip", *args, *quiet], check=True, capture_output=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel installed; returns its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = _source_copy(work / "src")
    _pip(sys.executable, "wheel", "--no-deps", "-w", str(work / "dist"), str(source))
    (wheel,) = (work / "dist").glob("git_model-*.whl")
    venv.create(work / "venv", with_pip=True)
    bin_dir = work / "venv" / "bin"
    _pip(str(bin_dir / "python"), "install", str(wheel))
    return bin_dir


def _record(bin_dir: Path) -> set[str]:
    (record,) = bin_dir.parent.glob("lib/python*/site-packages/git_model-*.dist-info/RECORD")
    with record.open(newline="") as f:
        return {row[0] for row in csv.reader(f)}


def test_the_wheel_ships_every_file_the_code_loads(installed: Path) -> None:
    files = _record(installed)
    expected = {f"gitmodel/shims/{hook}" for hook in HOOK_NAMES}
    expected |= {"gitmodel/py.typed", "gitmodel/__main__.py"}
    assert expected <= files, f"missing from the wheel: {sorted(expected - files)}"
    assert any(f.endswith("share/man/man1/git-model.1") for f in files)
    docs = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    shipped = {f.split("share/doc/git-model/", 1)[1] for f in files if "share/doc/git-model/" in f}
    assert docs | {"README.md"} == shipped
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "gitmodel").rglob("*.py")}
    assert sources <= files, f"modules missing from the wheel: {sorted(sources - files)}"


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["git", "model", *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_the_installed_wheel_installs_hooks_adds_and_checks_out(
    installed: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    version = _run(installed, repo, "--version")
    assert (version.returncode, version.stdout) == (0, "git-model 0.1.0\n")
    assert _run(installed, repo, "--version").stdout == version.stdout

    proc = _run(installed, repo, "install")
    assert (proc.returncode, proc.stderr) == (0, "")
    for hook in HOOK_NAMES:
        shim = repo / ".git" / "hooks" / hook
        assert f"hook {hook}: installed" in proc.stdout.splitlines()
        assert shim.read_bytes() == (ROOT / "hooks" / hook).read_bytes()
        assert os.access(shim, os.X_OK)

    (repo / "model.bin").write_bytes(b"weights" * 1000)
    proc = _run(installed, repo, "add", "model.bin", "--metric", "acc=0.9")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("added model: model.bin.gitmodel (6.8 KiB, ")
    (repo / "model.bin").unlink()
    proc = _run(installed, repo, "checkout")
    assert proc.returncode == 0, proc.stderr
    assert (repo / "model.bin").read_bytes() == b"weights" * 1000
    status = _run(installed, repo, "status")
    assert status.stdout == "up to date              model.bin\n"

    helped = _run(installed, repo, "help", "add")
    assert helped.returncode == 0
    assert helped.stdout.startswith("Usage: git-model add")
    if shutil.which("man"):
        env = {**os.environ, "PATH": f"{installed}{os.pathsep}{os.environ['PATH']}"}
        env["MANPAGER"] = env["PAGER"] = "cat"
        page = subprocess.run(
            ["git", "model", "--help"], cwd=repo, env=env, capture_output=True, text=True
        )
        assert page.returncode == 0, page.stderr
        assert "git-model" in page.stdout and "add" in page.stdout


def test_an_incomplete_installation_says_so_and_changes_nothing(
    installed: Path, tmp_path: Path
) -> None:
    (site,) = installed.parent.glob("lib/python*/site-packages")
    broken = tmp_path / "broken"
    shutil.copytree(site / "gitmodel", broken / "gitmodel")
    (broken / "gitmodel" / "shims" / "post-rewrite").unlink()
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    before = (repo / ".git" / "config").read_bytes()
    proc = subprocess.run(
        [str(installed / "python"), "-m", "gitmodel", "install"],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(broken)},
        capture_output=True,
        text=True,
    )
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: this git-model installation is incomplete: its post-rewrite hook shim is "
        "missing (reinstall git-model (pip install --force-reinstall git-model); please "
        "report this packaging bug)\n"
    )
    assert sorted(p.name for p in (repo / ".git" / "hooks").iterdir() if "." not in p.name) == []
    assert (repo / ".git" / "config").read_bytes() == before
    assert not (repo / ".gitattributes").exists()


def test_getting_started_runs_to_the_end_from_the_installed_wheel(
    installed: Path, tmp_path: Path
) -> None:
    """What a newcomer does after `pip install`: the walk-through, command by command."""
    assert_page_runs_as_shown(GETTING_STARTED, tmp_path, bin_dir=installed)
