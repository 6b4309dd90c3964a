"""Typed errors and content issues of the knowledge base."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Issue:
    """One content problem, printed as ``path:line: message``."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class KBError(Exception):
    """Base class of every error the knowledge base raises on purpose."""


class IndexNotBuiltError(KBError):
    """No usable index in the index folder."""

    def __init__(self, index_dir: Path, detail: str = "no manifest.json") -> None:
        self.index_dir = index_dir
        super().__init__(
            f"{index_dir}: no knowledge-base index ({detail}); "
            f"run `python -m knowledge_base build --index {index_dir}` first"
        )


class InvalidKnowledgeBaseError(KBError):
    """The FAQ sources have problems; nothing was indexed."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__(f"{len(issues)} problem(s) in the FAQ sources; nothing was indexed")


class BuildLockedError(KBError):
    """Another build of the same index folder is running."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        super().__init__(f"{index_dir}: another build is running; wait for it to finish")


class ModelLoadError(KBError):
    """The embedding model could not be loaded."""

    def __init__(self, model: str, detail: str) -> None:
        self.model = model
        super().__init__(
            f"cannot load embedding model {model!r}: {detail}; set KB_MODEL to a local "
            "sentence-transformers folder (no downloads happen at run time)"
        )


class OnnxExportError(KBError):
    """The ONNX export that query embeddings need is missing, unreadable or does not match PyTorch."""

    def __init__(self, model: str, detail: str) -> None:
        self.model = model
        super().__init__(f"cannot embed queries of {model!r} on ONNX Runtime: {detail}")
