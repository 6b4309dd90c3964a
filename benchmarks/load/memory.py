"""Resident memory (RSS) of named process trees, sampled in a background thread and tagged by phase."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Self

import psutil

MB = 1024 * 1024


def tree_rss(pid: int) -> int | None:
    """RSS of a process and all its descendants, in bytes (None when it is gone)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


class MemorySampler:
    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self.pids: dict[str, int] = {}
        self.phase = "idle"
        self._samples: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def watch(self, name: str, pid: int) -> None:
        self.pids[name] = pid

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> None:
        for name, pid in list(self.pids.items()):
            rss = tree_rss(pid)
            if rss is not None:
                self._samples[(name, self.phase)].append(rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """{process: {phase: {"max_mb", "mean_mb"}}}"""
        out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
        for (name, phase), values in sorted(self._samples.items()):
            out[name][phase] = {
                "max_mb": round(max(values) / MB, 1), "mean_mb": round(sum(values) / len(values) / MB, 1),
            }
        return dict(out)
