"""The /v1 API: check comments, look verdicts up, moderate, and feed labels back for training.

Every request is validated here, at the edge, before anything is scored or stored; every failure is an
ApiError with one JSON shape (service/errors.py).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from model.comment import FIELDS as COMMENT_FIELDS, Comment, InvalidComment
from model.verdict import Policy, json_weight

from . import metrics
from .auth import Key, bearer_token, request_key
from .errors import ApiError
from .store import VERDICTS, Check, StoreUnavailable

bp = Blueprint("v1", __name__, url_prefix="/v1")

# The comment fields that can change a score (rule lists may read the IP and user agent): the cache key
# is made of these, the site and the site's policy.
SCORED_FIELDS = ("content", "author", "author_email", "author_url", "user_ip", "user_agent", "honeypot")
# Fields a client may add for its own bookkeeping; stored with the verdict, never scored.
CLIENT_FIELDS = ("comment_id", "post_id", "created_at")
LABELS = ("spam", "ham")


def _service():
    return current_app.extensions["spamgate"]


# -- authentication ---------------------------------------------------------------------------------


def _authenticate(*roles: str) -> Key:
    token = bearer_token(request.headers.get("Authorization", ""))
    if not token:
        raise ApiError(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'",
                       headers={"WWW-Authenticate": 'Bearer realm="spamgate"'})
    key = request_key(token)
    if key is None:
        raise ApiError(401, "unauthorized", "unknown API key", headers={"WWW-Authenticate": 'Bearer realm="spamgate"'})
    if not key.allows(*roles):
        raise ApiError(403, "forbidden", f"a {key.role} key cannot do this; it needs the role {' or '.join(roles)}")
    g.key = key
    return key


# -- input ------------------------------------------------------------------------------------------


def _json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = request.get_data(cache=True)
    # Under gunicorn (wsgi.input_terminated) werkzeug reads until the stream ends or MAX_CONTENT_LENGTH is
    # reached, and stops quietly at either: a body cut short of its Content-Length, or one without a length
    # that goes on past the limit, would be parsed as if it were whole.
    if request.content_length is not None and len(raw) < request.content_length:
        raise ApiError(400, "bad_request", f"the body ended after {len(raw)} of its {request.content_length} bytes")
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and len(raw) >= limit:
        raise ApiError(413, "too_large", f"the request body is larger than {limit} bytes")
    try:
        return json.loads(raw)
    except RecursionError:
        raise ApiError(400, "invalid_json", "the JSON is nested too deeply") from None
    except ValueError as e:  # includes bad UTF-8
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {e}") from None


def _object(data: Any, what: str = "body") -> dict:
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_field", f"the {what} must be a JSON object", field=what)
    return data


def _parse_comment(data: Any, field_prefix: str = "") -> tuple[Comment, dict]:
    """A Comment and the client's own fields, or ApiError naming the field at fault."""
    data = _object(data, field_prefix.rstrip(".") or "body")
    try:
        comment = Comment.from_mapping(data)
    except InvalidComment as e:
        raise ApiError(400, "invalid_field", f"{e.field} {e.message}", field=field_prefix + e.field) from None
    check_size(comment, field_prefix)
    client = {}
    for name in CLIENT_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ApiError(400, "invalid_field", f"{name} must be a string or an integer", field=field_prefix + name)
        client[name] = value
    return comment, client


def check_size(comment: Comment, field_prefix: str = "") -> None:
    """413 for a comment whose text fields together exceed SPAMGATE_MAX_COMMENT_BYTES (UTF-8)."""
    limit = _service().settings.max_comment_bytes
    texts = [getattr(comment, name) for name in COMMENT_FIELDS]
    if 4 * sum(map(len, texts)) <= limit:  # a character is at most four bytes of UTF-8
        return
    size = sum(len(text.encode()) for text in texts)
    if size > limit:
        raise ApiError(413, "too_large", f"the comment is {size} bytes, over the limit of {limit}",
                       field=field_prefix + "content")


def check_digest(comment: Comment, site: str, policy: Policy) -> str:
    """The cache key of a check: what was scored, under which policy (the site's rules included), for
    which site. The site is part of it so that one site's "cached": true never tells it what another
    site has seen."""
    material = [site, policy.fingerprint] + [getattr(comment, f) for f in SCORED_FIELDS]
    return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode()).hexdigest()


def report_subject(site: str, comment: Comment) -> str:
    """What makes two reports of a never-checked comment the same report (whatever their labels, so a
    later change of label is recorded)."""
    material = [site, _comment_record(comment)]
    return hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _comment_record(comment: Comment) -> dict:
    """The comment's non-empty fields, as stored with a verdict and in the feedback stream."""
    return {name: value for name in COMMENT_FIELDS if (value := getattr(comment, name))}


def _now() -> tuple[float, str]:
    now = time.time()
    return now, datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="milliseconds")


# -- scoring ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """One checked comment: its result as JSON text, and what the service did with it."""

    result: str  # the scoring core's result, JSON text
    verdict: str
    id: str | None  # None when the record could not be stored (Redis down)
    cached: bool

    def response(self, site_json: str) -> str:
        """The /v1 answer: the result plus id, cached and site, as JSON text."""
        # Without a stored record there is nothing to look up later: say so rather than hand out an id.
        tail = f'"id": "{self.id}"' if self.id else '"id": null, "stored": false'
        return f'{self.result[:-1]}, {tail}, "cached": {"true" if self.cached else "false"}, "site": {site_json}}}'


_VERDICT_IN_JSON = re.compile(r'"verdict": "(\w+)"')


def score(items: list[tuple[Comment, dict]], site: str) -> list[Scored]:
    """Score comments (from the cache where possible) and store their verdict records. Results travel
    as JSON text throughout: a cache hit goes from Redis to the client without being decoded and
    encoded again. Shared by /v1 and the Akismet routes."""
    service = _service()
    scorer = service.scorer  # one model for the whole request, even if a reload lands meanwhile
    policy = service.policy_for(site)
    now, stamp = _now()
    checks = []
    for comment, client in items:
        verdict_id = service.store.new_id()
        head = json.dumps({"id": verdict_id, "site": site, "created": now, "created_at": stamp,
                           "comment": _comment_record(comment), "client": client}, ensure_ascii=False)
        checks.append(Check(check_digest(comment, site, policy), verdict_id, head[:-1] + ', "result": '))
    try:
        cached = service.store.checks_from_cache(scorer.model_version, site, now, checks)
        redis_up = True
    except StoreUnavailable:
        cached, redis_up = [None] * len(items), False
    missing = [i for i, hit in enumerate(cached) if hit is None]
    fresh = scorer.check_many([items[i][0] for i in missing], policy) if missing else []
    fresh_json = [(json.dumps(r, ensure_ascii=False), r["verdict"]) for r in fresh]
    results = [(hit, _VERDICT_IN_JSON.search(hit).group(1)) if hit is not None else None for hit in cached]
    for i, pair in zip(missing, fresh_json):
        results[i] = pair
    metrics.count_scores([verdict for _, verdict in results], fresh, hits=len(items) - len(missing) if redis_up else 0,
                         misses=len(missing) if redis_up else 0)
    stored = redis_up
    if redis_up and missing:
        try:
            service.store.save_checks(scorer.model_version, site, now, [checks[i] for i in missing], fresh_json)
        except StoreUnavailable:
            stored = False  # the hits' records were stored by checks_from_cache; these were not
    return [Scored(text, verdict, check.id if (hit is not None or stored) else None, hit is not None)
            for check, (text, verdict), hit in zip(checks, results, cached)]


def _json_text(text: str, status: int = 200):
    return current_app.response_class(text + "\n", status=status, mimetype="application/json")


@bp.post("/comments/check")
def check():
    key = _authenticate("client")
    comment, client = _parse_comment(_json_body())
    scored = score([(comment, client)], key.site)[0]
    g.verdicts = [scored.verdict]
    return _json_text(scored.response(json.dumps(key.site)))


@bp.post("/comments/check-batch")
def check_batch():
    key = _authenticate("client")
    body = _object(_json_body())
    comments = body.get("comments")
    limit = _service().settings.max_batch
    if not isinstance(comments, list):
        raise ApiError(400, "invalid_field", "comments must be an array of comment objects", field="comments")
    if not comments:
        raise ApiError(400, "invalid_field", "comments must not be empty", field="comments")
    if len(comments) > limit:
        raise ApiError(413, "too_large", f"{len(comments)} comments, more than the {limit} allowed in one batch",
                       field="comments")
    parsed, errors = [], {}
    for i, item in enumerate(comments):
        try:
            parsed.append((i, _parse_comment(item, f"comments[{i}].")))
        except ApiError as e:
            errors[i] = json.dumps({"error": {**e.body()["error"], "status": e.status}}, ensure_ascii=False)
    site_json = json.dumps(key.site)
    results = score([p for _, p in parsed], key.site) if parsed else []
    g.verdicts = [r.verdict for r in results]
    scored = {i: result.response(site_json) for (i, _), result in zip(parsed, results)}
    return _json_text('{"results": [' + ", ".join(scored.get(i) or errors[i] for i in range(len(comments))) + "]}")


# -- verdicts ---------------------------------------------------------------------------------------


def _own_verdict(verdict_id: str, key: Key) -> dict:
    if not _valid_id(verdict_id):
        raise ApiError(404, "not_found", "no such verdict")
    record = _stored(lambda: _service().store.verdict(verdict_id))
    # Another site's verdict is reported as absent: a key learns nothing of other sites.
    if record is None or record["site"] != key.site:
        raise ApiError(404, "not_found", "no such verdict (it may have expired)")
    return record


def _stored(fn):
    try:
        return fn()
    except StoreUnavailable as e:
        raise ApiError(503, "store_unavailable", f"the verdict store is unavailable, nothing was read or stored: {e}",
                       headers={"Retry-After": "1"}) from None


@bp.get("/verdicts/<verdict_id>")
def get_verdict(verdict_id: str):
    key = _authenticate("moderator")
    return jsonify(_own_verdict(verdict_id, key))


@bp.get("/verdicts")
def list_verdicts():
    key = _authenticate("moderator")
    verdict = request.args.get("verdict", "review")
    if verdict not in VERDICTS:
        raise ApiError(400, "invalid_field", f"verdict must be one of {', '.join(VERDICTS)}", field="verdict")
    since = _since(request.args.get("since"))
    cursor = request.args.get("cursor") or None
    if cursor is not None and not _valid_cursor(cursor):
        raise ApiError(400, "invalid_field", "cursor is not one this service returned", field="cursor")
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError:
        raise ApiError(400, "invalid_field", "limit must be an integer", field="limit") from None
    if not 1 <= limit <= 500:
        raise ApiError(400, "invalid_field", "limit must be between 1 and 500", field="limit")
    page = _stored(lambda: _service().store.queue(key.site, verdict, since, cursor, limit))
    return jsonify({"verdicts": page.items, "cursor": page.cursor})


def _since(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise ApiError(400, "invalid_field", "since must be a finite time", field="since")
        return number
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "invalid_field", "since must be an ISO 8601 time or a Unix timestamp",
                       field="since") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _valid_cursor(cursor: str) -> bool:
    return _valid_id(cursor)


def _valid_id(verdict_id: str) -> bool:
    return 8 <= len(verdict_id) <= 64 and verdict_id.isascii() and verdict_id.isalnum()


# -- feedback ---------------------------------------------------------------------------------------


def _label_fields(data: dict) -> tuple[str, str, str]:
    label = data.get("label")
    if label not in LABELS:
        raise ApiError(400, "invalid_field", "label must be \"spam\" or \"ham\"", field="label")
    fields = []
    for name in ("moderator", "note"):
        value = data.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str) or len(value) > 1000:
            raise ApiError(400, "invalid_field", f"{name} must be a string of at most 1000 characters", field=name)
        fields.append(value)
    return label, fields[0], fields[1]


@bp.post("/verdicts/<verdict_id>/feedback")
def verdict_feedback(verdict_id: str):
    key = _authenticate("client", "moderator")
    data = _object(_json_body())
    label, moderator, note = _label_fields(data)
    record = _own_verdict(verdict_id, key)
    _, stamp = _now()
    decision = {"label": label, "moderator": moderator, "note": note, "key": key.id, "at": stamp,
                "previous_verdict": record["result"]["verdict"]}
    entry = {**record["comment"], "label": label, "site": key.site, "verdict_id": verdict_id,
             "model_version": record["result"].get("model_version"), "moderator": moderator, "note": note, "at": stamp}
    added = _stored(lambda: _service().store.record_decision(verdict_id, entry, decision))
    return jsonify({"id": verdict_id, "label": label, "recorded": added,
                    "message": "recorded" if added else "already recorded with this label; nothing changed"})


@bp.post("/feedback")
def report():
    key = _authenticate("client", "moderator")
    data = _object(_json_body())
    label, moderator, note = _label_fields(data)
    comment, client = _parse_comment({k: v for k, v in data.items() if k not in ("label", "moderator", "note")})
    _, stamp = _now()
    entry = {**_comment_record(comment), "label": label, "site": key.site, "moderator": moderator, "note": note,
             "at": stamp, **({"client": client} if client else {})}
    added = _stored(lambda: _service().store.add_report(entry, report_subject(key.site, comment)))
    return jsonify({"label": label, "recorded": added,
                    "message": "recorded" if added else "already recorded; nothing changed"}), 201 if added else 200


# -- the model --------------------------------------------------------------------------------------


@bp.get("/model")
def model_info():
    _authenticate("client", "moderator")
    service = _service()
    return jsonify({"metadata": service.scorer.artifact.metadata, "last_reload": service.last_reload,
                    "thresholds": {"review": service.policy.review_threshold,
                                   "block": service.policy.block_threshold,
                                   "words_only_block": service.policy.words_only_block},
                    "rules": [{"name": r.name, "code": r.code, "format": r.format, "entries": len(r.entries),
                               "weight": json_weight(r.weight), "fields": list(r.fields)}
                              for r in service.policy.rules]})


@bp.post("/model/reload")
def model_reload():
    """Load the model folder again. Under gunicorn a HUP to the master (service/gunicorn.conf.py) then
    has every worker do the same, replacing workers without dropping requests in flight: a model that
    loads is served by all of them, one that fails is reported by all of them and the old one serves."""
    _authenticate("admin")
    result = _service().reload_model()
    rolled_out = str(request.environ.get("SERVER_SOFTWARE", "")).startswith("gunicorn")
    if rolled_out:
        # Failed or not: every worker then holds the same model and reports the same last reload.
        os.kill(os.getppid(), signal.SIGHUP)
    if not result["ok"]:
        return jsonify({"reloaded": False, **result}), 409
    return jsonify({"reloaded": True, "all_workers": rolled_out, **result})

