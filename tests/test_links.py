"""Tests for model.links: which text is a link, what is recorded about it, and how fast it is found.

Tables first (one row per written form), then hypothesis properties, then linear-time checks.
Rows marked ``xfail(strict=True)`` document bugs in model/links.py that are not fixed here; each reason
says what goes wrong. When a bug is fixed its row starts passing and strict mode turns that into a
failure, so the marker must be removed with the fix.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.links import Link, _hinted, author_url_link, find_links
from tests.timing import N, assert_linear_retried, best_of_three, sized

CONTENT_SOURCES = {"text", "html", "bbcode", "markdown"}


def only_link(text: str) -> Link:
    links = find_links(text)
    assert len(links) == 1, f"expected one link in {text!r}, got {links!r}"
    return links[0]


def bug(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


def assert_fields(link: Link, expected: dict) -> None:
    actual = {name: getattr(link, name) for name in expected}
    assert actual == expected


# --------------------------------------------------------------------------------------------------
# Every written form of a link is found; a URL written without a scheme gets "http://"
# --------------------------------------------------------------------------------------------------

PLAIN = dict(shortener=False, obfuscated=False, ip=False)

WRITTEN_FORMS = [
    # Scheme URLs
    pytest.param("see http://example.com/path now",
                 dict(url="http://example.com/path", host="example.com", source="text", **PLAIN), id="http"),
    pytest.param("https://example.com",
                 dict(url="https://example.com", host="example.com", source="text", **PLAIN), id="https"),
    pytest.param("HTTPS://WWW.EXAMPLE.COM",
                 dict(url="HTTPS://WWW.EXAMPLE.COM", host="www.example.com", source="text", **PLAIN),
                 id="upper-case-scheme-and-host"),
    pytest.param("http://example.com:8080/x?q=1#frag",
                 dict(url="http://example.com:8080/x?q=1#frag", host="example.com", source="text", **PLAIN),
                 id="port-query-fragment"),
    # www. names
    pytest.param("go to www.example.com today",
                 dict(url="http://www.example.com", host="www.example.com", source="text", **PLAIN), id="www"),
    pytest.param("www2.example.com",
                 dict(url="http://www2.example.com", host="www2.example.com", source="text", **PLAIN), id="www2"),
    pytest.param("www.example.co.in/path?q=1",
                 dict(url="http://www.example.co.in/path?q=1", host="www.example.co.in", source="text", **PLAIN),
                 id="www-with-path"),
    # Bare names
    pytest.param("visit example.co.in today",
                 dict(url="http://example.co.in", host="example.co.in", source="text", **PLAIN), id="bare-co-in"),
    pytest.param("EXAMPLE.COM",
                 dict(url="http://EXAMPLE.COM", host="example.com", source="text", **PLAIN), id="bare-upper-case"),
    pytest.param("bit.ly/x",
                 dict(url="http://bit.ly/x", host="bit.ly", source="text", shortener=True, obfuscated=False, ip=False),
                 id="bare-shortener-with-path"),
    pytest.param("foo.to/x",
                 dict(url="http://foo.to/x", host="foo.to", source="text", **PLAIN), id="bare-any-tld-with-path"),
    # HTML attributes
    pytest.param('<a href="http://example.com/a">x</a>',
                 dict(url="http://example.com/a", host="example.com", source="html", **PLAIN), id="a-href-double-quotes"),
    pytest.param("<a href='http://example.com/b'>x</a>",
                 dict(url="http://example.com/b", host="example.com", source="html", **PLAIN), id="a-href-single-quotes"),
    pytest.param('<a class="x" title="y" href="http://example.com/c">x</a>',
                 dict(url="http://example.com/c", host="example.com", source="html", **PLAIN),
                 id="a-href-after-other-attributes"),
    pytest.param("<a href=http://example.com/d>x</a>",
                 dict(url="http://example.com/d", host="example.com", source="html", **PLAIN), id="a-href-unquoted"),
    pytest.param('<A HREF = "http://example.com/e">x</A>',
                 dict(url="http://example.com/e", host="example.com", source="html", **PLAIN),
                 id="a-href-upper-case-spaced"),
    pytest.param('<img alt="a" src="https://cdn.example.net/i.png" />',
                 dict(url="https://cdn.example.net/i.png", host="cdn.example.net", source="html", **PLAIN),
                 id="img-src"),
    # BBCode
    pytest.param("[url]http://example.com/f[/url]",
                 dict(url="http://example.com/f", host="example.com", source="bbcode", **PLAIN), id="bbcode-url-body"),
    pytest.param("[url=http://example.com/g]cheap[/url]",
                 dict(url="http://example.com/g", host="example.com", source="bbcode", **PLAIN), id="bbcode-url-equals"),
    pytest.param('[URL="http://example.com/h"]cheap[/URL]',
                 dict(url="http://example.com/h", host="example.com", source="bbcode", **PLAIN),
                 id="bbcode-url-equals-quoted-upper-case"),
    pytest.param("[url=example.com]cheap[/url]",
                 dict(url="http://example.com", host="example.com", source="bbcode", **PLAIN),
                 id="bbcode-url-equals-bare"),
    # Markdown
    pytest.param("[cheap pills](http://example.com/i)",
                 dict(url="http://example.com/i", host="example.com", source="markdown", **PLAIN), id="markdown"),
    pytest.param("[cheap pills](example.com)",
                 dict(url="http://example.com", host="example.com", source="markdown", **PLAIN), id="markdown-bare"),
    # Internationalised and punycode hosts
    pytest.param("http://भारत.भारत/",
                 dict(url="http://भारत.भारत/", host="भारत.भारत", source="text", **PLAIN), id="idn-devanagari"),
    pytest.param("http://münchen.de/",
                 dict(url="http://münchen.de/", host="münchen.de", source="text", **PLAIN), id="idn-latin-scheme"),
    pytest.param("http://MÜNCHEN.DE",
                 dict(url="http://MÜNCHEN.DE", host="münchen.de", source="text", **PLAIN), id="idn-upper-case"),
    pytest.param("http://пример.рф/",
                 dict(url="http://пример.рф/", host="пример.рф", source="text", **PLAIN), id="idn-cyrillic"),
    pytest.param("मेरी साइट.भारत पर",
                 dict(url="http://साइट.भारत", host="साइट.भारत", source="text", **PLAIN), id="idn-devanagari-bare"),
    pytest.param("http://xn--mnchen-3ya.de/",
                 dict(url="http://xn--mnchen-3ya.de/", host="xn--mnchen-3ya.de", source="text", **PLAIN),
                 id="punycode-scheme"),
    pytest.param("see xn--h2brj9c8c.xn--h2brj9c",
                 dict(url="http://xn--h2brj9c8c.xn--h2brj9c", host="xn--h2brj9c8c.xn--h2brj9c", source="text", **PLAIN),
                 id="punycode-bare-idn-tld"),
    # www. targets in markup get "http://"
    pytest.param('<a href="www.example.com">x</a>',
                 dict(url="http://www.example.com", host="www.example.com", source="html", **PLAIN), id="a-href-www"),
    pytest.param("[url]www.example.com[/url]",
                 dict(url="http://www.example.com", host="www.example.com", source="bbcode", **PLAIN),
                 id="bbcode-url-body-www"),
    pytest.param("[cheap](www.example.com)",
                 dict(url="http://www.example.com", host="www.example.com", source="markdown", **PLAIN),
                 id="markdown-www"),
    # Protocol-relative targets in markup get "http:"
    pytest.param('<a href="//example.com/pills">x</a>',
                 dict(url="http://example.com/pills", host="example.com", source="html", **PLAIN),
                 id="a-href-protocol-relative"),
    pytest.param("[cheap](//example.com/pills)",
                 dict(url="http://example.com/pills", host="example.com", source="markdown", **PLAIN),
                 id="markdown-protocol-relative"),
]


@pytest.mark.parametrize("text, expected", WRITTEN_FORMS)
def test_link_is_found_in_every_written_form(text, expected):
    assert_fields(only_link(text), expected)


# --------------------------------------------------------------------------------------------------
# Obfuscated links are found, rewritten to a plain URL and marked
# --------------------------------------------------------------------------------------------------



OBFUSCATED = [
    pytest.param("example dot com", "http://example.com", "example.com", id="word-dot"),
    pytest.param("example DOT com", "http://example.com", "example.com", id="word-dot-upper-case"),
    pytest.param("example[.]com", "http://example.com", "example.com", id="bracketed-dot"),
    pytest.param("example [dot] com", "http://example.com", "example.com", id="bracketed-word-dot-spaced"),
    pytest.param("example(dot)com", "http://example.com", "example.com", id="parenthesised-word-dot"),
    pytest.param("example(.)com", "http://example.com", "example.com", id="parenthesised-dot"),
    pytest.param("example{.}com", "http://example.com", "example.com", id="braced-dot"),
    pytest.param("example . com", "http://example.com", "example.com", id="spaced-dot"),
    pytest.param("www[.]example[.]com", "http://www.example.com", "www.example.com", id="www-bracketed-dots"),
    pytest.param("hxxp://example(.)com", "http://example.com", "example.com", id="scheme-and-parenthesised-dot"),
    pytest.param("hxxp://example.com/x", "http://example.com/x", "example.com", id="hxxp"),
    pytest.param("hxxps://example.com/x", "https://example.com/x", "example.com", id="hxxps"),
    pytest.param("h**p://example.com", "http://example.com", "example.com", id="starred-scheme"),
    pytest.param("http[:]//example.com", "http://example.com", "example.com", id="bracketed-colon"),
    pytest.param("hxxps[:]//example[.]com/path", "https://example.com/path", "example.com", id="everything-at-once"),
    pytest.param("bit . ly", "http://bit.ly", "bit.ly", id="spaced-dot-shortener"),
]


@pytest.mark.parametrize("text, url, host", OBFUSCATED)
def test_obfuscated_link_is_deobfuscated_and_marked(text, url, host):
    link = only_link(text)
    assert (link.url, link.host, link.obfuscated, link.source) == (url, host, True, "text")


def test_plainly_written_link_is_not_marked_obfuscated():
    assert not only_link("http://example.com").obfuscated
    assert not only_link("example.com").obfuscated


# --------------------------------------------------------------------------------------------------
# Shorteners
# --------------------------------------------------------------------------------------------------

SHORTENERS = ["ift.tt", "bit.ly", "tinyurl.com", "t.co", "goo.gl", "cutt.ly", "rb.gy", "shorturl.at", "is.gd",
              "ow.ly", "buff.ly", "rebrand.ly", "tiny.cc", "s.id", "dlvr.it"]


@pytest.mark.parametrize("host", SHORTENERS)
def test_shortened_link_is_marked_as_shortener(host):
    link = only_link(f"read this {host}/aBc123 now")
    assert (link.host, link.shortener) == (host, True)


@pytest.mark.parametrize("host", SHORTENERS)
def test_shortener_with_scheme_is_marked_as_shortener(host):
    assert only_link(f"https://{host}/aBc123").shortener


@pytest.mark.parametrize("host", ["rb.gy", "shorturl.at", "dlvr.it", "is.gd", "t.co"])
def test_bare_shortener_without_path_is_found_whatever_its_tld(host):
    link = only_link(f"click {host} now")
    assert (link.host, link.shortener) == (host, True)


@pytest.mark.parametrize("text, host", [
    pytest.param("www.bit.ly/x", "www.bit.ly", id="www-prefix"),
    pytest.param("http://sub.bit.ly/x", "sub.bit.ly", id="subdomain"),
])
def test_subdomain_of_shortener_is_marked_as_shortener(text, host):
    link = only_link(text)
    assert (link.host, link.shortener) == (host, True)


@pytest.mark.parametrize("text", ["http://example.com/abc", "example.co.in/abc", "http://bitly.example.com/x"])
def test_ordinary_link_is_not_marked_as_shortener(text):
    assert not only_link(text).shortener


# --------------------------------------------------------------------------------------------------
# Registered domain and public suffix
# --------------------------------------------------------------------------------------------------

DOMAINS = [
    pytest.param("sub.example.co.in", "sub.example.co.in", "example.co.in", "co.in", id="sub-co-in"),
    pytest.param("foo.bar.baz.example.co.in", "foo.bar.baz.example.co.in", "example.co.in", "co.in", id="deep-co-in"),
    pytest.param("http://a.b.example.co.uk/x", "a.b.example.co.uk", "example.co.uk", "co.uk", id="co-uk"),
    pytest.param("example.com.au", "example.com.au", "example.com.au", "com.au", id="com-au"),
    pytest.param("www.example.com", "www.example.com", "example.com", "com", id="www-com"),
    pytest.param("http://भारत.भारत/", "भारत.भारत", "भारत.भारत", "भारत", id="idn-tld"),
    pytest.param("xn--mnchen-3ya.de", "xn--mnchen-3ya.de", "xn--mnchen-3ya.de", "de", id="punycode"),
    pytest.param("http://münchen.de", "münchen.de", "münchen.de", "de", id="idn-label"),
]


@pytest.mark.parametrize("text, host, registered_domain, suffix", DOMAINS)
def test_registered_domain_and_suffix_follow_the_public_suffix_list(text, host, registered_domain, suffix):
    link = only_link(text)
    assert (link.host, link.registered_domain, link.suffix) == (host, registered_domain, suffix)


# --------------------------------------------------------------------------------------------------
# IP-address hosts (IPv6 in brackets is supported)
# --------------------------------------------------------------------------------------------------

IP_HOSTS = [
    pytest.param("http://192.168.1.1/x", "192.168.1.1", id="ipv4"),
    pytest.param("http://10.0.0.1:8080/", "10.0.0.1", id="ipv4-port"),
    pytest.param("visit 192.168.1.1 now", "192.168.1.1", id="ipv4-bare"),
    pytest.param("192.168.1.1:8080/x", "192.168.1.1", id="ipv4-bare-port-path"),
    pytest.param("http://[::1]/x", "::1", id="ipv6-loopback"),
    pytest.param("http://[2001:db8::1]:8080/x", "2001:db8::1", id="ipv6-port"),
]


@pytest.mark.parametrize("text, host", IP_HOSTS)
def test_ip_address_host_is_marked_as_ip(text, host):
    link = only_link(text)
    assert (link.host, link.ip, link.registered_domain, link.suffix, link.shortener) == (host, True, host, "", False)


def test_domain_name_host_is_not_marked_as_ip():
    assert not only_link("http://example.com").ip


# --------------------------------------------------------------------------------------------------
# Trailing punctuation is not part of the link
# --------------------------------------------------------------------------------------------------

TRAILING = [
    pytest.param("Visit http://example.com.", "http://example.com", "http://example.com", id="full-stop"),
    pytest.param("see http://example.com/path.", "http://example.com/path", "http://example.com/path",
                 id="full-stop-after-path"),
    pytest.param("(see http://example.com)", "http://example.com", "http://example.com", id="in-parentheses"),
    pytest.param("(see example.com/x).", "http://example.com/x", "example.com/x", id="bare-in-parentheses"),
    pytest.param("(http://en.wikipedia.org/wiki/Foo_(bar))", "http://en.wikipedia.org/wiki/Foo_(bar)",
                 "http://en.wikipedia.org/wiki/Foo_(bar)", id="balanced-parenthesis-kept"),
    pytest.param("Go to example.com, then", "http://example.com", "example.com", id="comma"),
    pytest.param("Is it http://example.com/faq?", "http://example.com/faq", "http://example.com/faq",
                 id="question-mark"),
    pytest.param("Really: www.example.com!", "http://www.example.com", "www.example.com", id="exclamation-mark"),
    pytest.param("'http://example.com'", "http://example.com", "http://example.com", id="single-quotes"),
    pytest.param('"http://example.com"', "http://example.com", "http://example.com", id="double-quotes"),
    pytest.param("[http://example.com]", "http://example.com", "http://example.com", id="square-brackets"),
    pytest.param("<http://example.com>", "http://example.com", "http://example.com", id="angle-brackets"),
    pytest.param("bit.ly/abc...", "http://bit.ly/abc", "bit.ly/abc", id="ellipsis"),
    pytest.param("देखो example.com।", "http://example.com", "example.com", id="bare-before-danda"),
    pytest.param("देखो http://example.com।", "http://example.com", "http://example.com", id="scheme-before-danda"),
    pytest.param("देखो http://example.com॥", "http://example.com", "http://example.com",
                 id="scheme-before-double-danda"),
    pytest.param("Check “http://example.com”", "http://example.com", "http://example.com", id="curly-quotes"),
    pytest.param("Check ‘http://example.com’", "http://example.com", "http://example.com", id="curly-single-quotes"),
    pytest.param("Check «http://example.com»", "http://example.com", "http://example.com", id="guillemets"),
    pytest.param("[b]http://example.com[/b]", "http://example.com", "http://example.com", id="bbcode-closing-tag"),
    pytest.param("[img]http://example.com/a.png[/img]", "http://example.com/a.png", "http://example.com/a.png",
                 id="bbcode-closing-tag-after-path"),
]


@pytest.mark.parametrize("text, url, written", TRAILING)
def test_trailing_punctuation_is_not_part_of_the_link(text, url, written):
    link = only_link(text)
    assert (link.url, text[link.start:link.end]) == (url, written)


def test_url_in_bbcode_link_text_is_found():
    links = find_links("[url=http://a.example.com]http://b.example.com[/url]")
    assert [link.host for link in links] == ["a.example.com", "b.example.com"]


# --------------------------------------------------------------------------------------------------
# Text that only looks like a link
# --------------------------------------------------------------------------------------------------

NOT_LINKS = [
    pytest.param("e.g. this", id="e.g."),
    pytest.param("i.e. that", id="i.e."),
    pytest.param("i.e., that", id="i.e.-comma"),
    pytest.param("pi is 3.14", id="decimal"),
    pytest.param("pi=3.14159.", id="decimal-full-stop"),
    pytest.param("open file.txt", id="file-name"),
    pytest.param("open image.png", id="file-name-png"),
    pytest.param("see readme.md", id="file-name-ccTLD-not-in-bare-list"),
    pytest.param("Mr.Smith said", id="title-no-space"),
    pytest.param("Ph.D. student", id="ph.d."),
    pytest.param("in the U.S.A.", id="initialism"),
    pytest.param("U.K.", id="initialism-short"),
    pytest.param("यह बहुत अच्छा है.", id="devanagari-full-stop"),
    pytest.param("अच्छा है.अगला", id="devanagari-missing-space"),
    pytest.param("यह बहुत अच्छा है।", id="devanagari-danda"),
    pytest.param("accha hai.to kya hua", id="hinglish-missing-space"),
    pytest.param("I agree.So what", id="missing-space-capital"),
    pytest.param("I liked it.Watch it", id="missing-space-capital-tld-word"),
    pytest.param("Nice.Thanks", id="missing-space-two-words"),
    pytest.param("post me.se", id="missing-space-se"),
    pytest.param("agree.so", id="missing-space-so"),
    pytest.param("mail name@gmail.com", id="e-mail"),
    pytest.param("mail first.last@gmail.com", id="e-mail-dotted-local-part"),
    pytest.param("release v1.2.3", id="version"),
    pytest.param("version 1.2.3", id="version-no-v"),
    pytest.param("at 10.30am", id="time"),
    pytest.param("at 10.30 am", id="time-spaced"),
    pytest.param("only Rs.100/-", id="rupee-price"),
    pytest.param("No.1 fan", id="number-abbreviation"),
    pytest.param("hello...world", id="ellipsis"),
    pytest.param("wait..what", id="double-dot"),
    pytest.param("example..com", id="empty-label"),
    pytest.param("see www.example", id="www-without-tld"),
    pytest.param("foo.to", id="bare-tld-not-in-bare-list"),
    pytest.param('<a href="/about">x</a>', id="href-site-relative"),
    pytest.param('<a href="#top">x</a>', id="href-fragment"),
    pytest.param('<a href="mailto:name@example.com">x</a>', id="href-mailto"),
    pytest.param('<a href="javascript:void(0)">x</a>', id="href-javascript"),
    pytest.param("[x](/relative)", id="markdown-relative"),
    pytest.param('<a href="MAILTO:name@example.com">x</a>', id="href-mailto-upper-case"),
    pytest.param('<a href="JAVASCRIPT:void(0)">x</a>', id="href-javascript-upper-case"),
    pytest.param("[x](MAILTO:name@example.com)", id="markdown-mailto-upper-case"),
    # Word-like TLDs are not in the bare list: a bare name needs a path, "www." or a scheme to count.
    pytest.param("run setup.sh first", id="shell-script"),
    pytest.param("a great.work indeed", id="missing-space-word-tld"),
    pytest.param("during the dot com bubble", id="dot-com-bubble", marks=pytest.mark.xfail(strict=True, reason=(
        "known limitation, accepted: '<word> dot com' is always read as an obfuscated link, so 'the dot com "
        "bubble' gives the.com, marked obfuscated; telling prose from 'example dot com' needs more than a "
        "pattern"))),
]


@pytest.mark.parametrize("text", NOT_LINKS)
def test_text_that_only_looks_like_a_link_is_not_a_link(text):
    assert find_links(text) == []


def test_bare_name_needs_a_tld_from_the_bare_list_unless_written_with_path_or_www():
    assert find_links("foo.to") == []
    assert only_link("foo.to/x").host == "foo.to"
    assert only_link("www.foo.to").host == "www.foo.to"
    assert only_link("http://foo.to").host == "foo.to"


# --------------------------------------------------------------------------------------------------
# Spans, order and source
# --------------------------------------------------------------------------------------------------

SPANS = [
    pytest.param("see http://example.com/path now", "http://example.com/path", id="scheme"),
    pytest.param("go www.example.com, ok", "www.example.com", id="www"),
    pytest.param("visit sub.example.co.in.", "sub.example.co.in", id="bare"),
    pytest.param("write example dot com now", "example dot com", id="obfuscated"),
    pytest.param("x hxxp://example[.]com y", "hxxp://example[.]com", id="obfuscated-scheme"),
    pytest.param("मेरी साइट.भारत पर", "साइट.भारत", id="devanagari"),
    pytest.param('a <a class="c" href="http://example.com/a">x</a> b', '<a class="c" href="http://example.com/a">',
                 id="html-tag"),
    pytest.param("a [url=http://example.com/b]x[/url] b", "[url=http://example.com/b]", id="bbcode-equals"),
    pytest.param("a [url]http://example.com/c[/url] b", "[url]http://example.com/c[/url]", id="bbcode-body"),
    pytest.param("a [x](http://example.com/d) b", "[x](http://example.com/d)", id="markdown"),
]


@pytest.mark.parametrize("text, written", SPANS)
def test_link_span_covers_the_written_link(text, written):
    link = only_link(text)
    assert text[link.start:link.end] == written
    assert link.start == text.index(written)


def test_links_are_returned_in_order_of_appearance_with_their_spans():
    text = "a http://x.com b www.y.com c z.co.in d <a href='http://w.org'>e</a>"
    links = find_links(text)
    assert [(link.host, text[link.start:link.end]) for link in links] == [
        ("x.com", "http://x.com"),
        ("www.y.com", "www.y.com"),
        ("z.co.in", "z.co.in"),
        ("w.org", "<a href='http://w.org'>"),
    ]


def test_same_link_written_twice_is_reported_twice():
    text = "example.com and example.com"
    assert [(link.start, link.end) for link in find_links(text)] == [(0, 11), (16, 27)]


def test_source_argument_labels_links_written_as_text():
    assert only_link("http://example.com").source == "text"
    links = find_links("see http://example.com and <a href='http://example.org'>x</a>", source="html")
    assert [link.source for link in links] == ["html", "html"]


def test_text_without_links_gives_an_empty_list():
    assert find_links("") == []
    assert find_links("no links here, just words") == []


def test_to_dict_leaves_out_the_span():
    out = only_link("http://bit.ly/x").to_dict()
    assert out == dict(url="http://bit.ly/x", host="bit.ly", registered_domain="bit.ly", suffix="ly",
                       shortener=True, obfuscated=False, ip=False, source="text", internal=False)


# --------------------------------------------------------------------------------------------------
# The author's URL
# --------------------------------------------------------------------------------------------------

AUTHOR_URLS = [
    pytest.param("myblog.blogspot.com", "myblog.blogspot.com", dict(shortener=False, ip=False, obfuscated=False),
                 id="bare-blogspot"),
    pytest.param("  myblog.blogspot.com  ", "myblog.blogspot.com", dict(), id="surrounding-whitespace"),
    pytest.param("http://example.com", "example.com", dict(url="http://example.com"), id="with-scheme"),
    pytest.param("https://www.example.co.in/about", "www.example.co.in",
                 dict(registered_domain="example.co.in", suffix="co.in"), id="www-co-in"),
    pytest.param("foo.to", "foo.to", dict(url="http://foo.to"), id="bare-any-tld"),
    pytest.param("foo.so", "foo.so", dict(), id="bare-tld-that-is-a-word"),
    pytest.param("bit.ly/x", "bit.ly", dict(shortener=True), id="shortener"),
    pytest.param("bit.ly", "bit.ly", dict(shortener=True), id="shortener-no-path"),
    pytest.param("hxxp://evil.com", "evil.com", dict(obfuscated=True, url="http://evil.com"), id="obfuscated"),
    pytest.param("192.168.0.1", "192.168.0.1", dict(ip=True), id="ip"),
    pytest.param("münchen.de", "münchen.de", dict(), id="idn"),
]


@pytest.mark.parametrize("value, host, expected", AUTHOR_URLS)
def test_author_url_counts_as_a_link_whatever_its_form(value, host, expected):
    link = author_url_link(value)
    assert link is not None
    assert (link.host, link.source) == (host, "author_url")
    assert_fields(link, expected)


@pytest.mark.parametrize("value", ["", "   ", "example", "localhost", "http://", "javascript:alert(1)"])
def test_author_url_without_a_host_is_not_a_link(value):
    assert author_url_link(value) is None


@pytest.mark.parametrize("value", ["myblog.blogspot.com", "  myblog.blogspot.com  ", "https://example.com/x"])
def test_author_url_span_lies_within_the_value(value):
    link = author_url_link(value)
    assert (link.start, link.end) == (0, len(value))


# --------------------------------------------------------------------------------------------------
# Properties (hypothesis)
# --------------------------------------------------------------------------------------------------

LINKISH_TOKENS = [
    ".", ":", "/", "[", "]", "(", ")", "<", ">", "{", "}", "w", "h", "t", " ", "dot", "d", "o", "x", "@", "-",
    "?", "#", "=", '"', "'", "http://", "https://", "hxxp", "www.", "xn--", ".com", ".in", ".co.in", " dot ",
    "[.]", "(dot)", " . ", "<a ", "href=", "src=", "[url=", "[url]", "[/url]", "](", "bit.ly", "t.co", "भारत",
    "अच्छा", "है", "।", "\u200b", "1", "192.168.", "[::1]", "::", "%", "。", "”", "example", "\n",
]
linkish_text = st.one_of(
    st.text(alphabet=".:/[]()<>wht dot"),
    st.lists(st.sampled_from(LINKISH_TOKENS), max_size=40).map("".join),
)
any_text = st.one_of(st.text(), linkish_text)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(any_text)
def test_find_links_never_raises_and_every_span_lies_within_the_text(text):
    links = find_links(text)
    for link in links:
        assert isinstance(link, Link)
        assert 0 <= link.start < link.end <= len(text)
        assert link.source in CONTENT_SOURCES
        assert link.host and link.host == link.host.lower()
        assert link.url.lower().startswith(("http://", "https://"))


@PROPERTY_SETTINGS
@given(any_text)
def test_found_links_are_in_order_and_do_not_overlap(text):
    # features.prepare replaces each span by a token, walking the links in order.
    spans = [(link.start, link.end) for link in find_links(text)]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))


@PROPERTY_SETTINGS
@given(any_text)
def test_author_url_link_never_raises(text):
    link = author_url_link(text)
    if link is not None:
        assert link.source == "author_url"
        assert link.start < link.end
        assert link.host


@PROPERTY_SETTINGS
@given(st.sampled_from(["http://", "https://", "www.", ""]),
       # "q..." is never a public suffix itself (unlike "co", "net" or "post" before ".in")
       st.from_regex(r"[a-z0-9]{0,10}", fullmatch=True).map(lambda rest: "q" + rest),
       st.sampled_from(["com", "co.in", "net", "org", "in"]),
       st.text(alphabet="abc ", max_size=10), st.text(alphabet="xyz ", max_size=10))
def test_link_embedded_in_prose_is_found_at_its_place(prefix, name, tld, before, after):
    written = f"{prefix}{name}.{tld}"
    text = f"{before} {written} {after}"
    links = find_links(text)
    assert [text[link.start:link.end] for link in links] == [written]


# The one case-blind pattern the hint used to be; _hinted must say exactly what it said.
ONE_HINT_PATTERN = re.compile(r"\.[^\W_]|//|www|href|src|\[url|\]\(|[\[({]\s*(?:\.|dot)|\sdot\s|\s\.\s", re.IGNORECASE)
hint_text = st.lists(st.sampled_from([*LINKISH_TOKENS, "WWW", "wWw", "HrEf", "SRC", "[URL", "DOT", " DoT ", "ſrc",
                                      "ſ", "K", "İ", "ß", "ﬅ", "\u2003", "\t"]), max_size=12).map("".join)


@pytest.mark.parametrize("text", ["WWW", "a HrEf", "ſrc=", "[URL]", "x DoT y", "(DOT)", "x . y", "[ .", "a.b", "//",
                                  "](", "no hint here", "ſ", "İ", "a\u2003.\u2003b", ""])
def test_hint_says_what_the_single_pattern_said(text):
    assert _hinted(text) == bool(ONE_HINT_PATTERN.search(text))


@PROPERTY_SETTINGS
@given(st.one_of(any_text, hint_text))
def test_hint_says_what_the_single_pattern_said_on_any_text(text):
    assert _hinted(text) == bool(ONE_HINT_PATTERN.search(text))


def test_a_character_ignorecase_takes_for_a_hint_letter_case_folds_to_that_letter():
    # _hinted looks for its words in the case-folded text before asking the case-blind pattern: this is
    # what makes that safe, checked over every code point.
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    for letter in "whrefscul":
        taken = set(re.findall(letter, everything, re.IGNORECASE))
        assert {c.casefold() for c in taken} == {letter}, letter


# --------------------------------------------------------------------------------------------------
# Linear time
# --------------------------------------------------------------------------------------------------



func_by_name = {"find_links": find_links, "author_url_link": author_url_link}


def best_time(func, text: str) -> float:
    func("warm up http://example.com bit.ly/x")  # load the suffix list and shortener list first
    return best_of_three(func, text)


def measure(func_name: str, unit: str) -> tuple[float, float]:
    """Best of three runs on n and on 4n characters."""
    func = func_by_name[func_name]
    return best_time(func, sized(unit, N)), best_time(func, sized(unit, 4 * N))


ADVERSARIAL = [
    pytest.param(".", id="dots"),
    pytest.param("[", id="open-brackets"),
    pytest.param("[(", id="bracket-parenthesis"),
    pytest.param("<a href=", id="html-attribute-openers"),
    pytest.param("a.", id="letter-dot"),
    pytest.param("x dot ", id="word-dot"),
    pytest.param("http://", id="schemes"),
    pytest.param("यह बहुत अच्छा है. ", id="devanagari-sentences"),
]
# Devanagari sentences joined without a space ("...है.यह...") make one candidate link every 17 characters;
# that runs at 0.8-1.1 s per MB here (bench/adversarial.py). The cause is the per-candidate cost, pinned
# down by the dense cases below (devanagari-letter-pairs).


# The author URL is one short form field; a few of the inputs are enough for it.
AUTHOR_ADVERSARIAL = [param for param in ADVERSARIAL if param.id in ("dots", "open-brackets", "schemes", "word-dot")]
FUNC_CASES = [*(("find_links", param) for param in ADVERSARIAL),
              *(("author_url_link", param) for param in AUTHOR_ADVERSARIAL)]
TIMING_CASES = [pytest.param(func_name, *param.values, id=f"{func_name}-{param.id}") for func_name, param in FUNC_CASES]


@pytest.mark.parametrize("func_name, unit", TIMING_CASES)
def test_time_grows_linearly_with_input_length(func_name, unit):
    assert_linear_retried(lambda: measure(func_name, unit))


# A comment is at most 64 KiB (spamgate.config.max_comment_bytes); "x.com " * 11,000 fills it with candidates,
# below MAX_CANDIDATES, so these rows time the candidates themselves. Each one that looks like a host is
# checked (suffix lookup, cached per host; a Link built): bench/adversarial.py measures what that costs
# per megabyte; here only its growth is checked.
COMMENT_SIZE = 65_536
DENSE = [
    pytest.param("x.com ", id="bare-links"),
    pytest.param("क.ख ", id="devanagari-letter-pairs"),
    pytest.param("<a " + "href=" * 100, id="many-href-in-one-tag"),
    pytest.param("[url=", id="bbcode-url-openers"),
]


@pytest.mark.parametrize("unit", DENSE)
def test_a_comment_dense_with_candidates_takes_time_linear_in_its_length(unit):
    assert_linear_retried(lambda: (best_time(find_links, sized(unit, COMMENT_SIZE // 4)),
                                   best_time(find_links, sized(unit, COMMENT_SIZE))))


# Ordinary comments, English, Hindi and Hinglish with a few links: the yardstick for the dense rows, measured
# in the same run so that a slow machine slows both.
ORDINARY = "\n".join([
    "Nice post, thanks for sharing! पूरी खबर यहाँ पढ़ें https://example.in/news/123",
    "bahut badhiya article hai bhai, keep it up. Waiting for the next part.",
    "I disagree with the author on the second point; the data from 2019 says otherwise.",
    "यह लेख बहुत अच्छा है, धन्यवाद। मैंने इसे अपने दोस्तों के साथ साझा किया।",
    "Check the official notice at www.india.gov.in before you believe any of this.",
    "Visit my site for more: bit.ly/3xYz and follow me!",
])
# A comment of nothing but candidates costs 1.1-2.9 times ordinary comments of its length here (each
# distinct candidate is checked once); before the tag and host fixes it was over 8 times.
DENSE_RATIO = 6.0


@pytest.mark.parametrize("unit", DENSE)
def test_a_comment_dense_with_candidates_costs_a_few_times_an_ordinary_one(unit):
    for _ in range(3):
        ordinary = best_time(find_links, sized(ORDINARY, COMMENT_SIZE))
        dense = best_time(find_links, sized(unit, COMMENT_SIZE))
        if dense < DENSE_RATIO * ordinary:
            return
    raise AssertionError(f"{dense:.3f}s for {COMMENT_SIZE:,} characters of {unit[:10]!r}, {ordinary:.3f}s of ordinary text")


# One megabyte holds 170,000-250,000 candidates; only the first MAX_CANDIDATES (20,000) are examined, so
# it costs about twice a full comment (11,000 candidates), not the fifteen times its length would say.
CAPPED_RATIO = 6.0


@pytest.mark.parametrize("unit", DENSE[:2])
def test_a_megabyte_dense_with_candidates_is_bounded_by_max_candidates(unit):
    for _ in range(3):
        comment = best_time(find_links, sized(unit, COMMENT_SIZE))
        megabyte = best_time(find_links, sized(unit, 1_000_000))
        if megabyte < CAPPED_RATIO * comment:
            return
    raise AssertionError(f"{megabyte:.3f}s for 1,000,000 characters, {comment:.3f}s for {COMMENT_SIZE:,}")


def test_a_candidate_that_comes_back_is_checked_once_and_placed_where_it_is(monkeypatch):
    from model import links as L

    checked = []
    make_link = L._make_link
    monkeypatch.setattr(L, "_make_link", lambda url, *a, **k: checked.append(url) or make_link(url, *a, **k))
    L._candidate.cache_clear()
    text = "see x.com, x.com! <a href='http://y.org'>a</a> then <a href='http://y.org'>b</a> x.com"
    found = find_links(text)
    assert sorted(checked) == ["http://x.com", "http://y.org"]
    assert [text[link.start : link.end] for link in found] == [
        "x.com", "x.com", "<a href='http://y.org'>", "<a href='http://y.org'>", "x.com"]
    monkeypatch.setattr(L, "CACHED_CANDIDATE_LENGTH", -1)  # every candidate worked out afresh
    assert find_links(text) == found
