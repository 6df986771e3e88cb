"""The indexing pipeline: scan -> decode (thread pool) -> embed (batches) -> write (one writer).

Work in flight is bounded, so memory stays flat on any library size. Each batch of photos is
committed in one transaction together with its embeddings: killing the process loses at most the
batch in flight, and the next run picks up exactly what is missing.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import process_tuning
from ..config import Settings
from ..model.embedder import Embedder
from ..names import from_db, to_db
from ..store.catalog import OK, SKIPPED, Catalog, FileRecord
from . import imaging, phash, scanner
from .pixel_budget import PixelBudget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    done: int  # photos committed (embedded or skipped)
    total: int
    rate: float  # photos per second over this run
    current: str  # the file just read
    phase: str = "indexing"  # "scanning" (done: photos found so far), "indexing", or "adding" (no model)

    @property
    def eta_s(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate > 0 else None


class SmoothEta:
    """The rate and the time left shown while indexing, calm and in agreement: the rate is
    smoothed (raw rates jump with a slow batch or a fast one) and may change at most 2x in a
    second, and the time left is always what is left divided by that rate. So the estimate falls
    at once as work gets done ("23/s" with 30 left says 1 s, not the 29 s a smoothed estimate
    still held after a slow start), and never jumps up (25 s -> 53 s in half a second) on one
    slow batch. A new phase (or total) starts afresh. Pure: `now` is given."""

    TAU_S = 1.5  # how long a new rate takes to win (about two thirds of the way)
    STALE_S = 10.0  # no news for this long (paused, another run): start afresh

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._rate = 0.0
        self._left: float | None = None
        self._at = 0.0

    def update(self, phase: str, total: int, done: int, rate: float, now: float) -> tuple[float, float | None]:
        """The (rate, seconds left) to show for a progress of `done` of `total` at `rate`/s."""
        key = (phase, total)
        if key != self._key or self._rate <= 0 or now - self._at > self.STALE_S:
            self._key, self._rate, self._at = key, max(0.0, rate), now
        elif rate > 0:
            dt = max(0.0, now - self._at)
            pulled = self._rate + (rate - self._rate) * (1 - math.exp(-dt / self.TAU_S))
            bound = 2.0 ** min(1.0, dt)
            self._rate, self._at = min(self._rate * bound, max(self._rate / bound, pulled)), now
        self._left = max(0, total - done) / self._rate if self._rate > 0 else None
        return self._rate, self._left


@dataclass
class IndexReport:
    new: int = 0
    changed: int = 0
    moved: int = 0
    copied: int = 0
    removed: int = 0
    touched: int = 0  # same content, new modification time
    unchanged: int = 0
    embedded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason), this run
    unavailable_folders: list[str] = field(default_factory=list)  # offline now: their photos are kept
    # (old root, new root, photos of it found there): an offline folder whose photos turned up in
    # another library folder, most likely moved there (Library.moved_folder_candidates)
    moved_folders: list[tuple[str, str, int]] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    ocr: int = 0  # photos whose text was read (app.core.ingest.ocr), this run
    ocr_error: str = ""  # why text could not be read, if it could not
    redated: int = 0  # photos catalogued before dates were read beyond EXIF that have one now
    model_loaded: bool = False  # the model was in memory for this run (a rescan that finds nothing new loads none)

    @property
    def only_added(self) -> bool:
        """Photos were only added: every photo known before is as it was."""
        return not (self.changed or self.moved or self.removed or self.touched or self.redated)

    def as_dict(self) -> dict:
        return {
            "new": self.new,
            "changed": self.changed,
            "moved": self.moved,
            "copied": self.copied,
            "removed": self.removed,
            "touched": self.touched,
            "unchanged": self.unchanged,
            "embedded": self.embedded,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "unavailable_folders": self.unavailable_folders,
            "moved_folders": [{"old": o, "new": n, "photos": k} for o, n, k in self.moved_folders],
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 3),
            "ocr": self.ocr,
            "model_loaded": self.model_loaded,
            **({"ocr_error": self.ocr_error} if self.ocr_error else {}),
        }


class Control:
    """Pause, resume and cancel a running job from another thread."""

    def __init__(self) -> None:
        self._cancel = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def cancel(self) -> None:
        self._cancel.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def checkpoint(self) -> bool:
        """Block while paused; True when the job should stop."""
        self._running.wait()
        return self._cancel.is_set()


@dataclass
class _Decoded:
    disk: scanner.DiskFile
    fingerprint: str
    record: FileRecord | None  # None: the file could not be read, nothing to write
    tensor: object | None  # torch tensor ready for the model, None when skipped
    phash: int | None = None  # perceptual hash (phash.py), None when skipped or flat
    unreadable: str | None = None  # why the file could not be read (record None), for the report


def _file_error(e: Exception) -> bool:
    """Whether a failed catalog write is about one file's data (a name SQLite cannot take, a value
    out of range), not about the database or the disk (full, locked, damaged: those stop the run)."""
    if isinstance(e, MemoryError):
        return False
    return not isinstance(e, sqlite3.DatabaseError) or isinstance(e, (sqlite3.IntegrityError, sqlite3.DataError))


VectorsSink = Callable[[np.ndarray, np.ndarray], None]  # (file ids, vectors) now searchable
RemovedSink = Callable[[list[int]], None]


def batch_sizes(total: int, batch_size: int, lanes: int = 1, first: int | None = None) -> list[int]:
    """How `total` photos are cut into batches: `first` photos alone when the model wants them so
    (`Embedder.first_batch`), then full batches, then the last round in small even batches, so that
    the lanes finish together instead of one embedding a last batch while the others wait."""
    sizes = [min(first, total)] if first and total else []
    left = total - sum(sizes)
    while left > lanes * batch_size:
        sizes.append(batch_size)
        left -= batch_size
    if left:
        pieces = math.ceil(left / (max(1, batch_size // 4) if lanes > 1 else batch_size))
        sizes += [left // pieces + (i < left % pieces) for i in range(pieces)]
    return sizes


class Indexer:
    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        embedder: Embedder | None,
        on_vectors: VectorsSink | None = None,
        on_removed: RemovedSink | None = None,
        load_model: Callable[[], Embedder | None] | None = None,
        model_id: str | None = None,
    ):
        """With `embedder` None, photos are still catalogued and thumbnailed (browsing works without a
        model); they are embedded by a later run that has one. With `load_model` (and the `model_id`
        it will load), the model is loaded only once the scan finds photos to embed: a rescan that
        finds nothing new, or only renames, copies, touches and removals, never loads it."""
        self.catalog = catalog
        self.settings = settings
        self.embedder = embedder
        self.load_model = load_model
        self.model_id = embedder.model_id if embedder is not None else model_id
        self._catalogued: set[str] = set()  # fingerprints the catalog knows (see `_without_model`)
        self.on_vectors = on_vectors or (lambda ids, vecs: None)
        self.on_removed = on_removed or (lambda ids: None)
        self.pixel_budget = PixelBudget(settings.decode_pixels)  # shared by the decode threads

    # -- scan --------------------------------------------------------------------------------

    def _scan(
        self, folders: dict[int, Path], report: IndexReport, found: Callable[[int], None] = lambda n: None
    ) -> scanner.ScanPlan:
        exts = scanner.supported_extensions()
        known_in: dict[int, list[FileRecord]] = {}
        for r in self.catalog.files(f"WHERE folder_id IN ({','.join('?' * len(folders))})", list(folders)):
            known_in.setdefault(r.folder_id, []).append(r)
        disk: list[scanner.DiskFile] = []
        reachable: list[int] = []
        unlistable: dict[str, str] = {}  # folder -> why
        offline = self.catalog.offline_folders()  # as the last check left them
        away = [fid for fid in offline if fid not in folders]
        elsewhere = self.catalog.files(f"WHERE folder_id IN ({','.join('?' * len(away))})", away) if away else []
        for folder_id, root in folders.items():
            if self._unavailable(folder_id, root, bool(known_in.get(folder_id)), folder_id in offline, report):
                elsewhere += known_in.get(folder_id, ())
                continue
            reachable.append(folder_id)
            for f in scanner.walk(root, exts, folder_id, unlistable, skip=self.settings.data_dir):
                disk.append(f)
                if len(disk) % 200 == 0:  # "1,234 found" while a big folder is listed
                    found(len(disk))
        found(len(disk))
        # Photos in a subfolder that cannot be listed are out of reach, not gone: the plan never sees them.
        out_of_reach = tuple(os.path.join(d, "") for d in unlistable)
        known = [r for fid in reachable for r in known_in.get(fid, ()) if not r.path.startswith(out_of_reach)]
        report.skipped += [
            (d, f"this folder cannot be listed ({why}); its photos are kept") for d, why in unlistable.items()
        ]
        # A photo in two nested library folders belongs to the innermost one only.
        by_path: dict[str, scanner.DiskFile] = {}
        depth = {fid: len(folders[fid].parts) for fid in reachable}
        for f in disk:
            old = by_path.get(f.path)
            if old is None or depth[f.folder_id] > depth[old.folder_id]:
                by_path[f.path] = f
        self._catalogued = {r.fingerprint for r in (*known, *elsewhere)}
        embedded = self.catalog.embedded_fingerprints(self.model_id) if self.model_id else self._catalogued
        return scanner.plan(
            list(by_path.values()), known, embedded, workers=max(1, self.settings.decode_threads), elsewhere=elsewhere
        )

    def _unavailable(
        self, folder_id: int, root: Path, has_photos: bool, was_offline: bool, report: IndexReport
    ) -> bool:
        """True (said in the report, and the folder marked offline in the catalog) when a library
        folder can't be trusted to list its photos; remembers whether it is a mount point, to
        recognise one with its drive unplugged."""
        key = "mount_point:" + os.fsencode(root).decode("utf-8", "backslashreplace")  # any name the OS gives
        was_mount = self.catalog.get_setting(key) == "1"
        why = scanner.unavailable_reason(root, has_photos, was_mount)
        if why is not None or was_offline:  # (no write for a folder that stays online)
            self.catalog.set_offline(folder_id, why)
        if why is not None:
            log.warning("library folder %s is %s: its photos are kept", root, why)
            report.unavailable_folders.append(str(root))
            return True
        if os.path.ismount(root) != was_mount:
            self.catalog.set_setting(key, "1" if not was_mount else "0")
        return False

    def _apply(self, plan: scanner.ScanPlan) -> None:
        """Record renames, copies, touches and deletions: none of them needs a decode."""
        if not (plan.removed or plan.moved or plan.touched or plan.copied):
            return  # no write: the generation, and so the saved index, stay valid
        with self.catalog.transaction() as db:
            self.catalog.delete_files(db, [r.id for r in plan.removed])
            for old, f in plan.moved:
                db.execute(
                    "UPDATE files SET path = ?, folder_id = ?, mtime = ? WHERE id = ?",
                    (to_db(f.path), f.folder_id, f.mtime, old.id),
                )
            for old, f in plan.touched:
                db.execute("UPDATE files SET mtime = ?, size = ? WHERE id = ?", (f.mtime, f.size, old.id))
            self.catalog.put_files(
                db,
                [
                    FileRecord(
                        None,
                        f.path,
                        twin.fingerprint,
                        f.size,
                        f.mtime,
                        twin.status,
                        twin.skip_reason,
                        twin.width,
                        twin.height,
                        twin.taken_at,
                        twin.format,
                        f.folder_id,
                        twin.taken_from,
                    )
                    for twin, f in plan.copied
                ],
            )
        if plan.removed:
            self.on_removed([r.id for r in plan.removed])
        if plan.copied and self.model_id is not None:
            model_id = self.model_id
            ids, vecs = [], []
            for _, f in plan.copied:
                row = self.catalog.file_by_path(f.path)
                vec = self.catalog.vector(row.id, model_id) if row else None
                if vec is not None:
                    ids.append(row.id)
                    vecs.append(vec)
            if ids:
                self.on_vectors(np.array(ids, dtype=np.int64), np.stack(vecs))

    def _model_for(self, plan: scanner.ScanPlan) -> None:
        """Load the model when the plan has photos to decode; when it cannot be loaded (and
        `load_model` says so with None), photos already catalogued are left as they are."""
        if not plan.to_process or self.embedder is not None or self.load_model is None:
            return
        self.embedder = self.load_model()
        if self.embedder is None:  # browse-only: as a run without a model would have planned
            plan.to_process = [(f, fp) for f, fp in plan.to_process if fp is None or fp not in self._catalogued]

    # -- decode ------------------------------------------------------------------------------

    def prepare(self, f: scanner.DiskFile, fp: str | None) -> _Decoded:
        """Fingerprint one photo if the scan left it to us, decode it, write its thumbnail and make its
        model input (runs on decode threads). A file that cannot be read at all gets no record (the
        next scan tries it again), as in the scan; one that fails later is recorded as skipped."""
        if fp is None:
            fp, why = scanner.readable_fingerprint(f)
            if fp is None:
                return _Decoded(f, "", None, None, unreadable=why)
        try:
            return self._decode(f, fp)
        except imaging.ImageError as e:
            reason = str(e)
        except Exception as e:  # a decoder bug must not stop the library: skip with the reason
            log.exception("unexpected error decoding %s", f.path)
            reason = f"cannot decode: {e}"
        return _Decoded(
            f, fp, FileRecord(None, f.path, fp, f.size, f.mtime, SKIPPED, reason, folder_id=f.folder_id), None
        )

    def _decode(self, f: scanner.DiskFile, fp: str) -> _Decoded:
        s = self.settings
        side = max(self.embedder.image_size if self.embedder else 0, s.thumb_size)
        d = imaging.decode(f.path, min_side=side, thumb_size=side, max_pixels=s.max_pixels, budget=self.pixel_budget)
        # One resampling feeds all three: the model's resize of the short side (the centre square
        # is its input), the thumbnail and the hash. Resampling was 40 % of this work.
        view = imaging.shrink_short_side(d.image, side)
        try:
            imaging.save_thumbnail(view, imaging.thumbnail_path(s.thumbs_dir, fp), s.thumb_size)
        except OSError as e:  # a cache: the window makes it again when it is missing
            log.warning("cannot write the thumbnail of %s: %s", f.path, e)
        tensor = None
        if self.embedder is not None:  # a model smaller than the thumbnails resamples from the decode
            tensor = self.embedder.prepare(view if side == self.embedder.image_size else d.image)
        record = FileRecord(
            None,
            f.path,
            fp,
            f.size,
            f.mtime,
            OK,
            None,
            d.width,
            d.height,
            d.taken_at,
            d.format,
            f.folder_id,
            d.taken_from,
        )
        return _Decoded(f, fp, record, tensor, phash.perceptual_hash(view))

    # -- write -------------------------------------------------------------------------------

    def _embed(self, batch: list[_Decoded]) -> np.ndarray | None:
        """The vectors of a batch's decoded photos (on an embedding lane)."""
        ok = [item.tensor for item in batch if item.tensor is not None]
        return self.embedder.embed_tensors(self.embedder.batch(ok)) if ok else None

    def _write(self, batch: list[_Decoded], vectors: np.ndarray | None, report: IndexReport) -> None:
        """Commit a batch's rows and vectors in one transaction. When a file's data breaks it,
        each photo is committed alone: the bad one is reported as skipped (it gets no row, so the
        next run tries it again) and the others are kept. A database or disk error still stops the run."""
        readable = [item for item in batch if item.record is not None]
        report.new -= len(batch) - len(readable)  # listed by a first scan, gone or unreadable since
        report.skipped += [(item.disk.path, item.unreadable) for item in batch if item.unreadable]
        rows = iter(() if vectors is None else vectors)
        pairs = [(item, next(rows) if item.tensor is not None else None) for item in readable]
        try:
            added = self._commit(pairs, report)
        except Exception as e:
            if not _file_error(e):
                raise
            log.warning("a batch of %d photos could not be written (%s); writing them one by one", len(pairs), e)
            added = self._commit_one_by_one(pairs, report)
        if added:
            self.on_vectors(np.array([i for i, _ in added], dtype=np.int64), np.stack([v for _, v in added]))

    def _commit_one_by_one(
        self, pairs: list[tuple[_Decoded, np.ndarray | None]], report: IndexReport
    ) -> list[tuple[int, np.ndarray]]:
        """Each photo in its own transaction, the ones whose data breaks it reported as skipped."""
        added = []
        for pair in pairs:
            try:
                added += self._commit([pair], report)
            except Exception as e:
                if not _file_error(e):
                    raise
                log.warning("cannot record %s in the catalog: %s", pair[0].disk.path, e)
                report.skipped.append((pair[0].disk.path, f"cannot record it in the catalog: {e}"))
        return added

    def _commit(
        self, pairs: list[tuple[_Decoded, np.ndarray | None]], report: IndexReport
    ) -> list[tuple[int, np.ndarray]]:
        """One transaction for these photos' rows, hashes and vectors; returns (file id, vector) of
        the embedded ones."""
        items = [item for item, _ in pairs]
        ok = [(item, vector) for item, vector in pairs if vector is not None]
        with self.catalog.transaction() as db:
            self.catalog.put_files(db, [item.record for item in items])
            self.catalog.put_hashes(db, [(i.fingerprint, i.phash) for i in items if i.record.status == OK])
            if ok:
                self.catalog.put_embeddings(db, self.embedder.model_id, [(i.fingerprint, v) for i, v in ok])
                marks = ",".join("?" * len(ok))
                found = db.execute(
                    f"SELECT path, id FROM files WHERE path IN ({marks})", [to_db(i.disk.path) for i, _ in ok]
                )
                id_of = {from_db(path): file_id for path, file_id in found}
        report.skipped += [
            (i.disk.path, i.record.skip_reason or "unknown") for i in items if i.record.status == SKIPPED
        ]
        report.embedded += len(ok)
        return [(id_of[i.disk.path], v) for i, v in ok]

    # -- run ---------------------------------------------------------------------------------

    def run(
        self,
        folders: dict[int, Path] | None = None,
        progress: Callable[[Progress], None] | None = None,
        control: Control | None = None,
    ) -> IndexReport:
        """Bring the catalog up to date with the folders (default: all library folders)."""
        started = time.monotonic()
        control = control or Control()
        progress = progress or (lambda p: None)
        report = IndexReport()
        folders = self.catalog.folders() if folders is None else folders
        progress(Progress(0, 0, 0.0, "", "scanning"))
        plan = self._scan(folders, report, lambda n: progress(Progress(n, 0, 0.0, "", "scanning")))
        self._apply(plan)
        self._model_for(plan)
        _count_plan(plan, report)
        total = len(plan.to_process)
        self._process(plan.to_process, report, progress, control)
        if plan.removed or plan.changed_count:
            self.catalog.prune_embeddings()
        if total:  # what the run freed (decoded photos, batches) stays resident otherwise
            process_tuning.release_free_memory()
        report.seconds = time.monotonic() - started
        return report

    def _process(
        self,
        work: list[tuple[scanner.DiskFile, str | None]],
        report: IndexReport,
        progress: Callable[[Progress], None],
        control: Control,
    ) -> None:
        """Decode, embed and commit the photos to process, in catalog order, work in flight bounded."""
        total = len(work)
        batch_size = max(1, self.settings.batch_size)
        threads = max(1, self.settings.decode_threads)
        in_flight_limit = max(2 * batch_size, 4 * threads)  # backpressure: bounded decode-ahead
        lanes = self.embedder.lanes if self.embedder is not None else 1
        first = self.embedder.first_batch if self.embedder is not None else None
        sizes = deque(batch_sizes(total, batch_size, lanes, first))
        pending: deque = deque()  # decodes in flight, in catalog order
        next_item = 0
        run_started = time.monotonic()
        phase = "indexing" if self.embedder is not None else "adding"  # without a model: thumbnails only

        with (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="decode") as pool,
            ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="embed") as model_lanes,
            ExitStack() as side_by_side,
        ):
            if total and self.embedder is not None:
                side_by_side.enter_context(self.embedder.side_by_side(lanes))
                pool.submit(self.embedder.quantise_now)  # alongside the first decodes, not before them
            out = _Outbox(self, model_lanes, lanes, sizes, report, progress, total, phase, run_started)
            # Nested 4 deep: two pools and the lanes' thread share are held for the loop; try cancels what is left.
            try:
                while next_item < total or pending:
                    if control.checkpoint():
                        report.cancelled = True
                        break
                    while next_item < total and len(pending) < in_flight_limit:
                        f, fp = work[next_item]
                        pending.append(pool.submit(self.prepare, f, fp))
                        next_item += 1
                    out.add(pending.popleft().result())
                out.finish()
            finally:
                for fut in pending:
                    fut.cancel()


def _count_plan(plan: scanner.ScanPlan, report: IndexReport) -> None:
    """What the scan found, into the run's report."""
    report.new, report.changed = plan.new_count, plan.changed_count
    report.moved, report.copied = len(plan.moved), len(plan.copied)
    report.removed, report.unchanged = len(plan.removed), plan.unchanged
    report.touched = len(plan.touched)
    report.skipped += plan.unreadable


class _Outbox:
    """A run's decoded photos on their way to the catalog: gathered into batches, embedded on the
    model lanes, committed oldest first, each commit reported as progress."""

    def __init__(
        self,
        indexer: Indexer,
        model_lanes: ThreadPoolExecutor,
        lanes: int,
        sizes: deque,
        report: IndexReport,
        progress: Callable[[Progress], None],
        total: int,
        phase: str,
        run_started: float,
    ) -> None:
        self.indexer, self.model_lanes, self.lanes, self.sizes = indexer, model_lanes, lanes, sizes
        self.report, self.progress, self.total, self.phase = report, progress, total, phase
        self.run_started = run_started
        self.batch: list[_Decoded] = []
        self.embedding: deque = deque()  # (batch, its vectors to come), oldest first
        self.written = 0

    def add(self, item: _Decoded) -> None:
        """One decoded photo, in catalog order."""
        self.batch.append(item)
        if len(self.batch) == self.sizes[0]:
            self._send()
            self.sizes.popleft()
        self.write_ready(in_flight=self.lanes)  # each lane embeds a batch; one more waits, so no lane idles
        self._report(item.disk.path)

    def finish(self) -> None:
        """Commit what is left, the batches still out each reported as it is committed."""
        if self.batch:  # cancelled mid-batch: keep what was decoded
            self._send()
        while self.embedding:
            self._report(self.write_oldest())

    def _send(self) -> None:
        self.embedding.append((self.batch, self.model_lanes.submit(self.indexer._embed, self.batch)))
        self.batch = []

    def write_oldest(self) -> str:
        """Commit the oldest batch out (waiting for its vectors); returns its last photo."""
        items, vectors = self.embedding.popleft()
        self.indexer._write(items, vectors.result(), self.report)
        self.written += len(items)
        return items[-1].disk.path

    def write_ready(self, in_flight: int) -> None:
        """Commit embedded batches, oldest first, waiting while more than `in_flight` are out."""
        while self.embedding and (len(self.embedding) > in_flight or self.embedding[0][1].done()):
            self.write_oldest()

    def _report(self, path: str) -> None:
        elapsed = max(1e-6, time.monotonic() - self.run_started)
        self.progress(Progress(self.written, self.total, self.written / elapsed, path, self.phase))
