"""The knowledge base as the agent console uses it: loaded lazily, once per process.

Loading the embedding model takes seconds, so nothing happens until the first search. Without a
built index every call raises `KBUnavailableError` (503) with the command that fixes it, and the
next call tries again.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from handoff.errors import NotFoundError, UnavailableError
from knowledge_base import KBError, KBSettings, KnowledgeBase
from knowledge_base.markup import to_html, to_plain

FAQ_ID = re.compile(r"^[a-z0-9-]{1,80}$")


class KBUnavailableError(UnavailableError):
    code = "kb_unavailable"


class LazyKnowledgeBase:
    """Thread-safe holder of the knowledge base that `settings` (built by the entry point) describe."""

    def __init__(self, settings: KBSettings) -> None:
        self._settings = settings
        self._kb: KnowledgeBase | None = None
        self._lock = threading.Lock()

    def _get(self) -> KnowledgeBase:
        with self._lock:
            if self._kb is None:
                try:
                    self._kb = KnowledgeBase(self._settings)
                except (KBError, OSError) as exc:
                    raise KBUnavailableError(
                        f"the FAQ search index is not available ({type(exc).__name__}); "
                        "build it with `python -m knowledge_base build`"
                    ) from None
            return self._kb

    def search(self, text: str, *, lang: str | None = None) -> dict[str, Any]:
        """Hits with the answer three ways: `answer` (the markdown), `html` (sanitised, for showing) and
        `text` (plain, for inserting into a reply: agents' messages are shown as plain text)."""
        response = self._get().search(text, lang=lang)
        return {
            "query": text,
            "decision": response.decision,
            "results": [
                {"id": h.id, "title": h.title, "score": round(h.score, 4), "source": h.source, "lang": h.lang,
                 "answer": h.answer, "html": to_html(h.answer), "text": to_plain(h.answer), "tags": list(h.tags), "link": f"/api/agent/kb/faq/{h.lang}/{h.id}"}
                for h in response.results
            ],
        }

    def source_text(self, *, lang: str, faq_id: str) -> dict[str, str]:
        """The markdown source file of one FAQ, found by id (never by a path from the client)."""
        if lang not in ("en", "zh") or not FAQ_ID.match(faq_id):
            raise NotFoundError("no such FAQ", target_id=faq_id)
        settings = self._settings
        path: Path = settings.source_path() / lang / f"{faq_id}.md"
        if not path.is_file():
            raise NotFoundError("no such FAQ", target_id=faq_id)
        return {"id": faq_id, "lang": lang, "source": f"{settings.source.as_posix()}/{lang}/{faq_id}.md",
                "markdown": path.read_text(encoding="utf-8")}
