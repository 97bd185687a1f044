"""Which of a list's many regular expressions could match a text, in one pass: each pattern is widened
into an expression Hyperscan runs (every match of the pattern is a match of the widened one), and all of
the big lists of a rules config are scanned together (``Shared``) over the bytes of the text's folded view.

The literal prefilter of model/rules.py runs a pattern wherever one of its literals occurs: SmokeDetector's
"(?:drill|suc+k|lic+k|...)...(?:pis+|ass|...)" ran on most comments, as "lic" and "ass" are in "public
class". The widened pattern holds its whole shape ("lic" then, within 80 characters, "ass"), so far fewer
patterns are run, and the one pass replaces the literal automaton and its tables on comments shorter than
rules.WINDOWED_FROM.

How a pattern is widened (``widen``), read by `re`'s parser as rules.py reads it:
- the text is scanned in its folded view (rules._folded: lower case, case variants written as one), so
  every character or class becomes the set of folded forms of the characters it matches: "[Kk]" and the
  Kelvin sign are all "k";
- a character the pattern spells out stays exact, in UTF-8 ("[wѡᎳ]" is "w", "\\xd1\\xa1" or "\\xea\\xae\\x83"),
  whether case is ignored or not; a class that names no characters ("\\w", "[^a-z]", ".") is asked of the
  regex module under the flags in force, on ASCII, and takes any byte from \\x80, one to four times;
- anchors, word boundaries and lookarounds are dropped, a back-reference takes anything, a conditional
  either branch, atomic groups and possessive or lazy repeats become plain ones, a repeat of more than
  _MOST_COUNTED becomes unbounded, and a head and tail that can match the empty string are left out:
  each only lets more texts through.
What `re` cannot read (the regex module's own syntax: "\\p{...}", "(?V1)", named lists, fuzzy matching,
"(?(DEFINE)...)", see rules._parsed) is left to the caller, as are patterns that can match an empty string.

Hyperscan is Intel's regular expression engine (BSD licence), built for scanning with many thousands of
patterns at once; the `hyperscan` package ships it for x86-64 Linux. Without it, ``build`` returns None
and rules.py falls back to its literal prefilter alone. Compiling the 27,000 patterns of SmokeDetector's
watched list takes about 10 s: the compiled database is kept in a cache folder (CACHE_DIR), named by a
hash of what it was compiled from.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import regex

try:
    import hyperscan
except ImportError:  # not built for this platform: rules.py uses its literal prefilter alone
    hyperscan = None

import re._constants as _C

log = logging.getLogger(__name__)

# Repeats counted up to this stay bounded; more become unbounded (Hyperscan's size grows with the count).
_MOST_COUNTED = 100
# Databases of this many patterns or more are kept in this folder (fewer compile in milliseconds). The
# service sets it from SPAMGATE_RULES_CACHE (spamgate/config.py).
CACHE_DIR = Path.home() / ".cache" / "spamgate"
CACHE_FROM = 50
CACHE_KEPT = 16  # the databases used last; older ones (other lists, earlier versions) are removed
# A widened pattern longer than this is not compiled (Hyperscan refuses very long expressions).
_LONGEST = 8000

_ANY_TEXT = r"[\x00-\xff]*"
_CATEGORIES = {_C.CATEGORY_DIGIT: r"\d", _C.CATEGORY_NOT_DIGIT: r"\D", _C.CATEGORY_SPACE: r"\s",
               _C.CATEGORY_NOT_SPACE: r"\S", _C.CATEGORY_WORD: r"\w", _C.CATEGORY_NOT_WORD: r"\W"}


class _Unreadable(Exception):
    pass


def _fold_char(char: str) -> str:
    """``char`` as the folded view of a text (rules._folded) writes it."""
    from .rules import _fold, _lower  # (rules imports this module)

    return _fold(_lower(char))


@lru_cache(maxsize=1)
def _ascii_variants() -> dict[str, tuple[str, ...]]:
    """Each ASCII character of the folded view: the characters folding to it ("k": "K", "k" and the
    Kelvin sign "K"). Worked out once (about 0.1 s)."""
    out: dict[str, list[str]] = {}
    for code in range(0x1E950):  # past the last cased script, as rules._case_classes
        folded = _fold_char(chr(code))
        if len(folded) == 1 and folded.isascii():
            out.setdefault(folded, []).append(chr(code))
    return {folded: tuple(chars) for folded, chars in out.items()}


def _bytes(data: bytes) -> str:
    """``data`` written byte by byte, as Hyperscan reads it."""
    return "".join("\\x%02x" % b for b in data)


def _ascii_runs(codes: list[int]) -> str:
    """The inside of a class of the sorted ASCII ``codes``, runs written as ranges."""
    runs, start = [], codes[0]
    for previous, code in zip(codes, codes[1:] + [-1]):
        if code != previous + 1:
            runs.append(_bytes(bytes([start])) + ("" if start == previous else "-" + _bytes(bytes([previous]))))
            start = code
    return "".join(runs)


def _alternatives(ascii_codes: Iterable[int], sequences: Iterable[bytes], any_other: bool) -> tuple[str, bool]:
    """The expression for one character: (a class or an alternation of its UTF-8 forms, False), or, where
    it takes any character beyond ASCII, (a class of one byte, True): the ASCII ones and every byte from
    \x80, which a character takes one to four of (loose, but Hyperscan holds it in far less than exact
    UTF-8)."""
    codes = sorted(set(ascii_codes))
    runs = _ascii_runs(codes) if codes else ""
    if any_other:
        return "[" + runs + "\\x80-\\xff]", True
    alternatives = [runs if len(codes) == 1 else "[" + runs + "]"] if codes else []
    alternatives.extend(_bytes(sequence) for sequence in sorted(set(sequences)))
    if not alternatives:  # a class nothing can match ("[^\s\S]"): taking anything is still wider
        return _alternatives(range(128), (), True)
    return (alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"), False


def _spelled(ranges: list[tuple[int, int]]) -> tuple[str, bool]:
    """The folded forms of the characters of ``ranges``: each exact where there are few beyond ASCII,
    else the ASCII ones exact and any other character. (Every character folds to one: see _fold_char.)"""
    beyond = sum(high - low + 1 for low, high in ranges if high >= 128)
    few = beyond <= 512
    ascii_codes, sequences = [], []
    for low, high in ranges:
        for code in range(low, high + 1 if few else min(high, 127) + 1):
            folded = _fold_char(chr(code))
            if folded.isascii():
                ascii_codes.append(ord(folded))
            else:
                sequences.append(folded.encode("utf-8", "surrogatepass"))
    if not few:  # the few beyond ASCII that fold into it (the Kelvin sign, "ſ", "İ", "ı")
        ascii_codes.extend(ord(folded) for folded, chars in _ascii_variants().items()
                           if any(low <= ord(c) <= high for c in chars for low, high in ranges))
    return _alternatives(ascii_codes, sequences, not few)


@lru_cache(maxsize=4096)
def _probed(source: str, flags: int) -> tuple[str, bool]:
    """A class that names no characters (or all but some), such as "\\W" or "[^a-z]": the ASCII characters
    of the folded view it can match, found by asking the regex module, under ``flags`` (re's IGNORECASE
    and ASCII: "(?a)\\W" takes the Kelvin sign), of each character folding to one; and any other."""
    compiled = regex.compile(source, regex.DOTALL | (regex.IGNORECASE if flags & _C.SRE_FLAG_IGNORECASE else 0)
                             | (regex.ASCII if flags & _C.SRE_FLAG_ASCII else 0))
    codes = [ord(folded) for folded, chars in _ascii_variants().items() if any(compiled.fullmatch(c) for c in chars)]
    return _alternatives(codes, (), True)


_CHARACTER = (_C.LITERAL, _C.NOT_LITERAL, _C.ANY, _C.IN)


def _char(op, av, flags: int) -> tuple[str, bool]:
    """One character of the pattern (see _alternatives)."""
    if op is _C.LITERAL:
        return _spelled([(av, av)])
    if op is _C.ANY:
        return _alternatives(range(128), (), True)
    if op is _C.NOT_LITERAL:
        return _probed("[^\\U%08x]" % av, flags)
    parts, negated, ranges = [], False, []  # op is IN
    for item, value in av:
        if item is _C.NEGATE:
            negated = True
        elif item is _C.LITERAL:
            parts.append("\\U%08x" % value)
            ranges.append((value, value))
        elif item is _C.RANGE:
            parts.append("\\U%08x-\\U%08x" % value)
            ranges.append(value)
        elif item is _C.CATEGORY and value in _CATEGORIES:
            parts.append(_CATEGORIES[value])
        else:
            raise _Unreadable(item)
    if not negated and all(item in (_C.LITERAL, _C.RANGE) for item, _ in av):
        return _spelled(ranges)
    return _probed("[" + ("^" if negated else "") + "".join(parts) + "]", flags)


def _counted(low: int, high: int, bytes_each: int = 1) -> str:
    """The quantifier for ``low`` to ``high`` times (high: MAXREPEAT for no bound), of something
    ``bytes_each`` bytes long at most."""
    low = min(low, _MOST_COUNTED)
    if high is _C.MAXREPEAT or high > _MOST_COUNTED:
        return "{%d,}" % low
    return "{%d,%d}" % (low, bytes_each * high)


def _sequence(items, flags: int) -> str:
    """``items`` widened, read under re's ``flags`` (IGNORECASE and ASCII matter, to classes)."""
    out = []
    for op, av in items:
        if op in _CHARACTER:
            expression, loose = _char(op, av, flags)
            out.append(expression + _counted(1, 1, 4) if loose else expression)
        elif op is _C.BRANCH:
            out.append("(?:" + "|".join(_sequence(branch, flags) for branch in av[1]) + ")")
        elif op is _C.SUBPATTERN:
            _, add, remove, inner = av
            out.append("(?:" + _sequence(inner, (flags | add) & ~remove) + ")")
        elif op in (_C.MAX_REPEAT, _C.MIN_REPEAT, _C.POSSESSIVE_REPEAT):
            low, high, inner = av
            if len(inner) == 1 and inner[0][0] in _CHARACTER:
                expression, loose = _char(*inner[0], flags)
                if loose:  # ".{0,80}": 0 to 320 bytes
                    out.append(expression + _counted(low, high, 4))
                    continue
            out.append("(?:" + _sequence(inner, flags) + ")" + _counted(low, high))
        elif op is _C.ATOMIC_GROUP:
            out.append("(?:" + _sequence(av, flags) + ")")
        elif op in (_C.AT, _C.ASSERT, _C.ASSERT_NOT):
            continue
        elif op is _C.GROUPREF:
            out.append(_ANY_TEXT)
        elif op is _C.GROUPREF_EXISTS:
            _, yes, no = av
            out.append("(?:" + _sequence(yes, flags) + "|" + (_sequence(no, flags) if no else "") + ")")
        else:
            raise _Unreadable(op)
    return "".join(out)


def _trimmed(items: list, state) -> list:
    """``items`` without the head and tail that can match the empty string ("\\w*hack\\w*" is "hack"
    within a match wherever it matches; at the head, such a loop cost Hyperscan work at every byte), in
    each alternative of a pattern that is one alternation, or one group. (Leaving out any head or tail
    would be sound for a search; only those that can be empty are, so that no precision is lost.)"""
    from .rules import _parser

    def empty(item) -> bool:
        return _parser.SubPattern(state, [item]).getwidth()[0] == 0

    while items and empty(items[0]):
        items = items[1:]
    while items and empty(items[-1]):
        items = items[:-1]
    if len(items) == 1 and items[0][0] is _C.BRANCH:
        return [(_C.BRANCH, (None, [_trimmed(list(branch), state) for branch in items[0][1][1]]))]
    if len(items) == 1 and items[0][0] is _C.SUBPATTERN:
        group, add, remove, inner = items[0][1]
        return [(_C.SUBPATTERN, (group, add, remove, _trimmed(list(inner), state)))]
    return items


def widen(pattern: str) -> str | None:
    """The Hyperscan expression (over the UTF-8 bytes of a folded text) that matches wherever ``pattern``
    could, or None where it cannot be read here or can match an empty string."""
    from .rules import _parsed

    tree = _parsed(pattern)
    if tree is None or tree.getwidth()[0] == 0:
        return None
    try:
        # compile_pattern adds IGNORECASE; an inline "(?a)" sets ASCII for the whole pattern
        widened = _sequence(_trimmed(list(tree), tree.state), tree.state.flags | _C.SRE_FLAG_IGNORECASE)
    except (_Unreadable, regex.error, RecursionError):
        return None
    return widened if len(widened) <= _LONGEST else None


def any_of(strings: Iterable[str]) -> str:
    """The expression for any of ``strings`` occurring (strings of the folded view: as rules' literals are)."""
    return "(?:" + "|".join(_bytes(string.encode("utf-8", "surrogatepass")) for string in sorted(strings)) + ")"


class Superset:
    """The patterns of one list that could match a text. ``covered``: the indexes it answers for (those
    given an expression); for the others, the caller decides."""

    def __init__(self, database, covered: frozenset[int]):
        self._database = database
        self.covered = covered
        self._local = threading.local()  # a scan needs scratch space no other scan is using at once

    def scan(self, folded: str) -> set[int]:
        """The covered patterns that could match a text whose folded view (rules._folded) is ``folded``."""
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        found: set[int] = set()
        self._database.scan(folded.encode("utf-8", "surrogatepass"), scratch=scratch,
                            match_event_handler=lambda i, start, end, flags, context: found.add(i))
        return found


class Shared:
    """One Superset for the big pattern lists of a rules config, which read the same texts: a text is
    scanned once for all of them. Each list joins with its expressions, numbered from where it was given
    to start; ``build`` compiles once every list has joined (on the first scan if not before)."""

    def __init__(self):
        self._patterns: list[tuple[int, str, str | None]] = []
        self._size = 0
        self.superset: Superset | None = None
        self.built = False

    def join(self, patterns: Sequence[tuple[int, str, str | None]], size: int) -> int:
        """Where the numbers of a list of ``size`` patterns start (pattern i is reported as start + i).
        ``patterns``: those of the list it is to answer for, as ``build`` takes them. Every list joins
        before the database is built (rules.load builds it once all have, before a server forks)."""
        if self.built:
            raise RuntimeError("a list joins a shared superset before it is built")
        start = self._size
        self._patterns.extend((start + i, pattern, fallback) for i, pattern, fallback in patterns)
        self._size += size
        return start

    def build(self) -> None:
        if not self.built:
            self.superset = build(self._patterns)
            self.built = True

    def scan(self, folded: str) -> frozenset[int]:
        """What the Superset reports for a text whose folded view is ``folded``: kept for the other lists
        (and fields) that ask for the same text."""
        self.build()
        return _scan(self, folded)


@lru_cache(maxsize=16)
def _scan(shared: Shared, folded: str) -> frozenset[int]:
    return frozenset(shared.superset.scan(folded)) if shared.superset is not None else frozenset()


def build(patterns: Sequence[tuple[int, str, str | None]]) -> Superset | None:
    """A Superset of ``patterns``: (index, the pattern, an expression to use where it cannot be widened or
    Hyperscan refuses the widened one, or None), or None without Hyperscan. Loaded from the cache when
    compiled before by this version of this module."""
    if hyperscan is None or not patterns:
        return None
    cached = None
    if len(patterns) >= CACHE_FROM:
        key = hashlib.sha256(repr((_SOURCE, hyperscan.__version__, _FLAGS, list(patterns))).encode()).hexdigest()[:32]
        cached = CACHE_DIR / f"superset-{key}.hsdb"
        if (superset := _load(cached)) is not None:
            return superset
    expressions = [(i, tuple(e for e in (widen(pattern), fallback) if e is not None)) for i, pattern, fallback in patterns]
    chosen = [(i, choices[0]) for i, choices in expressions if choices]
    try:
        database = _compiled(chosen) if chosen else None
    except hyperscan.error:  # it names no expression in its error: find the ones refused, by halves
        chosen = _accepted(chosen, {i: choices[1:] for i, choices in expressions})
        try:
            database = _compiled(chosen) if chosen else None
        except hyperscan.error as e:  # each compiled alone, not together: the literal prefilter alone
            log.warning("Hyperscan refused the patterns together (%s): the literal prefilter is used alone", e)
            return None
    if database is None:
        return None
    if cached is not None:
        _save(cached, ",".join(str(i) for i, _ in chosen).encode() + b"\n" + hyperscan.dumpb(database))
    return Superset(database, frozenset(i for i, _ in chosen))


# What a cached database was compiled by: the widening (this module), the folded view and the reading of
# patterns (rules.py), and the Unicode tables of the regex module and of Python. A change to any makes it
# stale.
_SOURCE = hashlib.sha256(b"".join([Path(__file__).read_bytes(), (Path(__file__).parent / "rules.py").read_bytes(),
                                   regex.__version__.encode(), unicodedata.unidata_version.encode()])).hexdigest()

_FLAGS = 0
if hyperscan is not None:
    # Once per pattern and text; an empty match is still a match. (Not HS_FLAG_PREFILTER, which lets
    # Hyperscan approximate a pattern too large for it: SmokeDetector's 1,200-character "drill|suck..."
    # became one that matched "hello".)
    _FLAGS = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY


def _compiled(expressions: list[tuple[int, str]]):
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(expressions=[e.encode("ascii") for _, e in expressions], ids=[i for i, _ in expressions],
                     elements=len(expressions), flags=_FLAGS)
    return database


def _accepted(expressions: list[tuple[int, str]], fallback: dict[int, tuple[str, ...]]) -> list[tuple[int, str]]:
    """``expressions``, each that Hyperscan refuses replaced by its next choice, or left out."""
    if not expressions:
        return []
    try:
        _compiled(expressions)
        return expressions
    except hyperscan.error as e:
        if len(expressions) == 1:
            (i, _), = expressions
            if fallback[i]:
                return _accepted([(i, fallback[i][0])], {i: fallback[i][1:]})
            log.info("Hyperscan refused pattern %d (%s): it runs on every text", i, e)
            return []
    half = len(expressions) // 2
    return _accepted(expressions[:half], fallback) + _accepted(expressions[half:], fallback)


def _load(path: Path) -> Superset | None:
    """The Superset kept in ``path`` (the indexes it covers, a newline, the database), or None."""
    try:
        data = path.read_bytes()
        os.utime(path)  # used: kept longer (see _save)
        head, database = data[:data.index(b"\n")], data[data.index(b"\n") + 1:]
        covered = frozenset(int(i) for i in head.split(b",") if i)
        return Superset(hyperscan.loadb(database, hyperscan.HS_MODE_BLOCK), covered)
    except (OSError, ValueError, hyperscan.error):
        return None


def _save(path: Path, data: bytes) -> None:
    """Written whole or not at all (workers starting together may write the same file); then only the
    CACHE_KEPT used last are kept."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as f:
            temporary = f.name
            f.write(data)
        os.replace(temporary, path)
        kept = sorted(path.parent.glob("superset-*.hsdb"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[CACHE_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError as e:
        log.warning("could not keep the compiled patterns in %s: %s", path.parent, e)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
