"""Index folder layout: versioned folders written in full, then published by atomically replacing manifest.json.

    <index>/manifest.json          the published version (os.replace of a temp file: never half-written)
    <index>/versions/<version>/    meta.json + <lang>.faiss, never modified once published
    <index>/embeddings.sqlite      embedding cache (model id + text hash)
    <index>/.build.lock            held by a running build
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from knowledge_base.errors import BuildLockedError, IndexNotBuiltError

FORMAT = 1
MANIFEST = "manifest.json"
VERSIONS = "versions"
CACHE = "embeddings.sqlite"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = index_dir / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexNotBuiltError(index_dir) from exc
    except (OSError, ValueError) as exc:
        raise IndexNotBuiltError(index_dir, f"unreadable {MANIFEST}: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise IndexNotBuiltError(index_dir, f"index format {manifest.get('format')!r}, expected {FORMAT}")
    return manifest


def manifest_stamp(index_dir: Path) -> tuple[int, int] | None:
    """Cheap change detector: (mtime_ns, inode) of manifest.json, None when missing."""
    try:
        st = os.stat(index_dir / MANIFEST)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_ino


def write_version(index_dir: Path, version: str, meta: dict[str, Any],
                  vectors: dict[str, np.ndarray]) -> Path:
    """Write a complete version folder (under a temp name, then renamed) and return its path."""
    versions = index_dir / VERSIONS
    versions.mkdir(parents=True, exist_ok=True)
    final = versions / version
    tmp = versions / f".{version}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for lang, matrix in vectors.items():
        index = faiss.IndexFlatIP(matrix.shape[1])
        if len(matrix):
            index.add(np.ascontiguousarray(matrix, dtype=np.float32))
        faiss.write_index(index, str(tmp / f"{lang}.faiss"))
    _write_json(tmp / "meta.json", meta)
    _fsync_dir(tmp)
    os.rename(tmp, final)
    _fsync_dir(versions)
    return final


def publish(index_dir: Path, manifest: dict[str, Any]) -> None:
    """Make ``manifest`` the current one in a single atomic rename."""
    tmp = index_dir / f".{MANIFEST}.tmp-{os.getpid()}"
    _write_json(tmp, {**manifest, "format": FORMAT})
    os.replace(tmp, index_dir / MANIFEST)
    _fsync_dir(index_dir)


def prune_versions(index_dir: Path, keep: int, current: str) -> list[str]:
    """Delete all but the ``keep`` newest versions (readers that just read an older manifest still find it)."""
    versions = index_dir / VERSIONS
    names = sorted((p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
                   reverse=True)
    doomed = [n for n in names[keep:] if n != current]
    # Under the build lock any half-written folder is left over from a crashed build.
    doomed += [p.name for p in versions.iterdir() if p.name.startswith(".") and ".tmp-" in p.name]
    for name in doomed:
        shutil.rmtree(versions / name, ignore_errors=True)
    return doomed


def load_version(index_dir: Path, manifest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(meta, {lang: faiss index}) of the version a manifest points to."""
    folder = index_dir / VERSIONS / str(manifest["version"])
    try:
        meta: dict[str, Any] = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        indexes = {lang: faiss.read_index(str(folder / f"{lang}.faiss")) for lang in meta["texts"]}
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise IndexNotBuiltError(index_dir, f"version {manifest['version']} is unreadable: {exc}") from exc
    return meta, indexes


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """One build per index folder at a time (advisory lock; released if the process dies)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildLockedError(index_dir) from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
