"""The Hyperscan superset of a pattern list (model/superset.py): every pattern that matches a text is
reported, in one pass, and a pattern list with one picks what running its patterns finds."""

from __future__ import annotations

import os
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import rules as R
from model import superset as S

from .test_rules import CASE_TWINS, COMMUNITY_PATTERNS, FILLER, matching

pytestmark = pytest.mark.skipif(S.hyperscan is None, reason="the hyperscan package is not built for this platform")


def reported(pattern: str, text: str) -> bool:
    superset = S.build([(0, pattern, None)])
    return 0 in superset.scan(R._folded(text))


@pytest.mark.parametrize("pattern, text", [
    ("kelvin", "\u212aelvin"), ("sex", "ſex"), ("σου", "ΣΟΥ"), ("σου", "ςου"),  # letters case folds together
    ("istanbul", "İSTANBUL"), ("kanalımın", "KANALIMIN"),
    (r"(?-i:[A-Z]+)x", "ABCx"),  # case kept: the folded view still holds the letters, in lower case
    (r"(?-i:(?i:x)[^a-z])", "xA"),  # the flags of a group end with it
    (r"(?-i:[^a-z])x", "Ax"),
    (r"[wѡᎳ]eb", "ѡeb"), (r"[wѡᎳ]eb", "ꮃEB"),  # look-alikes spelled out, and their case pairs
    (r"\w+ji", "बाबाji"), (r"\d{3}", "५६७"), (r"a\sb", "a\u00a0b"), (r"\W+x", "।x"),  # classes beyond ASCII
    (r"a\Sb", "a\x1cb"), (r"[^\s]x", "\u212ax"), (r"[^\W\d_]+9", "ab9"),  # negated classes
    (r"fifa.{0,20}?coins", "FIFA हिन्दी में सस्ते coins"), (r"x.{2}y", "xहिy"),  # counted characters of 3 bytes
    (r"a{3,200}b", "a" * 150 + "b"),  # more than _MOST_COUNTED
    (r"(\w+) \1", "hello hello"), (r"(?=\d)\w+x", "5x"), (r"(?<!x)ab", "ab"), (r"^abc$", "abc"),  # dropped
    (r"(a)?(?(1)b|c)d", "cd"), (r"(?>ab|a)c", "abc"), (r"a++b", "aab"), (r"a+?b", "aab"),
    (r"(?a)x\Wy", "x\u212ay"), (r"x(?a:\W)y", "x\u212ay"),  # an ASCII \W takes the Kelvin sign
    (r"Vico\W*Peißker", "Vico Pei\U0001df95ker"),  # a case pair newer than this Python's Unicode
    (r"a\\mb", "a\\mb"),  # "\\" then "m"
])
def test_a_widened_pattern_is_reported_where_the_pattern_matches(pattern, text):
    assert R.compile_pattern(pattern).search(text)  # the row is a real match
    assert reported(pattern, text)


@pytest.mark.parametrize("pattern, text", [
    ("viagra", "a perfectly ordinary comment"),
    (r"fifa.{0,20}?coins", "fifa " + "x" * 100 + " coins"),  # further than 20 characters, in any bytes
    (r"(?:drill|suc+k|lic+k)(?:|\b.{0,80}?\b)(?:pis+|ass)", "public policy, the kill of it"),
    (r"[wѡᎳ]eb", "ꮂeb"),  # a look-alike's neighbour
    (r"(?-i:[A-Z])x", "5x"),
    (r"x[^k]y", "xky"), (r"x[^k]y", "x\u212ay"),  # not ASCII-only: the Kelvin sign is a "k"
])
def test_a_widened_pattern_keeps_the_shape_of_the_pattern(pattern, text):
    assert not reported(pattern, text)


def test_a_head_and_tail_that_can_match_nothing_are_left_out():
    """Where "\\w*hack\\w*" matches, "hack" does; a loop at the head costs Hyperscan work at every byte."""
    assert S.widen(r"\w*hack\w*") == S.widen("hack")
    assert S.widen(r"(?:_*xa\d*|\W*yb)") == S.widen("(?:xa|yb)")
    assert S.widen(r"a\w*b") != S.widen("ab")  # inside, it stays


@pytest.mark.parametrize("pattern", [
    r"[[:alpha:]]+x", r"(?:foo){e<=1}", r"\p{L}x", r"[[a]b]x(?V1)", r"(?(DEFINE)(?<w>x))y(?&w)",  # regex's own
    r"(?x)a{2 }", r"a(?x: b{2 })", r"[[:Alpha:]]+x", r"a\\{e<=1}b", r"x\(?#y\){e<=1}",  # re reads otherwise
    r"(?=x)", r"x*", r"\b",  # can match an empty string
])
def test_what_cannot_be_widened_is_left_to_the_caller(pattern):
    assert S.widen(pattern) is None


# -- every community pattern ----------------------------------------------------------------------------

COMMUNITY = list(enumerate(COMMUNITY_PATTERNS))
COMMUNITY_SUPERSET = S.build([(i, p, None) for i, p in COMMUNITY]) if S.hyperscan else None


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_superset_of_every_community_pattern_reports_each_where_it_matches(data):
    """SmokeDetector's patterns (when ../shared/rules is there) in one database: a text drawn from one of
    them, with its letters written as their case twins and beside Hindi, reports that pattern."""
    i, pattern = data.draw(st.sampled_from(COMMUNITY))
    text = data.draw(matching(pattern))
    padding = data.draw(st.sampled_from(["", "A comment about the news. ", "टिप्पणी: "]))
    text = padding + text.translate(data.draw(st.sampled_from(CASE_TWINS))) + padding
    if i in COMMUNITY_SUPERSET.covered and R.compile_pattern(pattern).search(text):
        assert i in COMMUNITY_SUPERSET.scan(R._folded(text)), (pattern, text, S.widen(pattern))


def test_the_superset_of_every_community_pattern_reports_few_on_ordinary_comments():
    """Widening keeps a pattern's shape: of 33,000 patterns, ordinary comments are reported for a few whose
    whole content is in a lookaround ("^[a-z]++$(?<=jiibond$)" widens to "[a-z]+")."""
    assert len(COMMUNITY_SUPERSET.covered) > 0.99 * len(COMMUNITY)
    for text in ("hello", "Nice post, thank you.", "बहुत अच्छी खबर है, धन्यवाद।", FILLER):
        found = COMMUNITY_SUPERSET.scan(R._folded(text))
        assert len(found) <= max(2, len(COMMUNITY) // 1000), [COMMUNITY_PATTERNS[i][:80] for i in found]


# -- a pattern list with a superset ---------------------------------------------------------------------

def _wide_and_narrow():
    rng = random.Random(7)
    sample = rng.sample(COMMUNITY_PATTERNS, min(600, len(COMMUNITY_PATTERNS)))
    sample += [LONG, r"\p{Cyrillic}{3}", r"c\W*+y\W*+b\W*+e\W*+r"]
    compiled = [(p, R.compile_pattern(p)) for p in sample]
    return R.PatternMatcher(compiled, wide=True), R.PatternMatcher(compiled, wide=False)


# Widened, longer than Hyperscan is given: picked by its literal, "casino".
LONG = "casino (?:" + "|".join(f"{i}z" for i in range(1500)) + ")"


WIDE, NARROW = _wide_and_narrow() if S.hyperscan else (None, None)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_list_with_a_superset_finds_what_it_finds_with_literals_alone(data):
    """Short texts take the superset's candidates; long ones (WINDOWED_FROM) those of both."""
    k = data.draw(st.integers(0, len(WIDE.patterns) - 1))
    pattern = WIDE.patterns[k][0]
    try:
        drawn = data.draw(matching(pattern))
    except re.error:
        drawn = "Кирилл"
    text = data.draw(st.sampled_from(["", FILLER * 60])) + drawn + data.draw(st.sampled_from(["", " टिप्पणी"]))
    assert WIDE.find(text, most=len(WIDE.patterns)) == NARROW.find(text, most=len(NARROW.patterns)), (pattern, text)


def _sharing_and_alone():
    """The sample in two lists sharing one database, and each with a database of its own."""
    patterns = WIDE.patterns
    halves = [patterns[::2], patterns[1::2] + patterns[:1]]
    shared = S.Shared()
    pairs = [(R.PatternMatcher(half, wide=True, superset=shared), R.PatternMatcher(half, wide=True)) for half in halves]
    shared.build()
    return pairs


SHARING_AND_ALONE = _sharing_and_alone() if S.hyperscan else []


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_lists_sharing_one_database_pick_what_each_picks_alone(data):
    pattern = data.draw(st.sampled_from([p for p, _ in WIDE.patterns if S.widen(p)]))
    text = data.draw(matching(pattern))
    text = data.draw(st.sampled_from(["", FILLER * 60])) + text
    for sharing, alone in SHARING_AND_ALONE:
        assert sharing.uncovered() == alone.uncovered()
        assert sharing.candidates(text) == alone.candidates(text), (pattern, text)


def test_a_pattern_that_cannot_be_widened_is_picked_by_its_literals_or_runs_on_every_text():
    assert S.widen(LONG) is None and S.widen(r"\p{Cyrillic}{3}") is None
    literal, always = (next(k for k, (p, _) in enumerate(WIDE.patterns) if p == pattern)
                       for pattern in (LONG, r"\p{Cyrillic}{3}"))
    assert literal not in WIDE.uncovered() and always in WIDE.uncovered()
    assert literal not in WIDE.candidates("an ordinary comment") and always in WIDE.candidates("an ordinary comment")
    assert literal in WIDE.candidates("CASINO 7z")


def test_a_list_without_hyperscan_uses_its_literals(monkeypatch):
    monkeypatch.setattr(S, "hyperscan", None)
    matcher = R.PatternMatcher([(p, c) for p, c in NARROW.patterns], wide=True)
    assert matcher.uncovered() is None
    assert matcher.candidates("cyber security, CHEAP viagra") == NARROW.candidates("cyber security, CHEAP viagra")


# -- building a database --------------------------------------------------------------------------------

def test_an_expression_hyperscan_refuses_gives_way_to_the_next_choice():
    too_large = "(?:(?:ab|cd){50,100}){50,100}"
    superset = S.build([(0, too_large + "abc", S.any_of(["abc"])), (1, too_large, None), (2, "d+e", None)])
    assert superset.covered == {0, 2}
    assert superset.scan("xabcx") == {0} and superset.scan("dde") == {2}


def test_a_large_database_is_compiled_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "CACHE_DIR", tmp_path)
    expressions = [(i, f"word{i}", None) for i in range(S.CACHE_FROM)]
    first = S.build(expressions)
    assert len(list(tmp_path.glob("superset-*.hsdb"))) == 1

    def no_compiling(expressions):
        raise AssertionError("compiled again")

    compiled = S._compiled
    monkeypatch.setattr(S, "_compiled", no_compiling)
    again = S.build(expressions)
    assert again.covered == first.covered and again.scan("a word7 here") == first.scan("a word7 here") == {7}
    (path,) = tmp_path.glob("superset-*.hsdb")
    path.write_bytes(b"0,1\nnot a database")  # damaged: compiled afresh
    monkeypatch.setattr(S, "_compiled", compiled)
    assert S.build(expressions).scan("word3") == {3}


def test_only_the_databases_used_last_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(S, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(S, "CACHE_KEPT", 2)
    lists = [[(i, f"list{k}word{i}", None) for i in range(S.CACHE_FROM)] for k in range(3)]
    first = S.build(lists[0])
    (kept,) = tmp_path.glob("superset-*.hsdb")
    os.utime(kept, (1, 1))  # long unused
    S.build(lists[1])
    S.build(lists[0])  # used again
    S.build(lists[2])
    assert len(list(tmp_path.glob("superset-*.hsdb"))) == 2 and kept.exists()
    assert first.covered == S.build(lists[0]).covered


def test_a_database_compiled_by_other_code_is_not_used(tmp_path, monkeypatch):
    """The key holds the source of superset.py and rules.py (whose folded view the expressions spell) and
    the Unicode tables' versions: a cached database from before a change to any is compiled afresh."""
    monkeypatch.setattr(S, "CACHE_DIR", tmp_path)
    patterns = [(i, f"word{i}", None) for i in range(S.CACHE_FROM)]
    S.build(patterns)
    compiled, calls = S._compiled, []
    monkeypatch.setattr(S, "_compiled", lambda expressions: calls.append(1) or compiled(expressions))
    S.build(patterns)
    assert calls == []
    monkeypatch.setattr(S, "_SOURCE", "another version of the code")
    S.build(patterns)
    assert calls == [1]


def test_a_list_cannot_join_a_database_already_built():
    shared = S.Shared()
    shared.join([(0, "casino", None)], 1)
    shared.build()
    with pytest.raises(RuntimeError):
        shared.join([(0, "poker", None)], 1)
