"""Soak: mixed traffic at saturation on the real service, and whether the workers' memory holds still.

Starts its own redis-server (append-only, in a temporary folder, on a free port: never the Redis on 6379)
and a fresh service with the shipped model through `spamgate serve` (gunicorn, the repository's config),
makes a client key and a moderator key for one site, then drives it with wrk and bench/soak.lua:

  - check     POST /v1/comments/check, one comment
  - batch     POST /v1/comments/check-batch, 10 to 100 comments (uniform)
  - lookup    GET /v1/verdicts/{id} with the moderator key, on ids returned by earlier checks
  - feedback  POST /v1/verdicts/{id}/feedback with the moderator key, label spam or ham at random

in the proportions of --mix (70% checks, 10% batches, 10% lookups, 10% feedback by default). Comments,
single or in a batch, are taken --hit percent of the time from a fixed pool of --repeated real comments
(cache hits once seen) and otherwise are new: a real comment made unique with a counter (cache misses).
The rate limit is set so high that it is never reached, but the limiter stays on.

A --warmup run comes first; then each worker's resident memory (VmRSS of the gunicorn master's children),
the --duration run (memory sampled every 5 s), and each worker's memory again. Every non-2xx answer
counts as an error: none is expected (the ids looked up are the thread's own, from its site). Prints
markdown tables: overall and per request type (latency per type is measured in the Lua script, from
handing the request to wrk to its response), the server-side time per route from the service's request
log, cache hits from /metrics, and memory.

Run:  .venv/bin/python bench/soak.py [--duration 60] [--connections 16] [--warmup 10]
Needs `wrk` (Debian: apt-get install wrk) and `redis-server`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import rss_mb, worker_pids  # noqa: E402
from service.auth import add_key  # noqa: E402
from training.data import load  # noqa: E402

LUA = ROOT / "bench" / "soak.lua"
KINDS = ("check", "batch", "lookup", "feedback")
ROUTES = {"/v1/comments/check": "check", "/v1/comments/check-batch": "batch",
          "/v1/verdicts/<verdict_id>": "lookup", "/v1/verdicts/<verdict_id>/feedback": "feedback"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(ok, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ok():
                return
        except (requests.ConnectionError, redis.ConnectionError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s")


def metrics(url: str) -> dict[str, float]:
    values = {}
    for line in requests.get(url, timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def wrk(url: str, args: argparse.Namespace, duration: int, lua_args: list[str]) -> dict:
    out = subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{duration}s",
                          "--timeout", "10s", "--latency", "-s", str(LUA), url, "--", *lua_args],
                         capture_output=True, text=True)
    if out.returncode != 0 or "Requests/sec" not in out.stdout:
        sys.exit(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    out = out.stdout
    result = {"raw": out, "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
              "requests": int(re.search(r"(\d+) requests in", out).group(1)),
              "latency": dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, re.MULTILINE)),
              "non_2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0,
              "socket_errors": m.group(1) if (m := re.search(r"Socket errors: (.*)", out)) else "none",
              "counts": Counter(), "per_kind_latency": {}}
    for line in out.splitlines():
        parts = line.split()
        if parts[:2] == ["SOAK", "count"]:
            result["counts"][" ".join(parts[2:-1])] = int(parts[-1])
        elif parts[:2] == ["SOAK", "latency"]:
            kind, n, p50, p99, p999, top = parts[2], *map(float, parts[3:])
            result["per_kind_latency"][kind] = {"n": int(n), "p50": p50 / 1000, "p99": p99 / 1000,
                                                "p99.9": p999 / 1000, "max": top / 1000}
        elif parts[:2] == ["SOAK", "errors"]:
            result["lua_errors"] = dict(p.split("=") for p in parts[2:])
    return result


def server_times(log: Path, offset: int) -> tuple[dict, Counter, int]:
    """Per route: the service's own durations (ms) and statuses, from its JSON request log after ``offset``."""
    durations, statuses, other = defaultdict(list), Counter(), 0
    with open(log, "rb") as f:
        f.seek(offset)
        for raw in f:
            if not raw.startswith(b'{"request_id"'):
                other += raw.strip() != b""  # gunicorn's own lines: worker restarts, timeouts, tracebacks
                continue
            line = json.loads(raw)
            kind = ROUTES.get(line["route"], line["route"])
            durations[kind].append(line["duration_ms"])
            statuses[(kind, line["status"])] += 1
    return durations, statuses, other


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[max(0, min(len(values) - 1, -(-len(values) * p // 100) - 1))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=60, help="seconds of the measured run (default 60)")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of the warm-up run before it (default 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mix", default="70,10,10,10",
                        help="percent of checks, batches, lookups, feedback (default 70,10,10,10)")
    parser.add_argument("--hit", type=int, default=70, help="percent of comments from the repeated pool (default 70)")
    parser.add_argument("--repeated", type=int, default=300, help="size of the repeated pool (default 300)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = parser.parse_args()
    mix = [int(x) for x in args.mix.split(",")]
    if len(mix) != 4 or sum(mix) != 100 or min(mix) < 0:
        parser.error("--mix takes four percentages adding up to 100")
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")

    texts = [ex.comment["content"] for ex in load([args.data])]
    texts = [t for t in texts[::5] if t.strip() and "\n" not in json.dumps(t)]  # one JSON string per line
    if len(texts) <= args.repeated:
        sys.exit(f"only {len(texts)} comments in {args.data}")
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="spamgate-soak-") as tmp:
        tmp = Path(tmp)
        pool = tmp / "pool.txt"
        pool.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts[:args.repeated + 3000]))
        try:
            redis_port, port = free_port(), free_port()
            procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                           "--dir", str(tmp), "--appendonly", "yes", "--appendfsync", "everysec",
                                           "--save", ""], stdout=subprocess.DEVNULL))
            store = redis.Redis(port=redis_port)
            wait_until(store.ping, "redis-server")
            _, client = add_key(tmp / "keys.json", "soak", "client")
            _, moderator = add_key(tmp / "keys.json", "soak", "moderator")
            env = {**os.environ, "SPAMGATE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                   "SPAMGATE_KEYS_FILE": str(tmp / "keys.json"), "SPAMGATE_DATA_DIR": str(tmp / "var"),
                   # The limiter stays on (its Redis round trip is part of the cost) but never refuses.
                   "SPAMGATE_RATE_LIMIT": "100000000/minute"}
            env.pop("SPAMGATE_MODEL_DIR", None)  # the shipped model
            log = tmp / "service.log"
            # `spamgate serve` execs gunicorn: this process is the gunicorn master.
            service = subprocess.Popen([str(ROOT / ".venv" / "bin" / "spamgate"), "serve", "--no-redis",
                                        "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)],
                                       cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
            procs.append(service)
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: requests.get(f"{base}/readyz", timeout=2).status_code == 200, "the service")
            started, load_before = time.time(), os.getloadavg()
            lua = [str(pool), client, moderator, "", str(args.repeated), f"{args.mix},{args.hit}"]

            print(f"warm-up: {args.warmup} s", file=sys.stderr, flush=True)
            warm = wrk(base, args, args.warmup, lua[:3] + ["w"] + lua[4:])
            pids = worker_pids(service.pid)
            rss_start = {pid: rss_mb(pid) for pid in pids}
            before = metrics(f"{base}/metrics")
            redis_before = store.info("memory")["used_memory"], store.dbsize()
            offset = log.stat().st_size

            samples: list[tuple[float, list[float]]] = []
            stop = threading.Event()

            def sample() -> None:
                t0 = time.monotonic()
                while not stop.wait(5):
                    samples.append((time.monotonic() - t0, [rss_mb(pid) for pid in pids]))

            sampler = threading.Thread(target=sample, daemon=True)
            print(f"run: {args.duration} s", file=sys.stderr, flush=True)
            sampler.start()
            run = wrk(base, args, args.duration, lua[:3] + ["r"] + lua[4:])
            stop.set()
            sampler.join()
            pids_end = worker_pids(service.pid)
            rss_end = {pid: rss_mb(pid) for pid in pids}
            after = metrics(f"{base}/metrics")
            redis_after = store.info("memory")["used_memory"], store.dbsize()
            load_after = os.getloadavg()
            time.sleep(1)  # the last request lines
            durations, statuses, other_lines = server_times(log, offset)
        finally:
            for p in reversed(procs):
                p.send_signal(signal.SIGTERM)
            for p in reversed(procs):
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        if other_lines:
            print(f"the service logged {other_lines} other lines during the run:", file=sys.stderr)
            tail = [l for l in log.read_text().splitlines() if not l.startswith('{"request_id"')]
            print("\n".join(tail[-20:]), file=sys.stderr)

    counts = run["counts"]
    print(f"\n## Soak: {datetime.date.fromtimestamp(started).isoformat()}, {args.duration} s after a {args.warmup} s "
          f"warm-up\n")
    print(f"gunicorn, {args.workers} sync workers (`spamgate serve`, shipped model); wrk {args.threads} threads x "
          f"{args.connections} connections on loopback, bench/soak.lua; mix {args.mix} (check, batch, lookup, "
          f"feedback), {args.hit}% of comments from a pool of {args.repeated} repeated ones; one 2-core machine "
          f"shared by wrk, Redis and the service (load average {load_before[0]:.1f} before the warm-up, "
          f"{load_after[0]:.1f} at the end).\n")
    lat = run["latency"]
    errors = run["non_2xx"]
    print("| requests | requests/s | comments/s | p50 | p90 | p99 | non-2xx | socket errors |")
    print("|---|---|---|---|---|---|---|---|")
    comments = counts.get("cached check true", 0) + counts.get("cached check false", 0) + \
        counts.get("cached batch true", 0) + counts.get("cached batch false", 0)
    print(f"| {run['requests']:,} | {run['requests_per_s']:,.0f} | {comments / args.duration:,.0f} | {lat.get('50')} "
          f"| {lat.get('90')} | {lat.get('99')} | {errors} | {run['socket_errors']} |")

    print("\nPer request type (client side: latency from bench/soak.lua, from wrk asking for the request to its "
          "response; server side: the service's own time, from its request log)\n")
    print("| type | share | answered | /s | 2xx | errors | p50 | p99 | p99.9 | max | server p50 | server p99 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    answered = sum(v for k, v in counts.items() if k.split()[0] in KINDS and k.split()[-1].isdigit())
    for kind in KINDS + ("unknown",):
        by_status = {int(k.split()[1]): v for k, v in counts.items()
                     if k.split()[0] == kind and len(k.split()) == 2 and k.split()[1].isdigit()}
        n = sum(by_status.values())
        if not n and kind == "unknown":
            continue
        ok = sum(v for s, v in by_status.items() if 200 <= s < 300)
        bad = ", ".join(f"{v} × {s}" for s, v in sorted(by_status.items()) if not 200 <= s < 300) or "0"
        cl = run["per_kind_latency"].get(kind, {})
        sv = durations.get(kind, [])
        print(f"| {kind} | {n / max(answered, 1):.0%} | {n:,} | {n / args.duration:,.0f} | {ok:,} | {bad} "
              f"| {cl.get('p50', float('nan')):.1f} ms | {cl.get('p99', float('nan')):.1f} ms "
              f"| {cl.get('p99.9', float('nan')):.1f} ms | {cl.get('max', float('nan')):.0f} ms "
              f"| {pct(sv, 50):.1f} ms | {pct(sv, 99):.1f} ms |")

    hits = after.get('spamgate_verdict_cache_total{result="hit"}', 0) - before.get(
        'spamgate_verdict_cache_total{result="hit"}', 0)
    misses = after.get('spamgate_verdict_cache_total{result="miss"}', 0) - before.get(
        'spamgate_verdict_cache_total{result="miss"}', 0)
    not_stored = sum(v for k, v in counts.items() if k.startswith("stored "))
    print(f"\nComments checked in the run: {hits + misses:,.0f}, cache hits {hits / max(hits + misses, 1):.1%} "
          f"(from /metrics; the Lua script saw {sum(v for k, v in counts.items() if k.endswith(' true')):,} cached "
          f"answers of {comments:,}). Batch items with an error: {counts.get('item_error', 0)}; answers without a "
          f"stored record: {not_stored}. wrk socket errors: {run.get('lua_errors')}.")
    server_bad = {f"{k} {s}": v for (k, s), v in statuses.items() if not 200 <= s < 300}
    print(f"Service request log for the run: {sum(statuses.values()):,} requests, non-2xx: {server_bad or 'none'}; "
          f"other log lines (gunicorn: restarts, timeouts, tracebacks): {other_lines}.")
    print(f"Redis: {redis_before[1]:,} keys, {redis_before[0] / 2**20:.0f} MB after the warm-up; "
          f"{redis_after[1]:,} keys, {redis_after[0] / 2**20:.0f} MB at the end.")

    print("\n| worker | RSS after warm-up | RSS at the end | end / warm-up |")
    print("|---|---|---|---|")
    for pid in pids:
        print(f"| {pid} | {rss_start[pid]:.1f} MB | {rss_end[pid]:.1f} MB | {rss_end[pid] / rss_start[pid]:.3f} |")
    trail = "; ".join(f"{t:.0f} s: " + ", ".join(f"{m:.1f}" for m in ms) for t, ms in samples)
    print(f"\nRSS every 5 s (MB, per worker): {trail}")
    if pids_end != pids:
        print(f"\nThe workers changed during the run: {pids} then {pids_end} (a worker was restarted).")
    print(f"\nwarm-up: {warm['requests']:,} requests, {warm['requests_per_s']:,.0f}/s, non-2xx {warm['non_2xx']}, "
          f"socket errors {warm['socket_errors']}")
    worst = max(rss_end[p] / rss_start[p] for p in pids)
    failed = errors or run["socket_errors"] != "none" or server_bad or worst > 1.10 or pids_end != pids
    print(f"targets: zero errors {'✔' if not (errors or run['socket_errors'] != 'none' or server_bad) else '✘'}, "
          f"worker memory within 10% {'✔' if worst <= 1.10 else '✘'} (worst {worst:.3f})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
