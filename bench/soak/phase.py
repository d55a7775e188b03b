"""The mix's kinds of request, by weight (`KINDS`), and `Phase`: what one phase of
requests (warm-up, peak, soak) measured, request by request."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

MAX_EXAMPLES = 3  # kept per kind of error, as evidence


@dataclass(frozen=True)
class Kind:
    name: str
    group: str  # read, change, ingest
    weight: float


KINDS = (
    Kind("list", "read", 30),
    Kind("detail", "read", 18),
    Kind("detail unknown", "read", 2),  # an id nobody stored: 404 expected
    Kind("search", "read", 10),
    Kind("report", "read", 10),
    Kind("change", "change", 10),
    Kind("freeswitch leg", "ingest", 15),
    Kind("cdr batch", "ingest", 5),
)
KIND_NAMES = tuple(k.name for k in KINDS)


@dataclass
class Phase:
    name: str
    began: float = field(default_factory=time.perf_counter)
    span: float = 0.0  # seconds requests were due in
    seconds: float = 0.0  # until the last answer
    # kind, due (s after the phase began), latency ms (from due), error ("" when it went well)
    samples: list[tuple[str, float, float, str]] = field(default_factory=list)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # evidence
    late_ms: list[float] = field(default_factory=list)  # due -> queued: the generator's lag
    wait_ms: list[float] = field(default_factory=list)  # queued -> sent: for a free connection
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (s, queued + in flight)
    scheduled: int = 0
    not_sent: int = 0  # the backlog over --max-in-flight: counted as errors

    def errors(self) -> Counter[tuple[str, str]]:
        found = Counter((kind, error) for kind, _, _, error in self.samples if error)
        if self.not_sent:
            found[("all", "not sent: backlog over --max-in-flight")] = self.not_sent
        return found

    def error_count(self) -> int:
        return sum(1 for s in self.samples if s[3]) + self.not_sent

    def record(self, kind: str, due: float, error: str, detail: str = "") -> None:
        latency = (time.perf_counter() - due) * 1000
        if error:
            examples = self.examples.setdefault((kind, error), [])
            if len(examples) < MAX_EXAMPLES:
                examples.append(
                    f"{detail} (after {latency:,.0f} ms, due at {due - self.began:.1f} s)"
                )
        self.samples.append((kind, due - self.began, latency, error))
