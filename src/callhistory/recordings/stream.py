"""A recording's bytes as an answer: a local file (Starlette answers Range itself), the
PBX's web server's answer passed through (the Range asked for, the part it gives), or a
redirect to the call's own link."""

from __future__ import annotations

import httpx
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from callhistory.envelope import ApiError
from callhistory.recordings.sources import LocalFile, Located, RemoteFile, media_type

PASSED_THROUGH = ("content-length", "content-range", "accept-ranges", "last-modified", "etag")
TIMEOUT = httpx.Timeout(10.0)


def remote_client() -> httpx.AsyncClient:
    """The client that fetches from CALLHISTORY_RECORDINGS_BASE_URL (an operator's
    setting, so not the webhooks' guarded one); replaced in tests."""
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)


def _disposition(name: str, download: bool) -> str:
    safe = "".join(ch for ch in name if ch.isalnum() or ch in "._-") or "recording"
    return f'{"attachment" if download else "inline"}; filename="{safe}"'


async def answer(located: Located, range_header: str | None, download: bool) -> Response:
    if isinstance(located, LocalFile):
        return FileResponse(
            located.path,
            media_type=media_type(located.path.name),
            headers={"Content-Disposition": _disposition(located.path.name, download)},
        )
    if isinstance(located, RemoteFile):
        return await _remote(located.url, range_header, download)
    return RedirectResponse(located.url, status_code=307)


async def reachable(located: Located) -> bool:
    """Whether a player pointed at it would find a file: a local one was found already;
    the PBX's web server is asked (HEAD); a stored link is the client's to follow."""
    if not isinstance(located, RemoteFile):
        return True
    async with remote_client() as client:
        try:
            head = await client.head(located.url)
        except httpx.HTTPError:
            return True  # unreachable now is not missing: the player will say
    return head.status_code not in (404, 410)


async def _remote(url: str, range_header: str | None, download: bool) -> Response:
    client = remote_client()
    # identity: the bytes are passed on as they come, under the upstream's Content-Length
    headers = {"Accept-Encoding": "identity"} | ({"Range": range_header} if range_header else {})
    request = client.build_request("GET", url, headers=headers)
    try:
        upstream = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        await client.aclose()
        raise ApiError(502, "recording_unavailable") from exc
    if upstream.status_code not in (200, 206):
        await upstream.aclose()
        await client.aclose()
        if upstream.status_code in (404, 410):
            raise ApiError(404, "recording_not_found")
        if upstream.status_code == 416:
            raise ApiError(416, "range_not_satisfiable")
        raise ApiError(502, "recording_unavailable")
    name = url.rsplit("/", 1)[-1]
    headers = {k: upstream.headers[k] for k in PASSED_THROUGH if k in upstream.headers}
    headers["content-disposition"] = _disposition(name, download)
    kind = upstream.headers.get("content-type", "").split(";")[0].strip()

    async def close() -> None:
        await upstream.aclose()
        await client.aclose()

    return StreamingResponse(
        upstream.aiter_bytes(),
        status_code=upstream.status_code,
        headers=headers,
        media_type=kind if kind.startswith("audio/") else media_type(name),
        background=BackgroundTask(close),
    )
