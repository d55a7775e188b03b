"""From what the PBX said to the record the API serves: direction, agents, customer,
hotline, carrier and price, from the tenant's own directories."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from callhistory.carriers import UNKNOWN, carrier_of, is_external
from callhistory.directory.store import agents_by_extension, customer_by_phone, tenant_numbers
from callhistory.ingest.formats.call import MergedCall
from callhistory.ingest.lookups import DirectoryCache
from callhistory.ingest.pricing import Rate, price
from callhistory.ingest.records import AgentOnCall, CallRecord
from callhistory.phones import national
from callhistory.schema import price_rates


@dataclass(frozen=True)
class RecordingUrls:
    """Turns the PBX's file path into a link: `{path}`, `{name}`, `{call_id}` in a template."""

    template: str = ""

    def url(self, path: str | None, call_id: str) -> str | None:
        if not path:
            return None
        if not self.template:
            return path
        name = path.rsplit("/", 1)[-1]
        return self.template.format(path=path.lstrip("/"), name=name, call_id=call_id)


def business_direction(
    call: MergedCall, is_internal: Callable[[str], bool], hotlines: frozenset[str]
) -> str:
    """The call's direction for the business, from its numbers (a PBX channel's own
    `direction` only says whether the channel came into the switch). A call from one
    of the tenant's hotlines, or placed by a dialer, goes out."""
    caller, destination = call.caller_number, call.destination_number
    from_us = is_internal(caller) or national(caller) in hotlines or call.is_auto_call
    if from_us and is_internal(destination):
        return "local"
    return "outbound" if from_us else "inbound"


def _hotline(call: MergedCall, direction: str, hotlines: frozenset[str]) -> str | None:
    """The tenant's number the call came in on, or went out with."""
    if direction == "inbound":
        return national(call.destination_number)
    if direction == "outbound":
        caller = national(call.caller_number)
        if caller in hotlines:
            return caller
        return national(call.outbound_caller_id) if call.outbound_caller_id else None
    return None


async def _rate(conn: AsyncConnection, tenant_id: str, carrier: str) -> Rate | None:
    row = (
        await conn.execute(
            select(price_rates).where(
                price_rates.c.tenant_id == tenant_id, price_rates.c.carrier == carrier
            )
        )
    ).first()
    return Rate(row.price_per_minute, row.first_block_sec, row.next_block_sec) if row else None


def _party(agent: Any, kind: str = "extension") -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.full_name,
        "contact_id": None,
        "avatar": None,
        "gender": None,
        "uuid": agent.user_uuid,
        "type": kind,
        "extension": agent.sip_user,
    }


async def enrich(
    conn: AsyncConnection,
    tenant_id: str,
    call: MergedCall,
    recordings: RecordingUrls,
    pbx_type: str = "freeswitch",
    cache: DirectoryCache | None = None,
) -> CallRecord:
    """`cache`: the tenant's directories read once for a batch (see ingest.lookups)."""
    numbers = cache.numbers if cache else await tenant_numbers(conn, tenant_id)

    def is_internal(number: str) -> bool:
        # The tenant's extensions and queues, the users the PBX itself names, and any
        # number too short for the public network.
        known = number in numbers.extensions or number in numbers.queues
        return known or number in call.extensions or not is_external(number)

    caller, destination = call.caller_number, call.destination_number
    direction = call.direction or business_direction(call, is_internal, numbers.hotlines)
    if cache:
        agents = cache.agents_on(call.extensions)
    else:
        agents = await agents_by_extension(conn, tenant_id, list(call.extensions))
    external = caller if direction == "inbound" else destination if direction == "outbound" else ""
    if cache:
        customer = cache.customer(external) if external else None
    else:
        customer = await customer_by_phone(conn, tenant_id, external) if external else None
    hotline = _hotline(call, direction, numbers.hotlines)
    carrier = call.provider or (carrier_of(external) if external else None)
    call_price = None
    if direction == "outbound" and call.answered and carrier and carrier != UNKNOWN:
        rate = cache.rate(carrier) if cache else await _rate(conn, tenant_id, carrier)
        call_price = price(call.bill_sec, rate) if rate else None
    start_s = call.start_ms // 1000
    answer_s = call.answer_ms // 1000 if call.answer_ms else None
    known = [agents[e] for e in call.extensions if e in agents]
    caller_agent = agents.get(caller)
    callee_agent = agents.get(destination)
    return CallRecord(
        transaction_id=call.call_id,
        created_date=call.start_ms,
        direction=direction,
        disposition="answered" if call.answered else "cancelled",
        source_number=caller,
        destination_number=destination,
        sip_user=call.extensions[0] if call.extensions else None,
        hotline=hotline if hotline and hotline not in numbers.extensions else None,
        queue_destination=call.queue,
        is_auto_call=call.is_auto_call,
        duration=call.duration
        if call.duration is not None
        else max(0, round((call.end_ms - call.start_ms) / 1000)),
        bill_sec=call.bill_sec,
        record_seconds=call.record_seconds
        if call.record_seconds is not None
        else (call.bill_sec if call.recording_path else 0),
        answer_sec=call.bill_sec,
        wait_sec=call.wait_sec,
        hold_call_sec=call.hold_sec,
        playback_seconds=call.playback_seconds,
        time_start_call=start_s,
        time_start_to_answer=answer_s if answer_s is not None else start_s,
        ms_time_start_to_answer=call.answer_ms,
        time_start_media=answer_s,
        time_end_call=call.end_ms // 1000,
        hangup_cause=call.hangup_cause,
        hangup_cause_q850=call.hangup_cause_q850,
        dial_status=call.dial_status,
        rtp_audio_in_mos=call.mos,
        sip_from_user=call.sip_from_user,
        domain=call.domain,
        pbx_type=pbx_type,
        provider=None if carrier in (None, UNKNOWN) else carrier,
        call_out_price=call_price,
        recording_file=recordings.url(call.recording_path, call.call_id),
        recording_file_voicemail=recordings.url(call.voicemail_path, call.call_id),
        recording_path=call.recording_path,
        is_voicemail=call.voicemail,
        is_missed_call=direction == "inbound" and not call.answered,
        customer_id=customer.id if customer else None,
        customer_name=customer.full_name if customer else None,
        customer_number=national(external) if external else None,
        create_by=_party(caller_agent) if caller_agent else None,
        internal_destination=_party(callee_agent)
        if direction == "local" and callee_agent
        else None,
        agents=tuple(
            AgentOnCall(a.sip_user, a.id, a.email, a.user_uuid, a.full_name) for a in known
        ),
    )
