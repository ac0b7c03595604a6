"""Pure logic of the diff: metric directions, value changes, tolerances, tensor-level diffs."""

from __future__ import annotations

import math

import pytest

from gitmodel.compare import Tolerance, ValueChange, compare_maps
from gitmodel.direction import default_direction, direction_of
from gitmodel.errors import UsageError
from gitmodel.pointer import FactValue
from gitmodel.tensordiff import TensorRecord, diff_tensors, group_names

# --- directions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("loss", "lower"),
        ("val_loss", "lower"),
        ("eval.loss", "lower"),
        ("train/loss", "lower"),
        ("val/f1_loss", "lower"),  # the last word decides: a loss
        ("eval.f1", "higher"),
        ("f1_score", "higher"),
        ("accuracy", "higher"),
        ("Accuracy", "higher"),
        ("val_acc", "higher"),
        ("acc@1", "higher"),
        ("top1", "higher"),
        ("top5", "higher"),
        ("top1_error", "lower"),
        ("error_rate", "lower"),
        ("latency_ms", "lower"),
        ("latency_p99", "lower"),
        ("time_to_first_token", "lower"),
        ("model_size", "lower"),
        ("wer", "lower"),
        ("cer", "lower"),
        ("bleu", "higher"),
        ("rouge-l", "higher"),
        ("rougeL", "higher"),
        ("perplexity", "lower"),
        ("ppl", "lower"),
        ("mse", "lower"),
        ("r2", "higher"),
        ("auc", "higher"),
        ("eval.roc_auc", "higher"),
        ("precision", "higher"),
        ("recall", "higher"),
        ("throughput", "higher"),
        ("epochs", None),
        ("samples_per_second", None),
        ("temperature", None),
        ("lossless.ratio", None),  # only the last dotted component counts
        ("", None),
    ],
)
def test_default_direction(metric: str, expected: str | None) -> None:
    assert default_direction(metric) == expected


def test_an_override_wins_over_the_name() -> None:
    assert direction_of("loss", {"loss": "higher"}) == "higher"
    assert direction_of("latency_ms", {"latency_ms": "higher"}) == "higher"
    assert direction_of("kappa_drift", {"kappa_drift": "lower"}) == "lower"
    assert direction_of("loss", {"accuracy": "lower"}) == "lower"
    assert direction_of("epochs", {}) is None


# --- value changes ----------------------------------------------------------------------------


def change(
    old: FactValue | None, new: FactValue | None, direction: str | None = None
) -> ValueChange:
    return ValueChange("m", old, new, direction)


def test_a_better_higher_metric() -> None:
    c = change(0.5, 0.75, "higher")
    assert (c.status, c.delta, c.relative, c.verdict) == ("changed", 0.25, 0.5, "better")


def test_a_worse_lower_metric() -> None:
    c = change(0.25, 0.5, "lower")
    assert (c.status, c.delta, c.relative, c.verdict) == ("changed", 0.25, 1.0, "worse")


def test_a_lower_metric_that_drops_is_better_and_relative_uses_the_old_magnitude() -> None:
    c = change(-2.0, -3.0, "lower")
    assert (c.delta, c.relative, c.verdict) == (-1.0, -0.5, "better")
    assert change(-2.0, -1.0, "higher").verdict == "better"


def test_unchanged_values() -> None:
    c = change(0.5, 0.5, "higher")
    assert (c.status, c.delta, c.relative, c.verdict) == ("unchanged", 0.0, 0.0, "same")
    assert change(1, 1.0).status == "unchanged"  # an int and an equal float are the same


def test_no_direction_means_no_verdict() -> None:
    c = change(1, 3)
    assert (c.status, c.delta, c.relative, c.verdict) == ("changed", 2.0, 2.0, None)


def test_added_and_removed() -> None:
    added, removed = change(None, 0.5, "higher"), change(0.5, None, "higher")
    assert (added.status, added.delta, added.relative, added.verdict) == ("added", None, None, None)
    assert (removed.status, removed.delta, removed.relative, removed.verdict) == (
        "removed",
        None,
        None,
        None,
    )


def test_a_zero_old_value_has_a_delta_and_verdict_but_no_relative_change() -> None:
    c = change(0, 0.25, "higher")
    assert (c.status, c.delta, c.relative, c.verdict) == ("changed", 0.25, None, "better")


def test_bool_metrics_change_without_delta_or_verdict() -> None:
    c = change(True, False, "higher")
    assert (c.status, c.delta, c.relative, c.verdict) == ("changed", None, None, None)
    assert change(True, True).status == "unchanged"
    assert change(True, 1).status == "changed"  # a bool is not the number 1
    assert change(0, False).status == "changed"


def test_string_metrics_change_without_delta_or_verdict() -> None:
    c = change("v1", "v2", "higher")
    assert (c.status, c.delta, c.relative, c.verdict) == ("changed", None, None, None)
    assert change("v1", "v1").status == "unchanged"
    assert change("1", 1).status == "changed"


def test_nan() -> None:
    nan = float("nan")
    assert change(nan, nan, "higher").status == "unchanged"
    c = change(nan, 0.5, "higher")
    assert c.status == "changed"
    assert c.delta is not None and math.isnan(c.delta)
    assert c.verdict is None
    back = change(0.5, nan, "lower")
    assert (back.status, back.verdict) == ("changed", None)


def test_compare_maps_sorts_keys_and_attaches_directions() -> None:
    result = compare_maps(
        {"loss": 0.3, "acc": 0.9, "gone": 1}, {"acc": 0.9, "loss": 0.2, "new": "x"},
        {"loss": "lower", "acc": "higher"},
    )  # fmt: skip
    assert result == [
        ValueChange("acc", 0.9, 0.9, "higher"),
        ValueChange("gone", 1, None, None),
        ValueChange("loss", 0.3, 0.2, "lower"),
        ValueChange("new", None, "x", None),
    ]
    assert [c.status for c in result] == ["unchanged", "removed", "changed", "added"]


# --- tolerance --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", Tolerance(0.0, relative=False)),
        ("0.01", Tolerance(0.01, relative=False)),
        (" 0.5 ", Tolerance(0.5, relative=False)),
        ("1%", Tolerance(0.01, relative=True)),
        ("2.5%", Tolerance(0.025, relative=True)),
        ("inf", Tolerance(math.inf, relative=False)),
    ],
)
def test_tolerance_parse(text: str, expected: Tolerance) -> None:
    assert Tolerance.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["abc", "", "%", "1%%", "one percent", "nan", "nan%", "0.1.2", "-0.01", "-1%"]
)
def test_tolerance_parse_rejects_bad_text(text: str) -> None:
    with pytest.raises(UsageError) as info:
        Tolerance.parse(text)
    assert info.value.message == f"invalid tolerance {text!r}"
    assert info.value.hint == (
        "give how much worse a metric may get, as a number (0.01) or a percentage (1%), "
        "not negative"
    )


def test_tolerance_absolute() -> None:
    gate = Tolerance.parse("0.05")
    assert gate.exceeded_by(change(0.9, 0.84, "higher"))
    assert not gate.exceeded_by(change(0.9, 0.85, "higher"))  # exactly the tolerance: float noise
    assert not gate.exceeded_by(change(0.9, 0.86, "higher"))
    assert gate.exceeded_by(change(0.3, 0.36, "lower"))
    assert not gate.exceeded_by(change(0.3, 0.35, "lower"))
    assert not gate.exceeded_by(change(0.9, 0.5, "lower"))  # better, however much
    assert not gate.exceeded_by(change(0.9, 0.1))  # no direction: never a regression
    assert not gate.exceeded_by(change(None, 0.1, "higher"))  # added
    assert not gate.exceeded_by(change(0.9, None, "higher"))  # removed
    assert not gate.exceeded_by(change(True, False, "higher"))


def test_tolerance_zero_fails_on_any_worsening() -> None:
    gate = Tolerance.parse("0")
    assert gate.exceeded_by(change(0.9, 0.8999, "higher"))
    assert not gate.exceeded_by(change(0.9, 0.9, "higher"))


def test_tolerance_relative() -> None:
    gate = Tolerance.parse("1%")
    assert not gate.exceeded_by(change(0.9, 0.891, "higher"))  # -1.0%
    assert gate.exceeded_by(change(0.9, 0.89, "higher"))  # -1.1%
    assert not gate.exceeded_by(change(200, 202, "lower"))  # +1%
    assert gate.exceeded_by(change(200, 203, "lower"))
    assert gate.exceeded_by(change(0, 0.001, "lower"))  # no relative change from zero: fails


# --- tensor diffs -----------------------------------------------------------------------------


def tensor(
    name: str, fill: str = "a", dtype: str = "F32", shape: tuple[int, ...] = (2, 2)
) -> TensorRecord:
    return TensorRecord(name, dtype, shape, "xxh128:" + fill * 32)


def bert_like() -> list[TensorRecord]:
    """148 tensors: 6 embeddings, 14 layers of 10, a classifier weight and bias."""
    names = [f"embeddings.{n}" for n in ("word", "pos", "type", "norm.w", "norm.b", "proj")]
    parts = ("q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "o.w", "o.b", "ln.w", "ln.b")
    names += [f"encoder.layer.{i}.{p}" for i in range(14) for p in parts]
    names += ["classifier.weight", "classifier.bias"]
    return [tensor(n) for n in names]


def test_the_summary_groups_changed_tensors_by_layer_prefix() -> None:
    old = bert_like()
    new = [
        tensor(t.name, "b")
        if t.name.startswith(("encoder.layer.10.", "classifier.")) else t
        for t in old
    ]  # fmt: skip
    result = diff_tensors(old, new)
    assert len(old) == 148
    assert result.summary() == "12 of 148 tensors changed: classifier.*, encoder.layer.10.*"
    assert result.any
    assert (result.old_count, result.new_count) == (148, 148)
    assert len(result.unchanged) == 136


def test_part_of_a_layer_is_listed_by_name() -> None:
    old = bert_like()
    changed = {"encoder.layer.1.q.w", "encoder.layer.1.q.b", "encoder.layer.12.ln.w"}
    new = [tensor(t.name, "c") if t.name in changed else t for t in old]
    assert diff_tensors(old, new).summary() == (
        "3 of 148 tensors changed: encoder.layer.1.q.*, encoder.layer.12.ln.w"
    )


def test_changed_reshaped_added_removed() -> None:
    old = [tensor("embed.weight"), tensor("head.w"), tensor("head.b"), tensor("old.bias")]
    new = [
        tensor("embed.weight"),
        tensor("head.w", "b"),
        tensor("head.b", dtype="F16", shape=(4,)),
        tensor("new.scale"),
    ]
    result = diff_tensors(old, new)
    assert result.changed == ["head.w"]
    assert result.reshaped == ["head.b"]
    assert result.details == {"head.b": "F32[2, 2] -> F16[4]"}
    assert result.added == ["new.scale"]
    assert result.removed == ["old.bias"]
    assert result.unchanged == ["embed.weight"]
    assert result.summary() == (
        "1 of 4 tensors changed: head.w; 1 changed dtype/shape: head.b; "
        "1 added: new.scale; 1 removed: old.bias"
    )
    assert result.to_json() == {
        "old_count": 4,
        "new_count": 4,
        "changed": ["head.w"],
        "reshaped": {"head.b": "F32[2, 2] -> F16[4]"},
        "added": ["new.scale"],
        "removed": ["old.bias"],
    }


def test_nothing_changed() -> None:
    old = bert_like()
    result = diff_tensors(old, list(reversed(old)))
    assert not result.any
    assert result.summary() == "all 148 tensors unchanged"


def test_every_tensor_changed() -> None:
    old = bert_like()
    result = diff_tensors(old, [tensor(t.name, "d") for t in old])
    assert result.summary() == "148 of 148 tensors changed: classifier.*, embeddings.*, encoder.*"


def test_group_names_limits_the_list() -> None:
    names = [f"t{i:02d}" for i in range(12)]
    assert group_names(names, names) == "t00, t01, t02, t03, t04, t05, t06, t07, … (+4)"
    assert group_names(names[:3], names, limit=2) == "t00, t01, … (+1)"


def test_group_names_collapses_only_complete_prefixes() -> None:
    universe = ["a.x.1", "a.x.2", "a.y", "b.z", "c"]
    assert group_names(["a.x.1", "a.x.2"], universe) == "a.x.*"
    assert group_names(["a.x.1", "a.x.2", "a.y"], universe) == "a.*"
    assert group_names(["a.x.1", "c"], universe) == "a.x.1, c"
    assert group_names(["b.z"], universe) == "b.z"  # a prefix with one tensor: its name
    assert group_names([], universe) == ""


def test_added_tensors_keep_a_prefix_from_collapsing() -> None:
    old = [tensor("head.w"), tensor("head.b")]
    new = [tensor("head.w", "b"), tensor("head.b", "b"), tensor("head.scale")]
    assert diff_tensors(old, new).summary() == (
        "2 of 3 tensors changed: head.b, head.w; 1 added: head.scale"
    )


def test_grouping_keeps_a_folder_file_name_whole() -> None:
    universe = [
        "model.safetensors:enc.0.w",
        "model.safetensors:enc.0.b",
        "model.safetensors:head.w",
        "aux.safetensors:x",
    ]
    assert group_names(universe[:3], universe) == "model.safetensors:*"
    assert group_names(universe[:2], universe) == "model.safetensors:enc.*"
    assert group_names(["aux.safetensors:x"], universe) == "aux.safetensors:x"
