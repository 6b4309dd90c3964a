"""Query embeddings on ONNX Runtime: the vectors sentence-transformers gives, without PyTorch in the process.

A borrower's question is one short sentence, and for one sentence PyTorch spends most of its time on
per-operator overhead (benchmarks/results/onnx_query.md: about 19 ms of CPU per query in PyTorch, 6 ms
here, on one thread), and PyTorch alone is most of the action server's memory (benchmarks/results/
onnx_only_rss.md). So the work is split in two:

- build time (`python -m knowledge_base build`, which has PyTorch anyway to embed the FAQs): `export`
  writes the model's transformer to ONNX under `KB_ONNX_DIR`, named after the model id (a changed model
  gets a new export), its weights in a `.onnx.data` file beside it (mapped at load, not copied), and the
  PyTorch vectors of the probe sentences (short, Chinese, and one longer than the model's window, which
  tests truncation);
- query time (`OnnxQueryEncoder`, `load_encoder`): ONNX Runtime, the model's own `tokenizer.json` (the
  `tokenizers` package) and numpy, followed by the same mean pooling and L2 normalisation as the
  sentence-transformers pipeline. Nothing here imports PyTorch. Before the encoder is used the probes must
  give the stored PyTorch vectors to within `TOLERANCE` (seen: 0 to 1e-7).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base.errors import OnnxExportError

log = logging.getLogger(__name__)

TOLERANCE = 1e-4  # max absolute difference per vector component against PyTorch (seen: ~1e-7)
PROBES = (
    "how do I get a payoff quote",
    "怎么申请提前结清？",
    "Can I change my due date? " * 60,  # longer than the model's window: truncation must match
)
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
DEFAULT_MAX_TOKENS = 256


def export_path(onnx_dir: Path, model_id: str) -> Path:
    return onnx_dir / f"{re.sub(r'[^A-Za-z0-9_.@-]', '_', model_id)}.onnx"


def data_path(export: Path) -> Path:
    """The export's weights, in a file of their own next to the graph: ONNX Runtime then maps them instead of
    parsing them out of the graph and copying them (MiniLM: peak RSS 111 MB instead of 188 MB)."""
    return export.with_name(export.name + ".data")


def probes_path(export: Path) -> Path:
    """The PyTorch vectors of `PROBES`, written with the export."""
    return export.with_suffix(".probes.json")


def is_mean_pooled_and_normalised(st: Any) -> bool:
    kinds = [type(module).__name__ for module in st]
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        return False
    pooling = st[1].get_config_dict()
    mode = pooling.get("pooling_mode") or ("mean" if pooling.get("pooling_mode_mean_tokens") else None)
    return mode == "mean"


def is_complete(export: Path) -> bool:
    """The graph, its weights and its probe vectors are all there (an export from before the weights
    moved to their own file is made again)."""
    return all(part.exists() for part in (export, data_path(export), probes_path(export)))


def _write_atomically(target: Path, write: Any) -> None:
    """`write(tmp_path)`, then rename: concurrent exporters leave the last complete file, never a partial one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=target.suffix + ".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _export_model(st: Any, target: Path) -> None:
    import onnx
    import torch  # build time only: the query side of this module never imports them

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

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        graph, staged = Path(tmp) / "graph.onnx", Path(tmp) / target.name
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(LastHiddenState(transformer.auto_model).eval(), tuple(sample[n] for n in names),
                              str(graph), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, dynamo=False)
        onnx.save_model(onnx.load(str(graph)), str(staged), save_as_external_data=True,
                        all_tensors_to_one_file=True, location=data_path(target).name, size_threshold=1024)
        # The weights first, then the graph that names them: a reader that sees the graph finds its weights,
        # and concurrent exporters leave complete files (they write the same ones).
        for part in (data_path(staged), staged):
            os.chmod(part, 0o644)
            os.replace(part, target.parent / part.name)


def export(st: Any, *, model_dir: Path, model_id: str, onnx_dir: Path) -> Path:
    """Export the model for queries (once per model id) with its probe vectors, and check that the export
    gives PyTorch's vectors. Returns the export's path; OnnxExportError when the model cannot be served
    this way (another pooling, a mismatch)."""
    if not is_mean_pooled_and_normalised(st):
        raise OnnxExportError(model_id, "ONNX queries need Transformer -> mean Pooling -> Normalize; "
                                       "set KB_QUERY_RUNTIME=torch for this model")
    target = export_path(onnx_dir, model_id)
    if not target.exists() or not data_path(target).exists():  # none yet, or one from before the weights moved out
        target.parent.mkdir(parents=True, exist_ok=True)
        _export_model(st, target)
    expected = st.encode(list(PROBES), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
    worst = float(np.abs(OnnxQueryEncoder(model_dir, target, 1).encode(list(PROBES)) - expected).max())
    if worst > TOLERANCE:
        raise OnnxExportError(model_id, f"the ONNX export differs from PyTorch by {worst:.1e}; "
                                       "set KB_QUERY_RUNTIME=torch for this model")
    probes = probes_path(target)
    _write_atomically(probes, lambda tmp: Path(tmp).write_text(
        json.dumps({"probes": list(PROBES), "vectors": expected.tolist()}), encoding="utf-8"))
    return target


class OnnxQueryEncoder:
    """Encodes texts like `SentenceTransformer.encode(..., normalize_embeddings=True)`, without PyTorch."""

    def __init__(self, model_dir: Path, export: Path, threads: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config = model_dir / "sentence_bert_config.json"
        max_tokens = DEFAULT_MAX_TOKENS
        if config.exists():
            max_tokens = int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length") or max_tokens)
        self.max_tokens = max_tokens
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(export), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.dimension = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str]) -> np.ndarray:
        batch = self._tokenizer.encode_batch(texts)
        arrays = {
            "input_ids": np.array([b.ids for b in batch], dtype=np.int64),
            "attention_mask": np.array([b.attention_mask for b in batch], dtype=np.int64),
            "token_type_ids": np.array([b.type_ids for b in batch], dtype=np.int64),
        }
        hidden = self._session.run(None, {name: arrays[name] for name in self._inputs})[0]
        mask = arrays["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.ascontiguousarray(pooled / norms, dtype=np.float32)


def load_encoder(*, model_dir: Path, model_id: str, onnx_dir: Path, threads: int) -> OnnxQueryEncoder:
    """The query encoder of an export made by `python -m knowledge_base build`, checked against the
    PyTorch probe vectors stored with it. OnnxExportError (with the fix) when there is none or it differs."""
    target = export_path(onnx_dir, model_id)
    probes = probes_path(target)
    if not target.exists() or not probes.exists():
        raise OnnxExportError(model_id, f"no ONNX export in {onnx_dir}: run `python -m knowledge_base build` "
                                       "(it writes the export with the index), or set KB_QUERY_RUNTIME=torch")
    try:
        encoder = OnnxQueryEncoder(model_dir, target, threads)
        stored = json.loads(probes.read_text(encoding="utf-8"))
        worst = float(np.abs(encoder.encode(list(stored["probes"])) - np.array(stored["vectors"])).max())
    except Exception as exc:  # any loader failure becomes one clear error
        raise OnnxExportError(model_id, f"cannot load the ONNX export {target}: {type(exc).__name__}: {exc}") from exc
    if worst > TOLERANCE:
        raise OnnxExportError(model_id, f"the ONNX export {target} differs from its probe vectors by {worst:.1e}: "
                                       "delete it and run `python -m knowledge_base build`")
    return encoder
