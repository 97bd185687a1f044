"""``GET /openapi.json``: the OpenAPI 3.1 description of the /v1 API (service/openapi.json, the data
file that tests/test_openapi.py holds to the code). No key needed; not rate limited."""

from __future__ import annotations

import functools
from importlib import resources

from flask import Blueprint, current_app

bp = Blueprint("openapi", __name__)


@functools.cache
def description() -> bytes:
    """The description as stored: read once per process, sent as it is."""
    return resources.files("service").joinpath("openapi.json").read_bytes()


@bp.get("/openapi.json")
def openapi():
    return current_app.response_class(description(), mimetype="application/json")
