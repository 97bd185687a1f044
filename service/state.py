"""What one service process holds: settings, the scorer (swapped whole on reload), the store, the keys."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

import json
import time

from model import rules as rulebook
from model import superset
from model.scorer import Scorer
from model.verdict import Policy
from spamgate.config import Settings

from .auth import KeyFile, KeyRing
from .store import Store, StoreUnavailable

log = logging.getLogger(__name__)


# How long a worker uses a site's rules before asking Redis again: a moderator's change reaches every
# worker within this, at the cost of one GET per site per second per worker.
SITE_RULES_TTL = 1.0


class Service:
    def __init__(self, settings: Settings, scorer: Scorer | None = None, keys: KeyRing | None = None):
        self.settings = settings
        # The operator's lists; a broken one stops start-up here, naming the file and line.
        superset.CACHE_DIR = settings.rules_cache
        self.policy = settings.policy(rulebook.load_all(settings.rules))
        self.scorer = scorer or Scorer.load(settings.model_dir, self.policy)
        self.keys = keys if keys is not None else KeyFile(settings.keys_file)
        self._sites: dict[str, tuple[float, str | None, Policy]] = {}
        self.store = Store(settings.redis_url, prefix=settings.redis_prefix, timeout=settings.redis_timeout,
                           cache_ttl=settings.cache_ttl, verdict_ttl=settings.verdict_ttl)
        self.last_reload: dict = {"ok": True, "at": _now(), "version": self.scorer.model_version, "error": None}
        self._reload_lock = threading.Lock()

    def reload_model(self) -> dict:
        """Load the model folder again. A model that fails to load is not used: the old one keeps
        serving and the failure is reported in ``last_reload`` (and /readyz, /v1/model)."""
        with self._reload_lock:
            try:
                policy = self.settings.policy(rulebook.load_all(self.settings.rules))
                scorer = Scorer.load(self.settings.model_dir, policy)
                # A model that loads but cannot name its version or score a comment would make every check
                # a 500: try both before it replaces the model serving.
                version = scorer.model_version
                scorer.check("a canary comment: visit http://example.com")
            except Exception as e:  # whatever a broken model or rule list raises, the old one keeps serving
                log.error("model reload failed, keeping %s: %s", self.scorer.model_version, e)
                self.last_reload = {"ok": False, "at": _now(), "version": self.scorer.model_version, "error": str(e)}
                return self.last_reload
            previous, self.scorer, self.policy = self.scorer.model_version, scorer, policy
            self._sites.clear()
            log.info("model reloaded: %s -> %s", previous, version)
            self.last_reload = {"ok": True, "at": _now(), "version": version, "error": None}
            return self.last_reload

    def policy_for(self, site: str) -> Policy:
        """The policy for a site's comments: the operator's, with the site's own rules. Read from Redis
        at most once per SITE_RULES_TTL; while Redis is down the last rules read keep applying."""
        now = time.monotonic()
        entry = self._sites.get(site)
        if entry is not None and now - entry[0] < SITE_RULES_TTL:
            return entry[2]
        try:
            stored = self.store.site_rules(site)
        except StoreUnavailable:
            policy = entry[2] if entry is not None else self.policy
            self._sites[site] = (now, entry[1] if entry is not None else None, policy)
            return policy
        if entry is not None and stored == entry[1]:
            policy = entry[2]
        else:
            policy = self._site_policy(site, stored)
        self._sites[site] = (now, stored, policy)
        return policy

    def _site_policy(self, site: str, stored: str | None) -> Policy:
        if stored is None:
            return self.policy
        try:
            return self.policy.for_site(rulebook.SiteRules.from_json(json.loads(stored)))
        except (ValueError, rulebook.RulesError) as e:  # only written after the same checks; say so if not
            log.error("site %s: stored rules cannot be used, applying the defaults: %s", site, e)
            return self.policy


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
