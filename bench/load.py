"""Load on the real service: gunicorn + Redis on loopback, driven by wrk.

Measures requests/s and p50/p99 latency at --connections connections for:
  - ceiling: a trivial Flask endpoint (parse the JSON, return JSON) under the same gunicorn settings,
  - floor: the ceiling plus one or two calls to Redis (bench/ceiling.py), what round trips alone leave,
  - cache hit: the same comment again and again,
  - cache miss: a different real comment every request,
  - batch: 100 different comments per request,
then each worker's resident memory. Starts its own redis-server on a free port and stops everything at
the end. Needs `wrk` (Debian: apt-get install wrk) and `redis-server`.

With --profile DIR, py-spy (pip install py-spy) samples every worker through each measured run and
writes DIR/<run>-<pid>.txt (collapsed stacks) and prints the functions that take most of the samples.

Run:  .venv/bin/python bench/load.py [--repeats 3] [--duration 15] [--connections 16] [--workers 2] [--profile DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.auth import add_key  # noqa: E402
from training.data import load  # noqa: E402

LUA = """
local bodies = {BODIES}
local counter = 0
local batch = {BATCH}
-- A number in letters: the tag that makes each comment new must not read as a phone number, which
-- every comment would then carry (and validate, cold, at about 60 us).
local function letters(n)
  local out = ""
  repeat
    out = out .. string.char(97 + n % 26)
    n = math.floor(n / 26)
  until n == 0
  return out
end
request = function()
  counter = counter + 1
  local body
  if batch > 0 then
    local items = {}
    for i = 1, batch do
      local b = bodies[((counter * batch + i) % #bodies) + 1]
      items[i] = '{"content": ' .. string.sub(b, 1, -2) .. ' #' .. letters(counter * batch + i) .. '-' .. THREAD .. '"}'
    end
    body = '{"comments": [' .. table.concat(items, ",") .. ']}'
  elseif {UNIQUE} then
    local b = bodies[(counter % #bodies) + 1]
    body = '{"content": ' .. string.sub(b, 1, -2) .. ' #' .. letters(counter) .. '-' .. THREAD .. '"}'
  else
    body = '{"content": ' .. bodies[1] .. '}'
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Authorization"] = "Bearer {TOKEN}"}, body)
end
setup = function(thread)
  thread:set("THREAD", letters(math.random(1, 1000000)))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def wrk(url: str, script: Path, connections: int, duration: int) -> dict:
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--latency", "-s",
                          str(script), url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"requests_per_s": rate, "p50": latency.get("50"), "p99": latency.get("99"),
            "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else "none"}


def milliseconds(text: str) -> float:
    """wrk's latency ("850.00us", "8.38ms", "1.24s") in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of these processes so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def profile(pids: list[int], folder: Path, name: str, duration: int) -> list[subprocess.Popen]:
    folder.mkdir(parents=True, exist_ok=True)
    slug = name.split(" (")[0].replace(" ", "-")
    return [subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--duration", str(duration), "--rate", "200", "--format", "raw", "--output", str(folder / f"{slug}-{pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]


def print_profile(folder: Path, name: str, top: int = 25) -> None:
    """Share of the samples in which each function is on the stack (inclusive), over every worker."""
    slug = name.split(" (")[0].replace(" ", "-")
    inclusive: dict[str, int] = {}
    total = 0
    for path in folder.glob(f"{slug}-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            total += int(count)
            for frame in set(stack.split(";")):
                inclusive[frame] = inclusive.get(frame, 0) + int(count)
    print(f"-- {name}: {total} samples; functions on the stack in most of them", file=sys.stderr)
    for frame, count in sorted(inclusive.items(), key=lambda item: -item[1])[:top]:
        print(f"{100 * count / max(total, 1):5.1f}%  {frame}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--rate-limit", default="100000000/minute",
                        help="SPAMGATE_RATE_LIMIT for the service: by default on but never reached; none to measure without")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of every run; the table gives medians")
    parser.add_argument("--unix-socket", action="store_true", help="reach Redis through a Unix socket, not TCP")
    parser.add_argument("--profile", type=Path, help="sample the workers with py-spy into this folder")
    parser.add_argument("--only", nargs="*", help="run only these runs (ceiling, hit, miss, batch)")
    args = parser.parse_args()
    for tool in ("wrk", "redis-server") + (("py-spy",) if args.profile else ()):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")

    texts = [ex.comment["content"] for ex in load([args.data]) if "]]" not in ex.comment["content"]]
    bodies = "{" + ",".join(f"[[{json.dumps(t, ensure_ascii=False)}]]" for t in texts[::7][:1500]) + "}"
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            redis_port = free_port()
            procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                           "--dir", tmp, "--appendonly", "yes", "--appendfsync", "everysec",
                                           "--save", "", "--unixsocket", str(tmp / "redis.sock"),
                                           "--unixsocketperm", "700"], stdout=subprocess.DEVNULL))
            redis_url = (f"unix://{tmp / 'redis.sock'}?db=0" if args.unix_socket
                         else f"redis://127.0.0.1:{redis_port}/0")
            _, token = add_key(tmp / "keys.json", "bench", "client")
            env = {**os.environ, "SPAMGATE_REDIS_URL": redis_url,
                   "SPAMGATE_KEYS_FILE": str(tmp / "keys.json"), "SPAMGATE_WORKERS": str(args.workers),
                   # The limiter stays on (its Redis round trip is part of the cost) but never refuses.
                   "SPAMGATE_RATE_LIMIT": args.rate_limit}
            conf = str(ROOT / "service" / "gunicorn.conf.py")
            ports = {"ceiling": free_port(), "service": free_port()}
            ceiling = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", conf, "--bind",
                                        f"127.0.0.1:{ports['ceiling']}", "bench.ceiling:app"], cwd=ROOT, env=env,
                                       stderr=subprocess.DEVNULL)
            service = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", conf, "--bind",
                                        f"127.0.0.1:{ports['service']}"], cwd=ROOT, env=env,
                                       stderr=open(tmp / "service.log", "w"))
            procs += [ceiling, service]
            wait_http(f"http://127.0.0.1:{ports['ceiling']}/healthz")
            wait_http(f"http://127.0.0.1:{ports['service']}/healthz")
            runs = {
                "ceiling (trivial Flask endpoint)": ("ceiling", "/v1/comments/check", 0, "false"),
                "floor: ceiling + 1 Redis call": ("ceiling", "/floor/1", 0, "false"),
                "floor: ceiling + 2 Redis calls": ("ceiling", "/floor/2", 0, "false"),
                "cache hit": ("service", "/v1/comments/check", 0, "false"),
                "cache miss": ("service", "/v1/comments/check", 0, "true"),
                "batch of 100": ("service", "/v1/comments/check-batch", 100, "true"),
            }
            if args.only:
                runs = {name: run for name, run in runs.items()
                        if name.split()[0] == "ceiling" or any(word in name for word in args.only)}
            rounds: list[dict] = []
            for round_number in range(args.repeats):
                results = {}
                for name, (target, path, batch, unique) in runs.items():
                    script = tmp / f"{target}-{batch}-{unique}.lua"
                    script.write_text(LUA.replace("{BODIES}", bodies).replace("{BATCH}", str(batch))
                                      .replace("{UNIQUE}", unique).replace("{TOKEN}", token))
                    url = f"http://127.0.0.1:{ports[target]}{path}"
                    wrk(url, script, args.connections, 3)  # warm-up: caches, connections, page faults
                    workers = worker_pids(service.pid if target == "service" else ceiling.pid)
                    samplers = profile(workers, args.profile, name, args.duration) if args.profile else []
                    before = cpu_seconds(workers), cpu_seconds([procs[0].pid])
                    results[name] = wrk(url, script, args.connections, args.duration)
                    after = cpu_seconds(workers), cpu_seconds([procs[0].pid])
                    done = results[name]["requests_per_s"] * args.duration
                    results[name]["worker_cpu_ms"] = 1000 * (after[0] - before[0]) / done
                    results[name]["redis_cpu_ms"] = 1000 * (after[1] - before[1]) / done
                    for sampler in samplers:
                        sampler.wait(timeout=60)
                    if samplers:
                        print_profile(args.profile, name)
                    print(f"round {round_number + 1}", name, json.dumps(results[name]), file=sys.stderr, flush=True)
                ceiling_rate = results["ceiling (trivial Flask endpoint)"]["requests_per_s"]
                for r in results.values():
                    r["x_ceiling"] = r["requests_per_s"] / ceiling_rate
                rounds.append(results)
            memory = [rss_mb(pid) for pid in worker_pids(service.pid)]
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()

    print(f"\ngunicorn, {args.workers} sync workers, wrk 2 threads x {args.connections} connections, "
          f"{args.duration}s per run, loopback, one 2-core machine shared by wrk and the service; "
          f"median of {args.repeats} rounds (each ratio is taken within its round)")
    print(f"{'run':<34}{'req/s':>10}{'x ceiling':>11}{'comments/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}"
          f"{'worker CPU ms/req':>19}{'Redis CPU ms/req':>18}  socket errors")
    for name in rounds[0]:
        def median(field, convert=float):
            return statistics.median(convert(r[name][field]) for r in rounds)
        comments = median("requests_per_s") * (100 if "batch" in name else 1)
        errors = sum(r[name]["non_2xx"] for r in rounds)
        sockets = "; ".join(sorted({r[name]["socket_errors"] for r in rounds}))
        print(f"{name:<34}{median('requests_per_s'):>10.0f}{median('x_ceiling'):>11.2f}{comments:>12.0f}"
              f"{median('p50', milliseconds):>10.1f}{median('p99', milliseconds):>10.1f}{errors:>9}"
              f"{median('worker_cpu_ms'):>19.3f}{median('redis_cpu_ms'):>18.3f}  {sockets}")
    print("worker resident memory (MB): " + ", ".join(f"{m:.0f}" for m in memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
