"""One JSON shape for every error: ``{"error": {"code": ..., "message": ..., "field"?: ...}}``.

Raised as ``ApiError`` from anywhere in a request; Flask's own HTTP errors (404, 405, 413 ...) and any
unexpected exception are turned into the same shape here, so no client ever sees an HTML page or a trace.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    414: "too_large",
    415: "unsupported_media_type",
    417: "expectation_failed",
    429: "rate_limited",
    431: "too_large",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}


def code_for(status: int) -> str:
    return _CODES.get(status, "http_error")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


def install(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return jsonify(e.body()), e.status, e.headers

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        status = e.code or 500
        message = e.description or e.name
        if status == 413:
            message = f"the request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes"
        allow = [(k, v) for k, v in e.get_headers() if k.lower() == "allow"]  # a 405 says what is allowed
        return jsonify(ApiError(status, code_for(status), message).body()), status, allow

    @app.errorhandler(ParseException)
    def _bad_framing(e: ParseException):
        # gunicorn undoes chunked framing while the app reads the body, so a broken chunk is raised here,
        # inside the request, rather than answered by gunicorn: it is the client's mistake, not ours.
        message = f"the request body is not well framed: {str(e)[:200]}"
        return jsonify(ApiError(400, "bad_request", message).body()), 400

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error")
        return jsonify(ApiError(500, "internal_error", "internal error; the server log has the details").body()), 500
