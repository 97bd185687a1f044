"""Akismet's API, driven by the `akismet` client library from the package index, pointed at spamgate
through its documented `http_client` argument (an httpx client whose transport reaches our app)."""

import akismet
import httpx
import pytest

SITE_URL = "https://www.blog-a/"
SPAM = dict(comment_content="Earn money from home, visit http://bit.ly/earn-now and call 9876543210 now!!",
            comment_author="cheap deals", comment_type="comment")
HAM = dict(comment_content="Thank you for the detailed report on the budget, it helped me a lot.",
           comment_author="Asha", comment_type="comment")


class ToService(httpx.BaseTransport):
    """Sends what the client addresses to rest.akismet.com to spamgate instead: in-process through WSGI,
    or to a base URL over real HTTP."""

    def __init__(self, app=None, base: str | None = None):
        self.inner = httpx.WSGITransport(app=app) if app is not None else httpx.HTTPTransport()
        self.base = httpx.URL(base) if base else None

    def handle_request(self, request):
        if self.base is not None:
            request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
        return self.inner.handle_request(request)


def make_client(token, transport, url=SITE_URL):
    return akismet.SyncClient(config=akismet.Config(key=token, url=url), http_client=httpx.Client(transport=transport))


@pytest.fixture
def client_for(app, keys):
    tokens = keys[1]

    def make(site="blog-a", role="client", url=SITE_URL):
        return make_client(tokens[(site, role)], ToService(app=app), url)

    return make


def test_verify_key_valid_and_invalid(client_for, app):
    assert client_for().verify_key() is True
    assert client_for(url="https://blog-b/").verify_key() is False
    wrong = make_client("sg_wrong", ToService(app=app))
    assert wrong.verify_key() is False


def test_comment_check_on_spam_and_ham(client_for):
    client = client_for()
    assert client.comment_check(user_ip="203.0.113.9", **SPAM) in (akismet.CheckResponse.SPAM,
                                                                   akismet.CheckResponse.DISCARD)
    assert client.comment_check(user_ip="203.0.113.9", **HAM) == akismet.CheckResponse.HAM


def test_documented_test_values(client_for):
    client = client_for()
    guaranteed = dict(HAM, comment_author="akismet-guaranteed-spam")
    assert client.comment_check(user_ip="203.0.113.9", **guaranteed) != akismet.CheckResponse.HAM
    assert client.comment_check(user_ip="203.0.113.9", user_role="administrator", **SPAM) == akismet.CheckResponse.HAM


def test_wrong_key_raises_the_clients_key_error(app):
    client = make_client("sg_wrong", ToService(app=app))
    with pytest.raises(akismet.APIKeyError):
        client.comment_check(user_ip="203.0.113.9", **HAM)


def test_submit_spam_and_ham_thank_and_land_in_the_feedback(client_for, app):
    client = client_for()
    assert client.submit_spam(user_ip="203.0.113.9", **HAM) is True
    assert client.submit_ham(user_ip="203.0.113.9", **SPAM) is True
    entries = [e for _, e in app.extensions["spamgate"].store.feedback()]
    assert [(e["content"], e["label"]) for e in entries] == [(HAM["comment_content"], "spam"),
                                                             (SPAM["comment_content"], "ham")]


def test_submit_ham_after_true_is_a_correction_on_the_verdict_and_in_the_export(client_for, app, auth):
    client = client_for()
    raw = app.test_client().post("/1.1/comment-check", data={
        "api_key": client._config.key, "blog": SITE_URL, "user_ip": "203.0.113.9", **SPAM})
    assert raw.get_data(as_text=True) == "true"
    guid = raw.headers["X-akismet-guid"]
    assert client.submit_ham(user_ip="203.0.113.9", **SPAM) is True
    record = app.test_client().get(f"/v1/verdicts/{guid}", headers=auth(role="moderator")).get_json()
    assert [(d["label"], d["previous_verdict"]) for d in record["decisions"]] == [("ham", record["result"]["verdict"])]
    entries = [e for _, e in app.extensions["spamgate"].store.feedback()]
    assert [(e["verdict_id"], e["label"]) for e in entries] == [(guid, "ham")]


def test_is_test_calls_are_not_kept_as_training_data(client_for, app):
    assert client_for().submit_spam(user_ip="203.0.113.9", is_test=True, **HAM) is True
    assert list(app.extensions["spamgate"].store.feedback()) == []


def test_usage_limit_has_akismets_shape_and_counts_checks(client_for):
    client = client_for()
    client.comment_check(user_ip="203.0.113.9", **HAM)
    client.comment_check(user_ip="203.0.113.9", **SPAM)
    usage = client.usage_limit()
    assert set(usage) == {"limit", "usage", "percentage", "throttled"}
    assert usage["usage"] == 2 and usage["throttled"] is False


def test_headers_carry_discard_guid_and_reasons(app, keys):
    token = keys[1][("blog-a", "client")]
    response = app.test_client().post("/1.1/comment-check", data={
        "api_key": token, "blog": "blog-a", "user_ip": "203.0.113.9", "comment_author": "x",
        "comment_content": "hello", "honeypot_field_name": "hp_url", "hp_url": "http://bot.example"})
    assert response.get_data(as_text=True) == "true"
    assert response.headers["X-akismet-pro-tip"] == "discard"
    assert len(response.headers["X-akismet-guid"]) == 32
    assert "honeypot" in response.headers["X-Spamgate-Reasons"]


@pytest.mark.parametrize("data, help_text", [
    ({"blog": "blog-a", "user_ip": "1.2.3.4"}, "api_key"),
    ({"api_key": "sg_nope", "blog": "blog-a", "user_ip": "1.2.3.4"}, "Invalid key"),
    ({"api_key": "TOKEN", "user_ip": "1.2.3.4"}, "blog"),
    ({"api_key": "TOKEN", "blog": "blog-a"}, "user_ip"),
    ({"api_key": "TOKEN", "blog": "blog-b", "user_ip": "1.2.3.4"}, "not the site"),
])
def test_errors_answer_invalid_with_debug_help_never_html(app, keys, data, help_text):
    data = {k: (keys[1][("blog-a", "client")] if v == "TOKEN" else v) for k, v in data.items()}
    response = app.test_client().post("/1.1/comment-check", data=data)
    assert response.get_data(as_text=True) == "invalid"
    assert help_text in response.headers["X-akismet-debug-help"]
    assert response.mimetype == "text/plain"


def test_moderator_key_is_not_an_akismet_key(client_for):
    assert client_for(role="moderator").verify_key() is False


def test_over_real_http_against_gunicorn_and_into_the_export(keys, tmp_path, service_config):
    import json

    from tests.test_e2e import Gunicorn, served_env, spamgate

    env = served_env(tmp_path, service_config, keys)
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    try:
        client = make_client(keys[1][("blog-a", "client")], ToService(base=server.base))
        assert client.verify_key() is True
        assert client.comment_check(user_ip="203.0.113.9", **SPAM) != akismet.CheckResponse.HAM
        assert client.comment_check(user_ip="203.0.113.9", **HAM) == akismet.CheckResponse.HAM
        assert client.submit_ham(user_ip="203.0.113.9", **SPAM) is True
        assert client.usage_limit()["usage"] == 2
    finally:
        server.stop()
    exported = tmp_path / "feedback.jsonl"
    assert spamgate(env, "feedback", "export", "--out", str(exported)).returncode == 0
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [(r["content"], r["label"], bool(r.get("verdict_id"))) for r in rows] == [
        (SPAM["comment_content"], "ham", True)]


@pytest.mark.parametrize("blog", ["http://[x", "https://हिंदी.example/"])
def test_a_strange_blog_is_invalid_not_an_error(app, keys, blog):
    token = keys[1][("blog-a", "client")]
    response = app.test_client().post("/1.1/verify-key", data={"key": token, "blog": blog})
    assert response.get_data(as_text=True) == "invalid"
    assert response.headers["X-akismet-debug-help"].isascii()


def test_akismet_applies_the_comment_size_limit(app, keys):
    token = keys[1][("blog-a", "client")]
    response = app.test_client().post("/1.1/comment-check", data={
        "api_key": token, "blog": "blog-a", "user_ip": "1.2.3.4", "comment_content": "x " * 40_000})
    assert response.get_data(as_text=True) == "invalid" and response.status_code == 413


def test_reasons_header_stays_short_with_many_shorteners(app, keys):
    token = keys[1][("blog-a", "client")]
    content = " ".join(f"https://{host}/abc" for host in ["bit.ly", "ift.tt", "tinyurl.com", "t.co", "is.gd",
                                                          "ow.ly", "cutt.ly", "rb.gy"] * 20)
    response = app.test_client().post("/1.1/comment-check", data={
        "api_key": token, "blog": "blog-a", "user_ip": "1.2.3.4", "comment_content": content})
    assert len(response.headers["X-Spamgate-Reasons"]) <= 2000
    assert "and 5 more" in response.headers["X-Spamgate-Reasons"]
