"""Request sizes and concurrency of a remote (`model.remote.NAME.jobs`, `.readSize`,
`.multipartThreshold`, `.partSize`; docs/configuration.md, docs/remotes.md): honoured, as the
requests reaching the local S3 server show, and refused with one line when they are not
sizes; and chunks that do not compress go up stored and come back byte for byte."""

from __future__ import annotations

import itertools
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gitmodel.packs.encoding import Encoding, looks_incompressible
from gitmodel.packs.packfile import decode_index
from gitmodel.remotes.config import resolve_remote
from gitmodel.transfer import default_jobs
from tests.helpers import git, gm, gm_ok
from tests.requestlog import Request, request_log
from tests.test_remotes import s3_client  # noqa: F401  (a fixture)

MiB = 1024 * 1024
SIZE = 12 * MiB  # one pack of about 12 MiB


def random_bytes(size: int, seed: int = 15) -> bytes:
    return np.random.default_rng(seed).bytes(size)


def new_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "model.remoteLayout", "packs")  # the tests' default is loose
    return path


def committed_model(tmp_path: Path, data: bytes) -> Path:
    """A repository whose commit (pushed to the Git remote `origin.git`) tracks `model.bin`."""
    repo = new_repo(tmp_path / "work")
    git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    (repo / "model.bin").write_bytes(data)
    gm_ok(repo, "add", "-q", "model.bin")
    git(repo, "commit", "-q", "-m", "a model")
    git(repo, "push", "-q", "origin", "main")
    return repo


def add_remote(repo: Path, url: str, endpoint: str, **settings: str) -> None:
    git(repo, "config", "model.remote.origin.url", url)
    git(repo, "config", "model.defaultRemote", "origin")
    git(repo, "config", "model.remote.origin.endpointUrl", endpoint)
    for key, value in settings.items():
        git(repo, "config", f"model.remote.origin.{key}", value)


@pytest.fixture
def bucket(s3_client: Any) -> str:  # noqa: F811
    name = f"gm-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


def pack_requests(requests: list[Request], method: str) -> list[Request]:
    return [r for r in requests if r.method == method and r.path.endswith(".pack")]


def test_s3_requests_follow_the_remote_settings(
    tmp_path: Path,
    s3_endpoint: str,
    s3_client: Any,  # noqa: F811
    bucket: str,
) -> None:
    """A pack goes up in one PUT by default and in parts of `partSize` above
    `multipartThreshold`; a pull reads a pack in one GET by default and in ranges of at most
    `readSize` when set; the bytes pulled are the bytes pushed either way."""
    data = random_bytes(SIZE)
    port = int(s3_endpoint.rsplit(":", 1)[1])
    repo = committed_model(tmp_path, data)

    with request_log(port) as log:  # defaults: one PUT for the pack
        add_remote(repo, f"s3://{bucket}/one", log.endpoint)
        gm_ok(repo, "push", "-q")
        (put,) = pack_requests(log.requests, "PUT")
        assert "uploadId" not in put.target and pack_requests(log.requests, "POST") == []
        pack_key = put.path.split("/", 2)[2]
        pack_size = s3_client.head_object(Bucket=bucket, Key=pack_key)["ContentLength"]
        assert SIZE < pack_size < SIZE + MiB  # stored: random bytes do not compress

    with request_log(port) as log:  # parts of 5 MiB above a threshold of 5 MiB
        add_remote(
            repo, f"s3://{bucket}/parts", log.endpoint, multipartThreshold="5m", partSize="5m"
        )
        gm_ok(repo, "push", "-q")
        parts = pack_requests(log.requests, "PUT")
        assert [p.target.split("partNumber=")[1].split("&")[0] for p in parts] == ["1", "2", "3"]
        started, completed = pack_requests(log.requests, "POST")
        assert started.target.endswith("?uploads") and "uploadId=" in completed.target

    for name, settings in [("whole", {}), ("ranges", {"readSize": "4m"})]:
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(clone))
        git(clone, "config", "model.remoteLayout", "packs")
        with request_log(port) as log:
            add_remote(clone, f"s3://{bucket}/one", log.endpoint, **settings)
            gm_ok(clone, "pull", "-q")
            # the index check reads the pack's last 16 bytes; the entries come in the others
            reads = [r.range for r in pack_requests(log.requests, "GET") if r.range]
            entries = sorted(r for r in reads if r != (pack_size - 16, pack_size - 1))
        assert (clone / "model.bin").read_bytes() == data
        if not settings:  # every entry, after the magic and before the count and checksum
            assert entries == [(8, pack_size - 24 - 1)]
            continue
        # a little over 12 MiB of entries, in reads of at most 4 MiB, one after another
        assert len(entries) == 4 and all(last - first + 1 <= 4 * MiB for first, last in entries)
        assert entries[0][0] == 8 and entries[-1][1] == pack_size - 24 - 1
        assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(entries))


@pytest.mark.parametrize(
    ("key", "value", "wanted"),
    [
        ("readSize", "16q", "a size at least 64k"),
        ("readSize", "1k", "a size at least 64k"),
        ("multipartThreshold", "1m", "a size at least 5m"),
        ("partSize", "4m", "a size at least 5m and at most 5g"),
        ("partSize", "6g", "a size at least 5m and at most 5g"),
        ("jobs", "0", "a number from 1 to 256"),
        ("jobs", "many", "a number from 1 to 256"),
    ],
)
def test_a_bad_setting_is_refused_with_one_line_before_any_request(
    tmp_path: Path, key: str, value: str, wanted: str
) -> None:
    repo = new_repo(tmp_path / "work")
    folder = tmp_path / "share"
    folder.mkdir()
    git(repo, "config", "model.remote.origin.url", str(folder))
    git(repo, "config", f"model.remote.origin.{key}", value)
    (repo / "model.bin").write_bytes(b"weights" * 1000)
    gm_ok(repo, "add", "-q", "model.bin")
    for command in ("push", "pull"):
        proc = gm(repo, command)
        assert (proc.returncode, proc.stdout) == (1, "")
        assert proc.stderr == (
            f"error: model.remote.origin.{key} is {value!r}, not {wanted} (fix it: git config "
            f"model.remote.origin.{key} VALUE (sizes take k, m or g, e.g. 16m), or remove it: "
            f"git config --unset model.remote.origin.{key})\n"
        )
    assert list(folder.iterdir()) == []  # nothing was sent


def test_jobs_is_the_default_of_every_transfer_with_that_remote(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "work")
    git(repo, "config", "model.remote.origin.url", str(tmp_path / "share"))
    from gitmodel.git import GitRepo

    per_core = min(32, 4 * (os.cpu_count() or 2))
    assert default_jobs(resolve_remote(GitRepo.discover(repo), None)) == per_core
    git(repo, "config", "model.remote.origin.jobs", "3")
    assert default_jobs(resolve_remote(GitRepo.discover(repo), None)) == 3


def test_incompressible_chunks_are_stored_as_is_and_round_trip(tmp_path: Path) -> None:
    """Random bytes skip zstd (stored, encoding 0); zeros and F16 weights still compress."""
    weights = np.random.default_rng(3).normal(0, 0.02, 300_000).astype(np.float16).tobytes()
    noise = random_bytes(2 * MiB, seed=4)
    assert looks_incompressible(noise[: 256 * 1024], 1)
    assert not looks_incompressible(weights[: 256 * 1024], 2)
    assert not looks_incompressible(weights[: 256 * 1024], 1)
    assert not looks_incompressible(bytes(256 * 1024), 1)
    data = noise + bytes(MiB) + weights
    repo = committed_model(tmp_path, data)
    folder = tmp_path / "share"
    folder.mkdir()
    git(repo, "config", "model.remote.origin.url", str(folder))
    gm_ok(repo, "push", "-q")

    (index,) = folder.glob("packs/*.idx")
    records = decode_index(index.read_bytes(), index, index.name).records
    encodings = {r.encoding for r in records}
    assert encodings == {Encoding.STORED, Encoding.PLANES_ZSTD}
    stored = sum(r.size for r in records if r.encoding == Encoding.STORED)
    assert len(noise) - 256 * 1024 <= stored  # the noise, give or take a chunk at its end
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(clone))
    git(clone, "config", "model.remote.origin.url", str(folder))
    git(clone, "config", "model.remoteLayout", "packs")
    gm_ok(clone, "pull", "-q")
    assert (clone / "model.bin").read_bytes() == data
