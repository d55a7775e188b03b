"""What a soak run is asked for: `Options`, one field per command-line option."""

from __future__ import annotations

from dataclasses import dataclass

from bench.ingest import ADMIN_URL


@dataclass
class Options:
    duration: float = 600.0
    rate: float = 20.0
    find_peak: bool = False
    peak_seconds: float = 60.0  # long enough to include the webhook deliveries the load causes
    peak_clients: int = 16
    load_fraction: float = 0.7
    seed_calls: int = 20_000
    workers: int = 2
    connections: int = 64
    timeout: float = 30.0
    max_in_flight: int = 2_000
    sample_seconds: float = 5.0
    flat_percent: float = 5.0
    webhook: bool = True
    admin_url: str = ADMIN_URL
    seed: int = 1
    fail_on_growth: bool = False
