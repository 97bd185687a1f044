"""Score one comment without scikit-learn's per-call overhead, with the same probability.

A fitted pipeline is a linear function of tf-idf weights and standardised measures followed by Platt
scaling. ``FastScorer`` reads those numbers out of the fitted estimators once and evaluates the same
function with dictionaries and floats: calling the whole ``Pipeline`` for one comment costs about 1.5 ms of
validation and sparse-matrix bookkeeping, this costs a fraction of that. Because it keeps each feature's
share of the score it also says which features pushed the probability most.

tests/test_fastpath.py holds it to the pipeline's probabilities within 1e-9.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.pipeline import Pipeline

from .features import META_FEATURES, WORD_PATTERN, PreparedComment, meta_row

_WORD = re.compile(WORD_PATTERN)

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


class _Vocabulary:
    """One fitted TfidfVectorizer: token -> (idf, coefficient), and how it tokenises."""

    def __init__(self, vectorizer, coef: np.ndarray, offset: int):
        if vectorizer.norm != "l2" or not vectorizer.use_idf or not vectorizer.sublinear_tf:
            raise ValueError("the fast path expects l2-normalised sublinear tf-idf")
        self.analyze = vectorizer.build_analyzer()
        self.ngram_range = vectorizer.ngram_range
        idf = vectorizer.idf_
        self.table = {
            token: (float(idf[i]), float(coef[offset + i])) for token, i in vectorizer.vocabulary_.items()
        }

    def weights(self, tokens: Counter) -> tuple[float, dict[str, float]]:
        """The vectorizer's share of the decision function, and each known token's share of it."""
        found = []
        norm2 = 0.0
        get = self.table.get
        for (token, count), entry in zip(tokens.items(), map(get, tokens)):
            if entry is not None:
                value = (1.0 + math.log(count)) * entry[0] if count > 1 else entry[0]
                norm2 += value * value
                found.append((token, value * entry[1]))
        if not found:
            return 0.0, {}
        norm = math.sqrt(norm2)
        parts = {token: share / norm for token, share in found}
        return math.fsum(parts.values()), parts


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
        self.words = _Vocabulary(steps["words"], coef, 0)
        self.chars = _Vocabulary(steps["chars"], coef, n_words)
        meta = steps["meta"]
        self.meta = list(zip(META_FEATURES, meta.mean_.tolist(), meta.scale_.tolist(),
                             coef[n_words + n_chars :].tolist()))

    def score(self, prepared: PreparedComment, top: int = 6) -> Score:
        """Probability of spam, and the ``top`` contributions (largest push either way first)."""
        word_sum, word_parts = self.words.weights(Counter(self.words.analyze(prepared)))
        # The char_wb analyzer works word by word; doing the same here, once per distinct word, gives
        # the same n-gram counts and tells which word each n-gram came from, for the explanation.
        low, high = self.chars.ngram_range
        words = Counter(prepared.text.split())
        grams_of = {word: _char_wb_grams(word, low, high) for word in words}
        grams = Counter()
        for word, occurrences in words.items():
            for _ in range(occurrences):
                grams.update(grams_of[word])
        char_sum, char_parts = self.chars.weights(grams)
        meta_parts = [
            (name, (value - mean) / scale * c)
            for (name, mean, scale, c), value in zip(self.meta, meta_row(prepared))
        ]
        decision = self.intercept + word_sum + char_sum + math.fsum(share for _, share in meta_parts)
        # Platt scaling, as sklearn's _SigmoidCalibration: p = 1 / (1 + exp(a * decision + b)).
        log_odds = -(self.a * decision + self.b)
        contributions = self._explain(words, grams_of, grams, word_parts, char_parts, meta_parts)
        contributions.sort(key=lambda c: -abs(c.weight))
        return Score(expit(log_odds), log_odds, tuple(contributions[:top]))

    def _explain(self, words, grams_of, grams, word_parts, char_parts, meta_parts) -> list[Contribution]:
        """Readable contributions on the calibrated log-odds scale: words and phrases, each word with
        its character n-grams added (an n-gram seen in several words is shared out among them), and the
        measures. Their weights add up to the log-odds less the intercept's share."""
        scale = -self.a
        by_word = dict(word_parts)
        if char_parts:
            for word, occurrences in words.items():
                share = 0.0
                for gram in grams_of[word]:
                    part = char_parts.get(gram)
                    if part is not None:
                        share += part / grams[gram]
                key = " ".join(_WORD.findall(word)) or word
                by_word[key] = by_word.get(key, 0.0) + share * occurrences
        out = [Contribution(TOKEN_NAMES.get(w, w), "word", s * scale) for w, s in by_word.items() if s]
        out.extend(Contribution(name, "measure", s * scale) for name, s in meta_parts)
        return out


def _char_wb_grams(word: str, low: int, high: int) -> list[str]:
    """The n-grams sklearn's ``char_wb`` analyzer makes of one word (padded with a space each side)."""
    padded = f" {word} "
    grams = []
    for n in range(low, high + 1):
        if len(padded) <= n:
            grams.append(padded)
            break
        grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def expit(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
