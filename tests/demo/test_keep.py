"""`make run` twice: the demo tenant and its key are kept (`--reset` rebuilds), and a taken
port stops the demo before any data is touched."""

from __future__ import annotations

import asyncio
import secrets
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory.auth import keys
from callhistory.cli import app
from callhistory.config import get_settings
from callhistory.db import create_engine
from callhistory.demo import prepare, read_key, save_key
from callhistory.schema import calls

runner = CliRunner()


async def _call_ids(engine: AsyncEngine, tenant_name: str) -> set[str]:
    async with engine.connect() as conn:
        tenant = await keys.find_tenant(conn, tenant_name)
        assert tenant is not None
        found = await conn.execute(
            select(calls.c.transaction_id).where(calls.c.tenant_id == tenant.id)
        )
        return set(found.scalars())


async def _tags_of(client: httpx.AsyncClient, api_key: str, tx: str) -> list[str]:
    answer = await client.get(f"/api/call_transaction/detail/{tx}", headers={"x-api-key": api_key})
    assert answer.status_code == 200, answer.text
    tags: list[str] = answer.json()["payload"]["tag"]
    return tags


async def test_a_second_run_keeps_the_calls_tags_and_key(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    name = f"keep-{secrets.token_hex(4)}"
    first = await prepare(engine, name, 120, 1, False)
    assert not first.kept and first.new_key
    ids = await _call_ids(engine, name)
    tx = sorted(ids)[0]
    changed = await client.post(
        f"/api/call_transaction/change/{tx}",
        json={"tag": ["giữ lại"], "note": "sau lần chạy đầu"},
        headers={"x-api-key": first.api_key},
    )
    assert changed.status_code == 200, changed.text

    second = await prepare(engine, name, 500, 2, False, saved_key=first.api_key)
    assert second.kept and not second.new_key
    assert second.api_key == first.api_key
    assert second.calls == 120 and second.agents == first.agents
    assert await _call_ids(engine, name) == ids
    assert await _tags_of(client, second.api_key, tx) == ["giữ lại"]


async def test_a_kept_tenant_mints_a_key_only_when_the_saved_one_fails(
    engine: AsyncEngine,
) -> None:
    name = f"mint-{secrets.token_hex(4)}"
    other = await prepare(engine, f"other-{secrets.token_hex(4)}", 20, 1, False)
    first = await prepare(engine, name, 50, 1, False)
    ids = await _call_ids(engine, name)
    async with engine.begin() as conn:
        assert await keys.revoke_key(conn, first.api_key.split("_")[2])
    # revoked, none saved, or another tenant's good key: each mints, the calls stay
    for saved in (first.api_key, None, other.api_key):
        again = await prepare(engine, name, 50, 2, False, saved_key=saved)
        assert again.kept and again.new_key and again.api_key not in (saved, first.api_key)
        async with engine.connect() as conn:
            ref = await keys.verify_key(conn, again.api_key)
        assert ref is not None and ref.tenant_id == first.api_key.split("_")[1]
    assert await _call_ids(engine, name) == ids


async def test_reset_rebuilds_and_an_empty_tenant_is_built(engine: AsyncEngine) -> None:
    name = f"reset-{secrets.token_hex(4)}"
    empty = await prepare(engine, name, 0, 1, False)
    assert not empty.kept and empty.calls == 0
    built = await prepare(engine, name, 40, 1, False, saved_key=empty.api_key)
    assert not built.kept and built.calls == 40  # nothing was worth keeping
    ids = await _call_ids(engine, name)
    reset = await prepare(engine, name, 30, 2, False, saved_key=built.api_key, reset=True)
    assert not reset.kept and reset.new_key and reset.api_key != built.api_key
    after = await _call_ids(engine, name)
    assert len(after) == 30 and not after & ids


def test_the_key_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "demo.db.demo-key"
    assert read_key(path) is None
    path.write_text("old\n")
    path.chmod(0o644)  # an old, too open file must not keep its mode
    save_key(path, "ch_new")
    assert read_key(path) == "ch_new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.db.demo-key"]


# --- the command, as `make run` invokes it ---------------------------------------------


def _demo(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["demo", "--calls", "60", "--seed", "3", *args])
    return result.exit_code, result.stdout, result.stderr


def _count_calls(url: str, tenant_name: str) -> int:
    async def count() -> int:
        engine = create_engine(url)
        try:
            return len(await _call_ids(engine, tenant_name))
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_the_second_run_prints_the_existing_key(configured: str, tmp_path: Path) -> None:
    name = f"cli-{secrets.token_hex(4)}"
    key_file = tmp_path / "demo.db.demo-key"
    common = ("--tenant", name, "--key-file", str(key_file), "--base-url", "http://h:8123")
    code, out, err = _demo(*common)
    assert code == 0, err
    api_key = out.strip()
    assert read_key(key_file) == api_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert f"KEY={api_key}" in err and "API=http://h:8123\n" in err

    code, out, err = _demo(*common, "--calls", "10")
    assert code == 0, err
    assert out.strip() == api_key
    assert "the existing key" in err and "minted" not in err
    assert "kept as it was" in err and "make demo-reset" in err
    assert _count_calls(configured, name) == 60

    key_file.write_text("ch_not_a_key\n")
    code, out, err = _demo(*common)
    assert code == 0, err
    assert "minted a new key" in err
    assert out.strip() != api_key and read_key(key_file) == out.strip()

    code, out, err = _demo(*common, "--reset", "--calls", "15")
    assert code == 0, err
    assert "kept" not in err and read_key(key_file) == out.strip()
    assert _count_calls(configured, name) == 15


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port someone listens on, as a running server would."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
def sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SQLite database that does not exist yet, configured for the command."""
    path = tmp_path / "demo.db"
    monkeypatch.setenv("CALLHISTORY_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_a_taken_port_stops_the_demo_before_any_data(sqlite_file: Path, taken_port: int) -> None:
    key_file = sqlite_file.with_name("demo.db.demo-key")
    address = f"127.0.0.1:{taken_port}"
    code, _, err = _demo("--check-port", address, "--key-file", str(key_file))
    assert code != 0
    assert f"port {taken_port} on 127.0.0.1 is already in use" in " ".join(err.split())
    assert f"make run PORT={taken_port + 1}" in err
    assert not sqlite_file.exists() and not key_file.exists()
    assert list(sqlite_file.parent.iterdir()) == []  # no journal either


def test_a_taken_port_leaves_an_existing_demo_alone(sqlite_file: Path, taken_port: int) -> None:
    assert _demo()[0] == 0
    before = sqlite_file.read_bytes()
    code, _, _ = _demo("--reset", "--check-port", f"127.0.0.1:{taken_port}")
    assert code != 0
    assert sqlite_file.read_bytes() == before


def test_a_free_port_lets_the_demo_run(sqlite_file: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out, err = _demo("--check-port", f"127.0.0.1:{port}")
    assert code == 0, err
    assert out.strip().startswith("ch_") and sqlite_file.exists()


def test_serve_on_a_taken_port_fails_before_migrating(sqlite_file: Path, taken_port: int) -> None:
    result = runner.invoke(app, ["serve", "--port", str(taken_port)])
    assert result.exit_code == 1
    assert "already in use" in result.stderr and f"--port {taken_port + 1}" in result.stderr
    assert not sqlite_file.exists()


@pytest.mark.parametrize("address", ["8000", "host:", ":80", "h:99999", "h:x"])
def test_a_bad_check_port_is_refused(sqlite_file: Path, address: str) -> None:
    code, _, _ = _demo("--check-port", address)
    assert code == 2  # a usage error, before anything else
    assert not sqlite_file.exists()
