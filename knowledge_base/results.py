"""What a search returns: hits and a decision the bot can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Decision = Literal["answer", "clarify", "none"]


@dataclass(frozen=True)
class Hit:
    """One FAQ entry, with the probability the decision model gave it for the query (1.0 when fetched by id)."""

    id: str
    title: str
    score: float
    source: str
    lang: str
    answer: str
    tags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "score": round(self.score, 4), "source": self.source}


@dataclass(frozen=True)
class SearchResponse:
    """``results`` are best first: for ``answer`` results[0] is the answer (then runners-up); for ``clarify``
    the 2-3 candidates to offer (``clarify_max``); for ``none`` the nearest entries tried (never to be shown as an answer)."""

    query: str
    lang: str
    decision: Decision
    results: list[Hit]
    version: str = ""

    @property
    def best(self) -> Hit | None:
        return self.results[0] if self.results else None

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "lang": self.lang, "decision": self.decision,
                "results": [h.to_json() for h in self.results]}
