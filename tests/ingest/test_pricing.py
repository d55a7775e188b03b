"""Prices: blocks at their edges, and the tenant's price table through the API."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.ingest.pricing import Rate, billed_seconds, price
from tests.factories import make_tenant

SIX_SIX = Rate(1_200, 6, 6)
MINUTE = Rate(1_200, 60, 60)


@pytest.mark.parametrize(
    ("rate", "talk", "billed"),
    [
        (SIX_SIX, 0, 0),
        (SIX_SIX, 1, 6),
        (SIX_SIX, 6, 6),
        (SIX_SIX, 7, 12),
        (SIX_SIX, 12, 12),
        (SIX_SIX, 13, 18),
        (MINUTE, 1, 60),
        (MINUTE, 60, 60),
        (MINUTE, 61, 120),
        (Rate(1_000, 30, 6), 31, 36),
        (Rate(1_000, 30, 6), 30, 30),
    ],
)
def test_blocks_at_their_edges(rate: Rate, talk: int, billed: int) -> None:
    assert billed_seconds(talk, rate) == billed


def test_price_in_dong() -> None:
    assert price(7, SIX_SIX) == 240  # 12 s of 1,200 VND a minute
    assert price(61, MINUTE) == 2_400
    assert price(0, SIX_SIX) == 0
    assert price(1, Rate(1_000, 1, 1)) == 17  # 16.67 rounds half up


@given(st.integers(0, 20_000), st.integers(1, 120), st.integers(1, 120))
def test_billed_covers_the_talk_in_whole_blocks(talk: int, first: int, following: int) -> None:
    rate = Rate(1_000, first, following)
    billed = billed_seconds(talk, rate)
    assert billed >= talk
    if talk:
        assert (billed - first) % following == 0
        assert billed - talk < max(first, following)


def test_rates_refuse_empty_blocks() -> None:
    with pytest.raises(ValueError):
        Rate(1_000, 0, 6)


async def test_price_table_through_the_api(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    tenant, other = await make_tenant(engine), await make_tenant(engine)
    answer = await client.post(
        "/api/prices/bulk",
        headers=tenant.headers,
        json={
            "items": [
                {
                    "carrier": "Viettel",
                    "price_per_minute": 1100,
                    "first_block_sec": 6,
                    "next_block_sec": 6,
                },
                {
                    "carrier": "fixed",
                    "price_per_minute": "700",
                    "first_block_sec": 60,
                    "next_block_sec": 60,
                },
                {"carrier": "sfone", "price_per_minute": -1, "first_block_sec": 0},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["payload"]["results"]
    assert [r["status"] for r in results] == ["stored", "stored", "rejected"]
    assert {(e["field"], e["code"]) for e in results[2]["errors"]} == {
        ("carrier", "unknown_carrier"),
        ("price_per_minute", "out_of_range"),
        ("first_block_sec", "out_of_range"),
        ("next_block_sec", "required"),
    }
    listed = await client.get("/api/prices/list", headers=tenant.headers)
    assert [i["carrier"] for i in listed.json()["payload"]["items"]] == ["fixed", "viettel"]
    assert (await client.get("/api/prices/list", headers=other.headers)).json()["payload"][
        "items"
    ] == []
