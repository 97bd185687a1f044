"""All configuration, from ``SPAMGATE_*`` environment variables with documented defaults.

No other module reads ``os.environ``. README.md lists every variable in one table; keep the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping

from model.rules import DEFAULT_RULES, RuleList
from model.scorer import SHIPPED_MODEL
from model.verdict import Policy


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    # The model and the verdict
    model_dir: Path = SHIPPED_MODEL
    review_threshold: float = 0.5
    block_threshold: float = 0.97
    words_only_block_threshold: float = 0.99
    max_links: int = 3
    blocked_domains: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    # Rule configs (rules.toml files or folders holding one), comma-separated; "none" for no lists.
    rules: tuple[Path, ...] = (DEFAULT_RULES,)
    # Where the rules' compiled pattern databases are kept (model/superset.py), so a restart skips compiling.
    rules_cache: Path = Path.home() / ".cache" / "spamgate"
    # The service
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout: float = 0.25  # seconds, for connecting and for each command
    redis_prefix: str = "spamgate"
    keys_file: Path = Path("var/keys.json")
    data_dir: Path = Path("var")  # where `spamgate serve` keeps a Redis it starts itself
    cache_ttl: int = 24 * 3600  # seconds a cached verdict is reused
    verdict_ttl: int = 30 * 24 * 3600  # seconds a verdict record is kept
    max_comment_bytes: int = 64 * 1024
    max_request_bytes: int = 1024 * 1024
    max_batch: int = 100
    # Requests per API key (a key in the keys file may carry its own "rate_limit"); "none" turns limits off.
    rate_limit: str = "1200/minute"
    bind: str = "127.0.0.1:8000"
    workers: int = 2

    def policy(self, rules: tuple[RuleList, ...] = ()) -> Policy:
        """The verdict policy these settings describe, with the rule lists loaded from ``self.rules``
        (``model.rules.load_all``; loading is left to the caller, as it reads files and takes time)."""
        return Policy(
            review_threshold=self.review_threshold,
            block_threshold=self.block_threshold,
            words_only_block_threshold=self.words_only_block_threshold,
            max_links=self.max_links,
            blocked_domains=self.blocked_domains,
            allowed_domains=self.allowed_domains,
            rules=rules,
        )


def load(env: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Defaults, then ``SPAMGATE_<NAME>`` variables from ``env`` (the process environment by default),
    then ``overrides``. Raises ConfigError naming the variable for a value that does not parse."""
    env = os.environ if env is None else env
    values = {}
    for f in fields(Settings):
        name = f"SPAMGATE_{f.name.upper()}"
        if name in env and env[name] != "":
            values[f.name] = _parse(name, env[name], f.type)
    values.update(overrides)
    try:
        settings = Settings(**values)
        settings.policy()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if settings.rate_limit.strip().lower() != "none":
        from limits import parse_many

        try:
            parse_many(settings.rate_limit)
        except ValueError:
            raise ConfigError(f"SPAMGATE_RATE_LIMIT={settings.rate_limit!r} is not a rate limit like 600/minute") from None
    for name in ("redis_timeout", "cache_ttl", "verdict_ttl", "max_comment_bytes", "max_request_bytes", "max_batch",
                 "workers"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"SPAMGATE_{name.upper()} must be positive")
    return settings


def _parse(name: str, raw: str, kind: str):
    try:
        if kind == "Path":
            return Path(raw).expanduser()
        if kind == "float":
            return float(raw)
        if kind == "int":
            return int(raw)
        if kind == "str":
            return raw
        if kind == "frozenset[str]":
            return frozenset(item.strip().lower() for item in raw.split(",") if item.strip())
        if kind == "tuple[Path, ...]":
            return () if raw.strip().lower() == "none" else tuple(Path(p.strip()) for p in raw.split(",") if p.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind}") from None
    return raw


# prometheus_client's own variable, not a SPAMGATE_ setting: service/gunicorn.conf.py sets it to a fresh
# folder at each server start, before the app (and prometheus_client) is imported.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """The folder where gunicorn's workers keep the metrics they share, or None when each process
    counts on its own."""
    env = os.environ if env is None else env
    return Path(env[METRICS_DIR_VARIABLE]) if env.get(METRICS_DIR_VARIABLE) else None
