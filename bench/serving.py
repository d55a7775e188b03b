"""What the benchmarks share to run a server beside them: a free port, the `callhistory`
command of this Python, and a process started, waited for until it answers, then stopped."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def callhistory_command() -> list[str]:
    """`callhistory` next to this Python, else on PATH, else through this Python."""
    script = Path(sys.executable).with_name("callhistory")
    if script.exists():
        return [str(script)]
    found = shutil.which("callhistory")
    if found:
        return [found]
    return [sys.executable, "-c", "from callhistory.cli import app; app()"]


def answers(url: str, ok: Callable[[int], bool] = lambda status: status == 200) -> bool:
    """Whether a GET of `url` gets an answer `ok` accepts (not a refused connection)."""
    with contextlib.suppress(httpx.HTTPError):
        return ok(httpx.get(url, timeout=1).status_code)
    return False


@contextlib.contextmanager
def running(
    name: str, process: subprocess.Popen[str], ready: Callable[[], bool], seconds: float = 120
) -> Iterator[None]:
    """Until the block ends: wait for `ready()`, then stop the process (terminate, then
    kill after 30 s). SystemExit, with what it wrote to stderr, if it stops or is slow."""
    try:
        deadline = time.monotonic() + seconds
        while not ready():
            if process.poll() is not None:
                error = process.stderr.read()[-2000:] if process.stderr else ""
                raise SystemExit(f"{name} exited with {process.returncode}: {error}")
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start in {seconds:g} s")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def start_serve(
    workers: int, env: dict[str, str], log: IO[bytes], cwd: Path
) -> tuple[asyncio.subprocess.Process, int]:
    """`callhistory serve` with `workers` on a free port, its output into `log`; the
    process and its port."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *callhistory_command(),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
        env=env,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
    )
    return process, port


async def stop(process: asyncio.subprocess.Process, seconds: float) -> None:
    """Terminate (in-flight requests finish), then kill after `seconds`."""
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), timeout=seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
