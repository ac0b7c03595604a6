"""`git model diff` and `git model report` end to end: sides, rows, verdicts, gates, formats."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.helpers import git, gm, gm_ok, isolate_environment, object_path, write_safetensors

MODEL = "models/sentiment.safetensors"
POINTER = MODEL + ".gitmodel"
ENCODER = "models/encoder.safetensors"
ENCODER_POINTER = ENCODER + ".gitmodel"


def xxh(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


def short(data: bytes) -> str:
    return xxh(data)[:19]


def weights(repo: Path, fill: int = 1, path: str = MODEL) -> bytes:
    return write_safetensors(repo / path, {"w": ("F32", [2, 2], fill)})


def add(repo: Path, path: str, *args: str) -> None:
    gm_ok(repo, "add", "-q", path, *args)


def commit(repo: Path, message: str) -> str:
    git(repo, "commit", "-q", "-m", message)
    return rev(repo, "HEAD")


def rev(repo: Path, spec: str) -> str:
    return git(repo, "rev-parse", spec).stdout.strip()


def diff(repo: Path, *args: str) -> str:
    return gm_ok(repo, "diff", *args)


def fails(repo: Path, *args: str) -> str:
    """Run `git model ARGS`, expect exit 1, nothing on stdout, one line on stderr."""
    proc = gm(repo, *args)
    assert proc.returncode == 1, proc
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.rstrip("\n")


def edit(repo: Path, path: str, old: str, new: str) -> None:
    """Change a pointer by hand (e.g. drop a metric that `add` would keep)."""
    text = (repo / path).read_text()
    assert text.count(old) == 1, text
    (repo / path).write_text(text.replace(old, new))


# --- shared repositories, built once per module -----------------------------------------------


def _new_repo(factory: pytest.TempPathFactory, mp: pytest.MonkeyPatch, name: str) -> Path:
    isolate_environment(mp, factory.mktemp(f"{name}-home"))
    root = factory.mktemp(name) / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("models\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "initial")
    return root


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Read-only. main: initial, v1 (sentiment@v0.1.0, production), v2 (sentiment@v0.2.0, HEAD).
    Branches from v1: `feature` (accuracy 0.93), `drop` (accuracy 0.85, loss 0.33), `precise`
    (accuracy 0.923456789). v1 has accuracy 0.9, loss 0.3, f1 0.8, lr 0.01, epochs 3; v2 has
    the same bytes with accuracy 0.925, loss 0.35, bleu 31.5, lr 0.02 and no f1."""
    with pytest.MonkeyPatch.context() as mp:
        root = _new_repo(tmp_path_factory, mp, "history")
        weights(root)
        add(root, MODEL, "--name", "sentiment", "-m", "accuracy=0.9", "-m", "loss=0.3",
            "-m", "f1=0.8", "-p", "lr=0.01", "-p", "epochs=3")  # fmt: skip
        commit(root, "sentiment v1")
        gm_ok(root, "tag", "sentiment", "v0.1.0")
        gm_ok(root, "promote", "sentiment@v0.1.0", "production")
        for branch, metrics in (
            ("feature", ["accuracy=0.93"]),
            ("drop", ["accuracy=0.85", "loss=0.33"]),
            ("precise", ["accuracy=0.923456789"]),
        ):
            git(root, "switch", "-q", "-c", branch, "main")
            add(root, MODEL, *[f"--metric={m}" for m in metrics])
            commit(root, branch)
        git(root, "switch", "-q", "main")
        add(root, MODEL, "-m", "accuracy=0.925", "-m", "loss=0.35", "-m", "bleu=31.5",
            "-p", "lr=0.02")  # fmt: skip
        edit(root, POINTER, "f1 = 0.8\n", "")
        git(root, "add", POINTER)
        commit(root, "sentiment v2")
        gm_ok(root, "tag", "sentiment", "v0.2.0")
    yield root


@pytest.fixture
def copy(history: Path, tmp_path: Path) -> Path:
    """A private copy of `history` (with its cache) that a test may change."""
    root = tmp_path / "repo"
    shutil.copytree(history, root, symlinks=True)
    return root


@pytest.fixture
def v2_uncommitted(copy: Path) -> Path:
    """HEAD at v1; v2's pointer staged and in the work tree."""
    git(copy, "reset", "-q", "--soft", "HEAD~1")
    return copy


V2_TEXT = """\
{old} -> {new}: 1 improved, 1 regressed, 1 of 1 model changed

sentiment (modified)
  pointer:  models/sentiment.safetensors.gitmodel
  METRIC    OLD  NEW    CHANGE  REL
  accuracy  0.9  0.925  +0.025  +2.78%   ▲ better
  bleu      -    31.5                    added
  f1        0.8  -                       removed
  loss      0.3  0.35   +0.05   +16.67%  ▼ worse
  PARAM  OLD   NEW   CHANGE  REL
  lr     0.01  0.02  +0.01   +100.00%
"""
BODY = "\nsentiment (modified)\n  pointer:  models/sentiment.safetensors.gitmodel\n"


# --- sides ------------------------------------------------------------------------------------


def test_nothing_changed(history: Path) -> None:
    assert diff(history) == "HEAD -> work tree: 0 improved, 0 regressed, 0 of 1 model changed\n"
    assert diff(history, "HEAD", "HEAD") == (
        "HEAD -> HEAD: 0 improved, 0 regressed, 0 of 1 model changed\n"
    )


def test_work_tree_against_head_by_default(v2_uncommitted: Path) -> None:
    repo = v2_uncommitted
    assert diff(repo) == V2_TEXT.format(old="HEAD", new="work tree")
    assert diff(repo, "HEAD") == V2_TEXT.format(old="HEAD", new="work tree")


def test_cached_compares_head_with_the_index(v2_uncommitted: Path) -> None:
    repo = v2_uncommitted
    edit(repo, POINTER, "accuracy = 0.925\n", "accuracy = 0.5\n")  # not staged
    assert diff(repo, "--cached") == V2_TEXT.format(old="HEAD", new="index")
    assert diff(repo, "--staged") == V2_TEXT.format(old="HEAD", new="index")
    assert diff(repo) == V2_TEXT.format(old="HEAD", new="work tree").replace(
        "1 improved, 1 regressed", "0 improved, 2 regressed"
    ).replace(
        "  METRIC    OLD  NEW    CHANGE  REL\n"
        "  accuracy  0.9  0.925  +0.025  +2.78%   ▲ better\n"
        "  bleu      -    31.5                    added\n"
        "  f1        0.8  -                       removed\n"
        "  loss      0.3  0.35   +0.05   +16.67%  ▼ worse\n",
        "  METRIC    OLD  NEW   CHANGE  REL\n"
        "  accuracy  0.9  0.5   -0.4    -44.44%  ▼ worse\n"
        "  bleu      -    31.5                   added\n"
        "  f1        0.8  -                      removed\n"
        "  loss      0.3  0.35  +0.05   +16.67%  ▼ worse\n",
    )


def test_two_revisions(history: Path) -> None:
    assert diff(history, "HEAD~1", "HEAD") == V2_TEXT.format(old="HEAD~1", new="HEAD")
    assert diff(history, "HEAD~1..HEAD") == V2_TEXT.format(old="HEAD~1", new="HEAD")
    assert diff(history, "HEAD~1..") == V2_TEXT.format(old="HEAD~1", new="HEAD")
    assert diff(history, "HEAD~1") == V2_TEXT.format(old="HEAD~1", new="work tree")
    v1 = rev(history, "HEAD~1")
    assert diff(history, v1[:10], "main") == V2_TEXT.format(old=v1[:10], new="main")


def test_three_dots_compare_with_the_merge_base(history: Path) -> None:
    # main moved on (v2) after `feature` branched off at v1: the base is v1, not main
    assert diff(history, "main...feature") == (
        "merge-base of main and feature -> feature: 1 improved, 0 regressed, 1 of 1 model "
        "changed\n" + BODY
        + "  METRIC    OLD  NEW   CHANGE  REL\n"
        + "  accuracy  0.9  0.93  +0.03   +3.33%  ▲ better\n"
    )  # fmt: skip
    assert diff(history, "feature...main") == V2_TEXT.format(
        old="merge-base of feature and main", new="main"
    )
    assert diff(history, "feature...") == V2_TEXT.format(
        old="merge-base of feature and HEAD", new="HEAD"
    )
    two_dots = diff(history, "main..feature")
    assert two_dots.startswith("main -> feature: 2 improved, 0 regressed, 1 of 1 model changed\n")
    assert "  accuracy  0.925  0.93  +0.005  +0.54%   ▲ better\n" in two_dots
    assert "  loss      0.35   0.3   -0.05   -14.29%  ▲ better\n" in two_dots
    assert diff(history, "main", "feature") == two_dots


def test_three_dots_without_a_merge_base(copy: Path) -> None:
    git(copy, "switch", "-q", "--orphan", "lonely")
    git(copy, "commit", "-q", "--allow-empty", "-m", "unrelated, empty tree")
    assert fails(copy, "diff", "main...lonely") == (
        "error: main and lonely have no merge base (use A..B instead)"
    )
    assert diff(copy, "lonely", "main~1").startswith(
        "lonely -> main~1: 0 improved, 0 regressed, 1 model added, 1 of 1 model changed\n"
    )
    assert fails(copy, "diff", "nosuch...main") == (
        "error: unknown revision 'nosuch' (check it with `git log --oneline`)"
    )


def test_versions_and_stages(history: Path) -> None:
    expected = V2_TEXT.format(old="sentiment@v0.1.0", new="sentiment@v0.2.0")
    assert diff(history, "sentiment@v0.1.0", "sentiment@v0.2.0") == expected
    assert diff(history, "sentiment@v0.1.0..sentiment@v0.2.0") == expected
    assert diff(history, "sentiment#production", "sentiment@latest") == (
        V2_TEXT.format(old="sentiment#production", new="sentiment@latest")
    )
    assert diff(history, "sentiment#production") == (
        V2_TEXT.format(old="sentiment#production", new="work tree")
    )
    assert diff(history, "sentiment#production...feature").startswith(
        "merge-base of sentiment#production and feature -> feature: 1 improved"
    )
    assert fails(history, "diff", "sentiment@v9.9.9") == (
        "error: sentiment@v9.9.9 is not a registered version (known: v0.1.0, v0.2.0) "
        "(list versions with `git model versions sentiment`)"
    )


# --- which models ------------------------------------------------------------------------------


@pytest.fixture
def two_models(copy: Path) -> Path:
    """sentiment and encoder committed; encoder's bleu 30 -> 32 staged, sentiment's accuracy
    0.925 -> 0.95 edited in the work tree."""
    weights(copy, 7, ENCODER)
    add(copy, ENCODER, "-m", "bleu=30")
    commit(copy, "encoder")
    add(copy, ENCODER, "-m", "bleu=32")
    edit(copy, POINTER, "accuracy = 0.925\n", "accuracy = 0.95\n")
    return copy


ENCODER_ONLY = """\
HEAD -> work tree: 1 improved, 0 regressed, 1 of 1 model changed

encoder (modified)
  pointer:  models/encoder.safetensors.gitmodel
  METRIC  OLD  NEW  CHANGE  REL
  bleu    30   32   +2      +6.67%  ▲ better
"""


def test_all_shows_unchanged_rows_and_models(two_models: Path) -> None:
    git(two_models, "commit", "-q", "-m", "bleu 32")
    assert (
        diff(two_models)
        == f"""\
HEAD -> work tree: 1 improved, 0 regressed, 1 of 2 models changed
{BODY}\
  METRIC    OLD    NEW   CHANGE  REL
  accuracy  0.925  0.95  +0.025  +2.70%  ▲ better
"""
    )
    assert (
        diff(two_models, "--all")
        == f"""\
HEAD -> work tree: 1 improved, 0 regressed, 1 of 2 models changed

encoder (unchanged)
  pointer:  models/encoder.safetensors.gitmodel
  METRIC  OLD  NEW  CHANGE  REL
  bleu    32   32   +0      +0.00%  = same
{BODY}\
  METRIC    OLD    NEW   CHANGE  REL
  accuracy  0.925  0.95  +0.025  +2.70%  ▲ better
  bleu      31.5   31.5  +0      +0.00%  = same
  loss      0.35   0.35  +0      +0.00%  = same
  PARAM   OLD   NEW   CHANGE  REL
  epochs  3     3     +0      +0.00%
  lr      0.02  0.02  +0      +0.00%
"""
    )


def test_filter_by_name_and_path(two_models: Path) -> None:
    repo = two_models
    assert diff(repo).startswith(
        "HEAD -> work tree: 2 improved, 0 regressed, 2 of 2 models changed\n"
    )
    for target in ("encoder", ENCODER, ENCODER_POINTER):
        assert diff(repo, target) == ENCODER_ONLY, target
    assert diff(repo, "HEAD", "encoder") == ENCODER_ONLY
    assert diff(repo, "--cached", "sentiment") == (
        "HEAD -> index: 0 improved, 0 regressed, 0 of 1 model changed\n"
    )
    assert gm_ok(repo / "models", "diff", "encoder.safetensors") == ENCODER_ONLY
    assert gm_ok(repo / "models", "diff", ".") == diff(repo)
    assert diff(repo, "models/") == diff(repo, "encoder", "sentiment") == diff(repo)


def test_unknown_arguments(history: Path) -> None:
    assert fails(history, "diff", "nosuch") == (
        "error: 'nosuch' is neither a revision nor a model name or path (check "
        "`git log --oneline`, `git model ls` or `git model versions NAME`)"
    )
    assert fails(history, "diff", "HEAD", "HEAD", "HEAD") == (
        "error: HEAD: no model of that name or path on either side (list models with "
        "`git model ls`)"
    )
    assert fails(history, "diff", "main...HEAD", "HEAD") == (
        "error: 'main...HEAD' is already a range; give no second revision (use "
        "`git model diff A...B` or `git model diff A B`)"
    )
    gate = ("diff", "--fail-on-regression", "--tolerance")
    for bad in ("abc", "nan", "-1", "-5%"):
        assert fails(history, *gate, bad) == (
            f"error: invalid tolerance '{bad}' (give how much worse a metric may get, as a "
            "number (0.01) or a percentage (1%), not negative)"
        )
    assert fails(history, "diff", "--tolerance", "0.1") == (
        "error: --tolerance applies only to --fail-on-regression (add --fail-on-regression, "
        "or drop --tolerance)"
    )


def test_models_added_and_removed(copy: Path) -> None:
    data = weights(copy, 7, ENCODER)
    add(copy, ENCODER, "--name", "encoder", "-m", "bleu=30", "-p", "layers=2")
    git(copy, "rm", "-q", POINTER)
    old = (copy / MODEL).read_bytes()
    assert (
        diff(copy)
        == f"""\
HEAD -> work tree: 0 improved, 0 regressed, 1 model added, 1 model removed, 2 of 2 models changed

encoder (added)
  pointer:  models/encoder.safetensors.gitmodel
  artifact: {short(data)} ({len(data)} B)
  METRIC  OLD  NEW  CHANGE  REL
  bleu    -    30                added
  PARAM   OLD  NEW  CHANGE  REL
  layers  -    2                 added

sentiment (removed)
  pointer:  models/sentiment.safetensors.gitmodel
  artifact: {short(old)} ({len(old)} B)
  METRIC    OLD    NEW  CHANGE  REL
  accuracy  0.925  -                 removed
  bleu      31.5   -                 removed
  loss      0.35   -                 removed
  PARAM   OLD   NEW  CHANGE  REL
  epochs  3     -                 removed
  lr      0.02  -                 removed
"""
    )
    assert diff(copy, "encoder").startswith(
        "HEAD -> work tree: 0 improved, 0 regressed, 1 model added, 1 of 1 model changed\n"
    )
    assert diff(copy, "--cached") == diff(copy).replace("HEAD -> work tree", "HEAD -> index")


def test_a_renamed_model_keeps_its_bytes(copy: Path) -> None:
    renamed = "models/sentiment-v2.safetensors"
    os.rename(copy / MODEL, copy / renamed)
    git(copy, "mv", POINTER, renamed + ".gitmodel")
    edit(copy, renamed + ".gitmodel", 'name = "sentiment"\n', 'name = "sentiment-v2"\n')
    edit(copy, renamed + ".gitmodel", 'path = "sentiment.safetensors"\n',
         'path = "sentiment-v2.safetensors"\n')  # fmt: skip
    expected = """\
HEAD -> work tree: 0 improved, 0 regressed, 1 model renamed, 1 of 1 model changed

sentiment -> sentiment-v2 (renamed)
  pointer:  models/sentiment.safetensors.gitmodel -> models/sentiment-v2.safetensors.gitmodel
"""
    assert diff(copy) == expected
    assert diff(copy, "sentiment-v2") == expected  # either name finds the pair
    assert diff(copy, renamed) == expected
    assert json.loads(diff(copy, "--json"))["models"][0]["old_name"] == "sentiment"


# --- directions and the CI gate ---------------------------------------------------------------


def test_a_repo_config_overrides_directions(v2_uncommitted: Path) -> None:
    repo = v2_uncommitted
    (repo / ".gitmodel.toml").write_text('[directions]\nloss = "higher"\nbleu = "lower"\n')
    out = diff(repo)
    assert out.splitlines()[0] == "HEAD -> work tree: 2 improved, 0 regressed, 1 of 1 model changed"
    assert "  loss      0.3  0.35   +0.05   +16.67%  ▲ better\n" in out
    assert gm(repo, "diff", "--fail-on-regression").returncode == 0
    git(repo, "add", ".gitmodel.toml")
    (repo / ".gitmodel.toml").write_text("[directions]\n")  # the index keeps the override
    assert "  loss      0.3  0.35   +0.05   +16.67%  ▲ better\n" in diff(repo, "--cached")
    assert "  loss      0.3  0.35   +0.05   +16.67%  ▼ worse\n" in diff(repo)
    doc = json.loads(diff(repo, "--cached", "--json"))
    assert [(m["key"], m["direction"]) for m in doc["models"][0]["metrics"]] == [
        ("accuracy", "higher"), ("bleu", "lower"), ("f1", "higher"), ("loss", "higher"),
    ]  # fmt: skip


def test_a_committed_config_applies_to_old_commits_too(copy: Path) -> None:
    (copy / ".gitmodel.toml").write_text('[directions]\naccuracy = "lower"\n')
    git(copy, "add", ".gitmodel.toml")
    commit(copy, "for this model, lower accuracy is better")
    out = diff(copy, "HEAD~2", "HEAD")  # v1 (no config) against the config commit
    assert out.splitlines()[0] == "HEAD~2 -> HEAD: 0 improved, 2 regressed, 1 of 1 model changed"
    assert "  accuracy  0.9  0.925  +0.025  +2.78%   ▼ worse\n" in out


def test_an_unreadable_pointer_is_skipped_with_a_warning(copy: Path) -> None:
    (copy / "future.gitmodel").write_text("version = 3\n")
    proc = gm(copy, "diff")
    assert proc.returncode == 0
    assert proc.stderr == (
        "warning: work tree: skipped future.gitmodel: pointer version 3 is not supported "
        "(this git-model reads versions 1 and 2)\n"
    )
    assert proc.stdout == "HEAD -> work tree: 0 improved, 0 regressed, 0 of 1 model changed\n"


def test_bad_direction_config(copy: Path) -> None:
    (copy / ".gitmodel.toml").write_text('[directions]\nloss = "down"\n')
    assert fails(copy, "diff") == (
        "error: .gitmodel.toml (work tree): direction of 'loss' must be \"higher\" or "
        '"lower", got \'down\' (e.g. [directions] latency_p99 = "lower")'
    )
    assert diff(copy, "HEAD~1", "HEAD") == V2_TEXT.format(old="HEAD~1", new="HEAD")
    (copy / ".gitmodel.toml").write_text("[directions\n")
    message = fails(copy, "diff")
    assert message.startswith("error: .gitmodel.toml (work tree) is not valid TOML: ")
    assert message.endswith(" (fix the file; see docs/commands/diff.md for its format)")


def test_fail_on_regression(history: Path) -> None:
    proc = gm(history, "diff", "HEAD~1", "HEAD", "--fail-on-regression")
    assert proc.returncode == 1
    assert proc.stdout == V2_TEXT.format(old="HEAD~1", new="HEAD")
    assert proc.stderr == (
        "regression: sentiment loss 0.3 -> 0.35 (worse by more than the tolerance 0)\n"
    )
    # a bare option takes no value: the revisions after it stay revisions
    assert gm(history, "diff", "--fail-on-regression", "HEAD~1", "HEAD").returncode == 1
    only_accuracy = gm(history, "diff", "--fail-on-regression=accuracy", "HEAD~1", "HEAD")
    assert (only_accuracy.returncode, only_accuracy.stderr) == (0, "")
    assert gm(history, "diff", "--fail-on-regression=accuracy,loss", "HEAD~1").returncode == 1
    assert gm(history, "diff", "HEAD~1", "--fail-on-regression=accuracy",
              "--fail-on-regression=loss").returncode == 1  # fmt: skip
    assert gm(history, "diff", "HEAD~1").returncode == 0  # no gate, no failure
    assert gm(history, "diff", "--fail-on-regression").returncode == 0  # nothing changed


def test_tolerance_absolute_and_relative(history: Path) -> None:
    gate = ("diff", "main~1", "drop", "--fail-on-regression")  # accuracy -0.05, loss +10%
    assert gm(history, *gate, "--tolerance", "0.05").returncode == 0  # exactly the tolerance
    proc = gm(history, *gate, "--tolerance", "0.04")
    assert (proc.returncode, proc.stderr) == (1, (
        "regression: sentiment accuracy 0.9 -> 0.85 (worse by more than the tolerance 0.04)\n"
    ))  # fmt: skip
    assert gm(history, *gate, "--tolerance", "10%").returncode == 0
    proc = gm(history, *gate, "--tolerance", "6%")
    assert (proc.returncode, proc.stderr) == (1, (
        "regression: sentiment loss 0.3 -> 0.33 (worse by more than the tolerance 6%)\n"
    ))  # fmt: skip
    proc = gm(history, *gate, "--tolerance=1%")
    assert (proc.returncode, proc.stderr) == (1, (
        "regression: sentiment accuracy 0.9 -> 0.85 (worse by more than the tolerance 1%)\n"
        "regression: sentiment loss 0.3 -> 0.33 (worse by more than the tolerance 1%)\n"
    ))  # fmt: skip


def test_precision(history: Path) -> None:
    def row(*args: str) -> str:
        return diff(history, "main~1", "precise", *args).splitlines()[-1]

    assert row() == "  accuracy  0.9  0.9235  +0.02346  +2.61%  ▲ better"
    assert row("--precision", "2") == "  accuracy  0.9  0.92  +0.023  +2.61%  ▲ better"
    assert row("--precision", "9") == (
        "  accuracy  0.9  0.923456789  +0.023456789  +2.61%  ▲ better"
    )
    assert gm(history, "diff", "--precision", "0").returncode == 2


# --- formats ----------------------------------------------------------------------------------


def test_json(history: Path) -> None:
    oid = xxh((history / MODEL).read_bytes())
    doc = json.loads(diff(history, "HEAD~1", "HEAD", "--json"))
    assert doc["old"] == "HEAD~1"
    assert doc["new"] == "HEAD"
    assert doc["summary"] == "1 improved, 1 regressed, 1 of 1 model changed"
    [model] = doc["models"]
    assert {k: v for k, v in model.items() if k not in ("metrics", "params")} == {
        "name": "sentiment",
        "old_name": None,
        "status": "modified",
        "old_pointer": POINTER,
        "new_pointer": POINTER,
        "old_oid": oid,
        "new_oid": oid,
        "artifact_changed": False,
        "facts": [],
        "tensors": None,
        "lineage": [],
    }
    assert [(m["key"], m["status"], m["direction"], m["verdict"]) for m in model["metrics"]] == [
        ("accuracy", "changed", "higher", "better"),
        ("bleu", "added", "higher", None),
        ("f1", "removed", "higher", None),
        ("loss", "changed", "lower", "worse"),
    ]
    accuracy = model["metrics"][0]
    assert (accuracy["old"], accuracy["new"]) == (0.9, 0.925)
    assert accuracy["delta"] == pytest.approx(0.025)
    assert accuracy["relative"] == pytest.approx(0.025 / 0.9)
    assert model["params"] == [{
        "key": "lr", "old": 0.01, "new": 0.02, "status": "changed", "delta": 0.01,
        "relative": 1.0, "direction": None, "verdict": None,
    }]  # fmt: skip
    full = json.loads(diff(history, "HEAD~1", "HEAD", "--json", "--all"))
    assert [p["key"] for p in full["models"][0]["params"]] == ["epochs", "lr"]
    assert json.loads(diff(history, "--json")) == {
        "old": "HEAD", "new": "work tree",
        "summary": "0 improved, 0 regressed, 0 of 1 model changed", "models": [],
    }  # fmt: skip


def test_output_file(history: Path, tmp_path: Path) -> None:
    for flag in ("--output", "-o"):
        out = tmp_path / f"diff{flag}.txt"
        proc = gm(history, "diff", "HEAD~1", "HEAD", flag, str(out))
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
        assert out.read_text() == V2_TEXT.format(old="HEAD~1", new="HEAD")
    gm_ok(history, "diff", "HEAD~1", "--md", "-o", str(tmp_path / "diff.md"))
    assert (tmp_path / "diff.md").read_text() == diff(history, "HEAD~1", "--md")
    gm_ok(history, "diff", "HEAD~1", "--json", "-o", str(tmp_path / "diff.json"))
    assert (tmp_path / "diff.json").read_text() == diff(history, "HEAD~1", "--json")
    proc = gm(history, "diff", "HEAD~1", "--fail-on-regression", "-o", str(tmp_path / "g.txt"))
    assert (proc.returncode, proc.stdout) == (1, "")  # the file is written, then the gate fails
    assert (tmp_path / "g.txt").read_text() == V2_TEXT.format(old="HEAD~1", new="work tree")


# --- bytes, lineage, tensors ------------------------------------------------------------------


def test_lineage_changes(repo: Path) -> None:
    (repo / "train.csv").write_text("text,label\nok,1\n")
    weights(repo)
    add(repo, MODEL, "--name", "sentiment", "--data", "train.csv")
    initial = rev(repo, "HEAD")  # the commit `add` ran at: lineage.commit
    v1 = commit(repo, "v1")
    old_data = xxh((repo / "train.csv").read_bytes())
    (repo / "train.csv").write_text("text,label\nok,1\nbad,0\n")
    (repo / "eval.csv").write_text("text,label\n")
    new_data = xxh((repo / "train.csv").read_bytes())
    add(repo, MODEL, "--data", "train.csv", "--data", "eval.csv")  # same weights, other data
    lines = [
        f"produced from commit {initial[:12]} -> {v1[:12]}",
        "data eval.csv added",
        f"data train.csv changed ({old_data[:19]} -> {new_data[:19]})",
    ]
    assert diff(repo) == (
        "HEAD -> work tree: 0 improved, 0 regressed, 1 of 1 model changed\n" + BODY
        + "".join(f"  lineage:  {line}\n" for line in lines)
    )  # fmt: skip
    assert json.loads(diff(repo, "--json"))["models"][0]["lineage"] == lines
    assert "**Lineage:** " + "; ".join(lines).replace(" -> ", " → ") in diff(repo, "--md")


def tensors(layer1: int = 3, head: int = 2) -> dict[str, tuple[str, list[int], int]]:
    return {
        "embed.weight": ("F32", [4, 2], 1),
        "encoder.layer.0.w": ("F32", [2, 2], 2),
        "encoder.layer.1.w": ("F32", [2, 2], layer1),
        "encoder.layer.1.b": ("F32", [2], layer1),
        "head.b": ("F32", [head], 4),
    }


@pytest.fixture(scope="module")
def tensor_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Read-only. Committed weights (5 tensors); in the work tree, layer 1's two tensors
    changed, head.b reshaped [2] -> [3] and head.w (F16) added."""
    with pytest.MonkeyPatch.context() as mp:
        root = _new_repo(tmp_path_factory, mp, "tensors")
        write_safetensors(root / MODEL, tensors())
        add(root, MODEL, "--name", "sentiment", "-m", "accuracy=0.9")
        commit(root, "v1")
        write_safetensors(root / MODEL, {**tensors(9, 3), "head.w": ("F16", [2, 2], 5)})
        add(root, MODEL, "-m", "accuracy=0.92")
    yield root


def test_tensor_level_diff(tensor_template: Path) -> None:
    repo = tensor_template
    old = write_safetensors(repo.parent / "old.safetensors", tensors())
    new = (repo / MODEL).read_bytes()
    initial, v1 = rev(repo, "HEAD~1")[:12], rev(repo, "HEAD")[:12]
    summary = "2 of 6 tensors changed: encoder.layer.1.*; 1 changed dtype/shape: head.b; " \
        "1 added: head.w"  # fmt: skip
    assert (
        diff(repo)
        == f"""\
HEAD -> work tree: 1 improved, 0 regressed, 1 of 1 model changed
{BODY}\
  artifact: {short(old)} -> {short(new)} ({len(old)} B -> {len(new)} B)
  format:   dtypes F32 -> F16,F32, parameters 20 -> 25, tensors 5 -> 6
  tensors:  {summary}
  lineage:  produced from commit {initial} -> {v1}
  METRIC    OLD  NEW   CHANGE  REL
  accuracy  0.9  0.92  +0.02   +2.22%  ▲ better
"""
    )
    model = json.loads(diff(repo, "--json"))["models"][0]
    assert model["tensors"] == {
        "old_count": 5,
        "new_count": 6,
        "changed": ["encoder.layer.1.b", "encoder.layer.1.w"],
        "reshaped": {"head.b": "F32[2] -> F32[3]"},
        "added": ["head.w"],
        "removed": [],
    }
    assert (model["artifact_changed"], model["old_oid"], model["new_oid"]) == (
        True, xxh(old), xxh(new)
    )  # fmt: skip
    assert [(f["key"], f["old"], f["new"]) for f in model["facts"]] == [
        ("dtypes", ["F32"], ["F16", "F32"]),
        ("parameters", 20, 25),
        ("size", len(old), len(new)),
        ("tensors", 5, 6),
    ]
    markdown = diff(repo, "--md")
    assert f"artifact {short(old)} → {short(new)} ({len(old)} B → {len(new)} B)\n" in markdown
    assert f"\n**Tensors:** {summary}\n" in markdown
    assert "\n**Format:** dtypes F32 → F16,F32, parameters 20 → 25, tensors 5 → 6\n" in markdown


FETCH_HINT = "(fetch it without the weights: git model fetch --manifests-only --rev REV)"


def test_missing_tensor_manifests_are_noted_not_fatal(
    tensor_template: Path, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(tensor_template, repo, symlinks=True)
    manifest = (repo / POINTER).read_text().split('manifest = "', 1)[1].split('"', 1)[0]
    object_path(repo, manifest).unlink()
    proc = gm(repo, "diff")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert (
        f"  tensors:  not compared: manifest {manifest[:19]}… is not in the cache {FETCH_HINT}\n"
        in proc.stdout
    )
    assert "  format:   dtypes F32 -> F16,F32, parameters 20 -> 25, tensors 5 -> 6\n" in proc.stdout
    assert (
        f"\n**Tensors:** not compared: manifest {manifest[:19]}… is not in the cache {FETCH_HINT}\n"
        in diff(repo, "--md")
    )
    assert json.loads(diff(repo, "--json"))["models"][0]["tensors"] is None
    assert gm(repo, "diff", "--fail-on-regression").returncode == 0


# --- Markdown ---------------------------------------------------------------------------------


def parse(markdown: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(markdown)


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table in the document as rows of cell sources (header row first)."""
    tokens = parse(markdown)
    result: list[list[list[str]]] = []
    for i, token in enumerate(tokens):
        if token.type == "table_open":
            result.append([])
        elif token.type == "tr_open":
            result[-1].append([])
        elif token.type == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            result[-1][-1].append(token.content)
    return result


def test_markdown_tables(history: Path) -> None:
    markdown = diff(history, "HEAD~1", "HEAD", "--md")
    tokens = parse(markdown)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["git-model: HEAD~1 → HEAD", "`sentiment` (modified)"]
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h2", "h3"]
    metrics, params = tables(markdown)
    assert metrics == [
        ["Metric", "Old", "New", "Change", ""],
        ["accuracy", "0.9", "0.925", "+0.025 (+2.78%)", "▲ ✅ better"],
        ["bleu", "-", "31.5", "", "added"],
        ["f1", "0.8", "-", "", "removed"],
        ["loss", "0.3", "0.35", "+0.05 (+16.67%)", "▼ ❌ worse"],
    ]
    assert params == [
        ["Param", "Old", "New", "Change", ""],
        ["lr", "0.01", "0.02", "+0.01 (+100.00%)", ""],
    ]
    aligns = [t.attrGet("style") for t in tokens if t.type == "th_open"][:5]
    assert aligns == [
        "text-align:left", "text-align:right", "text-align:right", "text-align:right",
        "text-align:left",
    ]  # fmt: skip
    paragraphs = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "paragraph_open"]
    assert paragraphs == [
        "**1 improved, 1 regressed, 1 of 1 model changed**",
        "pointer `models/sentiment.safetensors.gitmodel`",
    ]


def test_markdown_escapes_pipes_in_names(copy: Path) -> None:
    add(copy, MODEL, "-m", "f1|macro=0.7")
    markdown = diff(copy, "--md")
    assert "| f1\\|macro | - | 0.7 |   | added |\n" in markdown
    [rows] = tables(markdown)
    assert rows == [["Metric", "Old", "New", "Change", ""], ["f1|macro", "-", "0.7", "", "added"]]
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    assert '<td style="text-align:left">f1|macro</td>' in html


def test_markdown_when_nothing_changed(history: Path) -> None:
    assert diff(history, "--md") == (
        "## git-model: HEAD → work tree\n\n"
        "**0 improved, 0 regressed, 0 of 1 model changed**\n\n"
        "No model changed.\n"
    )


def test_markdown_renamed_and_removed(copy: Path) -> None:
    renamed = "models/sentiment-v2.safetensors"
    os.rename(copy / MODEL, copy / renamed)
    git(copy, "mv", POINTER, renamed + ".gitmodel")
    edit(copy, renamed + ".gitmodel", 'name = "sentiment"\n', 'name = "sentiment-v2"\n')
    edit(copy, renamed + ".gitmodel", 'path = "sentiment.safetensors"\n',
         'path = "sentiment-v2.safetensors"\n')  # fmt: skip
    tokens = parse(diff(copy, "--md"))
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[1] == "`sentiment` → `sentiment-v2` (renamed)"


# --- report -----------------------------------------------------------------------------------


def test_report_writes_markdown_with_the_registry(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    assert gm_ok(history, "report", "HEAD~1", "HEAD", "-o", str(out)) == f"wrote {out}\n"
    report = out.read_text()
    assert report.startswith(diff(history, "HEAD~1", "HEAD", "--md", "--all"))
    assert report.endswith(
        "## Registry at HEAD\n\n"
        "| Model | Latest | HEAD | Stages |\n"
        "|:--|:--|:--|:--|\n"
        "| `sentiment` | v0.2.0 | v0.2.0 | production: v0.1.0 |\n"
    )
    rows = tables(report)
    assert rows[-1] == [
        ["Model", "Latest", "HEAD", "Stages"],
        ["`sentiment`", "v0.2.0", "v0.2.0", "production: v0.1.0"],
    ]
    assert rows[0][1:] == [
        ["accuracy", "0.9", "0.925", "+0.025 (+2.78%)", "▲ ✅ better"],
        ["bleu", "-", "31.5", "", "added"],
        ["f1", "0.8", "-", "", "removed"],
        ["loss", "0.3", "0.35", "+0.05 (+16.67%)", "▼ ❌ worse"],
    ]
    assert gm_ok(history, "report", "-q", "-o", str(tmp_path / "quiet.md")) == ""
    assert (tmp_path / "quiet.md").read_text().startswith("## git-model: HEAD → work tree\n")


def test_report_default_file(copy: Path) -> None:
    assert gm_ok(copy, "report") == "wrote git-model-report.md\n"
    assert "### `sentiment` (unchanged)\n" in (copy / "git-model-report.md").read_text()
