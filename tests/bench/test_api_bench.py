"""A tiny run of bench/api.py (10,000 calls): it runs and prints a row per query. Its
figures are never asserted: the targets live in the benchmark (docs/performance.md).

Like the storage tests, it skips where PostgreSQL cannot be reached, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bench.api import QUERY_NAMES

POSTGRES_ADMIN_URL = os.environ.get(
    "CALLHISTORY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
ROOT = Path(__file__).resolve().parents[2]


async def _reachable() -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    await admin.close()


def test_a_smoke_run_prints_a_row_per_query() -> None:
    try:
        asyncio.run(_reachable())
    except (OSError, asyncpg.PostgresError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")

    done = subprocess.run(
        [sys.executable, "-m", "bench.api", "--calls", "10000", "--seconds", "0.3",
         "--concurrency", "4", "--admin-url", POSTGRES_ADMIN_URL],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    for name in QUERY_NAMES:
        assert any(row.split("│")[1].strip() == name for row in rows), (name, done.stdout)
