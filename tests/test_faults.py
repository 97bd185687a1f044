"""Faults: Redis killed under load, Redis stalled, a worker killed mid-request, a broken model published.

Each test runs a real gunicorn on a redis-server of its own (append-only, as in production), breaks one
thing, and checks what clients saw and what was kept. Redis is stalled with SIGSTOP rather than
``DEBUG SLEEP``: Redis 7 refuses DEBUG unless started with ``enable-debug-command``, and a stopped process
can be resumed the moment the test has what it needs. A tampered model on HUP is tested in test_e2e.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from model import artifact
from model.scorer import SHIPPED_MODEL
from service.store import Store
from tests.conftest import RedisServer
from tests.servers import Gunicorn, served_env

CHECK = "/v1/comments/check"
REDIS_TIMEOUT = 0.25  # SPAMGATE_REDIS_TIMEOUT, its default, set explicitly for the stall test
RETRY_AFTER = Store.RETRY_AFTER  # seconds the service leaves Redis alone after a failure


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server for this test alone, so killing or pausing it disturbs no other test."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    yield server
    if server.process is not None:
        os.kill(server.process.pid, signal.SIGCONT)  # in case the test left it paused
    server.stop()


@pytest.fixture
def served(tmp_path, keys, own_redis):
    env = served_env(tmp_path, {"redis_url": own_redis.url, "redis_prefix": "faults"}, keys)
    env["SPAMGATE_REDIS_TIMEOUT"] = str(REDIS_TIMEOUT)
    server = Gunicorn(env, tmp_path / "gunicorn.log")
    server.model_dir = tmp_path / "model"
    yield server
    server.stop()


# -- load: threads sending requests, every answer recorded -----------------------------------------------


@dataclass
class Outcome:
    kind: str
    sent: dict
    started: float
    ended: float
    status: int | None  # None: no answer at all
    body: dict | None


class Load:
    """Threads that each send one kind of request until stopped, a short pause between requests (the
    machine has two cores and the service two workers), and record every outcome."""

    def __init__(self, base: str, pause: float = 0.01):
        self.base, self.pause = base, pause
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def add(self, kind: str, headers: dict, request) -> None:
        """``request(i)`` gives the path and JSON body of the i-th request of this thread."""
        self._threads.append(threading.Thread(target=self._run, args=(kind, headers, request), daemon=True))

    def _run(self, kind, headers, request):
        with requests.Session() as session:
            i = 0
            while not self._stop.is_set():
                path, body = request(i)
                i += 1
                started = time.monotonic()
                try:
                    response = session.post(self.base + path, json=body, headers=headers, timeout=10)
                    status, answer = response.status_code, response.json()
                except (requests.RequestException, ValueError):
                    status, answer = None, None
                self.outcomes.append(Outcome(kind, body, started, time.monotonic(), status, answer))
                time.sleep(self.pause)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def of(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind]


# -- (a) Redis killed under load ---------------------------------------------------------------------------


def test_redis_killed_under_load_checks_go_on_feedback_503s_and_nothing_acknowledged_is_lost(served, auth,
                                                                                             own_redis):
    client, moderator = auth(), auth(role="moderator")
    batch = [{"content": f"a comment a moderator will label, number {i}"} for i in range(100)]
    made = [r["id"] for _ in range(4) for r in requests.post(
        served.base + "/v1/comments/check-batch", json={"comments": batch}, headers=client).json()["results"]]
    assert len(set(made)) == 400 and all(made)

    load = Load(served.base)
    for n in range(2):
        load.add("check", client, lambda i, n=n: (CHECK, {"content": f"thread {n} comment {i}, while Redis dies"}))
    load.add("report", moderator, lambda i: ("/v1/feedback", {"content": f"reported spam {i}", "label": "spam"}))
    load.add("decision", moderator, lambda i: (f"/v1/verdicts/{made[i % len(made)]}/feedback",
                                               {"label": "spam" if i < len(made) else "ham"}))
    with load:
        time.sleep(1.0)
        killed = time.monotonic()
        own_redis.stop()  # SIGKILL: no shutdown, no last write
        time.sleep(1.5)
        restarted = time.monotonic()
        own_redis.start()  # the same folder: the append-only file is replayed
        time.sleep(RETRY_AFTER + 1.5)

    checks = load.of("check")
    assert checks and {o.status for o in checks} == {200}, sorted({o.status for o in checks}, key=str)
    assert any(o.body["stored"] is False for o in checks if o.started > killed)

    feedback = load.of("report") + load.of("decision")
    assert {o.status for o in feedback} <= {200, 201, 503}, sorted({o.status for o in feedback}, key=str)
    while_down = [o for o in feedback if killed + 0.05 < o.started and o.ended < restarted]
    assert while_down and all(o.status == 503 and o.body["error"]["code"] == "store_unavailable" for o in while_down)
    after = [o for o in feedback if o.started > restarted + RETRY_AFTER + 0.5]
    assert any(o.status in (200, 201) for o in after), "feedback never recovered after Redis came back"

    # Every feedback the service acknowledged is in the restarted Redis's stream.
    acknowledged = [o for o in feedback if o.status in (200, 201) and o.body["recorded"] is True]
    stream = [entry for _, entry in Store(own_redis.url, prefix="faults").feedback()]
    kept = {(e.get("verdict_id") or e["content"], e["label"]) for e in stream}
    said = [(o.body.get("id") or o.sent["content"], o.body["label"]) for o in acknowledged]
    lost = [s for s in said if s not in kept]
    assert not lost, f"{len(lost)} of {len(said)} acknowledged feedbacks lost, e.g. {lost[:3]}"
    assert len(set(said)) == len(said) and len(stream) >= len(said) > 20, (len(stream), len(said))


# -- (b) Redis stalled ----------------------------------------------------------------------------------------


def test_a_stalled_redis_costs_each_check_at_most_the_timeout(served, auth, own_redis):
    session = requests.Session()
    asked = {"content": "asked before Redis stalls, and again while it does"}
    session.post(served.base + CHECK, json=asked, headers=auth())
    assert session.post(served.base + CHECK, json=asked, headers=auth()).json()["cached"] is True
    # What a check costs when Redis answers: the allowance for scoring and HTTP on this machine now.
    timings = []
    for i in range(5):
        started = time.monotonic()
        session.post(served.base + CHECK, json={"content": f"timing a check, number {i}"}, headers=auth())
        timings.append(time.monotonic() - started)
    allowance = min(1.5, max(0.5, 5 * max(timings)))
    stall = 3.5  # longer than the timeout plus the allowance: a check that waits for Redis fails the bound

    load = Load(served.base, pause=0.05)
    for n in range(2):
        load.add("check", auth(), lambda i, n=n: (CHECK, asked if i % 3 == 0 else {"content": f"stalled {n} {i}"}))
    os.kill(own_redis.process.pid, signal.SIGSTOP)  # alive and connected, answering nothing
    try:
        with load:
            time.sleep(stall)
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)

    checks = load.of("check")
    assert len(checks) >= 10 and {o.status for o in checks} == {200}
    slowest = max(o.ended - o.started for o in checks)
    assert slowest <= REDIS_TIMEOUT + allowance, \
        f"a check took {slowest:.2f}s with a {REDIS_TIMEOUT}s Redis timeout and {allowance:.2f}s for scoring"
    assert all(o.body["cached"] is False and o.body["stored"] is False for o in checks)
    assert any(o.sent == asked for o in checks)

    # Once Redis answers again the service uses it again.
    deadline = time.monotonic() + RETRY_AFTER + 5
    while session.post(served.base + CHECK, json=asked, headers=auth()).json()["cached"] is not True:
        assert time.monotonic() < deadline, "the cache never came back after Redis resumed"
        time.sleep(0.2)


# -- (c) a worker killed mid-request ----------------------------------------------------------------------


def _holder(server: Gunicorn, sock: socket.socket) -> int | None:
    """The pid of the worker that accepted this connection, from /proc (None until one has)."""
    ours = sock.getsockname()[1]
    with open("/proc/net/tcp") as f:
        rows = [line.split() for line in f.readlines()[1:]]
    inodes = {f"socket:[{r[9]}]" for r in rows
              if int(r[1].split(":")[1], 16) == server.port and int(r[2].split(":")[1], 16) == ours and r[9] != "0"}
    for pid in server.worker_pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                pass
    return None


def hold_a_worker(server: Gunicorn, headers: dict) -> tuple[socket.socket, int]:
    """A check whose head and first bytes are sent and whose rest never comes: the worker that takes it is
    inside the app, blocked reading the body, until the socket is closed. Returns (socket, worker pid)."""
    body = json.dumps({"content": "a comment that is still being sent"}).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(f"POST {CHECK} HTTP/1.1\r\nHost: spamgate.test\r\n{head}Content-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])
    deadline = time.monotonic() + 10
    while (pid := _holder(server, sock)) is None:
        assert time.monotonic() < deadline, "no worker took the connection"
        time.sleep(0.02)
    return sock, pid


def test_a_worker_killed_mid_request_is_replaced_and_only_its_request_fails(served, auth):
    workers = served.worker_pids()
    in_flight, victim = hold_a_worker(served, auth())
    load = Load(served.base, pause=0.02)
    for n in range(2):
        load.add("check", auth(), lambda i, n=n: (CHECK, {"content": f"thread {n} check {i} while a worker dies"}))
    with load:
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        # The request in flight fails: its connection ends without an answer.
        try:
            assert in_flight.recv(1024) == b""
        except ConnectionResetError:
            pass
        in_flight.close()
        deadline = time.monotonic() + 15
        while not (len(now := served.worker_pids()) == len(workers) and victim not in now):
            assert time.monotonic() < deadline, f"the master did not replace worker {victim}: {now}"
            time.sleep(0.05)
        time.sleep(1.0)

    assert served.process.poll() is None
    checks = load.of("check")
    assert len(checks) > 20 and {o.status for o in checks} == {200}, sorted({o.status for o in checks}, key=str)
    # The replacement takes requests: held one after the other, two connections land on both workers.
    first, first_pid = hold_a_worker(served, auth())
    second, second_pid = hold_a_worker(served, auth())
    first.close()
    second.close()
    assert {first_pid, second_pid} == now and now - workers


# -- (d) a broken model published ---------------------------------------------------------------------------
# The shipped model, broken in ways a bad copy, a half-finished publish or a hostile hand could break it.
# Where the break keeps metadata.json's hash in step with the file, the hash check cannot catch it.


def _meta(folder):
    return json.loads((folder / artifact.METADATA_FILE).read_text())


def _set_meta(folder, **changes):
    (folder / artifact.METADATA_FILE).write_text(json.dumps({**_meta(folder), **changes}))


def _replace_model(folder, blob: bytes):
    (folder / artifact.MODEL_FILE).write_bytes(blob)
    _set_meta(folder, model_sha256=hashlib.sha256(blob).hexdigest())


def _skops(obj) -> bytes:
    import skops.io

    return skops.io.dumps(obj)


def _foreign_pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline([("classifier", LogisticRegression())])


def _runs_code():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    return Pipeline([("features", FunctionTransformer(os.system))])


BROKEN_MODELS = [
    pytest.param(lambda d: (d / artifact.METADATA_FILE).write_text((d / artifact.METADATA_FILE).read_text()[:300]),
                 "unreadable metadata", id="metadata-cut-short"),
    pytest.param(lambda d: _replace_model(d, b"PK\x03\x04 not really a zip"), "not a readable skops file",
                 id="model-not-a-zip-hash-updated"),
    pytest.param(lambda d: _replace_model(d, _skops(_foreign_pipeline().steps[0][1])), "not a Pipeline",
                 id="another-estimator-hash-updated"),
    pytest.param(lambda d: _replace_model(d, _skops(_runs_code())), "posix.system", id="code-execution-hash-updated"),
    pytest.param(lambda d: (d / artifact.METADATA_FILE).write_text("[]"), "", id="metadata-not-an-object"),
    pytest.param(lambda d: _replace_model(d, _skops(_foreign_pipeline())), "", id="foreign-pipeline-hash-updated"),
    pytest.param(lambda d: (d / artifact.METADATA_FILE).write_text(
        json.dumps({k: v for k, v in _meta(d).items() if k != "version"})), "", id="metadata-without-version"),
]


@pytest.mark.parametrize("break_it, reason", BROKEN_MODELS)
def test_a_broken_model_is_refused_on_reload_and_the_old_one_serves(app, client, auth, tmp_path, break_it, reason):
    service = app.extensions["spamgate"]
    before = service.scorer.model_version
    folder = tmp_path / "published"
    shutil.copytree(SHIPPED_MODEL, folder)
    break_it(folder)
    service.settings = dataclasses.replace(service.settings, model_dir=folder)

    reload = client.post("/v1/model/reload", headers=auth(role="admin"))
    assert reload.status_code == 409 and reload.get_json()["reloaded"] is False
    assert reason in reload.get_json()["error"]
    model = client.get("/v1/model", headers=auth()).get_json()
    assert model["metadata"]["version"] == before and model["last_reload"]["ok"] is False
    assert client.get("/readyz").get_json()["failed"] == ["model"]
    check = client.post(CHECK, json={"content": "still scored by the old model"}, headers=auth())
    assert check.status_code == 200 and check.get_json()["model_version"] == before


def test_a_hup_with_a_model_that_raises_keeps_the_service_up_on_the_old_model(served, auth):
    before = requests.get(served.base + "/v1/model", headers=auth()).json()["metadata"]["version"]
    old_workers = served.worker_pids()
    (served.model_dir / artifact.METADATA_FILE).write_text("[]")  # JSON, but not the object the loader reads
    served.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while served.worker_pids() & old_workers:  # a reload replaces every worker
        assert served.process.poll() is None, "the gunicorn master died on the reload"
        assert time.monotonic() < deadline, "the workers were not replaced"
        time.sleep(0.1)
    assert served.process.poll() is None, "the gunicorn master died on the reload"
    served.wait_ready()
    assert requests.get(served.base + "/v1/model", headers=auth()).json()["metadata"]["version"] == before
    assert requests.post(served.base + CHECK, json={"content": "after a bad reload"}, headers=auth()).status_code == 200


def test_a_failed_reload_through_the_api_is_reported_by_every_worker(served, auth):
    (served.model_dir / artifact.METADATA_FILE).write_text("{")
    reload = requests.post(served.base + "/v1/model/reload", headers=auth(role="admin"))
    assert reload.status_code == 409
    time.sleep(2)  # room for a roll-out to the workers, if there is one
    served.wait_ready()
    # Each worker's own view: hold one worker with a request in flight and ask; the other answers.
    views = []
    held, held_pid = hold_a_worker(served, auth())
    views.append(requests.get(served.base + "/readyz", timeout=10))
    other, other_pid = hold_a_worker(served, auth())  # lands on the worker that just answered
    held.close()
    views.append(requests.get(served.base + "/readyz", timeout=10))
    other.close()
    assert held_pid != other_pid
    assert [(v.status_code, v.json()["failed"]) for v in views] == [(503, ["model"])] * 2
