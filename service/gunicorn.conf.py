"""gunicorn settings for spamgate: ``gunicorn -c service/gunicorn.conf.py`` (``spamgate serve`` does this).

The app (and so the model) is loaded once in the master before workers fork, so workers share its
memory. ``kill -HUP <master>`` reloads the model folder in the master (``on_reload``) and replaces the
workers gracefully: requests in flight finish on the old workers, new ones reach workers with the new
model. A model that fails to load is logged and the old one keeps serving.
"""

import logging as _logging
import os as _os
import shutil as _shutil
import sys as _sys
import tempfile as _tempfile

from spamgate import config as _config

_settings = _config.load()

# Metrics shared by the workers (service/metrics.py): prometheus_client picks its multiprocess mode when it
# is imported, so the folder is set here, before the app is preloaded. A fresh one per server start, as
# files left by an earlier run would be added in; gunicorn reads this file again on HUP, and then the
# master's own folder (named for its pid) is kept, or every count would start again from zero.
_metrics = _config.metrics_dir()
if _metrics is None or not _metrics.name.startswith(f"spamgate-metrics-{_os.getpid()}-"):
    _os.environ[_config.METRICS_DIR_VARIABLE] = _tempfile.mkdtemp(prefix=f"spamgate-metrics-{_os.getpid()}-")

wsgi_app = "service.wsgi:app"
bind = [_settings.bind]
workers = _settings.workers
# The sync worker, with gunicorn's own refusals (oversized headers, smuggling attempts) answered in JSON.
worker_class = "service.worker.JsonErrorWorker"
preload_app = True
timeout = 30
graceful_timeout = 30
keepalive = 5
# Requests larger than this never reach the app (the app refuses bodies over SPAMGATE_MAX_REQUEST_BYTES).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# gunicorn's own access log is off: the app writes one JSON line per request (service/logs.py).
accesslog = None
errorlog = "-"
loglevel = "info"

# The app's request lines, already JSON: written as they are to stderr, beside gunicorn's own log.
_access = _logging.getLogger("spamgate.access")
if not _access.handlers:
    _handler = _logging.StreamHandler(_sys.stderr)
    _handler.setFormatter(_logging.Formatter("%(message)s"))
    _access.addHandler(_handler)
    _access.setLevel(_logging.INFO)
    _access.propagate = False


def on_reload(server):
    # This runs in the master, and gunicorn ends its main loop (and so every worker) on any exception from
    # it: whatever a broken model raises, the master must live on with the old model.
    try:
        server.app.wsgi().extensions["spamgate"].reload_model()
    except Exception:
        server.log.exception("model reload failed; the previous model keeps serving")


def child_exit(server, worker):
    # A dead worker's counters stay in the sum; its live gauges (the model version) leave it.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    _shutil.rmtree(_config.metrics_dir(), ignore_errors=True)
