"""The server's memory: its process tree and each process's RSS from /proc, sampled
with the load average (`Memory`), and the processes that started after it was up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        found.setdefault(ppid, []).append(int(entry.name))
    return found


def process_tree(root: int) -> list[int]:
    children = _children()
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def role(pid: int, root: int) -> str:
    if pid == root:
        return "master"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "resource_tracker" in command:
        return "resource tracker"
    if "multiprocessing" in command or "spawn_main" in command:
        return "worker"
    return "other"


@dataclass
class MemorySample:
    at: float  # seconds since the soak began (negative: before it)
    phase: str
    rss: dict[int, float]  # pid -> MB
    load: float  # load average, 1 min


@dataclass
class Memory:
    root: int
    roles: dict[int, str] = field(default_factory=dict)
    samples: list[MemorySample] = field(default_factory=list)
    # processes that appeared after the first sample (the server was up): replacements
    appeared: list[tuple[int, str, float]] = field(default_factory=list)  # pid, phase, at

    def sample(self, at: float, phase: str) -> None:
        rss: dict[int, float] = {}
        for pid in process_tree(self.root):
            mb = rss_mb(pid)
            if mb is None:
                continue
            if pid not in self.roles:
                self.roles[pid] = role(pid, self.root)
                if self.samples:
                    self.appeared.append((pid, phase, at))
            rss[pid] = mb
        self.samples.append(MemorySample(at, phase, rss, os.getloadavg()[0]))

    def replacements(self) -> str:
        """What started after the server was up, in a line; empty when nothing did."""
        if not self.appeared:
            return ""
        peaks = [max(s.rss.get(pid, 0.0) for s in self.samples) for pid, _, _ in self.appeared]
        serving = [
            max(s.rss.get(pid, 0.0) for s in self.samples)
            for pid, r in self.roles.items()
            if r == "worker" and pid in self.samples[-1].rss and pid in self.samples[0].rss
        ]
        first = self.appeared[0]
        line = (
            f"{len(self.appeared)} server process(es) started after the server was up "
            f"(worker replacements), the first at {first[2]:.0f} s of the {first[1]}"
        )
        if len(self.appeared) > 1:
            span = self.appeared[-1][2] - first[2] if first[1] == self.appeared[-1][1] else None
            if span:
                line += f", then one every ~{span / (len(self.appeared) - 1):.1f} s"
        line += f"; their peak RSS {min(peaks):.0f}–{max(peaks):.0f} MB"
        if serving:
            line += f" (a worker that served throughout: {max(serving):.0f} MB)"
        return line
