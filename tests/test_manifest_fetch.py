"""Metadata without weights: `git model fetch --manifests-only` brings only folder and tensor
manifests, and `git model diff --fetch-manifests` fetches them itself, only from a remote in Git
config, never from one that the commits being diffed define in .gitmodel.toml. Against a folder
remote and a real S3 endpoint (moto's server)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import git, gm, gm_ok, isolate_environment, write_safetensors

FILE_POINTER, FOLDER_POINTER = "model.safetensors.gitmodel", "clf.gitmodel"


def train(repo: Path, head: int, emb: int, labels: str) -> None:
    """The file model `sentiment` (three tensors) and the folder model `clf`."""
    write_safetensors(
        repo / "model.safetensors",
        {"enc.b": ("F32", [4], 2), "enc.w": ("F32", [4, 4], 1), "head.w": ("F32", [2, 4], head)},
    )
    write_safetensors(repo / "clf" / "model.safetensors", {"emb": ("F16", [2, 2], emb)})
    write_safetensors(repo / "clf" / "out.safetensors", {"out": ("F16", [2], 9)})
    (repo / "clf" / "config.json").write_text(labels)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """work/: tag A, then tag B (head.w of the file and emb of the folder retrained, the
    folder's config changed); its cache holds every object."""
    root = tmp_path_factory.mktemp("template")
    work = root / "work"
    with pytest.MonkeyPatch.context() as mp:
        isolate_environment(mp, tmp_path_factory.mktemp("template-home"))
        work.mkdir()
        git(work, "init", "-q")
        train(work, head=3, emb=7, labels='["neg", "pos"]\n')
        gm_ok(work, "add", "-q", "model.safetensors", "--name", "sentiment", "--metric", "acc=0.9")
        gm_ok(work, "add", "-q", "clf")
        git(work, "commit", "-q", "-m", "A")
        git(work, "tag", "A")
        train(work, head=4, emb=8, labels='["neg", "neutral", "pos"]\n')
        gm_ok(work, "add", "-q", "model.safetensors", "--metric", "acc=0.92")
        gm_ok(work, "add", "-q", "clf")
        git(work, "commit", "-q", "-m", "B")
        git(work, "tag", "B")
    yield root


@dataclass
class Remote:
    url: str
    endpoint: str | None

    def add(self, repo: Path, name: str = "origin") -> None:
        git(repo, "config", f"model.remote.{name}.url", self.url)
        if self.endpoint:
            git(repo, "config", f"model.remote.{name}.endpointUrl", self.endpoint)

    @property
    def label(self) -> str:
        return f"origin ({self.url})"


def folder_remote(tmp_path: Path) -> Remote:
    (tmp_path / "share").mkdir()
    return Remote(str(tmp_path / "share"), None)


@pytest.fixture(params=["folder", "s3"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Remote:
    """An empty model remote: a folder, or a fresh bucket on the local S3 server."""
    if request.param == "folder":
        return folder_remote(tmp_path)
    import boto3

    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"gm-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return Remote(f"s3://{bucket}/models", endpoint)


@dataclass
class World:
    work: Path
    tmp: Path

    def clone(self, name: str = "ci") -> Path:
        """A fresh clone: Git history and tags, an empty cache, no model remote."""
        git(self.tmp, "clone", "-q", str(self.work), name)
        return self.tmp / name


@pytest.fixture
def world(template: Path, tmp_path: Path) -> World:
    shutil.copytree(template, tmp_path, symlinks=True, dirs_exist_ok=True)
    return World(tmp_path / "work", tmp_path)


def pushed(world: World, remote: Remote, *revs: str) -> None:
    remote.add(world.work)
    for rev in revs:
        gm_ok(world.work, "push", "-q", "--rev", rev)


# --- what the pointers name, read from Git and the writer's cache, not through git-model -------


def pointer(repo: Path, rev: str, path: str) -> dict[str, Any]:
    return tomllib.loads(git(repo, "show", f"{rev}:{path}").stdout)


def cache_object(repo: Path, oid: str) -> Path:
    digits = oid.removeprefix("xxh128:")
    return repo / ".git" / "model" / "cache" / "objects" / digits[:2] / digits[2:]


def cached(repo: Path) -> set[str]:
    objects = repo / ".git" / "model" / "cache" / "objects"
    return {f"xxh128:{p.parent.name}{p.name}" for p in objects.glob("??/*") if len(p.name) == 30}


def metadata_and_weights(work: Path, rev: str) -> tuple[set[str], set[str]]:
    """(manifest oids, weight oids) of both models at REV."""
    file = pointer(work, rev, FILE_POINTER)
    folder = pointer(work, rev, FOLDER_POINTER)
    manifests, weights = {file["format"]["manifest"], folder["oid"]}, {file["oid"]}
    listing = json.loads(cache_object(work, folder["oid"]).read_bytes())
    for entry in listing["files"]:
        weights.add(entry["oid"])
        if "tensors" in entry:
            manifests.add(entry["tensors"])
    return manifests, weights


def size_of(work: Path, oids: set[str]) -> str:
    total = sum(cache_object(work, oid).stat().st_size for oid in oids)
    return f"{total / 1024:.1f} KiB" if total >= 1024 else f"{total} B"


def short(oid: str) -> str:
    return oid[:19]


def diff_text(work: Path, tensors: tuple[str, str]) -> str:
    """`git model diff A B`, with the two tensor lines given (file model, folder model)."""
    file_a, file_b = (pointer(work, r, FILE_POINTER) for r in "AB")
    clf_a, clf_b = (pointer(work, r, FOLDER_POINTER) for r in "AB")
    lineage = f"  lineage:  produced from commit none -> {git(work, 'rev-parse', 'A').stdout[:12]}"
    return f"""\
A -> B: 1 improved, 0 regressed, 2 of 2 models changed

clf (modified)
  pointer:  clf.gitmodel
  artifact: {short(clf_a["oid"])} -> {short(clf_b["oid"])} ({clf_a["size"]} B -> {clf_b["size"]} B)
  tensors:  {tensors[1]}
{lineage}

sentiment (modified)
  pointer:  model.safetensors.gitmodel
  artifact: {short(file_a["oid"])} -> {short(file_b["oid"])} (304 B -> 304 B)
  tensors:  {tensors[0]}
{lineage}
  METRIC  OLD  NEW   CHANGE  REL
  acc     0.9  0.92  +0.02   +2.22%  ▲ better
"""


COMPARED = ("1 of 3 tensors changed: head.w", "1 of 2 tensors changed: model.safetensors:emb")


def not_compared(work: Path) -> tuple[str, str]:
    hint = "(fetch it without the weights: git model fetch --manifests-only --rev REV)"
    file_manifest = pointer(work, "A", FILE_POINTER)["format"]["manifest"]
    folder_manifest = pointer(work, "A", FOLDER_POINTER)["oid"]
    return (
        f"not compared: manifest {short(file_manifest)}… is not in the cache {hint}",
        f"not compared: manifest {short(folder_manifest)}… is not in the cache {hint}",
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


# --- fetch --manifests-only -------------------------------------------------------------------


def test_fetch_manifests_only_brings_exactly_the_manifests(world: World, remote: Remote) -> None:
    pushed(world, remote, "A", "B")
    ci = world.clone()
    remote.add(ci)
    assert cached(ci) == set()
    before = gm(ci, "diff", "A", "B")
    assert (before.returncode, before.stderr) == (0, "")
    assert before.stdout == diff_text(world.work, not_compared(world.work))

    manifests_a, weights_a = metadata_and_weights(world.work, "A")
    manifests_b, weights_b = metadata_and_weights(world.work, "B")
    wanted = manifests_a | manifests_b
    # per side the file's tensor manifest, the folder's manifest, a tensor manifest for each
    # of its two safetensors files; out.safetensors is the same on both sides
    assert len(wanted) == 7
    out = gm_ok(ci, "fetch", "--manifests-only", "--rev", "A", "--rev", "B")
    assert out == (
        f"fetched 7 manifest(s) ({size_of(world.work, wanted)}) from {remote.label}; "
        "0 already there\n"
    )
    assert cached(ci) == wanted
    assert not cached(ci) & (weights_a | weights_b)
    assert not list(ci.glob("**/model.safetensors"))  # the work tree got nothing either

    assert gm_ok(ci, "diff", "A", "B") == diff_text(world.work, COMPARED)
    again = gm_ok(ci, "fetch", "--manifests-only", "--rev", "A", "--rev", "B")
    assert again == f"fetched 0 manifest(s) (0 B) from {remote.label}; 7 already there\n"


def test_fetch_manifests_only_of_targets_and_versions(world: World, tmp_path: Path) -> None:
    """Targets and versions select pointers as for a plain fetch: here the work tree's
    folder model only, then a registered version of the file model, then every version."""
    share = folder_remote(tmp_path)
    pushed(world, share, "A", "B")
    gm_ok(world.work, "tag", "-q", "sentiment", "v1.0.0", "--rev", "A")
    ci = world.clone()
    share.add(ci)
    manifests_b, _ = metadata_and_weights(world.work, "B")
    clf_b = pointer(world.work, "B", FOLDER_POINTER)["oid"]
    gm_ok(ci, "fetch", "-q", "--manifests-only", "clf")
    folder_tensors = {o for o in manifests_b if o != clf_b} - {
        pointer(world.work, "B", FILE_POINTER)["format"]["manifest"]
    }
    assert cached(ci) == {clf_b, *folder_tensors}
    gm_ok(ci, "fetch", "-q", "--manifests-only", "sentiment@v1.0.0")
    file_a = pointer(world.work, "A", FILE_POINTER)["format"]["manifest"]
    assert cached(ci) == {clf_b, *folder_tensors, file_a}
    other = world.clone("other")
    share.add(other)
    assert gm_ok(other, "fetch", "--manifests-only", "--all-versions") == (
        f"fetched 1 manifest(s) ({size_of(world.work, {file_a})}) from origin ({share.url}); "
        "0 already there\n"
    )
    assert cached(other) == {file_a}


def test_a_remote_lacking_manifests_fails_in_one_line_and_keeps_the_rest(
    world: World, remote: Remote
) -> None:
    pushed(world, remote, "B")  # nobody pushed A
    ci = world.clone()
    remote.add(ci)
    manifests_b, _ = metadata_and_weights(world.work, "B")
    proc = gm(ci, "fetch", "--manifests-only", "--rev", "A", "--rev", "B")
    assert proc.stdout == ""
    # asked first: A's folder manifest and the file's tensor manifest; reported in oid order
    first = min(
        pointer(world.work, "A", FILE_POINTER)["format"]["manifest"],
        pointer(world.work, "A", FOLDER_POINTER)["oid"],
    )
    assert one_line_error(proc) == (
        f"error: fetch incomplete: {first}: not on remote {remote.label} (and 1 more) "
        "(push it from a clone that has it (git model push, --all-versions for old ones))\n"
    )
    assert cached(ci) == manifests_b  # what arrived is kept

    proc = gm(ci, "diff", "--fetch-manifests", "A", "B")
    assert proc.returncode == 0
    assert proc.stderr == (
        f"warning: manifests not fetched: {first}: not on remote {remote.label} (and 1 more)\n"
    )
    assert proc.stdout == diff_text(world.work, not_compared(world.work))


# --- diff --fetch-manifests -------------------------------------------------------------------


def test_diff_fetches_missing_manifests_from_the_configured_remote(
    world: World, remote: Remote
) -> None:
    pushed(world, remote, "A", "B")
    ci = world.clone()
    remote.add(ci)
    proc = gm(ci, "diff", "--fetch-manifests", "A", "B")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == diff_text(world.work, COMPARED)
    manifests_a, _ = metadata_and_weights(world.work, "A")
    manifests_b, _ = metadata_and_weights(world.work, "B")
    assert cached(ci) == manifests_a | manifests_b


def test_diff_fetch_is_opt_in_by_flag_or_config(world: World, tmp_path: Path) -> None:
    share = folder_remote(tmp_path)
    pushed(world, share, "A", "B")
    ci = world.clone()
    share.add(ci)
    assert gm_ok(ci, "diff", "A", "B") == diff_text(world.work, not_compared(world.work))
    assert cached(ci) == set()  # a configured remote alone changes nothing: diff stays offline
    git(ci, "config", "model.diffFetch", "true")
    assert gm_ok(ci, "diff", "--no-fetch-manifests", "A", "B") == diff_text(
        world.work, not_compared(world.work)
    )
    assert cached(ci) == set()
    report = gm(ci, "report", "A", "B", "-o", "report.md")
    assert (report.returncode, report.stdout, report.stderr) == (0, "wrote report.md\n", "")
    text = (ci / "report.md").read_text()
    assert "\n**Tensors:** 1 of 3 tensors changed: head.w\n" in text
    assert "\n**Tensors:** 1 of 2 tensors changed: model.safetensors:emb\n" in text
    assert gm_ok(ci, "diff", "A", "B") == diff_text(world.work, COMPARED)


def test_diff_fetch_usage_errors(world: World) -> None:
    ci = world.clone()
    assert one_line_error(gm(ci, "diff", "--remote", "origin", "A", "B")) == (
        "error: --remote applies only to --fetch-manifests (add --fetch-manifests, or drop "
        "--remote)\n"
    )
    git(ci, "config", "model.diffFetch", "sometimes")
    assert one_line_error(gm(ci, "diff", "A", "B")) == (
        "error: model.diffFetch is 'sometimes', not a boolean (set it with `git config "
        "model.diffFetch true` (or false))\n"
    )


def test_diff_without_a_reachable_remote_warns_and_still_diffs(
    world: World, tmp_path: Path
) -> None:
    ci = world.clone()
    proc = gm(ci, "diff", "--fetch-manifests", "A", "B")
    assert (proc.returncode, proc.stdout) == (0, diff_text(world.work, not_compared(world.work)))
    assert proc.stderr == (
        "warning: manifests not fetched: no model remote in Git config to fetch manifests from "
        "(add one: git model remote add origin URL (.gitmodel.toml remotes are not used here), "
        "or fetch them yourself: git model fetch --manifests-only --rev REV)\n"
    )
    gone = tmp_path / "unmounted"
    Remote(str(gone), None).add(ci)
    Remote(str(tmp_path), None).add(ci, "other")
    proc = gm(ci, "diff", "--fetch-manifests", "A", "B")
    assert proc.stderr == (
        "warning: manifests not fetched: several model remotes in Git config and no default "
        "(name one: --remote NAME)\n"
    )
    proc = gm(ci, "diff", "--fetch-manifests", "-r", "origin", "A", "B")
    assert (proc.returncode, proc.stdout) == (0, diff_text(world.work, not_compared(world.work)))
    assert proc.stderr.startswith(
        f"warning: manifests not fetched: remote origin ({gone}): the folder does not exist"
    )
    assert proc.stderr.count("\n") == 1
    assert cached(ci) == set()


# --- never a remote that the diffed commits define --------------------------------------------


def committed_remote(world: World, tmp_path: Path) -> Path:
    """A commit on top of B, as a pull request from a fork might make it: .gitmodel.toml names
    a default remote `fork`, a folder that holds every manifest. Returns a clone at it."""
    fork = tmp_path / "fork-store"
    fork.mkdir()
    pushed(world, Remote(str(fork), None), "A", "B")
    (world.work / ".gitmodel.toml").write_text(f'[remotes.fork]\nurl = "{fork}"\ndefault = true\n')
    git(world.work, "add", ".gitmodel.toml")
    git(world.work, "config", "--unset", "model.remote.origin.url")
    git(world.work, "commit", "-q", "-m", "use my storage")
    ci = world.clone()
    git(ci, "config", "model.trustCommittedRemotes", "true")  # even a CI that trusts them
    return ci


def test_diff_never_fetches_from_a_committed_remote(world: World, tmp_path: Path) -> None:
    ci = committed_remote(world, tmp_path)
    untouched = diff_text(world.work, not_compared(world.work))
    for extra in ([], ["-c", "model.defaultRemote=fork"]):
        proc = subprocess.run(
            ["git", *extra, "model", "diff", "--fetch-manifests", "A", "B"],
            cwd=ci,
            capture_output=True,
            text=True,
            env={**os.environ, "GIT_MODEL_TRUST_REMOTES": "1"},
        )
        assert (proc.returncode, proc.stdout) == (0, untouched)
        assert proc.stderr.startswith("warning: manifests not fetched: ")
        assert cached(ci) == set()
    proc = gm(ci, "diff", "--fetch-manifests", "--remote", "fork", "A", "B")
    assert one_line_error(proc) == (
        "error: model remote 'fork' is not in Git config; diff fetches manifests only from "
        "remotes you configured, never from .gitmodel.toml (add it: git model remote add fork "
        "URL, or fetch them yourself: git model fetch --manifests-only --rev REV)\n"
    )
    # A remote of the user's own is used, and only it: it lacks the manifests, the fork's
    # default remote has them, and nothing arrives.
    (tmp_path / "mine").mkdir()
    Remote(str(tmp_path / "mine"), None).add(ci, "mine")
    proc = gm(ci, "diff", "--fetch-manifests", "A", "B")
    assert (proc.returncode, proc.stdout) == (0, untouched)
    assert f"not on remote mine ({tmp_path / 'mine'})" in proc.stderr
    assert cached(ci) == set()
    # The fork's remote really serves them: fetched on the user's explicit word, they are there.
    gm_ok(ci, "fetch", "-q", "--manifests-only", "--remote", "fork", "--rev", "A", "--rev", "B")
    assert gm_ok(ci, "diff", "A", "B") == diff_text(world.work, COMPARED)


def test_a_damaged_cached_manifest_is_noted_not_fatal(world: World, tmp_path: Path) -> None:
    """Looking for what to fetch reads cached folder manifests: a damaged one stays a note."""
    share = folder_remote(tmp_path)
    pushed(world, share, "A", "B")
    ci = world.clone()
    share.add(ci)
    gm_ok(ci, "fetch", "-q", "--manifests-only", "--rev", "A", "--rev", "B")
    damaged = cache_object(ci, pointer(world.work, "A", FOLDER_POINTER)["oid"])
    damaged.chmod(0o644)
    damaged.write_bytes(b"{}")
    proc = gm(ci, "diff", "--fetch-manifests", "A", "B")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert "  tensors:  1 of 3 tensors changed: head.w\n" in proc.stdout
    folder_a = pointer(world.work, "A", FOLDER_POINTER)["oid"]
    assert (
        f"  tensors:  not compared: object {folder_a} is corrupt: {damaged} no longer hashes "
        "to its id\n" in proc.stdout
    )
