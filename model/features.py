"""From a comment to what the classifier reads: normalised text plus link and metadata measures.

``prepare`` does the per-comment work once (cleaning, link detection, counting); the transformers below
are scikit-learn estimators over its output, so the whole model is one inspectable ``Pipeline``.
"""

from __future__ import annotations

import functools
import math
import operator
import re
import unicodedata
from dataclasses import dataclass, replace
from itertools import chain

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


def _words(*alternatives: str) -> str:
    """One group matching any of ``alternatives`` (regular expressions), in NFKC as the text is: "पढ़"
    is stored as ढ plus a nukta sign."""
    return "(?:" + "|".join(unicodedata.normalize("NFKC", a) for a in alternatives) + ")"


# Asking readers for something that serves the commenter, the commonest comment spam without a link. One
# measure, counted on the folded text (lower case, leetspeak undone):
# - a request (visit, see, watch, check out, look up, listen to, follow, subscribe ...), then "my" or
#   "our" and a thing of theirs within a few words ("visit my blog", "see my new track", "subscribe to our
#   channel"); "follow me", "sub me", "check me out";
# - the same in Hinglish and Hindi, where the thing comes before the verb ("mera channel dekho", "मेरे
#   ब्लॉग को सब्सक्राइब करें");
# - asking for likes rather than saying anything: "like this comment if ...", "thumbs up if", "give it a
#   like", "like 4 like", "sub4sub" (folded: "like xnum1 like", "subasub").
# A request is an ask only when nobody is its subject: "I really like this comment", "we follow our team
# on youtube", "I share my photos with family" are readers telling, not asking (``_told``); in Hindi only
# the imperative counts ("देखें", "सब्सक्राइब करें", not "मेरा बेटा यह वीडियो देखता है").
# Counted, not decided: the classifier learns what it weighs, so a match with nothing else spammy ("see
# my post above") is a push, not a verdict. One measure rather than one per kind, because a
# cross-validation within the training videos preferred it (fewer weights to learn from few examples).
# Every quantifier is bounded, so the scan is linear in the text.
_THINGS = _words(
    "blogs?", "(?:web)?sites?", "web ?pages?", "pages?", "channels?", "videos?", "vids?", "vlogs?", "music", "songs?",
    "tracks?", "mixtapes?", "albums?", "covers?", "playlists?", "profiles?", "accounts?", "shops?", "stores?", "apps?",
    "posts?", "articles?", "photos?", "pictures?", "pics", "streams?", "podcasts?", "products?", "groups?",
    "insta(?:gram)?", "twitter", "facebook", "fb", "youtube", "tiktok", "raps?", "beats?", "art(?:work)?", "stuff")
_REQUESTS = _words(
    "visit", "see", "watch", "check(?: out)?", "look (?:up|at)", "listen to", "hear", "follow", "subscribe(?: to)?",
    "sub(?: to)?", "go to", "view", "read", "join", "like", "share", "click(?: on)?", "download", "support", "try",
    "add", "search(?: for)?", "stop by", "drop by")
_HINGLISH_THINGS = _words("channel", "blog", "videos?", "website", "site", "page", "insta", "youtube", "profile",
                          "post", "gaa?na", "gaa?ne", "songs?")
_HINGLISH_REQUESTS = _words("dekh(?:o|e|en|iye|ie|na| lo)", "visit", "subscribe", "sub", "follow", "like", "share",
                            "padh(?:o|e|en|iye|ie|na)", "join", "check", "sun(?:o|e|en|iye|ie|na)")
_HINDI_MINE = _words("मेरा", "मेरे", "मेरी", "हमारा", "हमारे", "हमारी")
_HINDI_THINGS = _words("ब्लॉग", "ब्लाग", "चैनल", "वीडियो", "विडियो", "वेबसाइट", "साइट", "पेज", "यूट्यूब", "पोस्ट",
                       "गाना", "गाने")
# Imperatives only: a verb stem with an imperative ending (देखें, देखो, देखिए, देखना), or an English loan
# with करें / करो / कीजिए / कर दें / कर लें ("सब्सक्राइब ज़रूर करें"). Devanagari vowel signs are not \w,
# hence \S, spaces and the explicit end.
_HINDI_IMPERATIVE = "(?:ें|ो|िए|िये|िएगा|ना)"
_HINDI_END = r"(?![\w\u0900-\u0963\u0971-\u097f])"
_HINDI_DO = (" (?:" + _words("ज़रूर", "जरूर", "भी") + " )?" + _words(
    "कर" + _HINDI_IMPERATIVE, "करिए", "करिये", "कीजिए", "कीजिये", "कर दो", "कर दें", "कर दीजिए", "कर लो", "कर लें",
    "कर लीजिए") + _HINDI_END)
_HINDI_REQUESTS = (
    "(?:" + _words("देख", "पढ़", "पढ", "सुन") + _HINDI_IMPERATIVE + _HINDI_END
    + "|" + _words("जाएं", "जाएँ", "जाइए", "जाइये") + _HINDI_END
    + "|" + _words("विजिट", "सब्सक्राइब", "फॉलो", "फोलो", "लाइक", "शेयर", "ज्वाइन", "जॉइन") + "(?: को)?" + _HINDI_DO + ")"
)
# Each kind as its own pattern, run only on a text that holds one of the words every match of it holds:
# one pattern of all of them costs 18 us a comment (its branches that open with a look-behind make the
# engine try every branch at every position); these, about 3 us.
_ASKING = (
    (("my", "our"), re.compile(
        rf"\b{_REQUESTS}\b(?:\W{{1,5}}\w{{1,30}}){{0,3}}?\W{{1,5}}(?:my|our)\W{{1,5}}(?:\w{{1,30}}\W{{1,5}}){{0,2}}?{_THINGS}\b")),
    ((" me", " us"), re.compile(r"\b(?:sub(?:scribe)?(?: to)?|follow|add) (?:me|us)\b|\bcheck (?:me|us) out\b")),
    (("mer", "hamar"), re.compile(
        rf"\b(?:mera|mere|meri|hamara|hamare|hamari) (?:\w{{1,30}} ){{0,2}}?{_HINGLISH_THINGS}\b"
        rf"(?:\W{{1,5}}\w{{1,30}}){{0,3}}?\W{{1,5}}{_HINGLISH_REQUESTS}\b")),
    (("मेर", "हमार"), re.compile(
        rf"(?<!\S){_HINDI_MINE} (?:\S{{1,30}} ){{0,2}}?{_HINDI_THINGS}(?: \S{{1,30}}){{0,3}}? {_HINDI_REQUESTS}")),
    (("comment", "thumb", "like", "give", "follow", "sub", "कमेंट"), re.compile(
        r"\b(?:like|thumbs? up|upvote) (?:this|my) comment\b|\bthumbs? up if\b|\blike if (?:you|u)\b"
        r"|\bgive (?:it|this|me) a (?:like|thumbs? up)\b"
        r"|\b(?:like|follow|sub|subscribe) (?:xnum1|for) (?:like|follow|sub|subscribe)\b"
        r"|\b(?:sub|like|follow)a(?:sub|like|follow)\b"
        r"|\b(?:is|iss|es) comment (?:ko )?like\b|इस कमेंट को लाइक" + _HINDI_DO)),
)


def count_asks(text: str) -> int:
    """How many times a folded text asks readers to visit, follow or like the commenter's things."""
    n = 0
    for gate, pattern in _ASKING:
        for word in gate:
            if word in text:
                n += _asks(pattern, text)
                break
    return n


def _asks(pattern: re.Pattern, text: str) -> int:
    """Matches of ``pattern`` that nobody is the subject of. After a told one the search goes on from its
    next character, not its end: in "I'd like you to visit my site" the match at "like" is told, the one at
    "visit" asks. Each match is bounded, so this stays linear."""
    n, position = 0, 0
    while (m := pattern.search(text, position)) is not None:
        if _told(text, m.start()):
            position = m.start() + 1
        else:
            n += 1
            position = max(m.end(), m.start() + 1)
    return n


# Who can be the subject of a request that is then a statement ("I follow my team"), not an ask, and the
# words that can stand between them ("I also really like", "I'm gonna like", "we do follow").
_SUBJECTS = frozenset({"i", "we", "they", "he", "she", "who", "main", "hum"})
_BETWEEN = frozenset({"also", "really", "just", "do", "does", "did", "will", "would", "can", "could", "m", "am",
                      "ll", "d", "ve", "gonna", "wanna", "too", "totally", "definitely", "always", "still", "so",
                      "actually", "truly", "all", "both", "bhi"})
_CLAUSE_END = re.compile(r"[.!?,;:\n।॥|—]")
_WORD = re.compile(r"\w+")


def _told(text: str, start: int) -> bool:
    """Whether a subject pronoun stands before ``start`` in the same clause, with at most a few adverbs or
    auxiliaries between ("I also really like", not "share it with everyone and follow")."""
    before = text[max(0, start - 80):start]
    if start > 80:
        before = before.partition(" ")[2]  # not from the middle of a word: "this" is not "he" + "is"
    ends = [m.end() for m in _CLAUSE_END.finditer(before)]
    words = _WORD.findall(before[ends[-1] if ends else 0:])
    while words and words[-1] in _BETWEEN:
        words.pop()
    return bool(words) and words[-1] in _SUBJECTS


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
    asks: int  # requests to visit, follow or like the commenter's things (count_asks)


def prepare(comment: Comment | str) -> PreparedComment:
    """Clean, find links and measure a comment. Linear in its length."""
    return prepare_many([comment])[0]


def prepare_many(comments: list[Comment | str]) -> list[PreparedComment]:
    """``prepare`` of each comment, in order. The characters of all of them are counted at once."""
    staged = [_stage(c if isinstance(c, Comment) else Comment(content=c)) for c in comments]
    counts = _character_counts([visible for visible, *_ in staged]).tolist()
    return [
        PreparedComment(
            text=(text := T.squeeze(folded)),
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
            author_url=bool(author_url.strip()),
            asks=count_asks(text),
        )
        for (visible, raw, folded, links, link_chars, emails, phones, author_url),
            (letters, latin, devanagari, upper, digits) in zip(staged, counts)
    ]


def _stage(comment: Comment) -> tuple:
    """The per-comment part of ``prepare``: (visible text, cleaned content, folded text, links, characters
    in links to elsewhere, e-mail addresses, phone candidates, author URL)."""
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
    return visible, raw, folded, links, link_chars, emails, phones, comment.author_url


# The classes of characters counted, as bits: the patterns above, one code point at a time.
_CLASSES = (_LETTER, _LATIN, _DEVANAGARI, _UPPER, _DIGIT)
# For each of the 32 combinations of bits, which classes it counts for.
_CLASS_OF_BITS = np.array([[(bits >> i) & 1 for i in range(len(_CLASSES))] for bits in range(32)], dtype=np.int64)


@functools.cache
def _bmp_classes() -> np.ndarray:
    """The bits of every code point below U+10000 (built on first use: 36 ms here, once per process)."""
    chars = "".join(map(chr, range(0x10000)))
    table = np.zeros(0x10000, dtype=np.intp)
    for i, pattern in enumerate(_CLASSES):
        table[[m.start() for m in pattern.finditer(chars)]] |= 1 << i
    return table


def _character_counts(texts: list[str]) -> np.ndarray:
    """Per text: letters, Latin letters, Devanagari letters, capitals and digits. All the texts are read as
    one array of code points: a regular expression per class and per comment cost a fifth of ``prepare``."""
    n = len(texts)
    joined = "".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if joined.isascii():  # most comments: every code is in the table as it is, and none is astral
        bits = _bmp_classes()[codes]
    else:
        bits = _bmp_classes()[np.minimum(codes, 0xFFFF)]
        if codes.max(initial=0) > 0xFFFF:  # emoji, mostly: classified one at a time, by the same patterns
            astral = (codes > 0xFFFF).nonzero()[0]
            bits[astral] = [sum(1 << i for i, pattern in enumerate(_CLASSES) if pattern.match(chr(code)))
                            for code in codes[astral].tolist()]
    if n > 1:  # each text's bits to its own 32 bins
        bits += np.arange(0, 32 * n, 32).repeat(np.fromiter(map(len, texts), dtype=np.intp, count=n))
    return np.bincount(bits, minlength=32 * n).reshape(n, 32) @ _CLASS_OF_BITS


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
    "asks readers to visit, follow or like",
)


def meta_rows(prepared: list[PreparedComment]) -> np.ndarray:
    """The raw (unscaled) numeric features of prepared comments, one row each in META_FEATURES order. Each
    comment gives its counts as one tuple of integers; the arithmetic is then done a column at a time for
    all of them, and gives exactly the numbers Python's own arithmetic gives (``_log1p``), so a comment's
    row does not depend on the others."""
    n = len(prepared)
    if n <= _FEW:
        return np.array([_row(p) for p in prepared], dtype=np.float64).reshape(n, len(META_FEATURES))
    counts = np.fromiter(chain.from_iterable(map(_counts, prepared)), dtype=np.int64, count=n * _N_COUNTS)
    counts = counts.reshape(n, _N_COUNTS)
    rows = np.empty((n, len(META_FEATURES)), dtype=np.float64)
    rows[:, _LOGS] = _log1p(counts[:, : len(_LOGS)])
    rows[:, _FLAGS] = counts[:, len(_LOGS) : -2 * len(_SHARES)]
    rows[:, _SHARES] = counts[:, -2 * len(_SHARES) : -len(_SHARES)] / counts[:, -len(_SHARES) :]
    return rows


# Where each kind of number goes among META_FEATURES: log1p of a count, a yes/no, a share of a whole.
_LOGS = [0, 1, 2, 6, 7, 8, 10, 14, 15, 16, 19]
_FLAGS = [4, 5, 17, 18]
_SHARES = [3, 9, 11, 12, 13]
_N_COUNTS = len(_LOGS) + len(_FLAGS) + 2 * len(_SHARES)
_NO_LINKS = (0, 0, 0)
# Up to this many comments, ``meta_rows`` does the arithmetic in Python a comment at a time: for a single
# check() the dozen numpy calls of the column-wise way cost nearly twice as much (even at about four).
_FEW = 2


def _row(p: PreparedComment) -> list[float]:
    """``meta_rows`` of one comment in plain Python: the same numbers (the log1p table holds math.log1p's)."""
    counts = _counts(p)
    k = len(_SHARES)
    return list(_PLACE([*map(math.log1p, counts[: len(_LOGS)]), *map(float, counts[len(_LOGS) : -2 * k]),
                        *map(operator.truediv, counts[-2 * k : -k], counts[-k:])]))


# Where each of those numbers goes among META_FEATURES.
_PLACE = operator.itemgetter(*map([*_LOGS, *_FLAGS, *_SHARES].index, range(len(META_FEATURES))))


def _counts(p: PreparedComment) -> tuple[int, ...]:
    """The integers ``meta_rows`` reads of one comment: for _LOGS, for _FLAGS, then the parts and the wholes
    of _SHARES (a whole is at least 1)."""
    if p.links:
        content = external_links(p)
        links = (len(content), sum(link.shortener for link in content), len({link.registered_domain for link in content}))
        flags = (any(link.obfuscated for link in content), any(link.ip for link in content), p.author_url,
                 any(link.shortener for link in p.links if link.source == "author_url"))
    else:
        links, flags = _NO_LINKS, (False, False, p.author_url, False)
    letters = max(p.letters, 1)
    return (*links, p.emails, p.phones, len(p.phone_numbers), p.length, p.digits, max(p.longest_run - 2, 0),
            p.exclamations, p.asks, *flags,
            p.link_chars, p.upper, p.latin, p.devanagari, p.letters - p.latin - p.devanagari,
            max(p.length + p.link_chars, 1), letters, letters, letters, letters)


# math.log1p of 0, 1, 2 ...: looked up, the same numbers whatever libm numpy's own log1p would use.
_LOG1P_TABLE = np.array([math.log1p(i) for i in range(4096)])


def _log1p(counts: np.ndarray) -> np.ndarray:
    """``math.log1p`` of each of ``counts`` (integers, not negative)."""
    out = _LOG1P_TABLE[np.minimum(counts, len(_LOG1P_TABLE) - 1)]
    if counts.max(initial=0) >= len(_LOG1P_TABLE):
        big = counts >= len(_LOG1P_TABLE)
        out[big] = [math.log1p(c) for c in counts[big].tolist()]
    return out


class PrepareComments(TransformerMixin, BaseEstimator):
    """Comments (``Comment``, mapping with ``content``, or plain text) to ``PreparedComment``s."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = list(X)
        todo = [i for i, x in enumerate(X) if not isinstance(x, PreparedComment)]
        for i, p in zip(todo, prepare_many([_as_comment(X[i]) for i in todo])):
            X[i] = p
        return X

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
