"""Rate limits per API key, counted in Redis so they hold across workers and instances.

Every request that names a key (``Authorization: Bearer``, or Akismet's ``api_key``/``key`` field) is
counted against that key's limit: its own ``rate_limit`` in the keys file, else ``SPAMGATE_RATE_LIMIT``.
One count per key across every route. Requests with no key or an unknown one are counted per client
address under the default limit, which slows down key guessing. Over the limit: 429 ``rate_limited`` with
``Retry-After``.

The counting is the ``limits`` library's (a sliding-window counter in Redis, one Lua call per request);
only the hook that asks it is ours. That library is what Flask-Limiter counts with; Flask-Limiter itself
added about 0.3 ms of Python per request around that call (resolving dynamic limits, exemptions,
contexts), a fifth of a cache hit's CPU, for features this service does not use.

While Redis is down the limiter fails open: requests are served unlimited, each failure is logged (one
line, no trace), and every request served unlimited is counted in ``spamgate_rate_limit_errors_total``.
It shares the store's ``Breaker``: after a failure of either, neither asks Redis for a second, so a slow
Redis costs a request at most one timeout. Requests for unknown routes are counted too (a scan is
slowed down like key guessing).
"""

from __future__ import annotations

import functools
import logging
import math
import time

from flask import Flask, current_app, jsonify, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from . import metrics
from .auth import bearer_token, request_key
from .store import Breaker

log = logging.getLogger(__name__)

# Cheap to ask about and never rate limited: what operators and load balancers poll.
EXEMPT_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json")


def _token() -> str:
    token = bearer_token(request.headers.get("Authorization", ""))
    if token:
        return token
    if request.path.startswith("/1.") and request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get("api_key") or request.form.get("key") or ""
    return ""


@functools.lru_cache(maxsize=256)
def _parsed(limit: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limit))


def _storage_uri(redis_url: str) -> str:
    """The limits library's name for the same Redis: it spells a Unix socket ``redis+unix://``."""
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


class Limiter:
    def __init__(self, redis_url: str, *, prefix: str, default: str, timeout: float, breaker: Breaker):
        storage = storage_from_string(_storage_uri(redis_url), wrap_exceptions=True, key_prefix=prefix,
                                      socket_timeout=timeout, socket_connect_timeout=timeout)
        self.counter = SlidingWindowCounterRateLimiter(storage)
        self.default = default
        self.breaker = breaker

    def refusal(self, identity: str, limit: str):
        """None if this request is within ``limit`` for ``identity`` (and counts it), else the 429 answer."""
        if self.breaker.open:
            metrics.RATE_LIMIT_ERRORS.inc()
            return None
        try:
            for item in _parsed(limit):
                if not self.counter.hit(item, identity):
                    return _too_many(item, self._retry_after(item, identity))
        except Exception as e:  # noqa: BLE001 - whatever failed, comments keep flowing (fail open)
            self.breaker.trip()
            metrics.RATE_LIMIT_ERRORS.inc()
            metrics.REDIS_ERRORS.inc()  # the store will not ask Redis for a second: count the error here
            cause = e.storage_error if isinstance(e, StorageError) else e
            log.warning("rate limiting is off for this request, its store failed: %s", cause)
        return None

    def _retry_after(self, item: RateLimitItem, identity: str) -> int:
        try:
            reset = self.counter.get_window_stats(item, identity).reset_time
        except Exception as e:  # noqa: BLE001 - the count said no; a refusal without the exact wait is right
            log.warning("rate limit reset time unavailable: %s", e)
            return 1
        return max(1, math.ceil(reset - time.time()))


def _too_many(item: RateLimitItem, retry_after: int):
    body = {"error": {"code": "rate_limited", "message": f"over the rate limit of {item}; retry in {retry_after} s"}}
    return jsonify(body), 429, {"Retry-After": str(retry_after)}


def _check():
    if request.path in EXEMPT_PATHS:
        return None
    limiter: Limiter = current_app.extensions["spamgate-limiter"]
    token = _token()
    key = request_key(token) if token else None
    if key is None:
        return limiter.refusal(f"addr:{request.remote_addr or 'unknown'}", limiter.default)
    return limiter.refusal(f"key:{key.id}", key.rate_limit or limiter.default)


def install(app: Flask) -> None:
    settings = app.extensions["spamgate"].settings
    if settings.rate_limit.strip().lower() == "none":
        return
    app.extensions["spamgate-limiter"] = Limiter(settings.redis_url, prefix=f"{settings.redis_prefix}:v1:ratelimit",
                                                 default=settings.rate_limit, timeout=settings.redis_timeout,
                                                 breaker=app.extensions["spamgate"].store.breaker)
    app.before_request(_check)
