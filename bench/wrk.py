"""POSTs driven by wrk (a C load generator) instead of Python clients.

On a 2-core machine a Python client spends as much CPU per request as the server it
measures (httpx: ~2 ms a post), so the figure says more about the client than the
server. wrk costs a few microseconds a request. Each of its threads posts its own slice
of the bodies in turn, for a fixed time; when a slice runs out it starts again (the
re-sends are what a PBX retry looks like, and cost the server the same as a first post).

wrk is Debian's package `wrk`; without it the benchmarks fall back to httpx.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = r"""
local count = 0
local threads = {}
function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end
function init(args)
  local every, path, path_url = tonumber(args[1]), args[2], args[3]
  bodies = {}
  local i = 0
  for line in io.lines(path) do
    if i % every == id then table.insert(bodies, line) end
    i = i + 1
  end
  nxt = 1
  wrapped = 0
  url = path_url
  for h = 4, #args, 2 do wrk.headers[args[h]] = args[h + 1] end
  wrk.method = "POST"
end
function request()
  if nxt > #bodies then nxt = 1; wrapped = wrapped + 1 end
  local body = bodies[nxt]
  nxt = nxt + 1
  return wrk.format(nil, url, nil, body)
end
function done(summary, latency, requests)
  local wraps = 0
  for _, t in ipairs(threads) do wraps = wraps + (t:get("wrapped") or 0) end
  local e = summary.errors
  io.write("WRK_RESULT ", string.format(
    '{"seconds": %f, "requests": %d, "p50_ms": %f, "p99_ms": %f, "max_ms": %f,'
    .. ' "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, "wraps": %d}',
    summary.duration / 1e6, summary.requests, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.connect, e.read, e.write,
    e.status, e.timeout, wraps), "\n")
end
"""


@dataclass(frozen=True)
class WrkRun:
    seconds: float
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    failures: dict[str, int]  # non-2xx answers and socket errors, by kind
    wraps: int  # times a thread ran out of bodies and started its slice again


def available() -> bool:
    return shutil.which("wrk") is not None


def post_bodies(
    url: str,
    path: str,
    bodies: Sequence[bytes],
    headers: Mapping[str, str],
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
) -> WrkRun:
    """POST the bodies (one line each: form-encoded, so no newline inside) for `seconds`."""
    if any(b"\n" in body for body in bodies):
        raise ValueError("a body holds a newline: wrk reads one body per line")
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "post.lua"
        script.write_text(_SCRIPT)
        lines = Path(scratch) / "bodies.txt"
        lines.write_bytes(b"\n".join(bodies) + b"\n")
        pairs = [part for name, value in headers.items() for part in (name, value)]
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url,
            "--",
            str(threads),
            str(lines),
            path,
            *pairs,
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("WRK_RESULT "):
            raw = json.loads(line.removeprefix("WRK_RESULT "))
            failures = {
                kind: int(raw[kind])
                for kind in ("connect", "read", "write", "status", "timeout")
                if raw[kind]
            }
            return WrkRun(
                raw["seconds"],
                raw["requests"],
                raw["p50_ms"],
                raw["p99_ms"],
                raw["max_ms"],
                failures,
                raw["wraps"],
            )
    raise RuntimeError(f"wrk printed no result: {done.stdout[-2000:]} {done.stderr[-2000:]}")
