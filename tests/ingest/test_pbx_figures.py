"""The PBX's own figures: FreeSWITCH's `duration` and `waitsec` are what it billed, so they
are stored as sent; computed from the epochs only when the CDR lacks them, or when another
leg makes the call outlast the leg that carries them."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.ingest.formats.freeswitch import decode_body, parse_leg
from callhistory.ingest.formats.freeswitch_merge import merge
from tests.conftest import SHARED
from tests.ingest.freeswitch_posts import call_center, document, post_leg
from tests.ingest.test_freeswitch_http import stored

REAL = SHARED / "fixtures" / "freeswitch"
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason="../shared/fixtures/freeswitch is not on this machine"
)


def with_variables(name: str, **changes: str | None) -> bytes:
    """A project fixture with some `variables` changed (None: removed)."""
    doc: dict[str, Any] = json.loads(document(name))
    for key, value in changes.items():
        if value is None:
            doc["variables"].pop(key, None)
        else:
            doc["variables"][key] = value
    return json.dumps(doc).encode()


def leg_of(raw: bytes) -> Any:
    return parse_leg(decode_body(raw, "application/json"))


def test_the_pbx_duration_and_wait_are_taken_as_written() -> None:
    raw = with_variables("outbound-answered-aleg", duration="41", waitsec="7")
    leg = leg_of(raw)
    assert (leg.duration, leg.waitsec) == (41, 7)
    call = merge([leg])
    assert (call.duration, call.wait_sec) == (41, 7)


@pytest.mark.parametrize("bad", [None, "", "soon", "-3"])
def test_without_a_usable_figure_it_is_computed(bad: str | None) -> None:
    raw = with_variables("outbound-answered-aleg", duration=bad, waitsec=bad)
    leg = leg_of(raw)
    assert (leg.duration, leg.waitsec) == (None, None)
    call = merge([leg])
    assert call.duration is None  # enrich computes it from start and end
    assert call.wait_sec == round(((call.answer_ms or 0) - call.start_ms) / 1000)


TRANSFER = ("transferred-aleg", "transferred-bleg-102", "transferred-bleg-105")


def test_a_transfer_takes_the_first_leg_s_duration_when_it_spans_the_call() -> None:
    a_leg, *b_legs = [leg_of(document(name)) for name in TRANSFER]
    a_leg = replace(a_leg, duration=187)  # the PBX's figure, one more than the epochs
    assert merge([a_leg, *b_legs]).duration == 187


def test_a_leg_that_outlives_the_first_makes_the_call_longer() -> None:
    a_leg, first_b, last_b = [leg_of(document(name)) for name in TRANSFER]
    assert last_b.end_ms is not None
    later = replace(last_b, end_ms=last_b.end_ms + 30_000)  # talks on after the A-leg ends
    call = merge([a_leg, first_b, later])
    assert call.end_ms == later.end_ms
    assert call.duration is None  # so enrich computes it from start and end: 216 s


@needs_real
async def test_a_2013_leg_is_stored_with_the_duration_the_pbx_billed(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """Its epochs span 23.6 s (rounded: 23); FreeSWITCH wrote duration 24, waitsec 3."""
    raw = next(REAL.glob("01-*.json")).read_bytes()
    tenant = await call_center(engine, client)
    answer = await post_leg(client, tenant.api_key, raw)
    assert answer.status_code == 200, answer.text
    row = await stored(engine, tenant, answer.json()["payload"]["transaction_id"])
    assert (row["duration"], row["bill_sec"], row["wait_sec"]) == (24, 21, 3)


@pytest.mark.parametrize("name", ["outbound-answered-aleg", "inbound-busy-aleg"])
async def test_a_leg_without_the_variable_is_stored_with_the_computed_duration(
    engine: AsyncEngine, client: httpx.AsyncClient, name: str
) -> None:
    tenant = await call_center(engine, client)
    raw = with_variables(name, duration=None)
    answer = await post_leg(client, tenant.api_key, raw)
    assert answer.status_code == 200, answer.text
    leg = leg_of(raw)
    row = await stored(engine, tenant, answer.json()["payload"]["transaction_id"])
    assert row["duration"] == round((leg.end_ms - leg.start_ms) / 1000)
