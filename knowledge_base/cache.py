"""On-disk embedding cache: one vector per (model, text hash), so rebuilds embed only changed texts."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """SQLite file in the index folder; keyed by model id AND text hash, vectors stored as float32 bytes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, hash TEXT NOT NULL, "
            "dim INTEGER NOT NULL, vec BLOB NOT NULL, PRIMARY KEY (model, hash))"
        )
        self._db.commit()

    def get_many(self, model: str, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = list(dict.fromkeys(hashes))
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._db.execute(
                f"SELECT hash, dim, vec FROM embeddings WHERE model = ? AND hash IN ({','.join('?' * len(chunk))})",
                [model, *chunk],
            )
            for h, dim, blob in rows:
                found[h] = np.frombuffer(blob, dtype=np.float32, count=dim)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO embeddings (model, hash, dim, vec) VALUES (?, ?, ?, ?)",
            [(model, h, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
        )
        self._db.commit()

    def prune(self, keep: set[tuple[str, str]]) -> int:
        """Keep only these (model, hash) vectors: drops other models' and texts no longer in the KB; returns
        how many were dropped."""
        rows = self._db.execute("SELECT model, hash FROM embeddings").fetchall()
        drop = [(m, h) for m, h in rows if (m, h) not in keep]
        self._db.executemany("DELETE FROM embeddings WHERE model = ? AND hash = ?", drop)
        self._db.commit()
        return len(drop)

    def close(self) -> None:
        self._db.close()
