"""The ceiling for bench/load.py: a trivial Flask endpoint (parse the JSON, return JSON), served by
the same gunicorn settings as spamgate. Nothing the service does can be faster than this.

Beside it, the floor of a check that keeps what the service must keep: the same trivial endpoint plus one
or two calls to Redis through redis-py, each a small Lua script writing a record of a cached result's size
(a cache hit makes two: the rate limiter's count, then the cache read that stores the verdict record).
No scoring, no validation: what these reach is what Redis round trips alone leave of the ceiling."""

import os

import redis
from flask import Flask, jsonify, request

app = Flask(__name__)
# The Redis bench/load.py starts for the run (never a default one: the machine's own is left alone).
_redis = redis.Redis.from_url(os.environ["SPAMGATE_REDIS_URL"], socket_timeout=0.25, decode_responses=True)
_record = _redis.register_script("redis.call('SET', KEYS[1], ARGV[1], 'EX', 60) return 1")
_RESULT = "x" * 700  # about a result's JSON


@app.post("/v1/comments/check")
def check():
    body = request.get_json()
    return jsonify({"verdict": "allow", "length": len(body.get("content", ""))})


@app.post("/floor/<int:calls>")
def floor(calls: int):
    body = request.get_json()
    for i in range(calls):
        _record(keys=[f"bench:floor:{os.getpid()}:{i}"], args=[_RESULT])
    return jsonify({"verdict": "allow", "length": len(body.get("content", ""))})


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})
