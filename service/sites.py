"""A site's own rules: ``GET/PUT /v1/sites/<site>/rules``, for the site's moderators (and admins).

The rules are checked whole before anything is stored (a pattern that does not compile or could run away
is refused, naming it), stored in Redis as JSON, and read by every worker within a second
(``Service.policy_for``).
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify

from model.rules import SiteRules, SiteRulesError

from .api import _authenticate, _json_body, _stored
from .auth import SITE_PATTERN
from .errors import ApiError

bp = Blueprint("sites", __name__, url_prefix="/v1/sites")


def _site_for(site: str):
    key = _authenticate("moderator")
    if not SITE_PATTERN.match(site):
        raise ApiError(404, "not_found", "no such site")
    if key.role != "admin" and key.site != site:
        raise ApiError(403, "forbidden", f"this key manages the site {key.site!r} only")
    return key


def _answer(site: str, rules: SiteRules):
    policy = current_app.extensions["spamgate"].policy
    block = rules.block if rules.block is not None else policy.block_threshold
    return jsonify({
        "site": site,
        "rules": rules.to_json(),
        "effective_thresholds": {
            "review": rules.review if rules.review is not None else policy.review_threshold,
            "block": block,
            # The operator's; a site's block threshold above it replaces it too (model/verdict.py).
            "words_only_block": max(block, policy.words_only_block_threshold),
        },
    })


@bp.get("/<site>/rules")
def get_rules(site: str):
    _site_for(site)
    stored = _stored(lambda: current_app.extensions["spamgate"].store.site_rules(site))
    rules = SiteRules.from_json(json.loads(stored)) if stored else SiteRules()
    return _answer(site, rules)


@bp.put("/<site>/rules")
def put_rules(site: str):
    _site_for(site)
    try:
        rules = SiteRules.from_json(_json_body())
    except SiteRulesError as e:
        raise ApiError(400, "invalid_rules", str(e), field=e.field) from None
    service = current_app.extensions["spamgate"]
    try:
        service.policy.for_site(rules)  # thresholds that cross the operator's (review above block)
    except ValueError as e:
        raise ApiError(400, "invalid_rules", f"thresholds: {e}", field="thresholds") from None
    _stored(lambda: service.store.put_site_rules(site, json.dumps(rules.to_json(), ensure_ascii=False)))
    return _answer(site, rules)
