"""The `callhistory` command: the features' commands assembled, plus the few that run the
service itself (migrate, serve, worker).

Imports run one way: this module imports the feature CLIs (`<feature>/cli.py`), they
import `callhistory.cli_support`, never this module (tests/test_layout.py).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth.cli import key_app, tenant_app
from callhistory.calls.cli import calls_app
from callhistory.cli_support import another_port, ensure_port_free, err, fail, run_with_engine
from callhistory.config import UnsafeSettings, check_production, get_settings
from callhistory.dashboard.cli import user_app
from callhistory.demo.cli import demo
from callhistory.directory.cli import directory_app
from callhistory.evaluations.cli import criteria_app
from callhistory.exports.cli import export_command
from callhistory.ingest.cli import import_command, ingest_app
from callhistory.retention_cli import prune
from callhistory.webhooks.cli import webhooks_app

app = typer.Typer(help="callhistory: call history for cloud call centers.", no_args_is_help=True)


def migrate_command() -> None:
    """Create or upgrade the schema to the newest migration."""
    run_with_engine(lambda _: asyncio.sleep(0))
    err.print("schema is up to date")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Migrate the database, then serve the API."""
    import uvicorn

    try:
        check_production(get_settings())
    except UnsafeSettings as exc:
        raise fail(str(exc)) from exc

    from callhistory.ops import log_config

    ensure_port_free(host, port, f"pick another with --port {another_port(port)}")
    run_with_engine(lambda _: asyncio.sleep(0))
    uvicorn.run(
        "callhistory.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=get_settings().log_level,
        log_config=log_config(get_settings().log_level),
        access_log=False,
        timeout_graceful_shutdown=30,  # in-flight requests finish; new ones go elsewhere
    )


def worker(
    interval: Annotated[float, typer.Option(help="Seconds between idle rounds.")] = 1.0,
) -> None:
    """Deliver webhooks and run queued exports until stopped (Ctrl-C)."""
    from callhistory.webhooks.worker import run_forever

    async def work(engine: AsyncEngine) -> None:
        stop = asyncio.Event()
        err.print("worker running (Ctrl-C stops it)")
        try:
            await run_forever(engine, stop, interval)
        except asyncio.CancelledError:
            stop.set()

    try:
        run_with_engine(work)
    except KeyboardInterrupt:
        err.print("worker stopped")


# `callhistory --help` lists the commands in this order, then the groups in theirs.
app.command("import")(import_command)
app.command("migrate")(migrate_command)
app.command("serve")(serve)
app.command("demo")(demo)
app.command("worker")(worker)
app.command("prune")(prune)
app.command("export")(export_command)

app.add_typer(tenant_app, name="tenant")
app.add_typer(key_app, name="key")
app.add_typer(calls_app, name="calls")
app.add_typer(user_app, name="user")
app.add_typer(directory_app, name="directory")
app.add_typer(criteria_app, name="criteria")
app.add_typer(ingest_app, name="ingest")
app.add_typer(webhooks_app, name="webhooks")
