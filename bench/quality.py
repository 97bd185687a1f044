"""Quality, leave-one-video-out: train on three YouTube videos plus both SMS sets, test on the fourth.

For each held-out video it prints F1 (a verdict of review or block counts as caught) and the share of ham
blocked, for spamgate (classifier + rules + verdict thresholds, as shipped) and, in the same run, for
baselines:
  - plain: TfidfVectorizer() + LogisticRegression() on the raw text, unweighted, caught = blocked =
    probability >= 0.5 (a plain classifier has one decision);
  - plain+thresholds: the same probabilities with spamgate's review/block thresholds;
  - bogofilter, if the `bogofilter` command is installed (unsure = review, spam = block).

Run:  .venv/bin/python bench/quality.py [--data ../shared/data] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model import artifact as store  # noqa: E402
from model.scorer import Scorer  # noqa: E402
from model.rules import DEFAULT_RULES, load_all  # noqa: E402
from model.verdict import Policy  # noqa: E402
from training.data import load  # noqa: E402
from training.evaluate import evaluate  # noqa: E402
from training.train import fit  # noqa: E402


def plain_baseline(train, test):
    vectorizer = TfidfVectorizer()
    X = vectorizer.fit_transform([ex.comment["content"] for ex in train])
    model = LogisticRegression(max_iter=1000).fit(X, [ex.label for ex in train])
    return model.predict_proba(vectorizer.transform([ex.comment["content"] for ex in test]))[:, 1]


def _as_mail(text: str) -> bytes:
    # bogofilter reads a mail message; an empty header keeps the comment's first line out of the headers.
    return b"Subject: comment\n\n" + text.encode() + b"\n"


def _mbox(examples) -> bytes:
    return b"".join(b"From comment@example.invalid Thu Jan  1 00:00:00 2015\n" + _as_mail(ex.comment["content"])
                    for ex in examples)


def bogofilter(train, test) -> np.ndarray | None:
    if shutil.which("bogofilter") is None:
        return None
    with tempfile.TemporaryDirectory() as home:
        for label, flag in ((1, "-s"), (0, "-n")):
            subprocess.run(["bogofilter", "-d", home, "-M", flag], check=True,
                           input=_mbox([ex for ex in train if ex.label == label]))
        out = []
        for ex in test:
            # exit status: 0 spam, 1 ham, 2 unsure
            status = subprocess.run(["bogofilter", "-d", home], input=_as_mail(ex.comment["content"])).returncode
            out.append(1.0 if status == 0 else 0.5 if status == 2 else 0.0)
        return np.array(out)


def decisions(labels, caught, blocked) -> dict:
    return {"f1": float(f1_score(labels, caught)), "ham_blocked": float(blocked[labels == 0].mean())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    examples = load([args.data])
    videos = sorted({ex.group for ex in examples if ex.family == "youtube"})
    policy = Policy(rules=load_all([DEFAULT_RULES]))  # as shipped: the built-in rules and the default lists
    results = {}
    for video in videos:
        train = [ex for ex in examples if ex.group != video]
        test = [ex for ex in examples if ex.group == video]
        labels = np.array([ex.label for ex in test])
        started = time.perf_counter()
        pipeline = fit(train, progress=False)
        seconds = time.perf_counter() - started
        scorer = Scorer(store.Artifact(pipeline, {"version": f"bench-{video}"}, Path(".")), policy)
        ours = evaluate(scorer, test).metrics
        plain = plain_baseline(train, test)
        row = {
            "spamgate": {"f1": ours["f1"], "ham_blocked": ours["ham_blocked"], "spam_blocked": ours["spam_blocked"],
                         "fit_seconds": seconds},
            "plain": decisions(labels, plain >= 0.5, plain >= 0.5),
            "plain+thresholds": decisions(labels, plain >= policy.review_threshold, plain >= policy.block_threshold),
        }
        bogo = bogofilter(train, test)
        if bogo is not None:
            # "unsure" is held for review; only "spam" is blocked.
            row["bogofilter"] = decisions(labels, bogo >= 0.5, bogo >= 1.0)
        results[video] = row
        print(video, json.dumps(row), file=sys.stderr, flush=True)

    systems = list(next(iter(results.values())))
    print(f"\nleave-one-video-out; review >= {policy.review_threshold}, block >= {policy.block_threshold}")
    print(f"{'held-out video':<20}" + "".join(f"{s:>30}" for s in systems))
    print(f"{'':<20}" + "".join(f"{'F1':>18}{'ham blocked':>12}" for _ in systems))
    for video, row in results.items():
        print(f"{video:<20}" + "".join(f"{row[s]['f1']:>18.3f}{row[s]['ham_blocked']:>12.2%}" for s in systems))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
