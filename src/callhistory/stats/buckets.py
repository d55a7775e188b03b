"""Time buckets in the tenant's zone, from hours or quarter-hours of UTC.

SQL groups by a step of UTC (plain integer division, the same on SQLite and PostgreSQL):
an hour where the zone's offsets are whole hours, else a quarter-hour (every offset in
use is whole quarter-hours), and Python places each step in its local hour, day or week,
so daylight-saving days have 23 or 25 hours as they should.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

QUARTER_MS = 900_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
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


def step_ms(zone: ZoneInfo, from_ms: int, to_ms: int) -> int:
    """The UTC step the SQL may group by for this zone and window: an hour when every
    offset the zone has in it is whole hours (most zones), else a quarter-hour."""
    moment = from_ms
    while True:
        offset = local(moment, zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return QUARTER_MS
        if moment >= to_ms:
            return HOUR_MS
        moment = min(moment + DAY_MS, to_ms)
