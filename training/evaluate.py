"""Measuring a model on labelled examples: verdicts, the metrics table, and the report's pictures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, matthews_corrcoef, precision_recall_curve, roc_auc_score

from model.comment import Comment
from model.scorer import Scorer
from model.verdict import ALLOW, BLOCK

from .data import Example

METRIC_NAMES = ("precision", "recall", "f1", "mcc", "ham_blocked", "roc_auc", "average_precision")


@dataclass
class Evaluation:
    labels: np.ndarray  # 1 spam, 0 ham
    probabilities: np.ndarray  # final spam_probability of each result
    verdicts: list[str]
    metrics: dict


def evaluate(scorer: Scorer, examples: list[Example]) -> Evaluation:
    """Score every example as the service would and measure. A verdict of review or block counts as
    caught; "ham_blocked" is the share of ham whose verdict is block."""
    results = scorer.check_many(Comment.from_mapping(ex.comment) for ex in examples)
    labels = np.array([ex.label for ex in examples])
    probabilities = np.array([r["spam_probability"] for r in results])
    verdicts = [r["verdict"] for r in results]
    return Evaluation(labels, probabilities, verdicts, metrics(labels, probabilities, verdicts))


def metrics(labels: np.ndarray, probabilities: np.ndarray, verdicts: list[str]) -> dict:
    caught = np.array([v != ALLOW for v in verdicts])
    blocked = np.array([v == BLOCK for v in verdicts])
    spam, ham = labels == 1, labels == 0
    tp, fp = int((caught & spam).sum()), int((caught & ham).sum())
    fn = int((~caught & spam).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    both_classes = spam.any() and ham.any()
    return {
        "examples": int(len(labels)),
        "spam": int(spam.sum()),
        "ham": int(ham.sum()),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "mcc": float(matthews_corrcoef(labels, caught)) if both_classes else 0.0,
        "ham_blocked": float(blocked[ham].mean()) if ham.any() else 0.0,
        "spam_blocked": float(blocked[spam].mean()) if spam.any() else 0.0,
        "roc_auc": float(roc_auc_score(labels, probabilities)) if both_classes else math.nan,
        "average_precision": float(average_precision_score(labels, probabilities)) if both_classes else math.nan,
    }


def format_table(rows: dict[str, dict]) -> str:
    """A plain-text table: one row per evaluated set, one column per metric."""
    head = f"{'set':<22}{'n':>7}" + "".join(f"{name:>18}" for name in METRIC_NAMES)
    lines = [head, "-" * len(head)]
    for name, m in rows.items():
        cells = "".join(f"{m[k]:>18.4f}" for k in METRIC_NAMES)
        lines.append(f"{name:<22}{m['examples']:>7}{cells}")
    return "\n".join(lines)


def write_report(evaluation: Evaluation, folder: Path, thresholds: tuple[float, float]) -> list[Path]:
    """Precision-recall curve and score histogram as PNG files in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    labels, probs = evaluation.labels, evaluation.probabilities
    written = []

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    if labels.any() and (labels == 0).any():
        precision, recall, _ = precision_recall_curve(labels, probs)
        ax.plot(recall, precision, color="#1f77b4")
        ax.set_title(f"Precision-recall on held-out data (AP {evaluation.metrics['average_precision']:.3f})")
    ax.set_xlabel("recall (spam caught)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    path = folder / "precision_recall.png"
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    written.append(path)

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    bins = np.linspace(0, 1, 41)
    ax.hist(probs[labels == 0], bins=bins, alpha=0.6, label="ham", color="#2ca02c")
    ax.hist(probs[labels == 1], bins=bins, alpha=0.6, label="spam", color="#d62728")
    for value, name in zip(thresholds, ("review", "block")):
        ax.axvline(value, color="black", linestyle="--", linewidth=1)
        ax.text(value, ax.get_ylim()[1] * 0.95, f" {name}", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("spam probability")
    ax.set_ylabel("comments")
    ax.set_title("Scores on held-out data")
    ax.legend()
    path = folder / "score_histogram.png"
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    written.append(path)
    return written
