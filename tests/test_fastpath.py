import math
import re
from collections import Counter

import numpy as np
import pytest

from model.comment import Comment
from model.fastpath import TOKEN_NAMES, FastScorer, _stable_order
from model.features import META_FEATURES, WORD_PATTERN, prepare


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
    word = "spamword" * 7_500  # not one letter repeated: prepare cuts a run down to two
    alone = fast.score(prepare(f"ordinary words and {word}"))
    assert "ordinary" in fast.words._cache
    assert word in fast.words.keys  # scored
    assert all(len(w) <= CACHED_WORD_LENGTH for w in fast.words._cache)
    # Its n-grams are forgotten at the next batch, and scoring it again gives what it gave.
    fast.score(prepare("more ordinary words"))
    assert len(fast.words.keys) == len(fast.words._cache)
    assert fast.words._chars.size < len(word)
    assert fast.score(prepare(f"ordinary words and {word}")) == alone


def test_a_full_word_cache_starts_again_and_scores_the_same(scorer, shared_prepared):
    fast = FastScorer(scorer.artifact.pipeline)
    expected = fast.score_many(shared_prepared[:2000])
    small = FastScorer(scorer.artifact.pipeline)
    small.words.CACHE_SIZE = 500  # a batch of 512 comments brings more new words than that
    assert small.score_many(shared_prepared[:2000]) == expected
    assert 0 < len(small.words._cache) <= 500


# --------------------------------------------------------------------------------------------------
# Batches: a comment scores the same alone or among others, and as the pipeline says
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_prepared(examples):
    return [prepare(Comment.from_mapping(ex.comment)) for ex in examples]


def test_a_batch_scores_each_comment_exactly_as_it_scores_alone(scorer, shared_prepared):
    fast = FastScorer(scorer.artifact.pipeline)
    alone = [fast.score(p) for p in shared_prepared]
    assert fast.score_many(shared_prepared) == alone
    # Other neighbours, and other cuts between the arrays of one batch and the next.
    assert fast.score_many(shared_prepared[::-1]) == alone[::-1]
    assert fast.score_many(shared_prepared[7:5000:3]) == alone[7:5000:3]


def test_check_many_gives_what_check_gives_on_the_shared_data(scorer, examples):
    comments = [Comment.from_mapping(ex.comment) for ex in examples]
    assert scorer.check_many(comments) == [scorer.check(c) for c in comments]


def test_explanations_are_those_worked_out_from_the_pipelines_own_features(scorer, shared_prepared):
    pipeline = scorer.artifact.pipeline
    scores = FastScorer(pipeline).score_many(shared_prepared)
    for p, score, expected in zip(shared_prepared, scores, explain_slowly(pipeline, shared_prepared)):
        assert [(c.feature, c.kind) for c in score.contributions] == [(f, kind) for f, kind, _ in expected], p.text
        assert np.allclose([c.weight for c in score.contributions], [w for _, _, w in expected], rtol=0, atol=1e-9)


def explain_slowly(pipeline, prepared, top=6):
    """The top contributions the obvious way, from the pipeline's own tf-idf matrix: each word and phrase's
    share, each word's character n-grams (an n-gram's share split evenly over its occurrences) added to
    the word or phrase that reads the same, and the measures; the largest push first, the earlier
    candidate on a tie."""
    union = pipeline.named_steps["features"]
    words, chars, _ = (transformer for _, transformer in union.transformer_list)
    calibrated = pipeline.named_steps["classifier"].calibrated_classifiers_[0]
    coef, a = calibrated.estimator.coef_[0], calibrated.calibrators[0].a_
    n_words, n_chars = len(words.vocabulary_), len(chars.vocabulary_)
    matrix = union.transform(prepared).tocsr()
    analyze = words.build_analyzer()
    for i, p in enumerate(prepared):
        row = matrix[i].toarray()[0]
        by_key = {}
        for token in analyze(p):
            if token in words.vocabulary_:
                by_key.setdefault(token, row[words.vocabulary_[token]] * coef[words.vocabulary_[token]])
        grams = [[g for g in chars._char_wb_ngrams(w) if g in chars.vocabulary_] for w in p.text.split()]
        counts = Counter(g for gs in grams for g in gs)
        for word, gs in zip(p.text.split(), grams):
            if gs:
                key = " ".join(re.findall(WORD_PATTERN, word)) or word
                columns = [n_words + chars.vocabulary_[g] for g in gs]
                by_key[key] = by_key.get(key, 0.0) + sum(row[c] * coef[c] / counts[g] for c, g in zip(columns, gs))
        candidates = [(TOKEN_NAMES.get(k, k), "word", s) for k, s in by_key.items() if s]
        candidates += [(name, "measure", row[j] * coef[j])
                       for name, j in zip(META_FEATURES, range(n_words + n_chars, len(row)))]
        ranked = sorted(enumerate(candidates), key=lambda ic: (-abs(ic[1][2]), ic[0]))[:top]
        yield [(feature, kind, share * -a) for _, (feature, kind, share) in ranked]


def test_an_empty_batch_gives_no_scores(scorer):
    assert FastScorer(scorer.artifact.pipeline).score_many([]) == []


def test_comments_with_nothing_the_model_knows_are_scored_on_their_measures(scorer):
    fast = FastScorer(scorer.artifact.pipeline)
    prepared = [prepare(text) for text in ("", "   ", "ꙮꙮꙮ", "qzxv qzxv")]
    expected = scorer.artifact.pipeline.predict_proba(prepared)[:, 1]
    scores = fast.score_many(prepared)
    assert np.allclose([s.probability for s in scores], expected, rtol=0, atol=1e-9)
    assert all(len(s.contributions) == 6 for s in scores)
    assert all(c.kind == "measure" for c in scores[0].contributions)


def test_stable_order_is_numpys_stable_argsort_whichever_way_it_sorts():
    keys = np.random.default_rng(0).integers(0, 50, 10_000)
    expected = np.argsort(keys, kind="stable")
    assert (_stable_order(keys, 50) == expected).all()  # key and position packed into one int64
    assert (_stable_order(keys, 2**62) == expected).all()  # too wide to pack: numpy's own


def test_on_a_tie_the_phrase_that_comes_first_in_the_text_comes_first(scorer):
    # Two phrases that always occurred together in training got one idf and one coefficient, so each
    # occurring once they push exactly as hard: a tie, which the order of the text breaks.
    first, second = tied_phrases(scorer.artifact.pipeline)
    fast = FastScorer(scorer.artifact.pipeline)
    for text, earlier, later in ((f"{first} {second}", first, second), (f"{second} {first}", second, first)):
        contributions = fast.score(prepare(text), top=10**6).contributions
        names = [c.feature for c in contributions]
        assert contributions[names.index(earlier)].weight == contributions[names.index(later)].weight
        assert names.index(earlier) < names.index(later), text


def tied_phrases(pipeline) -> tuple[str, str]:
    words = dict(pipeline.named_steps["features"].transformer_list)["words"]
    coef = pipeline.named_steps["classifier"].calibrated_classifiers_[0].estimator.coef_[0]
    seen = {}
    for phrase, i in sorted(words.vocabulary_.items()):
        if re.fullmatch("[a-z]+ [a-z]+", phrase):
            other = seen.setdefault((words.idf_[i], coef[i]), phrase)
            if other != phrase and not set(other.split()) & set(phrase.split()):
                return other, phrase
    pytest.skip("the model has no two phrases with one idf and one coefficient")
