"""Where a running server's CPU goes: py-spy samples its processes, we sum the stacks.

`recording(pid, path)` samples the process and its children (uvicorn's workers) while
the block runs, without pausing them (`--nonblocking`), into py-spy's raw format: one
line per distinct stack, `frame;frame;… count`. `Profile.read(path)` sums those into
the functions that hold the most samples, on their own (self) and with what they call
(total), as shares of the busy samples: the tables docs/ingest-throughput.md quotes.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

RATE = 200  # samples a second, per thread
_LINE = re.compile(r"^(?P<stack>.*) (?P<count>\d+)$")
_PROCESS = re.compile(r'process \d+:"[^"]*";?')  # a command line may hold a `;`
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")
_IDLE = ("select (selectors.py)", "poll (selectors.py)")


def py_spy() -> str | None:
    """py-spy next to this Python (a dev dependency), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def recording(pid: int, path: Path) -> Iterator[None]:
    """Samples `pid` and its children into `path` until the block ends."""
    command = py_spy()
    if command is None:
        raise SystemExit("py-spy is not installed (make .venv/.installed-dev installs it)")
    process = subprocess.Popen(
        [
            command,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--nonblocking",
            "--rate",
            str(RATE),
            "--format",
            "raw",
            "--output",
            str(path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # attached to every worker before the load starts
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        if not path.exists():
            error = process.stderr.read() if process.stderr else ""
            raise SystemExit(f"py-spy wrote nothing: {error[-1000:]}")


@dataclass(frozen=True)
class Entry:
    function: str  # `name (file)`, the line left out so a function's lines add up
    self_share: float
    total_share: float


def frame_name(frame: str) -> str:
    """`handle (callhistory/ingest/batch.py:120)` → `handle (callhistory/ingest/batch.py)`,
    the file cut to what follows site-packages/, src/ or the standard library's folder."""
    found = _FRAME.match(frame.strip())
    if found is None:
        return frame.strip()
    file = found["file"]
    for root in ("site-packages/", "/src/"):
        if root in file:
            file = file.split(root, 1)[1]
            break
    else:
        file = re.sub(r"^.*/lib/python3\.\d+/", "", file)
    return f"{found['function']} ({file})"


@dataclass
class Profile:
    """Samples by function: on top of the stack (self), anywhere in it (total)."""

    own: Counter[str]
    within: Counter[str]
    samples: int

    @classmethod
    def read(cls, path: Path) -> Profile:
        """`path`'s samples, those of an idle event loop (waiting in select/poll) left
        out: shares of the time the workers did something."""
        own: Counter[str] = Counter()
        within: Counter[str] = Counter()
        samples = 0
        for line in path.read_text().splitlines():
            parsed = _LINE.match(line)
            if parsed is None:
                continue
            stack = _PROCESS.sub("", parsed["stack"])
            frames = [frame_name(f) for f in stack.split(";") if f.strip()]
            frames = [f for f in frames if not f.startswith("thread ")]
            if not frames or frames[-1].startswith(_IDLE):
                continue
            n = int(parsed["count"])
            samples += n
            own[frames[-1]] += n
            for name in set(frames):
                within[name] += n
        return cls(own, within, samples)

    def _entry(self, name: str) -> Entry:
        return Entry(name, self.own[name] / self.samples, self.within[name] / self.samples)

    def by_self(self, count: int = 15) -> list[Entry]:
        return (
            [self._entry(name) for name, _ in self.own.most_common(count)] if self.samples else []
        )

    def by_total(self, count: int = 15, within: str = "(callhistory/") -> list[Entry]:
        """Our own functions (`within` their file's name) by what they and their callees hold."""
        ours = Counter({name: n for name, n in self.within.items() if within in name})
        return [self._entry(name) for name, _ in ours.most_common(count)] if self.samples else []


def table(title: str, entries: list[Entry], samples: int) -> Table:
    out = Table(title=f"{title} ({samples:,} busy samples)")
    out.add_column("function (file)")
    out.add_column("self", justify="right")
    out.add_column("total", justify="right")
    for entry in entries:
        out.add_row(entry.function, f"{entry.self_share:.1%}", f"{entry.total_share:.1%}")
    return out
