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
of a word never change: they are computed once per distinct word and kept (``_Words``), and so are its
tokens for the word vectorizer, since no token holds a space.

tests/test_fastpath.py holds it to the pipeline's probabilities within 1e-9, and a batch to each comment
scored alone.
"""

from __future__ import annotations

import functools
import math
import re
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import NamedTuple

import numpy as np
from sklearn.pipeline import Pipeline

from .features import META_FEATURES, WORD_PATTERN, PreparedComment, PreparedText, meta_row

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


# What Contribution._make does, called from C: half the cost of Contribution(...) a contribution.
_new_contribution = functools.partial(tuple.__new__, Contribution)


class _Word(NamedTuple):
    """What the scorer needs of one whitespace-separated word. Both vectorizers see a text word by word:
    ``char_wb`` cuts each word on its own, and no token of the word vectorizer holds a space."""

    columns: np.ndarray  # the scorer's columns of its character n-grams, one entry per occurrence
    tokens: tuple[str, ...]  # its tokens for the word vectorizer
    token_columns: tuple[int, ...]  # their columns, -1 for a token outside the vocabulary
    key: str  # how it reads in an explanation: its tokens ("site." and "site" are one word to a reader)
    key_column: int  # the word vectorizer's column of ``key``, -1 if it has none


class _Words:
    """What each word gives, computed once per distinct word and kept."""

    CACHE_SIZE = 200_000  # distinct words; an entry is a small int array and a few short strings

    def __init__(self, words, chars, offset: int):
        self.tokenize = re.compile(words.token_pattern).findall
        self.word_vocabulary = words.vocabulary_
        self.char_vocabulary = chars.vocabulary_
        self.char_ngrams = chars.ngram_range
        self.offset = offset  # of the character vectorizer's first column among the scorer's
        self._cache: dict[str, _Word] = {}

    def lookup(self, words: list[str]) -> list[_Word]:
        entries = list(map(self._cache.get, words))
        if None in entries:
            entries = [entry or self._entry(word) for word, entry in zip(words, entries)]
        return entries

    def _entry(self, word: str) -> _Word:
        get = self.char_vocabulary.get
        columns = np.array([c for c in map(get, _char_wb_grams(word, *self.char_ngrams)) if c is not None],
                           dtype=np.intp) + self.offset
        tokens = tuple(self.tokenize(word))
        key = " ".join(tokens) or word
        get = self.word_vocabulary.get
        entry = _Word(columns, tokens, tuple(get(t, -1) for t in tokens), key, get(key, -1))
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
    starts: np.ndarray  # per pair: where its occurrences begin in that order
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
    return _Groups(order, new.cumsum() - 1, starts, combined[starts])


def _stable_order(key: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` for integer keys in [0, bound). When each key and its position
    fit in one int64 together, sorting those numbers gives the same order several times faster."""
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
                or words.token_pattern != WORD_PATTERN or not isinstance(words.preprocessor, PreparedText)):
            # Then its analyzer is: the prepared text, cut into WORD_PATTERN tokens, into n-grams.
            raise ValueError("the fast path expects a word vectorizer of WORD_PATTERN tokens over PreparedText")
        if chars.analyzer != "char_wb" or not isinstance(chars.preprocessor, PreparedText):
            raise ValueError("the fast path expects a char_wb vectorizer over PreparedText")
        self.word_ngrams = words.ngram_range
        self.word_vocabulary = words.vocabulary_
        # One column space for both vectorizers, as in the pipeline: words first, then characters.
        self.n_words = len(words.vocabulary_)
        self.words = _Words(words, chars, self.n_words)
        self.n_columns = self.n_words + len(chars.vocabulary_)
        self.idf = np.concatenate((words.idf_, chars.idf_)).astype(np.float64)
        coef = np.asarray(regression.coef_[0], dtype=np.float64)
        self.coef = coef[: self.n_columns]
        self.meta_mean = np.asarray(steps["meta"].mean_, dtype=np.float64)
        self.meta_scale = np.asarray(steps["meta"].scale_, dtype=np.float64)
        self.meta_coef = coef[self.n_columns :]
        self.names = [TOKEN_NAMES.get(t, t) for t in sorted(words.vocabulary_, key=words.vocabulary_.__getitem__)]

    def score(self, prepared: PreparedComment, top: int = 6) -> Score:
        """Probability of spam, and the ``top`` contributions (largest push either way first)."""
        return self.score_many([prepared], top)[0]

    def score_many(self, prepared: list[PreparedComment], top: int = 6) -> list[Score]:
        """``score`` of each comment, in order."""
        out: list[Score] = []
        for start in range(0, len(prepared), BATCH_SIZE):
            out.extend(self._score_batch(prepared[start : start + BATCH_SIZE], top))
        return out

    def _score_batch(self, prepared: list[PreparedComment], top: int) -> list[Score]:
        n = len(prepared)
        split = [p.text.split() for p in prepared]
        words = self.words.lookup(list(chain.from_iterable(split)))
        word_rows = np.arange(n).repeat(np.fromiter(map(len, split), dtype=np.intp, count=n))
        # The word n-grams of the batch, unigrams then bigrams ..., each in text order (so within a comment
        # in sklearn's order, which a position in these arrays keeps); one made across two comments is dropped.
        tokens = list(chain.from_iterable(map(attrgetter("tokens"), words)))
        token_counts = np.fromiter(map(len, map(attrgetter("tokens"), words)), dtype=np.intp, count=len(words))
        token_rows = word_rows.repeat(token_counts)
        low, high = self.word_ngrams
        gram_rows, gram_columns = [], []
        if low == 1:
            gram_rows.append(token_rows)
            token_columns = chain.from_iterable(map(attrgetter("token_columns"), words))
            gram_columns.append(np.fromiter(token_columns, dtype=np.intp, count=len(tokens)))
        for size in range(max(low, 2), high + 1):
            grams = list(map(" ".join, zip(*[tokens[i:] for i in range(size)])))
            columns = np.fromiter(map(self.word_vocabulary.get, grams, repeat(-1)), dtype=np.intp, count=len(grams))
            rows = token_rows[: len(grams)]
            columns[rows != token_rows[size - 1 :]] = -1
            gram_rows.append(rows)
            gram_columns.append(columns)
        gram_rows, gram_columns = np.concatenate(gram_rows), np.concatenate(gram_columns)
        known = (gram_columns >= 0).nonzero()[0]
        # Then the character n-grams, word by word.
        word_lengths = np.fromiter(map(len, map(attrgetter("columns"), words)), dtype=np.intp, count=len(words))
        word_of = np.arange(len(words)).repeat(word_lengths)
        rows = np.concatenate((gram_rows[known], word_rows[word_of]))
        columns = np.concatenate((gram_columns[known], *map(attrgetter("columns"), words)))
        groups = _group(rows, columns, n, self.n_columns)
        first = groups.order[groups.starts]
        group_rows, group_columns = rows[first], columns[first]

        # Sublinear tf-idf, l2-normalised per comment and vectorizer (part 0: words, 1: characters).
        counts = np.bincount(groups.group)
        part = 2 * group_rows + (group_columns >= self.n_words)
        values = (1.0 + np.log(counts)) * self.idf[group_columns]
        norms = np.sqrt(np.bincount(part, values * values, minlength=2 * n))
        shares = values * self.coef[group_columns] / norms[part]
        parts = np.bincount(part, shares, minlength=2 * n)
        raw = np.fromiter(chain.from_iterable(map(meta_row, prepared)), dtype=np.float64,
                          count=n * len(META_FEATURES))
        meta = (raw.reshape(n, -1) - self.meta_mean) / self.meta_scale * self.meta_coef
        decision = self.intercept + parts[0::2] + parts[1::2] + np.add.reduce(meta, axis=1)
        # Platt scaling, as sklearn's _SigmoidCalibration: p = 1 / (1 + exp(a * decision + b)).
        log_odds = (-(self.a * decision + self.b)).tolist()

        # Each word's character share: an n-gram that occurs in several words of a comment is shared out
        # among them by occurrence. The word n-grams' occurrences go to a bin past the last word.
        per_occurrence = (shares / counts)[groups.group]
        word_index = np.empty(len(columns), dtype=np.intp)
        word_index[: len(known)] = len(words)
        word_index[len(known) :] = word_of
        word_shares = np.bincount(word_index[groups.order], per_occurrence, minlength=len(words) + 1)[:-1]
        token_groups = (group_columns < self.n_words).nonzero()[0]
        # A word n-gram's first occurrence (its position among the occurrences, all of them word n-grams
        # before any character n-gram) orders it among its comment's.
        contributions = self._explain(groups.combined[token_groups], group_rows[token_groups], shares[token_groups],
                                      first[token_groups], len(known), words, word_rows, word_shares, meta, top)
        return list(map(Score, map(expit, log_odds), log_odds, contributions))

    def _explain(self, token_keys, token_rows, token_shares, token_rank, rank_bound, words, word_rows, word_shares,
                 meta, top):
        """The ``top`` readable contributions of each comment, on the calibrated log-odds scale. All of
        them, with the intercept's share, add up to the log-odds.

        A comment's candidates, in order: its known words and phrases as they first occur (``token_keys``
        is row * n_columns + column, ascending; ``token_rank``, below ``rank_bound``, orders a comment's),
        each other word as it first occurs, then the measures. Each word's character share goes to the
        word or phrase that reads the same, after that one's own share. The largest push comes first, the
        earlier candidate on a tie."""
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
        missing = (~found).nonzero()[0]
        for i, row in zip(missing.tolist(), word_rows[missing].tolist()):
            word = words[i]
            if len(word.columns):
                target[i] = n_tokens + others.setdefault((row, word.key), len(others))
            else:
                target[i] = nowhere
        n_words = n_tokens + len(others)
        weights = np.bincount(np.concatenate((np.arange(n_tokens), target)),
                              np.concatenate((token_shares, word_shares)), minlength=n_words)[:n_words]

        # Every candidate: tokens, other words, measures; ``rank`` orders a comment's candidates.
        other_rows = np.fromiter(map(itemgetter(0), others), dtype=np.intp, count=len(others))
        rows = np.concatenate((token_rows, other_rows, np.arange(n).repeat(n_measures)))
        weights = np.concatenate((weights, meta.ravel()))
        rank = np.concatenate((token_rank, rank_bound + np.arange(len(others) + n * n_measures)))
        # Only a candidate that pushes at least as hard as its comment's top-th measure can make the top.
        magnitude = np.abs(weights)
        magnitude[:n_words][weights[:n_words] == 0] = -1.0  # a word that pushes neither way is no candidate
        floor = np.sort(np.abs(meta), axis=1)[:, -top] if top <= n_measures else np.zeros(n)
        keep = (magnitude >= floor[rows]).nonzero()[0]
        order = keep[np.lexsort((rank[keep], -magnitude[keep], rows[keep]))]
        ranked = rows[order]
        best = order[np.arange(len(order)) - ranked.searchsorted(ranked) < top]

        names, token_columns = self.names, (token_keys % self.n_columns).tolist()
        other_names = [TOKEN_NAMES.get(key, key) for _, key in others]
        features = [names[token_columns[i]] if i < n_tokens else other_names[i - n_tokens] if i < n_words
                    else META_FEATURES[(i - n_words) % n_measures] for i in best.tolist()]
        kinds = ["word" if i < n_words else "measure" for i in best.tolist()]
        contributions = list(map(_new_contribution, zip(features, kinds, (weights[best] * -self.a).tolist())))
        ends = np.bincount(rows[best], minlength=n).cumsum().tolist()
        return [tuple(contributions[start:end]) for start, end in zip([0, *ends], ends)]


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
