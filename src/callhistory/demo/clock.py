"""When calls happen: the last 60 days, weekdays busier, office hours peaking mid-morning
and mid-afternoon, in the tenant's local time."""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import accumulate
from typing import TypeVar
from zoneinfo import ZoneInfo

from callhistory.calls.params import HOUR_MS

T = TypeVar("T")

DAYS = 60
# Starts are at least this long ago, so every call (the longest talk is 30 minutes, plus
# ringing and a voicemail) has ended by now.
LONGEST_CALL_MS = 40 * 60_000

# Calls per weekday (Monday first) and per local hour, by direction: inbound keeps coming
# in the evening and at weekends, outbound and internal calls follow office hours.
_DAY_WEIGHTS = {
    "inbound": (1.15, 1.0, 1.0, 1.0, 1.05, 0.55, 0.25),
    "outbound": (1.1, 1.0, 1.0, 1.0, 1.0, 0.35, 0.03),
    "local": (1.0, 1.0, 1.0, 1.0, 1.0, 0.25, 0.02),
}
_OFFICE = (0.3, 1.0, 1.8, 2.0, 1.6, 0.6, 1.0, 1.7, 1.8, 1.5, 1.0)  # 07:00 to 17:59
_HOUR_WEIGHTS = {
    "inbound": (*(0.03,) * 7, *_OFFICE, 0.5, 0.35, 0.25, 0.15, 0.07, 0.04),
    "outbound": (*(0.0,) * 7, *_OFFICE, 0.3, 0.15, 0.05, 0.0, 0.0, 0.0),
    "local": (*(0.0,) * 7, *_OFFICE, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0),
}


def pick(rng: random.Random, items: Sequence[T], cum_weights: Sequence[float]) -> T:
    """One weighted choice; `random.choices` with k=1, without its per-call overhead."""
    return items[bisect(cum_weights, rng.random() * cum_weights[-1])]


class Clock:
    def __init__(self, now: int, time_zone: str) -> None:
        self.now = now
        zone = ZoneInfo(time_zone)
        midnight = datetime.fromtimestamp(now / 1000, zone).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        # Calendar arithmetic on local dates, so a DST zone still gets real midnights.
        days = [
            datetime.combine(midnight.date() - timedelta(days=i), midnight.time(), zone)
            for i in range(DAYS)
        ]
        self.day_starts = [int(day.timestamp() * 1000) for day in days]
        self.weekdays = [day.weekday() for day in days]
        self.dates = [day.strftime("%Y/%m/%d") for day in days]
        self.day_cum = {
            k: tuple(accumulate(w[day.weekday()] for day in days)) for k, w in _DAY_WEIGHTS.items()
        }
        self.hour_cum = {k: tuple(accumulate(w)) for k, w in _HOUR_WEIGHTS.items()}

    def start(self, rng: random.Random, direction: str) -> tuple[int, bool, str]:
        """A call start (epoch ms), whether it falls in office hours, and its local date."""
        days, hours = range(DAYS), range(24)
        while True:
            day = pick(rng, days, self.day_cum[direction])
            hour = pick(rng, hours, self.hour_cum[direction])
            start = self.day_starts[day] + hour * HOUR_MS + rng.randrange(HOUR_MS)
            if start + LONGEST_CALL_MS < self.now:  # else today, later than now: draw again
                weekday = self.weekdays[day]
                closing = 18 if weekday < 5 else 12 if weekday == 5 else 0
                return start, 8 <= hour < closing, self.dates[day]
