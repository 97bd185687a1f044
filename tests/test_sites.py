"""A site's own rules through the API: /v1/sites/<site>/rules, in-process and across gunicorn workers."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from service import state

from .servers import Gunicorn, served_env

REFRESH = state.SITE_RULES_TTL  # how soon every worker must see a change (the fixture below zeroes it)
assert REFRESH <= 1.0

HAM = {"content": "The rally in Patna drew a big crowd yesterday, and the speeches were long."}
RULES = {"blocked_phrases": ["rally in patna"], "allowed_domains": ["thehindu.com"],
         "trusted_authors": ["editor@blog-a.in"], "thresholds": {"block": 0.99}}


@pytest.fixture(autouse=True)
def no_rules_delay(monkeypatch):
    """In-process tests see a change at once; the 1-second refresh is tested over HTTP below."""
    monkeypatch.setattr(state, "SITE_RULES_TTL", 0.0)


def put(client, auth, body, site="blog-a", **kw):
    return client.put(f"/v1/sites/{site}/rules", json=body, headers=auth(**kw))


def check(client, auth, body=HAM, site="blog-a"):
    return client.post("/v1/comments/check", json=body, headers=auth(site=site)).get_json()


def codes(result) -> set[str]:
    return {r["code"] for r in result["reasons"]}


def test_a_site_with_no_rules_gets_empty_lists_and_the_operator_thresholds(client, auth):
    response = client.get("/v1/sites/blog-a/rules", headers=auth(role="moderator"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["rules"]["blocked_phrases"] == [] and body["rules"]["thresholds"] == {"review": None, "block": None}
    assert body["effective_thresholds"] == {"review": 0.5, "block": 0.97, "words_only_block": 0.99}


def test_put_stores_normalised_rules_and_get_returns_them(client, auth):
    response = put(client, auth, {**RULES, "blocked_domains": ["*.Spam.Example"]}, role="moderator")
    assert response.status_code == 200, response.get_json()
    got = client.get("/v1/sites/blog-a/rules", headers=auth(role="moderator")).get_json()
    assert got == response.get_json()
    assert got["rules"]["blocked_domains"] == ["spam.example"]
    assert got["effective_thresholds"] == {"review": 0.5, "block": 0.99, "words_only_block": 0.99}
    higher = put(client, auth, {"thresholds": {"block": 0.995}}, role="moderator").get_json()
    assert higher["effective_thresholds"] == {"review": 0.5, "block": 0.995, "words_only_block": 0.995}


def test_a_missing_key_keeps_its_default(client, auth):
    put(client, auth, RULES, role="moderator")
    put(client, auth, {"blocked_phrases": ["other"]}, role="moderator")
    got = client.get("/v1/sites/blog-a/rules", headers=auth(role="moderator")).get_json()
    assert got["rules"]["allowed_domains"] == [] and got["effective_thresholds"]["block"] == 0.97


@pytest.mark.parametrize("role, site, status", [
    ("client", "blog-a", 403),      # clients check comments; they do not set rules
    ("moderator", "blog-b", 403),   # a moderator of blog-a cannot touch blog-b
    ("moderator", "blog-a", 200),
])
def test_who_may_set_rules(client, auth, role, site, status):
    assert put(client, auth, RULES, site=site, role=role).status_code == status
    assert client.get(f"/v1/sites/{site}/rules", headers=auth(role=role)).status_code == status


def test_an_admin_may_set_any_sites_rules(client, auth):
    assert put(client, auth, RULES, site="blog-b", role="admin").status_code == 200


def test_no_key_is_401(client):
    assert client.get("/v1/sites/blog-a/rules").status_code == 401


def test_a_rule_changes_the_next_verdict_and_the_cache_does_not_hide_it(client, auth):
    before = check(client, auth)
    assert before["verdict"] == "allow" and "blocked_phrase" not in codes(before)
    assert check(client, auth)["cached"] is True
    put(client, auth, RULES, role="moderator")
    after = check(client, auth)
    assert after["cached"] is False and "blocked_phrase" in codes(after) and after["verdict"] != "allow"


def test_site_rules_are_isolated_between_sites(client, auth):
    put(client, auth, RULES, role="moderator")
    assert "blocked_phrase" in codes(check(client, auth, site="blog-a"))
    other = check(client, auth, site="blog-b")
    assert "blocked_phrase" not in codes(other) and other["verdict"] == "allow"


def test_a_trusted_author_is_allowed(client, auth):
    put(client, auth, {"trusted_authors": ["editor@blog-a.in"]}, role="moderator")
    spam = {"content": "Visit my site http://bit.ly/3xYz for cheap followers!!!", "author_email": "Editor@Blog-A.in"}
    result = check(client, auth, spam)
    assert result["verdict"] == "allow" and "trusted_author" in codes(result)


@pytest.mark.parametrize("body, field", [
    ({"blocked_patterns": ["fine", r"(a+)+$"]}, "blocked_patterns[1]"),
    ({"blocked_patterns": ["(unclosed"]}, "blocked_patterns[0]"),
    ({"blocked_phrases": "not a list"}, "blocked_phrases"),
    ({"colour": []}, "colour"),
    ({"thresholds": {"review": 0.99, "block": 0.6}}, "thresholds"),
])
def test_bad_rules_are_refused_naming_the_field_and_nothing_is_stored(client, auth, body, field):
    put(client, auth, RULES, role="moderator")
    response = put(client, auth, {**RULES, **body}, role="moderator")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_rules" and error["field"] == field
    got = client.get("/v1/sites/blog-a/rules", headers=auth(role="moderator")).get_json()
    assert got["rules"]["blocked_patterns"] == [] and got["rules"]["blocked_phrases"] == ["rally in patna"]


def test_a_catastrophic_pattern_is_refused_quickly(client, auth):
    started = time.perf_counter()
    response = put(client, auth, {"blocked_patterns": [r"^(\w+\s?)*$"]}, role="moderator")
    assert response.status_code == 400 and "run away" in response.get_json()["error"]["message"]
    assert time.perf_counter() - started < 2


def test_rules_need_json(client, auth):
    response = client.put("/v1/sites/blog-a/rules", data="x", headers=auth(role="moderator"))
    assert response.status_code == 415


def test_while_redis_is_down_put_is_503_and_checks_keep_the_last_rules(client, auth, redis_server, monkeypatch):
    put(client, auth, RULES, role="moderator")
    assert "blocked_phrase" in codes(check(client, auth))
    redis_server.stop()
    try:
        response = put(client, auth, {"blocked_phrases": []}, role="moderator")
        assert response.status_code == 503 and response.get_json()["error"]["code"] == "store_unavailable"
        result = check(client, auth)
        assert result["cached"] is False and "blocked_phrase" in codes(result)
    finally:
        redis_server.start()


def test_model_endpoint_lists_the_operator_rules(client, auth):
    body = client.get("/v1/model", headers=auth()).get_json()
    assert {r["code"] for r in body["rules"]} >= {"commercial_phrase", "solicitation"}


# -- over HTTP: every gunicorn worker sees a change within a second --------------------------------------


def test_a_rule_put_through_one_worker_changes_the_next_verdict_on_every_worker(tmp_path, service_config, keys):
    server = Gunicorn(served_env(tmp_path, service_config, keys), tmp_path / "gunicorn.log")
    tokens = keys[1]
    moderator = {"Authorization": f"Bearer {tokens[('blog-a', 'moderator')]}"}
    client = {"Authorization": f"Bearer {tokens[('blog-a', 'client')]}"}
    try:
        def on_both_workers(tag):
            """One check answered by each of the 2 workers: a first connection sends its headers only,
            so a sync worker sits waiting on it while the second request goes to the other worker."""
            body = json.dumps(HAM).encode()
            held = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            held.sendall((f"POST /v1/comments/check HTTP/1.1\r\nHost: t\r\nAuthorization: {client['Authorization']}"
                          f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                          f"X-Request-ID: {tag}-held\r\nConnection: close\r\n").encode())
            time.sleep(0.3)
            other = requests.post(server.base + "/v1/comments/check", json=HAM, timeout=10,
                                  headers={**client, "Connection": "close", "X-Request-ID": f"{tag}-other"})
            held.sendall(b"\r\n" + body)
            raw = b""
            while chunk := held.recv(65536):
                raw += chunk
            held.close()
            assert other.status_code == 200 and raw.startswith(b"HTTP/1.1 200")
            return [other.json(), json.loads(raw.split(b"\r\n\r\n", 1)[1])]

        assert all("blocked_phrase" not in codes(r) for r in on_both_workers("before"))
        r = requests.put(server.base + "/v1/sites/blog-a/rules", json=RULES, headers=moderator, timeout=10)
        assert r.status_code == 200
        time.sleep(REFRESH + 0.2)
        assert all("blocked_phrase" in codes(r) for r in on_both_workers("after"))
        # The two answers after the change came from the two workers (the request log names each pid).
        server.stop()
        lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
                 if line.startswith("{")]
        pids = {line["pid"] for line in lines if line["request_id"].startswith("after-")}
        assert len(pids) == 2, pids
    finally:
        if server.process.poll() is None:
            server.stop()
