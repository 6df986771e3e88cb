"""Duplicates and near-duplicates: groups of photos that are the same picture.

Three signals, combined (a photo joins a group through any of them):

1. **Identical bytes.** Photos with the same content fingerprint; for files larger than what the
   fingerprint reads (see scanner.py) a full hash confirms it. Shown as "identical copies".
2. **A perceptual hash.** A 64-bit DCT hash (pHash) of the decoded picture, computed during
   indexing from the one decode (and from the thumbnail for photos indexed before). Resized,
   recompressed, re-coloured or very slightly cropped copies stay within a few bits; it does not
   need a model, so it works with any model and with none. Measured on ../shared/devdata (see
   `DEFAULT_HASH_DISTANCE`).
3. **CLIP embeddings.** Cosine similarity at or above `threshold` (adjustable): this also catches
   crops, small rotations and mirror images, which change the hash completely. A model with
   random weights (the tests' tiny model) maps unrelated photos to nearly the same vector
   (measured: unrelated pairs up to 0.999), so the embeddings are used only when the library shows
   that this model tells photos apart: the median similarity of random pairs must lie well below
   the threshold (real CLIP models: about 0.5; random weights: about 0.9). Otherwise the report
   says so and the other two signals decide.

Fast on large libraries: hashes are compared with FAISS's binary index (Hamming range search),
embeddings with an exact blocked matrix product up to `EXACT_LIMIT` photos and an inverted-file
index (k-means cells, `range_search` over the nearest cells) above it; groups are the connected
components of the pairs found (union-find). Each group suggests a keeper: the largest resolution,
then the oldest (capture date, else file date), then the biggest file.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
from PIL import Image

from . import scanner

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.95  # cosine of CLIP embeddings (no trained weights here to measure it on;
# near-duplicate tools use 0.9-0.96 for CLIP-like embeddings)
HASH_BITS_PER_UNIT = 160  # hash distance allowed = (1 - threshold) * this: 8 bits at 0.95.
# Measured on devdata (380 photos, 72k unrelated pairs): resized / recompressed / re-coloured
# copies and EXIF-rotated or re-encoded files differ by <= 4 bits; crops keeping 97% of each side
# by <= 8 in 92% of cases (95%: 65%); unrelated photos by >= 14 bits (one pair at 14).
EXACT_LIMIT = 4_000  # embeddings compared exactly (all pairs) up to this many photos
IVF_PROBES = 3  # cells searched per photo above EXACT_LIMIT (near-duplicates share a cell)
PAIR_SAMPLE = 4_000  # random pairs that tell whether the model separates photos
MODEL_MARGIN = 0.10  # median random-pair similarity must be below threshold - this margin
_FLAT = 2.0  # pictures whose low-frequency content is all below this have no usable hash


def hash_distance_for(threshold: float) -> int:
    """The perceptual-hash distance that goes with an embedding threshold: one knob for both
    (-1 at 1.0: identical files only)."""
    if threshold >= 1.0:
        return -1
    return max(0, min(24, round((1.0 - threshold) * HASH_BITS_PER_UNIT)))


DEFAULT_HASH_DISTANCE = hash_distance_for(DEFAULT_THRESHOLD)


StopCheck = Callable[[], bool]
ProgressCallback = Callable[[str, int, int], None]  # (step, done, total)


# -- the perceptual hash ------------------------------------------------------------------------


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    m[0] /= math.sqrt(2)
    return m


_DCT32 = _dct_matrix(32)


def perceptual_hash(image: Image.Image) -> int | None:
    """The 64-bit DCT hash (pHash) of a picture as a signed integer (SQLite's INTEGER), or None
    for a picture too flat to tell apart from others (a blank frame)."""
    grey = image.convert("L")
    if grey.width > 256 or grey.height > 256:
        grey = grey.reduce(max(1, min(grey.width, grey.height) // 64))
    pixels = np.asarray(grey.resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    low = (_DCT32 @ pixels @ _DCT32.T)[:8, :8].ravel()
    ac = low[1:]
    if np.abs(ac).max() < _FLAT:
        return None
    bits = low > np.median(ac)
    value = int(np.packbits(bits).view(">u8")[0])
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def _full_hash(path: str) -> str | None:
    h = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    id: int
    path: str
    size: int
    width: int | None
    height: int | None
    taken_at: str | None
    mtime: float
    identical: bool = False  # the same bytes as the group's keeper (the keeper itself: True)

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    def as_dict(self) -> dict:
        return {"id": self.id, "path": self.path, "size": self.size, "width": self.width,
                "height": self.height, "taken_at": self.taken_at, "identical": self.identical}


@dataclass
class DuplicateGroup:
    photos: list[Photo]  # the keeper first, then the others (largest first)
    exact: bool  # every photo has the same bytes
    similarity: float  # lowest similarity of another photo to the keeper: cosine, or 1 - bits/64

    @property
    def keeper(self) -> Photo:
        return self.photos[0]

    @property
    def others(self) -> list[Photo]:
        return self.photos[1:]

    def as_dict(self) -> dict:
        return {"keeper": self.keeper.path, "paths": [p.path for p in self.photos], "exact": self.exact,
                "similarity": round(self.similarity, 4), "photos": [p.as_dict() for p in self.photos]}


@dataclass
class DuplicateReport:
    groups: list[DuplicateGroup] = field(default_factory=list)
    threshold: float | None = DEFAULT_THRESHOLD
    hash_distance: int = DEFAULT_HASH_DISTANCE
    photos: int = 0
    embeddings_used: bool = False
    note: str = ""  # why a signal was not used, for the user
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def redundant(self) -> int:
        """Photos that could go (every photo of every group but its keeper)."""
        return sum(len(g.photos) - 1 for g in self.groups)

    def as_dict(self) -> dict:
        return {"threshold": self.threshold, "hash_distance": self.hash_distance, "photos": self.photos,
                "embeddings_used": self.embeddings_used, "note": self.note, "seconds": round(self.seconds, 3),
                "groups": [g.as_dict() for g in self.groups]}


# -- finding pairs ------------------------------------------------------------------------------


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def hash_pairs(hashes: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of 64-bit hashes at most `max_distance` bits apart (FAISS binary range
    search: exact, and fast enough for 100k hashes)."""
    import faiss

    n = len(hashes)
    if n < 2:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    codes = np.ascontiguousarray(hashes.astype(np.int64).view(np.uint8).reshape(n, 8))
    index = faiss.IndexBinaryFlat(64)
    index.add(codes)
    lims, _dist, found = index.range_search(codes, max_distance + 1)  # distances < radius
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(lims).astype(np.int64))
    keep = rows < found
    return rows[keep], found[keep].astype(np.int64)


def embedding_pairs(vectors: np.ndarray, threshold: float, should_stop: StopCheck | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    exact_limit: int = EXACT_LIMIT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (i < j) of unit vectors with cosine >= threshold, and their cosines.

    Exact (blocked matrix products) up to `exact_limit` vectors. Above it an inverted-file index:
    k-means cells (about sqrt(n) of them, trained on a sample) and a range search over each
    vector's IVF_PROBES nearest cells; a near-duplicate lies next to its twin, so in the same or a
    neighbouring cell (measured recall of planted near-duplicates at 100k: 99.8% with 2 probes,
    100% with 4)."""
    import faiss

    should_stop = should_stop or (lambda: False)
    progress = progress or (lambda done, total: None)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape if vectors.ndim == 2 else (0, 0)
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
    if n < 2:
        return empty
    rows_out, cols_out, sims_out = [], [], []
    block = 1024 if n <= exact_limit else 8192
    if n <= exact_limit:
        for start in range(0, n, block):
            if should_stop():
                break
            sims = vectors[start:start + block] @ vectors[start:].T
            r, c = np.nonzero(sims >= threshold)
            keep = start + r < start + c  # upper triangle (c is relative to `start`)
            rows_out.append(start + r[keep])
            cols_out.append(start + c[keep])
            sims_out.append(sims[r[keep], c[keep]])
            progress(min(n, start + block), n)
    else:
        nlist = max(1, int(math.sqrt(n)))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(n, size=min(n, nlist * 50), replace=False)]
        index.cp.niter = 10
        index.train(sample)
        index.add(vectors)
        index.nprobe = min(nlist, IVF_PROBES)
        for start in range(0, n, block):
            if should_stop():
                break
            lims, sims, found = index.range_search(vectors[start:start + block], float(threshold) - 1e-6)
            rows = start + np.repeat(np.arange(len(lims) - 1, dtype=np.int64), np.diff(lims).astype(np.int64))
            keep = rows < found
            rows_out.append(rows[keep])
            cols_out.append(found[keep].astype(np.int64))
            sims_out.append(sims[keep])
            progress(min(n, start + block), n)
    if not rows_out:
        return empty
    return (np.concatenate(rows_out).astype(np.int64), np.concatenate(cols_out).astype(np.int64),
            np.concatenate(sims_out).astype(np.float32))


def model_separates(vectors: np.ndarray, threshold: float, sample: int = PAIR_SAMPLE) -> tuple[bool, float]:
    """(usable, median similarity of random pairs): whether embeddings tell photos apart at this
    threshold. Robust to libraries full of duplicates: they barely move a median."""
    n = len(vectors)
    if n < 3:
        return True, 0.0
    rng = np.random.default_rng(1)
    a = rng.integers(0, n, size=sample)
    b = (a + rng.integers(1, n, size=sample)) % n  # never a photo with itself
    median = float(np.median(np.einsum("ij,ij->i", vectors[a], vectors[b])))
    return median < threshold - MODEL_MARGIN, median


# -- grouping -----------------------------------------------------------------------------------


def _keeper_key(p: Photo) -> tuple:
    when = p.taken_at or time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(p.mtime))
    return (-p.pixels, when, -p.size, p.path)


def find_duplicates(catalog, model_id: str | None, threshold: float = DEFAULT_THRESHOLD,
                    hash_distance: int | None = None, use_embeddings: bool = True, use_hashes: bool = True,
                    should_stop: StopCheck | None = None, progress: ProgressCallback | None = None,
                    exact_limit: int = EXACT_LIMIT) -> DuplicateReport:
    """Group the library's duplicates: identical files always, photos whose perceptual hashes are
    at most `hash_distance` bits apart (default: `hash_distance_for(threshold)`), and photos whose
    embeddings (of `model_id`) have a cosine of at least `threshold`."""
    started = time.monotonic()
    should_stop = should_stop or (lambda: False)
    progress = progress or (lambda step, done, total: None)
    if hash_distance is None:
        hash_distance = hash_distance_for(threshold)
    report = DuplicateReport(threshold=threshold, hash_distance=hash_distance if use_hashes else -1)
    rows = catalog.duplicate_candidates()
    n = len(rows)
    report.photos = n
    if n < 2:
        report.seconds = time.monotonic() - started
        return report
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    position = {int(i): k for k, i in enumerate(ids)}
    union = _UnionFind(n)
    links: dict[tuple[int, int], float] = {}  # (i, j) -> similarity, i < j

    def link(i: int, j: int, similarity: float) -> None:
        key = (i, j) if i < j else (j, i)
        if similarity > links.get(key, -2.0):
            links[key] = similarity
        union.union(i, j)

    # 1. the same content
    by_fingerprint: dict[str, list[int]] = {}
    for k, r in enumerate(rows):
        by_fingerprint.setdefault(r[2], []).append(k)
    identical_sets: list[set[int]] = []
    for members in by_fingerprint.values():
        if len(members) < 2:
            continue
        size = rows[members[0]][3]
        if size > scanner._HEAD + scanner._TAIL:  # the fingerprint skipped the middle: check it all
            by_hash: dict[str, list[int]] = {}
            for k in members:
                full = _full_hash(rows[k][1])
                if full is not None:
                    by_hash.setdefault(full, []).append(k)
            parts = [m for m in by_hash.values() if len(m) > 1]
        else:
            parts = [members]
        for part in parts:
            identical_sets.append(set(part))
            for k in part[1:]:
                link(part[0], k, 1.0)
    progress("identical", 1, 1)

    # 2. perceptual hashes
    if use_hashes and hash_distance >= 0 and not should_stop():
        hashed = [(k, r[8]) for k, r in enumerate(rows) if r[8] is not None]
        if len(hashed) > 1:
            values = np.array([h for _, h in hashed], dtype=np.int64)
            unique, inverse = np.unique(values, return_inverse=True)
            first_of: dict[int, int] = {}
            for (k, _), u in zip(hashed, inverse.tolist()):
                if u in first_of:  # the same hash: a zero-distance pair
                    link(first_of[u], k, 1.0)
                else:
                    first_of[u] = k
            a, b = hash_pairs(unique, hash_distance)
            for ua, ub in zip(a.tolist(), b.tolist()):
                bits = hamming(int(unique[ua]), int(unique[ub]))
                link(first_of[ua], first_of[ub], 1.0 - bits / 64)
        progress("hashes", 1, 1)

    # 3. embeddings
    vectors_by_row: dict[int, np.ndarray] = {}
    if use_embeddings and model_id and not should_stop():
        vec_ids, vectors = catalog.vectors(model_id)
        if len(vec_ids) > 1:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms > 0, norms, 1)
            usable, median = model_separates(vectors, threshold)
            if usable:
                report.embeddings_used = True
                rows_of = np.array([position.get(int(i), -1) for i in vec_ids], dtype=np.int64)
                a, b, sims = embedding_pairs(vectors, threshold, should_stop,
                                             lambda done, total: progress("embeddings", done, total), exact_limit)
                for i, j, s in zip(rows_of[a].tolist(), rows_of[b].tolist(), sims.tolist()):
                    if i >= 0 and j >= 0:
                        link(i, j, min(1.0, s))
                vectors_by_row = {int(r): vectors[k] for k, r in enumerate(rows_of.tolist()) if r >= 0}
            else:
                report.note = (f"Similar-looking photos were found by their image hash only: this model's "
                               f"embeddings do not tell photos apart (random pairs are {median:.2f} similar), "
                               f"so a similarity threshold of {threshold:g} would group unrelated photos.")
    elif use_embeddings and not model_id:
        report.note = "No model is loaded: only identical files and image hashes were compared."
    report.cancelled = should_stop()

    # groups
    components: dict[int, list[int]] = {}
    for i, j in links:
        for k in (i, j):
            components.setdefault(union.find(k), [])
    for k in range(n):
        root = union.find(k)
        if root in components:
            components[root].append(k)
    identical_of: dict[int, set[int]] = {}
    for members in identical_sets:
        for k in members:
            identical_of[k] = members
    groups: list[DuplicateGroup] = []
    for members in components.values():
        if len(members) < 2:
            continue
        photos = {k: Photo(int(rows[k][0]), rows[k][1], rows[k][3], rows[k][5], rows[k][6], rows[k][7], rows[k][4])
                  for k in members}
        order = sorted(members, key=lambda k: _keeper_key(photos[k]))
        keeper = order[0]
        same = identical_of.get(keeper, {keeper})
        ordered = [replace(photos[k], identical=k in same) for k in order]
        similarity = 1.0
        for k in order[1:]:
            if k in same:
                continue
            if keeper in vectors_by_row and k in vectors_by_row:
                s = float(vectors_by_row[keeper] @ vectors_by_row[k])
            elif rows[keeper][8] is not None and rows[k][8] is not None:
                s = 1.0 - hamming(rows[keeper][8], rows[k][8]) / 64
            else:
                s = links.get((min(keeper, k), max(keeper, k)), 0.0)
            similarity = min(similarity, s)
        groups.append(DuplicateGroup(ordered, exact=len(same) == len(members), similarity=similarity))
    groups.sort(key=lambda g: (-len(g.photos), not g.exact, -g.similarity, g.keeper.path))
    report.groups = groups
    report.seconds = time.monotonic() - started
    return report



# -- filling in hashes for photos indexed before they existed -----------------------------------


def backfill_hashes(catalog, thumbs_dir, thumb_size: int = 320, max_pixels: int = 150_000_000,
                    should_stop: StopCheck | None = None, progress: Callable[[int, int, str], None] | None = None,
                    batch: int = 256) -> int:
    """Hash the photos that have no perceptual hash yet, from their cached thumbnails (or the
    file when the thumbnail is gone). Returns how many were hashed."""
    from . import imaging

    should_stop = should_stop or (lambda: False)
    progress = progress or (lambda done, total, path: None)
    missing = catalog.hashes_missing()
    total, done, pending = len(missing), 0, []
    for fingerprint, path in missing:
        if should_stop():
            break
        value = None
        try:
            thumb = imaging.thumbnail_path(thumbs_dir, fingerprint)
            if thumb.exists():
                with Image.open(thumb) as im:
                    im.draft("L", (64, 64))
                    value = perceptual_hash(im)
            else:
                value = perceptual_hash(imaging.decode(path, min_side=64, thumb_size=thumb_size,
                                                       max_pixels=max_pixels).image)
        except Exception as e:  # noqa: BLE001 - a photo that cannot be read again gets no hash
            log.info("cannot hash %s: %s", path, e)
        pending.append((fingerprint, value))
        done += 1
        if len(pending) >= batch:
            with catalog.transaction(bump=False) as db:
                catalog.put_hashes(db, pending)
            pending = []
        progress(done, total, path)
    if pending:
        with catalog.transaction(bump=False) as db:
            catalog.put_hashes(db, pending)
    return done


__all__ = ["find_duplicates", "DuplicateReport", "DuplicateGroup", "Photo", "perceptual_hash", "hamming",
           "hash_pairs", "embedding_pairs", "model_separates", "backfill_hashes", "DEFAULT_THRESHOLD",
           "DEFAULT_HASH_DISTANCE", "hash_distance_for"]
