"""import_job.Pipeline: chunks stored at once, finished (checkpointed) in order."""

from __future__ import annotations

import asyncio

import pytest

from callhistory.ingest.backfill.job import Pipeline


async def _chunk(name: str, seconds: float, log: list[str]) -> str:
    log.append(f"start {name}")
    await asyncio.sleep(seconds)
    log.append(f"stored {name}")
    return name


async def test_chunks_overlap_but_finish_in_the_order_given() -> None:
    log: list[str] = []

    async def after(name: str) -> None:
        log.append(f"after {name}")

    pipeline = Pipeline(depth=2)
    await pipeline.submit({"a"}, _chunk("first", 0.05, log), after)
    await pipeline.submit({"b"}, _chunk("second", 0.0, log), after)
    await pipeline.drain()
    # the second started before the first was stored, and was stored first...
    assert log.index("start second") < log.index("stored first")
    assert log.index("stored second") < log.index("stored first")
    # ...but is checkpointed only after it
    assert [e for e in log if e.startswith("after")] == ["after first", "after second"]


async def test_a_chunk_sharing_a_call_waits_for_the_one_in_flight() -> None:
    log: list[str] = []

    async def after(name: str) -> None:
        log.append(f"after {name}")

    pipeline = Pipeline(depth=2)
    await pipeline.submit({"a", "b"}, _chunk("first", 0.02, log), after)
    await pipeline.submit({"b", "c"}, _chunk("second", 0.0, log), after)
    await pipeline.drain()
    assert log.index("after first") < log.index("start second")


async def test_no_more_than_depth_in_flight() -> None:
    running = 0
    most = 0

    async def chunk() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1

    async def after(_: None) -> None:
        return None

    pipeline = Pipeline(depth=2)
    for n in range(6):
        await pipeline.submit({str(n)}, chunk(), after)
    await pipeline.drain()
    assert most == 2


async def test_a_failed_chunk_stops_the_ones_after_it_unrecorded() -> None:
    done: list[str] = []

    async def failing() -> str:
        await asyncio.sleep(0.01)
        raise RuntimeError("power cut")

    async def after(name: str) -> None:
        done.append(name)

    pipeline = Pipeline(depth=2)
    await pipeline.submit({"a"}, failing(), after)
    await pipeline.submit({"b"}, _chunk("second", 0.05, []), after)
    with pytest.raises(RuntimeError, match="power cut"):
        await pipeline.drain()
    assert done == []  # the second is not checkpointed past the failed one
    await pipeline.drain()  # nothing left in flight
