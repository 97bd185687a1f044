import math

import numpy as np

from model.comment import Comment
from model.fastpath import FastScorer
from model.features import prepare


def test_fast_path_gives_the_pipelines_probabilities_on_the_shared_data(scorer, examples):
    prepared = [prepare(Comment.from_mapping(ex.comment)) for ex in examples]
    expected = scorer.artifact.pipeline.predict_proba(prepared)[:, 1]
    fast = FastScorer(scorer.artifact.pipeline)
    actual = np.array([fast.score(p).probability for p in prepared])
    assert np.abs(actual - expected).max() < 1e-9


def test_fast_path_matches_on_comments_with_links_markup_and_scripts(scorer):
    comments = [
        "Nice post! visit my site http://bit.ly/abc and <a href='http://spam.example.com'>this</a>",
        "बहुत अच्छा लेख है, धन्यवाद। www.example.co.in पर देखें",
        "x",
        "!!!!!!!!",
        "CALL +91 98765 43210 NOW for FREE " * 30,
    ]
    prepared = [prepare(Comment(content=c, author_url="ift.tt/x")) for c in comments]
    expected = scorer.artifact.pipeline.predict_proba(prepared)[:, 1]
    fast = FastScorer(scorer.artifact.pipeline)
    for p, e in zip(prepared, expected):
        assert abs(fast.score(p).probability - e) < 1e-9


def test_contributions_add_up_to_the_log_odds(scorer):
    fast = FastScorer(scorer.artifact.pipeline)
    prepared = prepare("Check out my channel, subscribe!! http://bit.ly/x call 9876543210")
    score = fast.score(prepared, top=10**6)
    intercept_share = -(fast.a * fast.intercept + fast.b)
    assert math.isclose(sum(c.weight for c in score.contributions) + intercept_share, score.log_odds, abs_tol=1e-9)


def test_explanation_names_words_and_tokens_not_ngrams(scorer):
    score = FastScorer(scorer.artifact.pipeline).score(prepare("subscribe to my channel http://bit.ly/x"))
    features = {c.feature for c in score.contributions}
    assert features & {"subscribe", "channel", "a link", "a shortened link", "my channel", "subscribe to"}


def test_a_huge_word_is_scored_but_not_kept_in_the_word_cache(scorer):
    from model.fastpath import CACHED_WORD_LENGTH

    fast = FastScorer(scorer.artifact.pipeline)
    word = "x" * 60_000
    fast.score(prepare(f"ordinary words and {word}"))
    assert "ordinary" in fast.chars._cache
    assert all(len(w) <= CACHED_WORD_LENGTH for w in fast.chars._cache)
