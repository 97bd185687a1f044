"""The rules engine with the community lists of ../shared/rules: load cost, matching cost, false alarms.

1. Load: seconds and resident memory to load every list (model/data/rules/community.toml pointed at
   ../shared/rules), median of --repeats.
2. Matching cost per comment, pinned to one core: 1 KB comments made of real comments of shared/data,
   median and p99 microseconds of running every list's match, beside no lists and the shipped defaults
   measured in the same run; the same per list; and 1, 8 and 64 KB comments to show it stays linear.
   Then, per pattern list, how many patterns run on a 1 KB comment with the Hyperscan superset and with
   the literal prefilter alone, and how many run on every comment (and what they cost).
3. False alarms: every ham comment of shared/data scored by the shipped model, then each list's weight
   added where the list matches: how many ham comments the list pushes from allow to review or block, and
   to block, per family (English YouTube, English SMS, Hindi SMS).

With --against REV, model/rules.py as it was at git revision REV is loaded beside the current one and
every matching cost is measured for both, comment by comment in turn: on a shared machine the load
changes by 2x within minutes, and only figures taken side by side compare.

Run:  .venv/bin/python bench/rules.py [--repeats 3] [--comments 300] [--speed-only] [--against REV]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from model import rules as R  # noqa: E402
from model.comment import Comment  # noqa: E402
from model.features import prepare  # noqa: E402
from model.scorer import Scorer  # noqa: E402
from model.verdict import Policy  # noqa: E402
from training.data import load as load_data  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def community_config(shared_rules: Path) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="spamgate-rules-"))
    text = (R.DEFAULT_RULES / "community.toml").read_text("utf-8")
    (folder / "rules.toml").write_text(f'lists_dir = "{shared_rules}"\n' + text, encoding="utf-8")
    return folder


def rules_at(revision: str):
    """model/rules.py as it was at ``revision``, imported beside the current one."""
    source = subprocess.run(["git", "show", f"{revision}:model/rules.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="spamgate-rules-at-")) / "rules.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("model.rules_at_revision", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def timed_match(lists, comment: Comment, prepared, module=R) -> float:
    subject = module.Subject(comment, prepared)
    for cached in ("_lower", "_folded", "squeeze", "_runs", "_extends", "_literal_hits"):
        # (a revision may lack one, or have it uncached)
        getattr(getattr(module, cached, None), "cache_clear", lambda: None)()
    started = time.perf_counter()
    for rules in lists:
        rules.match(subject)
    return time.perf_counter() - started


def side_by_side(setups, comments) -> list[list[float]]:
    """Microseconds per comment for each (module, lists) of ``setups``, taken in turn on each comment, the
    order reversed every other comment (the first to run on a comment paid ~4 us more)."""
    samples = [[] for _ in setups]
    for k, (comment, prepared) in enumerate(comments):
        turns = list(zip(samples, setups))
        for column, (module, lists) in turns[::-1] if k % 2 else turns:
            column.append(timed_match(lists, comment, prepared, module) * 1e6)
    return samples


def loaded_alone(lists, module=R):
    """``lists`` as ``load`` gives them when a config names only them: their literals in one index per view
    of their own (taken from the community load, a list would scan the literals of every list)."""
    if not any(r.format == "regex" for r in lists):
        return lists
    shared = {"literals": (module.LiteralIndex(), module.LiteralIndex())}
    if any(f.name == "superset" for f in dataclasses.fields(module.RuleList)):
        shared["superset"] = module.S.Shared()
    out = tuple(dataclasses.replace(r, **shared) if r.format == "regex" else r for r in lists)
    for rules in out:
        rules.matcher
    for index in shared["literals"]:
        index.build()
    if "superset" in shared:
        shared["superset"].build()
    return out


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def family(example) -> str:
    if example.comment.get("lang") == "hi":
        return "sms-hi"
    return "youtube" if example.group.startswith("youtube") else "sms-en"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--comments", type=int, default=300, help="1 KB comments to time")
    parser.add_argument("--speed-only", action="store_true", help="skip the false alarms (section 3)")
    parser.add_argument("--against", metavar="REV", help="also time model/rules.py of this git revision")
    args = parser.parse_args()
    shared = Path(args.shared)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

    config = community_config(shared / "rules")
    print("## Load (every list of shared/rules)\n")
    times, memory = [], []
    for _ in range(args.repeats):
        before = rss_mb()
        started = time.perf_counter()
        community = R.load(config)
        times.append(time.perf_counter() - started)
        memory.append(rss_mb() - before)
        if _ < args.repeats - 1:
            del community
    entries = sum(len(r.entries) for r in community)
    # Memory: the first load's growth (later loads reuse the pages the previous one freed).
    print(f"{len(community)} lists, {entries:,} entries: {statistics.median(times):.1f} s (median of "
          f"{args.repeats}), +{memory[0]:.0f} MB resident")
    old = None
    if args.against:
        module = rules_at(args.against)
        started = time.perf_counter()
        old = (module, module.load(config))
        print(f"at {args.against}: {time.perf_counter() - started:.1f} s (one load)")
    print()
    defaults = R.load_all([R.DEFAULT_RULES])
    # The WordPress list as WordPress applies it (on the text as well), to show why the config does not.
    wordpress = next(r for r in community if r.name == "wordpress-blocklist")
    variants = (dataclasses.replace(wordpress, name="wordpress-blocklist on the text too (as WordPress)",
                                    fields=("content",) + wordpress.fields),)

    examples = load_data([shared / "data"])
    rng = random.Random(11)
    contents = [ex.comment["content"] for ex in examples]

    def comment_of(size: int) -> Comment:
        parts, total = [], 0
        while total < size:
            text = rng.choice(contents)
            parts.append(text)
            total += len(text.encode()) + 1
        return Comment(content=" ".join(parts).encode()[:size].decode("utf-8", "ignore"), author="Rahul Sharma",
                       author_email="rahul@example.in", author_url="https://rahul.example.in/")

    kb = [comment_of(1024) for _ in range(args.comments)]
    prepared = [prepare(c) for c in kb]
    for c, p in zip(kb, prepared):  # warm caches and lazy builds
        timed_match(community, c, p)

    then = f" at {args.against}" if old else ""
    print("## Matching cost per 1 KB comment (one core, microseconds)\n")
    print("| lists | median | p99 |" + (f" median{then} | p99{then} |" if old else ""))
    print("|---|---|---|" + ("---|---|" if old else ""))
    setups = [("none", ()), ("shipped defaults", defaults), ("all community lists", community),
              ("all community lists but smokedetector-watched",
               tuple(r for r in community if r.name != "smokedetector-watched"))]
    setups += [(f"only {r.name}", (r,)) for r in community]
    names = {r.name for r in community}

    def beside(lists):
        """The same lists loaded by the old module (or nothing, for lists not from the community)."""
        if old is None or not lists or any(r.name not in names for r in lists):
            return None
        wanted = {r.name for r in lists}
        theirs = tuple(r for r in old[1] if r.name in wanted)
        return old[0], theirs if len(theirs) == len(old[1]) else loaded_alone(theirs, old[0])

    for name, lists in setups:
        mine = lists if lists in (community, defaults) else loaded_alone(lists)
        pair = [(R, mine)] + ([beside(lists)] if beside(lists) else [])
        samples = side_by_side(pair, list(zip(kb, prepared)))
        print(f"| {name} | " + " | ".join(f"{statistics.median(s):.0f} | {percentile(s, 0.99):.0f}" for s in samples)
              + " |" + (" | |" if old and len(samples) == 1 else ""))

    print("\n## Which patterns run, per pattern list (1 KB comments; median per comment)\n")
    print("The Hyperscan superset (model/superset.py) beside the literal prefilter alone. 'On every text': "
          "patterns in neither (with the superset: those it could not take; without: those with no literal).\n")
    print("| list | patterns | in the superset | on every text | their cost (us) | run, with the superset "
          "| run, literals alone | on every text, literals alone |")
    print("|---|---|---|---|---|---|---|---|")
    texts = [R.Subject(c, p).content for c, p in zip(kb, prepared)]
    for rules in community:
        if rules.format != "regex":
            continue
        matcher = rules.matcher
        uncovered = matcher.uncovered()
        everywhere = uncovered if uncovered is not None else matcher.always
        costs, run, literal_run = [], [], []
        for text in texts:
            started = time.perf_counter()
            for i in everywhere:
                matcher.patterns[i][1].search(text, timeout=R.PATTERN_TIMEOUT)
            costs.append(time.perf_counter() - started)
            run.append(len(matcher.candidates(text)))
            literal_run.append(len(matcher._by_literals(text)[0]))
        covered = f"{len(matcher.patterns) - len(uncovered):,}" if uncovered is not None else "(none)"
        print(f"| {rules.name} | {len(matcher.patterns):,} | {covered} | {len(everywhere)} | "
              f"{statistics.median(costs) * 1e6:.0f} | {statistics.median(run):.0f} | "
              f"{statistics.median(literal_run):.0f} | {len(matcher.always)} |")

    print("\n## Linear in length (all community lists, median microseconds)\n")
    print("| comment | median | per KB |" + (f" median{then} | per KB{then} |" if old else ""))
    print("|---|---|---|" + ("---|---|" if old else ""))
    for size in (1024, 8 * 1024, 64 * 1024):
        comments = [comment_of(size) for _ in range(max(5, 60 // (size // 1024)))]
        samples = side_by_side([(R, community)] + ([old] if old else []), [(c, prepare(c)) for c in comments])
        print(f"| {size // 1024} KB | " + " | ".join(
            f"{statistics.median(s):.0f} | {statistics.median(s) / (size / 1024):.0f}" for s in samples) + " |")

    if args.speed_only:
        return 0
    print("\n## False alarms on ham (shipped model; each list's weight added alone)\n")
    scorer = Scorer.load()
    ham = [ex for ex in examples if not ex.label]
    counts = defaultdict(int)
    for ex in ham:
        counts[family(ex)] += 1
    rows = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))  # list -> family -> [matched, to review+, to block]
    policy = Policy()
    for ex in ham:
        comment = Comment.from_mapping(ex.comment)
        p = prepare(comment)
        result = scorer.check(comment)
        log_odds = next(r["weight"] for r in result["reasons"] if r["code"] == "classifier")
        base = result["verdict"]
        subject = R.Subject(comment, p)
        for rules in defaults + community + variants:
            if rules.match(subject) is None:
                continue
            cell = rows[rules.name][family(ex)]
            cell[0] += 1
            total = sum(r["weight"] for r in result["reasons"][0:] if r["code"] != "classifier"
                        and not isinstance(r["weight"], str)) + log_odds + rules.weight
            probability = 1 / (1 + math.exp(-total))
            if base == "allow" and probability >= policy.review_threshold:
                cell[1] += 1
            if base != "block" and probability >= policy.block_threshold:
                cell[2] += 1
    families = ["youtube", "sms-en", "sms-hi"]
    print("ham comments: " + ", ".join(f"{f} {counts[f]}" for f in families) + "\n")
    print("| list | weight | fields | " + " | ".join(f"{f}: matched / to review+ / to block" for f in families) + " |")
    print("|---|---|---|" + "---|" * len(families))
    for rules in defaults + community + variants:
        cells = [rows[rules.name][f] for f in families]
        print(f"| {rules.name} | {rules.weight:g} | {', '.join(rules.fields)} | "
              + " | ".join(f"{m} / {r} / {b}" for m, r, b in cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
