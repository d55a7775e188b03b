"""The whole soak, in order: a scratch database, the seeded tenant, the webhook
receiver, the server, the phases of load, the webhook drain, then the checks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from rich.console import Console

from bench.ingest import scratch_database
from bench.soak.checks import Report, check_server_log, verify
from bench.soak.load import run_phases
from bench.soak.options import Options
from bench.soak.server import Receiver, drain_webhooks, register_webhook, server
from bench.soak.tenant import TENANT, seed_tenant

WEBHOOK_DRAIN_SECONDS = 20.0


async def run(options: Options, say: Console | None = None) -> Report:
    """The whole soak, in a scratch database; raises PostgresUnavailable first thing
    when the server cannot be reached."""
    report = Report(options, load_start=os.getloadavg()[0])

    def step(message: str) -> None:
        if say is not None:
            say.log(message)

    async with scratch_database(options.admin_url) as url:
        step(f"seeding tenant {TENANT!r}: {options.seed_calls:,} demo calls")
        picks = await seed_tenant(url, options.seed_calls, options.seed)
        report.seeded_calls = len(picks.seeded)
        receiver = Receiver()
        hooks = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
        hook_port = hooks.sockets[0].getsockname()[1]
        log_file = Path(tempfile.mkdtemp(prefix="callhistory-soak-")) / "server.log"
        report.server_log = str(log_file)
        try:
            async with server(url, options.workers, log_file) as (base, pid):
                step(f"server up at {base} (pid {pid}), {options.workers} workers, worker on")
                if options.webhook:
                    await register_webhook(base, picks, hook_port)
                report.memory = await run_phases(base, pid, picks, options, report, step)
                if options.webhook:
                    step("waiting for webhook deliveries to drain")
                    await drain_webhooks(url, picks.tenant_id, WEBHOOK_DRAIN_SECONDS)
                step("stopping the server")
            report.integrity = await verify(url, picks, report.ledger)
        finally:
            hooks.close()
            await hooks.wait_closed()
        report.webhook_received = len(receiver.deliveries)
        report.webhook_events = dict(receiver.events)
        check_server_log(report, log_file)
        if not report.failed():
            report.server_log = ""
            remove_server_log(log_file)
    report.load_end = os.getloadavg()[0]
    return report


def remove_server_log(log_file: Path) -> None:
    """The log of a run that went well, and its folder (with the empty exports folder)."""
    log_file.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (log_file.parent / "exports").rmdir()
    with contextlib.suppress(OSError):
        log_file.parent.rmdir()
