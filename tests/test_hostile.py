"""Hostile requests, and the answer each must get.

Every row of ``ROWS`` is a request a broken or malicious client may send, with the status, error code and
field it must be answered with, and how long the answer may take. Each row goes through Flask's test
client and, as raw bytes, to a real gunicorn: http.client and requests would fix or refuse most of these
requests before sending them. ``SERVER_ROWS`` are requests gunicorn itself must refuse before the app
sees them: a 4xx, never a 5xx, and the worker lives on. The property tests at the end post random JSON
to both check endpoints.

Each row states what stops it (``guard``), so a reader can see the row would fail without it.
"""

from __future__ import annotations

import io
import json
import math
import re
import socket
import threading
import time
from dataclasses import dataclass

import pytest
import redis
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.errors import code_for
from tests.servers import module_gunicorn

CHECK = "/v1/comments/check"
BATCH = "/v1/comments/check-batch"
REPORT = "/v1/feedback"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    id: str
    body: bytes
    status: int
    code: str | None = None  # the error code, for an error the app answers
    field: str | None = None  # the field an error must name
    guard: str = ""  # what makes the service answer this way; without it the row fails
    path: str = CHECK
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    # How the body is framed: "length" (Content-Length), "chunked" (Transfer-Encoding: chunked, no length),
    # "declared" (Content-Length: ``declared``, of which only ``body`` is ever sent), or, over HTTP only,
    # "raw-chunked" (``body`` is already chunked, or meant to be and is not) and "none" (``headers`` say it).
    framing: str = "length"
    declared: int = 0
    # Seconds from the first byte sent to the whole answer: generous, as other tests may share the machine.
    within: float = 3.0
    via: tuple[str, ...] = ("client", "http")  # the test client, real HTTP to gunicorn, or both
    half_close: bool = False  # over HTTP: shut our sending side after the body, as a client that gives up
    xfail: str = ""  # a known bug: the reason, until it is fixed
    xfail_via: tuple[str, ...] = ("client", "http")  # where the bug shows


def _json(value) -> bytes:
    return json.dumps(value).encode()


def _nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


def _wrong_type(field: str, value, path: str = CHECK, base: dict | None = None) -> Row:
    body = {"content": "a comment", **(base or {}), field: value}
    where = "" if path == CHECK else path.rsplit("/", 1)[1] + "-"
    return Row(f"{where}{field}-is-{json.dumps(value)[:12]}", _json(body), 400, "invalid_field", field,
               "each field's type is checked at the edge", path)


TEN_THOUSAND_SHORT_LINKS = " ".join(["a.co"] * 10_000)  # 50 KB: within the comment limit
TEN_THOUSAND_LINKS = " ".join(f"https://example.com/{i}" for i in range(10_000))  # 240 KB: over it
# A JSON body padded with whitespace to exactly the body limit, then more: whatever comes after the limit
# must not be ignored.
_PADDED = b'{"content": "looks whole at one mebibyte"}'
PADDED_PAST_THE_LIMIT = _PADDED + b" " * (MiB - len(_PADDED)) + b'{"content": "the rest"}'

ROWS = [
    # -- bytes that are not UTF-8 JSON text
    Row("invalid-utf8", b'{"content": "caf\xe9 au lait"}', 400, "invalid_json",
        guard="_json_body turns a UnicodeDecodeError into 400"),
    # json.loads decodes bytes with "surrogatepass": an encoded lone surrogate arrives as a str.
    Row("utf8-encoded-surrogate", b'{"content": "\xed\xa0\x80 half a pair"}', 400, "invalid_field", "content",
        guard="Comment.from_mapping refuses a lone surrogate"),
    Row("latin1-declared-as-charset", "{\"content\": \"déjà vu\"}".encode("latin-1"), 400, "invalid_json",
        content_type="application/json; charset=latin-1", guard="JSON is UTF-8 whatever the charset says"),
    Row("raw-nul-in-a-string", b'{"content": "a\x00b"}', 400, "invalid_json",
        guard="json.loads refuses control characters in strings"),
    Row("only-nul-bytes", b"\x00" * 100, 400, "invalid_json", guard="_json_body"),
    Row("empty-body", b"", 400, "invalid_json", guard="_json_body"),
    # NUL as data is text like any other: scored, stored in Redis and logged without harm.
    Row("escaped-nul-in-every-field", _json({"content": "nul \u0000 inside", "author": "\u0000",
                                             "author_url": "http://\u0000.example/", "honeypot": "",
                                             "comment_id": "\u0000"}), 200,
        guard="nothing chokes on NUL: Redis values, the Lua scripts, the link detector, the log line"),
    # -- size
    Row("ten-thousand-links-within-the-comment-limit", _json({"content": TEN_THOUSAND_SHORT_LINKS}), 200,
        within=5.0, guard="linear-time link detection"),
    Row("ten-thousand-links-over-the-comment-limit", _json({"content": TEN_THOUSAND_LINKS}), 413, "too_large",
        "content", guard="check_size (SPAMGATE_MAX_COMMENT_BYTES) before scoring"),
    Row("a-megabyte-of-dots", _json({"content": "." * MiB}), 413, "too_large",
        guard="MAX_CONTENT_LENGTH: the body is over SPAMGATE_MAX_REQUEST_BYTES"),
    Row("dots-up-to-the-body-limit", _json({"content": "." * (MiB - 100)}), 413, "too_large", "content",
        guard="check_size: under the body limit, over the comment limit"),
    Row("sixty-thousand-dots", _json({"content": "." * 60_000}), 200, guard="linear-time normaliser"),
    Row("spaced-dots", _json({"content": ". " * 30_000}), 200, guard="linear-time obfuscated-link scan"),
    Row("dot-words", _json({"content": "example dot " * 5_000}), 200, guard="linear-time 'example dot com' scan"),
    Row("batch-of-ten-thousand", _json({"comments": [{"content": "hi"}] * 10_000}), 413, "too_large", "comments",
        path=BATCH, guard="SPAMGATE_MAX_BATCH, checked before any item is parsed"),
    # Only the head and a few bytes are ever sent: that an answer comes at all shows nothing waited to read
    # the hundred megabytes (over HTTP a server that did would time out; in process, hit the stream's end).
    Row("a-hundred-megabytes-declared", b'{"content": "the rest never comes', 413, "too_large",
        framing="declared", declared=100 * MiB, guard="MAX_CONTENT_LENGTH, checked before the body is read"),
    Row("a-hundred-megabytes-declared-expecting-continue", b"", 413, "too_large", framing="declared",
        declared=100 * MiB, headers=(("Expect", "100-continue"),),
        guard="MAX_CONTENT_LENGTH, checked before the body is read"),
    # -- nesting
    Row("hundred-thousand-brackets", _nested(100_000), 400, "invalid_json",
        guard="_json_body turns RecursionError into 400"),
    Row("hundred-thousand-objects", b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, 400, "invalid_json",
        guard="_json_body turns RecursionError into 400"),
    Row("brackets-inside-content", b'{"content": ' + _nested(100_000) + b"}", 400, "invalid_json",
        guard="_json_body turns RecursionError into 400"),
    Row("parseable-nesting-inside-content", b'{"content": ' + _nested(500) + b"}", 400, "invalid_field",
        "content", guard="Comment.from_mapping checks the type"),
    Row("a-5000-digit-comment-id", b'{"content": "x", "comment_id": ' + b"9" * 5000 + b"}", 400, "invalid_json",
        guard="Python's int digit limit (quadratic parsing); _json_body turns its ValueError into 400"),
    # -- the wrong JSON types where strings belong: the error names the field
    *[_wrong_type("content", v) for v in (5, 1.5, True, [], {}, ["a comment"], {"text": "a comment"})],
    Row("content-is-nan", b'{"content": NaN}', 400, "invalid_field", "content", guard="Comment.from_mapping"),
    Row("content-is-infinity", b'{"content": 1e999}', 400, "invalid_field", "content", guard="Comment.from_mapping"),
    Row("content-is-null", b'{"content": null}', 400, "invalid_field", "content", guard="Comment.from_mapping"),
    Row("content-is-whitespace", _json({"content": " \t\n\u00a0\u3000"}), 400, "invalid_field", "content",
        guard="Comment.from_mapping: content must not be blank"),
    *[_wrong_type(f, v) for f, v in (("author", 5), ("author_email", False), ("author_url", ["http://x.example"]),
                                     ("honeypot", {}), ("permalink", 0), ("user_ip", [1, 2, 3, 4]), ("lang", 1.0))],
    *[_wrong_type(f, v) for f, v in (("comment_id", {}), ("comment_id", True), ("post_id", 1.5),
                                     ("created_at", ["2026-01-01"]))],
    *[Row(f"body-is-{json.dumps(v)}", _json(v), 400, "invalid_field", "body", guard="_object")
      for v in ([], "a comment", 5, None)],
    *[Row(f"batch-comments-is-{json.dumps(v)}", _json({"comments": v}), 400, "invalid_field", "comments",
          path=BATCH, guard="check_batch checks comments") for v in ("x", {}, None, [], 5)],
    Row("batch-body-is-an-array", _json([{"content": "x"}]), 400, "invalid_field", "body", path=BATCH, guard="_object"),
    *[_wrong_type(f, v, REPORT, {"label": "spam"}) for f, v in (("label", 5), ("label", "SPAM"), ("moderator", []),
                                                                ("note", "n" * 1001), ("content", 5))],
    # -- content types
    Row("text-plain", _json({"content": "hi"}), 415, "unsupported_media_type", content_type="text/plain",
        guard="_json_body checks the mimetype"),
    Row("no-content-type", _json({"content": "hi"}), 415, "unsupported_media_type", content_type=None,
        guard="_json_body checks the mimetype"),
    Row("json-lookalike", _json({"content": "hi"}), 415, "unsupported_media_type",
        content_type="application/jsonp", guard="_json_body checks the mimetype"),
    Row("multipart", b"--x\r\nContent-Disposition: form-data; name=content\r\n\r\nhi\r\n--x--\r\n", 415,
        "unsupported_media_type", content_type="multipart/form-data; boundary=x", guard="_json_body"),
    # -- bodies without a length
    Row("chunked", _json({"content": "a chunked comment"}), 200, framing="chunked",
        guard="the server dechunks (wsgi.input_terminated)"),
    Row("chunked-over-the-body-limit", _json({"content": "x" * (2 * MiB)}), 413, "too_large", framing="chunked",
        guard="a body without a length may not pass the limit either"),
    Row("chunked-whole-looking-at-the-limit", PADDED_PAST_THE_LIMIT, 413, "too_large", framing="chunked",
        guard="a body without a length may not pass the limit either"),
    # A client that gives up after a prefix that happens to be JSON: the body is not whole, and must not be scored.
    Row("length-cut-short", b'{"content": "cut"}', 400, "bad_request", framing="declared", declared=100,
        half_close=True, guard="_json_body: a body shorter than its Content-Length is refused"),
    # gunicorn dechunks while the app reads, so a broken chunk reaches the app as gunicorn's ParseException.
    *[Row(name, body, 400, "bad_request", framing="raw-chunked", via=("http",),
          guard="service/errors.py answers gunicorn's body ParseException with 400")
      for name, body in (("bad-chunk-size", b"zz\r\nhello\r\n0\r\n\r\n"),
                         ("chunk-missing-its-terminator", b"5\r\nhelloXX0\r\n\r\n"),
                         ("bad-chunk-extension", b"5;\x01\r\nhello\r\n0\r\n\r\n"))],
    Row("chunked-body-cut-off", b"400\r\n" + b"x" * 10, 400, "bad_request", framing="raw-chunked", via=("http",),
        half_close=True, guard="werkzeug's ClientDisconnected on gunicorn's NoMoreData"),
]

# Requests gunicorn must refuse itself (the app never sees them) without losing the worker; the answer is
# still the service's JSON error (service/worker.py).
SERVER_ROWS = [
    Row("a-100-kb-header", _json({"content": "hi"}), 431, headers=(("X-Padding", "p" * 100_000),),
        guard="limit_request_field_size"),
    Row("a-100-kb-authorization", _json({"content": "hi"}), 431,
        headers=(("Authorization", "Bearer " + "k" * 100_000),), guard="limit_request_field_size"),
    Row("a-thousand-headers", _json({"content": "hi"}), 431,
        headers=tuple((f"X-H{i}", "v") for i in range(1000)), guard="limit_request_fields"),
    Row("nul-in-a-header", _json({"content": "hi"}), 400, headers=(("X-Note", "a\x00b"),),
        guard="gunicorn's header value check"),
    Row("folded-header", _json({"content": "hi"}), 400, headers=(("X-Note", "a\r\n folded"),),
        guard="gunicorn refuses obsolete line folding"),
    Row("two-content-lengths", _json({"content": "hi"}), 400, headers=(("Content-Length", "3"),),
        guard="gunicorn refuses conflicting lengths (request smuggling)"),
    Row("length-and-chunked", b"5\r\nhello\r\n0\r\n\r\n", 400, headers=(("Transfer-Encoding", "chunked"),),
        guard="gunicorn refuses Content-Length with Transfer-Encoding (request smuggling)"),
    Row("negative-length", b"", 400, framing="declared", declared=-1, guard="gunicorn's Content-Length check"),
    Row("length-not-a-number", b"", 400, headers=(("Content-Length", "12abc"),), framing="none",
        guard="gunicorn's Content-Length check"),
    # RFC 9112 6.1: a transfer coding the server does not understand is answered 501.
    Row("unknown-transfer-coding", b"5\r\nhello\r\n0\r\n\r\n", 501, headers=(("Transfer-Encoding", "br, chunked"),),
        framing="none", guard="gunicorn refuses codings it cannot undo"),
    Row("a-100-kb-url", b"", 414, path=CHECK + "?" + "q" * 100_000, guard="limit_request_line"),
]


def params(rows: list[Row], via: str) -> list:
    """The rows sent ``via`` the test client or http, a known bug marked as a strict xfail."""
    def marks(row):
        return [pytest.mark.xfail(strict=True, reason=row.xfail)] if row.xfail and via in row.xfail_via else []

    return [pytest.param(row, id=row.id, marks=marks(row)) for row in rows if via in row.via]


# -- the answer ---------------------------------------------------------------------------------------


def assert_error_shape(body, *, item: bool = False) -> dict:
    """``{"error": {"code", "message", "field"?}}`` and nothing else (``status`` too for a batch item)."""
    assert isinstance(body, dict) and list(body) == ["error"], body
    error = body["error"]
    allowed = {"code", "message", "field"} | ({"status"} if item else set())
    assert {"code", "message"} <= set(error) <= allowed, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error.get("field", ""), str)
    return error


def assert_answer(row: Row, status: int, body: bytes, elapsed: float) -> None:
    assert elapsed <= row.within, f"{row.id}: answered in {elapsed:.2f}s, more than {row.within}s"
    assert b"Traceback" not in body
    assert status == row.status, f"{row.id}: {status} {body[:300]!r}"
    decoded = json.loads(body)
    if status >= 400:
        error = assert_error_shape(decoded)
        assert error["code"] == row.code
        assert error.get("field") == row.field
    elif row.path == CHECK:
        assert decoded["verdict"] in ("allow", "review", "block")


# -- through the test client ----------------------------------------------------------------------------


def _send_in_process(client, row: Row, headers: dict):
    headers = {**headers, **dict(row.headers)}
    kwargs = {"headers": headers, "content_type": row.content_type}
    if row.framing == "length":
        kwargs["data"] = row.body
    elif row.framing == "chunked":
        # What gunicorn hands the app for a chunked body: a stream the server ends, and no length (werkzeug
        # ignores CONTENT_LENGTH when Transfer-Encoding is chunked).
        kwargs["headers"]["Transfer-Encoding"] = "chunked"
        kwargs.update(input_stream=io.BytesIO(row.body), environ_overrides={"wsgi.input_terminated": True})
    elif row.framing == "declared":
        kwargs.update(input_stream=io.BytesIO(row.body), environ_overrides={"CONTENT_LENGTH": str(row.declared)})
    return client.post(row.path, **kwargs)


@pytest.mark.parametrize("row", params(ROWS, "client"))
def test_through_the_test_client(row, client, auth):
    started = time.monotonic()
    response = _send_in_process(client, row, auth())
    assert_answer(row, response.status_code, response.get_data(), time.monotonic() - started)


# -- over real HTTP, to gunicorn --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory, redis_server):
    """One gunicorn for the module, with a client key: the rows only read and score."""
    gunicorn, tokens = module_gunicorn(redis_server, tmp_path_factory.mktemp("hostile"), prefix="hostile")
    token = gunicorn.token = tokens["client"]
    for i in range(4):  # a worker's first scoring is its slowest; the rows time the service warm
        requests.post(gunicorn.base + CHECK, json={"content": f"warming up {i}"},
                      headers={"Authorization": f"Bearer {token}"})
    yield gunicorn
    gunicorn.stop()


def _chunks(body: bytes, size: int = 64 * 1024) -> bytes:
    out = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(out) + b"0\r\n\r\n"


def raw_request(row: Row, token: str) -> tuple[bytes, bytes]:
    """The request as bytes: head and body, framed as the row says, sent as they are."""
    lines = [f"POST {row.path} HTTP/1.1", "Host: spamgate.test", "Connection: close"]
    if not any(k.lower() == "authorization" for k, _ in row.headers):
        lines.append(f"Authorization: Bearer {token}")
    if row.content_type:
        lines.append(f"Content-Type: {row.content_type}")
    lines += [f"{k}: {v}" for k, v in row.headers]
    body = row.body
    if row.framing == "length":
        lines.append(f"Content-Length: {len(body)}")
    elif row.framing == "declared":
        lines.append(f"Content-Length: {row.declared}")
    elif row.framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        body = _chunks(body)
    elif row.framing == "raw-chunked":
        lines.append("Transfer-Encoding: chunked")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
    return head, body


def exchange(port: int, head: bytes, body: bytes, timeout: float,
             half_close: bool = False) -> tuple[int, bytes, float]:
    """Send a request as raw bytes and read the answer: (status, body, seconds). The body is sent from a
    thread while the answer is read, so a server that answers before reading it all is seen doing so;
    a server that waits for bytes that never come is a timeout."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    started = time.monotonic()

    def send():
        try:
            sock.sendall(head)
            for i in range(0, len(body), 64 * 1024):
                sock.sendall(body[i:i + 64 * 1024])
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before taking it all: its right
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    data = b""
    try:
        while True:
            try:
                chunk = sock.recv(1 << 16)
            except ConnectionResetError:
                break  # closed with our unread bytes in its buffer; what arrived before is the answer
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise AssertionError(f"no answer within {timeout}s; got {data[:200]!r}") from None
    finally:
        elapsed = time.monotonic() - started
        sock.close()
        sender.join(timeout=5)
    while data.startswith(b"HTTP/1.1 100"):  # an interim answer to Expect: 100-continue
        data = data.split(b"\r\n\r\n", 1)[1]
    head_part, _, answer = data.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 "), f"not an HTTP answer: {data[:200]!r}"
    length = re.search(rb"(?im)^content-length:\s*(\d+)", head_part)
    if length is not None:
        assert int(length.group(1)) == len(answer), f"Content-Length {length.group(1)!r}, {len(answer)} bytes sent"
    return int(head_part.split()[1]), answer, elapsed


@pytest.mark.parametrize("row", params(ROWS, "http"))
def test_over_http(row, server):
    workers = server.worker_pids()
    head, body = raw_request(row, server.token)
    status, answer, elapsed = exchange(server.port, head, body, timeout=row.within + 10, half_close=row.half_close)
    assert_answer(row, status, answer, elapsed)
    assert server.worker_pids() == workers, "a worker died on this request"


@pytest.mark.parametrize("row", params(SERVER_ROWS, "http"))
def test_gunicorn_refuses_with_a_4xx_and_the_worker_lives(row, server):
    workers = server.worker_pids()
    head, body = raw_request(row, server.token)
    status, answer, elapsed = exchange(server.port, head, body, timeout=10)
    assert status == row.status, f"{row.id}: {status} {answer[:200]!r}"
    error = json.loads(answer)["error"]
    assert error["code"] == code_for(row.status) and 0 < len(error["message"]) <= 200, error
    assert "internal error" not in error["message"], error  # gunicorn's reason, e.g. the coding it refused
    assert elapsed <= row.within
    assert server.worker_pids() == workers, "a worker died on this request"
    head, body = raw_request(Row("after", _json({"content": "still serving?"}), 200), server.token)
    assert exchange(server.port, head, body, timeout=10)[0] == 200


# -- random JSON ------------------------------------------------------------------------------------------

COMMENT_FIELDS = ("content", "author", "author_email", "author_url", "user_ip", "user_agent", "referrer",
                  "permalink", "lang", "honeypot", "comment_id", "post_id", "created_at")
# Any code point, lone surrogates included: JSON can carry them as "\ud800".
TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | TEXT
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12)
# Objects with the comment's own keys, so the values reach the field checks and the scorer.
COMMENTS = st.fixed_dictionaries({}, optional={name: JSON_VALUES | TEXT for name in COMMENT_FIELDS})
CHECK_BODIES = COMMENTS | JSON_VALUES
BATCH_BODIES = JSON_VALUES | st.fixed_dictionaries(
    {"comments": st.lists(COMMENTS | JSON_VALUES, max_size=6) | JSON_VALUES})


def _encode(value, ensure_ascii: bool) -> bytes:
    # ensure_ascii=False with a lone surrogate gives bytes that are not UTF-8: a client's bug, sent as is.
    return json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=True).encode("utf-8", "surrogatepass")


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _post(client, auth, path, value, ensure_ascii):
    response = client.post(path, data=_encode(value, ensure_ascii), content_type="application/json", headers=auth())
    assert response.status_code < 500, response.get_data()[:300]
    body = json.loads(response.get_data())
    if response.status_code >= 400:
        assert_error_shape(body)
    return response.status_code, body


@PROPERTY_SETTINGS
@given(value=CHECK_BODIES, ensure_ascii=st.booleans())
def test_any_json_to_check_is_a_verdict_or_one_error_shape(client, auth, value, ensure_ascii):
    status, body = _post(client, auth, CHECK, value, ensure_ascii)
    if status == 200:
        assert body["verdict"] in ("allow", "review", "block") and math.isfinite(body["spam_probability"])


@PROPERTY_SETTINGS
@given(value=BATCH_BODIES, ensure_ascii=st.booleans())
def test_any_json_to_check_batch_is_results_in_order_or_one_error_shape(client, auth, value, ensure_ascii):
    status, body = _post(client, auth, BATCH, value, ensure_ascii)
    if status == 200:
        assert list(body) == ["results"] and len(body["results"]) == len(value["comments"])
        for i, result in enumerate(body["results"]):
            if "error" in result:
                error = assert_error_shape(result, item=True)
                assert error["field"].startswith(f"comments[{i}]") and error["status"] in (400, 413)
            else:
                assert result["verdict"] in ("allow", "review", "block")


@PROPERTY_SETTINGS
@given(data=st.binary(max_size=300))
def test_any_bytes_to_check_are_never_a_5xx(client, auth, data):
    response = client.post(CHECK, data=data, content_type="application/json", headers=auth())
    assert response.status_code < 500
    if response.status_code >= 400:
        assert_error_shape(json.loads(response.get_data()))


# -- what a comment costs ---------------------------------------------------------------------------------


def test_a_comment_full_of_links_costs_no_more_than_twice_the_largest_comment(client, auth, app, redis_server):
    response = client.post(CHECK, json={"content": TEN_THOUSAND_SHORT_LINKS}, headers=auth())
    assert response.status_code == 200
    configured = app.extensions["spamgate"].settings
    bound = 2 * configured.max_comment_bytes
    key = f"{configured.redis_prefix}:v1:verdict:{response.get_json()['id']}"  # the layout README documents
    record = redis.Redis.from_url(redis_server.url).strlen(key)
    assert record > 0
    assert len(response.get_data()) <= bound and record <= bound, \
        f"answer {len(response.get_data()):,} bytes, stored record {record:,} bytes, for a {bound // 2:,}-byte comment"


# -- time linear in the size of the request ------------------------------------------------------------

LINEAR_UNITS = {
    "words": "nice post ", "dots": ".", "links": "a.co ", "escapes": "\\u00e9\\\"", "devanagari": "यह बहुत अच्छा है। ",
    "brackets": "[(<", "digits": "9876543210 ",
}


@pytest.mark.parametrize("unit", list(LINEAR_UNITS.values()), ids=list(LINEAR_UNITS))
def test_a_check_takes_time_linear_in_the_request_size(client, auth, unit):
    """Parsing, validating and scoring a request of 4n bytes takes at most about 4x (MAX_RATIO) the time
    of n bytes: no step of the request path is quadratic, whatever the content repeats."""
    from tests.timing import FLOOR, assert_linear_retried

    sent = iter(range(10**6))

    def body(n: int) -> bytes:
        # The unit is JSON-string text already (escapes included); n bytes of it, cut on a whole unit.
        # A new author each time: every request is scored, none answered from the cache.
        text = unit * max(1, n // len(unit.encode()))
        return ('{"author": "reader ' + str(next(sent)) + '", "content": "' + text + '"}').encode()

    def seconds(n: int) -> float:
        best = float("inf")
        for _ in range(3):
            data = body(n)
            started = time.perf_counter()
            response = client.post(CHECK, data=data, headers={**auth(), "Content-Type": "application/json"})
            best = min(best, time.perf_counter() - started)
            assert response.status_code == 200 and response.get_json()["cached"] is False
        return max(best, FLOOR)

    assert_linear_retried(lambda: (seconds(15_000), seconds(60_000)))
