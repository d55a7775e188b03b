"""`callhistory import`: jsonl, Asterisk CSV and mod_json_cdr directories, resumable and
idempotent, on each store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory.auth.keys import Tenant
from callhistory.cli import app
from callhistory.ingest import rejections
from callhistory.ingest.backfill import asterisk_csv, jsonl
from callhistory.ingest.backfill.imports import (
    ImportFormat,
    ImportProblem,
    replay_rejection,
    run_import,
)
from callhistory.ingest.rejections import NotReplayable, Rejection
from callhistory.schema import call_users, calls
from tests.factories import add_agent, make_tenant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ASTERISK = FIXTURES / "asterisk"
JSONL = FIXTURES / "import" / "calls.jsonl"
FREESWITCH = FIXTURES / "freeswitch-dir"
A_LEG = "3f2a1c1e-7d1b-4c55-9b7e-0a1b2c3d4e5f"


async def tenant_with_agents(engine: AsyncEngine) -> Tenant:
    made = await make_tenant(engine, "imp")
    await add_agent(engine, made, "Trần Văn Tiến", "101")
    await add_agent(engine, made, "Lý Thị Lan", "102")
    return Tenant(made.id, made.name, "Asia/Ho_Chi_Minh")


def copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / source.name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return target


async def call(engine: AsyncEngine, tenant: Tenant, tx: str) -> Any:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(calls).where(calls.c.tenant_id == tenant.id, calls.c.transaction_id == tx)
            )
        ).first()
        users = await conn.execute(
            select(call_users.c.sip_user)
            .where(call_users.c.tenant_id == tenant.id, call_users.c.transaction_id == tx)
            .order_by(call_users.c.position)
        )
        return row, [u for (u,) in users]


async def count_calls(engine: AsyncEngine, tenant: Tenant) -> int:
    async with engine.connect() as conn:
        found = await conn.scalar(
            select(func.count()).select_from(calls).where(calls.c.tenant_id == tenant.id)
        )
    return int(found or 0)


async def test_asterisk_csv_import_resume_and_growth(engine: AsyncEngine, tmp_path: Path) -> None:
    tenant = await tenant_with_agents(engine)
    source = copy(ASTERISK / "newcolumns-21.csv", tmp_path)
    seen: list[tuple[int, int]] = []
    first = await run_import(
        engine,
        tenant,
        ImportFormat.asterisk_csv,
        source,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (first.read, first.stored, first.updated, first.unchanged, first.rejected) == (
        4,
        3,
        0,
        0,
        0,
    )
    assert seen[-1] == (source.stat().st_size, source.stat().st_size)
    queued, agents = await call(engine, tenant, "1709280000.100")
    assert (queued.direction, queued.disposition, queued.bill_sec) == ("inbound", "answered", 180)
    assert (queued.sip_user, agents) == ("102", ["102", "101"])
    assert (queued.hangup_cause, queued.hangup_cause_q850) == ("NORMAL_CLEARING", 16)
    assert (queued.queue_destination, queued.pbx_type) == ("500", "asterisk")
    assert queued.created_date == 1_709_280_000_000 and queued.hotline == "19001234"
    local, _ = await call(engine, tenant, "1709280060.110")
    assert local.direction == "local"

    again = await run_import(engine, tenant, ImportFormat.asterisk_csv, source)
    assert (again.read, again.stored, again.resumed_at) == (0, 0, source.stat().st_size)

    # Master.csv grows: only the new row is read; it joins its call (a transfer to 101)
    with source.open("a", newline="") as handle:
        handle.write(
            '"","0912345678","19001234","from-trunk","","PJSIP/trunk_viettel-00000100",'
            '"PJSIP/101-00000130","Dial","PJSIP/101","2024-03-01 15:03:25",'
            '"2024-03-01 15:03:27","2024-03-01 15:05:27",122,120,"ANSWERED","DOCUMENTATION",'
            '"1709280000.130","","","1709280000.100",5\n'
        )
    grown = await run_import(engine, tenant, ImportFormat.asterisk_csv, source)
    assert (grown.read, grown.stored, grown.updated) == (1, 0, 1)
    queued, _ = await call(engine, tenant, "1709280000.100")
    assert queued.time_end_call == 1_709_280_327

    restarted = await run_import(engine, tenant, ImportFormat.asterisk_csv, source, restart=True)
    assert (restarted.read, restarted.stored, restarted.updated, restarted.unchanged) == (
        5,
        0,
        0,
        3,
    )
    assert await count_calls(engine, tenant) == 3


async def test_a_call_split_across_chunks_comes_out_whole(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asterisk_csv, "CHUNK", 1)
    tenant = await tenant_with_agents(engine)
    source = copy(ASTERISK / "newcolumns-21.csv", tmp_path)
    summary = await run_import(engine, tenant, ImportFormat.asterisk_csv, source)
    assert (summary.stored, summary.updated) == (3, 1)
    queued, agents = await call(engine, tenant, "1709280000.100")
    assert (queued.disposition, queued.bill_sec, agents) == ("answered", 180, ["102", "101"])
    lines = (source.with_name(source.name + ".import-state")).read_text().splitlines()
    assert len(lines) == 1 + 4 + 1  # the header, a checkpoint per row, the last one


async def test_asterisk_bad_rows_are_kept_as_rejections(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    tenant = await tenant_with_agents(engine)
    summary = await run_import(
        engine, tenant, ImportFormat.asterisk_csv, copy(ASTERISK / "header.csv", tmp_path)
    )
    assert (summary.read, summary.stored, summary.rejected) == (5, 3, 2)
    assert dict(summary.reasons) == {"start_invalid": 1, "wrong_column_count": 1}
    first, agents = await call(engine, tenant, "1709300000.1")
    assert first.recording_file.endswith("1709300000.1.wav") and agents == ["101"]
    async with engine.connect() as conn:
        kept = await rejections.recent(conn, tenant.id, 10)
    assert {(r.source, r.reason, r.content_type) for r in kept} == {
        ("import", "start_invalid", "text/csv"),
        ("import", "wrong_column_count", "text/csv"),
    }
    bad_date = next(r for r in kept if r.reason == "start_invalid")
    assert bad_date.detail.startswith("header.csv:4:") and "yesterday" in bad_date.body
    assert "format=asterisk-csv" in bad_date.query and "columns=uniqueid" in bad_date.query
    with pytest.raises(NotReplayable) as still:
        await replay_rejection(engine, tenant.id, bad_date)
    assert still.value.code == "start_invalid"


def _rejection(source: str, body: str, query: str = "", content_type: str = "") -> Rejection:
    return Rejection("r1", 0, source, "x", "", content_type, query, body, None)


async def test_replaying_batch_items_and_import_rows(engine: AsyncEngine) -> None:
    tenant = await tenant_with_agents(engine)
    item = {
        "transaction_id": "replayed-1",
        "created_date": 1_709_262_000_000,
        "source_number": "0912345678",
        "destination_number": "19001234",
        "bill_sec": 5,
    }
    await replay_rejection(engine, tenant.id, _rejection("batch", json.dumps(item)))
    assert (await call(engine, tenant, "replayed-1"))[0].bill_sec == 5
    with pytest.raises(NotReplayable) as invalid:
        await replay_rejection(engine, tenant.id, _rejection("batch", '{"transaction_id": 1}'))
    assert invalid.value.code == "required"
    row = (
        '"","0912345678","19001234","from-trunk","","SIP/t-1","SIP/101-2","Dial","",'
        '"2024-03-01 09:00:00","2024-03-01 09:00:03","2024-03-01 09:01:03",63,60,"ANSWERED",'
        '"DOCUMENTATION","1709258400.9"'
    )
    query = "format=asterisk-csv&file=Master.csv&tz=Asia%2FHo_Chi_Minh"
    await replay_rejection(engine, tenant.id, _rejection("import", row, query, "text/csv"))
    replayed, agents = await call(engine, tenant, "1709258400.9")
    assert replayed.bill_sec == 60 and agents == ["101"]


async def test_replay_takes_batch_and_import_rejections(engine: AsyncEngine) -> None:
    """`callhistory ingest replay` takes refused batch items and import lines too."""
    from callhistory.ingest.rejections import replay

    assert replay.REPLAYERS["batch"] is replay.REPLAYERS["import"] is replay_rejection
    tenant = await tenant_with_agents(engine)
    good = {
        "transaction_id": "later-ok",
        "created_date": 1_709_262_000_000,
        "source_number": "0912345678",
        "destination_number": "19001234",
    }
    await rejections.record(
        engine, tenant.id, source="batch", reason="store_failed", body=json.dumps(good)
    )
    await rejections.record(
        engine, tenant.id, source="import", reason="required", body='{"transaction_id": 1}'
    )
    report = await replay.replay(engine, tenant.id)
    assert (report.replayed, dict(report.still_failing)) == (1, {"required": 1})
    assert (await call(engine, tenant, "later-ok"))[0] is not None


async def test_jsonl_import_with_bad_lines_then_idempotent(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    tenant = await tenant_with_agents(engine)
    source = copy(JSONL, tmp_path)
    summary = await run_import(engine, tenant, ImportFormat.jsonl, source)
    assert (summary.read, summary.stored, summary.rejected) == (6, 4, 2)
    assert dict(summary.reasons) == {"invalid_json": 1, "must_be_an_integer": 1}
    first, agents = await call(engine, tenant, "jl-0001")
    assert (first.note, first.sip_user, agents) == ("Khách hẹn gọi lại", "101", ["101"])
    fourth, _ = await call(engine, tenant, "jl-0004")
    assert (fourth.provider, fourth.disposition, fourth.direction) == (
        "viettel",
        "answered",
        "inbound",
    )
    async with engine.connect() as conn:
        kept = await rejections.recent(conn, tenant.id, 10)
    assert sorted(r.detail.split(":")[1] for r in kept) == ["4", "5"]  # file lines
    assert {r.source for r in kept} == {"import"}

    assert (await run_import(engine, tenant, ImportFormat.jsonl, source)).read == 0
    again = await run_import(engine, tenant, ImportFormat.jsonl, source, restart=True)
    assert (again.stored, again.unchanged, again.rejected) == (0, 4, 2)
    assert await count_calls(engine, tenant) == 4


async def test_jsonl_resumes_from_a_state_file(engine: AsyncEngine, tmp_path: Path) -> None:
    tenant = await tenant_with_agents(engine)
    source = copy(JSONL, tmp_path)
    state = tmp_path / "custom.state"
    two_lines = sum(len(line) for line in source.read_bytes().splitlines(keepends=True)[:2])
    header = {"format": "jsonl", "input": str(source.resolve()), "tenant_id": tenant.id}
    state.write_bytes(
        orjson.dumps(header)
        + b"\n"
        + orjson.dumps({"offset": two_lines, "line": 2})
        + b"\n"
        + b'{"offset": 99999, "li'  # a checkpoint torn by a crash: ignored
    )
    summary = await run_import(engine, tenant, ImportFormat.jsonl, source, state_path=state)
    assert (summary.resumed_at, summary.read, summary.stored) == (two_lines, 4, 2)
    assert (await call(engine, tenant, "jl-0001"))[0] is None  # before the checkpoint
    assert (await call(engine, tenant, "jl-0005"))[0] is not None
    async with engine.connect() as conn:
        kept = await rejections.recent(conn, tenant.id, 10)
    assert sorted(r.detail.split(":")[1] for r in kept) == ["4", "5"]  # line numbers kept


async def test_an_interrupted_import_continues_where_it_stopped(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await tenant_with_agents(engine)
    source = copy(JSONL, tmp_path)
    monkeypatch.setattr(jsonl, "CHUNK", 2)
    real = jsonl.ingest_items
    calls_made = 0

    async def failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls_made
        calls_made += 1
        if calls_made == 2:
            raise RuntimeError("power cut")
        return await real(*args, **kwargs)

    monkeypatch.setattr(jsonl, "ingest_items", failing)
    with pytest.raises(RuntimeError):
        await run_import(engine, tenant, ImportFormat.jsonl, source)
    assert await count_calls(engine, tenant) == 2
    monkeypatch.setattr(jsonl, "ingest_items", real)
    rest = await run_import(engine, tenant, ImportFormat.jsonl, source)
    assert rest.resumed_at is not None and rest.stored == 2 and rest.unchanged == 0
    assert await count_calls(engine, tenant) == 4


async def test_freeswitch_directory_import(engine: AsyncEngine, tmp_path: Path) -> None:
    tenant = await tenant_with_agents(engine)
    source = copy(FREESWITCH, tmp_path)
    summary = await run_import(engine, tenant, ImportFormat.freeswitch_json, source)
    assert (summary.read, summary.stored, summary.updated, summary.rejected) == (3, 1, 1, 1)
    assert dict(summary.reasons) == {"invalid_json": 1}
    row, agents = await call(engine, tenant, A_LEG)
    assert (row.disposition, row.bill_sec, row.sip_user, agents) == ("answered", 90, "101", ["101"])

    assert (await run_import(engine, tenant, ImportFormat.freeswitch_json, source)).read == 0
    (source / "broken.cdr.json").unlink()
    extra = json.loads((source / f"a_{A_LEG}.cdr.json").read_text())
    extra["variables"]["uuid"] = extra["variables"]["call_uuid"] = (
        "0e0e0e0e-aaaa-4bbb-8ccc-000000000001"
    )
    (source / "new.cdr.json").write_text(json.dumps(extra))
    later = await run_import(engine, tenant, ImportFormat.freeswitch_json, source)
    assert (later.read, later.stored, later.resumed_at) == (1, 1, 3)


async def test_imports_refuse_what_they_cannot_run(engine: AsyncEngine, tmp_path: Path) -> None:
    tenant = await tenant_with_agents(engine)
    with pytest.raises(ImportProblem, match="not a file"):
        await run_import(engine, tenant, ImportFormat.jsonl, tmp_path / "missing.jsonl")
    with pytest.raises(ImportProblem, match="not a directory"):
        await run_import(engine, tenant, ImportFormat.freeswitch_json, JSONL)
    source = copy(JSONL, tmp_path)
    await run_import(engine, tenant, ImportFormat.jsonl, source)
    other = await tenant_with_agents(engine)
    with pytest.raises(ImportProblem, match="belongs to another import"):
        await run_import(engine, other, ImportFormat.jsonl, source)
    # the file was replaced by a shorter one: read from the start
    source.write_bytes(JSONL.read_bytes().splitlines(keepends=True)[0])
    shorter = await run_import(engine, tenant, ImportFormat.jsonl, source)
    assert shorter.note.startswith("the file is shorter") and shorter.unchanged == 1


async def test_an_incomplete_last_line_is_left_for_the_next_run(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    tenant = await tenant_with_agents(engine)
    source = tmp_path / "live.jsonl"
    whole = JSONL.read_bytes().splitlines(keepends=True)[0]
    source.write_bytes(whole + whole[:40])
    first = await run_import(engine, tenant, ImportFormat.jsonl, source)
    assert (first.read, first.rejected) == (1, 0) and "incomplete" in first.note
    source.write_bytes(whole + JSONL.read_bytes().splitlines(keepends=True)[1])
    second = await run_import(engine, tenant, ImportFormat.jsonl, source)
    assert (second.read, second.stored) == (1, 1)


# ---- the command line ------------------------------------------------------------------

runner = CliRunner()


def test_the_import_command(configured: str, tmp_path: Path) -> None:
    name = f"cli-import-{tmp_path.name[-12:]}"
    assert runner.invoke(app, ["tenant", "create", name]).exit_code == 0
    source = copy(JSONL, tmp_path)
    args = ["import", str(source), "--tenant", name, "--format", "jsonl"]
    first = runner.invoke(app, [*args, "--json"])
    assert first.exit_code == 1, first.output  # two lines were rejected
    summary = json.loads(first.stdout)
    assert (summary["read"], summary["stored"], summary["rejected"]) == (6, 4, 2)
    assert summary["reasons"] == {"invalid_json": 1, "must_be_an_integer": 1}
    assert (tmp_path / "calls.jsonl.import-state").exists()

    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "read 0 lines" in again.stdout and "resumed after byte" in again.stdout

    csv = copy(ASTERISK / "headerless-18.csv", tmp_path)
    state = tmp_path / "asterisk.state"
    done = runner.invoke(
        app,
        [
            "import",
            str(csv),
            "--tenant",
            name,
            "--format",
            "asterisk-csv",
            "--time-zone",
            "UTC",
            "--state",
            str(state),
        ],
    )
    assert done.exit_code == 0, done.output
    assert "stored 5" in done.stdout and state.exists()

    unknown = runner.invoke(app, ["import", str(source), "--tenant", "nobody", "--format", "jsonl"])
    assert unknown.exit_code == 1 and "no tenant" in unknown.output
    bad_zone = runner.invoke(app, [*args, "--time-zone", "Mars/Olympus"])
    assert bad_zone.exit_code == 1 and "unknown time zone" in bad_zone.output


async def test_a_later_line_of_a_call_wins_across_chunks_stored_at_once(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are stored two at a time; a call in both waits, so the file's order holds."""
    tenant = await tenant_with_agents(engine)
    monkeypatch.setattr(jsonl, "CHUNK", 2)
    base = {"created_date": 1_760_000_000_000, "source_number": "0912345678"}
    lines = [
        {**base, "transaction_id": "order-1", "destination_number": "101", "bill_sec": 1},
        {**base, "transaction_id": "order-2", "destination_number": "101", "bill_sec": 2},
        {**base, "transaction_id": "order-1", "destination_number": "101", "bill_sec": 30},
        {**base, "transaction_id": "order-3", "destination_number": "101", "bill_sec": 3},
        {**base, "transaction_id": "order-1", "destination_number": "101", "bill_sec": 45},
    ]
    source = tmp_path / "versions.jsonl"
    source.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    summary = await run_import(engine, tenant, ImportFormat.jsonl, source)
    assert (summary.read, summary.stored, summary.updated) == (5, 3, 2)
    assert (await call(engine, tenant, "order-1"))[0].bill_sec == 45
    assert await count_calls(engine, tenant) == 3
