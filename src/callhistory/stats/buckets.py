"""Time buckets in the tenant's zone, from hours or quarter-hours of UTC.

SQL groups by a step (plain integer division, the same on SQLite and PostgreSQL; see
`sql_step`) and Python places each step in its local hour, day or week, so
daylight-saving days have 23 or 25 hours as they should.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from callhistory.calls.params import DAY_MS, HOUR_MS

QUARTER_MS = 900_000
Interval = Literal["hour", "day", "week"]
INTERVALS: tuple[Interval, ...] = ("hour", "day", "week")


def local(at_ms: int, zone: ZoneInfo) -> datetime:
    """The moment as an aware local time."""
    return datetime.fromtimestamp(at_ms / 1000, zone)


@lru_cache(maxsize=16_384)  # every agent's rows share their hours
def bucket_start(at_ms: int, zone: ZoneInfo, interval: Interval) -> int:
    """Epoch ms of the start of the local hour, day or (Monday-first) week holding it."""
    moment = local(at_ms, zone)
    if interval == "hour":
        start = moment.replace(minute=0, second=0, microsecond=0)
    else:
        day = moment.date()
        if interval == "week":
            day -= timedelta(days=day.weekday())
        start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return int(start.timestamp() * 1000)


@dataclass(frozen=True)
class Step:
    """How the SQL groups a call's epoch ms: by steps of `ms`, shifted by `offset_ms` (a
    zone's fixed offset, so that a step of a day is a local day)."""

    ms: int
    offset_ms: int = 0

    def slot(self, epoch_ms: Any) -> Any:
        """The step's start, in epoch ms, for a column or a number."""
        return (epoch_ms + self.offset_ms) // self.ms * self.ms - self.offset_ms

    @property
    def whole_hours(self) -> bool:
        """Whether every step is made of whole UTC hours (the rollups can sum them)."""
        return self.ms % HOUR_MS == 0 and self.offset_ms % HOUR_MS == 0


def _offsets(zone: ZoneInfo, from_ms: int, to_ms: int) -> set[int]:
    """The zone's UTC offsets (s) over the window, looked at daily and at its end."""
    found, moment = set(), from_ms
    while True:
        offset = local(moment, zone).utcoffset()
        found.add(int(offset.total_seconds()) if offset is not None else 0)
        if moment >= to_ms:
            return found
        moment = min(moment + DAY_MS, to_ms)


def sql_step(zone: ZoneInfo, from_ms: int, to_ms: int, interval: Interval | None) -> Step | None:
    """The step the SQL may group by for this zone, window and interval (None: the whole
    window). Local days when the zone keeps one whole-hour offset all the window (no
    daylight-saving change in it: most windows of most zones); else UTC hours, or
    quarter-hours where an offset is not whole hours (every offset in use is whole
    quarter-hours). Python then places each step in its local hour, day or week."""
    if interval is None:
        return None
    offsets = _offsets(zone, from_ms, to_ms)
    if any(offset % 3600 for offset in offsets):
        return Step(QUARTER_MS)
    if interval == "hour" or len(offsets) > 1:
        return Step(HOUR_MS)
    return Step(DAY_MS, offsets.pop() * 1000)
