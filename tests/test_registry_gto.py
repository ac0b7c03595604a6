"""GTO and git-model read one registry alike: back-to-back stage changes within one second,
and deprecation (`NAME@deprecated`), checked against the real `gto`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import git, gm, gm_ok, register_versions

T0 = 1_699_999_200  # 2023-11-14 22:00:00 UTC
MODEL = "models/sentiment.safetensors"
GTO = Path(sys.executable).parent / "gto"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every commit and tag of the test made at the same second, as a fast script makes them."""
    monkeypatch.setenv("GIT_AUTHOR_DATE", f"@{T0} +0000")
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"@{T0} +0000")


@pytest.fixture
def three(repo: Path, frozen: None) -> Path:
    """sentiment v0.1.0, v0.1.1, v0.1.2 (HEAD), registered within one second."""
    register_versions(repo, MODEL, "sentiment", 3)
    return repo


def run_gto(repo: Path, *args: str) -> object:
    if not GTO.exists():
        pytest.skip(f"the gto executable is not installed next to {sys.executable}")
    proc = subprocess.run([str(GTO), *args], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def assert_gto_agrees(repo: Path) -> dict[str, str]:
    """GTO's current stages and versions equal git-model's; returns the stages."""
    theirs = run_gto(repo, "show", "--json")
    assert isinstance(theirs, dict)
    ours = {row["name"]: row for row in json.loads(gm_ok(repo, "ls", "--json"))}
    assert sorted(theirs) == sorted(ours) == ["sentiment"]
    gto_stages = {s: v for s, v in theirs["sentiment"]["stage"].items() if v is not None}
    assert gto_stages == ours["sentiment"]["stages"]
    per_version = run_gto(repo, "show", "sentiment", "--json")
    assert isinstance(per_version, list)
    mine = json.loads(gm_ok(repo, "versions", "sentiment", "--json"))
    assert sorted((v["version"], sorted(s["stage"] for s in v["stages"])) for v in per_version) == [
        (r["version"], r["stages"]) for r in mine
    ]
    stages: dict[str, str] = ours["sentiment"]["stages"]
    return stages


def tagger_times(repo: Path) -> list[tuple[str, int]]:
    out = git(repo, "for-each-ref", "--format=%(refname:short) %(taggerdate:unix)", "refs/tags")
    return [(name, int(when)) for name, when in (line.split() for line in out.stdout.splitlines())]


def test_back_to_back_promotes_demotes_and_rollbacks_agree_with_gto(three: Path) -> None:
    repo = three
    for last in ("v0.1.2", "v0.1.0", "v0.1.1", "v0.1.0"):  # counters past 9: GTO's name
        for version in ("v0.1.0", "v0.1.1", "v0.1.2", last):  # order puts #10 before #9
            gm_ok(repo, "promote", f"sentiment@{version}", "production")
        assert assert_gto_agrees(repo) == {"production": last}
    assert (
        gm_ok(repo, "demote", "sentiment", "production")
        .splitlines()[1]
        .startswith("sentiment production now falls back to v0.1.2")
    )
    assert assert_gto_agrees(repo) == {"production": "v0.1.2"}
    gm_ok(repo, "promote", "sentiment@v0.1.0", "staging")
    gm_ok(repo, "rollback", "sentiment", "--stage", "production")
    assert assert_gto_agrees(repo) == {"production": "v0.1.1", "staging": "v0.1.0"}
    gm_ok(repo, "rollback", "sentiment", "--to", "v0.1.2", "--stage", "staging")
    assert assert_gto_agrees(repo) == {"production": "v0.1.1", "staging": "v0.1.2"}
    # each registry tag is a second later than the one before it, in the order they were made
    times = tagger_times(repo)
    stage_tags = sorted(
        ((int(name.rsplit("#", 1)[1]), when) for name, when in times if "#" in name),
    )
    assert [when for _, when in stage_tags] == list(range(T0 + 3, T0 + 3 + len(stage_tags)))
    assert [when for name, when in times if "@" in name] == [T0, T0 + 1, T0 + 2]


def test_a_clock_ahead_of_the_registry_is_used_as_it_is(
    three: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gm_ok(three, "promote", "sentiment@v0.1.0", "production")
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"@{T0 + 3600} +0200")
    gm_ok(three, "promote", "sentiment@v0.1.1", "production")
    out = git(three, "tag", "-l", "--format=%(taggerdate:raw)", "sentiment#production#*")
    assert out.stdout.splitlines() == [f"{T0 + 3} +0000", f"{T0 + 3600} +0200"]


# --- deprecation ----------------------------------------------------------------------------


def test_deprecate_hides_the_model_as_gto_does(three: Path) -> None:
    repo = three
    gm_ok(repo, "promote", "sentiment@v0.1.1", "production")
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    v011 = git(repo, "rev-parse", "sentiment@v0.1.1^{commit}").stdout.strip()
    assert gm_ok(repo, "deprecate", "sentiment").splitlines() == [
        f"deprecated sentiment: tag sentiment@deprecated at {v011[:12]}",
        "share it: git push origin sentiment@deprecated",
    ]
    assert git(repo, "cat-file", "-t", "sentiment@deprecated").stdout == "tag\n"
    assert run_gto(repo, "show", "--json") == {}
    assert run_gto(repo, "show", "sentiment", "--json") == []
    assert json.loads(gm_ok(repo, "ls", "--json")) == []
    assert gm_ok(repo, "ls") == "1 deprecated model(s) at HEAD; list them with --deprecated\n"
    rows = json.loads(gm_ok(repo, "ls", "--deprecated", "--json"))
    assert [(r["name"], r["stages"], r["deprecated"]) for r in rows] == [
        ("sentiment", {"production": "v0.1.1"}, True)
    ]
    assert (
        gm_ok(repo, "ls", "--deprecated")
        .splitlines()[1]
        .startswith("sentiment (deprecated)  v0.1.2  v0.1.2  production=v0.1.1")
    )
    proc = gm(repo, "versions", "sentiment")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: sentiment is deprecated (sentiment@deprecated, 2023-11-14 22:00) "
        "(list its versions anyway with `git model versions sentiment --deprecated`)\n"
    )
    listed = json.loads(gm_ok(repo, "versions", "sentiment", "--deprecated", "--json"))
    assert [r["version"] for r in listed] == ["v0.1.0", "v0.1.1", "v0.1.2"]
    shown = gm_ok(repo, "show", "sentiment")
    assert "\ndeprecated: sentiment@deprecated (2023-11-14 22:00)\n" in shown
    assert json.loads(gm_ok(repo, "show", "sentiment", "--json"))["deprecated"] == (
        "sentiment@deprecated"
    )
    # stages still resolve: what is deployed keeps working
    assert gm_ok(repo, "checkout", "sentiment#production") != ""
    proc = gm(repo, "deprecate", "sentiment")
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: sentiment is deprecated already (sentiment@deprecated, 2023-11-14 22:00) "
        "(a new version or stage assignment revives it, e.g. git model tag sentiment)\n"
    )
    assert head == git(repo, "rev-parse", "HEAD").stdout.strip()


def test_a_later_registry_event_revives_a_deprecated_model(three: Path) -> None:
    repo = three
    gm_ok(repo, "deprecate", "sentiment")
    gm_ok(repo, "promote", "sentiment@v0.1.2", "staging")  # within the same second
    assert assert_gto_agrees(repo) == {"staging": "v0.1.2"}
    assert gm_ok(repo, "deprecate", "sentiment", "-m", "retired again").splitlines()[0] == (
        "deprecated sentiment: tag sentiment@deprecated#2 at "
        + git(repo, "rev-parse", "--short=12", "sentiment@v0.1.2^{commit}").stdout.strip()
    )
    message = git(repo, "tag", "-l", "--format=%(contents)", "sentiment@deprecated#2").stdout
    assert message.strip() == "retired again"
    assert run_gto(repo, "show", "--json") == {}
    assert json.loads(gm_ok(repo, "ls", "--json")) == []


def test_a_deprecation_made_by_gto_is_read(three: Path) -> None:
    run_gto(three, "show", "--json")  # skips without gto
    proc = subprocess.run(
        [str(GTO), "deprecate", "sentiment"], cwd=three, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert git(three, "tag", "-l", "sentiment@dep*").stdout == "sentiment@deprecated\n"
    # GTO tagged it in the same second as the last registration: a tie, which GTO reads as
    # still active (the other event wins); git-model must read it the same way
    assert sorted(run_gto(three, "show", "--json")) == sorted(
        r["name"] for r in json.loads(gm_ok(three, "ls", "--json"))
    )


def test_deprecate_refuses_a_model_without_registry_tags(repo: Path) -> None:
    proc = gm(repo, "deprecate", "nomodel")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "error: model 'nomodel' has no registry tags; there is nothing to deprecate "
        "(`git model ls --deprecated` lists the models of the registry)\n"
    )
