"""Which Rasa server to ask first: this pod's own, then the others, skipping ones that just failed.

RASA_URL may list several Rasa servers sharing one tracker store and one lock store (docs/production.md).
The first is the pod's own and is preferred while it works. A server that refused or dropped a connection
goes to the back of the order for `cool_down_s`, so the turns that follow do not each pay for the failed
attempt first; it is tried again (first) once the cool-down is over, so a restarted Rasa takes its traffic
back by itself. Only connection errors count: see `handoff.rasa.client` for why a timeout does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

COOL_DOWN_S = 30.0


class RasaPool:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        cool_down_s: float = COOL_DOWN_S,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("RasaPool needs at least one Rasa base URL")
        self.urls = [url.rstrip("/") for url in urls]
        self._cool_down_s = cool_down_s
        self._now = now
        self._failed_until: dict[str, float] = {}

    def order(self) -> list[str]:
        """Every URL once: the healthy ones in configured order, then those cooling down (the one that
        failed longest ago first). Never empty: when all failed recently, all are still worth a try."""
        now = self._now()
        healthy = [url for url in self.urls if self._failed_until.get(url, 0.0) <= now]
        cooling = sorted(
            (url for url in self.urls if self._failed_until.get(url, 0.0) > now),
            key=lambda url: self._failed_until[url],
        )
        return healthy + cooling

    def failed(self, url: str) -> None:
        self._failed_until[url] = self._now() + self._cool_down_s

    def succeeded(self, url: str) -> None:
        self._failed_until.pop(url, None)

    def cooling_down(self, url: str) -> bool:
        return self._failed_until.get(url, 0.0) > self._now()
