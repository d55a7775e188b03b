"""Load generation: one request sent and timed (`send`), the open loop (Poisson
arrivals at a rate) and the closed loop (clients each waiting for its answer), and the
phases in order: warm-up, the peak (when asked; the soak's rate is a fraction of it),
the soak, with the server's memory sampled throughout."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable

import httpx

from bench.soak.checks import Report
from bench.soak.memory import Memory
from bench.soak.options import Options
from bench.soak.phase import Phase
from bench.soak.tenant import Picks
from bench.soak.workload import Planned, Workload

KEEPALIVE_SECONDS = 2.0  # client side; uvicorn closes idle connections after 5 s


async def send(
    client: httpx.AsyncClient, phase: Phase, planned: Planned, due: float, deadline: float
) -> None:
    """One request, its latency counted from `due`; given up unsent past `deadline`."""
    where = f"{planned.method} {planned.path}"
    if time.perf_counter() > deadline:
        phase.record(planned.kind, due, "timeout (queued past --timeout, not sent)", where)
        return
    error = detail = ""
    try:
        answer = await client.request(
            planned.method,
            planned.path,
            params=planned.params,
            content=planned.content,
            headers=planned.headers,
        )
    except httpx.TimeoutException as exc:
        error, detail = f"timeout ({type(exc).__name__})", f"{where}: {exc!r}"
    except httpx.HTTPError as exc:
        error, detail = f"connection error ({type(exc).__name__})", f"{where}: {exc!r}"
    else:
        if answer.status_code != planned.expect:
            error = f"HTTP {answer.status_code}"
            if answer.status_code == 404 and planned.expect == 200:
                error += " (expected 200)"
            detail = f"{where}: {answer.text[:300]}"
        elif planned.check is not None:
            try:
                error = planned.check(answer) or ""
            except (ValueError, AttributeError) as exc:
                error = f"unreadable answer ({type(exc).__name__})"
            detail = f"{where}: {error}: {answer.text[:200]}"
    phase.record(planned.kind, due, error, detail)


async def open_loop(
    client: httpx.AsyncClient,
    work: Workload,
    rate: float,
    seconds: float,
    connections: int,
    give_up_after: float,
    max_in_flight: int,
    name: str = "soak",
) -> Phase:
    """Requests due at Poisson arrivals of `rate` per second, whatever is still
    unanswered. Due requests wait in a FIFO for one of `connections` senders (a deque,
    not httpx's pool, whose cost grows with its waiters), at most `max_in_flight` of them
    queued or in flight; one that waited longer than `give_up_after` is given up unsent."""
    phase = Phase(name, span=seconds)
    arrivals = random.Random(work.rng.random())
    begin = phase.began
    queue: asyncio.Queue[tuple[float, float, Planned] | None] = asyncio.Queue()
    busy = 0

    async def sender() -> None:
        nonlocal busy
        while (item := await queue.get()) is not None:
            due, queued, planned = item
            busy += 1
            phase.wait_ms.append((time.perf_counter() - queued) * 1000)
            try:
                await send(client, phase, planned, due, due + give_up_after)
            finally:
                busy -= 1

    senders = [asyncio.create_task(sender()) for _ in range(connections)]
    try:
        due = begin
        while True:
            due += arrivals.expovariate(rate)
            if due >= begin + seconds:
                break
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            now = time.perf_counter()
            phase.scheduled += 1
            phase.late_ms.append((now - due) * 1000)
            backlog = queue.qsize() + busy
            phase.backlog.append((now - begin, backlog))
            if backlog >= max_in_flight:
                phase.not_sent += 1
                continue
            queue.put_nowait((due, now, work.make(work.pick())))
        for _ in senders:
            queue.put_nowait(None)
        await asyncio.gather(*senders)
    finally:
        for task in senders:
            task.cancel()
    # answered over the scheduled span, or longer when the last answers come late
    phase.seconds = max(seconds, time.perf_counter() - begin)
    return phase


async def closed_loop(
    client: httpx.AsyncClient, work: Workload, clients: int, seconds: float, name: str
) -> Phase:
    """`clients` loops, each sending its next request when the last one is answered."""
    phase = Phase(name, span=seconds)
    begin = phase.began
    stop = begin + seconds

    async def loop() -> None:
        while (now := time.perf_counter()) < stop:
            phase.scheduled += 1
            await send(client, phase, work.make(work.pick()), now, float("inf"))

    await asyncio.gather(*(loop() for _ in range(clients)))
    phase.seconds = time.perf_counter() - begin
    return phase


def client_limits(connections: int) -> httpx.Limits:
    """The client's pool: `connections`, kept alive for less than the server keeps them."""
    # Idle connections are dropped before uvicorn's own 5 s keep-alive timeout closes
    # them: with both at 5 s (httpx's default), a request sent on a connection the server
    # is closing at that moment fails with a ReadError (seen once in a 2-minute run).
    return httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )


async def find_peak(
    client: httpx.AsyncClient, work: Workload, options: Options, step: Callable[[str], None]
) -> tuple[Phase, float]:
    """The peak phase (closed loop), and the soak's rate: `--load-fraction` of its
    throughput, at least 1 a second."""
    step(f"peak: {options.peak_clients} clients, {options.peak_seconds:g} s")
    peak = await closed_loop(client, work, options.peak_clients, options.peak_seconds, "peak")
    peak_rate = len(peak.samples) / peak.seconds
    rate = max(1.0, options.load_fraction * peak_rate)
    step(f"peak {peak_rate:.1f} req/s: soaking at {rate:.1f} req/s")
    return peak, rate


async def run_phases(
    base: str,
    pid: int,
    picks: Picks,
    options: Options,
    report: Report,
    step: Callable[[str], None],
) -> Memory:
    """Warm-up, the peak when asked, then the soak, into `report`, sampling the server's
    memory (the process tree under `pid`) throughout; the samples."""
    memory = Memory(pid)
    limits = client_limits(options.connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=options.timeout) as client:
        auth = await client.get("/api/auth", params={"apiKey": picks.api_key})
        token = auth.json()["payload"]["access_token"]
        work = Workload(picks, token, options.seed, report.ledger)
        began = time.perf_counter()
        phase_name = "warm-up"
        stop = asyncio.Event()

        async def sampler() -> None:
            while not stop.is_set():
                memory.sample(time.perf_counter() - began, phase_name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), options.sample_seconds)

        sampling = asyncio.create_task(sampler())
        try:
            step("warm-up: 4 clients, 3 s")
            report.warmup = await closed_loop(client, work, 4, 3.0, "warm-up")
            rate = options.rate
            if options.find_peak:
                phase_name = "peak"
                report.peak, rate = await find_peak(client, work, options, step)
            report.rate = rate
            began = time.perf_counter()
            phase_name = "soak"
            memory.sample(0.0, phase_name)
            step(f"soak: {rate:.1f} req/s open loop for {options.duration:g} s")
            report.soak = await open_loop(
                client,
                work,
                rate,
                options.duration,
                options.connections,
                options.timeout,
                options.max_in_flight,
            )
            memory.sample(time.perf_counter() - began, phase_name)
        finally:
            stop.set()
            await sampling
        if memory.appeared:
            report.problems.append(memory.replacements())
    return memory
