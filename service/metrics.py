"""Prometheus metrics, and ``GET /metrics`` to scrape them (no API key: keep it on a private network).

Under gunicorn every worker counts on its own and /metrics, whichever worker answers, reports the sum:
prometheus_client's multiprocess mode, with the folder that service/gunicorn.conf.py makes for each
server start. Without that folder (Flask's test client, ``flask run``) the process's default registry
is used.

Each metric is moved from one place: requests and their latency in service/logs.py, verdicts, cache
lookups and rules fired in ``service.api.score``, Redis errors in ``Store._call``.
"""

from __future__ import annotations

from typing import Iterable

from flask import Blueprint, current_app
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

from spamgate import config

bp = Blueprint("metrics", __name__)

REQUESTS = Counter("spamgate_requests_total", "HTTP requests answered, by route (the URL rule) and status",
                   ["route", "status"])
LATENCY = Histogram("spamgate_request_duration_seconds", "Time to answer a request, by route", ["route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0))
VERDICTS = Counter("spamgate_verdicts_total", "Comments checked, by verdict", ["verdict"])
CACHE = Counter("spamgate_verdict_cache_total", "Verdict cache lookups, by result (hit or miss)", ["result"])
RULES_FIRED = Counter("spamgate_rules_fired_total", "Reasons other than the classifier's and links, by code, "
                      "counted when a comment is scored (not on a cache hit)", ["code"])
REDIS_ERRORS = Counter("spamgate_redis_errors_total", "Redis commands that failed (connection, timeout, error reply)")
RATE_LIMIT_ERRORS = Counter("spamgate_rate_limit_errors_total",
                            "Requests served unlimited because the rate limiter's storage failed")
# An info metric would be the natural type, but prometheus_client's multiprocess mode has none; the
# usual stand-in is a gauge at 1 with the version as a label. livemax: the answer of the workers alive.
MODEL = Gauge("spamgate_model_info", "The model version in use (1; 0 for one replaced by a reload)", ["version"],
              multiprocess_mode="livemax")

# Whatever is not a rule: the classifier's own reason, and the count of links that every linked comment has.
_NOT_RULES = frozenset({"classifier", "links"})
UNMATCHED = "unmatched"  # the route label of a request no URL rule matched: raw paths would be unbounded


def count_request(route: str | None, status: int, seconds: float) -> None:
    """One answered request: ``route`` is its URL rule (None when none matched)."""
    route = route or UNMATCHED
    REQUESTS.labels(route=route, status=str(status)).inc()
    LATENCY.labels(route=route).observe(seconds)


def count_scores(verdicts: Iterable[str], fresh: Iterable[dict], *, hits: int, misses: int) -> None:
    """One call of ``score``: the verdicts it gave (cached or not), the results it scored afresh (their
    rules fired) and its cache hits and misses (both 0 when Redis was not asked)."""
    for verdict in verdicts:
        VERDICTS.labels(verdict=verdict).inc()
    for result in fresh:
        for reason in result["reasons"]:
            if reason["code"] not in _NOT_RULES:
                RULES_FIRED.labels(code=reason["code"]).inc()
    if hits:
        CACHE.labels(result="hit").inc(hits)
    if misses:
        CACHE.labels(result="miss").inc(misses)


_shown_model: list[str] = []  # the version this process last reported


def _show_model(version: str) -> None:
    # Set at scrape time, so it is always the model this worker scores with. remove() does not reach
    # multiprocess files: a version replaced in this process is set to 0 instead.
    if _shown_model and _shown_model[0] != version:
        MODEL.labels(version=_shown_model[0]).set(0)
    MODEL.labels(version=version).set(1)
    _shown_model[:] = [version]


@bp.get("/metrics")
def metrics():
    _show_model(current_app.extensions["spamgate"].scorer.model_version)
    folder = config.metrics_dir()
    if folder is None:
        registry = REGISTRY
    else:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(folder))
    return current_app.response_class(generate_latest(registry), mimetype=None,
                                      headers={"Content-Type": CONTENT_TYPE_LATEST})
