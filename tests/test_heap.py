"""heap.settle: what a process holds once started is frozen, collections come rarer, once."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc
from callhistory import heap
before = gc.get_threshold()
heap.settle()
frozen = gc.get_freeze_count()
garbage = [[] for _ in range(1000)]
heap.settle()  # again: nothing more frozen
print(before, gc.get_threshold(), frozen > 1000, gc.get_freeze_count() == frozen)
"""


def test_settle_freezes_once_and_raises_the_thresholds() -> None:
    # In a process of its own: freezing this test run's objects would change the others'.
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[:3] == ["(700,", "10,", "10)"]
    assert out[3:] == ["(20000,", "20,", "20)", "True", "True"]
