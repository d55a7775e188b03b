"""The requests of the mix: `Workload` draws a kind by weight and makes the request
(`Planned`): reads, changes, and ingest whose answers record in the ledger what was
acknowledged."""

from __future__ import annotations

import base64
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from bench.ingest import form_body
from bench.legs import CallMaker
from bench.soak.phase import KIND_NAMES, KINDS
from bench.soak.tenant import DAY_MS, Ledger, Picks
from callhistory.db import now_ms
from callhistory.demo.directory import N_AGENTS
from callhistory.ingest.formats.freeswitch import parse_document, parse_leg

TAGS = ("VIP", "gọi lại", "khiếu nại", "hài lòng", "cần hỗ trợ", "báo giá")
NOTES = ("Khách hẹn gọi lại", "Đã xử lý", "Chuyển bộ phận kỹ thuật", "Khách chưa hài lòng")
KEYWORD_SHARE = 0.1  # of list requests


@dataclass(frozen=True)
class Planned:
    """One request, ready to send."""

    kind: str
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any] | None = None
    content: bytes | None = None
    expect: int = 200
    # reads the 2xx answer: an error label, or None (and records what was acknowledged)
    check: Callable[[httpx.Response], str | None] | None = None


class Workload:
    """Draws request kinds by weight and makes each request."""

    def __init__(self, picks: Picks, token: str, seed: int, ledger: Ledger) -> None:
        self.picks = picks
        self.rng = random.Random(seed)
        self.ledger = ledger
        self.targets: list[str] = list(picks.recent) or list(picks.seeded)
        self.maker = CallMaker(seed=seed, agents=N_AGENTS, customers=500)
        self.legs: deque[tuple[str, str, bytes]] = deque()  # call id, leg uuid, body
        self.read_headers = {"authorization": f"Bearer {token}"}
        self.key_headers = {"x-api-key": picks.api_key}
        basic = base64.b64encode(f"freeswitch:{picks.api_key}".encode()).decode()
        self.leg_headers = {
            "content-type": "application/x-www-form-urlencoded",
            "authorization": f"Basic {basic}",
            "user-agent": "freeswitch-json/1.0",
        }
        self._weights = [k.weight for k in KINDS]

    def pick(self) -> str:
        return self.rng.choices(KIND_NAMES, self._weights)[0]

    def make(self, kind: str) -> Planned:
        return getattr(self, "_" + kind.replace(" ", "_"))()  # type: ignore[no-any-return]

    def _window(self) -> dict[str, Any]:
        days = self.rng.choice((1, 7, 7, 30, 30, 30))
        end = now_ms()
        return {"from_date": end - days * DAY_MS, "to_date": end}

    def _list(self) -> Planned:
        r, p = self.rng, self.picks
        params: dict[str, Any] = {**self._window(), "size": r.choice((10, 20, 50))}
        params["page"] = r.choice((1, 1, 1, 1, 2, 3, 10))
        choice = r.random()
        if choice < KEYWORD_SHARE:
            if r.random() < 0.5 and p.names:
                params["keyword"] = " ".join(r.choice(p.names).split()[-2:])
            elif p.phones:
                phone = r.choice(p.phones)
                params["keyword"] = phone[2:7]
        else:
            filters: list[tuple[str, Sequence[str]]] = [
                ("direction", ("inbound", "outbound", "local")),
                ("disposition", ("answered", "cancelled")),
                ("agents", p.agent_emails),
                ("sip_numbers", p.hotlines),
                ("queue_destination", p.queues),
                ("is_auto_call", ("true", "false")),
            ]
            for name, values in r.sample(filters, r.choice((0, 0, 1, 1, 2))):
                if values:
                    params[name] = r.choice(list(values))
        return Planned("list", "GET", "/api/call_transaction/list", self.read_headers, params)

    def _detail(self) -> Planned:
        tid = self.rng.choice(self.targets)
        return Planned("detail", "GET", f"/api/call_transaction/detail/{tid}", self.read_headers)

    def _detail_unknown(self) -> Planned:
        return Planned(
            "detail unknown",
            "GET",
            f"/api/call_transaction/detail/nobody-{uuid.uuid4()}",
            self.read_headers,
            expect=404,
        )

    def _search(self) -> Planned:
        r, p = self.rng, self.picks
        body: dict[str, Any] = {
            **self._window(),
            "user_uuids": [r.choice(p.user_uuids or p.extensions)],
        }
        if r.random() < 0.3:
            body["direction"] = [r.choice(("inbound", "outbound"))]
        if r.random() < 0.2:
            body["disposition"] = ["answered"]
        return Planned(
            "search",
            "POST",
            "/api/call_transaction/search",
            {**self.key_headers, "content-type": "application/json"},
            {"page": 1, "size": r.choice((10, 20, 50))},
            orjson.dumps(body),
        )

    def _report(self) -> Planned:
        params = self._window()
        if self.rng.random() < 0.3:
            params["direction"] = self.rng.choice(("inbound", "outbound"))
        return Planned("report", "GET", "/api/call_transaction/report", self.read_headers, params)

    def _change(self) -> Planned:
        r = self.rng
        body: dict[str, Any] = {"tag": r.sample(TAGS, r.randint(0, 3))}
        if r.random() < 0.7:
            body["note"] = f"{r.choice(NOTES)} ({r.randrange(1000)})"
        tid = r.choice(self.targets)
        return Planned(
            "change",
            "POST",
            f"/api/call_transaction/change/{tid}",
            {**self.read_headers, "content-type": "application/json"},
            content=orjson.dumps(body),
        )

    def _freeswitch_leg(self) -> Planned:
        if not self.legs:
            start = int(time.time()) - self.rng.randint(3600, 7 * 86_400)
            call = self.maker.call(start)
            for raw in call.legs:
                leg = parse_leg(parse_document(raw))
                self.legs.append((call.call_id, leg.uuid, form_body(raw)))
        call_id, leg_uuid, body = self.legs.popleft()
        self.ledger.sent_calls.add(call_id)
        self.ledger.sent_legs += 1

        def check(answer: httpx.Response) -> str | None:
            payload = answer.json().get("payload") or {}
            if payload.get("transaction_id") != call_id or payload.get("leg_uuid") != leg_uuid:
                return "answer names another call or leg"
            self.ledger.acked_legs[leg_uuid] = call_id
            if call_id not in self.ledger.acked_leg_calls:
                self.ledger.acked_leg_calls.add(call_id)
                self.targets.append(call_id)
            return None

        return Planned(
            "freeswitch leg",
            "POST",
            "/api/cdr/freeswitch",
            self.leg_headers,
            content=body,
            check=check,
        )

    def _cdr_batch(self) -> Planned:
        r = self.rng
        items = [self._item() for _ in range(r.randint(2, 20))]
        ids = [i["transaction_id"] for i in items]
        self.ledger.sent_calls.update(ids)
        self.ledger.sent_items += len(items)

        def check(answer: httpx.Response) -> str | None:
            results = (answer.json().get("payload") or {}).get("results") or []
            if len(results) != len(ids):
                return "answer has another number of results"
            refused = ""
            for tid, result in zip(ids, results, strict=True):
                if result.get("status") in ("stored", "updated", "unchanged"):
                    self.ledger.acked_items.add(tid)
                    self.targets.append(tid)
                else:
                    refused = f"item {result.get('status')}: {result.get('errors')}"
            return refused or None

        return Planned(
            "cdr batch",
            "POST",
            "/api/cdr",
            {**self.key_headers, "content-type": "application/json"},
            content=orjson.dumps(items),
            check=check,
        )

    def _item(self) -> dict[str, Any]:
        r, p = self.rng, self.picks
        answered = r.random() < 0.7
        bill = r.randint(5, 600) if answered else 0
        outbound = r.random() < 0.5
        agent = r.choice(p.extensions) if p.extensions else "101"
        customer = r.choice(p.phones) if p.phones and r.random() < 0.6 else None
        customer = customer or f"09{r.randrange(10**8):08d}"
        hotline = r.choice(p.hotlines) if p.hotlines else "19001234"
        item: dict[str, Any] = {
            "transaction_id": f"soak-{uuid.uuid4()}",
            "created_date": now_ms() - r.randint(60_000, 7 * DAY_MS),
            "direction": "outbound" if outbound else "inbound",
            "source_number": agent if outbound else customer,
            "destination_number": customer if outbound else hotline,
            "disposition": "answered" if answered else "cancelled",
            "bill_sec": bill,
            "duration": bill + r.randint(3, 30),
            "sip_user": agent,
            "hotline": hotline,
            "hangup_cause": "NORMAL_CLEARING" if answered else "NO_ANSWER",
            "pbx_type": "soak",
        }
        if answered:
            item["recording_file"] = f"https://rec.example.vn/{uuid.uuid4()}.mp3"
        if r.random() < 0.2:
            item["tag"] = r.sample(TAGS, 1)
        return item
