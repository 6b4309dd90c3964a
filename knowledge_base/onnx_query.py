"""Query embeddings on ONNX Runtime: the vectors sentence-transformers gives, for a third of the CPU.

A borrower's question is one short sentence, and for one sentence PyTorch spends most of its time on
per-operator overhead (benchmarks/results/onnx_query.md: about 19 ms of CPU per query in PyTorch, 6 ms
here, on one thread). The action server therefore runs the model's transformer exported to ONNX,
followed by the same mean pooling and L2 normalisation as the sentence-transformers pipeline.

Safe by construction: the exported file is cached under `KB_ONNX_DIR`, named after the model id, so a
changed model gets a new export; and before it is used, probe sentences (short, Chinese, and one longer
than the model's window, which tests truncation) must give the PyTorch vectors to within `TOLERANCE`.
Any failure - no onnxruntime, export error, another pooling, a mismatch - leaves the caller on PyTorch
with one log line. Index vectors (built in batches) still come from PyTorch; the two agree to ~1e-7.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

TOLERANCE = 1e-4  # max absolute difference per vector component against PyTorch (seen: ~1e-7)
PROBES = (
    "how do I get a payoff quote",
    "怎么申请提前结清？",
    "Can I change my due date? " * 60,  # longer than the model's window: truncation must match
)
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def _export(st: Any, target: Path) -> None:
    import torch

    transformer = st[0]
    sample = transformer.tokenizer(["probe"], return_tensors="pt")
    names = [name for name in INPUT_NAMES if name in sample]

    class LastHiddenState(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(LastHiddenState(transformer.auto_model).eval(), tuple(sample[n] for n in names), tmp,
                              input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
                              opset_version=17, dynamo=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # concurrent exporters: the last complete file wins, never a partial one
    finally:
        Path(tmp).unlink(missing_ok=True)


class OnnxQueryEncoder:
    """Encodes a few texts at a time like `SentenceTransformer.encode(..., normalize_embeddings=True)`."""

    def __init__(self, st: Any, model_path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._tokenizer = st[0].tokenizer
        self._max_tokens = int(st.max_seq_length)

    def encode(self, texts: list[str]) -> np.ndarray:
        batch = self._tokenizer(texts, padding=True, truncation="longest_first", max_length=self._max_tokens,
                                return_tensors="np")
        hidden = self._session.run(None, {name: batch[name].astype(np.int64) for name in self._inputs})[0]
        mask = batch["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.ascontiguousarray(pooled / norms, dtype=np.float32)


def _is_mean_pooled_and_normalised(st: Any) -> bool:
    kinds = [type(module).__name__ for module in st]
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        return False
    pooling = st[1].get_config_dict()
    mode = pooling.get("pooling_mode") or ("mean" if pooling.get("pooling_mode_mean_tokens") else None)
    return mode == "mean"


def load(st: Any, model_id: str, onnx_dir: Path, threads: int) -> OnnxQueryEncoder | None:
    """The ONNX encoder for this sentence-transformers model, or None (then use PyTorch)."""
    if not _is_mean_pooled_and_normalised(st):
        log.info("query embeddings on PyTorch: the model is not Transformer -> mean Pooling -> Normalize")
        return None
    target = onnx_dir / f"{re.sub(r'[^A-Za-z0-9_.@-]', '_', model_id)}.onnx"
    try:
        if not target.exists():
            _export(st, target)
        encoder = OnnxQueryEncoder(st, target, threads)
        for probe in PROBES:
            expected = st.encode([probe], convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False)
            if float(np.abs(encoder.encode([probe]) - expected).max()) > TOLERANCE:
                log.warning("query embeddings on PyTorch: the ONNX export of %s does not match it", model_id)
                return None
        return encoder
    except Exception as exc:  # noqa: BLE001 - any failure keeps the (slower, equal) PyTorch path
        log.warning("query embeddings on PyTorch: ONNX Runtime unavailable (%s: %s)", type(exc).__name__, exc)
        return None
