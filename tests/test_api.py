"""The /v1 API through Flask's test client, against the test run's real redis-server."""

import json

import pytest

SPAM = {"content": "Nice post! Earn money from home, visit http://bit.ly/earn-now call 9876543210",
        "author_url": "https://ift.tt/xyz"}
HAM = {"content": "Thank you for the detailed explanation, it helped me understand the budget."}


def check(client, auth, body, **kw):
    return client.post("/v1/comments/check", json=body, headers=auth(**kw))


def test_check_returns_the_core_result_with_id_cached_and_site(client, auth, scorer):
    response = check(client, auth, {**SPAM, "comment_id": "c-1", "post_id": 7})
    assert response.status_code == 200
    body = response.get_json()
    expected = scorer.check(SPAM.get("content"))
    assert body["site"] == "blog-a" and body["cached"] is False and len(body["id"]) == 32
    assert body["verdict"] in {"review", "block"}
    assert body["model_version"] == scorer.model_version
    assert {r["code"] for r in body["reasons"]} >= {"classifier", "shortened_link"}
    assert expected["links"][0]["host"] == "bit.ly"


def test_the_same_comment_again_comes_from_the_cache_with_a_new_id(client, auth):
    first = check(client, auth, HAM).get_json()
    second = check(client, auth, HAM).get_json()
    assert (first["cached"], second["cached"]) == (False, True)
    assert first["id"] != second["id"]
    assert first["spam_probability"] == second["spam_probability"]


def test_cache_key_includes_the_model_version(client, auth, app, redis_server):
    import redis

    check(client, auth, HAM)
    service = app.extensions["spamgate"]
    keys = redis.Redis.from_url(redis_server.url).keys(f"{service.store.prefix}:cache:*")
    assert keys and all(f":cache:{service.scorer.model_version}:".encode() in k for k in keys)
    assert all(redis.Redis.from_url(redis_server.url).ttl(k) > 0 for k in keys)


def test_batch_scores_each_item_and_puts_errors_in_place(client, auth):
    items = [HAM, {"content": 5}, SPAM, "not an object", {"author": "x"}]
    response = client.post("/v1/comments/check-batch", json={"comments": items}, headers=auth())
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == 5
    assert results[0]["verdict"] == "allow" and results[2]["verdict"] != "allow"
    assert results[1]["error"]["field"] == "comments[1].content"
    assert results[3]["error"]["code"] == "invalid_field"
    assert results[4]["error"]["field"] == "comments[4].content"


def test_batch_over_the_limit_is_refused(client, auth):
    response = client.post("/v1/comments/check-batch", json={"comments": [HAM] * 101}, headers=auth())
    assert response.status_code == 413
    assert response.get_json()["error"]["field"] == "comments"


def test_verdict_lookup_shows_comment_reasons_and_decisions(client, auth):
    made = check(client, auth, SPAM).get_json()
    record = client.get(f"/v1/verdicts/{made['id']}", headers=auth(role="moderator")).get_json()
    assert record["comment"]["content"] == SPAM["content"]
    assert record["result"]["reasons"] == made["reasons"]
    assert record["decisions"] == []
    client.post(f"/v1/verdicts/{made['id']}/feedback", json={"label": "ham", "moderator": "asha", "note": "a reader"},
                headers=auth(role="moderator"))
    record = client.get(f"/v1/verdicts/{made['id']}", headers=auth(role="moderator")).get_json()
    assert [(d["label"], d["moderator"], d["previous_verdict"]) for d in record["decisions"]] == \
        [("ham", "asha", made["verdict"])]


def test_a_key_never_reads_another_sites_verdict(client, auth):
    made = check(client, auth, SPAM, site="blog-a").get_json()
    other = client.get(f"/v1/verdicts/{made['id']}", headers=auth(site="blog-b", role="admin"))
    assert other.status_code == 404
    feedback = client.post(f"/v1/verdicts/{made['id']}/feedback", json={"label": "ham"},
                           headers=auth(site="blog-b", role="moderator"))
    assert feedback.status_code == 404


def test_moderation_queue_pages_through_one_sites_reviews(client, auth):
    spammy = [{"content": f"Check out my channel number {i}, subscribe please http://bit.ly/x{i}"} for i in range(7)]
    made = [check(client, auth, c).get_json() for c in spammy]
    check(client, auth, spammy[0], site="blog-b")
    kind = made[0]["verdict"]
    wanted = [m["id"] for m in made if m["verdict"] == kind]
    assert kind != "allow" and len(wanted) >= 3, "the test needs comments held for review or blocked"
    seen, cursor = [], None
    while True:
        url = f"/v1/verdicts?verdict={kind}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=auth(role="moderator")).get_json()
        seen.extend(v["id"] for v in page["verdicts"])
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == wanted
    future = client.get(f"/v1/verdicts?verdict={kind}&since=2999-01-01T00:00:00Z", headers=auth(role="moderator"))
    assert future.get_json()["verdicts"] == []


def test_feedback_twice_is_recorded_once_and_a_change_is_recorded(client, auth, app):
    made = check(client, auth, SPAM).get_json()
    url = f"/v1/verdicts/{made['id']}/feedback"
    first = client.post(url, json={"label": "ham"}, headers=auth()).get_json()
    again = client.post(url, json={"label": "ham"}, headers=auth()).get_json()
    changed = client.post(url, json={"label": "spam"}, headers=auth(role="moderator")).get_json()
    assert (first["recorded"], again["recorded"], changed["recorded"]) == (True, False, True)
    entries = [e for _, e in app.extensions["spamgate"].store.feedback()]
    assert [(e["label"], e["verdict_id"]) for e in entries] == [("ham", made["id"]), ("spam", made["id"])]
    assert entries[0]["content"] == SPAM["content"]


def test_report_of_an_unchecked_comment_is_kept_as_training_data(client, auth, app):
    body = {"content": "buy followers cheap at fastfollow dot com", "label": "spam", "moderator": "ravi"}
    first = client.post("/v1/feedback", json=body, headers=auth(role="moderator"))
    again = client.post("/v1/feedback", json=body, headers=auth(role="moderator"))
    assert (first.status_code, again.status_code) == (201, 200)
    entries = [e for _, e in app.extensions["spamgate"].store.feedback()]
    assert len(entries) == 1 and entries[0]["label"] == "spam" and entries[0]["site"] == "blog-a"


@pytest.mark.parametrize("body, field", [
    ({"label": "maybe"}, "label"),
    ({"label": "spam", "moderator": 5}, "moderator"),
    ({"label": "spam", "content": ""}, "content"),
])
def test_bad_feedback_names_the_field(client, auth, body, field):
    response = client.post("/v1/feedback", json=body, headers=auth(role="moderator"))
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field


@pytest.mark.parametrize("role, method, url, allowed", [
    ("moderator", "post", "/v1/comments/check", False),
    ("client", "get", "/v1/verdicts?verdict=review", False),
    ("client", "post", "/v1/model/reload", False),
    ("moderator", "post", "/v1/model/reload", False),
    ("admin", "get", "/v1/verdicts?verdict=review", True),
    ("admin", "post", "/v1/comments/check", True),
])
def test_roles(client, auth, role, method, url, allowed):
    response = getattr(client, method)(url, json=HAM, headers=auth(role=role))
    assert (response.status_code != 403) == allowed
    if not allowed:
        assert response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}])
def test_missing_or_wrong_key_is_a_json_401(client, headers):
    response = client.post("/v1/comments/check", json=HAM, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert "Bearer" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("data, content_type, status, code", [
    (b"{not json", "application/json", 400, "invalid_json"),
    (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "invalid_json"),
    (b"[1, 2]", "application/json", 400, "invalid_field"),
    (b'{"content": 12}', "application/json", 400, "invalid_field"),
    (b'{"author": "a"}', "application/json", 400, "invalid_field"),
    (b"content=hi", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    (json.dumps({"content": "x" * 70_000}).encode(), "application/json", 413, "too_large"),
    (b" " * (1024 * 1024 + 1), "application/json", 413, "too_large"),
])
def test_bad_input_gets_one_json_error_shape(client, auth, data, content_type, status, code):
    response = client.post("/v1/comments/check", data=data, content_type=content_type, headers=auth())
    assert response.status_code == status
    assert response.is_json
    assert response.get_json()["error"]["code"] == code
    assert "Traceback" not in response.get_data(as_text=True)


def test_wrong_method_and_unknown_route_are_json(client, auth):
    assert client.get("/v1/comments/check", headers=auth()).get_json()["error"]["code"] == "method_not_allowed"
    assert client.get("/v1/nothing-here").get_json()["error"]["code"] == "not_found"


def test_internal_error_is_a_json_500_without_a_trace(client, auth, app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(app.extensions["spamgate"].scorer, "check_many", broken)
    response = check(client, auth, {"content": "a comment never seen before 12345"})
    assert response.status_code == 500
    assert "secret detail" not in response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "internal_error"


def test_model_endpoint_and_health(client, auth, scorer):
    model = client.get("/v1/model", headers=auth()).get_json()
    assert model["metadata"]["version"] == scorer.model_version
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["ready"] is True


def test_redis_down_checks_still_scored_feedback_503_and_readyz_says_why(client, auth, running_redis):
    made = check(client, auth, SPAM).get_json()
    running_redis.stop()
    try:
        down = check(client, auth, HAM)
        assert down.status_code == 200
        body = down.get_json()
        assert body["cached"] is False and body["id"] is None and body["stored"] is False
        feedback = client.post(f"/v1/verdicts/{made['id']}/feedback", json={"label": "ham"}, headers=auth())
        assert feedback.status_code == 503
        assert feedback.get_json()["error"]["code"] == "store_unavailable"
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.get_json()["failed"] == ["redis"]
    finally:
        running_redis.start()
    assert client.get("/readyz").status_code == 200


def test_failed_reload_keeps_the_old_model_and_reports_why(client, auth, app, tmp_path):
    service = app.extensions["spamgate"]
    before = service.scorer.model_version
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "metadata.json").write_text("{}")
    service.settings = service.settings.__class__(**{**service.settings.__dict__, "model_dir": tmp_path / "broken"})
    response = client.post("/v1/model/reload", headers=auth(role="admin"))
    assert response.status_code == 409 and response.get_json()["reloaded"] is False
    assert service.scorer.model_version == before
    ready = client.get("/readyz").get_json()
    assert ready["failed"] == ["model"] and "previous model" in ready["checks"]["model"]["error"]


# -- found in review ----------------------------------------------------------------------------------


def test_a_lone_surrogate_is_a_400_naming_the_field(client, auth):
    response = client.post("/v1/comments/check", data=b'{"content": "hello \\ud800 world"}',
                           content_type="application/json", headers=auth())
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "content"


@pytest.mark.parametrize("query", ["since=nan", "since=inf", "cursor=nan:abc", "cursor=../../x"])
def test_queue_parameters_that_are_not_numbers_or_ids_are_400(client, auth, query):
    response = client.get(f"/v1/verdicts?verdict=allow&{query}", headers=auth(role="moderator"))
    assert response.status_code == 400


def test_queue_pages_through_a_whole_batch_one_by_one(client, auth):
    batch = [{"content": f"Thanks for the report number {i}, very helpful"} for i in range(70)]
    made = client.post("/v1/comments/check-batch", json={"comments": batch}, headers=auth()).get_json()["results"]
    wanted = [m["id"] for m in made if m["verdict"] == "allow"]
    seen, cursor = [], None
    for _ in range(100):
        url = "/v1/verdicts?verdict=allow&limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=auth(role="moderator")).get_json()
        seen.extend(v["id"] for v in page["verdicts"])
        cursor = page["cursor"]
        if not cursor:
            break
    assert len(wanted) > 60 and sorted(seen) == sorted(wanted)


def test_redis_refusing_writes_is_not_a_500(client, auth, app, redis_server):
    import redis

    admin = redis.Redis.from_url(redis_server.url)
    admin.config_set("maxmemory", "1")
    admin.config_set("maxmemory-policy", "noeviction")
    try:
        response = client.post("/v1/comments/check", json={"content": "a new comment while Redis is full"},
                               headers=auth())
        assert response.status_code == 200 and response.get_json()["stored"] is False
        feedback = client.post("/v1/feedback", json={"content": "x y z", "label": "spam"}, headers=auth())
        assert feedback.status_code == 503
    finally:
        admin.config_set("maxmemory", "0")
    app.extensions["spamgate"].store.breaker.reset()


def test_reports_record_a_change_of_label_and_keep_sites_apart(client, auth, app):
    body = {"content": "is this spam or not, asks the moderator"}
    codes = [client.post("/v1/feedback", json={**body, "label": label}, headers=auth(role="moderator")).status_code
             for label in ("spam", "ham", "spam", "spam")]
    assert codes == [201, 201, 201, 200]
    other = client.post("/v1/feedback", json={**body, "label": "spam"}, headers=auth(site="blog-b", role="moderator"))
    assert other.status_code == 201
    entries = [(e["site"], e["label"]) for _, e in app.extensions["spamgate"].store.feedback()]
    assert entries == [("blog-a", "spam"), ("blog-a", "ham"), ("blog-a", "spam"), ("blog-b", "spam")]


def test_the_cache_is_not_shared_between_sites(client, auth):
    body = {"content": "The same words on two different blogs"}
    assert client.post("/v1/comments/check", json=body, headers=auth()).get_json()["cached"] is False
    assert client.post("/v1/comments/check", json=body, headers=auth(site="blog-b")).get_json()["cached"] is False


def test_a_key_added_while_running_is_accepted(client, app, keys, monkeypatch):
    from service.auth import KeyFile, add_key

    monkeypatch.setattr(KeyFile, "CHECK_EVERY", 0.0)
    _, token = add_key(keys[0], "blog-c", "client")
    response = client.post("/v1/comments/check", json={"content": "hello"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["site"] == "blog-c"


def test_405_says_which_methods_are_allowed(client, auth):
    response = client.get("/v1/comments/check", headers=auth())
    assert response.status_code == 405 and "POST" in response.headers["Allow"]


def test_a_paused_redis_delays_a_check_by_no_more_than_the_timeout(client, auth, app, running_redis):
    import os
    import signal
    import time

    timeout = app.extensions["spamgate"].settings.redis_timeout
    pid = running_redis.process.pid
    os.kill(pid, signal.SIGSTOP)  # Redis is alive but answers nothing: the slow case, not the dead one
    try:
        started = time.monotonic()
        response = client.post("/v1/comments/check", json={"content": "a check while Redis is paused"},
                               headers=auth())
        elapsed = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert response.status_code == 200 and response.get_json()["stored"] is False
    assert elapsed < timeout + 0.5, f"{elapsed:.2f}s with a {timeout}s Redis timeout"


def test_one_json_log_line_per_request_without_text_or_key(client, auth, caplog):
    import logging

    secret = "my very private comment text 4242"
    with caplog.at_level(logging.INFO, logger="spamgate.access"):
        response = client.post("/v1/comments/check", json={"content": secret},
                               headers={**auth(), "X-Request-ID": "req-123"})
        client.get("/v1/nothing-here")
    assert response.headers["X-Request-ID"] == "req-123"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "spamgate.access"]
    assert len(lines) == 2
    first = lines[0]
    assert first["request_id"] == "req-123" and first["route"] == "/v1/comments/check"
    assert first["status"] == 200 and first["site"] == "blog-a" and first["verdicts"] == [response.get_json()["verdict"]]
    assert first["duration_ms"] >= 0
    assert lines[1]["status"] == 404 and len(lines[1]["request_id"]) == 32
    text = caplog.text
    assert secret not in text and auth()["Authorization"].split()[1] not in text
