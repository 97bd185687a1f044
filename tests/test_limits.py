"""Rate limits per API key (service/limits.py), counted in the test run's real Redis."""

from __future__ import annotations

import logging
import time

import pytest

from service import create_app
from service.auth import KeysError, add_key
from service.state import Service
from spamgate import config

HAM = {"content": "Thank you for the detailed explanation."}


@pytest.fixture
def limited(service_config, scorer):
    """An app factory with a small default limit, so a test can reach it in a few requests."""

    def make(rate_limit="3/minute", **overrides):
        overrides = {**service_config, "rate_limit": rate_limit, **overrides}
        settings = config.load(env={}, **overrides)
        return create_app(overrides, service=Service(settings, scorer=scorer)).test_client()

    return make


def post(client, headers, body=HAM):
    return client.post("/v1/comments/check", json=body, headers=headers)


def test_over_the_limit_is_429_with_retry_after_in_the_error_shape(limited, auth):
    client = limited()
    statuses = [post(client, auth()).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = post(client, auth())
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_each_key_has_its_own_count(limited, auth):
    client = limited()
    for _ in range(3):
        post(client, auth(site="blog-a"))
    assert post(client, auth(site="blog-a")).status_code == 429
    assert post(client, auth(site="blog-b")).status_code == 200


def test_a_key_may_carry_its_own_limit(limited, keys):
    path, _ = keys
    key, token = add_key(path, "blog-a", "client", rate_limit="5/minute")
    client = limited()
    headers = {"Authorization": f"Bearer {token}"}
    assert [post(client, headers).status_code for _ in range(6)] == [200] * 5 + [429]


def test_one_count_covers_every_route(limited, auth):
    client = limited()
    post(client, auth())
    assert client.get("/v1/model", headers=auth()).status_code == 200
    post(client, auth())
    assert post(client, auth()).status_code == 429


def test_requests_for_unknown_routes_count_too(limited, auth):
    client = limited()
    assert [client.get("/v1/no-such-route", headers=auth()).status_code for _ in range(3)] == [404] * 3
    assert post(client, auth()).status_code == 429


def test_every_limit_of_a_key_holds(limited, keys):
    path, _ = keys
    _, token = add_key(path, "blog-a", "client", rate_limit="2/second;3/minute")
    client = limited()
    headers = {"Authorization": f"Bearer {token}"}
    assert [post(client, headers).status_code for _ in range(3)] == [200, 200, 429]  # the second's limit
    time.sleep(2.1)  # a sliding window: the previous second still weighs during the next one
    assert post(client, headers).status_code == 200
    refused = post(client, headers)  # within the second's limit, over the minute's
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 1


def test_a_unix_socket_url_is_spelt_for_the_limits_library():
    from service.limits import _storage_uri

    assert _storage_uri("unix:///run/redis.sock?db=0") == "redis+unix:///run/redis.sock?db=0"
    assert _storage_uri("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_the_count_holds_across_instances(limited, auth):
    """Two app instances (two workers, or two machines) on one Redis share the count."""
    first, second = limited(), limited()
    post(first, auth())
    post(second, auth())
    post(first, auth())
    assert post(second, auth()).status_code == 429


def test_unknown_keys_are_counted_by_address(limited):
    client = limited()
    headers = {"Authorization": "Bearer guess"}
    assert [post(client, headers).status_code for _ in range(4)] == [401, 401, 401, 429]


def test_health_is_never_limited(limited):
    client = limited("1/minute")
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}


def test_akismet_calls_count_against_their_key(limited, keys):
    _, tokens = keys
    client = limited("2/minute")
    form = {"api_key": tokens[("blog-a", "client")], "blog": "https://blog-a.example"}
    statuses = [client.post("/1.1/verify-key", data=form).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_none_turns_limits_off(limited, auth):
    client = limited("none")
    assert {post(client, auth()).status_code for _ in range(10)} == {200}


def test_while_redis_is_down_checks_are_served_and_the_failure_is_logged(limited, auth, redis_server, caplog):
    from service.metrics import RATE_LIMIT_ERRORS

    client = limited("1/minute")
    assert post(client, auth()).status_code == 200
    errors_before = RATE_LIMIT_ERRORS._value.get()
    redis_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="service.limits"):
            statuses = [post(client, auth()).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]  # fails open: the limit of 1 would have refused them
        assert "rate limiting is off for this request" in caplog.text
        assert RATE_LIMIT_ERRORS._value.get() == errors_before + 3  # one per request served unlimited
    finally:
        redis_server.start()


def test_a_paused_redis_costs_the_limiter_one_timeout_not_one_per_request(limited, auth, running_redis):
    """After a failure the limiter leaves Redis alone for a second: ten checks while Redis answers nothing
    cost about two timeouts in all (the limiter's first and the store's), not ten."""
    import os
    import signal

    client = limited("100/minute", redis_timeout=0.25)
    assert post(client, auth()).status_code == 200
    os.kill(running_redis.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        statuses = [post(client, auth(), {"content": f"comment {i} while Redis is paused"}).status_code
                    for i in range(10)]
        elapsed = time.monotonic() - started
    finally:
        os.kill(running_redis.process.pid, signal.SIGCONT)
    assert statuses == [200] * 10
    assert elapsed < 4 * 0.25, f"{elapsed:.2f}s for ten checks with a 0.25 s Redis timeout"


@pytest.mark.parametrize("value", ["lots", "10/fortnight"])
def test_a_bad_rate_limit_is_refused(value, tmp_path):
    with pytest.raises(config.ConfigError, match="SPAMGATE_RATE_LIMIT"):
        config.load(env={"SPAMGATE_RATE_LIMIT": value})
    with pytest.raises(KeysError, match="rate_limit"):
        add_key(tmp_path / "keys.json", "blog-a", "client", rate_limit=value)
