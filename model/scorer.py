"""The scoring core's one entry point: a loaded model plus a policy, from comments to results."""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path
from typing import Iterable

from . import artifact as store
from .comment import Comment
from .fastpath import FastScorer
from .features import prepare_many
from .verdict import Policy, decide

SHIPPED_MODEL = Path(__file__).parent / "artifacts"
# A result lists at most this many links (the links reason still counts them all): a comment within the size
# limit can hold 10,000 links, and a result is sent back and stored twice (cache entry and verdict record).
MAX_LISTED_LINKS = 100


class Scorer:
    """Scores comments with one model under one policy. Safe to share between threads: it holds no
    per-request state."""

    def __init__(self, artifact: store.Artifact, policy: Policy | None = None):
        self.artifact = artifact
        self.policy = policy or Policy()
        self._fast = FastScorer(artifact.pipeline)

    @classmethod
    def load(cls, folder: str | Path | None = None, policy: Policy | None = None) -> "Scorer":
        return cls(store.load(folder or SHIPPED_MODEL), policy)

    @property
    def model_version(self) -> str:
        return self.artifact.version

    def check(self, comment: Comment | str, policy: Policy | None = None) -> dict:
        """Result for one comment: spam_probability, verdict, reasons, links, model_version. ``policy``
        replaces the scorer's own (a site's, from ``Policy.for_site``)."""
        return self.check_many([comment], policy)[0]

    def check_many(self, comments: Iterable[Comment | str], policy: Policy | None = None) -> list[dict]:
        """Results for many comments, in order; the same as calling ``check`` on each. The classifier
        scores them as one batch (``FastScorer.score_many``)."""
        with _collector_paused():
            comments = [Comment(content=c) if isinstance(c, str) else c for c in comments]
            prepared = prepare_many(comments)
            policy = policy or self.policy
            return [self._result(c, p, score, policy)
                    for c, p, score in zip(comments, prepared, self._fast.score_many(prepared))]

    def _result(self, comment: Comment, prepared, score, policy: Policy) -> dict:
        probability, verdict, reasons = decide(comment, prepared, score, policy)
        return {
            "spam_probability": round(probability, 6),
            "verdict": verdict,
            "reasons": [r.to_dict() for r in reasons],
            "links": [link.to_dict() for link in prepared.links[:MAX_LISTED_LINKS]],
            "model_version": self.model_version,
        }


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector off for the duration, as it was after. A batch allocates some thirty
    objects a comment that all outlive it (the results), so the collector runs again and again and each
    full run walks every object in the process: 15% of a batch's time, for cycles that scoring never
    makes. If another thread is also scoring, the first to finish turns the collector back on; that only
    costs the other its speed-up."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
