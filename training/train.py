"""Training: an honest split, the fit, and publishing an artifact that beats the one it replaces."""

from __future__ import annotations

import hashlib
import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from model import artifact as store
from model.comment import Comment
from model.features import prepare
from model.pipeline import build_pipeline, compact
from model.scorer import Scorer
from model.verdict import Policy

from .data import Example, fingerprint
from .evaluate import Evaluation, evaluate, format_table, write_report

TEST_FRACTION = 0.2
PRIMARY_METRIC = "f1"


class TrainError(Exception):
    pass


def split(examples: list[Example], test_fraction: float = TEST_FRACTION) -> tuple[list[Example], list[Example]]:
    """Hold out whole groups, ``test_fraction`` of the groups of each family (at least one).

    Groups are ordered by a hash of their name, so the split is the same on every run and does not
    depend on the order of the files. A group never straddles the split: a YouTube video, an SMS message
    with its repeats and its Hindi translation.
    """
    groups: dict[str, set[str]] = defaultdict(set)
    for ex in examples:
        groups[ex.family].add(ex.group)
    held_out: set[str] = set()
    for family, names in groups.items():
        if len(names) < 2:
            continue  # nothing to hold out without losing the family from training
        ordered = sorted(names, key=lambda g: hashlib.sha256(g.encode()).hexdigest())
        held_out.update(ordered[: max(1, math.ceil(len(ordered) * test_fraction))])
    train = [ex for ex in examples if ex.group not in held_out]
    test = [ex for ex in examples if ex.group in held_out]
    return train, test


def family_weights(examples: list[Example]) -> np.ndarray:
    """Sample weights that give the SMS family no more total weight than all the other (comment)
    families together; every other example weighs 1.

    The SMS sets hold seven times as many messages as the YouTube set, and texting is further from blog
    comments than YouTube comments are: unweighted, the model learns what SMS spam looks like (prices,
    short codes) and carries it to comments. Comments a site's moderators labelled (a feedback export)
    weigh what a YouTube comment weighs.
    """
    sms = sum(ex.family == "sms" for ex in examples)
    others = len(examples) - sms
    sms_weight = min(1.0, others / sms) if sms and others else 1.0
    weights = np.array([sms_weight if ex.family == "sms" else 1.0 for ex in examples])
    # Mean 1, so that the regularisation strength C means the same whatever the mix.
    return weights * (len(weights) / weights.sum())


def fit(examples: list[Example], *, seed: int = 0, progress: bool = True):
    """A fitted pipeline. Deterministic: the same examples give the same model."""
    labels = np.array([ex.label for ex in examples])
    if len(set(labels)) < 2:
        raise TrainError("training needs both spam and ham examples")
    prepared = [
        prepare(Comment.from_mapping(ex.comment))
        for ex in tqdm(examples, desc="preparing", unit="comment", disable=None if progress else True, file=sys.stderr)
    ]
    pipeline = build_pipeline(seed=seed)
    if progress:
        print("fitting the classifier (5-fold calibration)...", file=sys.stderr)
    pipeline.fit(prepared, labels, classifier__sample_weight=family_weights(examples))
    return compact(pipeline)


@dataclass
class TrainResult:
    artifact: store.Artifact | None
    evaluation: Evaluation
    previous: Evaluation | None
    published: bool
    message: str
    table: str


def train(examples: list[Example], out: Path, *, policy: Policy | None = None, force: bool = False,
          progress: bool = True) -> TrainResult:
    """Split, fit on the training part, evaluate on the held-out part and publish to ``out`` unless the
    model already there scores worse on the same held-out examples (``force`` publishes anyway)."""
    policy = policy or Policy()
    train_set, test_set = split(examples)
    if not test_set or len({ex.label for ex in test_set}) < 2:
        raise TrainError("the held-out split has no spam or no ham; add more labelled groups")
    pipeline = fit(train_set, progress=progress)
    candidate = Scorer(store.Artifact(pipeline, {"version": "candidate"}, out), policy)
    evaluation = evaluate(candidate, test_set)
    rows = {"held-out (new)": evaluation.metrics}
    previous = _evaluate_previous(out, test_set, policy, rows)
    table = format_table(rows)

    if previous is not None and not force and evaluation.metrics[PRIMARY_METRIC] < previous.metrics[PRIMARY_METRIC]:
        message = (f"not published: the new model's held-out {PRIMARY_METRIC} {evaluation.metrics[PRIMARY_METRIC]:.4f} "
                   f"is below the current model's {previous.metrics[PRIMARY_METRIC]:.4f}; use --force to replace it")
        return TrainResult(None, evaluation, previous, False, message, table)

    by_family = Counter((ex.family, "spam" if ex.label else "ham") for ex in train_set)
    saved = store.save(pipeline, out, {
        "training_data": {
            "fingerprint": fingerprint(examples),
            "examples": len(examples),
            "train_examples": len(train_set),
            "held_out_examples": len(test_set),
            "train_counts": {f"{family}/{label}": n for (family, label), n in sorted(by_family.items())},
            "split": f"{TEST_FRACTION:.0%} of the groups of each family held out, ordered by SHA-256 of the group name",
        },
        "metrics": {"held_out": {k: _round(v) for k, v in evaluation.metrics.items()}},
        "thresholds": {"review": policy.review_threshold, "block": policy.block_threshold},
    })
    write_report(evaluation, out / "report", (policy.review_threshold, policy.block_threshold))
    return TrainResult(saved, evaluation, previous, True, f"published {saved.version} to {out}", table)


def _evaluate_previous(out: Path, test_set, policy, rows) -> Evaluation | None:
    if not (out / store.METADATA_FILE).exists():
        return None
    try:
        current = store.load(out)
    except store.ArtifactError as e:
        # A model this code cannot load cannot be the better one: it is replaced.
        print(f"the model in {out} cannot be loaded, so it is not compared: {e}", file=sys.stderr)
        return None
    previous = evaluate(Scorer(current, policy), test_set)
    rows[f"held-out ({current.version})"] = previous.metrics
    return previous


def _round(value):
    return round(value, 6) if isinstance(value, float) and not math.isnan(value) else value
