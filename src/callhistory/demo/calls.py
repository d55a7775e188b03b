"""Believable calls: who called whom, when, how it ended, and what people noted.

Each call is built as plain rows (calls, call_users, call_tags) shaped like the ones
ingest writes, so every endpoint serves demo calls exactly as it serves real ones.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from sqlalchemy import null

from callhistory.calls.store import search_text
from callhistory.carriers import UNKNOWN, carrier_of
from callhistory.db import new_id
from callhistory.demo import names
from callhistory.demo.clock import Clock, pick
from callhistory.demo.directory import Agent, Customer, Directory, unused_number
from callhistory.demo.outcomes import outcome, price, talk_seconds
from callhistory.phones import international, national
from callhistory.schema import CALL_OWNER

DIRECTIONS = ("inbound", "outbound", "local")
_DIRECTION_CUM = tuple(accumulate((0.60, 0.33, 0.07)))
RECORDINGS = "https://recordings.example.vn"


@dataclass
class CallRows:
    call: dict[str, Any]
    users: list[dict[str, Any]]
    tags: list[dict[str, Any]]


@dataclass
class _Draft:
    """A call while it is being made: the parties, before times and outcome."""

    direction: str
    start: int
    office: bool
    date: str  # local yyyy/mm/dd, for the recording's path
    answered: bool = False
    on_call: tuple[Agent, ...] = ()
    number: str | None = None  # the customer's end, for inbound and outbound
    customer: Customer | None = None


def agent_party(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.full_name,
        "contact_id": agent.contact_id,
        "avatar": None,
        "gender": None,
        "uuid": agent.user_uuid,
        "type": "extension",
        "extension": agent.sip_user,
    }


def internal_party(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "contact_id": agent.contact_id,
        "name": agent.full_name,
        "uuid": agent.user_uuid,
        "extension": agent.sip_user,
        "type": "extension",
    }


def customer_party(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "name": customer.full_name,
        "contact_id": customer.contact_id,
        "avatar": None,
        "gender": None,
        "uuid": customer.phone,
        "type": "customer",
        "extension": None,
    }


class CallMaker:
    """Makes one call at a time from a seeded random source and the tenant's directory."""

    def __init__(
        self, rng: random.Random, directory: Directory, tenant_id: str, clock: Clock
    ) -> None:
        self.rng, self.d, self.tenant_id, self.clock = rng, directory, tenant_id, clock
        self.teams = [
            tuple(a for a in directory.agents if a.team == t) for t in range(len(directory.queues))
        ]
        self.queue_cum = tuple(accumulate(q.weight for q in directory.queues))
        self.line_cum = tuple(accumulate(h.inbound_weight for h in directory.hotlines))
        self.outbound_lines = [h for h in directory.hotlines if h.outbound]
        self.domain = f"{directory.slug}.callcenter.vn"

    def make(self) -> CallRows:
        rng = self.rng
        direction = pick(rng, DIRECTIONS, _DIRECTION_CUM)
        start, office, date = self.clock.start(rng, direction)
        draft = _Draft(direction, start, office, date)
        if direction == "inbound":
            row = self._inbound(draft)
        elif direction == "outbound":
            row = self._outbound(draft)
        else:
            row = self._local(draft)
        return self._people(draft, self._times(draft, row))

    # -- the parties -----------------------------------------------------------------------

    def _customer(self, draft: _Draft, known_share: float) -> str:
        if self.rng.random() < known_share:
            draft.customer = pick(self.rng, self.d.customers, self.d.customer_weights)
            draft.number = draft.customer.phone
        else:
            draft.number = unused_number(self.rng, self.d.phones)
        return draft.number

    def _colleague(self, agent: Agent, same_team: bool) -> Agent:
        pool = self.teams[agent.team] if same_team else self.d.agents
        return self.rng.choice([a for a in pool if a is not agent] or self.d.agents[:1])

    def _inbound(self, draft: _Draft) -> dict[str, Any]:
        rng = self.rng
        line = pick(rng, self.d.hotlines, self.line_cum)
        caller = self._customer(draft, known_share=0.85)
        # Most callers pick a queue in the IVR; the rest dial an extension directly.
        queue = None
        team: tuple[Agent, ...] | list[Agent] = self.d.agents
        if rng.random() < 0.9:
            index = pick(rng, range(len(self.d.queues)), self.queue_cum)
            queue, team = self.d.queues[index], self.teams[index]
        draft.answered = rng.random() < (0.77 if draft.office else 0.3)  # few agents after hours
        if draft.answered or rng.random() < 0.7:  # unanswered: the last agent rung, if any
            draft.on_call = (rng.choice(team),)
        if draft.answered and rng.random() < 0.05:  # transferred to a colleague
            draft.on_call += (self._colleague(draft.on_call[0], same_team=False),)
        return {
            "source_number": caller,
            "destination_number": line.number,
            "hotline": national(line.number),
            "queue_destination": queue.number if queue else None,
            "sip_from_user": caller,
            "is_auto_call": False,
            "internal_destination": None,
        }

    def _outbound(self, draft: _Draft) -> dict[str, Any]:
        rng = self.rng
        auto = rng.random() < 0.15
        sales = self.teams[1] if len(self.teams) > 1 else self.d.agents
        agent = rng.choice(sales if auto or rng.random() < 0.65 else self.d.agents)
        line = rng.choice(self.outbound_lines)
        callee = self._customer(draft, known_share=0.6 if auto else 0.9)
        draft.answered = rng.random() < (0.45 if auto else 0.57)
        if draft.answered or not auto:  # the dialer brings an agent in only once answered
            draft.on_call = (agent,)
        return {
            "source_number": international(line.number),  # caller id, as the PBX shows it
            "destination_number": callee,
            "hotline": national(line.number),
            "queue_destination": None,
            "sip_from_user": agent.sip_user if draft.on_call else None,
            "is_auto_call": auto,
            "internal_destination": None,
        }

    def _local(self, draft: _Draft) -> dict[str, Any]:
        caller = self.rng.choice(self.d.agents)
        callee = self._colleague(caller, same_team=self.rng.random() < 0.6)
        draft.answered = self.rng.random() < 0.8
        draft.on_call = (caller, callee)
        return {
            "source_number": caller.sip_user,
            "destination_number": callee.sip_user,
            "hotline": None,
            "queue_destination": None,
            "sip_from_user": caller.sip_user,
            "is_auto_call": False,
            "internal_destination": internal_party(callee),
        }

    # -- how it went -----------------------------------------------------------------------

    def _times(self, draft: _Draft, row: dict[str, Any]) -> dict[str, Any]:
        rng, direction, answered, start = self.rng, draft.direction, draft.answered, draft.start
        end = outcome(rng, direction, answered)
        wait = rng.randint(end.ring_low, end.ring_high)
        bill = talk_seconds(rng, direction) if answered else 0
        voicemail = (
            direction == "inbound"
            and not answered
            and end.hangup_cause in ("NO_ANSWER", "ORIGINATOR_CANCEL")
            and rng.random() < 0.2
        )
        message = rng.randint(8, 60) if voicemail else 0  # the caller stays on to leave it
        answer_ms = start + wait * 1000 + rng.randrange(1000) if answered else start
        end_ms = (answer_ms if answered else start + wait * 1000) + (bill + message) * 1000
        tid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        folder = f"{RECORDINGS}/{self.d.slug}/{draft.date}/{tid}"
        carrier = carrier_of(draft.number) if draft.number else UNKNOWN
        forward = direction == "inbound" and answered and rng.random() < 0.04  # to a mobile
        hold = (
            rng.randint(10, max(10, min(120, bill // 3))) if answered and rng.random() < 0.1 else 0
        )
        customer = draft.customer
        if direction == "inbound":
            create_by = customer_party(customer) if customer else None
        else:
            create_by = agent_party(draft.on_call[0]) if draft.on_call else None
        # Columns whose value is always the server default (the is_* flags, nation "vn",
        # ivr "none", playback 0) are left out: fewer parameters, a faster insert.
        row.update(
            tenant_id=self.tenant_id,
            transaction_id=tid,
            id=new_id(),
            created_date=start,
            last_updated_date=end_ms + rng.randint(300, 3000),  # when the PBX posted the CDR
            direction=direction,
            disposition="answered" if answered else "cancelled",
            sip_user=draft.on_call[0].sip_user if draft.on_call else None,
            duration=wait + bill + message,
            bill_sec=bill,
            record_seconds=bill,
            answer_sec=bill,
            wait_sec=wait,
            hold_call_sec=hold,
            bill_sec_forward_out=bill if forward else 0,
            time_start_call=start // 1000,
            time_start_to_answer=answer_ms // 1000,
            ms_time_start_to_answer=answer_ms,
            time_start_media=answer_ms // 1000,
            time_end_call=end_ms // 1000,
            hangup_cause=end.hangup_cause,
            hangup_cause_q850=end.q850,
            dial_status=end.dial_status,
            rtp_audio_in_mos=round(rng.triangular(3.5, 4.5, 4.3), 2) if answered else None,
            domain=self.domain,
            domain_fusion=self.domain,
            pbx_type="freeswitch",
            provider=None if carrier == UNKNOWN else carrier,
            call_out_price=price(bill, carrier) if answered and direction == "outbound" else None,
            recording_file=f"{folder}.mp3" if answered else None,
            recording_file_voicemail=f"{folder}-voicemail.mp3" if voicemail else None,
            is_voicemail=voicemail,
            is_have_forward_out=forward,
            is_missed_call=direction == "inbound" and not answered,
            customer_id=customer.id if customer else None,
            customer_name=customer.full_name if customer else None,
            customer_number=national(draft.number) if draft.number else None,
            create_by=create_by,
        )
        return row

    # -- what people wrote -----------------------------------------------------------------

    def _people(self, draft: _Draft, row: dict[str, Any]) -> CallRows:
        rng, now = self.rng, self.clock.now
        end_ms = row["time_end_call"] * 1000
        last_updated = min(now, row["last_updated_date"])
        note: str | None = None
        call_tags: list[str] = []
        if rng.random() < 0.3:
            kind = rng.random()  # a note, tags, or both
            if kind < 0.6:
                note = names.fill(rng.choice(self._notes(draft)), rng)
            if kind >= 0.25:
                call_tags = self._tags(draft)
            last_updated = min(now, max(last_updated, end_ms + rng.randint(10_000, 900_000)))
        users: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        agent_tags: list[str] = []
        for position, agent in enumerate(draft.on_call):
            agent_note: str | None = None
            noted_at: int | None = None
            if position == 0 and draft.answered and rng.random() < 0.2:
                agent_note = names.fill(rng.choice(names.AGENT_NOTES), rng)
                noted_at = min(now, end_ms + rng.randint(5_000, 600_000))
                last_updated = max(last_updated, noted_at)
                if rng.random() < 0.4:
                    mine = self._tags(draft)
                    agent_tags += mine
                    tag_rows += self._tag_rows(row, position, mine)
            users.append(
                {
                    "tenant_id": self.tenant_id,
                    "transaction_id": row["transaction_id"],
                    "position": position,
                    "created_date": draft.start,
                    "agent_id": agent.id,
                    "email": agent.email,
                    "user_uuid": agent.user_uuid,
                    "sip_user": agent.sip_user,
                    "full_name": agent.full_name,
                    "full_name_unsigned": agent.full_name_unsigned,
                    "note": agent_note,
                    "note_created_date": noted_at,
                }
            )
        tag_rows += self._tag_rows(row, CALL_OWNER, call_tags)
        row["note"] = note
        row["last_updated_date"] = last_updated
        row["search_text"] = search_text(
            numbers=[row["source_number"], row["destination_number"]],
            names=[row["customer_name"], *(a.full_name for a in draft.on_call)],
            notes=[note, *(u["note"] for u in users)],
            tag_names=call_tags + agent_tags,
        )
        for key in ("create_by", "internal_destination"):
            if row[key] is None:
                row[key] = null()  # SQL NULL; a plain None would be stored as JSON 'null'
        return CallRows(row, users, tag_rows)

    def _notes(self, draft: _Draft) -> tuple[str, ...]:
        if draft.direction == "local":
            return names.LOCAL_NOTES
        if not draft.answered:
            return names.CANCELLED_NOTES
        return names.INBOUND_NOTES if draft.direction == "inbound" else names.OUTBOUND_NOTES

    def _tags(self, draft: _Draft) -> list[str]:
        rng = self.rng
        pool = names.ANSWERED_TAGS if draft.answered else names.CANCELLED_TAGS
        chosen = rng.sample(pool, 1 if rng.random() < 0.7 else 2)
        if draft.customer and draft.customer.vip and rng.random() < 0.7:
            chosen.append("VIP")
        if draft.number and draft.customer is None and rng.random() < 0.5:
            chosen.append("khách hàng mới")
        return chosen

    def _tag_rows(
        self, row: dict[str, Any], owner: int, tag_names: list[str]
    ) -> list[dict[str, Any]]:
        return [
            {
                "tenant_id": self.tenant_id,
                "transaction_id": row["transaction_id"],
                "user_position": owner,
                "tag_id": self.d.tags[name],
                "position": index,
                "created_date": row["created_date"],
            }
            for index, name in enumerate(tag_names)
        ]
