"""A tiny run of bench/ingest.py: it runs and fills a row per scenario. Its figures
are never asserted: performance targets live in the benchmark, not in timed tests.

Like the storage tests, it skips where PostgreSQL cannot be reached, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import os

import pytest

from bench.ingest import SCENARIOS, Options, PostgresUnavailable, notes, run, table

POSTGRES_ADMIN_URL = os.environ.get(
    "CALLHISTORY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


async def test_a_smoke_run_fills_every_row() -> None:
    try:
        report = await run(Options.smoke(POSTGRES_ADMIN_URL))
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")

    assert [r.scenario for r in report.results] == list(SCENARIOS)
    for result in report.results:
        assert result.value is not None, f"{result.scenario}: {result.note}"
        assert result.raw is not None, result.scenario
        assert not result.problem, f"{result.scenario}: {result.problem}"
    assert report.calls == Options.smoke().calls
    assert table(report).row_count == len(SCENARIOS)
    assert notes(report)
