"""Health: /healthz is always cheap (the process answers); /readyz runs named checks."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .store import StoreUnavailable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    service = current_app.extensions["spamgate"]
    checks = {}
    try:
        service.store.ping()
        checks["redis"] = {"ok": True}
    except StoreUnavailable as e:
        checks["redis"] = {"ok": False, "error": str(e)}
    reload = service.last_reload
    checks["model"] = {"ok": reload["ok"], "version": service.scorer.model_version}
    if not reload["ok"]:
        checks["model"]["error"] = f"the last reload failed, still serving the previous model: {reload['error']}"
    failed = [name for name, check in checks.items() if not check["ok"]]
    body = {"ready": not failed, "failed": failed, "checks": checks}
    return jsonify(body), 200 if not failed else 503
