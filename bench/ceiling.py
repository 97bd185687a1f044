"""The ceiling for bench/load.py: a trivial Flask endpoint (parse the JSON, return JSON), served by
the same gunicorn settings as spamgate. Nothing the service does can be faster than this."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/v1/comments/check")
def check():
    body = request.get_json()
    return jsonify({"verdict": "allow", "length": len(body.get("content", ""))})


@app.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})
