"""From a comment to what the classifier reads: normalised text plus link and metadata measures.

``prepare`` does the per-comment work once (cleaning, link detection, counting); the transformers below
are scikit-learn estimators over its output, so the whole model is one inspectable ``Pipeline``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from itertools import chain
from operator import attrgetter

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from . import text as T
from .comment import Comment
from .links import Link, author_url_link, find_links

# Words of any script: \w plus the combining marks of the Indic blocks (Devanagari vowel signs are
# marks, not letters, and a plain \w would cut "हिंदी" into pieces), without the dandas "।" "॥".
WORD_PATTERN = r"[\w\u0300-\u036f\u0900-\u0963\u0966-\u0dff]+"

# Plain `re` with explicit ranges: four times faster than the `regex` module's \p{...} classes here.
_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff]")
_DEVANAGARI = re.compile(r"[\u0904-\u0939\u093d\u0950\u0958-\u0961\u0971-\u097f]")
_UPPER = re.compile(r"[A-Z\u00c0-\u00d6\u00d8-\u00de\u0391-\u03a9\u0410-\u042f]")
_DIGIT = re.compile(r"\d")
# On ASCII text the patterns above come down to these bytes, and deleting bytes is ten times faster than
# collecting matches; half the comments are ASCII.
_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ASCII_UPPER = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_DIGITS = b"0123456789"


@dataclass(frozen=True, slots=True)
class PreparedComment:
    text: str  # normalised, with links, e-mails, phones and numbers as tokens
    cleaned: str  # the content after text.clean: case, tags and links kept (what rule lists read)
    links: tuple[Link, ...]  # links in the content, then the author URL if any
    length: int  # characters of visible text
    letters: int
    latin: int
    devanagari: int
    upper: int
    digits: int
    emails: int
    phones: int  # phone-like numbers
    phone_numbers: tuple[str, ...]  # those phonenumbers knows as real numbers, E.164
    link_chars: int
    longest_run: int
    exclamations: int
    author_url: bool


def prepare(comment: Comment | str) -> PreparedComment:
    """Clean, find links and measure a comment. Linear in its length."""
    if isinstance(comment, str):
        comment = Comment(content=comment)
    raw = T.clean(comment.content)
    own = _own_domain(comment.permalink)
    links = [replace(link, internal=True) if own and link.registered_domain == own and not link.shortener else link
             for link in find_links(raw)]
    # Put a token where each link to elsewhere was: the classifier learns "a link here", not each URL.
    # A link to the blog's own site ("see also my post on your earlier article") is taken out: readers
    # link within a site all the time, and it says nothing about spam.
    pieces, last, link_chars = [], 0, 0
    for link in links:
        pieces.append(raw[last : link.start])
        pieces.append(" " if link.internal else _link_token(link))
        link_chars += 0 if link.internal else link.end - link.start
        last = link.end
    pieces.append(raw[last:])
    visible = T.strip_tags("".join(pieces))
    without_emails, emails = T.replace_emails(visible)
    folded, phones = T.replace_numbers(T.fold(without_emails))
    author_link = author_url_link(T.clean(comment.author_url)) if comment.author_url else None
    if author_link is not None:
        links.append(author_link)
    letters, latin, devanagari, upper, digits = _character_counts(visible)
    return PreparedComment(
        text=T.squeeze(folded),
        cleaned=raw,
        links=tuple(links),
        length=len(visible),
        letters=letters,
        latin=latin,
        devanagari=devanagari,
        upper=upper,
        digits=digits,
        emails=emails,
        phones=len(phones),
        phone_numbers=T.valid_phone_numbers(phones) if phones else (),
        link_chars=link_chars,
        longest_run=T.longest_run(visible),
        exclamations=visible.count("!"),
        author_url=bool(comment.author_url.strip()),
    )


def _character_counts(text: str) -> tuple[int, int, int, int, int]:
    """Letters, Latin letters, Devanagari letters, capitals and digits in ``text``."""
    if text.isascii():
        data = text.encode("ascii")
        letters = len(data) - len(data.translate(None, _ASCII_LETTERS))
        upper = len(data) - len(data.translate(None, _ASCII_UPPER))
        return letters, letters, 0, upper, len(data) - len(data.translate(None, _ASCII_DIGITS))
    return (len(_LETTER.findall(text)), len(_LATIN.findall(text)), len(_DEVANAGARI.findall(text)),
            len(_UPPER.findall(text)), len(_DIGIT.findall(text)))


def _own_domain(permalink: str) -> str:
    """The registered domain of the page the comment is on ("" when unknown)."""
    link = author_url_link(T.clean(permalink)) if permalink else None
    return link.registered_domain if link is not None and not link.ip else ""


def _link_token(link: Link) -> str:
    token = " xurl "
    if link.shortener:
        token += "xshortener "
    if link.obfuscated:
        token += "xobfuscated "
    return token


def external_links(p: PreparedComment) -> list[Link]:
    """The links in the content that lead off the comment's own site."""
    return [link for link in p.links if link.source != "author_url" and not link.internal]


# Names and definitions of the numeric features, in column order. Counts go through log1p so one
# comment with 500 links does not dominate the scale.
META_FEATURES = (
    "links",
    "shortened links",
    "distinct link domains",
    "share of text in links",
    "obfuscated link",
    "IP-address link",
    "e-mail addresses",
    "phone-like numbers",
    "valid phone numbers",
    "share of capitals",
    "length",
    "share of Latin letters",
    "share of Devanagari letters",
    "share of other letters",
    "digits",
    "repeated characters",
    "exclamation marks",
    "author URL",
    "author URL is a shortener",
)


# The counts of a PreparedComment that the measures read, in one getter.
_COUNTS = attrgetter("length", "letters", "latin", "devanagari", "upper", "digits", "emails", "phones", "link_chars",
                     "longest_run", "exclamations", "author_url")


def meta_rows(prepared: list[PreparedComment]) -> np.ndarray:
    """The raw (unscaled) numeric features of prepared comments, one row each in META_FEATURES order. The
    arithmetic is done for all of them at once; each number is the one Python's own arithmetic gives
    (``_log1p``), so a comment's row does not depend on the others."""
    n = len(prepared)
    counts = np.fromiter(chain.from_iterable(map(_COUNTS, prepared)), dtype=np.int64, count=n * 12).reshape(n, 12)
    length, letters, latin, devanagari, upper, digits, emails, phones, link_chars, run, exclamations, author = \
        counts.T
    numbers = np.fromiter(map(len, map(attrgetter("phone_numbers"), prepared)), dtype=np.int64, count=n)
    # Link facts: most comments have no links at all, so these are worked out only for those that do.
    links = np.zeros((n, 6), dtype=np.int64)
    for i in np.fromiter(map(len, map(attrgetter("links"), prepared)), dtype=np.intp, count=n).nonzero()[0].tolist():
        content = external_links(prepared[i])
        links[i] = (len(content), sum(link.shortener for link in content),
                    len({link.registered_domain for link in content}), any(link.obfuscated for link in content),
                    any(link.ip for link in content),
                    any(link.shortener for link in prepared[i].links if link.source == "author_url"))
    shares = np.maximum(letters, 1).astype(np.float64)
    rows = np.empty((n, len(META_FEATURES)), dtype=np.float64)
    rows[:, 0:3] = _log1p(links[:, 0:3])
    rows[:, 3] = link_chars / np.maximum(length + link_chars, 1)
    rows[:, 4:6] = links[:, 3:5]
    rows[:, 6] = _log1p(emails)
    rows[:, 7] = _log1p(phones)
    rows[:, 8] = _log1p(numbers)
    rows[:, 9] = upper / shares
    rows[:, 10] = _log1p(length)
    rows[:, 11] = latin / shares
    rows[:, 12] = devanagari / shares
    rows[:, 13] = (letters - latin - devanagari) / shares
    rows[:, 14] = _log1p(digits)
    rows[:, 15] = _log1p(np.maximum(run - 2, 0))
    rows[:, 16] = _log1p(exclamations)
    rows[:, 17] = author
    rows[:, 18] = links[:, 5]
    return rows


# math.log1p of 0, 1, 2 ...: looked up, the same numbers whatever libm numpy's own log1p would use.
_LOG1P_TABLE = np.array([math.log1p(i) for i in range(4096)])


def _log1p(counts: np.ndarray) -> np.ndarray:
    """``math.log1p`` of each of ``counts`` (integers, not negative)."""
    out = _LOG1P_TABLE[np.minimum(counts, len(_LOG1P_TABLE) - 1)]
    big = counts >= len(_LOG1P_TABLE)
    if big.any():
        out[big] = [math.log1p(c) for c in counts[big].tolist()]
    return out


class PrepareComments(TransformerMixin, BaseEstimator):
    """Comments (``Comment``, mapping with ``content``, or plain text) to ``PreparedComment``s."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return [x if isinstance(x, PreparedComment) else prepare(_as_comment(x)) for x in X]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags


def _as_comment(x) -> Comment | str:
    if isinstance(x, (Comment, str)):
        return x
    return Comment.from_mapping(x)


class PreparedText:
    """Vectorizer preprocessor: the normalised text of a ``PreparedComment``."""

    def __call__(self, prepared: PreparedComment) -> str:
        return prepared.text

    def __eq__(self, other):  # estimator clones compare parameters
        return isinstance(other, PreparedText)

    def __hash__(self):
        return hash(PreparedText)


class MetaFeatures(TransformerMixin, BaseEstimator):
    """The numeric features of META_FEATURES, standardised with the training mean and spread."""

    def fit(self, X, y=None):
        rows = meta_rows(list(X))
        self.mean_ = rows.mean(axis=0)
        scale = rows.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.n_features_in_ = len(META_FEATURES)
        return self

    def transform(self, X):
        check_is_fitted(self, "mean_")
        rows = meta_rows(list(X))
        return sp.csr_matrix((rows - self.mean_) / self.scale_)

    def get_feature_names_out(self, input_features=None):
        return np.array(META_FEATURES, dtype=object)
