"""Throughput of `POST /api/cdr`: batches of 1,000 calls through the app, in process.

    .venv/bin/python -m bench.ingest_batch [--url postgresql://postgres@127.0.0.1:5432/postgres]
        [--calls 50000] [--batch 1000] [--concurrency 2]

Makes a scratch database (dropped afterwards) with a tenant, 200 agents and 20,000
customers, stores one warm-up batch and ANALYZEs (as autovacuum would have), then posts
new calls and reports calls per second; a second pass re-posts the same batches (all
`unchanged`). Bodies are encoded beforehand, so the client costs next to nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import time
import uuid
from collections import Counter
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import orjson
from sqlalchemy import text

from callhistory.app import create_app
from callhistory.auth import keys
from callhistory.db import create_engine, migrate, writing
from callhistory.directory.store import bulk_upsert
from callhistory.ingest.batch import ingest_items
from callhistory.ingest.enrich import RecordingUrls
from callhistory.schema import customer_phones, customers


def _calls(count: int, start_ms: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        answered = rng.random() < 0.7
        bill = rng.randint(5, 600) if answered else 0
        outbound = rng.random() < 0.5
        agent = str(rng.randint(100, 299))
        customer = f"09{rng.randint(0, 19_999):08d}"
        created = start_ms - rng.randint(0, 20 * 86_400_000)
        out.append(
            {
                "transaction_id": str(uuid.uuid4()),
                "created_date": created,
                "direction": "outbound" if outbound else "inbound",
                "source_number": agent if outbound else customer,
                "destination_number": customer if outbound else "19001234",
                "disposition": "answered" if answered else "cancelled",
                "bill_sec": bill,
                "duration": bill + rng.randint(3, 30),
                "sip_user": agent,
                "hangup_cause": "NORMAL_CLEARING",
                "hangup_cause_q850": 16,
                "recording_file": f"https://rec.example.vn/{uuid.uuid4()}.mp3"
                if answered
                else None,
            }
        )
    return out


async def _post_all(
    client: httpx.AsyncClient, bodies: list[bytes], headers: dict[str, str], concurrency: int
) -> Counter[str]:
    queue = list(bodies)
    counts: Counter[str] = Counter()

    async def worker() -> None:
        while queue:
            answer = await client.post("/api/cdr", content=queue.pop(), headers=headers)
            payload = answer.json()["payload"]
            for status in ("stored", "updated", "unchanged", "rejected"):
                counts[status] += payload[status]

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return counts


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    name = f"callhistory_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(args.url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = args.url.rsplit("/", 1)[0] + "/" + name
    engine = create_engine(url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            tenant = await keys.create_tenant(conn, "bench", "Asia/Ho_Chi_Minh")
            _, api_key = await keys.create_key(conn, tenant.id, "bench")
        agents = [{"full_name": f"Agent {n}", "sip_user": str(n)} for n in range(100, 300)]
        async with writing(engine) as conn:
            await bulk_upsert(conn, tenant.id, "agents", agents)
            people = [
                {
                    "tenant_id": tenant.id,
                    "id": f"{n:024x}",
                    "full_name": f"Customer {n}",
                    "full_name_unsigned": f"Customer {n}",
                    "phone": f"09{n:08d}",
                }
                for n in range(20_000)
            ]
            await conn.execute(customers.insert(), people)
            await conn.execute(
                customer_phones.insert(),
                [
                    {"tenant_id": tenant.id, "phone": p["phone"], "customer_id": p["id"]}
                    for p in people
                ],
            )

        rng = random.Random(7)
        now = int(time.time() * 1000)
        batches = [
            _calls(min(args.batch, args.calls - n), now, rng)
            for n in range(0, args.calls, args.batch)
        ]
        # A live database has planner statistics (autovacuum's ANALYZE); a fresh one has
        # none until a minute in, and its plans (foreign-key checks included) scan.
        warmup = _calls(args.batch, now, rng)
        await ingest_items(engine, tenant.id, warmup, source="batch", recordings=RecordingUrls())
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
        app = create_app(engine)
        bodies = [orjson.dumps(batch) for batch in batches]
        transport = httpx.ASGITransport(app=app)
        headers = {"x-api-key": api_key, "content-type": "application/json"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for label in ("new", "again (unchanged)"):
                began, cpu = time.perf_counter(), time.process_time()
                counts = await _post_all(client, bodies, headers, args.concurrency)
                seconds = time.perf_counter() - began
                cpu = time.process_time() - cpu
                print(
                    f"{label}: {args.calls:,} calls in {seconds:.2f}s = "
                    f"{args.calls / seconds:,.0f} calls/s (this process's CPU: {cpu:.2f}s) "
                    f"{dict(counts)}"
                )
    finally:
        await engine.dispose()
        admin = await asyncpg.connect(args.url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
