"""Schemathesis against the app's own OpenAPI document, authenticated, bounded: every
operation fuzzed, and not one answer may be a 5xx (a 500 is a bug, whatever the input).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
MAX_EXAMPLES = os.environ.get("CALLHISTORY_FUZZ_EXAMPLES", "25")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server on a demo tenant, rate limits off (the fuzzer would only meet 429s)."""
    folder = tmp_path_factory.mktemp("fuzz")
    env = {
        **os.environ,
        "CALLHISTORY_DATABASE_URL": f"sqlite:///{folder / 'fuzz.db'}",
        "CALLHISTORY_RATE_LIMIT_API": "0",
        "CALLHISTORY_RATE_LIMIT_INGEST": "0",
    }
    demo = subprocess.run(
        [BIN / "callhistory", "demo", "--calls", "300", "--json", "--seed", "7"],
        env=env,
        capture_output=True,
        check=True,
    )
    api_key = json.loads(demo.stdout)["api_key"]
    port = _free_port()
    server = subprocess.Popen(
        [BIN / "callhistory", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url, api_key
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.skipif(shutil.which("schemathesis", path=str(BIN)) is None, reason="no schemathesis")
def test_no_server_errors_on_any_operation(served: tuple[str, str], tmp_path: Path) -> None:
    url, api_key = served
    run = subprocess.run(
        [
            BIN / "schemathesis",
            "run",
            f"{url}/openapi.json",
            "--header",
            f"x-api-key: {api_key}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            MAX_EXAMPLES,
            "--request-timeout",
            "30",
            "--seed",
            "20261125",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = run.stdout[-3000:]
    assert run.returncode == 0, summary
    assert "generated" in summary
