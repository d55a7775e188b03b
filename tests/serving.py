"""The real server as a subprocess (`callhistory serve`), for the tests that kill or
stop it."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from bench.serving import callhistory_command


@asynccontextmanager
async def server(database_url: str, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {**os.environ, "CALLHISTORY_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        *callhistory_command(),
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # Generous: a busy machine starts Python slowly; a server that never answers
        # fails the test here rather than as missing acknowledgements.
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as probe:
            while True:
                try:
                    if (await probe.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                await asyncio.sleep(0.05)
        yield process
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
