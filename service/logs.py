"""One JSON line per request on the ``spamgate.access`` logger: request id, method, route, status,
duration, site and verdicts. Never the comment's text and never the API key.

The request id is the client's ``X-Request-ID`` when it sends a sane one, else a new one; either way it is
sent back in the ``X-Request-ID`` header, so a client's log and ours can be joined.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid

from flask import Flask, g, request

from . import metrics

log = logging.getLogger("spamgate.access")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def install(app: Flask) -> None:
    @app.before_request
    def _start():
        g.started = time.perf_counter()
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _SANE_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def _finish(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        rule = request.url_rule.rule if request.url_rule is not None else None
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.count_request(rule, response.status_code, seconds)
        if log.isEnabledFor(logging.INFO):
            key = g.get("key")
            line = {
                "request_id": request_id,
                "method": request.method,
                "route": rule or request.path[:200],
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "pid": os.getpid(),  # which worker answered
            }
            if key is not None:
                line["site"] = key.site
            if g.get("verdicts"):
                line["verdicts"] = g.verdicts
            log.info(json.dumps(line))
        return response
