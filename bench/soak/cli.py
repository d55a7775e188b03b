"""The entry point: the command-line options (`parse_args`), and `main`, which runs the
soak and prints the tables (and writes the JSON figures with `--json`)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

import bench.soak
from bench.ingest import PostgresUnavailable
from bench.soak.options import Options
from bench.soak.report import (
    as_json,
    errors_table,
    integrity_table,
    latency_table,
    memory_table,
    summary,
    timeline_table,
)
from bench.soak.run import run


def parse_args(argv: Sequence[str] | None = None) -> tuple[Options, str | None]:
    """The options asked for, and the --json file (None: none)."""
    args = argument_parser().parse_args(argv)
    return options_of(args), args.json


def argument_parser() -> argparse.ArgumentParser:
    d = Options()
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=(bench.soak.__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, default=d.duration, help="soak seconds (600)")
    parser.add_argument("--rate", type=float, default=d.rate, help="requests/s, open loop (20)")
    parser.add_argument("--find-peak", action="store_true", help="measure the peak first")
    parser.add_argument("--peak-seconds", type=float, default=d.peak_seconds)
    parser.add_argument("--peak-clients", type=int, default=d.peak_clients)
    parser.add_argument(
        "--load-fraction", type=float, default=d.load_fraction, help="rate = this × peak (0.7)"
    )
    parser.add_argument("--seed-calls", type=int, default=d.seed_calls)
    parser.add_argument("--workers", type=int, default=d.workers)
    parser.add_argument("--connections", type=int, default=d.connections, help="client pool")
    parser.add_argument(
        "--timeout",
        type=float,
        default=d.timeout,
        help="httpx timeout (s); a request queued longer than this is given up (30)",
    )
    parser.add_argument(
        "--max-in-flight", type=int, default=d.max_in_flight, help="backlog cap (2,000)"
    )
    parser.add_argument("--sample-seconds", type=float, default=d.sample_seconds)
    parser.add_argument(
        "--flat-percent", type=float, default=d.flat_percent, help="RSS growth called flat (5)"
    )
    parser.add_argument("--no-webhook", action="store_true", help="register no webhook")
    parser.add_argument("--fail-on-growth", action="store_true", help="exit 1 unless flat")
    parser.add_argument("--admin-url", default=d.admin_url)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--json", help="also write every figure to this file")
    return parser


def options_of(args: argparse.Namespace) -> Options:
    return Options(
        duration=args.duration,
        rate=args.rate,
        find_peak=args.find_peak,
        peak_seconds=args.peak_seconds,
        peak_clients=args.peak_clients,
        load_fraction=args.load_fraction,
        seed_calls=args.seed_calls,
        workers=args.workers,
        connections=args.connections,
        timeout=args.timeout,
        max_in_flight=args.max_in_flight,
        sample_seconds=args.sample_seconds,
        flat_percent=args.flat_percent,
        webhook=not args.no_webhook,
        admin_url=args.admin_url,
        seed=args.seed,
        fail_on_growth=args.fail_on_growth,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options, json_path = parse_args(argv)
    err = Console(stderr=True)
    try:
        report = asyncio.run(run(options, err))
    except PostgresUnavailable as exc:
        err.print(f"[red]PostgreSQL is not reachable[/red] at {options.admin_url}: {exc}")
        return 2
    except RuntimeError as exc:  # the server did not start, a webhook was refused
        err.print(f"[red]the soak stopped[/red]: {exc}", highlight=False)
        return 1
    out = Console(width=max(Console().width, 140))
    if report.soak is not None:
        out.print(latency_table(report))
        out.print(timeline_table(report))
        out.print(memory_table(report))
    table = errors_table(report)
    if table is not None:
        out.print(table)
    out.print(integrity_table(report))
    for line in summary(report):
        out.print(f"  {line}", highlight=False)
    if json_path:
        Path(json_path).write_text(json.dumps(as_json(report), ensure_ascii=False, indent=1))
    return 1 if report.failed() else 0
