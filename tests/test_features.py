import math

import numpy as np
import pytest

from model.comment import Comment
from model.features import META_FEATURES, external_links, meta_rows, prepare


def measures_one_by_one(p) -> list[float]:
    """META_FEATURES of one comment, the obvious way."""
    content_links = external_links(p)
    author = [link for link in p.links if link.source == "author_url"]
    letters = max(p.letters, 1)
    return [
        math.log1p(len(content_links)),
        math.log1p(sum(link.shortener for link in content_links)),
        math.log1p(len({link.registered_domain for link in content_links})),
        p.link_chars / max(p.length + p.link_chars, 1),
        float(any(link.obfuscated for link in content_links)),
        float(any(link.ip for link in content_links)),
        math.log1p(p.emails),
        math.log1p(p.phones),
        math.log1p(len(p.phone_numbers)),
        p.upper / letters,
        math.log1p(p.length),
        p.latin / letters,
        p.devanagari / letters,
        (p.letters - p.latin - p.devanagari) / letters,
        math.log1p(p.digits),
        math.log1p(max(p.longest_run - 2, 0)),
        math.log1p(p.exclamations),
        float(p.author_url),
        float(any(link.shortener for link in author)),
        math.log1p(p.asks),
    ]


ODD = [
    Comment(content=""),
    Comment(content="Visit bit.ly/abc, bit.ly/abc and 1.2.3.4/x or evil[.]com!!! Call +91 98765 43210 or a@b.com",
            author_url="tinyurl.com/zz", permalink="https://blog.example.com/p"),
    Comment(content="see https://blog.example.com/other and https://elsewhere.org", permalink="https://blog.example.com/p"),
    Comment(content="हिंदी में लिखा है, ABC def 123 " + "wow " * 2000 + "!!!!!!!!"),  # longer than the log1p table
    Comment(content="a" * 10_000),
]


def test_measures_of_a_batch_are_exactly_those_of_each_comment_alone(examples):
    prepared = [prepare(Comment.from_mapping(ex.comment)) for ex in examples[::7]] + [prepare(c) for c in ODD]
    rows = meta_rows(prepared)
    assert rows.shape == (len(prepared), len(META_FEATURES))
    assert rows.tolist() == [measures_one_by_one(p) for p in prepared]


def test_measures_of_a_few_comments_are_exactly_those_of_a_batch(examples):
    # A batch of one or two takes the measures a comment at a time in Python, not a column at a time.
    prepared = [prepare(Comment.from_mapping(ex.comment)) for ex in examples] + [prepare(c) for c in ODD]
    rows = meta_rows(prepared).tolist()
    assert [meta_rows([p]).tolist()[0] for p in prepared] == rows
    assert sum((meta_rows(prepared[i : i + 2]).tolist() for i in range(0, len(prepared), 2)), []) == rows


@pytest.mark.parametrize("comment", ODD, ids=range(len(ODD)))
def test_measures_of_odd_comments_are_the_obvious_ones(comment):
    p = prepare(comment)
    assert meta_rows([p]).tolist() == [measures_one_by_one(p)]


def test_no_comments_have_no_measures():
    assert meta_rows([]).shape == (0, len(META_FEATURES))
    assert np.isfinite(meta_rows([prepare("x")])).all()


def counts_one_by_one(text: str) -> list[int]:
    """Letters, Latin letters, Devanagari letters, capitals and digits, the obvious way."""
    from model import features as F

    return [len(pattern.findall(text)) for pattern in (F._LETTER, F._LATIN, F._DEVANAGARI, F._UPPER, F._DIGIT)]


# Short neighbours and empty texts (whose counts could slip into the next one's), other scripts, astral
# characters (emoji, mathematical letters), a lone surrogate, digits of other scripts, a long text.
TEXTS = ["aa", "a", "", "ab", "bb", "", "", "हिंदी में लिखा है।।", "ÀÉÎ õü ΑΒΓ абв ЖЖЖ", "😀😀😀 𝐛𝐨𝐥𝐝 𝟏𝟐𝟑 𠀀",
         "\ud800\ud800 x", "1234567890 ١٢٣ ½²", "Soooo GOOD!!!!!", "x" * 5000, "!"]


def test_characters_of_a_batch_are_counted_as_each_text_alone():
    from model.features import _character_counts

    assert _character_counts(TEXTS).tolist() == [counts_one_by_one(t) for t in TEXTS]
    assert _character_counts(TEXTS[::-1]).tolist() == [counts_one_by_one(t) for t in TEXTS[::-1]]
    assert _character_counts([]).shape == (0, 5)
    assert _character_counts(["", ""]).tolist() == [[0] * 5] * 2
    assert [_character_counts([t]).tolist()[0] for t in TEXTS] == [counts_one_by_one(t) for t in TEXTS]
    assert _character_counts([""]).tolist() == [[0] * 5]


def test_characters_of_the_shared_data_are_counted_as_the_patterns_count_them(examples):
    from model.features import _character_counts

    texts = [ex.comment["content"] for ex in examples]
    expected = [counts_one_by_one(t) for t in texts]
    assert _character_counts(texts).tolist() == expected
    assert [_character_counts([t]).tolist()[0] for t in texts] == expected  # a text alone, ASCII or not


def test_prepare_many_prepares_each_comment_as_prepare_does(examples):
    from model.features import prepare_many

    comments = [Comment.from_mapping(ex.comment) for ex in examples[::5]] + ODD + ["plain text", ""]
    assert prepare_many(comments) == [prepare(c) for c in comments]


# -- the asking measure (count_asks) -----------------------------------------------------------------

ASKS = [
    "Watch my videos xx",
    "Nice song .See my new track.",
    "I love katy fashions tiger, care to visit my blog sinar jahitan",
    "Come and watch my video it is called the zombie movie part 1",
    "Hey check out my channel and subscribe please",
    "nice post, please visit my blog for more",
    "I think you should visit my blog",
    "I'd like you to visit my site",
    "follow me on instagram",
    "like this comment if you love this song",
    "Follow 4 Follow, Like 4 Like",
    "mera channel dekho bhai",
    "मेरे चैनल को सब्सक्राइब करें",
    "मेरी पोस्ट पढ़ें",
    "मेरा ब्लॉग देखें।",
    "मेरे चैनल को सब्सक्राइब ज़रूर करें",
    "मेरे चैनल को फॉलो कर लें",
    "मेरी पोस्ट पढें",
    "इस कमेंट को लाइक करें",
]
TELLS = [
    "I like this comment",
    "I really like this comment",
    "we like this comment",
    "I follow my team on youtube",
    "I share my photos with family only",
    "see my point?",
    "read my comment above",
    "I'd like to add my two cents",
    "मेरा बेटा यह वीडियो रोज़ देखता है",
    "मेरे हिसाब से यह खबर सही है",
    "बहुत अच्छी खबर, धन्यवाद",
    "I also really like this comment",
    "I'm gonna like this comment",
    "मैं भी इस कमेंट को लाइक करता हूँ",
    "मेरा वीडियो देखा",
]


@pytest.mark.parametrize("text", ASKS)
def test_a_comment_asking_readers_to_visit_follow_or_like_is_counted(text):
    assert prepare(text).asks >= 1


@pytest.mark.parametrize("text", TELLS)
def test_a_reader_telling_rather_than_asking_is_not_counted(text):
    assert prepare(text).asks == 0


@pytest.mark.parametrize("unit", ["visit my ", "i like " * 3 + "my site ", "like this comment ", "मेरा चैनल ",
                                  "see my new ", "we follow our channel "])
def test_counting_asks_stays_linear(unit):
    from model.features import count_asks
    from tests.timing import N, assert_linear_retried, best_of_three, sized

    assert_linear_retried(lambda: (best_of_three(count_asks, sized(unit, N // 4)),
                                   best_of_three(count_asks, sized(unit, N))))
