"""Running the service: a local Redis when none answers, then gunicorn with the repository's config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import redis

from spamgate.config import Settings

GUNICORN_CONF = Path(__file__).with_name("gunicorn.conf.py")


class RunnerError(Exception):
    pass


def ensure_redis(settings: Settings, *, start: bool = True) -> str:
    """Return "running" if Redis answers at SPAMGATE_REDIS_URL; otherwise, for a local URL and
    ``start``, start redis-server with append-only persistence under ``data_dir/redis`` and return
    "started"."""
    if _answers(settings.redis_url):
        return "running"
    parts = urlsplit(settings.redis_url)
    if not start or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise RunnerError(f"no Redis answers at {settings.redis_url}")
    server = shutil.which("redis-server")
    if server is None:
        raise RunnerError("no Redis answers and redis-server is not installed; install it "
                          "(Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`)")
    folder = (settings.data_dir / "redis").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    port = parts.port or 6379
    subprocess.run([server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                    "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                    "--daemonize", "yes", "--pidfile", str(folder / "redis.pid"),
                    "--logfile", str(folder / "redis.log")], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _answers(settings.redis_url):
            print(f"spamgate: started redis-server on port {port}, data in {folder}", file=sys.stderr)
            return "started"
        time.sleep(0.1)
    raise RunnerError(f"started redis-server but it does not answer; see {folder / 'redis.log'}")


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def exec_gunicorn(bind: str, workers: int) -> None:
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF),
                              "--bind", bind, "--workers", str(workers)])
