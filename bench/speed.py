"""Speed on one core: single-comment and batch scoring, model load, artifact size, training time.

Pins itself to one CPU. Comments are the real ones of shared/data (mean 86 characters). Every figure is
the median of --repeats runs, beside baselines measured in the same run: the scikit-learn pipeline called
the plain way (one comment per predict_proba call, and one call for the whole batch), and for the batch
``check()`` called on each comment in turn. The runs score the same comments again and again, so the
caches of the scoring core are warm, as in a service that has seen a day of comments; one batch row
empties them before each run. The runs take turns (one run of each, then again), so a
neighbour that slows the machine for a while slows every figure alike.

Run:  .venv/bin/python bench/speed.py [--repeats 5] [--train]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model.comment import Comment  # noqa: E402
from model.features import prepare  # noqa: E402
from model.scorer import SHIPPED_MODEL, Scorer  # noqa: E402
from training.data import load  # noqa: E402


def rates(runs: dict[str, tuple], repeats: int) -> dict[str, float]:
    """Median items per second of each ``name: (fn, n)`` (``fn`` handles ``n`` items) over ``repeats``
    rounds, each round running every ``fn`` once."""
    seen: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (fn, n) in runs.items():
            started = time.perf_counter()
            fn()
            seen[name].append(n / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in seen.items()}


def forget(scorer: Scorer) -> None:
    """Empty what the scoring core keeps between comments (words, link candidates and hosts, phone numbers):
    the other figures re-score the same comments, so every lookup in them is a repeat."""
    from model import links, text

    scorer._fast.words._clear()
    links._candidate.cache_clear()
    links._host_facts.cache_clear()
    text._valid_phone.cache_clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--model", default=str(SHIPPED_MODEL))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train", action="store_true", help="also time `spamgate train` on all the data")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    examples = load([args.data])
    comments = [Comment.from_mapping(ex.comment) for ex in examples]
    loads = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        scorer = Scorer.load(args.model)
        loads.append(time.perf_counter() - started)
    pipeline = scorer.artifact.pipeline
    scorer.check_many(comments)  # warm the per-word cache, as a running service would be

    sample = comments[:: max(1, len(comments) // 1000)]
    single = "single: spamgate check() per comment"
    single_base = "single: baseline pipeline.predict_proba([c]) per comment"
    batch = "batch: spamgate check_many(all)"
    cold = "batch: check_many(all), caches emptied first"
    batch_base = "batch: baseline pipeline.predict_proba(all), no reasons"

    def cold_batch():
        forget(scorer)
        scorer.check_many(comments)

    figures = rates({
        single: (lambda: [scorer.check(c) for c in comments], len(comments)),
        single_base: (lambda: [pipeline.predict_proba([prepare(c)]) for c in sample], len(sample)),
        batch: (lambda: scorer.check_many(comments), len(comments)),
        cold: (cold_batch, len(comments)),
        batch_base: (lambda: pipeline.predict_proba(comments), len(comments)),
    }, args.repeats)
    scorer.check_many(comments)  # warm again for what follows
    width = max(map(len, figures))
    print(f"{len(comments)} comments from {args.data}, one core, median of {args.repeats}")
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:>10,.0f} comments/s")
    print(f"{'single: ratio to baseline':<{width}}  {figures[single] / figures[single_base]:>10.1f} x")
    print(f"{'batch: ratio to check() per comment':<{width}}  {figures[batch] / figures[single]:>10.1f} x")
    print(f"{'batch: ratio to baseline':<{width}}  {figures[batch] / figures[batch_base]:>10.1f} x")
    print(f"{'batch, caches emptied: ratio to baseline':<{width}}  {figures[cold] / figures[batch_base]:>10.1f} x")
    print(f"{'model load (median)':<{width}}  {statistics.median(loads):>10.3f} s")
    size = sum(p.stat().st_size for p in Path(args.model).iterdir() if p.is_file())
    print(f"{'artifact size':<{width}}  {size / 1e6:>10.2f} MB")
    if args.train:
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "spamgate", "train", "--data", args.data, "--out", out],
                           cwd=ROOT, check=True, capture_output=True)
            print(f"{'training on all of the data':<{width}}  {time.perf_counter() - started:>10.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
