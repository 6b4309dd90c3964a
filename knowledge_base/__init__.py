"""FAQ knowledge base: markdown sources, validation, incremental FAISS index, hybrid search."""

from knowledge_base.build import BuildReport, build_index
from knowledge_base.config import KBSettings
from knowledge_base.errors import (
    BuildLockedError,
    IndexNotBuiltError,
    InvalidKnowledgeBaseError,
    Issue,
    KBError,
    ModelLoadError,
)
from knowledge_base.kb import KnowledgeBase
from knowledge_base.results import Decision, Hit, SearchResponse
from knowledge_base.source import read_source

__all__ = [
    "BuildLockedError",
    "BuildReport",
    "Decision",
    "Hit",
    "IndexNotBuiltError",
    "InvalidKnowledgeBaseError",
    "Issue",
    "KBError",
    "KBSettings",
    "KnowledgeBase",
    "ModelLoadError",
    "SearchResponse",
    "build_index",
    "read_source",
]
