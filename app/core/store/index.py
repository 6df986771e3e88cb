"""The FAISS vector index: a cache derived from the catalog, never the truth.

Saved next to the catalog with a small JSON record of the catalog generation and model it was built
from. On open, a file that is missing, stale, built for another model or unreadable is rebuilt from
the catalog's stored embeddings.

Two kinds, chosen by library size (`kind_for`):

- "flat" (exact): `IndexIDMap2(IndexFlatIP)`. A query ranks the *whole* library with one
  matrix-vector product over FAISS's own storage plus a sort, which beats FAISS's heap for k = n.
- "ivf" (approximate, above EXACT_LIMIT): `IndexIVFScalarQuantizer` with float16 codes (half the
  memory of float32, same speed here) and a hashtable direct map, so ids can still be removed and
  vectors read back. `nprobe` is tuned at build time for recall@100 on text-like and photo-like
  probe queries (`probe_queries`); a query returns the best APPROX_RESULTS, or with a filter
  every photo that passes it when they are few (see `search`).

Crossing the limit is handled by `Library`, which builds the other kind in the background
(`rebuilt`) while searches keep using this one, then swaps (`catch_up` replays what changed).
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from pathlib import Path

import faiss
import numpy as np

from ..tempfiles import temp_beside
from .catalog import Catalog

log = logging.getLogger(__name__)

# Measured with `python -m bench.query` on a 2-core CPU: ranking the whole library exactly costs
# about 0.16 ms per 1,000 photos (25 ms at 150k), an IVF query ~11 ms at a million. Below this
# size exact search is instant enough and ranks every photo; above it the IVF index takes over.
EXACT_LIMIT = 150_000
FLAT_AGAIN_BELOW = 120_000  # hysteresis: a library hovering at the limit does not flip-flop
APPROX_RESULTS = 2_000  # what an approximate query returns, best first
CHECKED_ON_LOAD = 64  # photos whose saved vectors are compared with the catalog's when an index is loaded
RECALL_TARGET = 0.97  # mean recall@100 of the tuned nprobe on text-like and on photo-like probes


def _safe_name(model_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)


def kind_for(count: int, current: str = "flat") -> str:
    if current == "ivf":
        return "ivf" if count >= FLAT_AGAIN_BELOW else "flat"
    return "ivf" if count > EXACT_LIMIT else "flat"


class VectorIndex:
    """Inner-product search over unit vectors, ids = catalog file ids. Thread-safe."""

    def __init__(self, dim: int | None = None):
        """`dim` may stay unknown until the first vectors arrive (a library with no embeddings)."""
        self.dim = dim
        self.kind = "flat"
        self.nprobe = 0
        self.trained_for = 0  # library size the IVF partition was trained for
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim)) if dim else None
        self._lock = threading.RLock()
        self._touched: set[int] | None = None  # ids changed while a rebuild is under way

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
            if self._touched is not None:
                self._touched.update(ids.tolist())

    def remove(self, ids) -> None:
        ids = np.ascontiguousarray(list(ids), dtype=np.int64)
        if len(ids) and self._index is not None:
            with self._lock:
                self._index.remove_ids(ids)
                if self._touched is not None:
                    self._touched.update(ids.tolist())

    def search(
        self, query: np.ndarray, k: int | None = None, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best k ids and scores for one query vector, best first. k=None: every photo when the
        index is exact, the best APPROX_RESULTS when it is approximate.

        `among` (sorted unique ids, e.g. the photos that pass a filter): only those photos, as if
        they were the whole library: when there are at most EXACT_LIMIT of them, every one is
        ranked exactly, whatever the kind of index."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        with self._lock:
            n = len(self)
            if n == 0 or (among is not None and len(among) == 0):
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            if self.kind == "flat" and (k is None or k > 256 or among is not None):
                return self._rank_all(q, n, k, among)
            if self.kind == "flat":
                scores, ids = self._index.search(q.reshape(1, -1), min(n, k))
            else:
                scores, ids = self._search_ivf(q, k, among)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def _search_ivf(self, q: np.ndarray, k: int | None, among: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Probe more lists when the tuned ones hold fewer than k photos (small or uneven lists).

        With `among`, FAISS skips every other photo: few enough of them are ranked exactly (all
        lists probed); more are searched wider, in proportion to the share of the library they
        are, so the lists probed hold about as many candidates as an unfiltered query's."""
        n, nprobe, nlist = len(self), self.nprobe, faiss.extract_index_ivf(self._index).nlist
        params = faiss.SearchParametersIVF()
        if among is not None:
            among = np.ascontiguousarray(among, dtype=np.int64)
            selector = faiss.IDSelectorBatch(len(among), faiss.swig_ptr(among))  # copies the ids
            params.sel = selector  # (a local, so it outlives the search)
            if len(among) <= EXACT_LIMIT:
                nprobe, k = nlist, len(among) if k is None else k
            else:
                nprobe = math.ceil(nprobe * n / len(among))
            n = len(among)
        k = min(n, APPROX_RESULTS if k is None else k)
        while True:
            params.nprobe = min(nlist, nprobe)
            scores, ids = self._index.search(q.reshape(1, -1), k, params=params)
            if ids[0][-1] >= 0 or params.nprobe >= nlist:
                return scores, ids
            nprobe = params.nprobe * 4

    def _rank_all(
        self, q: np.ndarray, n: int, k: int | None, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact ranking with one BLAS product over the flat storage (zero-copy views)."""
        flat = faiss.downcast_index(self._index.index)
        vectors = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim)
        ids = faiss.rev_swig_ptr(self._index.id_map.data(), n)
        scores = vectors @ q
        if among is not None:
            rows = np.flatnonzero(np.isin(ids, among))
            ids, scores = ids[rows], scores[rows]
            n = len(ids)
        if k is not None and k < n:
            top = np.argpartition(-scores, k - 1)[:k]
            order = top[np.argsort(-scores[top], kind="stable")]
        else:
            order = np.argsort(-scores, kind="stable")
        return ids[order].copy(), scores[order]

    def vector(self, file_id: int) -> np.ndarray | None:
        with self._lock:
            try:
                return self._index.reconstruct(int(file_id)) if self._index is not None else None
            except RuntimeError:
                return None

    def ids(self) -> np.ndarray:
        with self._lock:
            if self._index is None:
                return np.empty(0, dtype=np.int64)
            return faiss.vector_to_array(self._index.id_map).copy() if self.kind == "flat" else _ivf_ids(self._index)

    # -- choosing and changing the kind -----------------------------------------------------

    def wanted_kind(self) -> str:
        """The kind this index should be for its size (and whether an IVF has outgrown its lists)."""
        kind = kind_for(len(self), self.kind)
        if kind == "ivf" and self.kind == "ivf" and len(self) > 4 * max(1, self.trained_for):
            return "ivf-retrain"
        return kind

    def needs_rebuild(self) -> bool:
        return self.wanted_kind() != self.kind

    def start_tracking(self) -> None:
        """Remember ids changed from now on, for `catch_up` after a rebuild."""
        with self._lock:
            self._touched = set()

    def catch_up(self, old: VectorIndex) -> None:
        """Replay onto this (new) index what changed in `old` since `old.start_tracking()`."""
        with old._lock:
            touched, old._touched = old._touched or set(), None
            for file_id in touched:
                vector = old.vector(file_id)
                if vector is None:
                    self.remove([file_id])
                else:
                    self.add(np.array([file_id]), vector.reshape(1, -1))

    @classmethod
    def from_vectors(cls, ids: np.ndarray, vectors: np.ndarray, kind: str | None = None) -> VectorIndex:
        """Build the kind that suits `len(ids)` (or the one asked for)."""
        kind = kind or kind_for(len(ids))
        index = cls()
        if len(ids) == 0:
            return index
        if kind == "flat":
            index.add(ids, vectors)
            return index
        index.dim = vectors.shape[1]
        index.kind = "ivf"
        index._index, index.nprobe = _build_ivf(
            np.ascontiguousarray(ids, dtype=np.int64), np.ascontiguousarray(vectors, dtype=np.float32)
        )
        index.trained_for = len(ids)
        return index

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
            tmp = temp_beside(data)  # unique: another process may be saving this index too
            faiss.write_index(self._index, tmp)
            count = self._index.ntotal
            meta = {
                "model_id": model_id,
                "generation": generation,
                "count": count,
                "dim": self.dim,
                "kind": self.kind,
                "nprobe": self.nprobe,
                "trained_for": self.trained_for,
            }
        os.replace(tmp, data)
        meta["size"] = data.stat().st_size
        tmp = temp_beside(record)
        Path(tmp).write_text(json.dumps(meta))
        os.replace(tmp, record)

    @classmethod
    def load(cls, index_dir: Path, model_id: str, generation: int) -> VectorIndex | None:
        """The saved index if it matches this catalog state and model exactly, else None."""
        data, record = cls.paths(index_dir, model_id)
        try:
            meta = json.loads(record.read_text())
            if (meta.get("model_id"), meta.get("generation")) != (model_id, generation):
                log.info(
                    "index for %s is stale (built at %s, catalog at %s)", model_id, meta.get("generation"), generation
                )
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
        index.kind = meta.get("kind", "flat")
        if index.kind == "ivf":
            index.nprobe = int(meta["nprobe"])
            index.trained_for = int(meta.get("trained_for", raw.ntotal))
            faiss.extract_index_ivf(raw).nprobe = index.nprobe
        return index

    def agrees_with(self, catalog: Catalog, model_id: str, sample: int = CHECKED_ON_LOAD) -> bool:
        """Whether photos picked at random have the catalog's own vectors here (or, without an
        embedding, none): a saved file that is damaged inside but has the right size and record
        is caught and rebuilt, never trusted. 64 lookups by primary key: ~2 ms."""
        bounds = catalog.db.execute("SELECT MIN(id), MAX(id) FROM files WHERE status = 'ok'").fetchone()
        if bounds[0] is None:
            return len(self) == 0
        for start in np.random.default_rng().integers(bounds[0], bounds[1] + 1, size=sample):
            row = catalog.db.execute(
                "SELECT id FROM files WHERE id >= ? AND status = 'ok' ORDER BY id LIMIT 1", (int(start),)
            ).fetchone()
            truth, mine = catalog.vector(row[0], model_id), self.vector(row[0])
            if (truth is None) != (mine is None):
                log.warning("saved index disagrees with the catalog on photo %d; rebuilding", row[0])
                return False
            if truth is not None and float(np.dot(truth, mine)) < 0.999 * float(
                np.linalg.norm(truth) * np.linalg.norm(mine)
            ):
                log.warning("saved index holds a wrong vector for photo %d; rebuilding", row[0])
                return False
        return True

    @classmethod
    def build(cls, catalog: Catalog, model_id: str) -> VectorIndex:
        return cls.from_vectors(*catalog.vectors(model_id))

    @classmethod
    def open(cls, catalog: Catalog, index_dir: Path, model_id: str) -> VectorIndex:
        """Load the saved index, or rebuild (and save) it from the catalog when it can't be trusted."""
        generation = catalog.generation()
        index = cls.load(index_dir, model_id, generation)
        if index is not None and index.agrees_with(catalog, model_id):
            return index
        index = cls.build(catalog, model_id)
        index.save(index_dir, model_id, generation)
        return index


# -- the approximate index --------------------------------------------------------------------


def _build_ivf(ids: np.ndarray, vectors: np.ndarray, seed: int = 0) -> tuple[faiss.Index, int]:
    n, dim = vectors.shape
    nlist = max(1, min(int(math.sqrt(n)), n // 40))  # ~sqrt(n) lists; k-means wants >= 39 points each
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(n, size=min(n, 40 * nlist), replace=False)]
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    index.train(sample)
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # remove and reconstruct by id
    index.add_with_ids(vectors, ids)
    index.nprobe = _tune_nprobe(index, ids, vectors, rng)
    return index, index.nprobe


# Probe queries, for tuning nprobe here and for measuring recall in bench.query. CLIP puts texts
# and photos in different regions of its space: a text and the photos it describes score a cosine
# of only ~0.2-0.35, while a photo and its near neighbours score ~0.8-0.9. So a text-like probe is
# a library photo's direction with random noise added until that photo scores a cosine of 0.25:
# its best matches are a loose neighbourhood that spreads over many more lists than a photo
# query's, and when the photo has few neighbours, over lists all across the library. A photo-like
# probe is a photo with a little noise (another shot of the same scene, "Find similar").
PROBE_COSINE = {"text": 0.25, "photo": 0.9}
MAX_PROBED_SHARE = 4  # nprobe never exceeds nlist / 4: a query stays under ~1/4 of exact search


def probe_queries(vectors: np.ndarray, count: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """`count` unit probe vectors of a kind ("text" or "photo", see PROBE_COSINE) near `vectors`."""
    picks = vectors[rng.choice(len(vectors), size=min(count, len(vectors)), replace=False)].astype(np.float32)
    cosine = PROBE_COSINE[kind]
    noise = rng.standard_normal(picks.shape).astype(np.float32)
    noise *= math.sqrt(1 / cosine**2 - 1) / math.sqrt(picks.shape[1])  # |noise| = tan(angle)
    queries = picks + noise
    return queries / np.linalg.norm(queries, axis=1, keepdims=True)


def _exact_top(queries: np.ndarray, ids: np.ndarray, vectors: np.ndarray, k: int) -> np.ndarray:
    """The ids of each query's k best vectors (any order), by blocks of 100,000: bounded memory."""
    k = min(k, len(vectors))
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 100_000):
        block = queries @ vectors[start : start + 100_000].T
        cand_s = np.concatenate([best_s, block], axis=1)
        cand_i = np.concatenate(
            [best_i, np.broadcast_to(np.arange(start, start + block.shape[1]), block.shape)], axis=1
        )
        top = np.argpartition(-cand_s, k - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, top, 1), np.take_along_axis(cand_i, top, 1)
    return ids[best_i]


def _tune_nprobe(
    index: faiss.IndexIVF, ids: np.ndarray, vectors: np.ndarray, rng: np.random.Generator, probes: int = 128
) -> int:
    """The smallest nprobe whose mean recall@100 against exact search reaches RECALL_TARGET for
    text-like and for photo-like probes (at most nlist / MAX_PROBED_SHARE)."""
    kinds = {kind: probe_queries(vectors, probes, kind, rng) for kind in PROBE_COSINE}
    k = min(100, len(vectors))
    truth = {kind: _exact_top(queries, ids, vectors, k) for kind, queries in kinds.items()}
    most = max(1, index.nlist // MAX_PROBED_SHARE)
    nprobe = min(4, most)
    while True:
        index.nprobe = nprobe
        recall = {kind: _recall(index.search(queries, k)[1], truth[kind]) for kind, queries in kinds.items()}
        if min(recall.values()) >= RECALL_TARGET or nprobe >= most:
            log.info(
                "IVF over %d vectors: nlist %d, nprobe %d, probe recall@%d %s",
                len(vectors),
                index.nlist,
                nprobe,
                k,
                ", ".join(f"{kind} {r:.3f}" for kind, r in recall.items()),
            )
            return nprobe
        nprobe = min(most, nprobe * 2)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth)]))


def _ivf_ids(index: faiss.Index) -> np.ndarray:
    """Every id stored in an IVF index (walks its inverted lists)."""
    ivf = faiss.extract_index_ivf(index)
    lists = ivf.invlists
    out = []
    for list_no in range(ivf.nlist):
        size = lists.list_size(list_no)
        if size:
            out.append(faiss.rev_swig_ptr(lists.get_ids(list_no), size).copy())
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)
