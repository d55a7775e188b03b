"""How calls end, as FreeSWITCH reports it, and what answered outbound calls cost."""

from __future__ import annotations

import math
import random
from itertools import accumulate
from typing import NamedTuple

from callhistory.demo.clock import pick


class Outcome(NamedTuple):
    hangup_cause: str
    q850: int
    dial_status: str
    share: float
    ring_low: int  # seconds of ringing before the call was answered or given up
    ring_high: int


# Answered calls end normally, save the odd one dropped by the network.
_ANSWERED = (
    Outcome("NORMAL_CLEARING", 16, "ANSWER", 0.97, 3, 30),
    Outcome("NORMAL_TEMPORARY_FAILURE", 41, "ANSWER", 0.03, 3, 30),
)
# FreeSWITCH gives ORIGINATOR_CANCEL the SIP-derived code 487 rather than a Q.850 one.
_CANCELLED = {
    "inbound": (
        Outcome("ORIGINATOR_CANCEL", 487, "CANCEL", 0.65, 3, 30),
        Outcome("NO_ANSWER", 19, "NOANSWER", 0.18, 20, 45),
        Outcome("NO_USER_RESPONSE", 18, "NOANSWER", 0.05, 15, 30),
        Outcome("USER_BUSY", 17, "BUSY", 0.08, 1, 8),
        Outcome("NORMAL_TEMPORARY_FAILURE", 41, "CONGESTION", 0.04, 1, 4),
    ),
    "outbound": (
        Outcome("NO_ANSWER", 19, "NOANSWER", 0.38, 20, 45),
        Outcome("ORIGINATOR_CANCEL", 487, "CANCEL", 0.25, 3, 30),
        Outcome("USER_BUSY", 17, "BUSY", 0.17, 1, 8),
        Outcome("CALL_REJECTED", 21, "BUSY", 0.08, 2, 12),
        Outcome("NO_USER_RESPONSE", 18, "NOANSWER", 0.04, 15, 30),
        Outcome("UNALLOCATED_NUMBER", 1, "CONGESTION", 0.04, 1, 4),
        Outcome("NORMAL_TEMPORARY_FAILURE", 41, "CONGESTION", 0.04, 1, 4),
    ),
    "local": (
        Outcome("ORIGINATOR_CANCEL", 487, "CANCEL", 0.6, 3, 30),
        Outcome("NO_ANSWER", 19, "NOANSWER", 0.3, 20, 45),
        Outcome("USER_BUSY", 17, "BUSY", 0.1, 1, 8),
    ),
}
_ANSWERED_CUM = tuple(accumulate(o.share for o in _ANSWERED))
_CANCELLED_CUM = {k: tuple(accumulate(o.share for o in v)) for k, v in _CANCELLED.items()}

# Talk time: log-normal around these medians (seconds), capped at 30 minutes.
_MEDIAN_TALK = {"inbound": 90, "outbound": 70, "local": 45}
LONGEST_TALK = 1800

# VND per minute for outbound calls, billed in 6-second blocks (6+6).
RATES = {"fixed": 800, "viettel": 1090, "vinaphone": 1150, "mobifone": 1150}
DEFAULT_RATE = 1200  # the smaller mobile networks


def outcome(rng: random.Random, direction: str, answered: bool) -> Outcome:
    if answered:
        return pick(rng, _ANSWERED, _ANSWERED_CUM)
    return pick(rng, _CANCELLED[direction], _CANCELLED_CUM[direction])


def talk_seconds(rng: random.Random, direction: str) -> int:
    seconds = round(rng.lognormvariate(math.log(_MEDIAN_TALK[direction]), 1.0))
    return max(3, min(LONGEST_TALK, seconds))


def price(bill_sec: int, carrier: str) -> int:
    blocks = math.ceil(bill_sec / 6)
    return round(blocks * RATES.get(carrier, DEFAULT_RATE) / 10)
