"""Find the links in a comment, however they are written.

One left-to-right scan with one alternation of bounded patterns, so the time is linear in the length of
the text: every quantifier has an upper bound and no pattern can rescan what an earlier match consumed.
Each candidate host is checked against the public suffix list bundled with tldextract (never fetched).

Forms found: ``http(s)://`` URLs, ``www.`` names, bare names (``example.co.in``, ``bit.ly/x``), links in
HTML attributes (``<a href>``, ``<img src>``), BBCode (``[url]``, ``[url=...]``), Markdown
(``[text](url)``), obfuscated forms (``hxxp://``, ``example dot com``, ``example[.]com``,
``bit . ly``), internationalised and punycode hosts, and IP-address hosts.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

import regex
import tldextract

# Characters of a host label in any script: letters, combining marks (Devanagari vowel signs), digits.
# Labels are possessive: once a run of label characters is read it is never re-split, which keeps the
# scan at a few steps per character on ordinary prose.
_L = r"[\p{L}\p{M}\p{N}]"
_LABEL = r"[\p{L}\p{M}\p{N}][\p{L}\p{M}\p{N}-]{0,62}+"
# An obfuscated dot: "[.]", "(.)", "{.}", "[dot]", "(dot)", " dot ", " . ".
_ODOT = r"(?:\s{0,3}[\[({]\s{0,3}(?:\.|dot)\s{0,3}[\])}]\s{0,3}|\s{1,3}dot\s{1,3}|\s{1,3}\.\s{1,3})"
_DOT = rf"(?:\.|{_ODOT})"
_HOST = rf"{_LABEL}(?:{_DOT}{_LABEL}){{1,10}}+"
# Characters that end a URL written in text: space, quotes (straight and curly), angle brackets, square
# brackets (BBCode tags follow URLs: "[b]http://x.com[/b]"), the Devanagari dandas and guillemets.
_STOP = "\\s<>\"'`\\[\\]\u0964\u0965\u201c\u201d\u2018\u2019\u00ab\u00bb"
_PORT_PATH = rf"(?::\d{{1,5}})?(?:[/?#][^{_STOP}{{}}|\\^]{{0,2000}})?"
# A URL may still hold square brackets that are not a tag: an IPv6 host, "[.]" or "[dot]" written to
# dodge filters, a query like "a[]=1". A tag ("[/b]", "[/url]") has a slash, so it is not among these.
_BRACKETED = r"\[(?:[0-9a-fA-F:.]{2,45}|[\w.]{0,16})\]"
_URL_CHARS = rf"(?:[^{_STOP}]|{_BRACKETED}){{0,2048}}"
# "hxxp://", "h**ps://", "http[:]//", "http : //"
_SCHEME = r"(?:https?|h[xX*t]{2}ps?)\s{0,2}(?::|\[:\])\s{0,2}//"

_PATTERN = regex.compile(
    rf"""
    <\s{{0,8}}[a-z](?>[^<>]{{0,512}}?\b(?:href|src))\s{{0,8}}=\s{{0,8}}["']?(?P<attr>[^{_STOP}]{{1,2048}}+)["'\s>][^<>]{{0,512}}>?
    | \[(?:url\s{{0,4}}=\s{{0,4}}["']?(?P<bbeq>[^\[\]\s"']{{1,2048}})["']?\s{{0,4}}\]
          | url\](?P<bbbody>[^\[\]\s]{{1,2048}})\[/url\]
          | [^\[\]]{{0,512}}\]\((?P<md>[^()\s]{{1,2048}})\))
    | (?<![\p{{L}}\p{{M}}\p{{N}}@.-])
      (?:(?P<scheme>{_SCHEME}){_URL_CHARS}
        | (?P<www>www\d{{0,3}}{_DOT}){_HOST}{_PORT_PATH}
        | (?P<bare>{_HOST}){_PORT_PATH}(?![\p{{L}}\p{{M}}\p{{N}}@]))
    """,
    regex.IGNORECASE | regex.VERBOSE,
)
# Every form above contains one of these (``_hinted``): a dot before a letter or digit, "//", "](", a
# bracketed or spaced-out dot, or one of _HINT_WORDS. Most comments contain none, and plain `re` searches
# are several times faster per character than the full scan, so they decide whether it runs at all.
_HINT_DOT = re.compile(r"\.[^\W_]")
_HINT_BRACKETED = re.compile(r"[\[({]\s*(?:\.|dot)", re.IGNORECASE)
_HINT_SPACED = re.compile(r"\s(?:dot|\.)\s", re.IGNORECASE)
_HINT_WORDS = re.compile(r"www|href|src|\[url", re.IGNORECASE)
_ODOT_RE = regex.compile(_ODOT, regex.IGNORECASE)
_SCHEME_RE = regex.compile(_SCHEME, regex.IGNORECASE)
_TRAILING = ".,;:!?'\")]}*"

# A new candidate costs 10-20 us to check (URL parsing, suffix lookup), one seen before about 5 us to find
# and place (``_candidate``). A 64 KiB comment has at most about 16,000; past this many, the rest of a
# longer text is not examined, so a megabyte of "x.com x.com ..." costs a fraction of a second.
MAX_CANDIDATES = 20_000

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@dataclass(frozen=True)
class Link:
    """One link found in a comment. ``start``/``end`` delimit the text it was found in."""

    url: str
    host: str
    registered_domain: str
    suffix: str
    shortener: bool
    obfuscated: bool
    ip: bool
    source: str  # text, html, bbcode, markdown or author_url
    start: int = 0
    end: int = 0
    internal: bool = False  # to the site the comment is on (its permalink's domain): not a spam signal

    def to_dict(self) -> dict:
        return {
            "url": self.url, "host": self.host, "registered_domain": self.registered_domain, "suffix": self.suffix,
            "shortener": self.shortener, "obfuscated": self.obfuscated, "ip": self.ip, "source": self.source,
            "internal": self.internal,
        }


def _read_list(name: str) -> frozenset[str]:
    text = resources.files("model").joinpath("data", name).read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


@functools.cache
def shorteners() -> frozenset[str]:
    """Hosts of URL shorteners: our list plus the ``link-shorteners`` package's."""
    from link_shorteners import link_shorteners_list

    return _read_list("shorteners.txt") | {h.strip().lower() for h in link_shorteners_list()}


@functools.cache
def bare_tlds() -> frozenset[str]:
    return _read_list("bare_tlds.txt")


def is_shortener(host: str, registered_domain: str = "") -> bool:
    table = shorteners()
    return host in table or registered_domain in table or host.removeprefix("www.") in table


def find_links(text: str, source: str = "text") -> list[Link]:
    """Return the links in ``text`` in order of appearance, each once per place it occurs."""
    links: list[Link] = []
    if not _hinted(text):
        return links
    for examined, m in enumerate(_PATTERN.finditer(text)):
        if examined == MAX_CANDIDATES:
            break
        link = _from_match(m, source)
        if link is not None:
            links.append(link)
    return links


def _hinted(text: str) -> bool:
    """Whether ``text`` holds something every form of link has. One alternation of all of these, case
    blind, has no first character the regex engine can skip ahead to, so it tries each position (5 us a
    comment); apart, each search skips, and the words are looked for in the case-folded text first (what
    IGNORECASE takes for w, h, r, e, f, s, c, u or l case-folds to that letter, as a test checks)."""
    if "//" in text or "](" in text:
        return True
    if _HINT_DOT.search(text) or _HINT_BRACKETED.search(text) or _HINT_SPACED.search(text):
        return True
    folded = text.casefold()
    words = "www" in folded or "href" in folded or "src" in folded or "[url" in folded
    return words and _HINT_WORDS.search(text) is not None


def author_url_link(value: str) -> Link | None:
    """The comment's author URL as a link: a bare ``example.com`` counts, whatever its TLD."""
    url = value.strip()
    if not url:
        return None
    if not _SCHEME_RE.match(url):
        url = "http://" + url
    return _make_link(url, 0, len(value), "author_url", strict=False)


_INNER = {"attr": "html", "bbeq": "bbcode", "bbbody": "bbcode", "md": "markdown"}
# Candidates up to this long are worked out once and kept (``_candidate``); longer ones each time, since
# keeping them would hold much memory for few repeats.
CACHED_CANDIDATE_LENGTH = 256


def _from_match(m: regex.Match, source: str) -> Link | None:
    kind = m.lastgroup
    text = m.group(kind if kind in _INNER else 0)
    key = (kind, text, m.group("bare") if kind == "bare" else None, source)
    found = _candidate(*key) if len(text) <= CACHED_CANDIDATE_LENGTH else _candidate.__wrapped__(*key)
    if found is None:
        return None
    fields, length = found
    start = m.start()
    return Link(*fields, start, m.end() if kind in _INNER else start + length)


# Checking a candidate (URL parsing, suffix lookup, building the Link) costs several times finding it, and
# the same ones come back: a site's spam repeats its links, and "x.com x.com ..." repeats one 11,000 times
# in a 64 KiB comment.
@functools.lru_cache(maxsize=8192)
def _candidate(kind: str, text: str, bare: str | None, source: str) -> tuple[tuple, int] | None:
    """What a candidate of ``kind`` reading ``text`` gives wherever it is: the fields of its Link but the
    position, and how many of its characters the link covers; None if it is no link. ``bare`` is the host
    part of a bare name."""
    if kind in _INNER:
        raw = text
        lowered = raw.lower()
        if lowered.startswith("//"):
            raw = "http:" + raw  # protocol-relative
        elif not _SCHEME_RE.match(raw):
            if lowered.startswith(("/", "#", "?", "mailto:", "javascript:", "tel:", "data:")):
                return None  # a path on the same site, or not a web link
            raw = "http://" + raw
        link = _make_link(raw, 0, 0, _INNER[kind], strict=False)
        length = len(text)
    else:
        raw = _trim(text)
        length = len(raw)
        if kind == "scheme":
            link = _make_link(raw, 0, 0, source, strict=False)
        elif kind == "www":
            link = _make_link("http://" + raw, 0, 0, source, strict=False)
        else:
            # A bare name: stricter, since plain prose contains "e.g.", "3.14" and "end.So".
            has_path = len(raw) > len(bare)
            link = _make_link("http://" + raw, 0, 0, source, strict=not has_path, bare_host=bare)
    if link is None:
        return None
    return (link.url, link.host, link.registered_domain, link.suffix, link.shortener, link.obfuscated, link.ip,
            link.source), length


def _trim(url: str) -> str:
    # Drop sentence punctuation after a URL, but keep a ")" that closes a "(" inside it.
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _make_link(
    url: str, start: int, end: int, source: str, *, strict: bool, bare_host: str | None = None
) -> Link | None:
    obfuscated = False
    scheme = _SCHEME_RE.match(url)
    if scheme and not url[: scheme.end()].lower().startswith(("http://", "https://")):
        obfuscated = True
        url = ("https://" if "s" in scheme.group(0).lower()[1:5] else "http://") + url[scheme.end():]
    if _ODOT_RE.search(url):
        obfuscated = True
        url = _ODOT_RE.sub(".", url)
    if bare_host is not None:
        # The pattern already delimited the host; urlsplit would only find it again, at a cost that
        # dominates a comment stuffed with bare names.
        host = _ODOT_RE.sub(".", bare_host) if obfuscated else bare_host
    else:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            return None
    host = host.rstrip(".").lower()
    if not host:
        return None
    ip, registered, suffix, shortener = _host_facts(host)
    if ip:
        return Link(url, host, host, "", False, obfuscated, True, source, start, end)
    if not suffix:
        return None
    if (strict or obfuscated) and not shortener:
        if not _plausible_bare(suffix, bare_host or host):
            return None
    return Link(url, host, registered, suffix, shortener, obfuscated, False, source, start, end)


@functools.lru_cache(maxsize=65536)
def _host_facts(host: str) -> tuple[bool, str, str, bool]:
    """(is an IP address, registered domain, public suffix, is a shortener); suffix "" if not a valid
    name. Cached: the same hosts come back comment after comment."""
    if _is_ip(host):
        return True, host, "", False
    parts = _EXTRACT(host)
    if not parts.suffix or not parts.domain or parts.suffix.isdigit():
        return False, "", "", False
    registered = parts.top_domain_under_public_suffix
    return False, registered, parts.suffix, is_shortener(host, registered)


def _plausible_bare(suffix: str, written_host: str) -> bool:
    tld = suffix.rsplit(".", 1)[-1]
    if not (tld in bare_tlds() or tld.startswith("xn--") or not tld.isascii()):
        return False
    # "there.So" is a missing space after a full stop, not a link; "EXAMPLE.COM" is a link.
    written_tld = written_host.rsplit(".", 1)[-1].strip()
    before = written_host[: -len(written_tld) - 1].rstrip(" .[](){}")
    return not (written_tld[:1].isupper() and written_tld[1:].islower() and before[-1:].islower())


def _is_ip(host: str) -> bool:
    if not (host[:1].isdigit() or ":" in host):
        return False  # most hosts; spares ipaddress the cost of raising
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
