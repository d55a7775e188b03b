"""Quarter-hour rows summed into each agent's (or queue's) totals and buckets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from callhistory.stats.buckets import Interval, bucket_start
from callhistory.stats.queries import MEASURES, Row


@dataclass
class Sums:
    values: list[float] = field(default_factory=lambda: [0] * len(MEASURES))

    def add(self, measures: Sequence[int | float]) -> None:
        for i, value in enumerate(measures):
            self.values[i] += value or 0

    def figures(self) -> dict[str, Any]:
        s = dict(zip(MEASURES, self.values, strict=True))
        inbound, answered = int(s["inbound"]), int(s["answered"])
        return {
            "calls": int(s["calls"]),
            "inbound": inbound,
            "outbound": int(s["outbound"]),
            "answered": answered,
            "missed": int(s["missed"]),
            "answer_rate": _ratio(inbound - s["missed"], inbound, 100),
            "talk_sec": int(s["talk_sec"]),
            "average_handle_sec": _ratio(s["handle_sec"], answered),
            "average_wait_sec": _ratio(s["wait_sec"], inbound),
            "average_score": _ratio(s["score_sum"], s["scored"]),
        }


def _ratio(part: float, whole: float, scale: float = 1) -> float | None:
    return round(scale * part / whole, 2) if whole else None


@dataclass
class Line:
    key: tuple[Any, ...]
    extra: tuple[Any, ...]
    totals: Sums = field(default_factory=Sums)
    buckets: dict[int, Sums] = field(default_factory=dict)


def lines(rows: Sequence[Row], zone: ZoneInfo, interval: Interval | None) -> list[Line]:
    """One line per key, its buckets in time order; busiest line first."""
    found: dict[tuple[Any, ...], Line] = {}
    for key, extra, at, measures in rows:
        line = found.setdefault(key, Line(key, extra))
        line.totals.add(measures)
        if interval is not None:
            start = bucket_start(at, zone, interval)
            line.buckets.setdefault(start, Sums()).add(measures)
    return sorted(found.values(), key=lambda line: (-line.totals.values[0], str(line.key)))


def shown(line: Line, describe: Callable[[Line], dict[str, Any]]) -> dict[str, Any]:
    return {
        **describe(line),
        "totals": line.totals.figures(),
        "buckets": [
            {"start": start, **sums.figures()} for start, sums in sorted(line.buckets.items())
        ],
    }
