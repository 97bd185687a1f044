import math
import re

import pytest

from model.comment import Comment
from model.fastpath import expit
from model.scorer import Scorer
from model.verdict import Policy


def reasons(result):
    return {r["code"]: r for r in result["reasons"]}


def test_shortened_link_is_a_reason_naming_the_shortener(scorer):
    result = scorer.check("Great post, read more at https://ift.tt/3xYz and www.example.com")
    reason = reasons(result)["shortened_link"]
    assert reason["message"] == "2 links, one through the shortener ift.tt"
    assert reason["weight"] > 0
    assert [link["shortener"] for link in result["links"]] == [True, False]


def test_filled_honeypot_blocks_whatever_the_classifier_says(scorer):
    result = scorer.check(Comment(content="Thank you for this article.", honeypot="http://x.example"))
    assert result["verdict"] == "block"
    assert result["spam_probability"] == 1.0
    assert reasons(result)["honeypot"]["weight"] == "inf"


def test_blocked_domain_blocks_and_allowed_domain_pulls_down(scorer):
    text = "Interesting, I wrote about this on https://blog.friend.example.org/post"
    base = Scorer(scorer.artifact, Policy())
    blocked = Scorer(scorer.artifact, Policy(blocked_domains=frozenset({"friend.example.org"})))
    allowed = Scorer(scorer.artifact, Policy(allowed_domains=frozenset({"example.org"})))
    assert blocked.check(text)["verdict"] == "block"
    assert "blocked_domain" in reasons(blocked.check(text))
    assert allowed.check(text)["spam_probability"] < base.check(text)["spam_probability"]
    assert reasons(allowed.check(text))["allowed_domain"]["weight"] < 0


def test_too_many_links_is_a_reason(scorer):
    text = " ".join(f"http://site{i}.example.com" for i in range(5))
    result = Scorer(scorer.artifact, Policy(max_links=3)).check(text)
    assert reasons(result)["too_many_links"]["count"] == 5
    assert result["verdict"] != "allow"


def test_probability_is_classifier_log_odds_plus_rule_weights(scorer):
    result = scorer.check("see bit.ly/abc and example dot com for cheap pills")
    weights = [r["weight"] for r in result["reasons"]]
    assert math.isclose(result["spam_probability"], expit(sum(weights)), abs_tol=1e-6)


def test_classifier_reason_quotes_the_words_that_pushed(scorer):
    result = scorer.check("Hey check out my channel and subscribe please")
    reason = reasons(result)["classifier"]
    assert reason["message"].startswith(f"classifier {reason['probability']:.2f}")
    assert "'" in reason["message"]
    assert reason["features"]


@pytest.mark.parametrize("review, block", [(0.0, 0.5), (0.7, 0.6), (0.5, 1.5)])
def test_policy_refuses_thresholds_out_of_order(review, block):
    with pytest.raises(ValueError):
        Policy(review_threshold=review, block_threshold=block)


def test_result_has_the_documented_shape(scorer):
    result = scorer.check(Comment(content="hello", author_url="https://bit.ly/me"))
    assert set(result) == {"spam_probability", "verdict", "reasons", "links", "model_version"}
    assert result["links"][0]["source"] == "author_url"
    assert set(result["links"][0]) >= {"url", "host", "registered_domain", "suffix", "shortener", "obfuscated"}
    assert result["model_version"] == scorer.model_version


def test_a_link_to_the_blogs_own_site_is_not_a_spam_signal(scorer):
    text = "Nice post! I wrote more on this in my other article https://myblog.example.com/2024/02/second-post"
    elsewhere = scorer.check(Comment(content=text))
    own_site = scorer.check(Comment(content=text, permalink="https://www.myblog.example.com/2024/01/first-post"))
    assert own_site["links"][0]["internal"] is True and elsewhere["links"][0]["internal"] is False
    assert own_site["spam_probability"] < elsewhere["spam_probability"]
    assert own_site["verdict"] == "allow"
    assert "links" not in {r["code"] for r in own_site["reasons"]}


def test_a_shortener_is_never_internal(scorer):
    result = scorer.check(Comment(content="read https://bit.ly/abc", permalink="https://bit.ly/post"))
    assert result["links"][0]["internal"] is False
    assert "shortened_link" in {r["code"] for r in result["reasons"]}


@pytest.mark.parametrize("rules", [
    pytest.param({"blocked_phrases": ("satta king",)}, id="phrase"),
    pytest.param({"blocked_patterns": (r"satta\W*king",)}, id="pattern"),
])
def test_a_sites_blocked_phrase_or_pattern_holds_even_a_confident_ham_comment_for_review(scorer, rules):
    from model.rules import SiteRules

    comment = "best satta king results here"  # spam the classifier takes for ham (0.006)
    plain = scorer.check(comment)
    assert plain["verdict"] == "allow" and plain["spam_probability"] < expit(-5.0)  # +5 alone leaves it below 0.5
    held = scorer.check(comment, Policy().for_site(SiteRules(**rules)))
    assert held["verdict"] == "review"
    assert held["spam_probability"] < 0.5  # the arithmetic is unchanged; the rule sets the floor
    assert held["reasons"][0]["code"] in ("blocked_phrase", "blocked_pattern")


def test_a_new_rule_of_decision_changes_the_fingerprint(monkeypatch):
    # The fingerprint is part of the cache key: verdicts cached before a change in decide() are not reused.
    from model import verdict

    before = Policy().fingerprint
    monkeypatch.setattr(verdict, "DECISION_VERSION", verdict.DECISION_VERSION + 1)
    assert Policy().fingerprint != before


def test_the_codes_that_change_a_verdict_cannot_name_an_operator_list():
    from model.rules import RESERVED_CODES
    from model.verdict import BLOCKING, HOLD_FOR_REVIEW

    assert BLOCKING | HOLD_FOR_REVIEW | {"trusted_author", "allowed_domain"} <= RESERVED_CODES


# Thresholds that every comment reaches but the words-only one: what decides between block and review is
# then only what the comment holds besides its words.
EVERYTHING_BLOCKS = dict(review_threshold=1e-9, block_threshold=1e-9, words_only_block_threshold=1.0)
WORDS = "Please share this news with everyone"


@pytest.mark.parametrize("comment", [
    pytest.param(Comment(content=WORDS), id="english"),
    pytest.param(Comment(content="यह खबर सबके साथ शेयर करें, बहुत ज़रूरी है"), id="hindi"),
    pytest.param(Comment(content="ye khabar sabke saath share karo bhai"), id="hinglish"),
    pytest.param(Comment(content=WORDS + " https://myblog.example.com/2024/02/more",
                         permalink="https://myblog.example.com/2024/01/this-post"), id="link-to-the-site-itself"),
    pytest.param(Comment(content=WORDS, author_email="reader@gmail.com"), id="author-e-mail-field"),
    # The asking measure is learnt and can take a reader for an ask: it does not lift the hold.
    pytest.param(Comment(content="I also really like this comment, share it"), id="request-to-like"),
    pytest.param(Comment(content=WORDS + " and follow me on instagram"), id="request-to-follow"),
])
def test_the_words_alone_block_only_from_their_own_threshold(scorer, comment):
    result = scorer.check(comment, Policy(**EVERYTHING_BLOCKS))
    assert result["verdict"] == "review"
    assert result["spam_probability"] == scorer.check(comment)["spam_probability"]  # the arithmetic is unchanged
    assert reasons(result)["words_only"]["weight"] == 0
    assert scorer.check(comment, Policy(**{**EVERYTHING_BLOCKS, "words_only_block_threshold": 1e-9}))["verdict"] == "block"


def test_a_genuine_comment_that_reads_like_spam_is_held_not_blocked(scorer):
    # 0.97 with the shipped model, which learnt "please share ... with everyone" from chain-letter SMS.
    assert scorer.check(WORDS)["verdict"] != "block"


@pytest.mark.parametrize("comment", [
    pytest.param(Comment(content=WORDS + " https://news.example.net/story"), id="link"),
    pytest.param(Comment(content=WORDS + " bit . ly/x1"), id="obfuscated-link"),
    pytest.param(Comment(content=WORDS, author_url="http://my-site.example.com"), id="author-url"),
    pytest.param(Comment(content=WORDS + " write to deals@example.com"), id="e-mail-in-text"),
    pytest.param(Comment(content=WORDS + " call 98765 43210"), id="phone"),
    pytest.param(Comment(content=WORDS + " for payday loans"), id="rule-with-weight"),
])
def test_a_comment_with_something_to_follow_or_a_rule_against_it_blocks(scorer, comment):
    from model.rules import DEFAULT_RULES, load_all

    result = scorer.check(comment, Policy(rules=load_all([DEFAULT_RULES]), **EVERYTHING_BLOCKS))
    assert result["verdict"] == "block"
    assert "words_only" not in reasons(result)


@pytest.mark.parametrize("text", [
    "यह खबर सबके साथ शेयर करें, बहुत अच्छा लेख",
    "Thank you for this wonderful article",
    "CALL NOW 09061701461 to claim your prize",
    "Great post!!! visit https://bit.ly/x for more",
])
def test_the_classifier_reason_names_a_measure_the_comment_lacks_as_absent(scorer, text):
    # "digits" quoted for a comment without a digit misleads a moderator: it is "no digits".
    from model.features import META_FEATURES, meta_rows, prepare
    from model.verdict import _absent

    values = dict(zip(META_FEATURES, meta_rows([prepare(text)])[0].tolist()))
    reason = reasons(scorer.check(text))["classifier"]
    names = {name: name for name in META_FEATURES} | {_absent(name): name for name in META_FEATURES}
    # The quoted terms, whole: words in quotes, measures by their names (one of which holds ", ").
    terms = re.findall("'[^']*'|" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))),
                       reason["message"].partition(": ")[2])
    for term in terms:
        if term in names:
            assert (values[names[term]] == 0) == (term != names[term]), (term, reason["message"])


def test_a_sites_higher_block_threshold_raises_the_words_only_one(scorer):
    from model.rules import SiteRules

    p = scorer.check(WORDS)["spam_probability"]
    operator = Policy(review_threshold=0.01, block_threshold=p - 0.002, words_only_block_threshold=p - 0.001)
    assert scorer.check(WORDS, operator)["verdict"] == "block"
    site = operator.for_site(SiteRules(block=p + 0.001))  # above the operator's words-only threshold too
    assert scorer.check(WORDS, site)["verdict"] == "review"
