"""The service as a process: gunicorn started the way an operator starts it (``spamgate serve``), on the
test run's redis-server, and the ``spamgate`` command. Shared by the end-to-end, hostile-input and
fault tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import requests

from model.scorer import SHIPPED_MODEL
from tests.conftest import ROOT, free_port


class Gunicorn:
    """``spamgate serve`` on a free port. ``process`` is the gunicorn master: the command execs it."""

    WORKERS = 2

    def __init__(self, env: dict, log_path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spamgate", "serve", "--no-redis", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.WORKERS)], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log.name}")
            try:
                answers = requests.get(self.base + "/healthz", timeout=1).status_code == 200
            except requests.ConnectionError:
                answers = False
            # Ready when every worker is up (and no old one lingers), not only the first to answer.
            if answers and len(self.worker_pids()) == self.WORKERS:
                return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer in time")

    def worker_pids(self) -> set[int]:
        """The master's child processes (its workers), from /proc."""
        pid = self.process.pid
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return {int(p) for p in f.read().split()}

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def served_env(tmp_path, service_config, keys) -> dict:
    """The environment of a service on the test Redis, serving a copy of the shipped model in
    ``tmp_path/model`` (so a test can publish a new one into it)."""
    model_dir = tmp_path / "model"
    shutil.copytree(SHIPPED_MODEL, model_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPAMGATE_")}
    env.update({
        "SPAMGATE_REDIS_URL": service_config["redis_url"],
        "SPAMGATE_REDIS_PREFIX": service_config["redis_prefix"],
        "SPAMGATE_KEYS_FILE": str(keys[0]),
        "SPAMGATE_MODEL_DIR": str(model_dir),
        "SPAMGATE_DATA_DIR": str(tmp_path),
    })
    return env


def module_gunicorn(redis_server, folder, roles=("client",), prefix="mod", **env):
    """A gunicorn for a whole test module on the test run's Redis, with a key of blog-a for each role:
    (server, {role: token}). ``env`` adds SPAMGATE_* variables. The caller stops it."""
    from service.auth import add_key

    if redis_server.process is None:
        redis_server.start()
    keys_file = folder / "keys.json"
    tokens = {role: add_key(keys_file, "blog-a", role)[1] for role in roles}
    config = {"redis_url": redis_server.url, "redis_prefix": f"{prefix}{time.monotonic_ns()}"}
    return Gunicorn({**served_env(folder, config, (keys_file, tokens)), **env}, folder / "gunicorn.log"), tokens


def spamgate(env, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "spamgate", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=300)
