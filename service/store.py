"""Everything the service keeps in Redis: the verdict cache, verdict records, moderation queues and
the labelled feedback.

Keys (``<p>`` is ``SPAMGATE_REDIS_PREFIX``, ``v1`` the layout version):

    <p>:v1:cache:<model version>:<digest>     result of scoring, with a TTL (a new model never reads it)
    <p>:v1:verdict:<id>                       the verdict record (comment, result, site), with a TTL
    <p>:v1:decisions:<id>                     list of moderator decisions on it, same TTL
    <p>:v1:queue:<site>:<verdict>             sorted set of ids by creation time, trimmed to the TTL
    <p>:v1:latest:<site>:<digest>             id of the newest verdict on that comment (Akismet's submit-*)
    <p>:v1:usage:<site>:<YYYY-MM>             Akismet comment-check calls this month (usage-limit)
    <p>:v1:feedback                           stream of labelled comments: no TTL, read in order by training
    <p>:v1:feedback-label:verdict:<id>        last label recorded for a verdict, so a repeated call is a no-op
    <p>:v1:feedback-label:report:<digest>     the same for a report of a comment that was never checked
    <p>:v1:site-rules:<site>                  the site's own rules (JSON), no TTL

Redis is given short timeouts. After an error the store reports itself down for ``RETRY_AFTER`` seconds
(``Breaker``, shared with the rate limiter) and fails at once instead of waiting again, so a dead or slow
Redis costs a request at most one timeout.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Iterator

import redis

from model.verdict import ALLOW, BLOCK, REVIEW

from . import metrics

log = logging.getLogger(__name__)

VERDICTS = (ALLOW, REVIEW, BLOCK)


class StoreUnavailable(Exception):
    """Redis could not be reached or answered too slowly; nothing was stored."""


# Record a moderator's decision once: skip when the same label was already recorded for this verdict.
_FEEDBACK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], '*', 'entry', ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[4]) end
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[3], ARGV[4]) end
end
return 1
"""


# A cache hit, handled inside Redis: store the verdict record (head .. cached result .. "}") and queue it.
_FROM_CACHE_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local cached = redis.call('GET', key)
  if cached then
    local id, head, digest = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
    redis.call('SET', ARGV[1] .. id, head .. cached .. '}', 'EX', ARGV[3])
    redis.call('SET', ARGV[6] .. digest, id, 'EX', ARGV[3])
    local queue = ARGV[2] .. string.match(cached, '"verdict": *"(%a+)"')
    redis.call('ZADD', queue, ARGV[4], id)
    redis.call('ZREMRANGEBYSCORE', queue, '-inf', ARGV[5])
    out[i] = cached
  else
    out[i] = false
  end
end
return out
"""


# Fresh results, cached and recorded inside Redis in one call. Per item: the cache entry, the verdict
# record (head .. result .. "}"), the latest-verdict pointer and the queue entry; then each queue touched is
# trimmed to the TTL. One script instead of a pipeline of four commands per comment: redis-py's packing and
# parsing of 400 commands was a quarter of a batch of 100's time in the worker.
_SAVE_SCRIPT = """
local cache, record, latest, queue = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cache_ttl, record_ttl, created, cutoff = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local queues = {}
for i = 9, #ARGV, 5 do
  local digest, id, head, result, verdict = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  redis.call('SET', cache .. digest, result, 'EX', cache_ttl)
  redis.call('SET', record .. id, head .. result .. '}', 'EX', record_ttl)
  redis.call('SET', latest .. digest, id, 'EX', record_ttl)
  redis.call('ZADD', queue .. verdict, created, id)
  queues[verdict] = true
end
for verdict in pairs(queues) do
  redis.call('ZREMRANGEBYSCORE', queue .. verdict, '-inf', cutoff)
end
return 1
"""


@dataclass(frozen=True)
class Check:
    """One comment being checked: the digest of what was scored, its verdict id, and the head of its
    verdict record (JSON of everything but the result, left open for ``"result": ...}``)."""

    digest: str
    id: str
    head: str


@dataclass
class Page:
    items: list[dict]
    cursor: str | None


class Breaker:
    """After a Redis error, Redis counts as down for ``RETRY_AFTER`` seconds and is not asked meanwhile, so
    a dead or slow Redis costs a request at most one timeout. One per process, shared by the store and the
    rate limiter: they talk to the same Redis. (gunicorn's sync workers serve one request at a time.)"""

    RETRY_AFTER = 1.0

    def __init__(self) -> None:
        self._down_until = 0.0

    @property
    def open(self) -> bool:
        return time.monotonic() < self._down_until

    def trip(self) -> None:
        self._down_until = time.monotonic() + self.RETRY_AFTER

    def reset(self) -> None:
        self._down_until = 0.0


class Store:
    RETRY_AFTER = Breaker.RETRY_AFTER

    def __init__(self, url: str, *, prefix: str = "spamgate", timeout: float = 0.25, cache_ttl: int = 86400,
                 verdict_ttl: int = 30 * 86400):
        self.prefix = f"{prefix}:v1"
        self.cache_ttl, self.verdict_ttl = cache_ttl, verdict_ttl
        self.redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry_on_timeout=False,
            health_check_interval=0, decode_responses=True, max_connections=64,
        )
        self._feedback = self.redis.register_script(_FEEDBACK_SCRIPT)
        self._from_cache = self.redis.register_script(_FROM_CACHE_SCRIPT)
        self._save = self.redis.register_script(_SAVE_SCRIPT)
        self.breaker = Breaker()

    # -- availability -------------------------------------------------------------------------------

    def _call(self, fn, *args, **kwargs):
        if self.breaker.open:
            raise StoreUnavailable("redis is unavailable (retrying shortly)")
        try:
            return fn(*args, **kwargs)
        except (redis.RedisError, OSError, UnicodeError) as e:
            # Not only a lost connection: OOM, READONLY and MISCONF answers mean nothing was stored too.
            self.breaker.trip()
            metrics.REDIS_ERRORS.inc()
            log.warning("redis unavailable: %s", e)
            raise StoreUnavailable(f"redis is unavailable: {e}") from None

    def ping(self) -> None:
        """Raise StoreUnavailable unless Redis answers now (ignores the retry pause)."""
        try:
            self.redis.ping()
        except (redis.RedisError, OSError) as e:
            raise StoreUnavailable(f"redis is unavailable: {e}") from None
        self.breaker.reset()

    # -- checks: the cache and the verdict records -------------------------------------------------

    def _cache_key(self, model_version: str, digest: str) -> str:
        return f"{self.prefix}:cache:{model_version}:{digest}"

    def _verdict_key(self, verdict_id: str) -> str:
        return f"{self.prefix}:verdict:{verdict_id}"

    def _queue_key(self, site: str, verdict: str) -> str:
        return f"{self.prefix}:queue:{site}:{verdict}"

    def _latest_key(self, site: str, digest: str) -> str:
        return f"{self.prefix}:latest:{site}:{digest}"

    def latest_verdict_id(self, site: str, digest: str) -> str | None:
        """The id of the newest verdict on this site for a comment with this digest, if still kept."""
        return self._call(self.redis.get, self._latest_key(site, digest))

    @staticmethod
    def new_id() -> str:
        # Time-ordered (the first 12 hex digits are milliseconds), unique, and unguessable enough.
        return f"{int(time.time() * 1000):012x}{uuid.uuid4().hex[:20]}"

    def checks_from_cache(self, model_version: str, site: str, created: float, items: list[Check]) -> list[str | None]:
        """For each check, the cached result (JSON text) or None. A hit's verdict record is stored in the
        same round trip, so a cache hit costs one call to Redis."""
        if not items:
            return []
        args = [self._verdict_key(""), self._queue_key(site, ""), self.verdict_ttl, created,
                created - self.verdict_ttl, self._latest_key(site, "")]
        for item in items:
            args += [item.id, item.head, item.digest]
        return self._call(self._from_cache, keys=[self._cache_key(model_version, i.digest) for i in items], args=args)

    def save_checks(self, model_version: str, site: str, created: float, items: list[Check],
                    results: list[tuple[str, str]]) -> None:
        """Cache fresh results (JSON text, verdict) and store their verdict records, in one round trip."""
        if not items:
            return
        args = [self._cache_key(model_version, ""), self._verdict_key(""), self._latest_key(site, ""),
                self._queue_key(site, ""), self.cache_ttl, self.verdict_ttl, created, created - self.verdict_ttl]
        for item, (result, verdict) in zip(items, results):
            args += [item.digest, item.id, item.head, result, verdict]
        self._call(self._save, args=args)

    def verdict(self, verdict_id: str) -> dict | None:
        def run():
            pipe = self.redis.pipeline(transaction=False)
            pipe.get(self._verdict_key(verdict_id))
            pipe.lrange(f"{self.prefix}:decisions:{verdict_id}", 0, -1)
            return pipe.execute()

        raw, decisions = self._call(run)
        if raw is None:
            return None
        record = json.loads(raw)
        record["decisions"] = [json.loads(d) for d in decisions]
        return record

    def queue(self, site: str, verdict: str, since: float, cursor: str | None, limit: int) -> Page:
        """Verdict records of ``site`` with ``verdict``, oldest first, created at or after ``since``.
        ``cursor`` is the id of the last record of the previous page.

        Pages go by rank in the sorted set, so records created in the same instant (a batch) are neither
        skipped nor repeated; a cursor whose record has expired resumes from the oldest one left."""
        key = self._queue_key(site, verdict)

        def run():
            start = self.redis.zcount(key, "-inf", f"({since!r}")
            if cursor:
                rank = self.redis.zrank(key, cursor)
                if rank is not None:
                    start = max(start, rank + 1)
            members = self.redis.zrange(key, start, start + limit - 1)
            if not members:
                return [], []
            pipe = self.redis.pipeline(transaction=False)
            for member in members:
                pipe.get(self._verdict_key(member))
            return members, pipe.execute()

        members, raws = self._call(run)
        items = [json.loads(r) for r in raws if r]
        return Page(items, members[-1] if len(members) == limit else None)

    # -- usage ----------------------------------------------------------------------------------------

    # -- a site's own rules --------------------------------------------------------------------------

    def _site_rules_key(self, site: str) -> str:
        return f"{self.prefix}:site-rules:{site}"

    def site_rules(self, site: str) -> str | None:
        """The site's rules as stored (JSON text), or None if it has none."""
        return self._call(self.redis.get, self._site_rules_key(site))

    def put_site_rules(self, site: str, rules_json: str) -> None:
        self._call(self.redis.set, self._site_rules_key(site), rules_json)

    def _usage_key(self, site: str) -> str:
        return f"{self.prefix}:usage:{site}:{time.strftime('%Y-%m', time.gmtime())}"

    def count_usage(self, site: str) -> None:
        """Count one call against this month's usage of ``site`` (kept 40 days)."""
        def run():
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(self._usage_key(site))
            pipe.expire(self._usage_key(site), 40 * 86400)
            pipe.execute()

        self._call(run)

    def usage(self, site: str) -> int:
        return int(self._call(self.redis.get, self._usage_key(site)) or 0)

    # -- feedback -----------------------------------------------------------------------------------

    def record_decision(self, verdict_id: str, entry: dict, decision: dict) -> bool:
        """Append ``entry`` to the feedback stream and ``decision`` to the verdict's history, unless
        the same label was already recorded for it. Returns whether anything was added."""
        return self._add_feedback(f"verdict:{verdict_id}", entry, f"{self.prefix}:decisions:{verdict_id}",
                                  json.dumps(decision))

    def add_report(self, entry: dict, digest: str) -> bool:
        """Append a labelled comment that was never checked; the same report twice is kept once."""
        return self._add_feedback(f"report:{digest}", entry, "", "")

    def _add_feedback(self, subject: str, entry: dict, decisions_key: str, decision: str) -> bool:
        added = self._call(
            self._feedback,
            keys=[f"{self.prefix}:feedback-label:{subject}", f"{self.prefix}:feedback", decisions_key or "-"],
            args=[entry["label"], json.dumps(entry, ensure_ascii=False), decision, self.verdict_ttl],
        )
        return bool(added)

    def feedback(self, batch: int = 1000) -> Iterator[tuple[str, dict]]:
        """Every feedback entry in the order it was recorded: (stream id, entry)."""
        start = "-"
        while True:
            chunk = self._call(self.redis.xrange, f"{self.prefix}:feedback", min=start, max="+", count=batch)
            if not chunk:
                return
            for stream_id, fields in chunk:
                yield stream_id, json.loads(fields["entry"])
            start = f"({chunk[-1][0]}"  # exclusive: after the last one read
