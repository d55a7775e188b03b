"""Schemathesis against the app's own OpenAPI document, authenticated, bounded: every
operation fuzzed, and every answer must be what the document says: never a 5xx (a 500
is a bug, whatever the input), only declared statuses, each with its declared content
type, headers and schema (the envelope, errors included).
"""

from __future__ import annotations

import json
import os
import re
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
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A server on a demo tenant, rate limits off (the fuzzer would only meet 429s), and
    the file its log goes to (the traces of any 500)."""
    folder = tmp_path_factory.mktemp("fuzz")
    log = folder / "server.log"
    env = {
        **os.environ,
        "CALLHISTORY_DATABASE_URL": f"sqlite:///{folder / 'fuzz.db'}",
        "CALLHISTORY_RATE_LIMIT_API": "0",
        "CALLHISTORY_RATE_LIMIT_INGEST": "0",
        "CALLHISTORY_EXPORT_DIR": str(folder / "exports"),
    }
    demo = subprocess.run(
        [BIN / "callhistory", "demo", "--calls", "300", "--json", "--seed", "7"],
        env=env,
        capture_output=True,
        check=True,
    )
    api_key = json.loads(demo.stdout)["api_key"]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as logged:
        server = subprocess.Popen(
            [BIN / "callhistory", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=logged,
        )
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield url, api_key, log
        finally:
            server.terminate()
            server.wait(10)


@pytest.mark.skipif(shutil.which("schemathesis", path=str(BIN)) is None, reason="no schemathesis")
def test_every_answer_conforms_to_the_document(
    served: tuple[str, str, Path], tmp_path: Path
) -> None:
    url, api_key, log = served
    run = subprocess.run(
        [
            BIN / "schemathesis",
            "run",
            f"{url}/openapi.json",
            "--header",
            f"x-api-key: {api_key}",
            "--checks",
            ",".join(CHECKS),
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
    summary = run.stdout[-20000:]
    lines = log.read_text().splitlines()
    errors = [line for line in lines if '"logger": "callhistory", ' in line and "error" in line]
    assert run.returncode == 0, "\n".join([summary, *errors[-3:]])
    generated = re.search(r"(\d+) generated", summary)
    assert generated is not None, summary
    print(f"schemathesis: {generated.group(1)} cases")  # shown with pytest -s
