"""SemVer parsing, ordering and bumping, and the GTO tag-name convention (pure, no Git)."""

from __future__ import annotations

import itertools

import pytest

from gitmodel.errors import UsageError
from gitmodel.semver import FIRST_VERSION, SemVer
from gitmodel.tagnames import (
    STAGE_NAME_RE,
    StageTag,
    VersionTag,
    parse_tag_name,
    stage_tag_name,
    version_tag_name,
)

# --- SemVer -----------------------------------------------------------------------------------


def test_parse_fields() -> None:
    assert SemVer.parse("v1.2.3") == SemVer(1, 2, 3)
    full = SemVer.parse("v10.20.30-rc.1.x-y+build.5.sha-0a1")
    assert (full.major, full.minor, full.patch) == (10, 20, 30)
    assert full.prerelease == ("rc", "1", "x-y")
    assert full.build == "build.5.sha-0a1"
    assert SemVer.parse("v0.0.0").prerelease == ()
    assert SemVer.parse("v0.0.0").build == ""


@pytest.mark.parametrize(
    "text",
    ["v0.1.0", "v1.2.3", "v1.0.0-rc.1", "v1.0.0-0A.is.legal", "v1.2.3+build.7", "v1.0.0-x.7+b"],
)
def test_str_round_trips(text: str) -> None:
    assert str(SemVer.parse(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1.2.3",  # no leading v
        "V1.2.3",
        "v1.2",
        "v1",
        "v1.2.3.4",
        "v01.2.3",  # leading zeros
        "v1.02.3",
        "v1.2.03",
        "v1.2.3-01",  # numeric pre-release identifiers have no leading zeros
        "v1.2.3-",
        "v1.2.3+",
        "v1.2.3-rc..1",
        "v1.2.3-rc_1",
        "v-1.2.3",
        "vx.y.z",
        "v1.2.3 ",
        " v1.2.3",
        "v1.2.3\n",
        "latest",
    ],
)
def test_invalid_versions_are_refused(text: str) -> None:
    with pytest.raises(UsageError) as info:
        SemVer.parse(text)
    assert info.value.message == f"invalid version {text!r}"
    assert info.value.hint == "versions are SemVer with a leading v, e.g. v1.2.0 or v2.0.0-rc.1"


def test_precedence_example_from_semver_org() -> None:
    # https://semver.org/#spec-item-11, in ascending order
    ordered = [
        "v1.0.0-alpha",
        "v1.0.0-alpha.1",
        "v1.0.0-alpha.beta",
        "v1.0.0-beta",
        "v1.0.0-beta.2",
        "v1.0.0-beta.11",
        "v1.0.0-rc.1",
        "v1.0.0",
    ]
    versions = [SemVer.parse(t) for t in ordered]
    for lower, higher in itertools.pairwise(versions):
        assert lower < higher
        assert higher > lower
        assert not higher < lower
        assert lower != higher
    assert [str(v) for v in sorted(reversed(versions))] == ordered


def test_numeric_fields_compare_as_numbers() -> None:
    ordered = ["v0.9.9", "v0.10.0", "v1.0.0", "v1.9.0", "v1.10.0", "v1.10.2", "v1.10.10", "v2.0.0"]
    shuffled = [ordered[i] for i in (3, 7, 0, 5, 2, 6, 1, 4)]
    assert [str(v) for v in sorted(SemVer.parse(t) for t in shuffled)] == ordered


def test_numeric_identifiers_sort_before_alphanumeric_ones() -> None:
    assert SemVer.parse("v1.0.0-1") < SemVer.parse("v1.0.0-alpha")
    assert SemVer.parse("v1.0.0-99") < SemVer.parse("v1.0.0-0A")
    assert SemVer.parse("v1.0.0-rc.2") < SemVer.parse("v1.0.0-rc.10")
    assert SemVer.parse("v1.0.0-rc.2") < SemVer.parse("v1.0.0-rc.2.1")
    # a pre-release of a higher version is still above every lower release
    assert SemVer.parse("v1.0.1-alpha") > SemVer.parse("v1.0.0")


def test_build_metadata_does_not_change_precedence() -> None:
    a, b = SemVer.parse("v1.0.0+build.1"), SemVer.parse("v1.0.0+build.2")
    assert a == b
    assert not a < b and not b < a
    assert hash(a) == hash(b)
    assert a == SemVer(1, 0, 0)
    assert len({a, b, SemVer(1, 0, 0)}) == 1


def test_comparing_with_other_types() -> None:
    assert SemVer(1, 0, 0) != "v1.0.0"
    with pytest.raises(TypeError):
        _ = SemVer(1, 0, 0) < "v2.0.0"  # type: ignore[operator]


@pytest.mark.parametrize(
    ("start", "part", "expected"),
    [
        ("v1.2.3", "major", "v2.0.0"),
        ("v1.2.3", "minor", "v1.3.0"),
        ("v1.2.3", "patch", "v1.2.4"),
        ("v0.1.0", "patch", "v0.1.1"),
        ("v0.9.0", "minor", "v0.10.0"),
        ("v1.2.3-rc.1", "patch", "v1.2.3"),  # the release of that pre-release
        ("v1.2.3-rc.1", "minor", "v1.3.0"),
        ("v1.2.3-rc.1", "major", "v2.0.0"),
        ("v1.2.3+build.9", "patch", "v1.2.4"),  # build metadata is dropped
    ],
)
def test_bump(start: str, part: str, expected: str) -> None:
    bumped = SemVer.parse(start).bump(part)
    assert str(bumped) == expected
    assert bumped > SemVer.parse(start)


def test_unknown_bump_is_refused() -> None:
    with pytest.raises(UsageError) as info:
        SemVer(1, 0, 0).bump("huge")
    assert info.value.message == "unknown bump 'huge'"
    assert info.value.hint == "use --bump major, minor or patch"


def test_first_version() -> None:
    assert FIRST_VERSION == "v0.1.0"
    assert SemVer.parse(FIRST_VERSION) == SemVer(0, 1, 0)


# --- tag names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("sentiment@v0.1.0", VersionTag("sentiment", SemVer(0, 1, 0))),
        ("sentiment@v1.2.3!", VersionTag("sentiment", SemVer(1, 2, 3), deregister=True)),
        (
            "sentiment@v2.0.0-rc.1",
            VersionTag("sentiment", SemVer(2, 0, 0, ("rc", "1"))),
        ),
        ("nlp/bert-base@v10.0.1", VersionTag("nlp/bert-base", SemVer(10, 0, 1))),
        ("m1@v0.0.0", VersionTag("m1", SemVer(0, 0, 0))),
        ("x@v1.0.0", VersionTag("x", SemVer(1, 0, 0))),
        ("sentiment#production#3", StageTag("sentiment", "production", 3)),
        ("sentiment#production!#4", StageTag("sentiment", "production", 4, unassign=True)),
        ("sentiment#production", StageTag("sentiment", "production", None)),  # GTO before counters
        ("sentiment#production!", StageTag("sentiment", "production", None, unassign=True)),
        ("nlp/bert-base#eu/prod-2#12", StageTag("nlp/bert-base", "eu/prod-2", 12)),
        ("m#s#0", StageTag("m", "s", 0)),
    ],
)
def test_parse_registry_tags(tag: str, expected: VersionTag | StageTag) -> None:
    assert parse_tag_name(tag) == expected


def test_parsed_version_keeps_build_metadata() -> None:
    parsed = parse_tag_name("sentiment@v1.0.0+build.5")
    assert isinstance(parsed, VersionTag)
    assert parsed.version.build == "build.5"
    assert str(parsed.version) == "v1.0.0+build.5"


@pytest.mark.parametrize(
    "tag",
    [
        # tags of other tools and plain release tags
        "v1.0.0",
        "v1.0",
        "1.0.0",
        "release-2024",
        "latest",
        # names GTO does not allow
        "Foo@v1.0.0",
        "Model@v1.0.0",
        "-name@v1.0.0",
        "name-@v1.0.0",
        "name/@v1.0.0",
        "na me@v1.0.0",
        "na_me@v1.0.0",
        "@v1.0.0",
        # versions that are not SemVer with a leading v
        "name@1.0.0",
        "name@v1.0",
        "name@v01.0.0",
        "name@V1.0.0",
        "foo@bar",
        "name@latest",
        "name@@v1.0.0",
        "name@v1.0.0!!",
        "name@v1.0.0#prod#1",
        # stage tags that do not fit
        "name#",
        "name##1",
        "#prod#1",
        "name#Prod#1",
        "name#Prod#x",
        "name#prod#x",
        "x#y#z",
        "name#prod#",
        "name#prod#-1",
        "name#prod#1#2",
        "name#prod!!#1",
        "name#pro_d#1",
        "name#-prod#1",
        "name#prod/#1",
    ],
)
def test_foreign_and_malformed_tags_are_not_registry_tags(tag: str) -> None:
    assert parse_tag_name(tag) is None


def test_tag_name_builders_round_trip() -> None:
    version = SemVer.parse("v1.4.0-rc.2")
    assert version_tag_name("sentiment", version) == "sentiment@v1.4.0-rc.2"
    assert parse_tag_name("sentiment@v1.4.0-rc.2") == VersionTag("sentiment", version)
    assert stage_tag_name("sentiment", "production", 7) == "sentiment#production#7"
    assert stage_tag_name("sentiment", "production", 8, unassign=True) == "sentiment#production!#8"
    assert parse_tag_name(stage_tag_name("a/b", "c-d", 8, unassign=True)) == StageTag(
        "a/b", "c-d", 8, unassign=True
    )


@pytest.mark.parametrize("stage", ["dev", "staging", "production", "eu/prod", "qa-2", "p"])
def test_valid_stage_names(stage: str) -> None:
    assert STAGE_NAME_RE.match(stage)


@pytest.mark.parametrize("stage", ["", "Prod", "pro duction", "prod#1", "pro_d", "-x", "x-", "a!"])
def test_invalid_stage_names(stage: str) -> None:
    assert STAGE_NAME_RE.match(stage) is None
