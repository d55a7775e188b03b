"""The price of an outbound call from the tenant's table: carriers bill in blocks.

A rate is quoted per minute and billed in blocks: the first block of
`first_block_sec` is charged whole as soon as the call is answered, then every started
block of `next_block_sec` (6+6 bills 7 s as 12 s; 60+60 bills 61 s as 120 s).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    price_per_minute: int  # VND
    first_block_sec: int
    next_block_sec: int

    def __post_init__(self) -> None:
        if self.price_per_minute < 0 or self.first_block_sec < 1 or self.next_block_sec < 1:
            raise ValueError("a rate needs a price ≥ 0 and blocks of at least one second")


def billed_seconds(bill_sec: int, rate: Rate) -> int:
    """The seconds the carrier charges for `bill_sec` seconds of talk."""
    if bill_sec <= 0:
        return 0
    if bill_sec <= rate.first_block_sec:
        return rate.first_block_sec
    rest = bill_sec - rate.first_block_sec
    blocks = -(-rest // rate.next_block_sec)  # every started block
    return rate.first_block_sec + blocks * rate.next_block_sec


def price(bill_sec: int, rate: Rate) -> int:
    """The call's price in VND, rounded half up to the đồng."""
    return (billed_seconds(bill_sec, rate) * rate.price_per_minute * 2 + 60) // 120
