"""Whether a metric is better higher or lower: defaults by name, overridable per metric."""

from __future__ import annotations

import re
from collections.abc import Mapping

HIGHER = "higher"
LOWER = "lower"

_LOWER_WORDS = (
    "loss", "error", "err", "mae", "mse", "rmse", "mape", "smape", "perplexity", "ppl",
    "latency", "wer", "cer", "ter", "fpr", "fnr", "eer", "time", "duration", "seconds", "ms",
    "memory", "size", "bytes", "logloss", "nll", "brier", "distance", "fid", "miss", "cost",
    "regret", "divergence", "kl", "hamming",
)  # fmt: skip
_HIGHER_WORDS = (
    "accuracy", "acc", "f1", "f2", "fbeta", "precision", "recall", "auc", "roc", "prauc",
    "auroc", "auprc", "bleu", "rouge", "rouge1", "rouge2", "rougel", "meteor", "chrf", "map",
    "mrr", "ndcg", "iou", "miou", "dice", "r2", "score", "throughput", "qps", "tps", "hit",
    "hits", "top1", "top5", "sensitivity", "specificity", "kappa", "mcc", "exact", "em",
    "em_score", "spearman", "pearson", "correlation", "tpr", "coverage", "reward", "psnr",
    "ssim", "win", "winrate", "pass",
)  # fmt: skip
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


def default_direction(metric: str) -> str | None:
    """Guess from the metric's name (e.g. `eval.loss` -> lower); None if nothing matches.

    Dotted components are read from the last (`val/f1_loss` is a loss, `f1.class0` an F1),
    and within one component the last known word wins.
    """
    for component in reversed(metric.lower().split(".")):
        words = [w for w in _WORD_SPLIT.split(component) if w]
        for word in reversed(words):
            if word in _LOWER_WORDS:
                return LOWER
            if word in _HIGHER_WORDS:
                return HIGHER
    return None


def direction_of(metric: str, overrides: Mapping[str, str]) -> str | None:
    """An explicit override wins; then the name-based default."""
    return overrides.get(metric) or default_direction(metric)
