"""A killed `git model` leaves nothing that Git sees, and the next run removes its temps and
undoes a half-finished adopt.

Each kill is real: `git-model` runs in a subprocess that sends itself SIGKILL at an exact
step, found with a Python audit hook (sys.addaudithook) installed by the wrapper below, so
the product has no test-only code path. A hook runs *before* the audited call, so "kill at
the fchmod of the copy" means: the temp file is complete, and not renamed yet.
"""

from __future__ import annotations

import gc
import os
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitmodel.cache.adopt import ADOPT_MIN_SIZE
from gitmodel.cache.objects import ObjectStore
from gitmodel.hashing import oid_of_bytes
from tests.helpers import git, gm, gm_ok, object_path

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the kill points are Linux's")

MiB = 1024 * 1024

# The step at which the wrapped `git-model` kills itself (audit event, and a test of its args).
KILL_POINTS = {
    # the copy of an object into a temp file is complete (its mode is set next)
    "copy-done": "event == 'os.chmod' and isinstance(args[0], int)",
    # a folder being filled is about to get its first subfolder (the temp folder exists)
    "fill-started": "event == 'os.mkdir' and args[2] != -1",
    # copy-mode adopt: the inode is published as the object; renameat2 swaps the copy in next
    "before-swap": "event == 'ctypes.dlsym' and args[1] == 'renameat2'",
    # copy-mode adopt: the inode is linked into the cache's tmp/, the copy is about to start
    "adopt-copying": "event == 'ctypes.dlsym' and args[1] == 'fallocate'",
}

KILLER = """
import os, signal, sys

condition = eval("lambda event, args: " + sys.argv.pop(1))  # before the hook: eval is audited


def hook(event, args):
    try:
        hit = condition(event, args)
    except (IndexError, TypeError):  # another event, with other arguments
        return
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)


sys.addaudithook(hook)
from gitmodel.__main__ import main

main()
"""


def killed(repo: Path, point: str, *args: str) -> None:
    """Run `git-model ARGS` in `repo` and kill it at `point`; it must die there."""
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, KILL_POINTS[point], *args],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)


def cache_tmp(repo: Path) -> Path:
    return repo / ".git" / "model" / "cache" / "tmp"


def temps_in(folder: Path) -> list[str]:
    """What is in a temp folder besides owner files (those of live processes, or gone ones)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".owner"))


LISTED = [".git", ".gitignore", "README.md"]  # what the `repo` fixture holds, with .gitignore
RESTORED = "restored model.bin\n1 restored, 0 already up to date\n"
UP_TO_DATE = "up to date              model.bin\n"


def added(data: bytes) -> str:
    oid = oid_of_bytes(data)
    return f"added model: model.bin.gitmodel (67.0 MiB, {oid[:19]}…)\n"


def porcelain(repo: Path) -> str:
    return git(repo, "status", "--porcelain", "--untracked-files=all").stdout


def big_bytes(size: int) -> bytes:
    block = os.urandom(MiB)
    return b"".join(i.to_bytes(8, "little") + block[8:] for i in range(size // MiB + 1))[:size]


@pytest.fixture
def copy_repo(repo: Path) -> Path:
    git(repo, "config", "model.linkType", "copy")
    return repo


def test_killed_checkout_of_a_file_leaves_no_temp_in_the_work_tree(copy_repo: Path) -> None:
    data = big_bytes(8 * MiB + 5)
    (copy_repo / "model.bin").write_bytes(data)
    gm_ok(copy_repo, "add", "model.bin")
    git(copy_repo, "commit", "-q", "-m", "model")
    (copy_repo / "model.bin").unlink()

    killed(copy_repo, "copy-done", "checkout")

    # The whole copy was made, where Git never sees it, and not renamed into place.
    assert porcelain(copy_repo) == ""
    assert sorted(os.listdir(copy_repo)) == [*LISTED, "model.bin.gitmodel"]
    [temp] = temps_in(cache_tmp(copy_repo))
    assert (cache_tmp(copy_repo) / temp).read_bytes() == data

    assert gm_ok(copy_repo, "status") == "missing from work tree  model.bin\n"
    assert temps_in(cache_tmp(copy_repo)) == []
    assert gm_ok(copy_repo, "checkout") == RESTORED
    assert (copy_repo / "model.bin").read_bytes() == data
    assert temps_in(cache_tmp(copy_repo)) == []
    assert porcelain(copy_repo) == ""


def commit_folder(repo: Path) -> Path:
    """A small folder artifact `bert`, added and committed."""
    model = repo / "bert"
    (model / "sub").mkdir(parents=True)
    (model / "sub" / "weights.bin").write_bytes(b"w" * 4096)
    (model / "config.json").write_bytes(b"{}\n")
    gm_ok(repo, "add", "bert")
    git(repo, "commit", "-q", "-m", "bert")
    return model


def test_killed_checkout_of_a_folder_leaves_no_temp_folder(copy_repo: Path) -> None:
    model = commit_folder(copy_repo)
    for path in (model / "sub" / "weights.bin", model / "config.json", model / "sub", model):
        path.unlink() if path.is_file() else path.rmdir()

    killed(copy_repo, "fill-started", "checkout")

    assert porcelain(copy_repo) == ""
    assert sorted(os.listdir(copy_repo)) == [*LISTED, "bert.gitmodel"]
    [temp] = temps_in(cache_tmp(copy_repo))
    assert os.listdir(cache_tmp(copy_repo) / temp) == []  # its first subfolder comes next

    assert gm_ok(copy_repo, "checkout") == (
        "restored bert/config.json\nrestored bert/sub/weights.bin\n"
        "2 restored, 0 already up to date\n"
    )
    assert (model / "sub" / "weights.bin").read_bytes() == b"w" * 4096
    assert temps_in(cache_tmp(copy_repo)) == []
    assert porcelain(copy_repo) == ""


@pytest.fixture
def other_file_system(tmp_path: Path) -> Iterator[Path]:
    """A folder on another file system than `tmp_path` (tmpfs), removed afterwards."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("/dev/shm is not a writable folder here")
    if os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("/dev/shm is on the same file system as the test's temp folder")
    with tempfile.TemporaryDirectory(dir=shm) as folder:
        yield Path(folder)


def test_temps_go_beside_the_target_only_across_file_systems_and_git_ignores_them(
    copy_repo: Path, other_file_system: Path
) -> None:
    """A worktree on another file system than its Git dir and the cache: a rename cannot
    cross, so the temp goes beside its target, under a name info/exclude ignores."""
    data = b"weights\n" * 1000
    (copy_repo / "model.bin").write_bytes(data)
    gm_ok(copy_repo, "add", "model.bin")
    git(copy_repo, "commit", "-q", "-m", "model")
    worktree = other_file_system / "wt"
    git(copy_repo, "worktree", "add", "-q", str(worktree))

    killed(worktree, "copy-done", "checkout")

    [temp] = [name for name in os.listdir(worktree) if name.startswith(".model.bin.")]
    assert temp.startswith(".model.bin.gitmodel-tmp-")
    assert (worktree / temp).read_bytes() == data
    assert porcelain(worktree) == ""
    exclude = (copy_repo / ".git" / "info" / "exclude").read_text()
    assert exclude.endswith("\n.*.gitmodel-tmp-*\n")

    assert gm_ok(worktree, "checkout") == RESTORED
    assert sorted(os.listdir(worktree)) == [*LISTED, "model.bin", "model.bin.gitmodel"]
    assert (worktree / "model.bin").read_bytes() == data
    assert exclude == (copy_repo / ".git" / "info" / "exclude").read_text()  # added once
    git(copy_repo, "worktree", "remove", "--force", str(worktree))


def test_the_temps_of_a_live_process_are_kept(copy_repo: Path) -> None:
    """A temp is removed only once its owner is gone, however old it is."""
    store = ObjectStore(copy_repo / ".git" / "model" / "cache")
    temp = Path(store.new_temp_name())
    temp.write_bytes(b"being written\n")
    os.utime(temp, (0, 0))
    assert gm(copy_repo, "status").returncode == 0
    assert temp.read_bytes() == b"being written\n"
    assert gm(copy_repo, "gc").returncode == 0
    assert temp.exists()

    del store
    gc.collect()  # the store is gone: its owner file is released and removed
    assert gm(copy_repo, "status").returncode == 0
    assert not temp.exists()
    assert os.listdir(cache_tmp(copy_repo)) == []


BIG = ADOPT_MIN_SIZE + 3 * MiB + 17


def assert_own_copy(work: Path, obj: Path, data: bytes) -> None:
    work_st, obj_st = os.lstat(work), os.lstat(obj)
    assert work_st.st_ino != obj_st.st_ino
    assert (work_st.st_nlink, obj_st.st_nlink) == (1, 1)
    assert stat.S_IMODE(obj_st.st_mode) == 0o444
    assert stat.S_IMODE(work_st.st_mode) & 0o200  # writable: the user's own file again
    assert obj.read_bytes() == data
    assert work.read_bytes() == data


def kill_adopt_before_swap(repo: Path, data: bytes) -> Path:
    """A copy-mode add killed after publishing the work file's inode as the object and
    before swapping the fresh copy in: the work file *is* the object."""
    killed(repo, "before-swap", "add", "model.bin")
    obj = object_path(repo, oid_of_bytes(data))
    work_st, obj_st = os.lstat(repo / "model.bin"), os.lstat(obj)
    assert (work_st.st_ino, work_st.st_nlink) == (obj_st.st_ino, 2)
    assert stat.S_IMODE(work_st.st_mode) == 0o444
    return obj


def test_add_repairs_a_work_file_left_as_the_object_by_a_killed_add(copy_repo: Path) -> None:
    data = big_bytes(BIG)
    (copy_repo / "model.bin").write_bytes(data)
    obj = kill_adopt_before_swap(copy_repo, data)

    assert gm_ok(copy_repo, "add", "model.bin") == added(data)
    assert_own_copy(copy_repo / "model.bin", obj, data)
    assert temps_in(cache_tmp(copy_repo)) == []
    assert gm_ok(copy_repo, "status") == UP_TO_DATE


@pytest.mark.parametrize(
    ("command", "output"),
    [
        ("status", "up to date              model.bin\n"),
        ("checkout", "restored model.bin\n1 restored, 0 already up to date\n"),
    ],
)
def test_status_and_checkout_repair_a_work_file_left_as_the_object(
    copy_repo: Path, command: str, output: str
) -> None:
    data = big_bytes(BIG)
    (copy_repo / "model.bin").write_bytes(data)
    gm_ok(copy_repo, "add", "model.bin")
    git(copy_repo, "commit", "-q", "-m", "model")
    stored = object_path(copy_repo, oid_of_bytes(data))
    stored.unlink()  # lost from the cache: the next add stores it again, by adopting
    obj = kill_adopt_before_swap(copy_repo, data)

    assert gm_ok(copy_repo, command) == output
    assert_own_copy(copy_repo / "model.bin", obj, data)
    assert gm_ok(copy_repo, "status") == UP_TO_DATE


def test_add_after_a_kill_during_the_adopt_copy_adopts_again(copy_repo: Path) -> None:
    """Killed while copying: the work file is hard-linked to a temp beside a partial copy.
    The next add removes both, and the file is the user's own again, then adopted."""
    work = copy_repo / "model.bin"
    data = big_bytes(BIG)
    work.write_bytes(data)
    work.chmod(0o640)
    mtime = os.lstat(work).st_mtime_ns
    killed(copy_repo, "adopt-copying", "add", "model.bin")
    assert os.lstat(work).st_nlink == 2
    assert len(temps_in(cache_tmp(copy_repo))) == 2  # the link and the fresh copy

    assert gm_ok(copy_repo, "add", "model.bin") == added(data)
    obj = object_path(copy_repo, oid_of_bytes(data))
    assert_own_copy(work, obj, data)
    assert (stat.S_IMODE(os.lstat(work).st_mode), os.lstat(work).st_mtime_ns) == (0o640, mtime)
    assert temps_in(cache_tmp(copy_repo)) == []


def test_temps_beside_files_of_a_folder_are_swept_across_file_systems(
    copy_repo: Path, other_file_system: Path
) -> None:
    commit_folder(copy_repo)
    worktree = other_file_system / "wt"
    git(copy_repo, "worktree", "add", "-q", str(worktree))

    killed(worktree, "fill-started", "checkout")  # a new folder: filled in a temp folder
    [temp] = [name for name in os.listdir(worktree) if name.startswith(".bert.")]
    assert temp.startswith(".bert.gitmodel-tmp-")
    assert porcelain(worktree) == ""
    assert gm_ok(worktree, "status") == "missing from work tree  bert/\n"
    assert sorted(os.listdir(worktree)) == [*LISTED, "bert.gitmodel"]

    gm_ok(worktree, "checkout")
    (worktree / "bert" / "sub" / "weights.bin").unlink()
    killed(worktree, "copy-done", "checkout")  # one file: its temp goes beside it
    [temp] = os.listdir(worktree / "bert" / "sub")
    assert temp.startswith(".weights.bin.gitmodel-tmp-")
    assert gm_ok(worktree, "status") == "modified                bert/: -sub/weights.bin\n"
    assert os.listdir(worktree / "bert" / "sub") == []
    git(copy_repo, "worktree", "remove", "--force", str(worktree))


@pytest.mark.parametrize(
    ("command", "output"),
    [
        (("add", "big"), "unchanged big: big.gitmodel (67.0 MiB, {oid}…)\n"),
        (("status",), "up to date              big/\n"),
        (("checkout",), "restored big/model.bin\n1 restored, 1 already up to date\n"),
    ],
)
def test_a_folder_file_left_as_the_object_gets_its_own_copy(
    copy_repo: Path, command: tuple[str, ...], output: str
) -> None:
    folder = copy_repo / "big"
    folder.mkdir()
    data = big_bytes(BIG)
    (folder / "model.bin").write_bytes(data)
    (folder / "config.json").write_bytes(b"{}\n")
    gm_ok(copy_repo, "add", "big")
    git(copy_repo, "commit", "-q", "-m", "big")
    obj = object_path(copy_repo, oid_of_bytes(data))
    obj.unlink()  # lost from the cache: the next add stores it again, by adopting
    os.utime(folder / "model.bin")  # changed in the stat cache's eyes: hashed again
    killed(copy_repo, "before-swap", "add", "big")
    assert os.lstat(folder / "model.bin").st_ino == os.lstat(obj).st_ino

    pointer = (copy_repo / "big.gitmodel").read_text()
    manifest = pointer.split('oid = "', 1)[1][:19]
    assert gm_ok(copy_repo, *command) == output.format(oid=manifest)
    assert_own_copy(folder / "model.bin", obj, data)
    assert gm_ok(copy_repo, "status") == "up to date              big/\n"
