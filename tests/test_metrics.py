"""GET /metrics: through the test client (the process's default registry), then over HTTP against gunicorn
with two workers (prometheus_client's multiprocess mode)."""

from __future__ import annotations

import json
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import Gunicorn, served_env

SPAM = {"content": "Nice post! Earn money from home, visit http://bit.ly/earn-now call 9876543210",
        "author_url": "https://ift.tt/xyz"}
HAM = {"content": "Thank you for the detailed explanation, it helped me understand the budget."}
CHECK = "/v1/comments/check"


def parse(text: str) -> dict:
    """{(sample name, frozenset of labels): value} of a Prometheus text answer."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: dict, after: dict, name: str, **labels) -> float:
    """How much a sample changed between two scrapes (counters are shared by every app in this process)."""
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_needs_no_key_and_is_the_prometheus_text_format(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE spamgate_requests_total counter" in response.get_data(as_text=True)


def test_a_check_twice_is_one_miss_one_hit_two_verdicts_and_two_requests(client, auth):
    before = scrape(client)
    first = client.post(CHECK, json=SPAM, headers=auth()).get_json()
    again = client.post(CHECK, json=SPAM, headers=auth()).get_json()
    after = scrape(client)
    assert (first["cached"], again["cached"]) == (False, True)
    assert moved(before, after, "spamgate_verdict_cache_total", result="miss") == 1
    assert moved(before, after, "spamgate_verdict_cache_total", result="hit") == 1
    assert moved(before, after, "spamgate_verdicts_total", verdict=first["verdict"]) == 2
    assert moved(before, after, "spamgate_requests_total", route=CHECK, status="200") == 2
    assert moved(before, after, "spamgate_request_duration_seconds_count", route=CHECK) == 2
    assert moved(before, after, "spamgate_request_duration_seconds_bucket", route=CHECK, le="+Inf") == 2


def test_rules_fired_count_the_reasons_of_a_scored_comment_not_of_a_cache_hit(client, auth):
    before = scrape(client)
    body = client.post(CHECK, json=SPAM, headers=auth()).get_json()
    client.post(CHECK, json=SPAM, headers=auth())  # from the cache: no rule ran
    after = scrape(client)
    rules = {r["code"] for r in body["reasons"]} - {"classifier", "links"}
    assert "shortened_link" in rules
    for code in rules:
        assert moved(before, after, "spamgate_rules_fired_total", code=code) == 1
    for code in ("classifier", "links"):
        assert value(after, "spamgate_rules_fired_total", code=code) == 0


def test_a_batch_counts_a_verdict_per_comment(client, auth):
    before = scrape(client)
    results = client.post("/v1/comments/check-batch", json={"comments": [HAM, HAM, SPAM]},
                          headers=auth()).get_json()["results"]
    after = scrape(client)
    verdicts = [r["verdict"] for r in results]
    for verdict in set(verdicts):
        assert moved(before, after, "spamgate_verdicts_total", verdict=verdict) == verdicts.count(verdict)
    assert moved(before, after, "spamgate_verdict_cache_total", result="miss") == 3


def test_a_404_is_counted_under_its_status_not_its_path(client):
    before = scrape(client)
    assert client.get("/no/such/page/9f2c").status_code == 404
    after = scrape(client)
    assert moved(before, after, "spamgate_requests_total", route="unmatched", status="404") == 1
    assert not any("/no/such/page" in str(labels) for _, labels in after)


def test_an_unauthorised_check_is_counted_under_its_route_and_401(client):
    before = scrape(client)
    assert client.post(CHECK, json=HAM).status_code == 401
    after = scrape(client)
    assert moved(before, after, "spamgate_requests_total", route=CHECK, status="401") == 1


def test_redis_errors_are_counted_when_redis_goes_away(client, auth, running_redis):
    before = scrape(client)
    client.post(CHECK, json=HAM, headers=auth())
    assert moved(before, scrape(client), "spamgate_redis_errors_total") == 0
    running_redis.stop()
    try:
        assert client.post(CHECK, json=SPAM, headers=auth()).status_code == 200
        during = scrape(client)
    finally:
        running_redis.start()
    assert moved(before, during, "spamgate_redis_errors_total") >= 1
    # The first check was a miss; the one while Redis was down was neither a hit nor a miss.
    assert moved(before, during, "spamgate_verdict_cache_total", result="miss") == 1


def test_model_version_is_a_gauge_at_one_and_rate_limit_errors_are_defined(client, scorer):
    samples = scrape(client)
    assert value(samples, "spamgate_model_info", version=scorer.model_version) == 1
    assert ("spamgate_rate_limit_errors_total", frozenset()) in samples


# -- across gunicorn's workers ------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path, service_config, keys):
    env = served_env(tmp_path, service_config, keys)
    env["TMPDIR"] = str(tmp_path)  # where gunicorn.conf.py makes the metrics folder, to see it go
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    yield server
    server.stop()


def test_every_worker_reports_the_checks_of_all_workers(served, auth, tmp_path, scorer):
    (folder,) = tmp_path.glob("spamgate-metrics-*")
    n = 24

    def check(i):  # a fresh connection each: no session
        body = {"content": f"comment number {i} on the metrics of every worker"}
        return requests.post(served.base + CHECK, json=body, headers=auth(), timeout=10).status_code

    # Concurrent, so that both sync workers take some of them.
    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(check, range(n))) == [200] * n
    time.sleep(0.2)  # the access log lines reach the file
    lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
             if line.startswith("{")]
    assert len({line["pid"] for line in lines if line["route"] == CHECK}) == 2, "both workers answered checks"

    def scraped():
        return parse(requests.get(served.base + "/metrics", timeout=10).text)

    for _ in range(4):  # fresh connections, so both workers answer some of these
        samples = scraped()
        assert value(samples, "spamgate_requests_total", route=CHECK, status="200") == n
        assert value(samples, "spamgate_verdict_cache_total", result="miss") == n
        assert sum(value(samples, "spamgate_verdicts_total", verdict=v) for v in ("allow", "review", "block")) == n
        assert value(samples, "spamgate_model_info", version=scorer.model_version) == 1

    # A HUP replaces the workers and has gunicorn read its config file again: the counts stay.
    old_workers = served.worker_pids()
    served.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while served.worker_pids() & old_workers or len(served.worker_pids()) != Gunicorn.WORKERS:
        assert time.monotonic() < deadline, "the workers were not replaced"
        time.sleep(0.2)
    served.wait_ready()
    assert value(scraped(), "spamgate_requests_total", route=CHECK, status="200") == n
    # child_exit marked the old workers dead: their live gauges (the model version) are gone.
    assert not [f for pid in old_workers for f in folder.glob(f"gauge_live*_{pid}.db")]
    served.stop()
    assert not folder.exists()
