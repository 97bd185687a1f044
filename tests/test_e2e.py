"""The service as it runs: gunicorn started as a subprocess, called over real HTTP, with the test run's
redis-server; the command line used as an operator would."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
import requests

from model import artifact as store
from tests.servers import Gunicorn, served_env, spamgate

SPAM = {"content": "Visit my site for cheap followers http://bit.ly/cheap-follow and call 9876543210"}


@pytest.fixture
def served(tmp_path, service_config, keys):
    server = Gunicorn(served_env(tmp_path, service_config, keys), tmp_path / "gunicorn.log")
    server.model_dir = tmp_path / "model"
    yield server
    server.stop()


def test_check_cache_batch_lookup_feedback_export_and_retrain(served, auth, tmp_path, small_dataset):
    s = requests.Session()
    first = s.post(served.base + "/v1/comments/check", json=SPAM, headers=auth()).json()
    again = s.post(served.base + "/v1/comments/check", json=SPAM, headers=auth()).json()
    assert first["verdict"] != "allow" and (first["cached"], again["cached"]) == (False, True)

    batch = s.post(served.base + "/v1/comments/check-batch", headers=auth(),
                   json={"comments": [SPAM, {"content": "बहुत अच्छी खबर है"}, {"content": None}]}).json()["results"]
    assert batch[0]["cached"] is True and batch[1]["verdict"] == "allow" and batch[2]["error"]["field"]

    record = s.get(f"{served.base}/v1/verdicts/{first['id']}", headers=auth(role="moderator")).json()
    assert record["comment"]["content"] == SPAM["content"]

    fb = s.post(f"{served.base}/v1/verdicts/{batch[1]['id']}/feedback", json={"label": "spam", "moderator": "m"},
                headers=auth(role="moderator"))
    assert fb.status_code == 200 and fb.json()["recorded"] is True
    report = s.post(served.base + "/v1/feedback", headers=auth(role="moderator"),
                    json={"content": "cheap seo backlinks at seo-best dot com", "label": "spam"})
    assert report.status_code == 201

    exported = tmp_path / "feedback.jsonl"
    out = spamgate(served.env, "feedback", "export", "--out", str(exported))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [(r["content"], r["label"]) for r in rows] == [
        ("बहुत अच्छी खबर है", "spam"), ("cheap seo backlinks at seo-best dot com", "spam")]

    # The exported feedback is training data as it stands.
    retrained = spamgate(served.env, "train", "--data", str(small_dataset), str(exported), "--out",
                         str(tmp_path / "retrained"))
    assert retrained.returncode == 0, retrained.stdout + retrained.stderr
    assert store.read_metadata(tmp_path / "retrained")["training_data"]["examples"] == 600 + len(rows)


def test_hup_reload_serves_a_new_model_without_dropping_requests(served, auth, scorer, tmp_path):
    before = requests.get(served.base + "/v1/model", headers=auth()).json()["metadata"]["version"]
    statuses, stop = [], threading.Event()

    def hammer():
        with requests.Session() as s:
            i = 0
            while not stop.is_set():
                i += 1
                r = s.post(served.base + "/v1/comments/check", json={"content": f"comment number {i}"}, headers=auth())
                statuses.append(r.status_code)

    worker = threading.Thread(target=hammer)
    worker.start()
    time.sleep(0.5)
    # Publish a different model (a new threshold in its metadata changes nothing; a new version is what
    # matters) and signal the master.
    pipeline = scorer.artifact.pipeline
    pipeline.named_steps["classifier"].calibrated_classifiers_[0].calibrators[0].b_ += 1e-6
    try:
        published = store.save(pipeline, served.model_dir, {"note": "test reload"})
    finally:
        pipeline.named_steps["classifier"].calibrated_classifiers_[0].calibrators[0].b_ -= 1e-6
    served.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        version = requests.get(served.base + "/v1/model", headers=auth()).json()["metadata"]["version"]
        if version == published.version:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    stop.set()
    worker.join()
    assert version == published.version != before
    assert statuses and set(statuses) == {200}, f"{len(statuses)} requests, statuses {set(statuses)}"


def test_tampered_model_on_hup_keeps_the_old_one(served, auth):
    before = requests.get(served.base + "/v1/model", headers=auth()).json()["metadata"]["version"]
    (served.model_dir / store.MODEL_FILE).write_bytes(b"PK tampered")
    served.process.send_signal(signal.SIGHUP)
    time.sleep(3)
    served.wait_ready()
    info = requests.get(served.base + "/v1/model", headers=auth()).json()
    assert info["metadata"]["version"] == before
    assert info["last_reload"]["ok"] is False and "does not match" in info["last_reload"]["error"]
    ready = requests.get(served.base + "/readyz")
    assert ready.status_code == 503 and ready.json()["failed"] == ["model"]
    assert requests.post(served.base + "/v1/comments/check", json=SPAM, headers=auth()).status_code == 200


def test_redis_stopped_and_restarted_during_a_run(served, auth, running_redis):
    s = requests.Session()
    made = s.post(served.base + "/v1/comments/check", json=SPAM, headers=auth()).json()
    running_redis.stop()
    try:
        started = time.monotonic()
        down = s.post(served.base + "/v1/comments/check", json={"content": "hello while redis is down"},
                      headers=auth())
        assert down.status_code == 200 and down.json()["cached"] is False
        assert time.monotonic() - started < 2
        fb = s.post(f"{served.base}/v1/verdicts/{made['id']}/feedback", json={"label": "ham"}, headers=auth())
        assert fb.status_code == 503
        assert s.get(served.base + "/readyz").json()["failed"] == ["redis"]
    finally:
        running_redis.start()
    time.sleep(1.2)  # past the store's retry pause
    fb = s.post(f"{served.base}/v1/verdicts/{made['id']}/feedback", json={"label": "ham"}, headers=auth())
    assert fb.status_code == 200 and fb.json()["recorded"] is True
    assert s.get(served.base + "/readyz").status_code == 200


def test_keys_add_prints_the_key_once_on_its_last_line_and_stores_its_hash(tmp_path):
    env = {**os.environ, "SPAMGATE_KEYS_FILE": str(tmp_path / "keys.json")}
    out = spamgate(env, "keys", "add", "--site", "news.example", "--role", "client")
    assert out.returncode == 0
    token = out.stdout.strip().splitlines()[-1]
    stored = json.loads((tmp_path / "keys.json").read_text())["keys"][0]
    assert token not in (tmp_path / "keys.json").read_text()
    import hashlib

    assert stored["sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert (stored["site"], stored["role"]) == ("news.example", "client")


def test_the_gunicorn_entry_point_builds_the_scoring_tables_before_the_workers_fork(tmp_path):
    """What the core builds on first use is built at import of service.wsgi (in the master, with
    preload_app), so the workers share it and no first request pays for it."""
    import subprocess
    import sys

    probe = ("import service.wsgi\n"
             "from model.features import _bmp_classes\n"
             "from model.rules import _case_classes\n"
             "print(_bmp_classes.cache_info().currsize, _case_classes.cache_info().currsize)\n")
    env = {**os.environ, "SPAMGATE_KEYS_FILE": str(tmp_path / "keys.json"), "SPAMGATE_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "1 1"
