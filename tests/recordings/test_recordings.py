"""Recordings as a resource: streamed from a folder or the PBX's web server with Range,
signed links, missing files, and paths that try to leave the folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from callhistory.config import Settings, get_settings
from callhistory.recordings import stream
from callhistory.recordings.sources import relative_path
from tests.factories import Tenant, add_call, make_tenant

AUDIO = bytes(range(256)) * 40  # 10,240 bytes
PBX_ROOT = "/var/lib/freeswitch/recordings"


def play(transaction_id: str) -> str:
    return f"/api/call_transaction/recording/{transaction_id}"


@dataclass
class Folder:
    root: Path
    outside: Path


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Folder]:
    root = tmp_path / "recordings"
    (root / "2026" / "12").mkdir(parents=True)
    (root / "2026" / "12" / "a.wav").write_bytes(AUDIO)
    (root / "2026" / "12" / "b.mp3").write_bytes(b"ID3" + AUDIO)
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"not yours")
    os.symlink(outside, root / "2026" / "12" / "escape.wav")
    settings = replace(get_settings(), recordings_dir=str(root), recordings_pbx_root=PBX_ROOT)
    _use(monkeypatch, settings)
    yield Folder(root, outside)


def _use(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setattr("callhistory.recordings.routes.get_settings", lambda: settings)


async def _call(engine: AsyncEngine, tenant: Tenant, path: str | None) -> str:
    return await add_call(
        engine, tenant, recording_path=path, recording_file=path and f"https://x.vn/{path}"
    )


async def test_streams_the_file_with_its_type_and_answers_ranges(
    client: httpx.AsyncClient, engine: AsyncEngine, folder: Folder
) -> None:
    tenant = await make_tenant(engine)
    wav = await _call(engine, tenant, f"{PBX_ROOT}/2026/12/a.wav")  # as FreeSWITCH writes it
    mp3 = await _call(engine, tenant, "2026/12/b.mp3")  # relative: inside the folder
    whole = await client.get(play(wav), headers=tenant.headers)
    assert whole.status_code == 200
    assert whole.content == AUDIO
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"].startswith("inline")
    part = await client.get(play(wav), headers={**tenant.headers, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == AUDIO[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(AUDIO)}"
    saved = await client.get(play(mp3), params={"download": "1"}, headers=tenant.headers)
    assert saved.headers["content-type"] == "audio/mpeg"
    assert saved.headers["content-disposition"] == 'attachment; filename="b.mp3"'


@pytest.mark.parametrize(
    "path",
    [
        "2026/12/missing.wav",
        "../secret.wav",
        "2026/../../secret.wav",
        "/etc/passwd",
        f"{PBX_ROOT}/../secret.wav",
        "2026/12/escape.wav",  # a symbolic link out of the folder
        "2026\\12\\a.wav",
    ],
)
async def test_a_missing_file_or_a_path_out_of_the_folder_is_recording_not_found(
    client: httpx.AsyncClient, engine: AsyncEngine, folder: Folder, path: str
) -> None:
    tenant = await make_tenant(engine)
    transaction_id = await _call(engine, tenant, path)
    r = await client.get(play(transaction_id), headers=tenant.headers)
    assert r.status_code == 404
    assert r.json()["message"] == "recording_not_found"
    assert b"not yours" not in r.content
    link = await client.get(f"{play(transaction_id)}/link", headers=tenant.headers)
    assert link.json()["message"] == "recording_not_found"


def test_paths_are_read_as_the_pbx_wrote_them_or_refused() -> None:
    assert str(relative_path(f"{PBX_ROOT}/2026/a.wav", PBX_ROOT)) == "2026/a.wav"
    assert str(relative_path("2026/a.wav", "")) == "2026/a.wav"
    assert str(relative_path("2026/./a.wav", "")) == "2026/a.wav"  # still inside
    for refused in ("a.wav\x00.mp3", "/srv/other/a.wav", "a/../../b.wav", "", "https://x/a.wav"):
        assert relative_path(refused, PBX_ROOT) is None, refused
    assert relative_path(f"{PBX_ROOT}/a.wav", "") is None  # absolute, and no root to strip


async def test_no_recording_no_call_and_another_tenant(
    client: httpx.AsyncClient, engine: AsyncEngine, folder: Folder
) -> None:
    tenant, other = await make_tenant(engine), await make_tenant(engine)
    silent = await _call(engine, tenant, None)
    mine = await _call(engine, tenant, "2026/12/a.wav")
    assert (await client.get(play(silent), headers=tenant.headers)).json()[
        "message"
    ] == "recording_not_found"
    for transaction_id in ("no-such-call", mine):
        r = await client.get(play(transaction_id), headers=other.headers)
        assert (r.status_code, r.json()["message"]) == (404, "transaction_not_found")
        r = await client.get(f"{play(transaction_id)}/link", headers=other.headers)
        assert (r.status_code, r.json()["message"]) == (404, "transaction_not_found")
    assert (await client.get(play(mine))).status_code == 401


async def test_a_signed_link_plays_without_credentials_until_it_expires(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    folder: Folder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = await make_tenant(engine)
    transaction_id = await _call(engine, tenant, "2026/12/a.wav")
    answer = await client.get(f"{play(transaction_id)}/link", headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    link = answer.json()["payload"]
    assert link["media_type"] == "audio/wav"
    url = httpx.URL(link["url"])
    played = await client.get(url.path, params=url.params, headers={"Range": "bytes=0-9"})
    assert (played.status_code, played.content) == (206, AUDIO[:10])
    forged = url.params.set("tenant", (await make_tenant(engine)).id)
    r = await client.get(url.path, params=forged)
    assert (r.status_code, r.json()["message"]) == (403, "recording_link_invalid")
    r = await client.get(url.path.replace(transaction_id, "other-call"), params=url.params)
    assert r.json()["message"] == "recording_link_invalid"
    monkeypatch.setattr("callhistory.recordings.routes.now_ms", lambda: 10**15)
    r = await client.get(url.path, params=url.params)
    assert (r.status_code, r.json()["message"]) == (410, "recording_link_expired")


def _pbx_server(seen: list[httpx.Request]) -> httpx.MockTransport:
    """The PBX's web server: serves /rec/2026/12/a.wav with Range, 404 for the rest."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path != "/rec/2026/12/a.wav":
            return httpx.Response(404)
        wanted = request.headers.get("range")
        if wanted:
            first, last = (int(n) for n in wanted.removeprefix("bytes=").split("-"))
            return httpx.Response(
                206,
                content=AUDIO[first : last + 1],
                headers={
                    "content-type": "audio/x-wav",
                    "content-range": f"bytes {first}-{last}/{len(AUDIO)}",
                    "accept-ranges": "bytes",
                },
            )
        return httpx.Response(200, content=AUDIO, headers={"content-type": "audio/wav"})

    return httpx.MockTransport(handle)


async def test_streams_from_the_pbx_web_server(
    client: httpx.AsyncClient, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = "http://pbx.internal:8080/rec"
    _use(
        monkeypatch, replace(get_settings(), recordings_base_url=base, recordings_pbx_root=PBX_ROOT)
    )
    seen: list[httpx.Request] = []
    transport = _pbx_server(seen)
    monkeypatch.setattr(stream, "remote_client", lambda: httpx.AsyncClient(transport=transport))
    tenant = await make_tenant(engine)
    there = await _call(engine, tenant, f"{PBX_ROOT}/2026/12/a.wav")
    gone = await _call(engine, tenant, f"{PBX_ROOT}/2026/12/gone.wav")
    escaping = await _call(engine, tenant, f"{PBX_ROOT}/../../etc/passwd")
    whole = await client.get(play(there), headers=tenant.headers)
    assert (whole.status_code, whole.content) == (200, AUDIO)
    part = await client.get(play(there), headers={**tenant.headers, "Range": "bytes=5-9"})
    assert (part.status_code, part.content) == (206, AUDIO[5:10])
    assert part.headers["content-range"] == f"bytes 5-9/{len(AUDIO)}"
    assert part.headers["content-type"] == "audio/x-wav"
    assert str(seen[-1].url) == f"{base}/2026/12/a.wav"
    assert seen[-1].headers["range"] == "bytes=5-9"
    r = await client.get(play(gone), headers=tenant.headers)
    assert (r.status_code, r.json()["message"]) == (404, "recording_not_found")
    asked = len(seen)
    r = await client.get(play(escaping), headers=tenant.headers)
    assert r.json()["message"] == "recording_not_found"
    assert len(seen) == asked  # refused before anything was fetched


async def test_an_unreachable_pbx_is_recording_unavailable(
    client: httpx.AsyncClient, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, replace(get_settings(), recordings_base_url="http://pbx.internal/rec"))

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)
    monkeypatch.setattr(stream, "remote_client", lambda: httpx.AsyncClient(transport=transport))
    tenant = await make_tenant(engine)
    transaction_id = await _call(engine, tenant, "2026/12/a.wav")
    r = await client.get(play(transaction_id), headers=tenant.headers)
    assert (r.status_code, r.json()["message"]) == (502, "recording_unavailable")


async def test_with_no_source_configured_the_stored_link_is_where_it_plays(
    client: httpx.AsyncClient, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use(monkeypatch, replace(get_settings(), recordings_dir="", recordings_base_url=""))
    tenant = await make_tenant(engine)
    linked = await add_call(engine, tenant, recording_file="https://rec.example.vn/a.mp3")
    bare = await add_call(engine, tenant, recording_path="/var/rec/a.wav")
    r = await client.get(play(linked), headers=tenant.headers)
    assert (r.status_code, r.headers["location"]) == (307, "https://rec.example.vn/a.mp3")
    r = await client.get(play(bare), headers=tenant.headers)
    assert r.json()["message"] == "recording_not_found"
