"""Duplicates and near-duplicates: groups of photos that are the same picture.

Three signals, each named in the result, from the strongest:

1. **Identical** (`IDENTICAL`). Photos with the same content fingerprint; for files larger than
   what the fingerprint reads (see app/core/fingerprint.py) a full hash confirms it.
2. **Near copy** (`NEAR_COPY`). A 64-bit DCT hash (pHash) of the decoded picture, computed during
   indexing from the one decode (and from the thumbnail for photos indexed before), at most
   `hash_distance` bits apart. Resized, recompressed, re-coloured or very slightly cropped copies
   stay within a few bits; it needs no model. See `MAX_HASH_DISTANCE` for what was measured.
3. **Looks alike** (`LOOKS_ALIKE`). CLIP embeddings with a cosine of at least `threshold`: this
   also catches crops, small rotations and mirror images, which change the hash completely, but
   two photos of one scene can look alike too, so look-alikes are offered, never pre-selected for
   the trash. Used only when the library shows that this model tells its photos apart (see
   `model_separates`); otherwise the report says so and the other two signals decide.

Groups use complete linkage: a photo joins a group only if it matches *every* member by one of
the signals, so a chain of pairs (A like B, B like C) never puts A with C unless they match too.
The knob is bounded (`MIN_THRESHOLD`, `MAX_HASH_DISTANCE`) to values that mean "the same picture",
so no allowed setting groups photos that are unlike each other.

Fast on large libraries: hashes are compared with FAISS's binary index (Hamming range search),
embeddings with an exact blocked matrix product up to `EXACT_LIMIT` photos and an inverted-file
index (k-means cells, `range_search` over the nearest cells) above it. Each group suggests a
keeper: the largest resolution, then the oldest (capture date, else file date), then the biggest
file. Photos of offline folders (an unplugged drive) are left out: their files cannot be reached,
so one could neither be opened as the keeper nor be trashed.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import combinations

import numpy as np
from PIL import Image

from ..fingerprint import HEAD, TAIL
from ..ingest.phash import hamming, perceptual_hash

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.95  # cosine of CLIP embeddings (near-duplicate tools use 0.9-0.96 for CLIP)
MIN_THRESHOLD = 0.90  # the loosest allowed: below it, photos of one scene look alike to CLIP
MAX_HASH_DISTANCE = 6  # bits. Measured on devdata + 24 shapes (567 hashed photos, 160k unrelated
# pairs): resized, recompressed, re-coloured copies and the 11 encodings / EXIF orientations of one
# picture differ by <= 4 bits; crops keeping 97% of each side by <= 6 in 94% of cases (80 photos);
# the closest unrelated pair is 8 bits apart (two blue squares on different backgrounds), then 12,
# then 14. (Distances are even: every hash has 32 bits set.)
HASH_BITS_PER_UNIT = 120  # hash distance = (1 - threshold) * this, at most MAX_HASH_DISTANCE
EXACT_LIMIT = 4_000  # embeddings compared exactly (all pairs) up to this many photos
IVF_PROBES = 3  # cells searched per photo above EXACT_LIMIT (near-duplicates share a cell)
CHECK_MIN_PHOTOS = 10  # fewer cannot show whether the model tells photos apart: no look-alikes
CHECK_SAMPLE = 256  # photos whose look-alikes tell whether the model separates photos
CROWDED_SHARE = 0.10  # ... it does not when one photo in four looks like more than this share
CROWDED_MIN = 2  # ... (and more than this many photos) of the library at MIN_THRESHOLD
_EPS = 1e-6  # float32 slack on cosine comparisons

IDENTICAL, NEAR_COPY, LOOKS_ALIKE = "identical", "near copy", "looks alike"  # strongest first
SAME_PICTURE = (IDENTICAL, NEAR_COPY)  # pre-selected for the trash; a look-alike may be another shot
KEEPER = "keeper"
_STRENGTH = {IDENTICAL: 0, NEAR_COPY: 1, LOOKS_ALIKE: 2}


def hash_distance_for(threshold: float) -> int:
    """The perceptual-hash distance that goes with an embedding threshold: one knob for both
    (-1 at 1.0: identical files only)."""
    if threshold >= 1.0:
        return -1
    return max(0, min(MAX_HASH_DISTANCE, round((1.0 - threshold) * HASH_BITS_PER_UNIT)))


DEFAULT_HASH_DISTANCE = hash_distance_for(DEFAULT_THRESHOLD)


def check_settings(threshold: float, hash_distance: int | None = None) -> None:
    """Raise ValueError, with a message for the user, for a threshold or hash distance outside
    the range where they mean "the same picture"."""
    if not MIN_THRESHOLD - 1e-9 <= threshold <= 1.0:
        raise ValueError(
            f"the similarity threshold must be between {MIN_THRESHOLD:.2f} and 1.00 "
            "(lower values would group photos that are not copies of each other)"
        )
    if hash_distance is not None and not -1 <= hash_distance <= MAX_HASH_DISTANCE:
        raise ValueError(
            f"the image-hash distance must be between 0 and {MAX_HASH_DISTANCE} bits, or -1 "
            "for none (unrelated photos can be 8 bits apart)"
        )


StopCheck = Callable[[], bool]
ProgressCallback = Callable[[str, int, int], None]  # (step, done, total)


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
class Match:
    """Why two photos are the same picture."""

    kind: str  # IDENTICAL, NEAR_COPY or LOOKS_ALIKE
    similarity: float  # identical: 1.0; near copy: 1 - differing hash bits / 64; looks alike: cosine


@dataclass(frozen=True)
class Photo:
    id: int
    path: str
    size: int
    width: int | None
    height: int | None
    taken_at: str | None
    mtime: float
    kind: str = KEEPER  # how it matches the group's suggested keeper (KEEPER for the keeper)

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    @property
    def identical(self) -> bool:
        """The same bytes as the suggested keeper."""
        return self.kind == IDENTICAL

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "path": self.path,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "taken_at": self.taken_at,
            "kind": self.kind,
            "identical": self.identical,
        }


@dataclass
class DuplicateGroup:
    photos: list[Photo]  # the keeper first, then identical copies, near copies, look-alikes
    matches: dict[tuple[int, int], Match]  # every two members (complete linkage), by ids, smaller first

    @property
    def keeper(self) -> Photo:
        return self.photos[0]

    @property
    def others(self) -> list[Photo]:
        return self.photos[1:]

    def match(self, a: Photo, b: Photo) -> Match:
        """How two members match (whichever is kept)."""
        return self.matches[(a.id, b.id) if a.id < b.id else (b.id, a.id)]

    @property
    def kind(self) -> str:
        """The weakest way another photo matches the keeper."""
        return max((p.kind for p in self.others), key=_STRENGTH.__getitem__)

    @property
    def exact(self) -> bool:
        """Every photo has the same bytes."""
        return self.kind == IDENTICAL

    @property
    def similarity(self) -> float:
        """The lowest similarity to the keeper among the photos of the group's kind."""
        return min(self.match(self.keeper, p).similarity for p in self.others if p.kind == self.kind)

    def as_dict(self) -> dict:
        return {
            "keeper": self.keeper.path,
            "paths": [p.path for p in self.photos],
            "kind": self.kind,
            "exact": self.exact,
            "similarity": round(self.similarity, 4),
            "photos": [p.as_dict() for p in self.photos],
        }


@dataclass
class DuplicateReport:
    groups: list[DuplicateGroup] = field(default_factory=list)
    threshold: float | None = DEFAULT_THRESHOLD
    hash_distance: int = DEFAULT_HASH_DISTANCE
    photos: int = 0
    embeddings_used: bool = False
    note: str = ""  # why a signal was not used, for the user
    offline_folders: int = 0  # folders whose photos were left out: out of reach, they cannot be kept or trashed
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def redundant(self) -> int:
        """Photos that could go (every photo of every group but its keeper)."""
        return sum(len(g.photos) - 1 for g in self.groups)

    def as_dict(self) -> dict:
        return {
            "threshold": self.threshold,
            "hash_distance": self.hash_distance,
            "photos": self.photos,
            "embeddings_used": self.embeddings_used,
            "note": self.note,
            "offline_folders": self.offline_folders,
            "seconds": round(self.seconds, 3),
            "groups": [g.as_dict() for g in self.groups],
        }


# -- finding pairs ------------------------------------------------------------------------------


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


def embedding_pairs(
    vectors: np.ndarray,
    threshold: float,
    should_stop: StopCheck | None = None,
    progress: Callable[[int, int], None] | None = None,
    exact_limit: int = EXACT_LIMIT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (i < j) of unit vectors with cosine >= threshold, and their cosines.

    Exact (blocked matrix products) up to `exact_limit` vectors. Above it an inverted-file index:
    k-means cells (about sqrt(n) of them, trained on a sample) and a range search over each
    vector's IVF_PROBES nearest cells; a near-duplicate lies next to its twin, so in the same or a
    neighbouring cell (measured recall of planted near-duplicates at 100k: 99.8% with 2 probes,
    100% with 4)."""
    should_stop = should_stop or (lambda: False)
    progress = progress or (lambda done, total: None)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = vectors.shape[0] if vectors.ndim == 2 else 0
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
    if n < 2:
        return empty
    if n <= exact_limit:
        rows_out, cols_out, sims_out = _exact_pairs(vectors, threshold, 1024, should_stop, progress)
    else:
        rows_out, cols_out, sims_out = _cell_pairs(vectors, threshold, 8192, should_stop, progress)
    if not rows_out:
        return empty
    return (
        np.concatenate(rows_out).astype(np.int64),
        np.concatenate(cols_out).astype(np.int64),
        np.concatenate(sims_out).astype(np.float32),
    )


_Parts = tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]


def _exact_pairs(
    vectors: np.ndarray, threshold: float, block: int, should_stop: StopCheck, progress: Callable[[int, int], None]
) -> _Parts:
    """embedding_pairs' exact pass: the upper triangle of the cosine matrix, a block of rows at a time."""
    n = len(vectors)
    rows_out, cols_out, sims_out = [], [], []
    for start in range(0, n, block):
        if should_stop():
            break
        sims = vectors[start : start + block] @ vectors[start:].T
        r, c = np.nonzero(sims >= threshold)
        keep = start + r < start + c  # upper triangle (c is relative to `start`)
        rows_out.append(start + r[keep])
        cols_out.append(start + c[keep])
        sims_out.append(sims[r[keep], c[keep]])
        progress(min(n, start + block), n)
    return rows_out, cols_out, sims_out


def _cell_pairs(
    vectors: np.ndarray, threshold: float, block: int, should_stop: StopCheck, progress: Callable[[int, int], None]
) -> _Parts:
    """embedding_pairs' pass over a large library: a range search in an inverted-file index."""
    import faiss

    n, dim = vectors.shape
    nlist = max(1, int(math.sqrt(n)))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    sample = vectors[rng.choice(n, size=min(n, nlist * 50), replace=False)]
    index.cp.niter = 10
    index.train(sample)
    index.add(vectors)
    index.nprobe = min(nlist, IVF_PROBES)
    rows_out, cols_out, sims_out = [], [], []
    for start in range(0, n, block):
        if should_stop():
            break
        lims, sims, found = index.range_search(vectors[start : start + block], float(threshold) - 1e-6)
        rows = start + np.repeat(np.arange(len(lims) - 1, dtype=np.int64), np.diff(lims).astype(np.int64))
        keep = rows < found
        rows_out.append(rows[keep])
        cols_out.append(found[keep].astype(np.int64))
        sims_out.append(sims[keep])
        progress(min(n, start + block), n)
    return rows_out, cols_out, sims_out


def model_separates(vectors: np.ndarray, sample: int = CHECK_SAMPLE) -> tuple[bool, float]:
    """(usable, share): whether these unit embeddings tell the library's photos apart.

    `share`: the share of the library that looks alike (cosine >= MIN_THRESHOLD) to one sampled
    photo in four (the 75th percentile). A model that tells photos apart finds a photo's copies
    only; one that does not makes a photo look like much of the library, or at least of its own
    kind of picture, whatever the mix (a median over random pairs, which a mix of kinds pulls
    down, would miss it). Measured at the loosest allowed threshold, so that a model that fails
    is not used at any threshold."""
    n = len(vectors)
    if n < 2:
        return True, 0.0
    picked = np.random.default_rng(1).choice(n, size=min(n, sample), replace=False)
    counts = np.concatenate(
        [
            (vectors[picked[s : s + 64]] @ vectors.T >= MIN_THRESHOLD - _EPS).sum(axis=1) - 1
            for s in range(0, len(picked), 64)
        ]
    )  # - 1: not the photo itself
    lookalikes = float(np.percentile(counts, 75))
    return lookalikes <= max(CROWDED_MIN, CROWDED_SHARE * (n - 1)), lookalikes / (n - 1)


# -- the signals, pair by pair -----------------------------------------------------------------


@dataclass
class _Signals:
    """What the library knows of each photo (by catalog row), and how two photos match."""

    content: list[str]  # equal for files with the same bytes
    hashes: list[int | None]
    hash_distance: int  # -1: hashes not compared
    vectors: np.ndarray | None = None  # unit embeddings by row (zeros where none), when trusted
    threshold: float = 1.0

    def match(self, i: int, j: int) -> Match | None:
        if self.content[i] == self.content[j]:
            return Match(IDENTICAL, 1.0)
        a, b = self.hashes[i], self.hashes[j]
        if self.hash_distance >= 0 and a is not None and b is not None:
            bits = hamming(a, b)
            if bits <= self.hash_distance:
                return Match(NEAR_COPY, 1.0 - bits / 64)
        if self.vectors is not None:
            cosine = float(self.vectors[i] @ self.vectors[j])
            if cosine >= self.threshold - _EPS:
                return Match(LOOKS_ALIKE, min(1.0, cosine))
        return None


def _content_keys(rows: list[tuple]) -> list[str]:
    """A key per row, equal for files with the same bytes: the content fingerprint, confirmed by a
    full hash where the fingerprint skipped the middle of the file."""
    keys = [r[2] for r in rows]
    by_fingerprint: dict[str, list[int]] = {}
    for k, fingerprint in enumerate(keys):
        by_fingerprint.setdefault(fingerprint, []).append(k)
    for members in by_fingerprint.values():
        if len(members) > 1 and rows[members[0]][3] > HEAD + TAIL:
            for k in members:
                keys[k] += f":{_full_hash(rows[k][1]) or f'unread {k}'}"
    return keys


def _identical_pairs(keys: list[str]) -> list[tuple[int, int]]:
    first: dict[str, int] = {}
    pairs = []
    for k, key in enumerate(keys):
        if key in first:
            pairs.append((first[key], k))
        else:
            first[key] = k
    return pairs


def _hash_pairs(hashes: list[int | None], max_distance: int) -> list[tuple[int, int]]:
    """Pairs of rows whose hashes are at most `max_distance` bits apart, closest first (a photo
    with the same hash as another is paired with the first of them)."""
    hashed = [(k, h) for k, h in enumerate(hashes) if h is not None]
    if len(hashed) < 2:
        return []
    unique, inverse = np.unique(np.array([h for _, h in hashed], dtype=np.int64), return_inverse=True)
    first: dict[int, int] = {}
    pairs: list[tuple[int, int, int]] = []  # (bits, i, j)
    for (k, _), u in zip(hashed, inverse.tolist()):
        if u in first:
            pairs.append((0, first[u], k))
        else:
            first[u] = k
    a, b = hash_pairs(unique, max_distance)
    pairs += [
        (hamming(int(unique[ua]), int(unique[ub])), first[ua], first[ub]) for ua, ub in zip(a.tolist(), b.tolist())
    ]
    return [(i, j) for _, i, j in sorted(pairs)]


def _trusted_vectors(catalog, model_id: str, n: int, position: dict[int, int]) -> tuple[np.ndarray | None, str]:
    """(unit embeddings by row, zeros where none) when this model tells the photos apart, else
    (None, why not for the user)."""
    vec_ids, vectors = catalog.vectors(model_id)
    rows = np.array([position.get(int(i), -1) for i in vec_ids], dtype=np.int64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True) if len(rows) else np.empty((0, 1))
    keep = (rows >= 0) & (norms[:, 0] > 0)
    vectors, rows = vectors[keep] / norms[keep], rows[keep]
    if len(rows) == 0:
        return None, ""  # nothing embedded (yet)
    if len(rows) < CHECK_MIN_PHOTOS:
        return None, (
            f"Similar-looking photos were compared by their image hash only: look-alikes need "
            f"{CHECK_MIN_PHOTOS} photos or more, to show whether this model tells photos apart."
        )
    usable, share = model_separates(vectors)
    if not usable:
        return None, (
            f"Similar-looking photos were compared by their image hash only: this model's embeddings "
            f"do not tell photos apart (one photo in four looks like {share:.0%} of the library), "
            "so look-alikes are not offered."
        )
    by_row = np.zeros((n, vectors.shape[1]), dtype=np.float32)
    by_row[rows] = vectors
    return by_row, ""


def _embedding_pairs(
    vectors: np.ndarray, threshold: float, should_stop: StopCheck, progress: ProgressCallback, exact_limit: int
) -> list[tuple[int, int]]:
    """Pairs of rows that look alike, most alike first (rows without an embedding are zeros)."""
    a, b, sims = embedding_pairs(
        vectors, threshold, should_stop, lambda done, total: progress("embeddings", done, total), exact_limit
    )
    order = np.argsort(-sims, kind="stable")
    return list(zip(a[order].tolist(), b[order].tolist()))


# -- grouping -----------------------------------------------------------------------------------


def _complete_linkage(
    n: int, pairs: Iterable[tuple[int, int]], match: Callable[[int, int], Match | None], should_stop: StopCheck
) -> list[list[int]]:
    """Clusters of rows in which every two match. Candidate pairs, strongest first, merge two
    clusters only when every row of one matches every row of the other: a chain A~B~C joins A and
    C only if A~C too."""
    cluster = list(range(n))
    members: dict[int, list[int]] = {}
    for step, (i, j) in enumerate(pairs):
        if step % 4096 == 0 and should_stop():
            break
        a, b = cluster[i], cluster[j]
        if a == b:
            continue
        left, right = members.get(a, [i]), members.get(b, [j])
        if not all(match(x, y) for x in left for y in right):
            continue
        if len(left) < len(right):
            a, b, left, right = b, a, right, left
        left.extend(right)
        members[a] = left
        members.pop(b, None)
        for k in right:
            cluster[k] = a
    return list(members.values())


def _keeper_key(p: Photo) -> tuple:
    when = p.taken_at or time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(p.mtime))
    return (-p.pixels, when, -p.size, p.path)


def _group(members: list[int], photos: list[Photo], match: Callable[[int, int], Match | None]) -> DuplicateGroup:
    """The group of these rows: the keeper first, then the others by how they match it."""
    keeper = min(members, key=lambda k: _keeper_key(photos[k]))
    matches = {}
    for x, y in combinations(members, 2):
        ids = sorted((photos[x].id, photos[y].id))
        matches[(ids[0], ids[1])] = match(x, y)
    others = [replace(photos[k], kind=match(keeper, k).kind) for k in members if k != keeper]
    others.sort(key=lambda p: (_STRENGTH[p.kind], _keeper_key(p)))
    return DuplicateGroup([photos[keeper]] + others, matches)


def _photo(row: tuple) -> Photo:
    return Photo(int(row[0]), row[1], row[3], row[5], row[6], row[7], row[4])


def find_duplicates(
    catalog,
    model_id: str | None,
    threshold: float = DEFAULT_THRESHOLD,
    hash_distance: int | None = None,
    use_embeddings: bool = True,
    use_hashes: bool = True,
    should_stop: StopCheck | None = None,
    progress: ProgressCallback | None = None,
    exact_limit: int = EXACT_LIMIT,
) -> DuplicateReport:
    """Group the library's duplicates: identical files always, photos whose perceptual hashes are
    at most `hash_distance` bits apart (default: `hash_distance_for(threshold)`), and photos whose
    embeddings (of `model_id`) have a cosine of at least `threshold`, when the model tells photos
    apart. Raises ValueError for settings outside the allowed range (`check_settings`)."""
    started = time.monotonic()
    should_stop = should_stop or (lambda: False)
    progress = progress or (lambda step, done, total: None)
    hash_distance = hash_distance_for(threshold) if hash_distance is None else hash_distance
    check_settings(threshold, hash_distance)
    if not use_hashes:
        hash_distance = -1
    offline = catalog.offline_folders()  # their files are out of reach: never a keeper, never trashed
    rows = catalog.duplicate_candidates(leave_out_folders=offline)
    report = DuplicateReport(
        threshold=threshold, hash_distance=hash_distance, photos=len(rows), offline_folders=len(offline)
    )
    signals = _Signals(_content_keys(rows), [r[8] for r in rows], hash_distance, threshold=threshold)
    pairs = _identical_pairs(signals.content)
    progress("identical", 1, 1)
    if hash_distance >= 0 and not should_stop():
        pairs += _hash_pairs(signals.hashes, hash_distance)
        progress("hashes", 1, 1)
    if use_embeddings and threshold < 1.0 and not should_stop():
        if model_id:
            signals.vectors, report.note = _trusted_vectors(
                catalog, model_id, len(rows), {int(r[0]): k for k, r in enumerate(rows)}
            )
        else:
            report.note = "No model is loaded: only identical files and image hashes were compared."
        if signals.vectors is not None:
            report.embeddings_used = True
            pairs += _embedding_pairs(signals.vectors, threshold, should_stop, progress, exact_limit)
    clusters = _complete_linkage(len(rows), pairs, signals.match, should_stop)
    photos = [_photo(r) for r in rows]
    groups = [_group(members, photos, signals.match) for members in clusters]
    groups.sort(key=lambda g: (_STRENGTH[g.kind], -len(g.photos), -g.similarity, g.keeper.path))
    report.groups = groups
    report.cancelled = should_stop()
    report.seconds = time.monotonic() - started
    return report


# -- filling in hashes for photos indexed before they existed -----------------------------------


def backfill_hashes(
    catalog,
    thumbs_dir,
    thumb_size: int = 320,
    max_pixels: int = 150_000_000,
    should_stop: StopCheck | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    batch: int = 256,
) -> int:
    """Hash the photos that have no perceptual hash yet, from their cached thumbnails (or the
    file when the thumbnail is gone). Returns how many were hashed."""
    from ..ingest import imaging

    should_stop = should_stop or (lambda: False)
    progress = progress or (lambda done, total, path: None)
    missing = catalog.hashes_missing()
    total, done, pending = len(missing), 0, []
    for fingerprint, path in missing:
        if should_stop():
            break
        value = None
        # Nested 4 deep: a photo's thumbnail opened inside its own try (one bad file must not stop the pass).
        try:
            thumb = imaging.thumbnail_path(thumbs_dir, fingerprint)
            if thumb.exists():
                with Image.open(thumb) as im:
                    im.draft("L", (64, 64))
                    value = perceptual_hash(im)
            else:
                value = perceptual_hash(
                    imaging.decode(path, min_side=64, thumb_size=thumb_size, max_pixels=max_pixels).image
                )
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


__all__ = [
    "find_duplicates",
    "DuplicateReport",
    "DuplicateGroup",
    "Photo",
    "Match",
    "perceptual_hash",
    "hamming",
    "hash_pairs",
    "embedding_pairs",
    "model_separates",
    "backfill_hashes",
    "check_settings",
    "hash_distance_for",
    "DEFAULT_THRESHOLD",
    "DEFAULT_HASH_DISTANCE",
    "MIN_THRESHOLD",
    "MAX_HASH_DISTANCE",
    "IDENTICAL",
    "NEAR_COPY",
    "LOOKS_ALIKE",
    "SAME_PICTURE",
    "KEEPER",
]
