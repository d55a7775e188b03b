"""What every feature's CLI shares: the database run, the error exit, the stderr console
and the listening-port checks.

The feature CLIs import this and `callhistory.cli` imports them, so imports run one way;
that holds only while this module imports no feature (tests/test_layout.py).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.config import get_settings
from callhistory.db import create_engine, migrate

__all__ = [
    "another_port",
    "ensure_port_free",
    "err",
    "fail",
    "port_problem",
    "run_with_engine",
    "split_address",
]

err = Console(stderr=True)
T = TypeVar("T")


def run_with_engine(work: Callable[[AsyncEngine], Awaitable[T]], *, migrated: bool = True) -> T:
    """Run `work` on the configured database (migrated first), then close it."""

    async def main() -> T:
        settings = get_settings()
        engine = create_engine(settings.database_url, settings.database_pool_size)
        try:
            if migrated:
                await migrate(engine)
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def fail(message: str) -> typer.Exit:
    """Print the error; the caller raises what this returns (exit code 1)."""
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def split_address(address: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:PORT` for IPv6) as a host and a port number."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise typer.BadParameter(f"{address!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def port_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on host:port, or None when it can.

    Binds as uvicorn does (SO_REUSEADDR), so a port left in TIME_WAIT by a server that
    just stopped counts as free, and only a port someone listens on counts as taken.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot resolve {host!r}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use (another server?)"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def another_port(port: int) -> int:
    """A port to suggest instead of a taken one."""
    return port + 1 if port < 65535 else port - 1


def ensure_port_free(host: str, port: int, hint: str) -> None:
    """Fail before any data is touched when the server could not listen anyway."""
    problem = port_problem(host, port)
    if problem is not None:
        # Unwrapped, so the hint stays one line that can be copied.
        err.print(f"[red]error:[/red] {problem}; {hint}", soft_wrap=True)
        raise typer.Exit(code=1)
