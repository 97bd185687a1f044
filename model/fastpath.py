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
from operator import itemgetter
from typing import NamedTuple

import numpy as np
from sklearn.pipeline import Pipeline

from .features import META_FEATURES, WORD_PATTERN, PreparedComment, PreparedText, meta_rows

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


class _Growing:
    """A numpy array (of numbers, or of rows of ``width`` numbers) that grows at its end, for the word store."""

    def __init__(self, dtype, width: int | None = None):
        self.data = np.empty((4096,) if width is None else (4096, width), dtype=dtype)
        self.size = 0

    def extend(self, values) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.empty((max(end, 2 * len(self.data)), *self.data.shape[1:]), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end


class _Batch(NamedTuple):
    """What the words of a batch give, each array in the order of the words."""

    char_columns: np.ndarray  # the scorer's columns of every word's character n-grams, word after word
    char_counts: np.ndarray  # per word: how many of those are its
    tokens: np.ndarray  # every word's tokens for the word vectorizer, as ``_Words.token_ids`` numbers
    token_counts: np.ndarray  # per word: how many of those are its
    key_columns: np.ndarray  # per word: the word vectorizer's column of its key, -1 if it has none
    ids: np.ndarray  # per word: its number in the store, for ``_Words.keys``


class _Words:
    """What each whitespace-separated word gives, computed once per distinct word and kept. Both vectorizers
    see a text word by word: ``char_wb`` cuts each word on its own, and no token of the word vectorizer
    holds a space.

    A word's number indexes flat arrays (its character n-gram columns, its tokens, its key's column), so a
    batch turns its words into numbers with one dictionary lookup each and gathers the rest for all of
    them with a few numpy operations. A word's key is how it reads in an explanation: its tokens ("site."
    and "site" are one word to a reader)."""

    CACHE_SIZE = 200_000  # distinct words; a word costs a dictionary entry, a short string and ~40 numbers

    def __init__(self, words, chars, offset: int):
        self.tokenize = re.compile(words.token_pattern).findall
        self.word_vocabulary = words.vocabulary_
        # The scorer's column of each character n-gram (the vectorizer's, past the word columns), kept so.
        self.char_columns = {gram: column + offset for gram, column in chars.vocabulary_.items()}
        self.char_ngrams = chars.ngram_range
        # A number for every token of the word vectorizer's vocabulary, so that an n-gram of tokens is a
        # number too (``FastScorer._word_grams``); every token outside it has the one after the last.
        self.token_ids: dict[str, int] = {}
        for gram in words.vocabulary_:
            for token in gram.split(" "):
                self.token_ids.setdefault(token, len(self.token_ids))
        self.unknown_token = len(self.token_ids)
        self._clear()

    def _clear(self) -> None:
        self._cache: dict[str, int] = {}
        self.keys: list[str] = []
        self._chars = _Growing(np.int32)
        self._tokens = _Growing(np.intp)  # as a batch indexes with them
        # Per word, one row: where its character columns begin in the array above and how many, the same of
        # its tokens, its key's column (one row, so a batch takes all of them in one operation).
        self._rows = _Growing(np.intp, 5)
        self._kept = (0, 0, 0)  # words, character columns and tokens of the kept words

    def gather(self, words: list[str]) -> _Batch:
        """What ``words`` give. Words not seen before are worked out and, unless too long, kept."""
        self._forget_uncached()
        ids = np.fromiter(map(self._cache.get, words, repeat(-1)), dtype=np.intp, count=len(words))
        missing = (ids < 0).nonzero()[0]
        if len(missing):
            if len(self._cache) + len(missing) > self.CACHE_SIZE:
                self._clear()  # crude, but bounded; a refill costs what the first fill did
                missing = np.arange(len(words))
            ids[missing] = self._add([words[i] for i in missing.tolist()])
        char_starts, char_counts, token_starts, token_counts, key_columns = self._rows.data[ids].T
        return _Batch(_ragged(self._chars.data, char_starts, char_counts), char_counts,
                      _ragged(self._tokens.data, token_starts, token_counts), token_counts,
                      key_columns, ids)

    def _add(self, words: list[str]) -> list[int]:
        """Work out each of ``words`` (some several times over) and give their numbers. Only ordinary words
        are kept, as many as there is room for: a 60 KB "word" would pin its n-grams in memory for good.
        The others are numbered after the kept ones and forgotten at the next batch."""
        distinct = list(dict.fromkeys(words))
        distinct.sort(key=lambda word: len(word) > CACHED_WORD_LENGTH)
        kept = min(sum(len(word) <= CACHED_WORD_LENGTH for word in distinct), self.CACHE_SIZE - len(self._cache))
        first, n_chars, n_tokens = len(self.keys), self._chars.size, self._tokens.size
        numbers = dict(zip(distinct, range(first, first + len(distinct))))
        char_get, token_get, word_get = self.char_columns.get, self.token_ids.get, self.word_vocabulary.get
        columns = [[c for c in map(char_get, _char_wb_grams(word, *self.char_ngrams)) if c is not None]
                   for word in distinct]
        tokens = list(map(self.tokenize, distinct))
        keys = [" ".join(t) or word for t, word in zip(tokens, distinct)]
        char_counts, token_counts = list(map(len, columns)), list(map(len, tokens))
        self._rows.extend(np.array([n_chars + np.cumsum([0, *char_counts[:-1]], dtype=np.intp), char_counts,
                                    n_tokens + np.cumsum([0, *token_counts[:-1]], dtype=np.intp), token_counts,
                                    [word_get(key, -1) for key in keys]], dtype=np.intp).T)
        self._chars.extend(list(chain.from_iterable(columns)))
        self._tokens.extend([token_get(t, self.unknown_token) for t in chain.from_iterable(tokens)])
        self.keys.extend(keys)
        self._cache.update(zip(distinct[:kept], range(first, first + kept)))
        self._kept = (first + kept, n_chars + sum(char_counts[:kept]), n_tokens + sum(token_counts[:kept]))
        return [numbers[word] for word in words]

    def _forget_uncached(self) -> None:
        """Drop the words of the last batch that were too long to keep."""
        n_words, n_chars, n_tokens = self._kept
        if len(self.keys) == n_words:
            return
        del self.keys[n_words:]
        self._rows.size = n_words
        self._chars.size, self._tokens.size = n_chars, n_tokens


def _ragged(flat: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``flat[start : start + count]`` for each start and count, one after the other."""
    ends = counts.cumsum()
    return flat[np.arange(ends[-1] if len(ends) else 0) + (starts - ends + counts).repeat(counts)]


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
        # One column space for both vectorizers, as in the pipeline: words first, then characters.
        self.n_words = len(words.vocabulary_)
        self.words = _Words(words, chars, self.n_words)
        self._index_word_grams(words.vocabulary_)
        self.n_columns = self.n_words + len(chars.vocabulary_)
        self.idf = np.concatenate((words.idf_, chars.idf_)).astype(np.float64)
        coef = np.asarray(regression.coef_[0], dtype=np.float64)
        self.coef = coef[: self.n_columns]
        self.meta_mean = np.asarray(steps["meta"].mean_, dtype=np.float64)
        self.meta_scale = np.asarray(steps["meta"].scale_, dtype=np.float64)
        self.meta_coef = coef[self.n_columns :]
        # How each word column and each measure reads in an explanation.
        names = [TOKEN_NAMES.get(t, t) for t in sorted(words.vocabulary_, key=words.vocabulary_.__getitem__)]
        self._names = np.array(names + list(META_FEATURES), dtype=object)
        # Per measure of each comment of a batch, comment after comment: its comment, and its name's index.
        self._measure_rows = np.arange(BATCH_SIZE).repeat(len(META_FEATURES))
        self._measure_name_ids = np.tile(np.arange(len(names), len(names) + len(META_FEATURES)), BATCH_SIZE)
        self._kinds = np.array(["word", "measure"], dtype=object)

    def score(self, prepared: PreparedComment, top: int = 6) -> Score:
        """Probability of spam, and the ``top`` contributions (largest push either way first)."""
        return self.score_many([prepared], top)[0]

    def score_many(self, prepared: list[PreparedComment], top: int = 6) -> list[Score]:
        """``score`` of each comment, in order."""
        out: list[Score] = []
        for start in range(0, len(prepared), BATCH_SIZE):
            out.extend(self._score_batch(prepared[start : start + BATCH_SIZE], top))
        return out

    def _index_word_grams(self, vocabulary: dict[str, int]) -> None:
        """The word vectorizer's columns by tokens' numbers (``_Words.token_ids``): a list for single
        tokens (-1 for the unknown token); for each longer size, the n-grams as numbers (their tokens'
        numbers as digits in base ``token_base``), sorted, then a number above them all, and their columns
        in that order (-1 last). An n-gram with an unknown token has a number outside the list."""
        token_ids = self.words.token_ids
        self.token_base = len(token_ids) + 1
        if self.token_base ** self.word_ngrams[1] >= 2**63 - 1:
            raise ValueError("the fast path expects the word n-grams to fit in 64 bits as numbers")
        self.unigram_columns = np.full(self.token_base, -1, dtype=np.intp)
        grams: dict[int, list[tuple[int, int]]] = {}
        for gram, column in vocabulary.items():
            number = 0
            for token in gram.split(" "):
                number = number * self.token_base + token_ids[token]
            if " " in gram:
                grams.setdefault(gram.count(" ") + 1, []).append((number, column))
            else:
                self.unigram_columns[number] = column
        self.gram_numbers, self.gram_columns = {}, {}
        for size, pairs in grams.items():
            pairs.sort()
            self.gram_numbers[size] = np.array([number for number, _ in pairs] + [2**63 - 1], dtype=np.int64)
            self.gram_columns[size] = np.array([column for _, column in pairs] + [-1], dtype=np.intp)

    def _word_grams(self, tokens: np.ndarray, token_rows: np.ndarray, size: int) -> np.ndarray:
        """The word vectorizer's column of each n-gram of ``size`` consecutive tokens (-1: none, or the
        n-gram runs from one comment into the next)."""
        count = len(tokens) - size + 1
        numbers = self.gram_numbers.get(size)
        if count <= 0 or numbers is None:
            return np.full(max(count, 0), -1, dtype=np.intp)
        number = tokens[:count]
        for i in range(1, size):
            number = number * self.token_base + tokens[i : i + count]
        at = numbers.searchsorted(number)
        columns = self.gram_columns[size][at]
        columns[(numbers[at] != number) | (token_rows[:count] != token_rows[size - 1 :])] = -1
        return columns

    def _score_batch(self, prepared: list[PreparedComment], top: int) -> list[Score]:
        n = len(prepared)
        split = [p.text.split() for p in prepared]
        words = self.words.gather(list(chain.from_iterable(split)))
        n_words = len(words.ids)
        # Each word's comment (in a batch of one, check()'s, the first: no need to count the words).
        word_rows = (np.arange(n).repeat(np.fromiter(map(len, split), dtype=np.intp, count=n)) if n > 1
                     else np.zeros(n_words, dtype=np.intp))
        # The word n-grams of the batch, unigrams then bigrams ..., each in text order (so within a comment
        # in sklearn's order, which a position in these arrays keeps).
        token_rows = word_rows.repeat(words.token_counts)
        low, high = self.word_ngrams
        gram_rows, gram_columns = [], []
        for size in range(low, high + 1):
            gram_columns.append(self.unigram_columns[words.tokens] if size == 1
                                else self._word_grams(words.tokens, token_rows, size))
            gram_rows.append(token_rows[: len(gram_columns[-1])])
        gram_rows, gram_columns = np.concatenate(gram_rows), np.concatenate(gram_columns)
        known = (gram_columns >= 0).nonzero()[0]
        # Then the character n-grams, word by word.
        word_of = np.arange(n_words).repeat(words.char_counts)
        rows = np.concatenate((gram_rows[known], word_rows[word_of]))
        columns = np.concatenate((gram_columns[known], words.char_columns))
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
        meta = (meta_rows(prepared) - self.meta_mean) / self.meta_scale * self.meta_coef
        decision = self.intercept + parts[0::2] + parts[1::2] + np.add.reduce(meta, axis=1)
        # Platt scaling, as sklearn's _SigmoidCalibration: p = 1 / (1 + exp(a * decision + b)).
        log_odds = (-(self.a * decision + self.b)).tolist()

        # Each word's character share: an n-gram that occurs in several words of a comment is shared out
        # among them by occurrence. The word n-grams' occurrences go to a bin past the last word.
        per_occurrence = (shares / counts)[groups.group]
        word_index = np.empty(len(columns), dtype=np.intp)
        word_index[: len(known)] = n_words
        word_index[len(known) :] = word_of
        word_shares = np.bincount(word_index[groups.order], per_occurrence, minlength=n_words + 1)[:-1]
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
        word_keys = word_rows * self.n_columns + words.key_columns
        target = token_keys.searchsorted(word_keys)
        found = np.concatenate((token_keys, [-2]))[target] == word_keys  # -2: below every word key
        # ... or, for a word with a known n-gram, a candidate of its own, one per comment and reading.
        others: dict[tuple[int, str], int] = {}
        nowhere = n_tokens + len(words.ids)
        missing = (~found).nonzero()[0]
        keys = self.words.keys
        for i, row, number, count in zip(missing.tolist(), word_rows[missing].tolist(), words.ids[missing].tolist(),
                                         words.char_counts[missing].tolist()):
            if count:
                target[i] = n_tokens + others.setdefault((row, keys[number]), len(others))
            else:
                target[i] = nowhere
        n_words = n_tokens + len(others)
        weights = np.bincount(np.concatenate((np.arange(n_tokens), target)),
                              np.concatenate((token_shares, word_shares)), minlength=n_words)[:n_words]

        # Every candidate: tokens, other words, measures; ``rank`` orders a comment's candidates.
        other_rows = np.fromiter(map(itemgetter(0), others), dtype=np.intp, count=len(others))
        rows = np.concatenate((token_rows, other_rows, self._measure_rows[: n * n_measures]))
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

        # The chosen candidates' names: a known word's and a measure's from ``_names``, another word's its key.
        named = len(self._names)
        name_ids = np.concatenate((token_keys % self.n_columns, named + np.arange(len(others)),
                                   self._measure_name_ids[: n * n_measures]))[best]
        features = self._names[np.minimum(name_ids, named - 1)].tolist()
        other_keys = list(others)
        for at in (name_ids >= named).nonzero()[0].tolist():
            key = other_keys[name_ids[at] - named][1]
            features[at] = TOKEN_NAMES.get(key, key)
        kinds = self._kinds[(best >= n_words).view(np.int8)].tolist()
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
