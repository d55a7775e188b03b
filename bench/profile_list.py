"""Where a request's time goes: one of bench.api's queries, profiled in one process.

    python -m bench.profile_list --database postgresql://postgres@127.0.0.1:5432/ch1m
    python -m bench.profile_list --database sqlite:///bench1m.db --query "list agents" -n 300

The app runs in this process behind httpx's ASGI transport (no sockets, no uvicorn:
what is left is the framework, auth, our code, SQLAlchemy and the driver), the query
is sent `-n` times at concurrency 1 after a warm-up, and pyinstrument prints the
profile's heaviest frames. The database's own time shows as the driver's awaits.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx
from pyinstrument import Profiler

from bench import api as bench_api
from callhistory.app import create_app
from callhistory.db import create_engine
from callhistory.ratelimit import Limits, RateLimiter


async def profile(url: str, name: str, requests: int) -> str:
    engine = create_engine(url)
    try:
        picks = await bench_api._picks(engine)
        (query,) = [q for q in bench_api._workload(picks) if q.name == name]
        app = create_app(engine, rate_limiter=RateLimiter(Limits(api=None, ingest=None)))
        transport = httpx.ASGITransport(app=app)
        headers = {"x-api-key": picks.key}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def one(n: int) -> None:
                path = (
                    query.path.format(tid=query.rotate[n % len(query.rotate)])
                    if query.rotate
                    else query.path
                )
                r = await client.request(
                    query.method, path, params=query.params, json=query.body, headers=headers
                )
                r.raise_for_status()

            for n in range(20):
                await one(n)
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            began = time.perf_counter()
            with profiler:
                for n in range(requests):
                    await one(n)
            each = (time.perf_counter() - began) * 1000 / requests
    finally:
        await engine.dispose()
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    return f"{name}: {requests} requests, {each:.2f} ms each (profiled)\n{text}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--query", default="list", help="a bench.api query name")
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()
    print(asyncio.run(profile(args.database, args.query, args.n)))


if __name__ == "__main__":
    main()
