"""Score one comment without scikit-learn's per-call overhead, with the same probability.

A fitted pipeline is a linear function of tf-idf weights and standardised measures followed by Platt
scaling. ``FastScorer`` reads those numbers out of the fitted estimators once and evaluates the same
function directly: calling the whole ``Pipeline`` for one comment costs about 2 ms of validation and
sparse-matrix bookkeeping, this costs a small fraction of that. Because it keeps each feature's share of
the score it also says which features pushed the probability most.

Most of the work is in the character n-grams. sklearn's ``char_wb`` analyzer cuts each whitespace-separated
word on its own, so the n-gram columns of a word never change: they are computed once per distinct word
and kept (``_CharColumns``), and a comment's n-gram counts are the concatenation of its words' columns.

tests/test_fastpath.py holds it to the pipeline's probabilities within 1e-9.
"""

from __future__ import annotations

import functools
import heapq
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

from .features import META_FEATURES, WORD_PATTERN, PreparedComment, meta_row

_WORD = re.compile(WORD_PATTERN)
# Words up to this long are cached per word; longer ones (junk, or an attack on memory) are not.
CACHED_WORD_LENGTH = 64

# How the tokens that stand for things read in an explanation.
TOKEN_NAMES = {
    "xurl": "a link",
    "xshortener": "a shortened link",
    "xobfuscated": "a disguised link",
    "xemail": "an e-mail address",
    "xphone": "a phone number",
}


@dataclass(frozen=True, slots=True)
class Contribution:
    """One feature's push on the log-odds of spam (positive: towards spam)."""

    feature: str
    kind: str  # "word", "characters" or "measure"
    weight: float


@dataclass(frozen=True, slots=True)
class Score:
    probability: float
    log_odds: float  # the calibrated probability's log-odds
    contributions: tuple[Contribution, ...]  # largest |weight| first, at most ``top``


class _Tokens:
    """A fitted word TfidfVectorizer: token -> (idf, coefficient), and its analyzer."""

    def __init__(self, vectorizer, coef: np.ndarray, offset: int):
        _check_tfidf(vectorizer)
        self.analyze = vectorizer.build_analyzer()
        idf = vectorizer.idf_
        self.table = {
            token: (float(idf[i]), float(coef[offset + i])) for token, i in vectorizer.vocabulary_.items()
        }

    def weights(self, prepared: PreparedComment) -> tuple[float, dict[str, float]]:
        """The vectorizer's share of the decision function, and each known token's share of it."""
        tokens = Counter(self.analyze(prepared))
        found = []
        norm2 = 0.0
        for (token, count), entry in zip(tokens.items(), map(self.table.get, tokens)):
            if entry is not None:
                value = (1.0 + math.log(count)) * entry[0]
                norm2 += value * value
                found.append((token, value * entry[1]))
        if not found:
            return 0.0, {}
        norm = math.sqrt(norm2)
        parts = {token: share / norm for token, share in found}
        return math.fsum(parts.values()), parts


class _CharColumns:
    """A fitted ``char_wb`` TfidfVectorizer, evaluated word by word with a cache of each word's columns."""

    CACHE_SIZE = 200_000  # distinct words; a cache entry is a small int array

    def __init__(self, vectorizer, coef: np.ndarray, offset: int):
        _check_tfidf(vectorizer)
        if vectorizer.analyzer != "char_wb":
            raise ValueError("the fast path expects a char_wb vectorizer")
        self.vocabulary = vectorizer.vocabulary_
        self.low, self.high = vectorizer.ngram_range
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.coef = np.asarray(coef[offset : offset + len(self.idf)], dtype=np.float64)
        self._cache: dict[str, np.ndarray] = {}

    def columns(self, word: str) -> np.ndarray:
        """Columns of the known n-grams of one word, one entry per occurrence."""
        cols = self._cache.get(word)
        if cols is None:
            get = self.vocabulary.get
            cols = np.array([c for c in map(get, _char_wb_grams(word, self.low, self.high)) if c is not None],
                            dtype=np.intp)
            # Only ordinary words are kept: a 60 KB "word" would pin its n-grams in memory for good.
            if len(word) <= CACHED_WORD_LENGTH:
                if len(self._cache) >= self.CACHE_SIZE:
                    self._cache.clear()  # crude, but bounded; a refill costs what the first fill did
                self._cache[word] = cols
        return cols

    def weights(self, words: list[str]) -> tuple[float, dict[str, float]]:
        """The vectorizer's share of the decision function, and each word's share of it (an n-gram that
        occurs in several words is shared out among them by occurrence)."""
        per_word = [self.columns(w) for w in words]
        cols = np.concatenate(per_word) if per_word else np.empty(0, dtype=np.intp)
        if not len(cols):
            return 0.0, {}
        unique, inverse, counts = np.unique(cols, return_inverse=True, return_counts=True)
        values = (1.0 + np.log(counts)) * self.idf[unique]
        shares = values * self.coef[unique] / math.sqrt(float(values @ values))
        per_occurrence = (shares / counts)[inverse]
        # Each word's share: sum its stretch of per_occurrence (words with no known n-gram have none).
        lengths = np.fromiter((len(c) for c in per_word), dtype=np.intp, count=len(per_word))
        present = lengths > 0
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[present]
        sums = np.add.reduceat(per_occurrence, starts).tolist()
        by_word: dict[str, float] = {}
        for word, share in zip((w for w, p in zip(words, present.tolist()) if p), sums):
            by_word[word] = by_word.get(word, 0.0) + share
        return float(shares.sum()), by_word


def _check_tfidf(vectorizer) -> None:
    if vectorizer.norm != "l2" or not vectorizer.use_idf or not vectorizer.sublinear_tf:
        raise ValueError("the fast path expects l2-normalised sublinear tf-idf")


class FastScorer:
    """Evaluates a fitted spamgate pipeline on one prepared comment."""

    def __init__(self, pipeline: Pipeline):
        steps = dict(pipeline.named_steps["features"].transformer_list)
        calibrated = pipeline.named_steps["classifier"].calibrated_classifiers_
        if len(calibrated) != 1:
            raise ValueError("the fast path expects CalibratedClassifierCV(ensemble=False)")
        regression = calibrated[0].estimator
        coef = regression.coef_[0]
        self.intercept = float(regression.intercept_[0])
        sigmoid = calibrated[0].calibrators[0]
        self.a, self.b = float(sigmoid.a_), float(sigmoid.b_)
        n_words = len(steps["words"].vocabulary_)
        n_chars = len(steps["chars"].vocabulary_)
        self.words = _Tokens(steps["words"], coef, 0)
        self.chars = _CharColumns(steps["chars"], coef, n_words)
        meta = steps["meta"]
        self.meta = list(zip(META_FEATURES, meta.mean_.tolist(), meta.scale_.tolist(),
                             coef[n_words + n_chars :].tolist()))

    def score(self, prepared: PreparedComment, top: int = 6) -> Score:
        """Probability of spam, and the ``top`` contributions (largest push either way first)."""
        word_sum, word_parts = self.words.weights(prepared)
        char_sum, char_parts = self.chars.weights(prepared.text.split())
        meta_parts = [
            (name, (value - mean) / scale * c)
            for (name, mean, scale, c), value in zip(self.meta, meta_row(prepared))
        ]
        decision = self.intercept + word_sum + char_sum + math.fsum(share for _, share in meta_parts)
        # Platt scaling, as sklearn's _SigmoidCalibration: p = 1 / (1 + exp(a * decision + b)).
        log_odds = -(self.a * decision + self.b)
        return Score(expit(log_odds), log_odds, tuple(self._explain(word_parts, char_parts, meta_parts, top)))

    def _explain(self, word_parts, char_parts, meta_parts, top) -> list[Contribution]:
        """The ``top`` readable contributions on the calibrated log-odds scale: words and phrases, each
        word with its character n-grams added, and the measures. All of them, with the intercept's
        share, add up to the log-odds."""
        scale = -self.a
        by_word = dict(word_parts)
        for word, share in char_parts.items():
            key = _display_key(word)
            by_word[key] = by_word.get(key, 0.0) + share
        candidates = [(w, "word", s) for w, s in by_word.items() if s]
        candidates.extend((name, "measure", s) for name, s in meta_parts)
        # Largest push first, earlier candidate first on a tie; plain tuples sort faster than a key function.
        best = heapq.nlargest(top, [(abs(c[2]), -i, c) for i, c in enumerate(candidates)])
        return [Contribution(TOKEN_NAMES.get(f, f) if kind == "word" else f, kind, s * scale)
                for _, _, (f, kind, s) in best]


def _display_key(word: str) -> str:
    # "site." and "site" are one word to a reader; the word vectorizer already strips the dot.
    return _display_key_cached(word) if len(word) <= CACHED_WORD_LENGTH else " ".join(_WORD.findall(word)) or word


@functools.lru_cache(maxsize=100_000)
def _display_key_cached(word: str) -> str:
    return " ".join(_WORD.findall(word)) or word


def _char_wb_grams(word: str, low: int, high: int) -> list[str]:
    """The n-grams sklearn's ``char_wb`` analyzer makes of one word (padded with a space each side)."""
    padded = f" {word} "
    grams = []
    for n in range(low, high + 1):
        if len(padded) <= n:
            grams.append(padded)
            break
        grams.extend([padded[i : i + n] for i in range(len(padded) - n + 1)])
    return grams


def expit(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
