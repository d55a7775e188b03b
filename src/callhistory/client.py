"""A typed Python client for the callhistory API (async, httpx).

    async with CallHistoryClient("https://calls.example.vn", api_key="ch_...") as api:
        async for call in api.iter_list(from_date=..., to_date=...):
            ...

Pages are followed for you (list, search, sync); a 429 or 503 is retried after the
server's Retry-After; any other failure raises CallHistoryError with the API's code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from callhistory.webhooks.signing import standard_secret as _standard_secret
from callhistory.webhooks.signing import verify as _verify
from callhistory.webhooks.signing import verify_standard as _verify_standard

__all__ = [
    "CallHistoryClient",
    "CallHistoryError",
    "SyncPage",
    "standard_secret",
    "verify_signature",
    "verify_webhook",
]

Call = dict[str, Any]
RETRYABLE = (429, 503)


class CallHistoryError(Exception):
    """The API refused: `status` is the HTTP status, `code` the envelope's message."""

    def __init__(self, status: int, code: str, payload: Any = None) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.payload = payload


class SyncPage:
    def __init__(self, items: list[Call], cursor: str, has_more: bool) -> None:
        self.items = items
        self.cursor = cursor
        self.has_more = has_more


def verify_webhook(
    secret: str, body: bytes, headers: Mapping[str, str], tolerance: int = 300
) -> bool:
    """Check a webhook's Standard Webhooks signature (webhook-id, webhook-timestamp,
    webhook-signature; names in any case) against the raw request body. Any secret the
    API handed out works, those minted before Standard Webhooks included."""
    return _verify_standard(secret, body, headers, tolerance=tolerance)


def standard_secret(secret: str) -> str:
    """The secret in the form Standard Webhooks libraries read (`whsec_` + standard
    base64); the same string for secrets minted since; a converted one for older ones."""
    return _standard_secret(secret)


def verify_signature(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """Check a webhook's X-Callhistory-Signature against the raw request body.
    Deprecated: the header goes away in the next release; use verify_webhook."""
    return _verify(secret, body, header, tolerance=tolerance)


class CallHistoryClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        max_retries: int = 5,
        max_wait: float = 60.0,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"x-api-key": api_key},
            timeout=timeout,
            transport=transport,
        )
        self.max_retries = max_retries
        self.max_wait = max_wait

    async def __aenter__(self) -> CallHistoryClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """The envelope's payload; retries 429/503 after Retry-After (seconds)."""
        for attempt in range(self.max_retries + 1):
            answer = await self._http.request(method, path, params=params, json=json)
            if answer.status_code in RETRYABLE and attempt < self.max_retries:
                await asyncio.sleep(self._wait(answer, attempt))
                continue
            body = answer.json()
            if answer.is_success:
                return body.get("payload")
            raise CallHistoryError(
                answer.status_code, body.get("message", "error"), body.get("payload")
            )
        raise AssertionError("unreachable")  # the loop returns or raises

    def _wait(self, answer: httpx.Response, attempt: int) -> float:
        try:
            wait = float(answer.headers.get("Retry-After", ""))
        except ValueError:
            wait = 2.0**attempt  # no usable Retry-After: back off exponentially
        return min(max(wait, 0.0), self.max_wait)

    # --- calls ---

    async def list_page(self, **filters: Any) -> dict[str, Any]:
        """One page of GET /api/call_transaction/list (filters as in docs/api.md)."""
        page: dict[str, Any] = await self._call("GET", "/api/call_transaction/list", params=filters)
        return page

    async def iter_list(self, *, size: int = 50, **filters: Any) -> AsyncIterator[Call]:
        """Every call the list filters match, newest first, page after page."""
        page_number = 1
        while True:
            page = await self.list_page(page=page_number, size=size, **filters)
            for item in page["items"]:
                yield item
            if not page["has_next"]:
                return
            page_number += 1

    async def iter_search(self, body: Mapping[str, Any], *, size: int = 50) -> AsyncIterator[Call]:
        """Every call POST /api/call_transaction/search matches (full item shape)."""
        page_number = 1
        while True:
            page = await self._call(
                "POST",
                "/api/call_transaction/search",
                params={"page": page_number, "size": size},
                json=dict(body),
            )
            for item in page["items"]:
                yield item
            if not page["hasNext"]:
                return
            page_number += 1

    async def detail(self, transaction_id: str) -> Call:
        call: Call = await self._call("GET", f"/api/call_transaction/detail/{transaction_id}")
        return call

    async def change(
        self, transaction_id: str, *, note: str | None = None, tags: list[str] | None = None
    ) -> Call:
        body: dict[str, Any] = {}
        if note is not None:
            body["note"] = note
        if tags is not None:
            body["tag"] = tags
        call: Call = await self._call(
            "POST", f"/api/call_transaction/change/{transaction_id}", json=body
        )
        return call

    # --- sync ---

    async def sync_page(
        self, cursor: str | None = None, *, from_date: int = 0, size: int = 500
    ) -> SyncPage:
        params: dict[str, Any] = {"size": size}
        params.update({"cursor": cursor} if cursor else {"from_date": from_date})
        page = await self._call("GET", "/api/call_transaction/sync", params=params)
        return SyncPage(page["items"], page["cursor"], page["has_more"])

    async def iter_sync(
        self, cursor: str | None = None, *, from_date: int = 0, size: int = 500
    ) -> AsyncIterator[tuple[Call, str]]:
        """Each changed call with the cursor to resume after its page, until caught up.

        Save the cursor only once you have stored the whole page's calls.
        """
        while True:
            page = await self.sync_page(cursor, from_date=from_date, size=size)
            for item in page.items:
                yield item, page.cursor
            cursor = page.cursor
            if not page.has_more:
                return

    # --- webhooks and exports ---

    async def register_webhook(self, url: str, events: list[str]) -> dict[str, Any]:
        hook: dict[str, Any] = await self._call(
            "POST",
            "/api/webhooks/register",
            json={"webhook": {"type": "call", "url": url, "events": events}},
        )
        return hook

    async def webhooks(self) -> list[dict[str, Any]]:
        page = await self._call("GET", "/api/webhooks/list")
        items: list[dict[str, Any]] = page["items"]
        return items

    async def start_export(self, **body: Any) -> dict[str, Any]:
        job: dict[str, Any] = await self._call("POST", "/api/exports", json=body)
        return job

    async def export_status(self, export_id: str) -> dict[str, Any]:
        job: dict[str, Any] = await self._call("GET", f"/api/exports/{export_id}")
        return job

    async def wait_export(self, export_id: str, poll: float = 1.0) -> dict[str, Any]:
        while True:
            job = await self.export_status(export_id)
            if job["status"] in ("done", "failed"):
                return job
            await asyncio.sleep(poll)
