"""The soak's output: the tables printed (latency by kind, over time, memory, errors,
integrity), the summary lines, and every figure as JSON (`as_json`)."""

from __future__ import annotations

import os
import statistics
from collections import Counter
from dataclasses import asdict
from typing import Any

from rich.table import Table

from bench.ingest import percentile
from bench.soak.checks import Report, memory_rows
from bench.soak.memory import MemorySample
from bench.soak.phase import KIND_NAMES, KINDS, Phase


def _ms(value: float) -> str:
    return "—" if value != value else f"{value:,.1f}"  # NaN: nothing measured


def latency_table(report: Report) -> Table:
    phase = report.soak
    assert phase is not None
    o = report.options
    grid = Table(
        title=f"soak: {phase.seconds:.0f} s, open loop at {report.rate:.1f} req/s, "
        f"{o.workers} workers",
        title_justify="left",
    )
    for column in ("kind", "share", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors"):
        grid.add_column(column, justify="left" if column == "kind" else "right")
    total = len(phase.samples)
    weights = {k.name: k.weight / sum(x.weight for x in KINDS) for k in KINDS}
    for name in (*KIND_NAMES, "all"):
        rows = [s for s in phase.samples if name == "all" or s[0] == name]
        latencies = [s[2] for s in rows]
        errors = sum(1 for s in rows if s[3]) + (phase.not_sent if name == "all" else 0)
        share = f"{len(rows) / total:.0%}" if total else "—"
        grid.add_row(
            f"[bold]{name}[/bold]" if name == "all" else name,
            share if name == "all" else f"{share} ({weights[name]:.0%})",
            f"{len(rows):,}",
            f"{len(rows) / phase.seconds:,.1f}" if phase.seconds else "—",
            _ms(percentile(latencies, 0.50)),
            _ms(percentile(latencies, 0.99)),
            _ms(max(latencies, default=float("nan"))),
            f"[red]{errors}[/red]" if errors else "0",
            end_section=name == KIND_NAMES[-1],
        )
    return grid


def timeline_table(report: Report) -> Table:
    phase = report.soak
    assert phase is not None and report.memory is not None
    step = max(5.0, min(60.0, phase.span / 8))
    grid = Table(
        title=f"over time ({step:.0f} s windows; latency and errors of the requests due in "
        "the window, answered/s by when the answer came)",
        title_justify="left",
    )
    for column in ("window s", "due/s", "answered/s", "p50 ms", "p99 ms", "errors",
                   "max backlog", "server RSS MB", "load"):  # fmt: skip
        grid.add_column(column, justify="right")
    at, end = 0.0, max(phase.span, phase.seconds)
    while at < end - 0.5:
        upto = min(at + step, end)
        rows = [s for s in phase.samples if at <= s[1] < upto]
        latencies = [s[2] for s in rows]
        answered = sum(1 for s in phase.samples if at <= s[1] + s[2] / 1000 < upto)
        due = sum(1 for t, _ in phase.backlog if at <= t < upto)
        backlog = max((n for t, n in phase.backlog if at <= t < upto), default=0)
        mem = [s for s in report.memory.samples if s.phase == "soak" and at <= s.at < upto]
        errors = sum(1 for s in rows if s[3])
        grid.add_row(
            f"{at:.0f}–{upto:.0f}",
            f"{due / (upto - at):,.1f}",
            f"{answered / (upto - at):,.1f}",
            _ms(percentile(latencies, 0.50)),
            _ms(percentile(latencies, 0.99)),
            f"[red]{errors}[/red]" if errors else "0",
            f"{backlog:,}",
            _ms(statistics.fmean(sum(m.rss.values()) for m in mem)) if mem else "—",
            f"{max(m.load for m in mem):.1f}" if mem else "—",
        )
        at = upto
    return grid


def memory_table(report: Report) -> Table:
    assert report.memory is not None and report.soak is not None
    rows, window = memory_rows(report.memory, report.soak.seconds)
    flat = report.memory_flat()
    verdict = "[green]flat[/green]" if flat else "[red]growing[/red]"
    grid = Table(
        title=f"server RSS (/proc, every {report.options.sample_seconds:g} s): first "
        f"{window:.0f} s vs last {window:.0f} s of the soak — {verdict} "
        f"(threshold {report.options.flat_percent:g}% of the total)",
        title_justify="left",
    )
    for column in ("process", "first MB", "last MB", "growth MB", "growth %", "peak MB",
                   "2nd half MB/min"):  # fmt: skip
        grid.add_column(column, justify="left" if column == "process" else "right")
    for row in rows:
        grid.add_row(
            f"[bold]{row.process}[/bold]" if row.process == "total" else row.process,
            _ms(row.first_mb),
            _ms(row.last_mb),
            f"{row.growth_mb:+,.1f}",
            f"{row.growth_pct:+.1f}%",
            _ms(row.peak_mb),
            "—" if row.slope != row.slope else f"{row.slope:+,.2f}",
            end_section=row is rows[-2],
        )
    return grid


def integrity_table(report: Report) -> Table:
    i = report.integrity
    grid = Table(title="ingest: acknowledged = in the database exactly once", title_justify="left")
    for column in ("what", "sent", "acknowledged", "missing", "duplicated / extra"):
        grid.add_column(column, justify="left" if column == "what" else "right")

    def bad(n: int) -> str:
        return f"[red]{n}[/red]" if n else "0"

    grid.add_row(
        "FreeSWITCH legs", f"{i.legs_sent:,}", f"{i.legs_acked:,}", bad(i.legs_missing),
        bad(i.legs_repeated),
    )  # fmt: skip
    grid.add_row("FreeSWITCH calls", "", f"{i.leg_calls_acked:,}", bad(i.leg_calls_missing), "")
    grid.add_row("POST /api/cdr items", f"{i.items_sent:,}", f"{i.items_acked:,}",
                 bad(i.items_missing), "")  # fmt: skip
    grid.add_row("calls neither seeded nor sent", "", "", "", bad(i.extra_calls))
    return grid


def errors_table(report: Report) -> Table | None:
    found: Counter[tuple[str, str, str]] = Counter()
    examples: dict[tuple[str, str, str], list[str]] = {}
    for phase in (report.warmup, report.peak, report.soak):
        if phase is None:
            continue
        for (kind, error), n in phase.errors().items():
            found[(phase.name, kind, error)] += n
        for (kind, error), lines in phase.examples.items():
            examples[(phase.name, kind, error)] = lines
    if not found:
        return None
    grid = Table(title="errors", title_justify="left")
    for column in ("phase", "kind", "error", "count", "example"):
        grid.add_column(column, justify="right" if column == "count" else "left")
    for key, n in sorted(found.items()):
        grid.add_row(*key, str(n), (examples.get(key) or [""])[0][:200])
    return grid


def summary(report: Report) -> list[str]:
    lines = [_setup_line(report)]
    if report.peak is not None:
        lines.append(_peak_line(report, report.peak))
    if report.soak is not None:
        lines += _soak_lines(report, report.soak)
    if report.options.webhook:
        lines.append(_webhook_line(report))
    if report.memory is not None:
        lines.append(_load_line(report, report.memory.samples))
    lines += _problem_lines(report)
    errors, lost = report.errors(), report.integrity.lost
    verdict = "[red]FAILED[/red]" if report.failed() else "[green]OK[/green]"
    lines.append(f"{verdict}: {errors} errors, {lost} lost or duplicated records")
    return lines


def _setup_line(report: Report) -> str:
    o = report.options
    hook = "a webhook to a receiver in this process" if o.webhook else "no webhook registered"
    return (
        f"one tenant, {report.seeded_calls:,} seeded calls (demo generator); `callhistory serve "
        f"--workers {o.workers}` with its webhook/export worker on, {hook}; rate limits off"
    )


def _peak_line(report: Report, p: Phase) -> str:
    o = report.options
    rate = len(p.samples) / p.seconds
    lat = [s[2] for s in p.samples]
    return (
        f"peak (closed loop, {o.peak_clients} clients, {p.seconds:.0f} s): {rate:,.1f} req/s, "
        f"p50 {_ms(percentile(lat, 0.5))} ms, p99 {_ms(percentile(lat, 0.99))} ms, "
        f"{p.error_count()} errors; soak rate = {o.load_fraction:g} × peak"
    )


def _soak_lines(report: Report, s: Phase) -> list[str]:
    o = report.options
    return [
        f"offered {report.rate:.1f} req/s for {s.span:.0f} s: {s.scheduled:,} requests due, "
        f"{len(s.samples):,} answered by {s.seconds:.1f} s = "
        f"{len(s.samples) / s.seconds:,.1f} req/s achieved; backlog (queued + in flight, "
        f"{o.connections} connections) at most {max((n for _, n in s.backlog), default=0):,}",
        f"client side, part of every latency: the generator's own lateness p99 "
        f"{_ms(percentile(s.late_ms, 0.99))} ms; wait for a free connection p50 "
        f"{_ms(percentile(s.wait_ms, 0.5))} / p99 {_ms(percentile(s.wait_ms, 0.99))} ms",
    ]


def _webhook_line(report: Report) -> str:
    db = report.integrity.webhook.get("in the database", {})
    return (
        f"webhook deliveries received: {report.webhook_received:,} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(report.webhook_events.items()))}); "
        f"in the database: {db}"
    )


def _load_line(report: Report, samples: list[MemorySample]) -> str:
    loads = [m.load for m in samples]
    return (
        f"load average (1 min): {report.load_start:.2f} at the start, "
        f"{statistics.fmean(loads) if loads else 0:.2f} mean / {max(loads, default=0):.2f} "
        f"max during the run, {report.load_end:.2f} at the end, on {os.cpu_count()} CPUs "
        "(server, PostgreSQL and this load generator share them)"
    )


def _problem_lines(report: Report) -> list[str]:
    lines = [f"[red]{e}[/red]" for e in report.integrity.examples]
    lines += [f"[red]{p}[/red]" for p in report.problems]
    lines += [f"[red]server log: {line[:300]}[/red]" for line in report.server_log_errors[:10]]
    lines += [f"[red]server log: {line}[/red]" for line in report.server_log_replaced[:5]]
    if report.server_log:
        lines.append(f"the server's log is kept: {report.server_log}")
    return lines


def as_json(report: Report) -> dict[str, Any]:
    return {
        "options": asdict(report.options),
        "rate": report.rate,
        "cpus": os.cpu_count(),
        "load_start": report.load_start,
        "load_end": report.load_end,
        "seeded_calls": report.seeded_calls,
        "peak": _phase_json(report.peak),
        "soak": _phase_json(report.soak),
        "memory": _memory_json(report),
        "integrity": {**asdict(report.integrity), "lost": report.integrity.lost},
        "webhook_received": report.webhook_received,
        "webhook_events": report.webhook_events,
        "problems": report.problems,
        "server_log_errors": report.server_log_errors[:50],
        "server_log_replaced": report.server_log_replaced[:50],
        "server_log_levels": report.server_log_levels,
        "server_log": report.server_log,
        "replacements": [
            {"pid": pid, "phase": phase, "at": at}
            for pid, phase, at in (report.memory.appeared if report.memory else [])
        ],
        "errors": report.errors(),
        "failed": report.failed(),
    }


def _phase_json(p: Phase | None) -> dict[str, Any] | None:
    if p is None:
        return None
    kinds = {}
    for name in (*KIND_NAMES, "all"):
        lat = [s[2] for s in p.samples if name == "all" or s[0] == name]
        kinds[name] = {
            "requests": len(lat),
            "p50_ms": percentile(lat, 0.5) if lat else None,
            "p99_ms": percentile(lat, 0.99) if lat else None,
            "max_ms": max(lat, default=None),
        }
    return {
        "span": p.span,
        "seconds": p.seconds,
        "max_backlog": max((n for _, n in p.backlog), default=0),
        "late_p99_ms": percentile(p.late_ms, 0.99) if p.late_ms else None,
        "connection_wait_p99_ms": percentile(p.wait_ms, 0.99) if p.wait_ms else None,
        "scheduled": p.scheduled,
        "answered": len(p.samples),
        "rps": len(p.samples) / p.seconds if p.seconds else None,
        "not_sent": p.not_sent,
        "errors": {f"{k} | {e}": n for (k, e), n in p.errors().items()},
        "error_examples": {f"{k} | {e}": v for (k, e), v in p.examples.items()},
        "kinds": kinds,
    }


def _memory_json(report: Report) -> dict[str, Any] | None:
    if report.memory is None or report.soak is None:
        return None
    rows, window = memory_rows(report.memory, report.soak.seconds)
    return {
        "window_seconds": window,
        "flat": report.memory_flat(),
        "rows": [{**asdict(r), "growth_mb": r.growth_mb, "growth_pct": r.growth_pct} for r in rows],
        "samples": [asdict(s) for s in report.memory.samples],
    }
