"""A collaborator's commit must never make git-model write into Git's own folders, the cache,
or among the files Git tracks (docs/pointer-format.md, sections 1, 3.3 and 7.1).

Each route is driven through the real command line against real repositories: pointers and
folder manifests are written as a hostile collaborator would write them by hand, and their
objects are put in the cache (or pushed to a shared model remote) like any other.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import xxhash

from tests.helpers import git, gm, gm_ok, object_path

HOOK = b"#!/bin/sh\necho pwned > pwned.txt\n"
FSMONITOR = b"[core]\n\tfsmonitor = echo pwned > pwned.txt\n"
HINT_GIT = (
    "(no pointer git-model writes names one: this was edited by hand or by a hostile commit "
    "(see who changed it: git log -p -- <pointer>))"
)
INTO_GIT = "leads into a Git folder (.git, in a spelling Git refuses); git-model never writes there"
# Spellings of `.git` that some file system opens as `.git` and Git refuses to check out.
GIT_SPELLINGS = [
    ".GIT",  # case-insensitive file systems (macOS, Windows)
    ".git.",  # Windows drops trailing dots ...
    ".Git .",  # ... and spaces
    "git~1",  # the NTFS 8.3 short name of .git
    ".git::$INDEX_ALLOCATION",  # an NTFS alternate data stream of the folder
    ".g\u200cit",  # HFS+ ignores ZERO WIDTH NON-JOINER
    "\ufeff.git",  # ... and ZERO WIDTH NO-BREAK SPACE
]


# --- building what a hostile collaborator commits ------------------------------------------


def put_object(repo: Path, data: bytes) -> str:
    """Store `data` in the repository's cache as an object, the way `git model add` would."""
    oid = "xxh128:" + xxhash.xxh3_128_hexdigest(data)
    path = object_path(repo, oid)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(data)
        path.chmod(0o444)
    return oid


def put_manifest(repo: Path, files: dict[str, bytes]) -> tuple[str, int]:
    """A folder manifest listing `files` (relative path -> bytes; `HOOK` is executable), and
    every object it names, in the cache; returns its oid and the folder's size."""
    entries = [
        {
            "mode": "755" if data == HOOK else "644",
            "oid": put_object(repo, data),
            "path": rel,
            "size": len(data),
        }
        for rel, data in sorted(files.items())
    ]
    doc = {"files": entries, "kind": "dir", "version": 1}
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return put_object(repo, raw), sum(len(data) for data in files.values())


def write_pointer(pointer_file: Path, path: str, oid: str, size: int, kind: str) -> None:
    # json.dumps writes a TOML basic string too: same quotes, same \uXXXX escapes
    pointer_file.write_text(
        f'version = 1\nname = "evil"\npath = {json.dumps(path)}\noid = "{oid}"\n'
        f'size = {size}\nkind = "{kind}"\n'
    )


def hostile_folder(repo: Path, pointer_name: str, path: str, files: dict[str, bytes]) -> Path:
    oid, size = put_manifest(repo, files)
    pointer_file = repo / pointer_name
    write_pointer(pointer_file, path, oid, size, "dir")
    return pointer_file


def hostile_file(repo: Path, pointer_name: str, path: str, data: bytes) -> Path:
    pointer_file = repo / pointer_name
    write_pointer(pointer_file, path, put_object(repo, data), len(data), "file")
    return pointer_file


def cache_objects(repo: Path) -> list[str]:
    root = repo / ".git" / "model" / "cache" / "objects"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def location_error(pointer_file: Path, path: str, resolved: str, where: str) -> str:
    """The error for an artifact at top level whose location resolves into (or holds) the
    Git folder or the cache."""
    return (
        f"error: {pointer_file}: path {path!r} resolves to {resolved}, {where}; git-model "
        "never places artifacts there (a symlink on the way (or `git config model.cache`) "
        f"leads there; remove the symlink (see who committed it: git log -- {path}) or move "
        "the cache)\n"
    )


def git_error(pointer_file: Path, path: str) -> str:
    return f"error: {pointer_file}: path {path!r} {INTO_GIT} {HINT_GIT}\n"


# --- a victim's clone that pulls from a collaborator -------------------------------------------


@dataclass(frozen=True)
class Team:
    attacker: Path
    victim: Path


@pytest.fixture
def team(tmp_path: Path) -> Team:
    """Two clones of one origin sharing a folder model remote; the victim has installed
    git-model's hooks, as the getting-started guide says."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    attacker, victim = tmp_path / "attacker", tmp_path / "victim"
    git(tmp_path, "clone", "-q", str(origin), str(attacker))
    (attacker / "README.md").write_text("a project\n")
    git(attacker, "add", "README.md")
    git(attacker, "commit", "-q", "-m", "initial")
    git(attacker, "push", "-q", "origin", "HEAD")
    git(tmp_path, "clone", "-q", str(origin), str(victim))
    (tmp_path / "models").mkdir()
    for clone in (attacker, victim):
        gm_ok(clone, "remote", "add", "origin", str(tmp_path / "models"))
    gm_ok(victim, "install", "-q")
    return Team(attacker, victim)


def push_tools_folder(attacker: Path) -> None:
    """Track a folder `tools/` holding an executable `commit-msg`, and push its objects."""
    (attacker / "tools").mkdir()
    (attacker / "tools" / "commit-msg").write_bytes(HOOK)
    (attacker / "tools" / "commit-msg").chmod(0o755)
    gm_ok(attacker, "add", "-q", "tools")
    git(attacker, "commit", "-q", "-m", "tools")
    gm_ok(attacker, "push", "-q")


def test_pull_with_hooks_never_writes_a_git_hook(team: Team) -> None:
    """The reproduced attack: `tools.gitmodel` says `path = ".git/hooks"`; the victim's
    `git pull` runs the post-merge hook, which used to write `.git/hooks/commit-msg`."""
    attacker, victim = team.attacker, team.victim
    push_tools_folder(attacker)
    git(attacker, "push", "-q", "origin", "HEAD")
    git(victim, "pull", "-q", "--no-rebase")
    gm_ok(victim, "pull", "-q")  # the objects are in the victim's cache from here on
    assert (victim / "tools" / "commit-msg").read_bytes() == HOOK
    pointer = attacker / "tools.gitmodel"
    pointer.write_text(pointer.read_text().replace('path = "tools"', 'path = ".git/hooks"'))
    git(attacker, "commit", "-q", "-am", "harmless update")
    git(attacker, "push", "-q", "origin", "HEAD")

    pulled = git(victim, "pull", "-q", "--no-rebase")
    assert pulled.returncode == 0
    assert pulled.stderr == (
        f"git-model: warning: tools.gitmodel: {victim / 'tools.gitmodel'}: path '.git/hooks' "
        f"{INTO_GIT} {HINT_GIT}\n"
    )
    assert not (victim / ".git" / "hooks" / "commit-msg").exists()
    git(victim, "commit", "-q", "--allow-empty", "-m", "next commit")
    assert not (victim / "pwned.txt").exists()
    proc = gm(victim, "pull")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == git_error(victim / "tools.gitmodel", ".git/hooks")
    assert not (victim / ".git" / "hooks" / "commit-msg").exists()


def test_pull_refuses_a_committed_symlink_into_git(team: Team) -> None:
    """No `.git` in any text: `tools` is a committed symlink to `.git/hooks`, and the pointer
    names `tools`. The location resolves into the Git folder: refused."""
    attacker, victim = team.attacker, team.victim
    push_tools_folder(attacker)
    for path in sorted((attacker / "tools").rglob("*"), reverse=True):
        path.unlink()
    (attacker / "tools").rmdir()
    (attacker / "tools").symlink_to(".git/hooks")
    git(attacker, "add", "-f", "tools")
    git(attacker, "commit", "-q", "-m", "tools as a link")
    git(attacker, "push", "-q", "origin", "HEAD")

    git(victim, "pull", "-q", "--no-rebase")
    assert not (victim / ".git" / "hooks" / "commit-msg").exists()
    proc = gm(victim, "pull")
    real_git = os.path.realpath(victim / ".git")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == location_error(
        victim / "tools.gitmodel", "tools", f"{real_git}/hooks", f"inside the Git folder {real_git}"
    )
    assert not (victim / ".git" / "hooks" / "commit-msg").exists()


# --- routes in one repository --------------------------------------------------------------


def test_pointer_naming_the_git_folder_deletes_nothing(repo: Path) -> None:
    """`path = ".git"` made checkout treat every cache object as an extra file of the
    folder whose bytes were safe, and delete it."""
    pointer = hostile_folder(repo, "evil.gitmodel", ".git", {"weights.bin": b"w" * 100})
    before = cache_objects(repo)
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == git_error(pointer, ".git")
    assert cache_objects(repo) == before
    assert not (repo / ".git" / "weights.bin").exists()


def test_forced_checkout_never_overwrites_git_config(repo: Path) -> None:
    config = (repo / ".git" / "config").read_bytes()
    pointer = hostile_file(repo, "config.gitmodel", ".git/config", FSMONITOR)
    proc = gm(repo, "checkout", "--force")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == git_error(pointer, ".git/config")
    assert (repo / ".git" / "config").read_bytes() == config


def test_manifest_entry_never_makes_an_embedded_repository(repo: Path) -> None:
    hostile_folder(
        repo,
        "models.gitmodel",
        "models",
        {"weights.bin": b"w" * 100, "sub/.git/config": FSMONITOR, "sub/HEAD": b"ref: x\n"},
    )
    manifest_oid = _pointer_oid(repo / "models.gitmodel")
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: folder manifest {manifest_oid}: path 'sub/.git/config' {INTO_GIT} {HINT_GIT}\n"
    )
    assert not os.path.lexists(repo / "models")


def _pointer_oid(pointer_file: Path) -> str:
    line = next(x for x in pointer_file.read_text().splitlines() if x.startswith("oid = "))
    return line.removeprefix('oid = "').removesuffix('"')


@pytest.mark.parametrize("spelling", GIT_SPELLINGS)
def test_pointer_path_spelling_git_is_refused(repo: Path, spelling: str) -> None:
    """Each spelling of `.git` that Git itself refuses on checkout, as a pointer's path
    (the pointer file named after it, as the spec requires)."""
    pointer = hostile_folder(repo, f"{spelling}.gitmodel", spelling, {"commit-msg": HOOK})
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == git_error(pointer, spelling)
    assert not os.path.lexists(repo / spelling)


@pytest.mark.parametrize("spelling", GIT_SPELLINGS)
def test_manifest_path_spelling_git_is_refused(repo: Path, spelling: str) -> None:
    pointer = hostile_folder(repo, "m.gitmodel", "m", {f"sub/{spelling}/config": FSMONITOR})
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: folder manifest {_pointer_oid(pointer)}: path {f'sub/{spelling}/config'!r} "
        f"{INTO_GIT} {HINT_GIT}\n"
    )
    assert not os.path.lexists(repo / "m")


def test_pointer_names_only_its_own_artifact(repo: Path) -> None:
    """`P.gitmodel` names `P`: a pointer that names another path is refused, before any
    file is written."""
    pointer = hostile_file(repo, "model.bin.gitmodel", "README.md", b"replaced\n")
    proc = gm(repo, "checkout", "--force")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: {pointer}: path 'README.md' is not this pointer's own artifact 'model.bin' "
        "(the pointer for P is P.gitmodel, beside P) (restore it with `git checkout -- "
        "<pointer>` or re-run `git model add`; the format is in docs/pointer-format.md)\n"
    )
    assert (repo / "README.md").read_text() == "test repo\n"


def test_folder_artifact_never_slips_files_among_tracked_ones(repo: Path) -> None:
    """`tests.gitmodel` names the tracked folder `tests/` and lists its test file plus an
    untracked `conftest.py`, which pytest would run."""
    test_file = b"def test_ok():\n    pass\n"
    (repo / "tests").mkdir()
    (repo / "tests" / "test_ok.py").write_bytes(test_file)
    git(repo, "add", "tests")
    git(repo, "commit", "-q", "-m", "tests")
    files = {"test_ok.py": test_file, "conftest.py": b"import os\nos.system('echo pwned')\n"}
    pointer = hostile_folder(repo, "tests.gitmodel", "tests", files)
    git(repo, "add", "tests.gitmodel")
    git(repo, "commit", "-q", "-m", "cache the tests")
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: tests.gitmodel: artifact tests overlaps tests/test_ok.py, which Git tracks; "
        "git-model never writes over or among tracked files (if the pointer is yours, untrack "
        "the path (git rm -r --cached tests) and add it again; else see who committed it: "
        "git log -p -- tests.gitmodel)\n"
    )
    assert sorted(p.name for p in (repo / "tests").iterdir()) == ["test_ok.py"]
    assert pointer.is_file()


def test_file_artifact_never_replaces_a_tracked_file(repo: Path) -> None:
    hostile_file(repo, "README.md.gitmodel", "README.md", b"replaced\n")
    proc = gm(repo, "checkout", "--force")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.startswith(
        "error: README.md.gitmodel: artifact README.md overlaps README.md, which Git tracks;"
    )
    assert (repo / "README.md").read_text() == "test repo\n"


def test_version_checkout_reads_the_rules_from_history(repo: Path) -> None:
    """A pointer read from a tagged commit (not the work tree) obeys the same rules: one
    whose path enters `.git` is no version of the model, and nothing is written."""
    (repo / "m.bin").write_bytes(b"weights")
    gm_ok(repo, "add", "-q", "m.bin", "--name", "m")
    git(repo, "commit", "-q", "-m", "m")
    config = (repo / ".git" / "config").read_bytes()
    oid = put_object(repo, FSMONITOR)
    write_pointer(repo / "m.bin.gitmodel", ".git/config", oid, len(FSMONITOR), "file")
    pointer = (repo / "m.bin.gitmodel").read_text().replace('name = "evil"', 'name = "m"')
    (repo / "m.bin.gitmodel").write_text(pointer)
    git(repo, "commit", "-q", "-am", "m v1")
    git(repo, "tag", "-a", "m@v1.0.0", "-m", "m v1.0.0")
    commit = git(repo, "rev-parse", "HEAD").stdout[:12]
    proc = gm(repo, "checkout", "--force", "m@v1.0.0")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: m@v1.0.0 points at {commit}, which has no pointer for m (the tag was made on "
        "the wrong commit; delete and recreate it)\n"
    )
    assert (repo / ".git" / "config").read_bytes() == config


# --- git model add --------------------------------------------------------------------------


def test_add_refuses_a_folder_holding_the_cache(repo: Path) -> None:
    git(repo, "config", "model.cache", "models/cache")
    (repo / "a.bin").write_bytes(b"a" * 10)
    gm_ok(repo, "add", "-q", "a.bin")  # the cache is made at models/cache
    cache = os.path.realpath(repo / "models" / "cache")
    (repo / "b.bin").write_bytes(b"b" * 10)
    proc = gm(repo, "add", "b.bin", "models")  # every path is checked before any is stored
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == location_error(
        repo / "models.gitmodel",
        "models",
        os.path.realpath(repo / "models"),
        f"which holds the git-model cache {cache}",
    )
    assert not (repo / "models.gitmodel").exists()
    assert not (repo / "b.bin.gitmodel").exists()


@pytest.mark.parametrize("spelling", [".git", ".GIT", "git~1"])
def test_add_refuses_a_path_in_a_git_folder(repo: Path, spelling: str) -> None:
    (repo / spelling).mkdir(exist_ok=True)
    (repo / spelling / "m.bin").write_bytes(b"m")
    proc = gm(repo, "add", f"{spelling}/m.bin")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        f"error: cannot add {spelling}/m.bin: it is the repository itself or inside .git "
        "(name a model file or folder inside the work tree)\n"
    )


def test_add_skips_a_nested_git_folder_and_says_so(repo: Path, tmp_path: Path) -> None:
    """A model folder cloned with Git (as from the Hugging Face Hub) keeps its `.git`: the
    artifact is the model's files only, and checkout elsewhere makes no embedded repository."""
    model = repo / "bert"
    model.mkdir()
    git(model, "init", "-q")
    (model / "config.json").write_text("{}\n")
    (model / "sub").mkdir()
    (model / "sub" / ".git").write_text("gitdir: /nowhere\n")  # a submodule's link file
    (model / "sub" / "weights.bin").write_bytes(b"w" * 64)
    proc = gm(repo, "add", "bert")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (
        "warning: skipped bert/.git, bert/sub/.git: a nested Git repository's own folder is "
        "not stored (docs/commands/add.md)\n"
    )
    manifest = json.loads(object_path(repo, _pointer_oid(repo / "bert.gitmodel")).read_bytes())
    assert [f["path"] for f in manifest["files"]] == ["config.json", "sub/weights.bin"]
    assert gm_ok(repo, "status", "bert").startswith("up to date")
    git(repo, "commit", "-q", "-m", "bert")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "config", "model.cache", str(repo / ".git" / "model" / "cache"))
    gm_ok(clone, "checkout")
    assert sorted(str(p.relative_to(clone / "bert")) for p in (clone / "bert").rglob("*")) == [
        "config.json",
        "sub",
        "sub/weights.bin",
    ]


def test_checkout_never_deletes_a_nested_git_folder_without_force(repo: Path) -> None:
    """A folder holding a nested repository stands where a file artifact goes: its `.git`
    counts as unsaved changes, as any file not in the cache would."""
    (repo / "m").write_bytes(b"weights")
    gm_ok(repo, "add", "-q", "m")
    (repo / "m").unlink()
    (repo / "m").mkdir()
    git(repo / "m", "init", "-q")
    proc = gm(repo, "checkout")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: checkout would overwrite changes not saved in the cache: m/.git (save them "
        "with `git model add`, or discard them with --force)\n"
    )
    assert (repo / "m" / ".git" / "HEAD").is_file()


def test_names_near_git_stay_ordinary(repo: Path) -> None:
    """Only what Git refuses is refused: `.gitignore`, `.github`, `x.git` and `git~2` are
    ordinary names, in a pointer's path and in a folder artifact."""
    for rel in ("x.git", "git~2/m.bin", ".github/w.bin"):  # model names x, m, w: all distinct
        (repo / rel).parent.mkdir(exist_ok=True)
        (repo / rel).write_bytes(rel.encode())
    model = repo / "bert"
    (model / ".github").mkdir(parents=True)
    for rel in (".gitignore", ".gitattributes", ".github/workflow.yml", "model.bin"):
        (model / rel).write_text(rel)
    proc = gm(repo, "add", "x.git", "git~2/m.bin", ".github/w.bin", "bert")
    assert (proc.returncode, proc.stderr) == (0, "")
    manifest = json.loads(object_path(repo, _pointer_oid(repo / "bert.gitmodel")).read_bytes())
    assert [f["path"] for f in manifest["files"]] == [
        ".gitattributes",
        ".github/workflow.yml",
        ".gitignore",
        "model.bin",
    ]
    for rel in ("x.git", "git~2/m.bin", ".github/w.bin"):
        (repo / rel).unlink()
    shutil.rmtree(repo / "bert")
    gm_ok(repo, "checkout")
    assert (repo / "git~2" / "m.bin").read_bytes() == b"git~2/m.bin"
    assert (repo / "bert" / ".gitignore").read_text() == ".gitignore"
