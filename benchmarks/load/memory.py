"""Resident memory (RSS) and CPU time of named process trees, sampled in a background thread, by phase.

A name is a process and its descendants (`watch`), or whatever processes a function finds at each sample
(`watch_group`: the PostgreSQL backends of the run's databases, say)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Self

import psutil

MB = 1024 * 1024
TOGETHER = "all together"  # the sum of the watched processes that are part of the system under test


Finder = Callable[[], list[psutil.Process] | None]  # the processes of a name now (None: gone)


def _tree(pid: int) -> list[psutil.Process] | None:
    """A process and all its descendants (None when it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return None


def _tree_sum(pid: int, measure: Callable[[psutil.Process], float]) -> float | None:
    return _sum(_tree(pid), measure)


def _sum(procs: list[psutil.Process] | None, measure: Callable[[psutil.Process], float]) -> float | None:
    if procs is None:
        return None
    total = 0.0
    for proc in procs:
        try:
            total += measure(proc)
        except psutil.Error:  # a child that exited meanwhile
            continue
    return total


def _rss(proc: psutil.Process) -> float:
    return float(proc.memory_info().rss)


def _cpu_s(proc: psutil.Process) -> float:
    return float(sum(proc.cpu_times()[:2]))  # (user, system, ...)


def tree_rss(pid: int) -> int | None:
    """RSS of a process and all its descendants, in bytes (None when it is gone)."""
    total = _tree_sum(pid, _rss)
    return None if total is None else int(total)


def tree_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process and its live descendants (None when it is gone)."""
    return _tree_sum(pid, _cpu_s)


class MemorySampler:
    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._finders: dict[str, Finder] = {}
        self.outside: set[str] = set()  # watched, but not part of the system (the load client)
        self.phase = "idle"
        self._samples: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._cpu_s: dict[tuple[str, str], float] = defaultdict(float)  # CPU spent during each phase
        self._last_cpu: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def watch(self, name: str, pid: int, *, part_of_system: bool = True) -> None:
        self.watch_group(name, lambda: _tree(pid), part_of_system=part_of_system)

    def watch_group(self, name: str, find: Finder, *, part_of_system: bool = True) -> None:
        """`name` is the processes `find` returns at each sample (a process found later counts from then on)."""
        self._finders[name] = find
        if not part_of_system:
            self.outside.add(name)

    def unwatch(self, name: str) -> None:
        self._finders.pop(name, None)
        self._last_cpu.pop(name, None)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> None:
        together = 0
        for name, find in list(self._finders.items()):
            procs = find()
            rss = _sum(procs, _rss)
            if rss is not None:
                self._samples[(name, self.phase)].append(int(rss))
                together += 0 if name in self.outside else int(rss)
            cpu = _sum(procs, _cpu_s)
            if cpu is not None:
                if name in self._last_cpu:
                    self._cpu_s[(name, self.phase)] += max(0.0, cpu - self._last_cpu[name])
                self._last_cpu[name] = cpu
        if together:
            self._samples[(TOGETHER, self.phase)].append(together)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def cpu_summary(self) -> dict[str, dict[str, float]]:
        """{process: {phase: CPU seconds}} (a phase is counted from the sample before it to its last sample)."""
        out: dict[str, dict[str, float]] = defaultdict(dict)
        for (name, phase), seconds in sorted(self._cpu_s.items()):
            out[name][phase] = round(seconds, 2)
        return dict(out)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """{process: {phase: {"max_mb", "mean_mb"}}}; TOGETHER sums the system's processes at each sample."""
        out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
        for (name, phase), values in sorted(self._samples.items()):
            out[name][phase] = {
                "max_mb": round(max(values) / MB, 1), "mean_mb": round(sum(values) / len(values) / MB, 1),
            }
        return dict(out)
