"""GET /openapi.json and the description it serves (service/openapi.json), held to the code two ways:

- a scripted set of requests through Flask's test client, chosen so that every status the description
  documents for every operation is given at least once, each response validated against it with
  openapi-core (and each request that should succeed validated too, so the description accepts what the
  service accepts);
- schemathesis generating requests from the description against a served gunicorn, checking that none
  is answered 5xx and every answer conforms to the description.

A status or field the code gives and the description does not name fails the first (and the second);
a status the description names and the code never gives fails the coverage test of the first.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from schemathesis.config import SchemathesisConfig

from service.openapi import description
from tests.conftest import free_port
from tests.servers import module_gunicorn

SPEC = json.loads(description())
OPENAPI = OpenAPI.from_dict(SPEC)

SPAM = {"content": "Earn money from home, visit http://bit.ly/earn-now or call 9876543210",
        "author_email": "x@mailinator.com", "author_url": "https://ift.tt/xyz", "comment_id": 7, "post_id": "p-1"}
HAM = {"content": "Thank you for the detailed explanation, it helped me understand the budget."}


def documented() -> set[tuple[str, str, int]]:
    """(method, path template, status) of every response the description documents."""
    return {(method.upper(), path, int(status))
            for path, item in SPEC["paths"].items()
            for method, operation in item.items() if method != "parameters"
            for status in operation["responses"]}


def test_the_description_is_a_valid_openapi_document():
    from openapi_spec_validator import validate

    validate(SPEC)
    assert SPEC["openapi"].startswith("3.")


def test_openapi_json_needs_no_key_and_is_the_packaged_file(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == SPEC


def test_openapi_json_is_not_rate_limited(service_config, scorer):
    app = _app(service_config, scorer, rate_limit="1/minute")
    client = app.test_client()
    assert [client.get("/openapi.json").status_code for _ in range(3)] == [200, 200, 200]


def test_every_v1_route_is_described(app):
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/v1/")
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    flask_style = {(m, p.replace("{", "<").replace("}", ">")) for m, p, _ in documented()}
    assert rules <= flask_style, f"routes missing from service/openapi.json: {sorted(rules - flask_style)}"
    assert {(m, p) for m, p in flask_style if p.startswith("/v1/")} <= rules


# -- scripted requests through the test client --------------------------------------------------------


def _app(service_config, scorer, **overrides):
    from service import create_app
    from service.state import Service
    from spamgate import config

    settings_overrides = {**service_config, **overrides}
    settings = config.load(env={}, **settings_overrides)
    return create_app(settings_overrides, service=Service(settings, scorer=scorer))


class Recorder:
    """Sends requests through a test client, validates each response (and, when asked, the request)
    against the description, and remembers which documented responses were seen."""

    def __init__(self):
        self.seen: set[tuple[str, str, int]] = set()

    def __call__(self, client, method, path, *, status, valid_request=False, **kwargs):
        response = client.open(path, method=method, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.get_data(as_text=True))
        # The test client's request body has been read by the app: openapi-core gets the one sent.
        request = _Sent(WerkzeugOpenAPIRequest(response.request), kwargs)
        OPENAPI.validate_response(request, WerkzeugOpenAPIResponse(response))
        if valid_request:
            OPENAPI.validate_request(request)
        self.seen.add((method, _template(path), status))
        return response


class _Sent:
    """An openapi-core request: the test client's, with the body as sent."""

    def __init__(self, request, kwargs):
        self._request, self._kwargs = request, kwargs

    def __getattr__(self, name):
        return getattr(self._request, name)

    @property
    def body(self):
        if "json" in self._kwargs:
            return json.dumps(self._kwargs["json"]).encode()
        data = self._kwargs.get("data")
        return data.encode() if isinstance(data, str) else data

    @property
    def content_type(self):
        return "application/json" if "json" in self._kwargs else self._request.content_type


def _template(path: str) -> str:
    path = path.split("?")[0]
    for template in SPEC["paths"]:
        parts, wanted = template.split("/"), path.split("/")
        if len(parts) == len(wanted) and all(p == w or p.startswith("{") for p, w in zip(parts, wanted)):
            return template
    raise AssertionError(f"{path} is not in the description")


@pytest.fixture
def recorded(app, service_config, scorer, auth, tmp_path, running_redis):
    """Every documented response, each got from the service once and validated; returns what was seen."""
    send = Recorder()
    c = app.test_client()
    client, moderator, admin = auth(), auth(role="moderator"), auth(role="admin")
    wrong = {"Authorization": "Bearer sg_not-a-key"}

    send(c, "GET", "/openapi.json", status=200)

    # checks
    spam = send(c, "POST", "/v1/comments/check", json=SPAM, headers=client, status=200, valid_request=True).get_json()
    assert spam["cached"] is False and spam["id"]
    assert send(c, "POST", "/v1/comments/check", json=SPAM, headers=client, status=200).get_json()["cached"]
    send(c, "POST", "/v1/comments/check", json={"content": "honeypot", "honeypot": "x", "permalink": None},
         headers=client, status=200, valid_request=True)
    send(c, "POST", "/v1/comments/check", json={"content": " "}, headers=client, status=400)
    send(c, "POST", "/v1/comments/check", data="{", content_type="application/json", headers=client, status=400)
    send(c, "POST", "/v1/comments/check", json=HAM, status=401)
    send(c, "POST", "/v1/comments/check", json=HAM, headers=wrong, status=401)
    send(c, "POST", "/v1/comments/check", json=HAM, headers=moderator, status=403)
    send(c, "POST", "/v1/comments/check", json={"content": "x" * 70_000}, headers=client, status=413)
    send(c, "POST", "/v1/comments/check", data="content=hi", content_type="application/x-www-form-urlencoded",
         headers=client, status=415)
    batch = send(c, "POST", "/v1/comments/check-batch", json={"comments": [HAM, {"content": ""}, 5, SPAM]},
                 headers=client, status=200).get_json()["results"]
    assert [("error" in r) for r in batch] == [False, True, True, False]
    send(c, "POST", "/v1/comments/check-batch", json={"comments": [HAM]}, headers=client, status=200,
         valid_request=True)
    send(c, "POST", "/v1/comments/check-batch", json={"comments": []}, headers=client, status=400)
    send(c, "POST", "/v1/comments/check-batch", json={"comments": [HAM]}, status=401)
    send(c, "POST", "/v1/comments/check-batch", json={"comments": [HAM]}, headers=moderator, status=403)
    send(c, "POST", "/v1/comments/check-batch", json={"comments": [HAM] * 101}, headers=client, status=413)
    send(c, "POST", "/v1/comments/check-batch", data="x", content_type="text/plain", headers=client, status=415)

    # verdicts
    verdict_id = spam["id"]
    page = send(c, "GET", f"/v1/verdicts?verdict={spam['verdict']}&limit=1", headers=moderator, status=200,
                valid_request=True).get_json()
    assert page["verdicts"][0]["id"] == verdict_id
    send(c, "GET", "/v1/verdicts?since=2020-01-01T00:00:00Z", headers=admin, status=200, valid_request=True)
    send(c, "GET", "/v1/verdicts?limit=0", headers=moderator, status=400)
    send(c, "GET", "/v1/verdicts", status=401)
    send(c, "GET", "/v1/verdicts", headers=client, status=403)
    send(c, "GET", f"/v1/verdicts/{verdict_id}", headers=moderator, status=200, valid_request=True)
    send(c, "GET", f"/v1/verdicts/{verdict_id}", status=401)
    send(c, "GET", f"/v1/verdicts/{verdict_id}", headers=client, status=403)
    send(c, "GET", f"/v1/verdicts/{verdict_id}", headers=auth(site="blog-b", role="moderator"), status=404)
    send(c, "GET", "/v1/verdicts/not-an-id!", headers=moderator, status=404)

    # feedback
    feedback = f"/v1/verdicts/{verdict_id}/feedback"
    send(c, "POST", feedback, json={"label": "spam", "moderator": "asha", "note": None}, headers=client,
         status=200, valid_request=True)
    record = send(c, "GET", f"/v1/verdicts/{verdict_id}", headers=moderator, status=200).get_json()
    assert record["decisions"][0]["label"] == "spam"
    send(c, "POST", feedback, json={"label": "maybe"}, headers=client, status=400)
    send(c, "POST", feedback, json={"label": "spam"}, status=401)
    send(c, "POST", "/v1/verdicts/0123456789abcdef/feedback", json={"label": "ham"}, headers=client, status=404)
    send(c, "POST", feedback, json={"label": "ham", "note": "x" * 2_000_000}, headers=client, status=413)
    send(c, "POST", feedback, data="label=ham", content_type="text/plain", headers=client, status=415)
    report = {"label": "ham", **HAM, "comment_id": "c-1"}
    send(c, "POST", "/v1/feedback", json=report, headers=client, status=201, valid_request=True)
    send(c, "POST", "/v1/feedback", json=report, headers=client, status=200, valid_request=True)
    send(c, "POST", "/v1/feedback", json={"label": "ham"}, headers=client, status=400)
    send(c, "POST", "/v1/feedback", json=report, status=401)
    send(c, "POST", "/v1/feedback", json={**report, "content": "x" * 70_000}, headers=client, status=413)
    send(c, "POST", "/v1/feedback", data="x", content_type="text/plain", headers=client, status=415)

    # the model
    send(c, "GET", "/v1/model", headers=client, status=200, valid_request=True)
    send(c, "GET", "/v1/model", status=401)
    send(c, "POST", "/v1/model/reload", headers=admin, status=200, valid_request=True)
    send(c, "POST", "/v1/model/reload", status=401)
    send(c, "POST", "/v1/model/reload", headers=moderator, status=403)
    broken = _app(service_config, scorer, model_dir=tmp_path / "no-model").test_client()
    send(broken, "POST", "/v1/model/reload", headers=admin, status=409)

    # a site's rules
    rules = "/v1/sites/blog-a/rules"
    send(c, "GET", rules, headers=moderator, status=200, valid_request=True)
    send(c, "PUT", rules, json={"blocked_phrases": ["earn money"], "allowed_domains": ["Example.com"],
                                "trusted_authors": ["https://www.me.example/"], "thresholds": {"review": 0.6}},
         headers=moderator, status=200, valid_request=True)
    send(c, "PUT", rules, json={"thresholds": None, "blocked_patterns": None}, headers=admin, status=200,
         valid_request=True)
    send(c, "PUT", rules, json={"colour": "red"}, headers=moderator, status=400)
    send(c, "PUT", rules, json={"thresholds": {"review": 0.99, "block": 0.9}}, headers=moderator, status=400)
    for method in ("GET", "PUT"):
        send(c, method, rules, json={}, status=401)
        send(c, method, rules, json={}, headers=client, status=403)
        send(c, method, rules, json={}, headers=auth(site="blog-b", role="moderator"), status=403)
        send(c, method, "/v1/sites/-bad/rules", json={}, headers=admin, status=404)
    send(c, "PUT", rules, json={"blocked_phrases": ["x" * 100] * 20_000}, headers=moderator, status=413)
    send(c, "PUT", rules, data="x", content_type="text/plain", headers=moderator, status=415)

    # Redis down: what must be read or stored is 503; a check is still answered, without an id
    down = _app(service_config, scorer, redis_url=f"redis://127.0.0.1:{free_port()}/0", rate_limit="none")
    d = down.test_client()
    unstored = send(d, "POST", "/v1/comments/check", json=HAM, headers=client, status=200).get_json()
    assert unstored["id"] is None and unstored["stored"] is False
    batch = send(d, "POST", "/v1/comments/check-batch", json={"comments": [HAM]}, headers=client, status=200)
    assert batch.get_json()["results"][0]["id"] is None
    send(d, "GET", "/v1/verdicts", headers=moderator, status=503)
    send(d, "GET", f"/v1/verdicts/{verdict_id}", headers=moderator, status=503)
    send(d, "POST", feedback, json={"label": "ham"}, headers=client, status=503)
    send(d, "POST", "/v1/feedback", json=report, headers=client, status=503)
    for method in ("GET", "PUT"):
        send(d, method, rules, json={}, headers=moderator, status=503)

    # over the rate limit
    limited = _app(service_config, scorer, rate_limit="1/minute", redis_prefix=service_config["redis_prefix"] + "rl")
    for method, path, kwargs in [
        ("POST", "/v1/comments/check", {"json": HAM}), ("POST", "/v1/comments/check-batch", {"json": {"comments": [HAM]}}),
        ("GET", "/v1/verdicts", {}), ("GET", f"/v1/verdicts/{verdict_id}", {}),
        ("POST", feedback, {"json": {"label": "ham"}}), ("POST", "/v1/feedback", {"json": report}),
        ("GET", "/v1/model", {}), ("POST", "/v1/model/reload", {}), ("GET", rules, {}), ("PUT", rules, {"json": {}}),
    ]:
        lc = limited.test_client()
        lc.open(path, method=method, headers=wrong, **kwargs)  # the one request the address may make
        response = send(lc, method, path, headers=wrong, status=429, **kwargs)
        assert int(response.headers["Retry-After"]) >= 0
    return send.seen


def test_every_documented_response_is_given_and_conforms(recorded):
    missing = documented() - recorded
    assert not missing, f"documented in service/openapi.json but never given: {sorted(missing)}"


def test_an_undocumented_field_fails_validation(client, auth):
    """The description is strict enough to notice drift: a result with a field it does not name."""
    from openapi_core.validation.response.exceptions import InvalidData

    response = client.post("/v1/comments/check", json=HAM, headers=auth())
    body = response.get_json()
    body["explanation"] = "new"
    response.set_data(json.dumps(body))
    with pytest.raises(InvalidData):
        OPENAPI.validate_response(_Sent(WerkzeugOpenAPIRequest(response.request), {"json": HAM}),
                                  WerkzeugOpenAPIResponse(response))


# -- schemathesis against a served gunicorn -----------------------------------------------------------

@pytest.fixture(scope="module")
def live(redis_server, tmp_path_factory):
    """``spamgate serve`` with two workers on the test Redis, limits off, and an admin key of blog-a."""
    server, tokens = module_gunicorn(redis_server, tmp_path_factory.mktemp("openapi-live"), ("client", "admin"),
                                     prefix="oa", SPAMGATE_RATE_LIMIT="none")
    assert requests.get(server.base + "/openapi.json", timeout=5).json() == SPEC
    yield server, tokens
    server.stop()


# Loaded from the packaged file at import time, so pytest can make one test per operation (the lazy
# schemathesis.pytest.from_fixture reads a private attribute pytest 9 no longer has); the fixture checks
# that the served /openapi.json is this same description.
generated = schemathesis.openapi.from_dict(SPEC, config=SchemathesisConfig.from_dict({
    "generation": {
        "max-examples": 50,
        # Unknown query parameters are ignored, as unknown body fields are; OpenAPI cannot say so for a query.
        "allow-extra-parameters": False,
    },
    "checks": {
        # Data the description forbids must be refused: schemathesis's statuses, and 413 for a batch or body
        # over its limit.
        "negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413",
                                                          "415", "422", "428", "429", "5xx"]},
        # Off: what a schema cannot say (a domain that is not one, a pattern that could run away, a comment
        # over SPAMGATE_MAX_COMMENT_BYTES, an ISO time) is refused with 400/413, as documented.
        "positive_data_acceptance": {"enabled": False},
    },
}))


@generated.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_5xx_and_documented_answers(case, live):
    server, tokens = live
    # An admin key reaches every operation but the reload, which under gunicorn sends the master a HUP
    # and replaces every worker: generated requests get a client key there (401 and 403 are fuzzed; the
    # 200 and 409 are given in the scripted test above).
    role = "client" if case.path == "/v1/model/reload" else "admin"
    case.call_and_validate(base_url=server.base, headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=10)
