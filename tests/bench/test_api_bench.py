"""Tiny runs of bench/api.py (10,000 calls): they run and print a row per query. Their
figures are never asserted: the targets live in the benchmark (docs/performance.md).

On PostgreSQL, like the storage tests, it skips where the server cannot be reached,
except under CI=true, where that is a failure. On SQLite it always runs, with the
Datasette rows beside the list when datasette is installed (the dev extra); their
count must be ours, which proves the two answer the same filter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.api import QUERY_NAMES, TWINNED
from bench.datasette_rows import PREFIX, executable

ROOT = Path(__file__).resolve().parents[2]


def _rows(stdout: str) -> dict[str, list[str]]:
    """The table's rows by query name: their cells."""
    rows = [line for line in stdout.splitlines() if line.startswith("│")]
    return {
        cells[0]: cells[1:] for cells in ([c.strip() for c in r.split("│")[1:-1]] for r in rows)
    }


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.api", "--calls", "10000", "--seconds", "0.3",
         "--concurrency", "4", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def test_a_smoke_run_prints_a_row_per_query(postgres_admin_url: str) -> None:
    done = _bench("--admin-url", postgres_admin_url)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _rows(done.stdout)
    for name in QUERY_NAMES:
        assert name in rows, (name, done.stdout)
    assert not any(name.startswith(PREFIX) for name in rows)  # Datasette serves SQLite only


@pytest.fixture(scope="module")
def sqlite_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    return _bench("--sqlite", str(tmp_path_factory.mktemp("bench") / "smoke.db"))


def test_a_sqlite_smoke_run_prints_a_row_per_query(
    sqlite_run: subprocess.CompletedProcess[str],
) -> None:
    assert sqlite_run.returncode == 0, sqlite_run.stderr[-3000:]
    # the load left the change feed exact and the foreign keys whole (bench/derived.py)
    assert "call_changes 10,000 = calls" in sqlite_run.stderr, sqlite_run.stderr[-3000:]
    assert "foreign keys ok" in sqlite_run.stderr
    rows = _rows(sqlite_run.stdout)
    for name in QUERY_NAMES:
        assert name in rows, (name, sqlite_run.stdout)
    # the embedded store's targets: c=1 p95 (list page 1, keyword), no saturation target
    assert rows["list"][-3:-1] == ["≤ 10", "—"]
    assert rows["list keyword name"][-3] == "≤ 150"


def test_the_sqlite_smoke_run_puts_datasette_beside_the_list(
    sqlite_run: subprocess.CompletedProcess[str],
) -> None:
    assert sqlite_run.returncode == 0, sqlite_run.stderr[-3000:]
    if executable() is None:
        assert "datasette rows skipped: datasette is not installed" in sqlite_run.stdout
        pytest.skip("datasette is not installed (pip install -e '.[dev]')")
    rows = _rows(sqlite_run.stdout)
    for name in TWINNED:
        cells = rows.get(PREFIX + name)
        assert cells is not None, (name, sqlite_run.stdout)
        # the same filter: Datasette counted what we count (or its count timed out)
        assert cells[-1].startswith(("same count", "count null")), (name, cells)
