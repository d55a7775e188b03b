"""A short run of bench/soak/ (12 s at a low rate): it runs, makes no error and loses
nothing. Latency and memory figures are never asserted: they belong to the soak itself
(docs/reliability.md).

Like the storage tests, it skips where PostgreSQL cannot be reached, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.soak import KIND_NAMES

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_makes_no_error_and_loses_nothing(
    tmp_path: Path, postgres_admin_url: str
) -> None:
    figures = tmp_path / "soak.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--duration", "12", "--rate", "8",
         "--seed-calls", "1000", "--sample-seconds", "1", "--admin-url", postgres_admin_url,
         "--json", str(figures)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-4000:], done.stderr[-3000:])
    report = json.loads(figures.read_text())

    assert report["errors"] == 0, report["soak"]["errors"]
    assert report["problems"] == [], report["problems"]
    integrity = report["integrity"]
    assert integrity["lost"] == 0, integrity["examples"]
    # ingest happened, both ways, and every piece of it was acknowledged
    assert integrity["legs_acked"] == integrity["legs_sent"] > 0
    assert integrity["items_acked"] == integrity["items_sent"] > 0
    soak = report["soak"]
    assert soak["answered"] == soak["scheduled"] > 0
    assert set(soak["kinds"]) == {*KIND_NAMES, "all"}
    # memory was sampled from the master and both workers
    rows = report["memory"]["rows"]
    assert sum(row["process"].startswith("worker") for row in rows) == 2, rows
    assert rows[-1]["process"] == "total" and rows[-1]["first_mb"] > 0
    assert "in the database exactly once" in done.stdout
