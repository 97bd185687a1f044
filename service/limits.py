"""Rate limits per API key, counted in Redis so they hold across workers and instances (Flask-Limiter).

Every request that names a key (``Authorization: Bearer``, or Akismet's ``api_key``/``key`` field) is
counted against that key's limit: its own ``rate_limit`` in the keys file, else ``SPAMGATE_RATE_LIMIT``.
Requests with no key or an unknown one are counted per client address under the default limit, which
slows down key guessing. Over the limit: 429 ``rate_limited`` with ``Retry-After``.

While Redis is down the limiter fails open: requests are served unlimited, and each failure is logged
(one line, no trace) and counted in ``spamgate_rate_limit_errors_total``.
"""

from __future__ import annotations

import logging

import math
import time

from flask import Flask, current_app, jsonify, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

log = logging.getLogger(__name__)

# Cheap to ask about and never rate limited: what operators and load balancers poll.
EXEMPT_PATHS = ("/healthz", "/readyz", "/metrics", "/openapi.json")


def _token() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if request.path.startswith("/1.") and request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get("api_key") or request.form.get("key") or ""
    return ""


def _key():
    token = _token()
    return current_app.extensions["spamgate"].keys.find(token) if token else None


def _identity() -> str:
    key = _key()
    return f"key:{key.id}" if key is not None else f"addr:{request.remote_addr or 'unknown'}"


def _limit() -> str:
    key = _key()
    if key is not None and key.rate_limit:
        return key.rate_limit
    return current_app.extensions["spamgate"].settings.rate_limit


class _FailOpen(logging.Handler):
    """Flask-Limiter reports a storage failure it swallowed as an ERROR on its logger, with a trace: turn
    it into one warning line and a metric."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from . import metrics

            metrics.RATE_LIMIT_ERRORS.inc()
        except (ImportError, AttributeError):
            pass
        cause = record.exc_info[1] if record.exc_info else None
        log.warning("rate limiting is off for this request, its store failed: %s", cause or record.getMessage())


def install(app: Flask) -> None:
    settings = app.extensions["spamgate"].settings
    if settings.rate_limit.strip().lower() == "none":
        return
    limiter = Limiter(
        key_func=_identity,
        app=app,
        default_limits=[_limit],
        default_limits_exempt_when=lambda: request.path in EXEMPT_PATHS,
        storage_uri=settings.redis_url,
        storage_options={"socket_timeout": settings.redis_timeout, "socket_connect_timeout": settings.redis_timeout},
        strategy="sliding-window-counter",
        key_prefix=f"{settings.redis_prefix}:v1:ratelimit",
        # Off: the X-RateLimit headers cost one more Redis read on every request (about a fifth of a cache
        # hit's throughput); a refusal says when to come back (below), which is what a client needs.
        headers_enabled=False,
        swallow_errors=True,
    )
    app.extensions["spamgate-limiter"] = limiter

    @app.errorhandler(RateLimitExceeded)
    def _refused(e: RateLimitExceeded):
        retry_after = 1
        try:
            current = limiter.current_limit
            if current is not None:
                retry_after = max(1, math.ceil(current.window.reset_time - time.time()))
        except Exception as err:  # the store failed between the count and now: a guess is fine
            log.warning("rate limit reset time unavailable: %s", err)
        body = {"error": {"code": "rate_limited",
                          "message": f"over the rate limit of {e.limit.limit}; retry in {retry_after} s"}}
        return jsonify(body), 429, {"Retry-After": str(retry_after)}

    flask_limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(h, _FailOpen) for h in flask_limiter_log.handlers):
        flask_limiter_log.addHandler(_FailOpen(logging.ERROR))
        flask_limiter_log.propagate = False  # the trace it carries stays out of the service's log
