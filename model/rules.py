"""Rules people can read and change: lists of domains, phrases and patterns, each a weighted reason.

Three kinds of list, in the formats community spam lists use:

- ``domains``: one host per line; a link to that host or any host under it matches.
- ``phrases``: one phrase per line, matched case-insensitively as a substring, as WordPress matches its
  "disallowed comment keys" (``words = true`` asks for whole words instead).
- ``regex``: one pattern per line in the ``regex`` module's syntax, as SmokeDetector writes them
  (possessive quantifiers, ``(?w:\\b)``), always case-insensitive.

Operators describe their lists in a ``rules.toml`` beside them (see ``load``); a site's moderators keep their
own through the API (``SiteRules``). Each list that matches a comment gives one reason with the list's weight,
which ``model.verdict.decide`` adds to the classifier's log-odds.

Matching many regular expressions one by one costs a millisecond per kilobyte per thousand patterns, so a
pattern list first looks, in one Aho-Corasick pass, for the literal text each pattern cannot match without
(the idea of RE2's FilteredRE2), and only the patterns whose literals turned up are run. The pattern lists of
one config share that pass (``LiteralIndex``). Where Hyperscan is installed, lists of WIDE_FROM patterns or
more are first scanned with a database of every pattern widened (model/superset.py), which keeps each
pattern's shape and not only its literals: on a 1 KB comment, one pattern of SmokeDetector's watched list
runs instead of twelve, and the literal pass is left out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import ahocorasick
import numpy as np
import regex

from . import superset as S
from . import text as T
from .comment import Comment
from .features import PreparedComment, external_links

log = logging.getLogger(__name__)

FORMATS = ("domains", "phrases", "regex")
# What a list can look at. "link_hosts" is every link's host (content and author URL).
FIELDS = ("content", "author", "author_url", "author_email", "link_hosts", "user_agent", "user_ip")
# Fields that have hosts, for domain lists: the content's links, the author URL, the e-mail's domain.
HOST_FIELDS = ("content", "author_url", "author_email", "link_hosts")

# A pattern that backtracks out of control on some text is stopped after this long and counts as no match.
PATTERN_TIMEOUT = 0.02


class RulesError(ValueError):
    """A rule file, a rules config or a site's rules that cannot be used; the message says where."""


@dataclass(frozen=True)
class Hit:
    """One list matched: which entries, in which field."""

    rules: "RuleList"
    field: str
    entries: tuple[str, ...]  # the phrases, patterns or domains that matched, first few
    matched: tuple[str, ...]  # the text they matched


# -- the fields of a comment, as rules read them ------------------------------------------------------


class Subject:
    """A comment's fields for matching, each worked out once and only if a list asks for it."""

    def __init__(self, comment: Comment, prepared: PreparedComment):
        self.comment = comment
        self.prepared = prepared

    @cached_property
    def content(self) -> str:
        # What a reader sees: entities decoded, tags and invisible characters gone, NFKC. Links stay in.
        # prepare has already cleaned the content; only the tags are left to take out.
        return T.strip_tags(self.prepared.cleaned)

    def texts(self, name: str) -> tuple[str, ...]:
        if name == "content":
            return (self.content,)
        if name == "link_hosts":
            return tuple(self.hosts(name))
        value = getattr(self.comment, name)
        return (value,) if value else ()

    def hosts(self, name: str) -> list[str]:
        if name == "content":
            return [link.host for link in external_links(self.prepared)]
        if name == "author_url":
            return [link.host for link in self.prepared.links if link.source == "author_url"]
        if name == "author_email":
            domain = self.comment.author_email.rpartition("@")[2].strip().lower()
            return [domain] if domain else []
        return [link.host for link in self.prepared.links if not link.internal]


# -- matchers ------------------------------------------------------------------------------------------


class DomainMatcher:
    def __init__(self, domains: Iterable[str]):
        self.domains = frozenset(domains)

    def find(self, host: str) -> str | None:
        """The listed domain ``host`` is or lies under, or None."""
        while host:
            if host in self.domains:
                return host
            host = host.partition(".")[2]
        return None


class PhraseMatcher:
    """Case-insensitive substring search for many phrases in one pass (Aho-Corasick)."""

    def __init__(self, phrases: Iterable[str], words: bool = False):
        self.words = words
        self._automaton = ahocorasick.Automaton()
        for phrase in phrases:
            key = phrase.lower()
            if key:
                self._automaton.add_word(key, phrase)
        self.empty = len(self._automaton) == 0
        if not self.empty:
            self._automaton.make_automaton()

    def find(self, text: str, most: int = 3) -> list[tuple[str, str]]:
        """Up to ``most`` (phrase, matched text) pairs, in order of where they end."""
        if self.empty or not text:
            return []
        lowered = _lower(text)
        found: dict[str, str] = {}
        for end, phrase in self._automaton.iter(lowered):
            start = end - len(phrase) + 1
            if self.words and not _whole_word(lowered, start, end + 1):
                continue
            found.setdefault(phrase, lowered[start : end + 1])
            if len(found) >= most:
                break
        return list(found.items())


def _whole_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (_is_word(before) and _is_word(text[start])) and not (_is_word(after) and _is_word(text[end - 1]))


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


class PatternMatcher:
    """Many regular expressions, run only where their required literal text occurs.

    ``shared``: the (plain, squeezed) LiteralIndex this list's literals join, shared with the other
    lists loaded with it (see ``load``) so that a text is scanned once per view for all of them; the
    caller builds them once every list has joined. None: indexes of its own, built here."""

    def __init__(self, patterns: Sequence[tuple[str, regex.Pattern]],
                 shared: tuple["LiteralIndex", "LiteralIndex"] | None = None, wide: bool | None = None,
                 superset: S.Shared | None = None):
        self.patterns = list(patterns)
        wide = len(self.patterns) >= WIDE_FROM if wide is None else wide
        # For a Superset: (pattern, its source, what to look for where it cannot be widened: one of its
        # literals, or of the characters it needs)
        wide_patterns: list[tuple[int, str, str | None]] = []
        # word -> [(pattern, which of its literal sets the word belongs to)], per view of the text
        plain: dict[str, list[tuple[int, int]]] = {}
        squeezed: dict[str, list[tuple[int, int]]] = {}
        always, short, chars, counts, sets = [], [], {}, {}, {}
        # Patterns with plain literals, which can run on windows of a long text (see WINDOWED_FROM), and
        # their reach, worked out the first time a long text needs it (most patterns never meet one).
        self._plain_patterns: set[int] = set()
        self._reach: dict[int, Reach | None] = {}
        self._guards: dict[int, frozenset[str]] = {}  # their Literals.unless
        # Patterns without their negative lookarounds, for texts with none of what those need (see Lean):
        # (the literals, the pattern compiled, its reach when it has literals to wait for)
        self._lean: dict[int, tuple[frozenset[str], regex.Pattern, Reach | None]] = {}
        # Patterns that must start where the text does ("^..."): tried there only.
        self._anchored: set[int] = set()
        # Patterns with a head that can match nothing: their core, tried first (see core).
        self._cores: dict[int, regex.Pattern] = {}
        for i, (source, compiled) in enumerate(self.patterns):
            # Every analysis of one pattern in a row: they share its parse tree (see _parsed).
            literals = required_literals(source)
            if _anchored(source):
                self._anchored.add(i)
            elif (rest := core(source)) is not None:
                try:
                    self._cores[i] = compile_pattern(rest)
                except RulesError:
                    pass
            if wide:
                fallback = None
                if literals is not None and (literals.plain or literals.chars):
                    fallback = S.any_of(literals.plain | literals.chars | literals.unless)
                wide_patterns.append((i, source, fallback))
            lean_form = lean(source) if "(?<!" in source or "(?!" in source else None
            lean_compiled = _recompiled(compiled, lean_form.source) if lean_form is not None else None
            if lean_compiled is not None:
                lean_reach = reach(lean_form.source) if literals is not None and literals.plain else None
                self._lean[i] = (lean_form.absent, lean_compiled, lean_reach)
            if literals is None:
                longest = longest_text(source)
                if longest is None:
                    always.append(i)
                else:
                    short.append((longest, i))
                continue
            first = literals.plain or literals.squeezed
            words = plain if literals.plain else squeezed
            for k, literal_set in enumerate((first,) + literals.also if first else ()):
                for literal in literal_set:
                    words.setdefault(literal, []).append((i, k))
            if first:
                sets[i] = 1 + len(literals.also)
            for char in literals.unless | literals.chars:
                chars.setdefault(char, []).append(i)
            if literals.count > 1:
                counts[i] = literals.count
            if literals.plain:
                self._plain_patterns.add(i)
            if literals.unless:
                self._guards[i] = literals.unless
        own = shared is None
        plain_index, squeezed_index = (LiteralIndex(), LiteralIndex()) if own else shared
        self._plain = _Words(plain_index, plain, sets, counts, self._plain_patterns)
        self._squeezed = _Words(squeezed_index, squeezed, sets, {}, {})
        if own:
            plain_index.build()
            squeezed_index.build()
        self.always = tuple(always)  # patterns with no literal to wait for: run on every text
        # Characters whose presence lets patterns run: those their literals were worked out without
        # (Literals.unless) and those of patterns that need one of a few rare characters (Literals.chars).
        self._chars = {char: tuple(indexes) for char, indexes in chars.items()}
        self._short = tuple(short)  # (the longest text it can match, pattern) for "^...$" patterns
        # Lists of many patterns (or ``wide``): which could match, in one Hyperscan pass over the text for
        # every list sharing ``superset`` (see model/superset.py), where Hyperscan is installed. On a text
        # shorter than WINDOWED_FROM it replaces the literals; on a longer one it thins them out.
        self._wide: tuple[S.Shared, int] | None = None
        if wide:
            target = superset if superset is not None else S.Shared()
            self._wide = (target, target.join(wide_patterns, len(self.patterns)))
            if superset is None:
                target.build()
        self._uncovered: tuple[int, ...] | None = None  # patterns the superset does not answer for

    def candidates(self, text: str) -> list[int]:
        """The patterns that could match ``text``, in the order they were listed."""
        return self._select(text)[0]

    def _select(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """The candidates, and where the plain view's literals end (the automaton's hits; only wanted, and
        only worked out, for a text of WINDOWED_FROM or more)."""
        if self._wide is not None and (uncovered := self.uncovered()) is not None:
            shared, start = self._wide
            end = start + len(self.patterns)
            wider = {i - start for i in shared.scan(_folded(text)) if start <= i < end}
            wider.update(uncovered)
            if len(text) < WINDOWED_FROM:
                return sorted(wider), []
            found, hits = self._by_literals(text)
            return sorted(wider.intersection(found)), hits
        found, hits = self._by_literals(text)
        return sorted(found), hits

    def uncovered(self) -> tuple[int, ...] | None:
        """The patterns the Hyperscan superset does not answer for (they run on every text), or None when
        there is no superset (a short list, or no Hyperscan, or it could not be compiled: the list then
        forgets it, and uses its literals alone)."""
        if self._uncovered is None and self._wide is not None:
            shared, start = self._wide
            shared.build()
            if shared.superset is None:
                self._wide = None
                return None
            self._uncovered = tuple(i for i in range(len(self.patterns)) if start + i not in shared.superset.covered)
        return self._uncovered

    def _by_literals(self, text: str) -> tuple[set[int], list[tuple[int, int]]]:
        found = set(self.always)
        found.update(i for longest, i in self._short if len(text) <= longest)
        lowered = _folded(text)
        for char, indexes in self._chars.items():
            if char in lowered:
                found.update(indexes)
        hits = self._plain.scan(lowered, found)
        if self._squeezed.table:
            self._squeezed.scan(squeeze(text), found)
        return found, hits

    def find(self, text: str, most: int = 3) -> list[tuple[str, str]]:
        """Up to ``most`` (pattern, matched text) pairs, in the order the patterns were listed."""
        if not text:
            return []
        found = []
        candidates, hits = self._select(text)
        lowered = _folded(text)
        variants = {i: self._variant(i, lowered) for i in candidates}
        windows = self._windows(text, variants, hits) if len(text) >= WINDOWED_FROM else {}
        for i in candidates:
            source = self.patterns[i][0]
            compiled = variants[i][0]
            if i not in windows and self._core_misses(i, text):
                continue
            try:
                if i in windows:
                    m = _search(compiled, text, *windows[i])
                elif i in self._anchored:
                    m = compiled.match(text, timeout=PATTERN_TIMEOUT)
                else:
                    m = compiled.search(text, timeout=PATTERN_TIMEOUT)
            except TimeoutError:
                log.warning("pattern %r ran over %s s and was stopped", source, PATTERN_TIMEOUT)
                continue
            if m is not None:
                found.append((source, m.group(0)))
                if len(found) >= most:
                    break
        return found

    def _core_misses(self, i: int, text: str) -> bool:
        """Whether pattern ``i`` has a core (see core) and it finds nothing in ``text``. A core that runs
        over its time rules nothing out: the pattern is run as it is."""
        if i not in self._cores:
            return False
        try:
            return self._cores[i].search(text, timeout=PATTERN_TIMEOUT) is None
        except TimeoutError:
            return False

    def _variant(self, i: int, lowered: str) -> tuple[regex.Pattern, bool]:
        """Pattern ``i`` as it is best run on a text: its lean form where that means the same (see Lean),
        and whether it is that."""
        if i in self._lean:
            absent, compiled, _ = self._lean[i]
            if not any(literal in lowered for literal in absent):
                return compiled, True
        return self.patterns[i][1], False

    def _reach_of(self, i: int, lean_form: bool) -> Reach | None:
        if lean_form:
            return self._lean[i][2]
        if i not in self._reach:
            self._reach[i] = reach(self.patterns[i][0]) if i in self._plain_patterns else None
        return self._reach[i]

    def _windows(self, text: str, variants: dict[int, tuple[regex.Pattern, bool]],
                 hits) -> dict[int, tuple[list[tuple[int, int]], int]]:
        """For the candidates of bounded reach: (the ranges their matches could start in, how far ahead
        of its start a match attempt looks). Every match holds a literal of the pattern's first set (or
        its lookarounds see one), so it starts where it could reach one of that set's hits."""
        lowered = _folded(text)
        if len(lowered) != len(text):  # lower-casing lengthened a character: positions would not agree
            return {}
        bounds = {i: self._reach_of(i, lean_form) for i, (_, lean_form) in variants.items()}
        wanted = {i for i, bounded in bounds.items() if bounded is not None and not any(
            char in lowered for char in self._guards.get(i, ()))}  # a guard character: a match may have no literal
        if not wanted:
            return {}
        spans: dict[int, list[tuple[int, int]]] = {}
        table = self._plain.table
        # The hits are those of every list sharing the index: only this list's words with a pattern wanted
        # are looked at (on 64 KB, going through each hit cost 4% more than an automaton of its own).
        relevant = {number for number in self._plain.index.scan(lowered)[1] & self._plain.mine
                    if not wanted.isdisjoint(table[number][3])}
        for end, number in hits:
            if number not in relevant:
                continue
            for i in table[number][3]:
                if i in wanted:
                    spans.setdefault(i, []).append((end + 1 - table[number][0], end + 1))
        runs = _runs(text)
        # A Unicode word boundary looks up to two characters on, stepping over runs of marks: the window
        # goes that much further than the reach.
        extends = 2 * _extends(text)
        out = {}
        for i, found in spans.items():
            bounded = bounds[i]
            ahead, behind = _measure(bounded.ahead, runs), _measure(bounded.behind, runs)
            ranges: list[tuple[int, int]] = []
            for start, end in found:  # a match starting at s looks at [s - behind, s + ahead)
                low, high = end - ahead, start + behind
                if ranges and low <= ranges[-1][1] + ahead:
                    ranges[-1] = (ranges[-1][0], max(ranges[-1][1], high))
                else:
                    ranges.append((low, high))
            out[i] = (ranges, ahead + extends)
        return out


# A pattern list this long gets a Superset (see PatternMatcher): compiling one costs ~0.4 ms a pattern, once.
WIDE_FROM = 200


def _search(compiled: regex.Pattern, text: str, ranges: list[tuple[int, int]], ahead: int):
    """The first match of ``compiled`` in ``text`` that starts in one of ``ranges``, searching only as far
    as such a match can look: the same match the whole text gives, as none starts elsewhere. One
    PATTERN_TIMEOUT for all of them."""
    deadline = time.perf_counter() + PATTERN_TIMEOUT
    for low, high in ranges:
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError
        # Two more characters: the engine takes endpos for the text's end, and "$" and "\b" look at it.
        m = compiled.search(text, max(low, 0), min(high + ahead + 2, len(text)), timeout=left)
        if m is not None and m.start() <= high:
            return m
    return None


class LiteralIndex:
    """One Aho-Corasick automaton over the literals of the pattern lists that share it, in one view of the
    text. A pass costs ~20 ns a character however few words it holds, and a comment's content is read by
    three community pattern lists: one pass per view serves them all (``_literal_hits`` keeps its result for
    the comment's other lists): 20-30 us less of a 1 KB comment's ~340 (BENCHMARKS.md, Rules)."""

    def __init__(self):
        self.numbers: dict[str, int] = {}
        self.automaton = None
        self.built = False

    def number(self, word: str) -> int:
        """The number ``word`` is reported as, joining it if new (the index must then be built again)."""
        number = self.numbers.setdefault(word, len(self.numbers))
        if number == len(self.numbers) - 1:
            self.built = False
        return number

    def build(self) -> None:
        if self.built:
            return
        automaton = None
        if self.numbers:
            automaton = ahocorasick.Automaton()
            for word, number in self.numbers.items():
                automaton.add_word(word, number)
            automaton.make_automaton()
        self.automaton, self.built = automaton, True
        _literal_hits.cache_clear()  # results of the automaton before

    def scan(self, text: str) -> tuple[list[tuple[int, int]], frozenset[int]]:
        """(where each word ends and its number, in order of the ends; the numbers found)."""
        return _literal_hits(self, text)


# One entry per index and view of a field's text: a comment's lists ask for the same few.
@lru_cache(maxsize=32)
def _literal_hits(index: LiteralIndex, text: str) -> tuple[list[tuple[int, int]], frozenset[int]]:
    if not index.built:  # a list joined after the others were built (built at once by load)
        index.build()
    if index.automaton is None:
        return [], frozenset()
    hits = list(index.automaton.iter(text))
    return hits, frozenset(number for _, number in hits)


class _Words:
    """One pattern list's literals in one view of the text, found by a LiteralIndex it may share."""

    def __init__(self, index: LiteralIndex, words: dict[str, list[tuple[int, int]]], sets: dict[int, int],
                 counts: dict[int, int], windowed: set[int]):
        self.index = index
        self.counts = counts
        # Per word, by its number in the index: its length; patterns its presence lets run (of whose first
        # literal set it is, not counted); patterns that count its occurrences; patterns run on windows
        # around it (see PatternMatcher._windows).
        self.table: dict[int, tuple[int, tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {}
        # A pattern's further literal sets, as the numbers of their words: looked at only once a word of
        # its first set is there (the first is the best, see _best; the further ones are often words such
        # as "you" and "are", on which most texts would otherwise touch hundreds of patterns).
        self.further: dict[int, list[set[int]]] = {}
        counted_words = []
        for word, owners in words.items():
            number = index.number(word)
            for i, k in owners:
                if sets[i] > 1:
                    further = self.further.setdefault(i, [set() for _ in range(sets[i] - 1)])
                    if k:
                        further[k - 1].add(number)
            first = [i for i, k in owners if k == 0]
            self.table[number] = (len(word), tuple(i for i in first if i not in counts),
                                  tuple(i for i in first if i in counts), tuple(i for i in first if i in windowed))
            if self.table[number][2]:
                counted_words.append(number)
        self.mine = frozenset(self.table)
        self.counted_words = frozenset(counted_words)

    def scan(self, text: str, found: set[int]) -> list[tuple[int, int]]:
        """Adds to ``found`` the patterns ``text`` has a word of every literal set of (of the first set,
        as many separate ones as the pattern counts, see _counted). Returns the hits: (where a word ends,
        its number), of every list sharing the index."""
        if not self.table:
            return []
        hits, numbers = self.index.scan(text)
        numbers = numbers & self.mine
        table, further = self.table, self.further
        first: set[int] = set()
        for number in numbers:
            first.update(table[number][1])
        if not self.counted_words.isdisjoint(numbers):
            first.update(self._counted(hits))
        for i in first:
            if i not in further or all(not words.isdisjoint(numbers) for words in further[i]):
                found.add(i)
        return hits

    def _counted(self, hits) -> list[int]:
        """Patterns that need several separate occurrences of their first set's words and have them: the
        most that do not overlap, counted greedily by where they end (the automaton reports them in that
        order)."""
        seen: dict[int, list[int]] = {}
        for end, number in hits:
            if number not in self.counted_words:
                continue
            length, _, counted, _ = self.table[number]
            for i in counted:
                tally = seen.setdefault(i, [0, -1])
                if end - length >= tally[1]:
                    tally[0] += 1
                    tally[1] = end
        return [i for i, (n, _) in seen.items() if n >= self.counts[i]]


# -- the literal text a pattern needs ------------------------------------------------------------------

import re._constants as _C  # noqa: E402
import re._parser as _parser  # noqa: E402

# Literal sets larger than this stop growing (they would match nearly any text anyway).
_MAX_SET = 64
# A literal must weigh this much to be worth waiting for: a Latin or Devanagari character weighs 1, a
# symbol, CJK or Hangul one 2 ("约炮" and "⚡⚡" are as rare as "xyz"; "th" is everywhere).
_MIN_WEIGHT = 3
# Syntax of the regex module that plain `re` cannot parse but that means the same for this analysis.
_REGEX_ONLY = [(re.compile(r"\(\?w:\\b\)"), r"\\b"),
               (re.compile(r"(?<!\\)((?:\\\\)*)\\[mM]"), r"\1\\b")]  # "\m", not the "m" after "\\"
_REPEATS = (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT)


@dataclass(frozen=True)
class Literals:
    """What a text must contain for a pattern to have a chance: one of ``plain`` in the lower-cased text,
    or, for patterns written to see through spacing ("c\\W*y\\W*b\\W*e\\W*r"), one of ``squeezed`` in the
    lower-cased text with everything \\W and "_" taken out (see ``squeeze``).

    ``also``: further sets, in the same view, one literal of each of which must be there too ("you\\W*are
    \\W*so\\W*gay" needs "you", "are" and "gay"; most texts have the first two, few the third).
    ``count``: a pattern that holds its literals several times over ("(?:free|movies?)(?:\\W+(?:free|
    movies?)){2,}") needs that many separate occurrences of ``plain`` literals, none overlapping another.
    ``unless``: characters the literals were worked out without (``&`` of "&#?\\w+;", ``%`` of "%[\\da-f]{2}"):
    a text that holds one of them may match without any literal, so the pattern runs on it.
    ``chars``: for a pattern with no literal worth waiting for, characters outside ASCII one of which the
    lower-cased text must hold (a pattern of Cyrillic swear words needs a Cyrillic letter)."""

    plain: frozenset[str] = frozenset()
    squeezed: frozenset[str] = frozenset()
    count: int = 1
    unless: frozenset[str] = frozenset()
    also: tuple[frozenset[str], ...] = ()
    chars: frozenset[str] = frozenset()


# ASCII bytes that are not letters or digits, taken out of an ASCII text in one bytes.translate.
_ASCII_NOT_KEPT = bytes(c for c in range(128) if not chr(c).isalnum())


def _kept(char: str) -> bool:
    """Whether the squeezed view keeps ``char``: what the regex module counts as \\w, but "_". No \\W or
    [\\W_] can take such a character, so one a pattern spells out stays next to its neighbours. The
    letters "ⓝⓐⓚⓔⓓ" are \\w without being str.isalpha; with them dropped, a pattern that spells every
    letter three ways ("[nⓝᴺ][\\W_]*[aⓐᵃ]...") had no literal and ran on every text."""
    return char != "_" and _WORD.match(char) is not None


# The views of one text are wanted by every list that reads it: worked out once per comment.
@lru_cache(maxsize=16)
def _lower(text: str) -> str:
    """``str.lower``, but "İ" is "i": str.lower gives "i" and a combining dot above (its full mapping), the
    regex module's case-insensitive match takes "İ" for "i"."""
    lowered = text.lower()
    return lowered if lowered.isascii() or "İ" not in text else text.replace("İ", "i").lower()


@lru_cache(maxsize=16)
def _folded(text: str) -> str:
    """What patterns' literals are looked for in: ``text`` in lower case, and each character the regex
    module takes for another when it ignores case written as one of them ("ſ" as "s", "ı" as "i", "ς" as
    "σ"): str.lower leaves these apart, and a pattern's "sex" matched "ſex" while the prefilter skipped it."""
    return _fold(_lower(text))


def _fold(lowered: str) -> str:
    if lowered.isascii():
        return lowered
    table, odd, odd_beyond = _case_classes()
    if odd.search(lowered) or (odd_beyond and not odd_beyond.isdisjoint(_BEYOND_BMP.findall(lowered))):
        return lowered.translate(table)
    return lowered


# Characters beyond the Basic Multilingual Plane (emoji, mostly): `re` finds any of them fast, but a class
# naming a few of them (Garay's capitals, say) made every search 15 times slower.
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")


@lru_cache(maxsize=1)
def _case_classes() -> tuple[dict[int, str], re.Pattern, frozenset[str]]:
    """The characters that match each other when case is ignored, joined through their lower, upper, title
    and folded forms and the cases the regex module gives them (its Unicode tables are newer than this
    Python's: "ß" and U+1DF95 are one letter to it), each class written as its lowest lower-case member
    (so ASCII stays as str.lower leaves it): the table for str.translate of a lower-cased text, a pattern
    finding any character of the Basic Multilingual Plane it changes, and those beyond it. Worked out once
    (about 0.2 s)."""
    parent: dict[str, str] = {}

    def root(c: str) -> str:
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    regex_cases = getattr(regex._regex, "get_all_cases", lambda flags, code: ())  # (a private function)
    for code in range(0x1E950):  # past the last cased script (Adlam)
        char = chr(code)
        for other in (char.lower(), char.upper(), char.title(), char.casefold(),
                      *map(chr, regex_cases(regex.IGNORECASE | regex.UNICODE, code))):
            if len(other) == 1 and other != char:
                a, b = root(char), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    classes: dict[str, list[str]] = {}
    for char in parent:
        classes.setdefault(root(char), []).append(char)
    table = {}
    for top, members in classes.items():
        members.append(top)
        lower = [m for m in members if m.lower() == m] or members
        written = min(lower)
        table.update({ord(m): written for m in members if m.lower() == m and m != written})
    odd = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(table) if code < 0x10000) + "]")
    return table, odd, frozenset(chr(code) for code in table if code >= 0x10000)


@lru_cache(maxsize=1)
def _kept_below_65536():
    """_kept of every character below U+10000, as a numpy mask (worked out once: about 10 ms)."""
    return np.fromiter((_kept(chr(code)) for code in range(0x10000)), dtype=bool, count=0x10000)


@lru_cache(maxsize=16)
def squeeze(text: str) -> str:
    """Lower case, without what \\W or "_" match: what a "c\\W*y\\W*b\\W*e\\W*r" pattern sees of a text."""
    lowered = _folded(text)
    if lowered.isascii():
        return lowered.encode("ascii").translate(None, _ASCII_NOT_KEPT).decode("ascii")
    # Character by character in Python cost 40 us per KB of Hindi; as code points in numpy, a sixth of that.
    codes = np.frombuffer(lowered.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    table = _kept_below_65536()
    kept = table[np.minimum(codes, 0xFFFF)]
    beyond = codes > 0xFFFF  # emoji and the like: few, looked at one by one
    if beyond.any():
        kept[beyond] = [_kept(chr(code)) for code in codes[beyond]]
    return codes[kept].tobytes().decode("utf-32-le", "surrogatepass")


# Syntax `re` reads without error as something else: a POSIX class ("[[:digit:]]+casino" is a class and
# "]casino" to re), fuzzy matching ("(?:foo){e<=1}", which matches "fxo", is text to re) and verbose mode
# (the regex module takes "a{2 }" for "a{2}" and skips any Unicode space). Any "{...}" holding one of the
# letters of a fuzzy constraint is taken for one.
_READ_OTHERWISE = re.compile(r"\[:\^?[^\]:]+:\]|\{[^{}]*[eids][^{}]*\}|\(\?[a-zA-Z-]*x")
# A comment, "(?#...)", where its "(" is not escaped.
_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)\(\?#[^)]*\)")


@lru_cache(maxsize=8)
def _parsed(pattern: str):
    """The parse tree of ``pattern`` by `re`'s parser (read only), or None for syntax only the regex module
    knows. Kept for the few analyses of one pattern in a row (literals, reach, anchors, lean form)."""
    if _READ_OTHERWISE.search(_COMMENT.sub(r"\1", pattern)):
        return None
    for old, new in _REGEX_ONLY:
        pattern = old.sub(new, pattern)
    try:
        return _parser.parse(pattern)
    except Exception:
        return None


def required_literals(pattern: str) -> Literals | None:
    """Strings of which every match of ``pattern`` contains at least one, or None when there is no set
    worth waiting for (the pattern then runs on every text). Never wrong the other way: a text with
    none of them cannot match."""
    tree = _parsed(pattern)
    if tree is None:  # regex-module syntax `re` does not know: no shortcut, the pattern always runs
        return None
    if tree.state.flags & _C.SRE_FLAG_VERBOSE:
        return None
    items = list(tree)
    plain = _Analysis(squeezed=False).sequence(items)[1]
    if plain:
        return Literals(plain=plain[0], also=plain[1:], count=max(1, _Occurrences(plain[0]).sequence(items)))
    squeezed = _Analysis(squeezed=True).sequence(items)[1]
    if squeezed:
        return Literals(squeezed=squeezed[0], also=squeezed[1:])
    # Patterns written to see through entities and %-encoding ("h(?:[\\W_]|&#?\\w+;)*a...") have no literal
    # while "&" or "%" could be in the text; these characters are rare in a comment's cleaned text.
    for squeezed_view in (False, True):
        analysis = _Analysis(squeezed=squeezed_view, absent=_GUARDS)
        exact, required = analysis.sequence(items)
        if exact is not None and not exact:  # cannot match at all without them
            return Literals(unless=frozenset(analysis.used))
        if required:
            view = "squeezed" if squeezed_view else "plain"
            return Literals(**{view: required[0]}, also=required[1:], unless=frozenset(analysis.used))
    # No literal weighs enough; but if each of a set of short ones holds a character outside ASCII, a text
    # without any of those characters cannot match.
    for required in _Analysis(squeezed=False, min_weight=1).sequence(items)[1]:
        chars = frozenset(max(literal, key=ord) for literal in required)
        if min(map(ord, chars)) >= 128:
            return Literals(chars=chars)
    return None


def longest_text(pattern: str) -> int | None:
    """The longest text ``pattern`` can match at all, for a pattern that must take the whole text
    ("^(?-i:[sdfghjkl]{6,40})$"): its widest match and the line end ``$`` may stand before. None for
    any other pattern."""
    tree = _parsed(pattern)
    if tree is None:
        return None
    items = list(tree)
    if tree.state.flags & (_C.SRE_FLAG_MULTILINE | _C.SRE_FLAG_VERBOSE) or len(items) < 2:
        return None
    if items[0] != (_C.AT, _C.AT_BEGINNING) or items[-1] not in ((_C.AT, _C.AT_END), (_C.AT, _C.AT_END_STRING)):
        return None
    widest = tree.getwidth()[1]
    return widest + 2 if widest < _C.MAXREPEAT - 1 else None  # +2: under (?w) "\r\n" ends a line


# Characters a pattern may be analysed without (see Literals.unless): rare in cleaned comments, and the
# same in upper and lower case.
_GUARDS = frozenset("&%<\\")


def _weight(literal: str) -> int:
    return sum(2 if ord(c) >= 0x2000 else 1 for c in literal)


# At most this many literal sets are kept for one pattern, the best first.
_MAX_SETS = 4
# Words nearly every English or Hinglish comment has. A literal inside one of them ("the", "ave" of
# "have") turns up in most texts: a set holding one is chosen last, and is no further set worth waiting
# for (it would cost a hit on most texts and hold back next to nothing).
_COMMON_WORDS = (
    "the be to of and a in that have i it for not on with he as you do at this but his by from they we say "
    "her she or an will my one all would there their what so up out if about who get which go me when make "
    "can like time no just him know take people into year your good some could them see other than then now "
    "look only come its over think also back after use two how our work first well way even new want because "
    "any these give day most us is are was were been has had did does said very much more many really thanks "
    "thank please video song channel subscribe check love nice great free call www http https com org net "
    "hai nahi kya bhi aur mein main hum tum aap kar raha rahe tha thi ho ke ki ka se ko ye wo bahut accha "
    "sir bhai ji yaar").split()


_COMMON_TEXT = "\n".join(_COMMON_WORDS)


def _common(literal: str) -> bool:
    return literal in _COMMON_TEXT


def _best(candidates, min_weight: int = _MIN_WEIGHT) -> tuple[frozenset[str], ...]:
    """The sets of ``candidates`` worth waiting for, best first (none of its literals common, heaviest
    shortest literal, then fewest literals), leaving out a set that one already kept implies (each of its
    literals holds one of the set's) and, after the first, sets with a common literal."""
    usable = dict.fromkeys(_fewest(c) for c in candidates if c and "" not in c and min(map(_weight, c)) >= min_weight)
    kept: list[frozenset[str]] = []
    common = {c: any(map(_common, c)) for c in usable}
    for c in sorted(usable, key=lambda c: (common[c], -min(map(_weight, c)), len(c))):  # stable: ties in order
        if not any(all(any(s in a for s in c) for a in k) for k in kept) and not (kept and common[c]):
            kept.append(c)
    return tuple(kept[:_MAX_SETS])


def _fewest(literals) -> frozenset[str]:
    """The literals that hold no other of the set ("coin" of "coin", "coins"): the same texts have one."""
    return frozenset(a for a in literals if not any(b != a and b in a for b in literals))


def _either(conjunctions: list[tuple[frozenset[str], ...]]) -> tuple[frozenset[str], ...]:
    """Sets one literal of each of which is in every match of an alternation whose alternatives need
    ``conjunctions``: each set joins one set of every alternative (any choice is sound; the one most like
    it is chosen, so "(?:drill|kill).*(?:ass|tit)|(?:ass|tit).*(?:drill|kill)" needs both kinds)."""
    fewest = min(conjunctions, key=len)
    out = []
    for first in fewest:
        joined = set(first)
        for conjunction in conjunctions:
            joined |= max(conjunction, key=lambda c: (len(c & joined), -len(c)))
        out.append(frozenset(joined))
    return tuple(out)


class _Analysis:
    """Walks the parse tree of ``re``. Each node gives (every string it can match, if they are few;
    the best set of literals one of which each of its matches contains). In squeezed mode, characters
    that the squeezed view drops (see _kept) count as nothing, and so do repeats of classes of such characters."""

    def __init__(self, squeezed: bool, absent: frozenset[str] = frozenset(), min_weight: int = _MIN_WEIGHT):
        self.squeezed = squeezed
        self.min_weight = min_weight
        # Characters assumed not to be in the text: a node that needs one cannot match, and gives an empty
        # exact set. ``used`` records those that made a difference.
        self.absent = absent
        self.used: set[str] = set()

    def sequence(self, items) -> tuple[set[str] | None, tuple[frozenset[str], ...]]:
        run: set[str] = {""}
        exact_all = True
        candidates: list = []
        # A second run carried through optional repeats ("fuc*k"): a match either takes a first copy, and
        # holds the run so far followed by it ("fuc", kept in ``closed``), or takes none and the run goes
        # on ("fuk"). Its candidates join the first run's; the best of all is chosen.
        through: set[str] | None = None
        closed: set[str] = set()
        for op, av in items:
            exact, required = self.node(op, av)
            if exact is not None and not exact:
                return set(), ()  # one part cannot match, so neither can the whole
            candidates.extend(required)  # every part is needed, so every set any part needs is
            if exact is not None and len(run) * len(exact) <= _MAX_SET:
                run = {a + b for a in run for b in exact}
                if through is not None:
                    if len(through) * len(exact) + len(closed) <= _MAX_SET:
                        through = {a + b for a in through for b in exact}
                    else:
                        candidates.append(through | closed)
                        through, closed = None, set()
                continue
            exact_all = False
            copy = self.sequence(list(av[2]))[0] if op in _REPEATS and av[0] == 0 else None
            base = through if through is not None else run
            if copy and "" not in copy and len(closed) + len(base) * len(copy) <= _MAX_SET:
                closed |= {a + b for a in base for b in copy}
                through = base
            elif through is not None:
                candidates.append(through | closed)
                through, closed = None, set()
            last = None
            if op in _REPEATS and av[0] >= 1:
                # "x+" or "(ab){2,}": the first copies are literal text that continues the run, and the
                # last copy is literal text the next part continues ("f[au]+[ck]{2,}" holds "uck").
                head, _ = self.sequence(list(av[2]) * min(av[0], 4))
                if head is not None and len(run) * len(head) <= _MAX_SET:
                    run = {a + b for a in run for b in head}
                last = self.sequence(list(av[2]))[0]
            candidates.append(run)
            run = set(exact) if exact is not None else set(last) if last else {""}
        candidates.append(run)
        if through is not None:
            candidates.append(through | closed)
        return (run if exact_all else None), _best(candidates, self.min_weight)

    def char(self, code: int) -> set[str]:
        c = _fold(_lower(chr(code)))
        if c in self.absent:
            self.used.add(c)
            return set()
        return {""} if self.squeezed and not all(map(_kept, c)) else {c}

    def node(self, op, av) -> tuple[set[str] | None, tuple[frozenset[str], ...]]:
        if op is _C.LITERAL:
            return self.char(code=av), ()
        if op is _C.IN:
            if self.squeezed and _non_alnum_class(av):
                return {""}, ()
            chars = set()
            for item_op, item in av:
                if item_op is _C.LITERAL:
                    chars |= self.char(item)
                elif item_op is _C.RANGE and item[1] - item[0] < 4:
                    for code in range(item[0], item[1] + 1):
                        chars |= self.char(code)
                else:  # a negation, a category or a wide range
                    return None, ()
            if not chars and self.absent:
                return set(), ()  # every character of the class is assumed absent
            return chars, ()
        if op is _C.CATEGORY and self.squeezed and av in _NON_ALNUM_CATEGORIES:
            return {""}, ()
        if op is _C.AT:
            return {""}, ()  # takes no text
        if op is _C.ASSERT:
            # A lookaround takes no text, but what it looks for must be in the text.
            exact, required = self.sequence(list(av[1]))
            if exact is not None and not exact:
                return set(), ()
            return {""}, required if not self.squeezed else ()
        if op is _C.ASSERT_NOT:
            return {""}, ()
        if op is _C.SUBPATTERN:
            return self.sequence(list(av[-1]))
        if op is _C.ATOMIC_GROUP:
            return self.sequence(list(av))
        if op is _C.BRANCH:
            return self.branch(av[1])
        if op in _REPEATS:
            low, high, sub = av
            exact, required = self.sequence(list(sub))
            if exact is not None and not exact:
                return ({""}, ()) if low == 0 else (set(), ())
            if exact == {""}:
                return {""}, ()  # a repeat of nothing (squeezed "\\W*") is nothing
            if low == 0:
                return ((exact | {""}) if high == 1 and exact is not None else None), ()
            if low == high == 1:
                return exact, required
            if low == high and exact is not None and len(exact) ** low <= _MAX_SET:
                # "[o0]{2}": as few strings as the copies make, text the run goes on with ("[o0]{2}d").
                product = {""}
                for _ in range(low):
                    product = {a + b for a in product for b in exact}
                return product, required
            if not required and exact is not None and "" not in exact:
                required = _best([exact], self.min_weight)
            return None, required
        return None, ()  # any character, a category, a back-reference: no literal

    def branch(self, alternatives) -> tuple[set[str] | None, tuple[frozenset[str], ...]]:
        exacts, requireds = [], []
        for alternative in alternatives:
            exact, required = self.sequence(list(alternative))
            if exact is not None and not exact:
                continue  # an alternative that cannot match adds nothing
            exacts.append(exact)
            if not required and exact is not None:
                required = _best([exact], self.min_weight)
            requireds.append(required)
        if not exacts:
            return set(), ()
        exact = set().union(*exacts) if all(e is not None for e in exacts) else None
        if exact is not None and len(exact) > _MAX_SET:
            exact = None
        required = _either(requireds) if all(requireds) else ()
        return exact, required


class _Occurrences:
    """How many separate occurrences of ``literals`` every match of a parse tree holds at least: parts of
    a sequence take separate text, so their counts add up; a repeat's copies count as many times as it
    must repeat; alternatives count as their poorest. Lookarounds count nothing (what they see may be
    text another part takes)."""

    def __init__(self, literals: frozenset[str]):
        self.literals = literals
        self.analysis = _Analysis(squeezed=False)

    def holds(self, strings: set[str]) -> int:
        return int(bool(strings) and all(any(lit in s for lit in self.literals) for s in strings))

    def sequence(self, items) -> int:
        total, run = 0, {""}
        for op, av in items:
            exact = self.analysis.node(op, av)[0] if op is not _C.ASSERT else {""}
            if exact is not None and len(run) * len(exact) <= _MAX_SET:
                run = {a + b for a in run for b in exact}  # literal text continues: "f", "r", "e", "e"
                continue
            total += self.holds(run) + self.node(op, av)
            run = {""}
        return total + self.holds(run)

    def node(self, op, av) -> int:
        if op is _C.SUBPATTERN:
            return self.sequence(list(av[-1]))
        if op is _C.ATOMIC_GROUP:
            return self.sequence(list(av))
        if op is _C.BRANCH:
            return min(self.sequence(list(a)) for a in av[1])
        if op in _REPEATS:
            return min(av[0], 16) * self.sequence(list(av[2]))
        if op in (_C.ASSERT, _C.ASSERT_NOT):
            return 0
        exact = self.analysis.node(op, av)[0]
        return self.holds(exact) if exact is not None else 0


# Classes that match no letter or digit: \W, \s, and [\W_]-style sets of them.
_NON_ALNUM_CATEGORIES = (_C.CATEGORY_NOT_WORD, _C.CATEGORY_SPACE)


def _non_alnum_class(items) -> bool:
    if not items or items[0][0] is _C.NEGATE:
        return False
    for op, av in items:
        if op is _C.CATEGORY and av in _NON_ALNUM_CATEGORIES:
            continue
        if op is _C.LITERAL and not _kept(chr(av)):
            continue
        return False
    return True


def _anchored(pattern: str) -> bool:
    """Whether every match of ``pattern`` starts where the text does ("^..." or "\\A...", not multi-line)."""
    tree = _parsed(pattern)
    if tree is None:
        return False
    items = list(tree)
    return (not tree.state.flags & _C.SRE_FLAG_MULTILINE and bool(items)
            and items[0] in ((_C.AT, _C.AT_BEGINNING), (_C.AT, _C.AT_BEGINNING_STRING)))


def _recompiled(compiled: regex.Pattern, source: str) -> regex.Pattern | None:
    """``source`` compiled as ``compiled`` was (with or without the keyword wrapping), or None."""
    words = compiled.pattern != source and compiled.pattern.startswith(_KEYWORD.split("{}")[0])
    try:
        return compile_pattern(source, words)
    except RulesError:
        return None


# -- lookarounds that cannot see anything in a text -------------------------------------------------------

@dataclass(frozen=True)
class Lean:
    """A pattern without its negative lookarounds, for texts where none of them could see a match: each
    needs one of ``absent`` (SmokeDetector's "(?!(?:[^<]|<(?!\\/?code>))*+<\\/code>)" needs "</code>"), and
    a negative lookaround that cannot match anywhere always succeeds. It scans to the end of the text from
    every place it is tried, which made long comments cost more per KB."""

    absent: frozenset[str]
    source: str


def lean(pattern: str) -> Lean | None:
    """``pattern`` without the negative lookarounds that need a literal (see Lean), or None if it has none
    (or any that holds a group, or is repeated, whose removal would change what the rest means)."""
    tree = _parsed(pattern)
    if tree is None or tree.state.flags & _C.SRE_FLAG_VERBOSE:
        return None
    cuts, absent = [], set()
    for start, end in _negative_lookarounds(pattern):
        inner = pattern[pattern.index("!", start) + 1 : end]
        if end + 1 < len(pattern) and pattern[end + 1] in "?*+{" or pattern[max(start - 2, 0):start] == "(?":
            return None  # repeated, or the condition of a conditional group
        if any(group not in _UNNUMBERED for group in _groups(inner)):
            return None  # a capturing or named group: taking it out would renumber the rest
        literals = required_literals(inner)
        if literals is None or not literals.plain or literals.unless:
            continue
        cuts.append((start, end))
        absent |= literals.plain
    if not cuts:
        return None
    source, last = [], 0
    for start, end in cuts:
        source.append(pattern[last:start])
        last = end + 1
    source.append(pattern[last:])
    return Lean(absent=frozenset(absent), source="".join(source))


# -- a head that can match nothing: a cheaper test first --------------------------------------------------

def core(pattern: str) -> str | None:
    """``pattern`` without its head: the items it opens with that can match nothing ("\\w*", "_*",
    "(?:\\b|[a-z_]*?|\\w*[a-z_])"), or None when it has no such head: the first item is an anchor or an
    inline flag, or a group the rest could refer to, or the pattern is one `re` cannot read (the items
    are read as `re` reads them; the regex module's "(?V1)" would make "[[a]?b]" one nested class).

    Where a pattern matches, its core matches too (in the same place, or where the head's part ends), so
    a text the core does not match is skipped. The core of a keyword pattern is run without the keyword
    wrapping, for the same reason. A head that can match nothing hides what the pattern needs first:
    "\\w*hack..." is tried at every place of the text and backs off through every word, its core only
    where there is an "h", and took 2.5 µs instead of 62 on a 1 KB comment."""
    if _parsed(pattern) is None:
        return None
    rest = pattern
    while (end := _first_item(rest)) is not None and end < len(rest):
        head = rest[:end]
        tree = _parsed(head)
        if tree is None or tree.getwidth()[0] != 0 or _AT_START.match(head):
            break
        if any(opening not in _UNNUMBERED for opening in _groups(head)):
            break  # a group of its own: the rest may refer to it
        rest = rest[end:]
    return rest if rest != pattern else None


# Anchors and inline flags, which are never taken for a head. Without an anchor, the core would be tried
# in more places, which is sound but not what a core is for; without its flags, the rest would mean
# something else.
_AT_START = re.compile(r"\^|\$|\\[AGbBmMZz]|\(\?[a-zA-Z-]+[):]")
_QUANTIFIER = re.compile(r"(?:[*+?]|\{\d*(?:,\d*)?\})[?+]?")
# Escapes of more than one character after the backslash: "\p{L}", "\N{...}", "\g<1>", "\x41", "\u0915".
_LONG_ESCAPE = re.compile(r"\\(?:[pPNx]\{[^}]*\}|[LgN]<[^>]*>|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def _first_item(pattern: str) -> int | None:
    """Where the first item of ``pattern`` (one character, escape, class or group, with its quantifier)
    ends, or None where there is none or it is not read here (a comment, a POSIX class)."""
    if not pattern or pattern[0] in "|)*+?{":
        return None
    c = pattern[0]
    if c == "\\":
        m = _LONG_ESCAPE.match(pattern)
        end = m.end() if m else 2
    elif c == "[":
        end = _class_end(pattern, 0)
    elif c == "(":
        if pattern.startswith("(?#"):
            return None
        end = next((e + 1 for s, e, _ in _scan(pattern) if s == 0), None)
    else:
        end = 1
    if end is None or end > len(pattern) or "[:" in pattern[:end]:
        return None
    m = _QUANTIFIER.match(pattern, end)
    return m.end() if m else end


# Groups that take no number, which a part of a pattern may hold without renumbering the rest.
_UNNUMBERED = ("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?>")


def _groups(pattern: str) -> list[str]:
    """How each group of ``pattern`` opens ("(", "(?:", "(?P<", "(?<=", ...), outside classes and escapes."""
    return [opening for _, _, opening in _scan(pattern)]


def _negative_lookarounds(pattern: str) -> list[tuple[int, int]]:
    """(where "(?!" or "(?<!" opens, where its ")" closes) of the outermost negative lookarounds."""
    out = []
    for start, end, opening in _scan(pattern):
        if opening in ("(?!", "(?<!") and not any(s < start and end < e for s, e in out):
            out.append((start, end))
    return out


def _scan(pattern: str) -> list[tuple[int, int, str]]:
    """Every group of ``pattern``: (its "(", its ")", how it opens), skipping escapes and [...] classes."""
    out, stack, i, n = [], [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(pattern, i)
            continue
        if pattern.startswith("(?#", i):  # a comment: anything up to the first ")"
            i = pattern.find(")", i)
            i = n if i < 0 else i + 1
            continue
        if c == "(":
            opening = "("
            if pattern.startswith("(?", i):
                opening = next((o for o in ("(?<=", "(?<!", "(?P<", "(?:", "(?=", "(?!", "(?<", "(?>")
                                if pattern.startswith(o, i)), "(?")
            stack.append((i, opening))
        elif c == ")" and stack:
            start, opening = stack.pop()
            out.append((start, i, opening))
        i += 1
    return sorted(out)


def _class_end(pattern: str, i: int) -> int:
    """Where the [...] class opening at ``i`` ends (one past its "]")."""
    n = len(pattern)
    i += 1
    if i < n and pattern[i] == "^":
        i += 1
    if i < n and pattern[i] == "]":
        i += 1
    while i < n and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


# -- windows: where in a long text a match could be -----------------------------------------------------

# On a text this long, a pattern whose reach is bounded runs only on windows around its literals: on a
# 64 KB comment nearly every common literal turns up, and running each such pattern over the whole text
# made the cost per KB grow with the length.
WINDOWED_FROM = 4096
_WORD = regex.compile(r"\w")
# Runs of three or more characters that are not letters or digits: the longest bounds what "\W*" and
# "[\W_]*" can take in a text.
_GAPS = regex.compile(r"[\W_]{3,}")
# Characters Unicode's word boundaries (the regex module's (?w:\b), SmokeDetector's keyword wrapping) step
# over to find the next real character: combining marks, format characters, modifiers.
_EXTENDS = regex.compile(r"[\p{M}\p{Cf}\p{Lm}\p{Grapheme_Extend}\p{Emoji_Modifier}]+")


@dataclass(frozen=True)
class Reach:
    """How far from where a match starts the engine can look: ``ahead`` characters after the start (what
    the match takes, what lookaheads see, and the character after it that \\b and $ look at) and ``behind``
    before it (lookbehinds, \\b). Each is (constant, per longest run of \\w, per longest run of [\\W_]),
    the runs measured in the text at hand (see _runs)."""

    ahead: tuple[int, int, int]
    behind: tuple[int, int, int]


def reach(pattern: str) -> Reach | None:
    """The reach of ``pattern`` (see Reach), or None where it is not bounded (".*", "(?:\\w+\\W+)+")."""
    tree = _parsed(pattern)
    if tree is None:
        return None
    if tree.state.flags & _C.SRE_FLAG_VERBOSE:
        return None
    width = _Width()
    taken = width.sequence(list(tree))
    if taken is None or width.unbounded:
        return None
    looks = width.looks
    return Reach(ahead=_plus(_plus(taken, looks), (2, 0, 0)), behind=_plus(looks, (1, 0, 0)))


def _plus(a, b):
    return tuple(x + y for x, y in zip(a, b))


def _times(a, n: int):
    return tuple(x * n for x in a)


class _Width:
    """The most characters a parse tree can take, as a linear form of the text's runs; ``looks`` adds
    up what every lookaround can see (more than the engine can look at once, never less)."""

    def __init__(self):
        self.looks = (0, 0, 0)
        self.unbounded = False

    def sequence(self, items):
        total = (0, 0, 0)
        for op, av in items:
            width = self.node(op, av)
            if width is None:
                return None
            total = _plus(total, width)
        return total

    def node(self, op, av):
        if op in (_C.LITERAL, _C.NOT_LITERAL, _C.ANY, _C.IN, _C.CATEGORY):
            return (1, 0, 0)
        if op is _C.AT:
            return (0, 0, 0)
        if op is _C.SUBPATTERN:
            return self.sequence(list(av[-1]))
        if op is _C.ATOMIC_GROUP:
            return self.sequence(list(av))
        if op is _C.BRANCH:
            widths = [self.sequence(list(a)) for a in av[1]]
            if any(w is None for w in widths):
                return None
            return tuple(max(column) for column in zip(*widths))
        if op in (_C.ASSERT, _C.ASSERT_NOT):
            seen = self.sequence(list(av[1]))
            if seen is None:
                self.unbounded = True
                return None
            self.looks = _plus(self.looks, seen)
            return (0, 0, 0)
        if op in _REPEATS:
            low, high, sub = av
            if high < _C.MAXREPEAT:
                width = self.sequence(list(sub))
                return None if width is None else _times(width, high)
            run = _run_of(list(sub))
            return None if run is None else tuple(int(i == run) for i in range(3))
        return None  # a back reference, a conditional: no bound


def _run_of(items) -> int | None:
    """For a repeat of one character of a class within \\w or [\\W_]: which run bounds it (1, 2)."""
    while len(items) == 1 and items[0][0] in (_C.SUBPATTERN, _C.ATOMIC_GROUP):
        op, av = items[0]
        items = list(av[-1]) if op is _C.SUBPATTERN else list(av)
    if len(items) == 1 and items[0][0] is _C.BRANCH:
        kinds = [_run_of(list(a)) for a in items[0][1][1]]
        kinds = [_kinds_of_run(k) for k in kinds]
    elif len(items) == 1:
        kinds = [_kinds(*items[0])]
    else:
        return None
    common = frozenset.intersection(*kinds) if kinds and all(kinds) else frozenset()
    return min(common, default=None)


def _kinds_of_run(run: int | None) -> frozenset[int]:
    return frozenset({run}) if run else frozenset()


def _kinds(op, av) -> frozenset[int]:
    """The runs (1 of \\w, 2 of [\\W_]) one character of this item is always part of."""
    if op is _C.LITERAL:
        return _char_kinds(chr(av))
    if op is _C.CATEGORY:
        if av in (_C.CATEGORY_WORD, _C.CATEGORY_DIGIT):
            return frozenset({1})
        if av in (_C.CATEGORY_NOT_WORD, _C.CATEGORY_SPACE):
            return frozenset({2})
        return frozenset()
    if op is _C.IN:
        common = frozenset({1, 2})
        for item_op, item in av:
            if item_op is _C.RANGE:
                if item[1] - item[0] > 512:
                    return frozenset()
                for code in range(item[0], item[1] + 1):
                    common &= _char_kinds(chr(code))
            elif item_op in (_C.LITERAL, _C.CATEGORY):
                common &= _kinds(item_op, item)
            else:
                return frozenset()
        return common
    return frozenset()


@lru_cache(maxsize=4096)
def _char_kinds(char: str) -> frozenset[int]:
    # Matched case-insensitively: every case of the character counts.
    variants = "".join({char, char.lower(), char.upper(), char.casefold()})
    if all(_WORD.match(c) for c in variants):
        return frozenset({1, 2}) if "_" == char else frozenset({1})
    if not any(_WORD.match(c) for c in variants):
        return frozenset({2})
    return frozenset()


@lru_cache(maxsize=4)
def _extends(text: str) -> int:
    """The longest run of characters a Unicode word boundary steps over (see _EXTENDS) in ``text``."""
    return max(map(len, _EXTENDS.findall(text)), default=0)


@lru_cache(maxsize=4)
def _runs(text: str) -> tuple[int, int, int]:
    """What a Reach is measured in: (1, at least the longest run of \\w characters in ``text``, at least
    the longest run of [\\W_] characters). No \\w character is white space, so a run of them lies within
    one of str.split's words (found in C, much faster than a search for \\w+)."""
    return 1, max(map(len, text.split()), default=0), max(map(len, _GAPS.findall(text)), default=2)


def _measure(form, runs) -> int:
    return sum(x * y for x, y in zip(form, runs))


# -- lists ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RuleList:
    """One list: its entries, what a match weighs, which fields it reads."""

    name: str
    code: str
    format: str
    weight: float
    fields: tuple[str, ...]
    entries: tuple[str, ...]
    words: bool = False  # phrases: whole words only; patterns: keyword wrapping (start and end on a word edge)
    source: str = ""  # where it came from, for messages
    compiled: tuple = field(default=(), repr=False)  # regex: the entries compiled, if already done
    # regex: the (plain, squeezed) LiteralIndex shared with the lists loaded beside it, or None for its own
    literals: tuple | None = field(default=None, repr=False)
    # regex: the Hyperscan superset shared with the lists loaded beside it, or None for its own
    superset: S.Shared | None = field(default=None, repr=False)

    def __post_init__(self):
        _check_shape(self.format, self.fields, self.weight, self.source)

    @cached_property
    def fingerprint(self) -> str:
        material = [self.name, self.code, self.format, repr(self.weight), self.fields, self.words, self.entries]
        return hashlib.sha256(json.dumps(material, ensure_ascii=False).encode()).hexdigest()

    @cached_property
    def matcher(self):
        if self.format == "domains":
            return DomainMatcher(self.entries)
        if self.format == "phrases":
            return PhraseMatcher(self.entries, words=self.words)
        compiled = self.compiled or tuple(compile_pattern(p, self.words) for p in self.entries)
        return PatternMatcher(list(zip(self.entries, compiled)), self.literals, superset=self.superset)

    def match(self, subject: Subject) -> Hit | None:
        """The first field that matches, with up to three of the entries that matched there."""
        matcher = self.matcher
        for name in self.fields:
            if self.format == "domains":
                pairs = {}
                for host in subject.hosts(name):
                    listed = matcher.find(host)
                    if listed is not None:
                        pairs.setdefault(listed, host)
                found = list(pairs.items())[:3]
            else:
                found = []
                for value in subject.texts(name):
                    found.extend(matcher.find(value))
                    if len(found) >= 3:
                        break
            if found:
                return Hit(self, name, tuple(e for e, _ in found[:3]), tuple(_short(m) for _, m in found[:3]))
        return None


def _check_shape(format: str, fields: Sequence[str], weight: float, where: str) -> None:
    if format not in FORMATS:
        raise RulesError(f"{where}: format must be one of {', '.join(FORMATS)}, not {format!r}")
    if not fields or any(f not in FIELDS for f in fields):
        raise RulesError(f"{where}: fields must be some of {', '.join(FIELDS)}; got {list(fields)}")
    if format == "domains" and any(f not in HOST_FIELDS for f in fields):
        raise RulesError(f"{where}: a domains list reads only {', '.join(HOST_FIELDS)}")
    if math.isnan(weight):
        raise RulesError(f"{where}: weight must be a number")


def _short(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


# SmokeDetector's wrapping of keyword patterns: a keyword starts and ends at a word edge (of any script).
_KEYWORD = r"(?:^|\b|(?w:\b))(?:{})(?:\b|(?w:\b)|$)"


def compile_pattern(pattern: str, words: bool = False) -> regex.Pattern:
    """A case-insensitive pattern, as the lists are written; RulesError if it does not compile."""
    try:
        return regex.compile(_KEYWORD.format(pattern) if words else pattern, regex.IGNORECASE | regex.DOTALL)
    except (regex.error, OverflowError, RecursionError, ValueError) as e:
        raise RulesError(f"pattern {pattern!r} does not compile: {e}") from None


# -- rule files and their config -----------------------------------------------------------------------

CONFIG_NAME = "rules.toml"
# The rules this project ships: a few written for blog comments (model/data/rules/rules.toml).
DEFAULT_RULES = Path(__file__).parent / "data" / "rules"


def load_all(paths: Iterable[str | Path]) -> tuple[RuleList, ...]:
    """The lists of every config in ``paths``, in order."""
    return tuple(rules for path in paths for rules in load(path))

_LIST_KEYS = {"name", "file", "format", "code", "weight", "fields", "words", "column", "skip_invalid"}
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# The reasons spamgate gives itself (model/verdict.py) and a site's own lists: an operator's list named
# like one would read as that reason to a moderator and in the metrics, and would take its behaviour (a
# blocked_phrase holds a comment for review and overrules a trusted author).
RESERVED_CODES = frozenset({
    "classifier", "links", "shortened_link", "too_many_links", "obfuscated_link", "blocked_domain",
    "allowed_domain", "honeypot", "disposable_email", "phone_number", "blocked_phrase", "blocked_pattern",
    "trusted_author", "words_only",
})


def load(path: str | Path) -> tuple[RuleList, ...]:
    """The lists a rules config names. ``path`` is a ``rules.toml`` or a folder holding one::

        lists_dir = "."                   # where the files are, relative to this file (default: beside it)

        [[list]]
        name = "wordpress-blocklist"      # shown in reasons
        file = "wordpress-comment-blocklist/blacklist.txt"
        format = "phrases"                # domains | phrases | regex
        code = "community_phrase"         # the reason's code
        weight = 1.0                      # added to the log-odds when the list matches
        fields = ["author", "author_url", "author_email"]
        words = false                     # phrases: whole words only; regex: wrap as a keyword
        column = 3                        # optional: the entry is this tab-separated column (1-based)
        skip_invalid = false              # true: log and skip entries that do not compile

    Lines that are empty or start with ``#`` are skipped. Raises RulesError naming the file (and the line)
    of anything that cannot be used, so a broken list stops start-up rather than silently matching less."""
    path = Path(path)
    config = path / CONFIG_NAME if path.is_dir() else path
    try:
        data = tomllib.loads(config.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise RulesError(f"{config}: {e}") from None
    base = (config.parent / str(data.get("lists_dir", "."))).resolve()
    unknown = set(data) - {"lists_dir", "list"}
    if unknown:
        raise RulesError(f"{config}: unknown setting {sorted(unknown)[0]!r}")
    lists = []
    literals = (LiteralIndex(), LiteralIndex())  # one automaton per view for every pattern list of the file
    superset = S.Shared()  # and one Hyperscan database
    for i, item in enumerate(data.get("list", [])):
        where = f"{config}: list {i + 1}"
        if not isinstance(item, dict):
            raise RulesError(f"{where}: must be a table")
        unknown = set(item) - _LIST_KEYS
        if unknown:
            raise RulesError(f"{where}: unknown setting {sorted(unknown)[0]!r}")
        missing = {"file", "format", "code", "weight", "fields"} - set(item)
        if missing:
            raise RulesError(f"{where}: missing {sorted(missing)[0]!r}")
        if not isinstance(item["code"], str) or not _CODE.match(item["code"]):
            raise RulesError(f"{where}: code must be lower-case letters, digits and _")
        if item["code"] in RESERVED_CODES:
            raise RulesError(f"{where}: code {item['code']!r} is one of spamgate's own reasons; name the list's own")
        if not isinstance(item["weight"], (int, float)) or isinstance(item["weight"], bool):
            raise RulesError(f"{where}: weight must be a number")
        if not isinstance(item["fields"], list) or not all(isinstance(f, str) for f in item["fields"]):
            raise RulesError(f"{where}: fields must be a list of field names")
        file = base / str(item["file"])
        _check_shape(item["format"], item["fields"], float(item["weight"]), where)
        entries, compiled = _read_entries(file, item["format"], item.get("column"),
                                          bool(item.get("skip_invalid", False)), bool(item.get("words", False)))
        rules = RuleList(
            name=str(item.get("name") or Path(str(item["file"])).stem), code=item["code"], format=item["format"],
            weight=float(item["weight"]), fields=tuple(item["fields"]), entries=entries,
            words=bool(item.get("words", False)), source=str(file), compiled=compiled, literals=literals,
            superset=superset,
        )
        rules.matcher  # built now, before a server forks its workers, not on the first comment
        lists.append(rules)
    for index in literals:
        index.build()
    superset.build()
    return tuple(lists)


def _read_entries(file: Path, format: str, column, skip_invalid: bool, words: bool) -> tuple[tuple, tuple]:
    """(entries, their compiled patterns for a regex list); RulesError with file:line for a bad one."""
    try:
        lines = file.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise RulesError(f"{file}: {e}") from None
    if column is not None and (not isinstance(column, int) or column < 1):
        raise RulesError(f"{file}: column must be a positive integer")
    entries, compiled = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if column is not None:
            parts = line.split("\t")
            if len(parts) < column:
                problem = f"has {len(parts)} tab-separated columns, the config reads column {column}"
                if skip_invalid:
                    log.warning("%s:%d: skipped: %s", file, number, problem)
                    continue
                raise RulesError(f"{file}:{number}: {problem}")
            line = parts[column - 1]
        entry = line.strip() if format != "phrases" else line.strip("\r\n")
        try:
            if format == "domains":
                entry = checked_domain(entry)
            elif format == "regex":
                compiled.append(compile_pattern(entry, words))
        except RulesError as e:
            if skip_invalid:
                log.warning("%s:%d: skipped: %s", file, number, e)
                continue
            raise RulesError(f"{file}:{number}: {e}") from None
        entries.append(entry)
    return tuple(entries), tuple(compiled)


_DOMAIN = re.compile(r"^(?:[\w-]{1,63}\.)+[\w-]{2,63}$")


def checked_domain(entry: str) -> str:
    """A domain entry in the form hosts are compared in (lower case, no "*." or dots around it)."""
    domain = entry.strip().lower().removeprefix("*.").strip(".")
    if not _DOMAIN.match(domain):
        raise RulesError(f"{entry!r} is not a domain")
    return domain


# -- a site's own rules ----------------------------------------------------------------------------------

SITE_LISTS = ("allowed_domains", "blocked_domains", "blocked_phrases", "blocked_patterns", "trusted_authors")
SITE_KEYS = SITE_LISTS + ("thresholds",)
MAX_SITE_ENTRIES = 1000  # per list
MAX_ENTRY_CHARS = 300
# What one site pattern may cost on a hostile probe text before it is refused as able to run away.
PROBE_CHARS = 10_000
PROBE_TIMEOUT = 0.05


class SiteRulesError(RulesError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SiteRules:
    """What a site's moderators set through the API. Empty lists and None thresholds keep the defaults."""

    allowed_domains: tuple[str, ...] = ()
    blocked_domains: tuple[str, ...] = ()
    blocked_phrases: tuple[str, ...] = ()
    blocked_patterns: tuple[str, ...] = ()
    trusted_authors: tuple[str, ...] = ()  # author_key of an e-mail or an author URL
    review: float | None = None
    block: float | None = None

    @classmethod
    def from_json(cls, data) -> "SiteRules":
        """Checked and normalised rules from a JSON object, or SiteRulesError naming the field (and the
        entry) at fault. Every entry is checked before anything is accepted."""
        if not isinstance(data, dict):
            raise SiteRulesError("body", "must be a JSON object")
        unknown = sorted(set(data) - set(SITE_KEYS))
        if unknown:
            raise SiteRulesError(unknown[0], f"is not a rules setting (they are {', '.join(SITE_KEYS)})")
        values: dict = {}
        for name in SITE_LISTS:
            raw = data.get(name)
            if raw is None:
                continue
            if not isinstance(raw, list) or not all(isinstance(e, str) for e in raw):
                raise SiteRulesError(name, "must be an array of strings")
            if len(raw) > MAX_SITE_ENTRIES:
                raise SiteRulesError(name, f"has {len(raw)} entries, more than the {MAX_SITE_ENTRIES} allowed")
            entries = []
            for i, entry in enumerate(raw):
                where = f"{name}[{i}]"
                if not entry.strip():
                    raise SiteRulesError(where, "is empty")
                if len(entry) > MAX_ENTRY_CHARS:
                    raise SiteRulesError(where, f"is longer than {MAX_ENTRY_CHARS} characters")
                entries.append(_site_entry(name, where, entry))
            values[name] = tuple(dict.fromkeys(entries))
        thresholds = data.get("thresholds")
        if thresholds is not None:
            if not isinstance(thresholds, dict) or set(thresholds) - {"review", "block"}:
                raise SiteRulesError("thresholds", 'must be an object with "review" and/or "block"')
            for name in ("review", "block"):
                value = thresholds.get(name)
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                    raise SiteRulesError(f"thresholds.{name}", "must be a number above 0 and at most 1")
                values[name] = float(value)
        return cls(**values)

    def to_json(self) -> dict:
        out = {name: list(getattr(self, name)) for name in SITE_LISTS}
        out["thresholds"] = {"review": self.review, "block": self.block}
        return out

    def lists(self, weight: float) -> tuple[RuleList, ...]:
        """The site's phrases and patterns as rule lists of the given weight."""
        readable = ("content", "author", "author_url", "author_email")
        out = []
        if self.blocked_phrases:
            out.append(RuleList("site blocked phrases", "blocked_phrase", "phrases", weight, readable,
                                self.blocked_phrases, source="the site's rules"))
        if self.blocked_patterns:
            out.append(RuleList("site blocked patterns", "blocked_pattern", "regex", weight, readable,
                                self.blocked_patterns, source="the site's rules"))
        return tuple(out)


def _site_entry(name: str, where: str, entry: str) -> str:
    try:
        if name.endswith("_domains"):
            return checked_domain(entry)
        if name == "blocked_patterns":
            check_site_pattern(entry)
            return entry
        if name == "trusted_authors":
            key = author_key(entry)
            if not key:
                raise RulesError(f"{entry!r} is neither an e-mail address nor a URL")
            return key
    except RulesError as e:
        raise SiteRulesError(where, str(e)) from None
    return entry


def author_key(value: str) -> str:
    """How an author is recognised: an e-mail in lower case, or a URL without scheme, "www." and
    trailing "/" in lower case ("https://www.Example.com/me/" -> "example.com/me"); "" for neither."""
    value = value.strip()
    if "@" in value and "/" not in value:
        return value.lower() if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) else ""
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value, flags=re.IGNORECASE).lower()
    value = value.removeprefix("www.").rstrip("/")
    return value if re.fullmatch(r"[^\s/]+\.[^\s/]+(?:/\S*)?", value) else ""


def check_site_pattern(pattern: str) -> regex.Pattern:
    """The compiled pattern, or RulesError saying why it is refused: it does not compile, or it could
    backtrack out of control (nested quantifiers, overlapping alternatives under a quantifier, a back
    reference, or too slow on a probe text made of its own characters). Comments are up to 64 KB and a
    pattern runs on each, so the test is strict; the stop at PATTERN_TIMEOUT is the last line of defence."""
    compiled = compile_pattern(pattern)
    for old, new in _REGEX_ONLY:
        pattern = old.sub(new, pattern)
    try:
        tree = _parser.parse(pattern)
    except Exception as e:
        raise RulesError(f"pattern {pattern!r} uses syntax whose cost cannot be checked ({e})") from None
    problem = _runaway(list(tree), inside=False)
    if problem:
        raise RulesError(f"pattern {pattern!r} could run away: {problem}")
    for probe in _probes(pattern):
        try:
            compiled.search(probe, timeout=PROBE_TIMEOUT)
        except TimeoutError:
            raise RulesError(f"pattern {pattern!r} could run away: it took over {PROBE_TIMEOUT * 1000:.0f} ms on "
                             f"{len(probe)} characters") from None
    return compiled


def _runaway(items, inside: bool) -> str | None:
    """Why the parsed pattern could take exponential time, or None. ``inside``: under a repeat."""
    for op, av in items:
        if op in (_C.MAX_REPEAT, _C.MIN_REPEAT):
            low, high, sub = av
            if inside and high > 1:
                return "a quantifier inside a quantified group, as in (a+)+"
            problem = _runaway(list(sub), inside or high > 1)
        elif op is _C.POSSESSIVE_REPEAT:
            problem = _runaway(list(av[2]), False)  # never backtracks into itself
        elif op is _C.ATOMIC_GROUP:
            problem = _runaway(list(av), False)
        elif op is _C.SUBPATTERN:
            problem = _runaway(list(av[-1]), inside)
        elif op in (_C.ASSERT, _C.ASSERT_NOT):
            problem = _runaway(list(av[1]), inside)
        elif op is _C.BRANCH:
            alternatives = [list(a) for a in av[1]]
            if inside and not _distinct_starts(alternatives):
                return "alternatives that can match the same text inside a quantified group, as in (a|ab)+"
            problem = next((p for a in alternatives if (p := _runaway(a, inside))), None)
        elif op in (_C.GROUPREF, _C.GROUPREF_EXISTS):
            return "a back reference"
        else:
            problem = None
        if problem:
            return problem
    return None


def _distinct_starts(alternatives) -> bool:
    firsts = []
    for alternative in alternatives:
        if not alternative or alternative[0][0] is not _C.LITERAL:
            return False
        firsts.append(chr(alternative[0][1]).lower())
    return len(set(firsts)) == len(firsts)


def _probes(pattern: str) -> list[str]:
    """Texts that make a badly written pattern backtrack: long runs of each character it names (and of
    a few common ones), each ending in a character that spoils the match."""
    chars = {c for c in pattern if c.isprintable() and c not in "\\()[]{}?*+|^$"} | set("a 0.")
    return [c * PROBE_CHARS + "\x00" for c in sorted(chars)[:40]] + [
        "".join(sorted(chars)) * (PROBE_CHARS // max(len(chars), 1)) + "\x00"]
