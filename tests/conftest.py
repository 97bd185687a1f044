"""Shared fixtures: the shipped model, the shared data, a small labelled set for quick trainings."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"


def require_shared_data() -> Path:
    if not (SHARED_DATA / "youtube-spam-collection").is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}: these tests need the labelled data beside the "
                    "repository (../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return require_shared_data()


@pytest.fixture(scope="session")
def examples(shared_data):
    from training.data import load

    return load([shared_data])


@pytest.fixture(scope="session")
def scorer():
    from model.scorer import Scorer

    return Scorer.load()


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory, examples) -> Path:
    """About 600 labelled comments of every family as JSON Lines, enough to train in seconds."""
    rng = random.Random(7)
    picked = rng.sample(examples, 600)
    path = tmp_path_factory.mktemp("data") / "small.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for ex in picked:
            f.write(json.dumps({**ex.comment, "label": "spam" if ex.label else "ham", "group": ex.group},
                               ensure_ascii=False) + "\n")
    return path


# -- a real Redis, started for the test run ----------------------------------------------------------

import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server process of the test run's own, on a free port, with append-only persistence.
    Fault tests stop and start it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
             "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start; see {self.folder / 'redis.log'}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed; the service tests need a real one "
                    "(Debian/Ubuntu: apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def running_redis(redis_server):
    """The test run's Redis, started again if an earlier test stopped it."""
    if redis_server.process is None:
        redis_server.start()
    return redis_server


@pytest.fixture
def keys(tmp_path):
    """A keys file with one key per (site, role); returns (path, {(site, role): token})."""
    from service.auth import add_key

    path = tmp_path / "keys.json"
    tokens = {}
    for site in ("blog-a", "blog-b"):
        for role in ("client", "moderator", "admin"):
            tokens[(site, role)] = add_key(path, site, role)[1]
    return path, tokens


@pytest.fixture
def service_config(running_redis, keys, tmp_path):
    """Settings overrides for a fresh service: its own Redis key prefix, so tests do not share state."""
    return {"redis_url": running_redis.url, "keys_file": keys[0],
            "redis_prefix": f"t{time.monotonic_ns()}", "data_dir": tmp_path}


@pytest.fixture
def app(service_config, scorer):
    from service import create_app
    from service.state import Service
    from spamgate import config

    settings = config.load(env={}, **service_config)
    return create_app(service_config, service=Service(settings, scorer=scorer))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(keys):
    tokens = keys[1]

    def headers(site="blog-a", role="client"):
        return {"Authorization": f"Bearer {tokens[(site, role)]}"}

    return headers
