"""The call-quality filters (min/max_duration, hangup_cause, has_recording, min/max_mos)
on the list, search, report and export endpoints, against a plain model of the calls.

The calls span whole UTC hours, so a count would come from the maintained
hour totals, which do not carry these columns: a wrong count there is caught here.
"""

from __future__ import annotations

import asyncio
import csv
import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from callhistory.cli import app as cli_app
from callhistory.db import create_engine
from tests.exports.test_exports import export, export_dir  # noqa: F401 (a fixture)
from tests.factories import DAY_MS, Agent, Tenant, add_agent, add_call, make_tenant, now_ms

LIST = "/api/call_transaction/list"
SEARCH = "/api/call_transaction/search"
REPORT = "/api/call_transaction/report"
CAUSES = ("NORMAL_CLEARING", "USER_BUSY", "NO_ANSWER", "ORIGINATOR_CANCEL")


@dataclass(frozen=True)
class Seeded:
    transaction_id: str
    duration: int
    cause: str | None
    recording: str | None
    mos: float | None


@dataclass
class Scene:
    tenant: Tenant
    agent: Agent
    calls: list[Seeded]
    from_ms: int
    to_ms: int


@pytest.fixture(scope="module")
async def scene(engine: AsyncEngine) -> Scene:
    rng = random.Random(17)
    tenant = await make_tenant(engine, "quality")
    agent = await add_agent(engine, tenant, "Trần Văn Tiến", "101", "tien.tran@acme.vn")
    start = (now_ms() // DAY_MS - 6) * DAY_MS - 3_600_000  # an hour before a UTC midnight
    seeded = []
    for n in range(60):
        duration = rng.choice([0, 5, 30, 59, 60, 61, 300, 3600])
        cause = rng.choice([*CAUSES, None])
        recording = rng.choice([f"/rec/{n}.wav", "", None])
        mos = rng.choice([None, 1.0, 2.5, 3.9, 4.0, 4.4, 5.0])
        transaction_id = await add_call(
            engine,
            tenant,
            created_date=start + n * 2 * 3_600_000,  # five days, every other hour
            agents_on_call=[agent],
            duration=duration,
            hangup_cause=cause,
            recording_file=recording,
            rtp_audio_in_mos=mos,
        )
        seeded.append(Seeded(transaction_id, duration, cause, recording, mos))
    return Scene(tenant, agent, seeded, start, start + 5 * DAY_MS)


def matches(call: Seeded, f: dict[str, Any]) -> bool:
    """The contract's reading of the filters (docs/api.md, "Call-quality filters")."""
    if "min_duration" in f and call.duration < int(f["min_duration"]):
        return False
    if "max_duration" in f and call.duration > int(f["max_duration"]):
        return False
    causes = {c.upper() for c in f.get("hangup_cause", [])}
    if causes and call.cause not in causes:
        return False
    if "has_recording" in f and bool(call.recording) != f["has_recording"]:
        return False
    for bound, ok in (("min_mos", float.__ge__), ("max_mos", float.__le__)):
        if bound in f and (call.mos is None or not ok(call.mos, float(f[bound]))):
            return False
    return True


FILTERS: list[dict[str, Any]] = [
    {},
    {"min_duration": 60},
    {"max_duration": 59},
    {"min_duration": 30, "max_duration": 61},
    {"min_duration": 61, "max_duration": 61},
    {"hangup_cause": ["USER_BUSY"]},
    {"hangup_cause": ["user_busy", "NO_ANSWER"]},
    {"has_recording": True},
    {"has_recording": False},
    {"min_mos": 4},
    {"max_mos": 2.5},
    {"min_mos": 3.9, "max_mos": 4.4},
    {"min_duration": 30, "has_recording": True, "min_mos": 4, "hangup_cause": ["NORMAL_CLEARING"]},
]


def _query(f: dict[str, Any]) -> list[tuple[str, str]]:
    """As PHP's http_build_query writes it: arrays as `name[i]`, booleans as 1 and 0."""
    pairs: list[tuple[str, str]] = []
    for name, value in f.items():
        if isinstance(value, list):
            pairs += [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        elif isinstance(value, bool):
            pairs.append((name, "1" if value else "0"))
        else:
            pairs.append((name, str(value)))
    return pairs


def _expected(scene: Scene, f: dict[str, Any]) -> set[str]:
    return {c.transaction_id for c in scene.calls if matches(c, f)}


async def _listed(client: httpx.AsyncClient, scene: Scene, f: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    window = [("from_date", str(scene.from_ms)), ("to_date", str(scene.to_ms)), ("size", "50")]
    for page in (1, 2):
        r = await client.get(
            LIST, params=[*window, ("page", str(page)), *_query(f)], headers=scene.tenant.headers
        )
        assert r.status_code == 200, r.text
        payload = r.json()["payload"]
        found |= {item["transaction_id"] for item in payload["items"]}
    assert payload["total_items"] == len(found)
    return found


@pytest.mark.parametrize("f", FILTERS, ids=[str(f) for f in FILTERS])
async def test_list_and_report_select_what_the_model_does(
    client: httpx.AsyncClient, scene: Scene, f: dict[str, Any]
) -> None:
    expected = _expected(scene, f)
    assert await _listed(client, scene, f) == expected
    window = [("from_date", str(scene.from_ms)), ("to_date", str(scene.to_ms))]
    r = await client.get(REPORT, params=[*window, *_query(f)], headers=scene.tenant.headers)
    assert r.status_code == 200, r.text
    report = r.json()["payload"]
    counted = sum(row["total_count"] for row in report["categorized_by_direction"])
    assert counted == len(expected)


@pytest.mark.parametrize("f", FILTERS[1:6], ids=[str(f) for f in FILTERS[1:6]])
async def test_search_takes_them_in_its_body(
    client: httpx.AsyncClient, scene: Scene, f: dict[str, Any]
) -> None:
    body = {"from_date": scene.from_ms, "to_date": scene.to_ms, "user_uuids": ["101"], **f}
    r = await client.post(SEARCH, json=body, params={"size": 50}, headers=scene.tenant.headers)
    assert r.status_code == 200, r.text
    payload = r.json()["payload"]
    expected = _expected(scene, f)
    assert payload["totalItems"] == len(expected)
    if len(expected) <= 50:
        assert {i["transaction_id"] for i in payload["items"]} == expected


async def test_exports_take_them(client: httpx.AsyncClient, scene: Scene) -> None:
    f = {"min_duration": 60, "hangup_cause": ["NORMAL_CLEARING", "USER_BUSY"]}
    job, _ = await export(
        client, scene.tenant, from_date=scene.from_ms, to_date=scene.to_ms, format="csv", **f
    )
    assert job["rows_total"] == len(_expected(scene, f))


@pytest.mark.parametrize(
    ("pairs", "field", "code"),
    [
        ([("min_duration", "-1")], "min_duration", "must_be_a_non_negative_integer"),
        ([("max_duration", "2.5")], "max_duration", "must_be_a_non_negative_integer"),
        ([("min_duration", "ten")], "min_duration", "must_be_a_non_negative_integer"),
        ([("min_duration", "61"), ("max_duration", "60")], "min_duration", None),
        ([("min_mos", "0.5")], "min_mos", "must_be_a_number_from_1_to_5"),
        ([("max_mos", "nan")], "max_mos", "must_be_a_number_from_1_to_5"),
        ([("min_mos", "4.5"), ("max_mos", "4")], "min_mos", None),
        ([("hangup_cause[]", "NO ANSWER")], "hangup_cause", "invalid_hangup_cause"),
        ([("has_recording", "maybe")], "has_recording", "must_be_true_or_false"),
    ],
)
async def test_bad_values_are_clear_400s(
    client: httpx.AsyncClient,
    scene: Scene,
    pairs: list[tuple[str, str]],
    field: str,
    code: str | None,
) -> None:
    window = [("from_date", str(scene.from_ms)), ("to_date", str(scene.to_ms))]
    for path in (LIST, REPORT):
        r = await client.get(path, params=[*window, *pairs], headers=scene.tenant.headers)
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["message"] == "validation_error"
        (error,) = body["payload"]
        assert error["field"] == field
        if code is None:
            assert error["code"].startswith("greater_than_max_")
        else:
            assert error["code"] == code


async def test_another_tenant_sees_none_of_them(
    client: httpx.AsyncClient, engine: AsyncEngine, scene: Scene
) -> None:
    other = await make_tenant(engine, "quality-other")
    window = {"from_date": scene.from_ms, "to_date": scene.to_ms, "min_duration": 0}
    r = await client.get(LIST, params=window, headers=other.headers)
    assert r.status_code == 200
    assert r.json()["payload"]["total_items"] == 0


def test_the_export_command_takes_them(
    configured: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    # `engine` migrates the database the command opens
    async def plant() -> tuple[Tenant, dict[int, str]]:
        engine = create_engine(configured)
        try:
            tenant = await make_tenant(engine, "quality-cli")
            made = {}
            for duration, cause in ((10, "USER_BUSY"), (70, "NORMAL_CLEARING"), (200, None)):
                made[duration] = await add_call(
                    engine, tenant, duration=duration, hangup_cause=cause
                )
            return tenant, made
        finally:
            await engine.dispose()

    tenant, made = asyncio.run(plant())
    out = tmp_path / "calls.csv"
    base = ["export", "--tenant", tenant.name, "--out", str(out), "--from", "0"]
    result = CliRunner().invoke(cli_app, [*base, "--min-duration", "60", "--max-duration", "100"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r["transaction_id"] for r in rows] == [made[70]]
    result = CliRunner().invoke(cli_app, [*base, "--hangup-cause", "user_busy"])
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8-sig"))))
    assert [r["transaction_id"] for r in rows] == [made[10]]
    refused = CliRunner().invoke(cli_app, [*base, "--min-duration", "100", "--max-duration", "5"])
    assert refused.exit_code != 0
    assert "greater_than_max_duration" in refused.output
