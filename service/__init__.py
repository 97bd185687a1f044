"""The HTTP service. ``create_app`` is the one entry point; gunicorn serves ``service.wsgi:app``."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask

from spamgate import config


def create_app(overrides: Mapping[str, Any] | None = None, *, service=None) -> Flask:
    """A configured Flask app. Settings come from the defaults, then ``SPAMGATE_*`` variables, then
    ``overrides`` (a test's). Nothing connects to Redis until a request needs it."""
    from . import akismet, api, errors, health, limits, logs, metrics, openapi, sites
    from .state import Service

    settings = config.load(**dict(overrides or {}))
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["spamgate"] = service or Service(settings)
    errors.install(app)
    logs.install(app)
    limits.install(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(sites.bp)
    app.register_blueprint(akismet.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(openapi.bp)
    logging.getLogger(__name__).debug("app created with model %s", app.extensions["spamgate"].scorer.model_version)
    return app
