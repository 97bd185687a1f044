"""Rules and the verdict: the classifier's log-odds plus the weights of the rules that fired.

The arithmetic is the one rspamd and SpamAssassin users know, in log-odds so it stays a probability:

    log-odds = classifier log-odds + sum of rule weights
    spam_probability = 1 / (1 + exp(-log-odds))
    verdict = block if spam_probability >= block threshold, review if >= review threshold, else allow

A rule with weight +inf (a filled honeypot, a blocked domain) makes the verdict ``block`` whatever the
classifier says. Every rule that fired is a reason carrying its weight, and so is the classifier, so a
moderator can redo the sum.

The words alone need more to block: a comment with nothing in it to follow or answer (no link off the
site, author URL, e-mail address or phone-like number) and no rule with a positive weight is blocked only
from ``words_only_block_threshold`` (0.99); between the two thresholds it goes to ``review`` with the
reason ``words_only``. Spam pays through a link or a contact, and what has none does little harm while a
person looks; a genuine comment whose wording merely resembles spam ("please share this news with
everyone", 0.97 with the shipped model), in whatever language, waits for a person instead of being thrown
away.

The rules are the built-in ones below (links, shorteners, honeypot, throwaway e-mail, phone numbers), the
operator's lists (``model.rules``) and a site's own (``SiteRules``, applied by ``Policy.for_site``). A
trusted author's comment is allowed (weight -inf) unless a blocking rule fires: the honeypot, a blocked
domain, or one of the site's blocked phrases or patterns.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass, field, fields, replace
from functools import cached_property

from .comment import Comment
from .fastpath import Score, expit
from .features import META_FEATURES, PreparedComment, external_links, meta_rows
from .links import Link
from .rules import RuleList, SiteRules, Subject, author_key

ALLOW, REVIEW, BLOCK = "allow", "review", "block"
# Rules that overrule a trusted author.
BLOCKING = frozenset({"honeypot", "blocked_domain", "blocked_phrase", "blocked_pattern"})
# A site's moderators named this phrase or pattern: whatever the classifier thinks, a person looks. Their
# weight decides between review and block; it never leaves the comment at allow.
HOLD_FOR_REVIEW = frozenset({"blocked_phrase", "blocked_pattern"})
# Raised whenever ``decide`` changes what it makes of the same settings: it is part of the policy's
# fingerprint, so verdicts cached under the old rule of decision are not served after an upgrade.
DECISION_VERSION = 4


@dataclass(frozen=True)
class Policy:
    """What an operator sets: thresholds on the final probability, and the deterministic rules."""

    review_threshold: float = 0.5
    # Blocking is final for the commenter while a review costs a moderator a click, so a block needs
    # near-certainty: a genuine comment whose only oddity is one link (0.95 with the shipped model)
    # goes to review, not to the bin.
    block_threshold: float = 0.97
    # The block threshold of a comment with nothing to follow or answer and no rule against it (the
    # higher of the two applies).
    words_only_block_threshold: float = 0.99
    max_links: int = 3
    blocked_domains: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    # Weights on the log-odds scale: +2.2 turns an even chance into 0.9.
    shortener_weight: float = 1.5
    obfuscated_weight: float = 2.0
    too_many_links_weight: float = 2.0
    allowed_domain_weight: float = -3.0
    disposable_email_weight: float = 1.0
    # A site's own blocked phrase or pattern: enough to send an even chance to block, a likely-ham
    # comment (0.1) to review; the moderator sees it in the reasons either way.
    site_rule_weight: float = 5.0
    # The operator's lists (model.rules.load) and a site's blocked phrases and patterns.
    rules: tuple[RuleList, ...] = ()
    # Authors a site trusts, as model.rules.author_key gives them (e-mail or author URL).
    trusted_authors: frozenset[str] = frozenset()

    def __post_init__(self):
        if not 0.0 < self.review_threshold <= self.block_threshold <= 1.0:
            raise ValueError("thresholds must satisfy 0 < review <= block <= 1")
        if not 0.0 < self.words_only_block_threshold <= 1.0:
            raise ValueError("the words-only block threshold must be in (0, 1]")

    @property
    def words_only_block(self) -> float:
        """The block threshold that applies to a comment with nothing to follow or answer: the higher of
        the two (a site that raises its block threshold raises this one with it)."""
        return max(self.block_threshold, self.words_only_block_threshold)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of every setting, the same in every process (sets are sorted, lists by their content):
        part of a cache key, so a verdict is never reused under other rules."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["decision_version"] = DECISION_VERSION
        return hashlib.sha256(json.dumps(values, sort_keys=True, default=_json_default).encode()).hexdigest()

    def for_site(self, site: SiteRules) -> "Policy":
        """This policy with a site's own rules added: its domains join the operator's, its thresholds
        replace them, its phrases and patterns become two more lists."""
        review = site.review if site.review is not None else self.review_threshold
        block = site.block if site.block is not None else self.block_threshold
        return replace(
            self,
            review_threshold=review,
            block_threshold=block,
            blocked_domains=self.blocked_domains | frozenset(site.blocked_domains),
            allowed_domains=self.allowed_domains | frozenset(site.allowed_domains),
            trusted_authors=self.trusted_authors | frozenset(site.trusted_authors),
            rules=self.rules + site.lists(self.site_rule_weight),
        )


def _json_default(value):
    if isinstance(value, RuleList):
        return value.fingerprint
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} in a policy")


@dataclass
class Reason:
    code: str
    message: str
    weight: float = 0.0
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"code": self.code, "message": self.message, "weight": json_weight(self.weight)}
        out.update(self.details)
        return out


def json_weight(weight: float) -> float | str:
    # JSON has no infinity; "inf" reads as what it is.
    return ("inf" if weight > 0 else "-inf") if math.isinf(weight) else round(weight, 3)


def decide(comment: Comment, prepared: PreparedComment, score: Score, policy: Policy) -> tuple[float, str, list[Reason]]:
    """Combine the classifier's score with the rules: (spam_probability, verdict, reasons)."""
    reasons = [_classifier_reason(score, prepared)]
    reasons.extend(_rules(comment, prepared, policy))
    trusted = _trusted(comment, policy)
    if trusted:
        blocking = [r.code for r in reasons if r.code in BLOCKING]
        if blocking:
            reasons.append(Reason("trusted_author", f"the author is trusted here, but {blocking[0]} overrules that",
                                  0.0, {"author": trusted}))
        else:
            reasons.append(Reason("trusted_author", "the author is trusted by this site's moderators", -math.inf,
                                  {"author": trusted}))
    total = sum(r.weight for r in reasons[1:])
    log_odds = score.log_odds + total
    if math.isinf(total):
        probability = 1.0 if total > 0 else 0.0
    else:
        probability = expit(log_odds)
    words_only = not (_reachable(prepared) or any(r.weight > 0 for r in reasons[1:]))
    if probability >= (policy.words_only_block if words_only else policy.block_threshold):
        verdict = BLOCK
    elif probability >= policy.block_threshold:
        verdict = REVIEW
        reasons.append(Reason("words_only", "nothing in it to follow or answer (no link off the site, author URL, "
                                            "e-mail address or phone number) and no rule against it; the words alone "
                                            "are not sure enough to block: a person looks", 0.0))
    elif probability >= policy.review_threshold:
        verdict = REVIEW
    elif any(r.code in HOLD_FOR_REVIEW for r in reasons):
        verdict = REVIEW
    else:
        verdict = ALLOW
    # The reasons a moderator acts on first: the heaviest push towards the verdict.
    towards_spam = verdict != ALLOW
    reasons.sort(key=lambda r: -r.weight if towards_spam else r.weight)
    return probability, verdict, reasons


def _reachable(prepared: PreparedComment) -> bool:
    """Whether a comment offers a way to be followed or answered: a link off the site, an author URL, an
    e-mail address or a phone-like number in the text. (The author's e-mail field does not count: blogs
    ask every commenter for one. Nor does a request to visit or follow, ``PreparedComment.asks``: a
    learnt measure that can mistake a reader's "I also really like this comment" for one must not also
    lift the hold.)"""
    return bool(external_links(prepared) or prepared.author_url or prepared.emails or prepared.phones)


def _classifier_reason(score: Score, prepared: PreparedComment) -> Reason:
    spammy = score.probability >= 0.5
    terms = [(feature, kind) for feature, kind, weight in score.contributions
             if (weight > 0) == spammy and abs(weight) >= 0.05][:3]
    # A measure that pushes because the comment has none of it reads as such: "no digits", not "digits".
    absent = set()
    if any(kind == "measure" for _, kind in terms):
        absent = {name for name, value in zip(META_FEATURES, meta_rows([prepared])[0].tolist()) if value == 0}
    shown = ", ".join(f"'{feature}'" if kind == "word" else _absent(feature) if feature in absent else feature
                      for feature, kind in terms)
    message = f"classifier {score.probability:.2f}" + (f": {shown}" if shown else "")
    return Reason(
        "classifier",
        message,
        score.log_odds,
        {
            "probability": round(score.probability, 4),
            "features": [
                {"feature": feature, "kind": kind, "weight": round(weight, 3)}
                for feature, kind, weight in score.contributions
            ],
        },
    )


def _absent(measure: str) -> str:
    """How a moderator reads a measure the comment has none of."""
    return _ABSENT.get(measure) or "no " + measure.removeprefix("share of ")


_ABSENT = {
    "length": "empty",
    "distinct link domains": "no link domains",
    "repeated characters": "no long runs of one character",
    "author URL is a shortener": "author URL not through a shortener",
    "asks readers to visit, follow or like": "asks readers for nothing",
}


def _rules(comment: Comment, prepared: PreparedComment, policy: Policy) -> list[Reason]:
    reasons = []
    if comment.honeypot.strip():
        reasons.append(Reason("honeypot", "the hidden honeypot field was filled in, as only bots do", math.inf))
    content_links = external_links(prepared)
    if content_links:
        reasons.append(_links_reason(content_links, policy))
    if len(content_links) > policy.max_links:
        reasons.append(Reason("too_many_links", f"{len(content_links)} links, more than the {policy.max_links} allowed",
                              policy.too_many_links_weight, {"count": len(content_links)}))
    disguised = [link for link in content_links if link.obfuscated]
    if disguised:
        reasons.append(Reason("obfuscated_link", f"link written to dodge filters: {disguised[0].host}",
                              policy.obfuscated_weight, {"hosts": _hosts(disguised)}))
    blocked = [link for link in prepared.links if _listed(link, policy.blocked_domains)]
    if blocked:
        reasons.append(Reason("blocked_domain", f"link to the blocked domain {blocked[0].registered_domain}",
                              math.inf, {"hosts": _hosts(blocked)}))
    allowed = [link for link in prepared.links if _listed(link, policy.allowed_domains)]
    if allowed and not blocked:
        reasons.append(Reason("allowed_domain", f"link to the allowed domain {allowed[0].registered_domain}",
                              policy.allowed_domain_weight, {"hosts": _hosts(allowed)}))
    if prepared.phone_numbers:
        numbers = prepared.phone_numbers
        reasons.append(Reason("phone_number", f"phone number{'s' if len(numbers) > 1 else ''} {', '.join(numbers[:3])}",
                              0.0, {"numbers": list(numbers[:10])}))
    domain = comment.author_email.rpartition("@")[2].strip().lower()
    if domain and domain in _disposable_domains():
        reasons.append(Reason("disposable_email", f"a throwaway e-mail address (@{domain})",
                              policy.disposable_email_weight, {"domain": domain}))
    subject = Subject(comment, prepared) if policy.rules else None
    for rules in policy.rules:
        hit = rules.match(subject)
        if hit is not None:
            shown = ", ".join(repr(m) for m in hit.matched)
            reasons.append(Reason(rules.code, f"{shown} in the {hit.field.replace('_', ' ')}, listed in {rules.name}",
                                  rules.weight, {"list": rules.name, "field": hit.field, "matched": list(hit.matched),
                                                 "entries": [e[:200] for e in hit.entries]}))
    return reasons


def _trusted(comment: Comment, policy: Policy) -> str | None:
    """The e-mail or author URL by which the site trusts this comment's author, if any."""
    if not policy.trusted_authors:
        return None
    for value in (comment.author_email, comment.author_url):
        key = author_key(value)
        if key and key in policy.trusted_authors:
            return key
    return None


@functools.cache
def _disposable_domains() -> frozenset[str]:
    """The disposable-email-domains list (10,000 domains), read on first use."""
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


def _links_reason(links: list[Link], policy: Policy) -> Reason:
    """"2 links, one through the shortener ift.tt": the link facts in one reason."""
    count = len(links)
    short = _hosts([link for link in links if link.shortener])
    message = f"{count} link{'s' if count != 1 else ''}"
    if short:
        named = ", ".join(short[:3]) + (f" and {len(short) - 3} more" if len(short) > 3 else "")
        if count == 1:
            message += f", through the shortener {named}"
        else:
            n = len([link for link in links if link.shortener])
            which = "one" if n == 1 else ("all" if n == count else str(n))
            message += f", {which} through the shortener{'s' if len(short) > 1 else ''} {named}"
    code = "shortened_link" if short else "links"
    return Reason(code, message, policy.shortener_weight if short else 0.0,
                  {"count": count, "hosts": _hosts(links)})


def _hosts(links: list[Link], most: int = 20) -> list[str]:
    """Distinct hosts in order of appearance, at most ``most`` (a reason stays readable)."""
    return list(dict.fromkeys(link.host for link in links))[:most]


def _listed(link: Link, domains: frozenset[str]) -> bool:
    if not domains:
        return False
    host = link.host
    while True:
        if host in domains:
            return True
        if "." not in host:
            return False
        host = host.split(".", 1)[1]

