"""What one service process holds: settings, the scorer (swapped whole on reload), the store, the keys."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from model.artifact import ArtifactError
from model.scorer import Scorer
from spamgate.config import Settings

from .auth import KeyFile, KeyRing
from .store import Store

log = logging.getLogger(__name__)


class Service:
    def __init__(self, settings: Settings, scorer: Scorer | None = None, keys: KeyRing | None = None):
        self.settings = settings
        self.scorer = scorer or Scorer.load(settings.model_dir, settings.policy())
        self.keys = keys if keys is not None else KeyFile(settings.keys_file)
        self.store = Store(settings.redis_url, prefix=settings.redis_prefix, timeout=settings.redis_timeout,
                           cache_ttl=settings.cache_ttl, verdict_ttl=settings.verdict_ttl)
        self.last_reload: dict = {"ok": True, "at": _now(), "version": self.scorer.model_version, "error": None}
        self._reload_lock = threading.Lock()

    def reload_model(self) -> dict:
        """Load the model folder again. A model that fails to load is not used: the old one keeps
        serving and the failure is reported in ``last_reload`` (and /readyz, /v1/model)."""
        with self._reload_lock:
            try:
                scorer = Scorer.load(self.settings.model_dir, self.settings.policy())
            except ArtifactError as e:
                log.error("model reload failed, keeping %s: %s", self.scorer.model_version, e)
                self.last_reload = {"ok": False, "at": _now(), "version": self.scorer.model_version, "error": str(e)}
                return self.last_reload
            previous, self.scorer = self.scorer.model_version, scorer
            log.info("model reloaded: %s -> %s", previous, scorer.model_version)
            self.last_reload = {"ok": True, "at": _now(), "version": scorer.model_version, "error": None}
            return self.last_reload


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
