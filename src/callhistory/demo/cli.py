"""`callhistory demo`: the demo tenant `make run` starts with, and how to use it."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from callhistory.cli_support import (
    another_port,
    ensure_port_free,
    err,
    run_with_engine,
    split_address,
)
from callhistory.demo import DemoResult, prepare, read_key, save_key


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
