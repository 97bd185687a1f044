"""Akismet's REST API on top of spamgate's scoring, verdict store and feedback, so a plugin that speaks
Akismet switches by changing one base URL.

Form-encoded POSTs, plain-text answers, as Akismet publishes them: verify-key answers ``valid`` or
``invalid``; comment-check answers ``true`` (spam: verdict review or block) or ``false``, with
``X-akismet-pro-tip: discard`` for a block and ``X-akismet-guid`` carrying the verdict id; submit-spam and
submit-ham answer ``Thanks for making the web a better place.``. A missing parameter or a bad key answers
``invalid`` with ``X-akismet-debug-help`` saying what is wrong. spamgate's reasons travel in
``X-Spamgate-Reasons`` (JSON, ASCII), which Akismet plugins ignore.

``api_key`` is a spamgate key of role client (or admin); ``blog`` must name that key's site: the site
itself ("news.example") or a URL on it ("https://www.news.example/").
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, request

from model.comment import Comment

from .api import ApiError, _comment_record, _now, _valid_id, check_digest, check_size, report_subject, score
from .auth import Key, request_key
from .store import StoreUnavailable

bp = Blueprint("akismet", __name__)

THANKS = "Thanks for making the web a better place."
GUARANTEED_SPAM_AUTHOR = "akismet-guaranteed-spam"


class AkismetError(Exception):
    def __init__(self, help_text: str, status: int = 200):
        super().__init__(help_text)
        self.help_text, self.status = help_text, status


@bp.errorhandler(AkismetError)
def _invalid(e: AkismetError):
    return _text("invalid", e.status, {"X-akismet-debug-help": e.help_text})


def _text(body: str, status: int = 200, headers: dict | None = None):
    return current_app.response_class(body, status=status, mimetype="text/plain", headers=headers or {})


def _params() -> dict:
    return request.form if request.method == "POST" else request.args


def _key(require_blog: bool = True) -> Key:
    params = _params()
    token = params.get("api_key") or params.get("key")
    if not token:
        raise AkismetError("Empty \"api_key\" value")
    key = request_key(token)
    if key is None or not key.allows("client"):
        raise AkismetError("Invalid key: not a spamgate client key")
    if require_blog:
        blog = params.get("blog")
        if not blog:
            raise AkismetError("Empty \"blog\" value")
        if _site_of(blog) != key.site.lower().removeprefix("www."):
            # json.dumps keeps the header ASCII, whatever script the blog's name is in.
            raise AkismetError(f"blog {json.dumps(blog[:200])} is not the site of this key ({key.site})")
    return key


def _site_of(blog: str) -> str:
    blog = blog.strip()
    try:
        host = urlsplit(blog if "//" in blog else "//" + blog).hostname or ""
    except ValueError:  # "http://[x": not a URL at all
        return ""
    return host.lower().removeprefix("www.")


def _comment() -> Comment:
    params = _params()
    if not params.get("user_ip"):
        raise AkismetError("Empty \"user_ip\" value")
    honeypot_field = params.get("honeypot_field_name", "")
    comment = Comment(
        content=params.get("comment_content", ""),
        author=params.get("comment_author", ""),
        author_email=params.get("comment_author_email", ""),
        author_url=params.get("comment_author_url", ""),
        user_ip=params.get("user_ip", ""),
        user_agent=params.get("user_agent", ""),
        referrer=params.get("referrer", ""),
        permalink=params.get("permalink", ""),
        lang=params.get("blog_lang", ""),
        honeypot=params.get(honeypot_field, "") if honeypot_field else "",
    )
    try:
        check_size(comment)
    except ApiError as e:
        raise AkismetError(e.message, status=413) from None
    return comment


def _client_fields() -> dict:
    params = _params()
    return {name: params[name] for name in ("comment_type", "comment_date_gmt", "comment_post_modified_gmt",
                                            "blog_charset", "user_role", "recheck_reason", "is_test")
            if params.get(name)}


def _is_test() -> bool:
    return _params().get("is_test", "").strip().lower() in ("1", "true")


@bp.post("/1.1/verify-key")
def verify_key():
    _key()
    return _text("valid")


@bp.post("/1.1/comment-check")
def comment_check():
    key = _key()
    comment = _comment()
    params = _params()
    if comment.author == GUARANTEED_SPAM_AUTHOR:
        return _text("true", headers={"X-akismet-debug-help": "test value: akismet-guaranteed-spam is always spam"})
    if params.get("user_role", "").strip().lower() == "administrator":
        return _text("false", headers={"X-akismet-debug-help": "an administrator's comment is never spam"})
    scored = score([(comment, _client_fields())], key.site)[0]
    g.key, g.verdicts = key, [scored.verdict]
    _count_usage(key)
    result = json.loads(scored.result)
    headers = {
        "X-Spamgate-Verdict": scored.verdict,
        "X-Spamgate-Probability": str(result["spam_probability"]),
        "X-Spamgate-Reasons": _reasons_header(result["reasons"]),
    }
    if scored.id:
        headers["X-akismet-guid"] = scored.id
    if scored.verdict == "block":
        headers["X-akismet-pro-tip"] = "discard"
    return _text("true" if scored.verdict != "allow" else "false", headers=headers)


def _reasons_header(reasons: list[dict], limit: int = 2000) -> str:
    """The reasons as ASCII JSON, at most ``limit`` bytes (proxies refuse long headers): the heaviest
    reasons come first, and the ones that do not fit are left out."""
    out = []
    for r in reasons:
        out.append({"code": r["code"], "message": r["message"][:300], "weight": r["weight"]})
        if len(json.dumps(out)) > limit:
            out.pop()
            break
    return json.dumps(out)


def _submit(label: str):
    key = _key()
    comment = _comment()
    if _is_test():
        return _text(THANKS, headers={"X-akismet-debug-help": "is_test=1: not kept as training data"})
    store = current_app.extensions["spamgate"].store
    _, stamp = _now()
    entry = {**_comment_record(comment), "label": label, "site": key.site, "moderator": f"akismet:{key.id}",
             "note": f"submit-{label}", "at": stamp}
    try:
        # The verdict this corrects: the guid a client sends back, or else the newest verdict on the site
        # for the same comment (Akismet clients resend the comment's fields).
        guid = _params().get("guid", "")
        verdict_id = guid if _valid_id(guid) else store.latest_verdict_id(
            key.site, check_digest(comment, key.site, current_app.extensions["spamgate"].policy_for(key.site)))
        record = store.verdict(verdict_id) if verdict_id else None
        if record is not None and record["site"] == key.site:
            decision = {"label": label, "moderator": entry["moderator"], "note": entry["note"], "key": key.id,
                        "at": stamp, "previous_verdict": record["result"]["verdict"]}
            store.record_decision(verdict_id, {**record["comment"], **entry, "verdict_id": verdict_id}, decision)
        else:
            store.add_report(entry, report_subject(key.site, comment))
    except StoreUnavailable as e:
        raise AkismetError(f"spamgate's store is unavailable, nothing was recorded: {e}", status=503) from None
    return _text(THANKS)


@bp.post("/1.1/submit-spam")
def submit_spam():
    return _submit("spam")


@bp.post("/1.1/submit-ham")
def submit_ham():
    return _submit("ham")


def _count_usage(key: Key) -> None:
    try:
        current_app.extensions["spamgate"].store.count_usage(key.site)
    except StoreUnavailable:
        pass  # the check was answered; an uncounted call is not worth failing it


@bp.route("/1.2/usage-limit", methods=["GET", "POST"])
def usage_limit():
    key = _key(require_blog=False)
    try:
        usage = current_app.extensions["spamgate"].store.usage(key.site)
    except StoreUnavailable:
        usage = 0
    # Self-hosted: there is no plan limit, so never throttled.
    body = {"limit": "none", "usage": usage, "percentage": "0.00", "throttled": False}
    return current_app.response_class(json.dumps(body), mimetype="application/json")
