"""The `callhistory` command: serve, migrate, demo data, tenants and keys."""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.auth import keys
from callhistory.config import UnsafeSettings, check_production, get_settings
from callhistory.dashboard.cli import user_app
from callhistory.db import create_engine, migrate, writing
from callhistory.directory.cli import directory_app
from callhistory.evaluations.cli import criteria_app
from callhistory.ingest import imports
from callhistory.ingest.cli import ingest_app
from callhistory.ingest.imports import ImportFormat

if TYPE_CHECKING:  # the demo generator is imported only when `demo` runs
    from callhistory.demo import DemoResult

app = typer.Typer(help="callhistory: call history for cloud call centers.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (customer companies).", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(key_app, name="key")
app.add_typer(user_app, name="user")
app.add_typer(directory_app, name="directory")
app.add_typer(criteria_app, name="criteria")
app.add_typer(ingest_app, name="ingest")
webhooks_app = typer.Typer(help="Webhooks' stored secrets.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")

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


@app.command("import")
def import_command(
    source: Annotated[
        Path, typer.Argument(help="The file; for freeswitch-json, the directory of files.")
    ],
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    format_: Annotated[
        ImportFormat, typer.Option("--format", help="What the file holds (docs/import.md).")
    ],
    state: Annotated[
        Path | None,
        typer.Option("--state", help="Checkpoint file; default <SOURCE>.import-state."),
    ] = None,
    time_zone: Annotated[
        str | None,
        typer.Option("--time-zone", help="asterisk-csv: the times' zone (default the tenant's)."),
    ] = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="Ignore the checkpoint; read from the start.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Back-fill calls from a file, resumably; exit 1 if anything was rejected."""
    imports.command(source, tenant, format_, state, time_zone, restart, as_json)


@app.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the schema to the newest migration."""
    run_with_engine(lambda _: asyncio.sleep(0))
    err.print("schema is up to date")


@app.command()
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


@tenant_app.command("create")
def tenant_create(
    name: str,
    time_zone: Annotated[
        str | None, typer.Option("--time-zone", help="IANA zone; default from settings.")
    ] = None,
) -> None:
    """Create a tenant; prints its id."""
    zone = time_zone or get_settings().default_time_zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise fail(f"unknown time zone {zone!r}") from exc

    async def work(engine: AsyncEngine) -> str:
        async with engine.begin() as conn:
            if await keys.find_tenant(conn, name):
                raise fail(f"tenant {name!r} already exists")
            return (await keys.create_tenant(conn, name, zone)).id

    typer.echo(run_with_engine(work))


@key_app.command("create")
def key_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "",
) -> None:
    """Create an API key for a tenant. The key is printed once and never stored."""

    async def work(engine: AsyncEngine) -> tuple[str, str]:
        async with engine.begin() as conn:
            found = await keys.find_tenant(conn, tenant)
            if found is None:
                raise fail(f"no tenant {tenant!r}")
            return await keys.create_key(conn, found.id, name)

    key_id, api_key = run_with_engine(work)
    err.print(f"key id {key_id} (use it to revoke); the key, shown once:")
    typer.echo(api_key)


@key_app.command("revoke")
def key_revoke(key_id: str) -> None:
    """Revoke a key by its id: it and every token issued for it stop working at once."""

    async def work(engine: AsyncEngine) -> bool:
        async with engine.begin() as conn:
            return await keys.revoke_key(conn, key_id)

    if not run_with_engine(work):
        raise fail(f"no active key {key_id!r}")
    err.print(f"key {key_id} revoked")


@key_app.command("list")
def key_list(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """A tenant's keys: id, label, created, revoked or active. Never a secret: only its
    hash is stored, so a lost key cannot be shown again (create another)."""

    async def work(engine: AsyncEngine) -> list[keys.KeyInfo]:
        async with engine.connect() as conn:
            found = await keys.find_tenant(conn, tenant)
            if found is None:
                raise fail(f"no tenant {tenant!r}")
            return await keys.list_keys(conn, found.id)

    listed = run_with_engine(work)
    if as_json:
        typer.echo(json.dumps([_key_fields(k) for k in listed], ensure_ascii=False))
        return
    _print_keys(listed)


def _key_fields(key: keys.KeyInfo) -> dict[str, object]:
    return {
        "id": key.id,
        "name": key.name,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
        "state": "active" if key.revoked_at is None else "revoked",
    }


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _print_keys(listed: list[keys.KeyInfo]) -> None:
    from rich.table import Table

    if not listed:
        err.print("no keys (callhistory key create --tenant NAME)")
        return
    table = Table("key id", "name", "created", "state")
    for key in listed:
        state = "active" if key.revoked_at is None else f"revoked {_when(key.revoked_at)}"
        table.add_row(key.id, key.name, _when(key.created_at), state)
    # Wide enough for the ids whatever the terminal: they are what `key revoke` takes.
    Console(width=max(100, Console().width)).print(table)


@app.command()
def demo(
    calls: Annotated[
        int, typer.Option("--calls", min=0, help="How many calls to generate.")
    ] = 20_000,
    tenant: Annotated[str, typer.Option("--tenant", help="The demo tenant's name.")] = "demo",
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="Random seed.")] = None,
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where the API will be, for the printed curl line.")
    ] = "http://127.0.0.1:8000",
    reset: Annotated[
        bool,
        typer.Option("--reset", help="Rebuild the tenant even when it already has calls."),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="Keep the key here (0600) and hand it out again."),
    ] = None,
    check_port: Annotated[
        str | None,
        typer.Option(
            "--check-port",
            metavar="HOST:PORT",
            help="Fail, before touching any data, unless a server can listen there.",
        ),
    ] = None,
) -> None:
    """Create a tenant with realistic agents, customers and calls; one that already has
    calls is kept as it is unless --reset."""
    from callhistory.demo import prepare, read_key, save_key

    if check_port is not None:
        host, port = split_address(check_port)
        ensure_port_free(host, port, f"pick another: make run PORT={another_port(port)}")
    saved = read_key(key_file) if key_file is not None and not reset else None
    progress = not as_json and sys.stderr.isatty()
    result = run_with_engine(
        lambda engine: prepare(engine, tenant, calls, seed, progress, saved_key=saved, reset=reset)
    )
    if key_file is not None and result.new_key:
        save_key(key_file, result.api_key)
    if as_json:
        typer.echo(json.dumps({"tenant": result.tenant_name, "api_key": result.api_key}))
        return
    _print_demo(result, base_url, key_file)
    typer.echo(result.api_key)


def _print_demo(result: DemoResult, base_url: str, key_file: Path | None) -> None:
    counts = f"{result.agents} agents, {result.customers} customers, {result.calls} calls"
    if result.kept:
        err.print(
            f"tenant [bold]{result.tenant_name}[/bold] kept as it was: {counts} "
            "(rebuild it: make demo-reset, or callhistory demo --reset)",
            highlight=False,
            soft_wrap=True,
        )
    else:
        err.print(
            f"tenant [bold]{result.tenant_name}[/bold]: {counts} in {result.seconds:.1f}s",
            highlight=False,
        )
    err.print(_key_line(result, key_file), highlight=False, soft_wrap=True)
    # Plain lines to paste into a shell before the README's tour.
    err.print(f"KEY={result.api_key}", highlight=False, soft_wrap=True)
    err.print(f"API={base_url}", highlight=False, soft_wrap=True)
    err.print(f"Dashboard: {base_url}/ (sign in with this key)", highlight=False)
    now = int(time.time() * 1000)
    err.print("Try it:", highlight=False)
    err.print(
        f"  curl -s -H 'x-api-key: {result.api_key}' "
        f"'{base_url}/api/call_transaction/list?from_date={now - 7 * 86_400_000}"
        f"&to_date={now}&size=2'",
        highlight=False,
        soft_wrap=True,
    )


def _key_line(result: DemoResult, key_file: Path | None) -> str:
    if not result.new_key:
        return f"API key: the existing key, saved in {key_file}"
    if result.kept:
        where = f", saved in {key_file}" if key_file is not None else ""
        return f"API key: minted a new key (no saved key still valid){where}"
    if key_file is not None:
        return f"API key: a new key, saved in {key_file}"
    return "API key: a new key (shown once: only its hash is stored)"


@app.command()
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


@webhooks_app.command("rotate-secrets")
def webhooks_rotate_secrets() -> None:
    """Re-encrypt every webhook secret under the first key of CALLHISTORY_SECRETS_KEY
    (secrets stored in clear before included); exit 1 if a secret no key opens remains."""
    from callhistory.secrets_box import SecretsKeyInvalid
    from callhistory.webhooks import store

    async def work(engine: AsyncEngine) -> store.Resealed:
        async with writing(engine) as conn:
            return await store.reseal_secrets(conn)

    try:
        report = run_with_engine(work)
    except SecretsKeyInvalid as exc:
        raise fail(str(exc)) from exc
    err.print(f"re-encrypted {report.resealed}, already current {report.current}")
    if report.unreadable:
        hooks = ", ".join(f"{tenant}/{hook}" for tenant, hook in report.unreadable)
        raise fail(
            f"{len(report.unreadable)} secret(s) no configured key opens (tenant/hook: {hooks}):"
            " put the key that encrypted them back in CALLHISTORY_SECRETS_KEY, or register"
            " those hooks again"
        )


@app.command()
def prune(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Only this tenant (name or id).")
    ] = None,
) -> None:
    """Delete what retention allows now (old deliveries and changes, expired export
    files) and print what was deleted; the worker does it too, every
    CALLHISTORY_RETENTION_INTERVAL_SECONDS."""
    from rich.table import Table

    from callhistory import retention

    settings = get_settings()

    async def work(engine: AsyncEngine) -> retention.Report:
        only = None
        if tenant is not None:
            async with engine.connect() as conn:
                found = await keys.find_tenant(conn, tenant)
            if found is None:
                raise fail(f"no tenant {tenant!r}")
            only = found.id
        return await retention.prune(engine, settings, tenant_id=only)

    report = run_with_engine(work)
    out = Console()
    days = {
        "delivered": settings.retention_deliveries_days,
        "parked": settings.retention_parked_days,
        "changes": settings.retention_changes_days,
    }
    kept = ", ".join(f"{k} {f'{d} d' if d > 0 else 'forever'}" for k, d in days.items())
    out.print(f"retention: {kept}; export files until their links expire", highlight=False)
    if not report.tenants:
        out.print("nothing to prune")
        return
    table = Table("tenant")
    for heading in ("delivered", "parked", "changes", "export files"):
        table.add_column(heading, justify="right")
    for pruned in report.tenants:
        table.add_row(pruned.tenant, *(f"{pruned.counts[k]:,}" for k in retention.KINDS))
    if len(report.tenants) > 1:
        table.add_row("total", *(f"{report.total(k):,}" for k in retention.KINDS), style="bold")
    out.print(table)


@app.command("export")
def export_command(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name or id.")],
    out: Annotated[str, typer.Option("--out", help="File to write.")],
    from_date: Annotated[int, typer.Option("--from", help="Epoch ms (default: all).")] = 0,
    to_date: Annotated[int | None, typer.Option("--to", help="Epoch ms (default: now).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, csv.gz or xlsx.")] = "csv",
    time_zone: Annotated[str | None, typer.Option("--time-zone")] = None,
    date_format: Annotated[str | None, typer.Option("--date-format")] = None,
    direction: Annotated[list[str] | None, typer.Option("--direction")] = None,
    disposition: Annotated[list[str] | None, typer.Option("--disposition")] = None,
    keyword: Annotated[str | None, typer.Option("--keyword")] = None,
) -> None:
    """Export a tenant's calls (any window, any size) to a file, with a progress bar."""
    from pathlib import Path

    from rich.progress import Progress

    from callhistory.calls import queries
    from callhistory.envelope import ApiError
    from callhistory.exports import runner

    body = {
        "from_date": from_date,
        "to_date": to_date if to_date is not None else int(time.time() * 1000),
        "format": fmt,
        "time_zone": time_zone,
        "date_format": date_format,
        "direction": direction or [],
        "disposition": disposition or [],
        "keyword": keyword,
    }

    async def work(engine: AsyncEngine) -> int:
        async with engine.connect() as conn:
            found = await keys.find_tenant(conn, tenant)
            if found is None:
                raise fail(f"no tenant {tenant!r}")
            try:
                f = runner.call_filter(body)
                chosen, zone, date_fmt = runner.check_options(body, found.time_zone)
            except ApiError as exc:
                raise fail(f"{exc.code}: {exc.payload}") from exc
            total = await queries.count(conn, found.id, f)
        with Progress(console=err) as bar:
            task = bar.add_task("exporting", total=total)
            await runner.write_file(
                engine,
                found.id,
                f,
                chosen,
                zone,
                date_fmt,
                Path(out),
                lambda rows: bar.update(task, completed=rows),
            )
            bar.update(task, completed=total)
        return total

    rows = run_with_engine(work)
    err.print(f"{rows} calls written to {out}")
