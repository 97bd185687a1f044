"""API keys: each for one site and one role, configured as SHA-256 hashes in a JSON file.

The file (``SPAMGATE_KEYS_FILE``) looks like ``{"keys": [{"id": "...", "site": "...", "role": "...",
"sha256": "..."}]}``; ``spamgate keys add`` writes it and prints a new key once. A request sends
``Authorization: Bearer <key>``. The hash of the key is compared with every configured hash in constant
time, so neither the time taken nor an early exit says how close a guess was.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

log = logging.getLogger(__name__)

ROLES = ("client", "moderator", "admin")
SITE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class KeysError(ValueError):
    pass


@dataclass(frozen=True)
class Key:
    id: str
    site: str
    role: str
    sha256: str
    rate_limit: str = ""  # this key's own limit ("100/minute"), else SPAMGATE_RATE_LIMIT

    def allows(self, *roles: str) -> bool:
        return self.role == "admin" or self.role in roles


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class KeyRing:
    def __init__(self, keys: list[Key]):
        self.keys = keys

    @classmethod
    def load(cls, path: Path) -> "KeyRing":
        """Keys from ``path``; a missing file is an empty ring (every request is then refused)."""
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except FileNotFoundError:
            return cls([])
        except (OSError, ValueError) as e:
            raise KeysError(f"{path}: unreadable keys file ({e})") from None
        keys = []
        for i, item in enumerate(data.get("keys", []) if isinstance(data, dict) else []):
            try:
                key = Key(str(item["id"]), str(item["site"]), str(item["role"]), str(item["sha256"]).lower())
            except (KeyError, TypeError):
                raise KeysError(f"{path}: key {i} needs id, site, role and sha256") from None
            if key.role not in ROLES or not re.fullmatch(r"[0-9a-f]{64}", key.sha256) or not SITE_PATTERN.match(key.site):
                raise KeysError(f"{path}: key {key.id!r} has a bad role, site or sha256")
            if item.get("rate_limit"):
                key = replace(key, rate_limit=checked_rate_limit(str(item["rate_limit"]), f"{path}: key {key.id!r}"))
            keys.append(key)
        return cls(keys)

    def find(self, token: str) -> Key | None:
        """The key whose hash matches ``token``'s, or None. Looks at every key whatever it finds."""
        wanted = digest(token).encode()
        found = None
        for key in self.keys:
            if hmac.compare_digest(key.sha256.encode(), wanted):
                found = key
        return found


class KeyFile:
    """The keys file, read again when it changes (checked at most once a second), so a key added with
    ``spamgate keys add`` works without a restart."""

    CHECK_EVERY = 1.0

    def __init__(self, path: Path):
        self.path = Path(path)
        self._stamp = self._mtime()
        self._ring = KeyRing.load(self.path)
        self._checked = time.monotonic()

    def _mtime(self) -> float | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def find(self, token: str) -> Key | None:
        now = time.monotonic()
        if now - self._checked >= self.CHECK_EVERY:
            self._checked = now
            stamp = self._mtime()
            if stamp != self._stamp:
                try:
                    self._ring = KeyRing.load(self.path)
                    self._stamp = stamp
                except KeysError as e:  # a half-edited file: keep the keys we had
                    log.error("keys file not reloaded: %s", e)
        return self._ring.find(token)


def bearer_token(header: str) -> str:
    """The key in an ``Authorization: Bearer <key>`` header value, or "" when there is none."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def request_key(token: str) -> Key | None:
    """The key ``token`` names, looked up once per request: the rate limiter asks before the route does."""
    from flask import current_app, g

    found = g.get("key_lookup")
    if found is None or found[0] != token:
        found = g.key_lookup = (token, current_app.extensions["spamgate"].keys.find(token))
    return found[1]


def checked_rate_limit(value: str, where: str) -> str:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise KeysError(f"{where}: rate_limit {value!r} is not a rate limit like 600/minute") from None
    return value


def add_key(path: Path, site: str, role: str, rate_limit: str = "") -> tuple[Key, str]:
    """Make a new key for ``site`` and ``role``, store only its hash in ``path``, return (key, token)."""
    if rate_limit:
        checked_rate_limit(rate_limit, "--rate-limit")
    if role not in ROLES:
        raise KeysError(f"role must be one of {', '.join(ROLES)}")
    if not SITE_PATTERN.match(site):
        raise KeysError("site must be 1-100 characters of letters, digits, '.', '_' or '-'")
    path = Path(path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        data = {"keys": []}
    except (OSError, ValueError) as e:
        raise KeysError(f"{path}: unreadable keys file ({e})") from None
    token = "sg_" + secrets.token_urlsafe(32)
    key = Key("k_" + secrets.token_hex(6), site, role, digest(token), rate_limit)
    data.setdefault("keys", []).append({k: v for k, v in key.__dict__.items() if v or k != "rate_limit"})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".keys.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    return key, token
