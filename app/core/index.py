"""The FAISS vector index: a cache derived from the catalog, never the truth.

Saved next to the catalog with a small JSON record of the catalog generation and model it was built
from. On open, a file that is missing, stale, built for another model or unreadable is rebuilt from
the catalog's stored embeddings.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import faiss
import numpy as np

from .catalog import Catalog

log = logging.getLogger(__name__)


def _safe_name(model_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)


class VectorIndex:
    """Inner-product search over unit vectors, ids = catalog file ids. Thread-safe."""

    def __init__(self, dim: int | None = None):
        """`dim` may stay unknown until the first vectors arrive (a library with no embeddings)."""
        self.dim = dim
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim)) if dim else None
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return self._index.ntotal if self._index is not None else 0

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            if self._index is None:
                self.dim = vectors.shape[1]
                self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            self._index.remove_ids(ids)  # re-adding an id replaces its vector
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids) -> None:
        ids = np.ascontiguousarray(list(ids), dtype=np.int64)
        if len(ids) and self._index is not None:
            with self._lock:
                self._index.remove_ids(ids)

    def search(self, query: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Best k (default: all) ids and scores for one query vector, best first."""
        with self._lock:
            n = len(self)
            if n == 0:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            k = n if k is None else min(k, n)
            q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
            scores, ids = self._index.search(q, k)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def vector(self, file_id: int) -> np.ndarray | None:
        with self._lock:
            try:
                return self._index.reconstruct(int(file_id)) if self._index is not None else None
            except RuntimeError:
                return None

    # -- persistence -------------------------------------------------------------------------

    @staticmethod
    def paths(index_dir: Path, model_id: str) -> tuple[Path, Path]:
        base = Path(index_dir) / _safe_name(model_id)
        return base.with_suffix(".faiss"), base.with_suffix(".json")

    def save(self, index_dir: Path, model_id: str, generation: int) -> None:
        """Write atomically: the data file first, then the record that vouches for it."""
        data, record = self.paths(index_dir, model_id)
        data.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self._index is None:  # nothing to save; an old file must not be trusted either
                record.unlink(missing_ok=True)
                return
            tmp = data.with_suffix(".faiss.tmp")
            faiss.write_index(self._index, str(tmp))
            count = self._index.ntotal
        os.replace(tmp, data)
        meta = {"model_id": model_id, "generation": generation, "count": count, "dim": self.dim,
                "size": data.stat().st_size}
        tmp = record.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, record)

    @classmethod
    def load(cls, index_dir: Path, model_id: str, generation: int) -> "VectorIndex | None":
        """The saved index if it matches this catalog state and model exactly, else None."""
        data, record = cls.paths(index_dir, model_id)
        try:
            meta = json.loads(record.read_text())
            if (meta.get("model_id"), meta.get("generation")) != (model_id, generation):
                log.info("index for %s is stale (built at %s, catalog at %s)", model_id, meta.get("generation"), generation)
                return None
            if data.stat().st_size != meta.get("size"):
                log.warning("index file %s does not match its record; rebuilding", data)
                return None
            raw = faiss.read_index(str(data))
        except (OSError, ValueError, RuntimeError) as e:
            log.info("no usable saved index for %s (%s)", model_id, e)
            return None
        if raw.ntotal != meta.get("count") or raw.d != meta.get("dim"):
            return None
        index = cls(raw.d)
        index._index = raw
        return index

    @classmethod
    def build(cls, catalog: Catalog, model_id: str) -> "VectorIndex":
        ids, vectors = catalog.vectors(model_id)
        index = cls()
        if len(ids):
            index.add(ids, vectors)
        return index

    @classmethod
    def open(cls, catalog: Catalog, index_dir: Path, model_id: str) -> "VectorIndex":
        """Load the saved index, or rebuild (and save) it from the catalog when it can't be trusted."""
        generation = catalog.generation()
        index = cls.load(index_dir, model_id, generation)
        if index is not None:
            return index
        index = cls.build(catalog, model_id)
        index.save(index_dir, model_id, generation)
        return index
