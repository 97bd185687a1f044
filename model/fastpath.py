"""Score comments without scikit-learn's per-call overhead, with the same probabilities.

A fitted pipeline is a linear function of tf-idf weights and standardised measures followed by Platt
scaling. ``FastScorer`` reads those numbers out of the fitted estimators once and evaluates the same
function directly, a batch of comments at a time: the n-gram occurrences of the whole batch become flat
arrays of (comment, column), and the tf-idf arithmetic is a few numpy operations over all of them. Python
does only what is per comment by nature: cutting the text into n-grams and building the result.

One comment is a batch of one. There is one implementation, and every sum runs over one comment's own
numbers in an order fixed by that comment alone, so a comment scores exactly the same alone or in any
batch.

Because it keeps each feature's share of the score it also says which features pushed the probability
most. sklearn's ``char_wb`` analyzer cuts each whitespace-separated word on its own, so the n-gram columns
of a word never change: they are computed once per distinct word and kept (``_CharColumns``).

tests/test_fastpath.py holds it to the pipeline's probabilities within 1e-9, and a batch to each comment
scored alone.
"""

from __future__ import annotations

import math
import re
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import NamedTuple

import numpy as np
from sklearn.pipeline import Pipeline

from .features import META_FEATURES, WORD_PATTERN, PreparedComment, PreparedText, meta_row

_WORD = re.compile(WORD_PATTERN)
# Words up to this long are cached per word; longer ones (junk, or an attack on memory) are not.
CACHED_WORD_LENGTH = 64
# Comments scored in one set of arrays: enough to spread numpy's per-call cost thin, few enough that the
# arrays (about 300 n-gram occurrences a comment) stay in the processor's cache.
BATCH_SIZE = 512

# How the tokens that stand for things read in an explanation.
TOKEN_NAMES = {
    "xurl": "a link",
    "xshortener": "a shortened link",
    "xobfuscated": "a disguised link",
    "xemail": "an e-mail address",
    "xphone": "a phone number",
}

# Named tuples rather than frozen dataclasses: a batch builds seven per comment, and a frozen dataclass's
# __init__ costs more than twice a tuple's.


class Contribution(NamedTuple):
    """One feature's push on the log-odds of spam (positive: towards spam)."""

    feature: str
    kind: str  # "word" or "measure"
    weight: float


class Score(NamedTuple):
    probability: float
    log_odds: float  # the calibrated probability's log-odds
    contributions: tuple[Contribution, ...]  # largest |weight| first, at most ``top``


class _Word(NamedTuple):
    """What the scorer needs of one whitespace-separated word."""

    columns: np.ndarray  # the scorer's columns of its character n-grams, one entry per occurrence
    key: str  # how it reads in an explanation: its tokens ("site." and "site" are one word to a reader)
    key_column: int  # the word vectorizer's column of ``key``, -1 if it has none


class _CharColumns:
    """A fitted ``char_wb`` TfidfVectorizer, evaluated word by word with a cache of what each word gives."""

    CACHE_SIZE = 200_000  # distinct words; a cache entry is a small int array and a string

    def __init__(self, vectorizer, offset: int, word_vocabulary: dict[str, int]):
        if vectorizer.analyzer != "char_wb" or not isinstance(vectorizer.preprocessor, PreparedText):
            raise ValueError("the fast path expects a char_wb vectorizer over PreparedText")
        self.vocabulary = vectorizer.vocabulary_
        self.offset = offset  # of the vectorizer's first column among the scorer's
        self.word_vocabulary = word_vocabulary
        self.low, self.high = vectorizer.ngram_range
        self._cache: dict[str, _Word] = {}

    def lookup(self, words: list[str]) -> list[_Word]:
        entries = list(map(self._cache.get, words))
        if None in entries:
            entries = [entry or self._entry(word) for word, entry in zip(words, entries)]
        return entries

    def _entry(self, word: str) -> _Word:
        get = self.vocabulary.get
        columns = np.array([c for c in map(get, _char_wb_grams(word, self.low, self.high)) if c is not None],
                           dtype=np.intp) + self.offset
        key = " ".join(_WORD.findall(word)) or word
        entry = _Word(columns, key, self.word_vocabulary.get(key, -1))
        # Only ordinary words are kept: a 60 KB "word" would pin its n-grams in memory for good.
        if len(word) <= CACHED_WORD_LENGTH:
            if len(self._cache) >= self.CACHE_SIZE:
                self._cache.clear()  # crude, but bounded; a refill costs what the first fill did
            self._cache[word] = entry
        return entry


class _Groups(NamedTuple):
    """Occurrences of (row, key) pairs gathered into the distinct pairs, in (row, key) order."""

    order: np.ndarray  # the occurrences' positions sorted by (row, key), equal pairs in their order
    group: np.ndarray  # for each occurrence in that order, the index of its pair
    first: np.ndarray  # per pair: the position of its first occurrence
    combined: np.ndarray  # per pair: row * n_keys + key


def _group(rows: np.ndarray, keys: np.ndarray, n_rows: int, n_keys: int) -> _Groups:
    """The distinct (row, key) pairs among the occurrences."""
    combined = rows * n_keys + keys
    order = _stable_order(combined, n_rows * n_keys)
    combined = combined[order]
    new = np.empty(len(combined), dtype=bool)
    new[:1] = True
    np.not_equal(combined[1:], combined[:-1], out=new[1:])
    starts = new.nonzero()[0]
    return _Groups(order, new.cumsum() - 1, order[starts], combined[starts])


def _stable_order(key: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` for integer keys in [0, bound). When each key and its position
    fit in one int64 together, sorting those numbers gives the same order three times faster."""
    shift = max(len(key) - 1, 0).bit_length()
    if bound.bit_length() + shift > 63:
        return np.argsort(key, kind="stable")
    packed = (key << shift) | np.arange(len(key))
    packed.sort()
    return packed & ((1 << shift) - 1)


class FastScorer:
    """Evaluates a fitted spamgate pipeline on prepared comments."""

    def __init__(self, pipeline: Pipeline):
        steps = dict(pipeline.named_steps["features"].transformer_list)
        calibrated = pipeline.named_steps["classifier"].calibrated_classifiers_
        if len(calibrated) != 1:
            raise ValueError("the fast path expects CalibratedClassifierCV(ensemble=False)")
        regression = calibrated[0].estimator
        self.intercept = float(regression.intercept_[0])
        sigmoid = calibrated[0].calibrators[0]
        self.a, self.b = float(sigmoid.a_), float(sigmoid.b_)
        words, chars = steps["words"], steps["chars"]
        for vectorizer in (words, chars):
            if vectorizer.norm != "l2" or not vectorizer.use_idf or not vectorizer.sublinear_tf:
                raise ValueError("the fast path expects l2-normalised sublinear tf-idf")
        if (words.analyzer != "word" or words.tokenizer is not None or words.stop_words is not None
                or not isinstance(words.preprocessor, PreparedText)):
            # Then its analyzer is: the prepared text, cut by token_pattern, into n-grams.
            raise ValueError("the fast path expects a word vectorizer over PreparedText with no stop words")
        self.tokenize = re.compile(words.token_pattern).findall
        self.word_ngrams = words.ngram_range
        self.word_vocabulary = words.vocabulary_
        # One column space for both vectorizers, as in the pipeline: words first, then characters.
        self.n_words = len(words.vocabulary_)
        self.chars = _CharColumns(chars, self.n_words, words.vocabulary_)
        self.n_columns = self.n_words + len(chars.vocabulary_)
        self.idf = np.concatenate((words.idf_, chars.idf_)).astype(np.float64)
        coef = np.asarray(regression.coef_[0], dtype=np.float64)
        self.coef = coef[: self.n_columns]
        self.meta_mean = np.asarray(steps["meta"].mean_, dtype=np.float64)
        self.meta_scale = np.asarray(steps["meta"].scale_, dtype=np.float64)
        self.meta_coef = coef[self.n_columns :]
        self.names = np.array([TOKEN_NAMES.get(t, t) for t in sorted(words.vocabulary_, key=words.vocabulary_.__getitem__)],
                              dtype=object)

    def score(self, prepared: PreparedComment, top: int = 6) -> Score:
        """Probability of spam, and the ``top`` contributions (largest push either way first)."""
        return self.score_many([prepared], top)[0]

    def score_many(self, prepared: list[PreparedComment], top: int = 6) -> list[Score]:
        """``score`` of each comment, in order."""
        out: list[Score] = []
        for start in range(0, len(prepared), BATCH_SIZE):
            out.extend(self._score_batch(prepared[start : start + BATCH_SIZE], top))
        return out

    def word_grams(self, text: str) -> list[str]:
        """The n-grams sklearn's word analyzer makes of a text: all unigrams, then all bigrams, ..."""
        tokens = self.tokenize(text)
        low, high = self.word_ngrams
        grams = tokens if low == 1 else []
        for n in range(max(low, 2), high + 1):
            grams = grams + list(map(" ".join, zip(*[tokens[i:] for i in range(n)])))
        return grams

    def _score_batch(self, prepared: list[PreparedComment], top: int) -> list[Score]:
        n = len(prepared)
        texts = [p.text for p in prepared]
        # Every n-gram occurrence of the batch, comment after comment: first the word n-grams (each
        # comment's in sklearn's order), then the character n-grams, word by word.
        grams = list(map(self.word_grams, texts))
        gram_rows = np.arange(n).repeat(np.fromiter(map(len, grams), dtype=np.intp, count=n))
        gram_columns = np.fromiter(map(self.word_vocabulary.get, chain.from_iterable(grams), repeat(-1)),
                                   dtype=np.intp, count=len(gram_rows))
        known = (gram_columns >= 0).nonzero()[0]
        split = [t.split() for t in texts]
        words = self.chars.lookup(list(chain.from_iterable(split)))
        word_rows = np.arange(n).repeat(np.fromiter(map(len, split), dtype=np.intp, count=n))
        word_lengths = np.fromiter(map(len, map(attrgetter("columns"), words)), dtype=np.intp, count=len(words))
        word_of = np.arange(len(words)).repeat(word_lengths)
        rows = np.concatenate((gram_rows[known], word_rows[word_of]))
        columns = np.concatenate((gram_columns[known], *map(attrgetter("columns"), words)))
        groups = _group(rows, columns, n, self.n_columns)
        group_rows, group_columns = rows[groups.first], columns[groups.first]

        # Sublinear tf-idf, l2-normalised per comment and vectorizer (part 0: words, 1: characters).
        counts = np.bincount(groups.group)
        part = 2 * group_rows + (group_columns >= self.n_words)
        values = (1.0 + np.log(counts)) * self.idf[group_columns]
        norms = np.sqrt(np.bincount(part, values * values, minlength=2 * n))
        shares = values * self.coef[group_columns] / norms[part]
        parts = np.bincount(part, shares, minlength=2 * n)
        raw = np.fromiter(chain.from_iterable(map(meta_row, prepared)), dtype=np.float64, count=n * len(META_FEATURES))
        meta = (raw.reshape(n, -1) - self.meta_mean) / self.meta_scale * self.meta_coef
        decision = self.intercept + parts[0::2] + parts[1::2] + meta.sum(axis=1)
        # Platt scaling, as sklearn's _SigmoidCalibration: p = 1 / (1 + exp(a * decision + b)).
        log_odds = (-(self.a * decision + self.b)).tolist()

        # Each word's character share: an n-gram that occurs in several words of a comment is shared out
        # among them by occurrence. The word n-grams' occurrences go to a bin past the last word.
        per_occurrence = (shares / counts)[groups.group]
        word_index = np.concatenate((len(words) + np.zeros_like(known), word_of))[groups.order]
        word_shares = np.bincount(word_index, per_occurrence, minlength=len(words) + 1)[:-1]
        tokens = (group_columns < self.n_words).nonzero()[0]
        contributions = self._explain(
            groups.combined[tokens], shares[tokens], groups.first[tokens], len(columns), words, word_rows, word_shares,
            meta, top)
        return list(map(Score, map(expit, log_odds), log_odds, contributions))

    def _explain(self, token_keys, token_shares, token_first, n_occurrences, words, word_rows, word_shares, meta, top):
        """The ``top`` readable contributions of each comment, on the calibrated log-odds scale. All of
        them, with the intercept's share, add up to the log-odds.

        A comment's candidates, in order: its known words and phrases as they first occur (``token_keys``
        is row * n_columns + column, ascending; ``token_first`` the first occurrence's position among
        ``n_occurrences``), each other word as it first occurs, then the measures. Each word's character share goes to the word or phrase that reads the same, after that
        one's own share. The largest push comes first, the earlier candidate on a tie."""
        n, n_tokens, n_measures = len(meta), len(token_keys), meta.shape[1]
        # Where each word's share goes: the known word or phrase of its comment that reads the same (the
        # word's own tokens, so among the comment's n-grams whenever it is in the vocabulary) ...
        key_columns = np.fromiter(map(attrgetter("key_column"), words), dtype=np.intp, count=len(words))
        word_keys = word_rows * self.n_columns + key_columns
        target = token_keys.searchsorted(word_keys)
        found = np.concatenate((token_keys, [-2]))[target] == word_keys  # -2: below every word key
        # ... or, for a word with a known n-gram, a candidate of its own, one per comment and reading.
        others: dict[tuple[int, str], int] = {}
        nowhere = n_tokens + len(words)
        for i in (~found).nonzero()[0].tolist():
            word = words[i]
            target[i] = n_tokens + others.setdefault((int(word_rows[i]), word.key), len(others)) if len(word.columns) \
                else nowhere
        n_words = n_tokens + len(others)
        weights = np.bincount(np.concatenate((np.arange(n_tokens), target)), np.concatenate((token_shares, word_shares)),
                              minlength=n_words)[:n_words]

        # Every candidate: tokens, other words, measures; ``rank`` orders a comment's candidates.
        rows = np.concatenate((token_keys // self.n_columns, np.fromiter(map(itemgetter(0), others), np.intp, len(others)),
                               np.arange(n).repeat(n_measures)))
        weights = np.concatenate((weights, meta.ravel()))
        rank = np.concatenate((token_first, n_occurrences + np.arange(len(others) + n * n_measures)))
        # Only a candidate that pushes at least as hard as its comment's top-th measure can make the top.
        magnitude = np.abs(weights)
        floor = -np.partition(-np.abs(meta), top - 1, axis=1)[:, top - 1] if top <= n_measures else np.zeros(n)
        keep = ((magnitude >= floor[rows]) & ((weights != 0) | (np.arange(len(weights)) >= n_words))).nonzero()[0]
        order = keep[np.lexsort((rank[keep], -magnitude[keep], rows[keep]))]
        ranked = rows[order]
        best = order[np.arange(len(order)) - ranked.searchsorted(ranked) < top]

        out: list[list[Contribution]] = [[] for _ in range(n)]
        other_names = [TOKEN_NAMES.get(key, key) for _, key in others]
        scale = -self.a
        for i, row, weight in zip(best.tolist(), rows[best].tolist(), weights[best].tolist()):
            if i < n_tokens:
                contribution = Contribution(self.names[token_keys[i] % self.n_columns], "word", weight * scale)
            elif i < n_words:
                contribution = Contribution(other_names[i - n_tokens], "word", weight * scale)
            else:
                contribution = Contribution(META_FEATURES[(i - n_words) % n_measures], "measure", weight * scale)
            out[row].append(contribution)
        return list(map(tuple, out))


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
