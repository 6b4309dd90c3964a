"""The knowledge base as the actions see it: created once per process, searched off the event loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from actions.errors import KnowledgeBaseUnavailable
from actions.metrics import ActionMetrics
from knowledge_base import Hit, SearchResponse

logger = logging.getLogger(__name__)

T = TypeVar("T")

WARM_QUERIES = (("how do I get a payoff quote", "en"), ("怎么申请提前结清", "zh"))


class KnowledgeBaseLike(Protocol):
    """What the actions need from `knowledge_base.KnowledgeBase`."""

    def search(self, text: str, lang: str | None = None) -> SearchResponse: ...

    def get(self, faq_id: str) -> Hit | None: ...


class KnowledgeBaseProvider:
    """Builds the knowledge base on first use (or `warm()` at start-up) and shares it between actions.

    Searches run in a worker thread with a deadline so a slow embedding never holds the action
    server past its own timeout; any failure becomes `KnowledgeBaseUnavailable` for the caller.
    """

    def __init__(
        self, factory: Callable[[], KnowledgeBaseLike], *, search_timeout_s: float = 8.0,
        metrics: ActionMetrics | None = None,
    ) -> None:
        self._factory = factory
        self._metrics = metrics
        self._timeout = search_timeout_s
        self._kb: KnowledgeBaseLike | None = None
        self._lock = threading.Lock()
        self._warm_done = False
        self.error: str | None = None

    @property
    def ready(self) -> bool:
        return self._kb is not None and self._warm_done

    def mark_warm(self) -> None:
        self._warm_done = True

    def load(self) -> KnowledgeBaseLike:
        with self._lock:
            if self._kb is None:
                try:
                    self._kb = self._factory()
                    self.error = None
                except Exception as exc:
                    # Any load failure means "no knowledge base"; /health reports it, the next call retries.
                    self.error = type(exc).__name__
                    raise
            return self._kb

    async def warm(self, queries: tuple[tuple[str, str], ...] = WARM_QUERIES) -> None:
        """Load the index and run one search per language (the first Chinese search loads rjieba's
        dictionary), so the first borrower does not pay for it."""

        def load_and_search() -> None:
            kb = self.load()
            for text, lang in queries:
                kb.search(text, lang=lang)
            self.mark_warm()

        try:
            await asyncio.to_thread(load_and_search)
        except Exception:
            logger.exception("knowledge base could not be loaded at start-up; will retry on first search")

    async def search(self, action_name: str, text: str, lang: str | None) -> SearchResponse:
        return await self._call(action_name, "search", lambda kb: kb.search(text, lang=lang))

    async def get(self, action_name: str, faq_id: str) -> Hit | None:
        return await self._call(action_name, "get", lambda kb: kb.get(faq_id))

    async def _call(self, action_name: str, call: str, fn: Callable[[KnowledgeBaseLike], T]) -> T:
        def run() -> T:
            result = fn(self.load())
            self.mark_warm()
            return result

        started = time.perf_counter()
        outcome = "error"
        try:
            value = await asyncio.wait_for(asyncio.to_thread(run), timeout=self._timeout)
            outcome = "ok"
            return value
        except TimeoutError as exc:
            outcome = "timeout"
            raise KnowledgeBaseUnavailable(action_name, f"search took longer than {self._timeout} s") from exc
        except Exception as exc:
            raise KnowledgeBaseUnavailable(action_name, f"knowledge base failed: {type(exc).__name__}") from exc
        finally:
            if self._metrics is not None:
                self._metrics.kb_seconds.labels(call=call, result=outcome).observe(time.perf_counter() - started)
