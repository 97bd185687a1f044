"""gunicorn settings for spamgate: ``gunicorn -c service/gunicorn.conf.py`` (``spamgate serve`` does this).

The app (and so the model) is loaded once in the master before workers fork, so workers share its
memory. ``kill -HUP <master>`` reloads the model folder in the master (``on_reload``) and replaces the
workers gracefully: requests in flight finish on the old workers, new ones reach workers with the new
model. A model that fails to load is logged and the old one keeps serving.
"""

from spamgate import config as _config

_settings = _config.load()

wsgi_app = "service.wsgi:app"
bind = [_settings.bind]
workers = _settings.workers
worker_class = "sync"
preload_app = True
timeout = 30
graceful_timeout = 30
keepalive = 5
# Requests larger than this never reach the app (the app refuses bodies over SPAMGATE_MAX_REQUEST_BYTES).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = None
errorlog = "-"
loglevel = "info"


def on_reload(server):
    app = server.app.wsgi()
    app.extensions["spamgate"].reload_model()
