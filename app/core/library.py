"""The engine in one object: a photo library on disk, its catalog, its model and its index.

The command line, the window, the tests and the benchmarks all drive PhotoSeek through this class.
Every method may block (disk, model, FAISS): the window calls them from worker threads.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock, Timeout

from . import tempfiles
from .config import WRITER_LOCK, Settings
from .ingest import imaging
from .ingest.indexer import Control, Indexer, IndexReport, Progress
from .model import fast_start
from .model.embedder import (
    DownloadProgress,
    Embedder,
    ModelSpec,
    ModelUnavailable,
    export_to_run,
    import_model_code,
    torch_installed,
)
from .model.embedder import load as load_embedder
from .organize import trashcan
from .search import query, ranking
from .search.concepts import ConceptIndex, ConceptReport
from .search.query import Hit
from .search.query_cache import QueryCache
from .search.query_parser import concept_key
from .search.query_parser import parse as parse_query
from .search.ranking import SearchResult
from .store import backups, repair
from .store.catalog import NEWEST_FIRST, OK, SKIPPED, Catalog, CatalogError, FileRecord, OfflineFolder

if TYPE_CHECKING:  # pragma: no cover
    from .store.index import VectorIndex

log = logging.getLogger(__name__)


__all__ = [
    "Library",
    "Hit",
    "Control",
    "Progress",
    "IndexReport",
    "ModelUnavailable",
    "FileRecord",
    "SearchResult",
    "parse_query",
    "OfflineFolder",
    "MovedFolder",
    "Relinked",
    "Receipt",
    "Restored",
]

CHOICES_FILE = "choices.json"  # in the models dir: what each model's first run measured (model/choices.py)
HOLD_DAYS = 7  # what an undoable change held is forgotten after this, if the app that made it did not quit cleanly
MOVED_SHARE = 0.5  # an offline folder "moved" to a folder holding at least this share of its photos


@dataclass(frozen=True)
class Receipt:
    """What `trash` or `remove_folder` did, and what `restore` needs to undo it."""

    hold: int  # the catalog's hold on the rows (Catalog.hold)
    kind: str  # "trash" or "folder"
    ids: tuple[int, ...]  # the photos that left the library
    failures: tuple[tuple[str, str], ...] = ()  # (path, why) of photos that could not go
    trashed: tuple[trashcan.Trashed, ...] = ()  # where in the trash each file went
    folder: str | None = None  # the folder removed
    note: str = ""  # why some files cannot be taken back from the trash here

    @property
    def undoable(self) -> bool:
        return bool(self.trashed) if self.kind == "trash" else self.folder is not None


@dataclass(frozen=True)
class Restored:
    """What `restore` put back: ids and paths, (path, why) of what it could not, and how many
    photos it embedded to do it (none: their embeddings were kept)."""

    ids: list[int]
    paths: list[str]
    failures: list[tuple[str, str]]
    embedded: int = 0


@dataclass(frozen=True)
class MovedFolder:
    """An offline library folder whose photos (by content) turned up in another library folder."""

    old: Path
    new: Path
    matches: int  # photos of `old` found in `new`
    photos: int  # photos of `old`


@dataclass(frozen=True)
class Relinked:
    old: Path
    new: Path
    relinked: int  # photos found at the new place, same ids
    missing: int  # photos of `old` not found in `new` (moved to their place there, the next update decides)


def _refuse_an_emptied_catalog(settings: Settings) -> None:
    problem = repair.emptied_catalog(settings)
    if problem is not None:
        raise CatalogError(problem)


def _phase_progress(progress: Callable[[Progress], None], phase: str) -> Callable[[int, int], None]:
    """(done, total) -> Progress of `phase`, its rate counted from the first report (a resumed
    phase starts with what an earlier run did)."""
    first: list[tuple[int, float]] = []

    def report(done: int, total: int) -> None:
        if not first:
            first.append((done, time.monotonic()))
        rate = (done - first[0][0]) / max(1e-6, time.monotonic() - first[0][1])
        progress(Progress(done, total, rate, "", phase))

    return report


def _lower_this_threads_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not per thread (or not at all) on this system
        pass


_text_reader: ThreadPoolExecutor | None = None
_text_reader_lock = threading.Lock()


def _at_low_priority(work: Callable[[], int], control: Control) -> int:
    """`work()` on the one low-priority thread: reading text is the slowest pass and the least
    urgent, so the window and other programs go first. A thread of its own because an unprivileged
    thread cannot raise its priority back (Linux sets it per thread; the threads it starts, like
    the OCR engine's, inherit it). One, kept: the catalog keeps a connection per thread."""
    global _text_reader
    with _text_reader_lock:
        if _text_reader is None:
            _text_reader = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="read-text", initializer=_lower_this_threads_priority
            )
    future = _text_reader.submit(work)
    try:
        return future.result()
    except BaseException:  # Ctrl-C while waiting: the reader stops at its next photo, not at the end
        control.cancel()
        raise


class Library:
    def __init__(self, settings: Settings):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _refuse_an_emptied_catalog(settings)
        self.catalog = Catalog(settings.catalog_path)
        self.catalog.release_older_than(HOLD_DAYS * 86400)
        self.spec = ModelSpec(settings.model, settings.pretrained)
        self._embedder: Embedder | None = None
        self.model_error: ModelUnavailable | None = None  # why the last load failed
        self._index: VectorIndex | None = None
        self._concepts: ConceptIndex | None = None
        self._model_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._writer = FileLock(settings.data_dir / WRITER_LOCK)  # one indexer per data dir, across processes

    def close(self) -> None:
        self.catalog.close()

    # -- model and index -------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self._embedder.model_id if self._embedder else self.spec.model_id

    @property
    def model_loaded(self) -> bool:
        return self._embedder is not None

    def load_model(self, progress: DownloadProgress | None = None, *, towers: str = "both") -> Embedder:
        """Load (downloading once if needed) the configured model. Raises ModelUnavailable.

        `towers`: what the caller needs ("text" for a text query, "image" for an image query):
        a model loaded for less is loaded again whole when more is needed."""
        with self._model_lock:
            if self._embedder is None or not self._embedder.has(towers):
                try:
                    self._embedder = load_embedder(
                        self.spec,
                        self.settings.models_dir,
                        self.settings.device,
                        progress,
                        precision=self.settings.precision,
                        towers="both" if self._embedder is not None else towers,
                        choices=self.settings.models_dir / CHOICES_FILE,
                        fast_start=self.settings.fast_start,
                    )
                except ModelUnavailable as e:
                    self.model_error = e
                    raise
                self.model_error = None
            return self._embedder

    def import_model_code(self) -> None:
        """Import the runtime `load_model()` will run (torch and open_clip, or ONNX Runtime for the
        fast start): seconds, which the window spends on its worker before loading."""
        import_model_code(onnx=self.model_runs_onnx())

    def model_runs_onnx(self) -> bool:
        """Whether `load_model()` will run ONNX Runtime (the fast start, an export, no torch
        installed): a fraction of a second of Python, where torch's imports are seconds of it."""
        settings = self.settings
        folder = export_to_run(
            self.spec, settings.models_dir, settings.device, settings.precision, "both", settings.fast_start
        )
        return folder is not None or not torch_installed()

    def fast_start_due(self) -> bool:
        """Whether this process has the torch model loaded (it embedded photos) and the fast start
        is on but has no usable export of it (fast_start.py): `prepare_fast_start` would write one."""
        return isinstance(self._embedder, Embedder) and self._fast_start_missing()

    def _fast_start_missing(self) -> bool:
        return (
            self.settings.fast_start
            and self.spec.export_dir is None
            and fast_start.usable_export(self.settings.models_dir, self.model_id) is None
        )

    def prepare_fast_start(self, low_priority: bool = False, release_model: bool = False) -> fast_start.Written | None:
        """Export the model for the fast start when it is due (seconds: call it when the work is
        done; `low_priority`: on a thread of lowered priority, the window's; `release_model`: let
        the loaded model go first, as the export loads one of its own: a command that ends after
        it); None when not due or when it failed, which is logged and changes nothing else."""
        if not self.fast_start_due():
            return None
        if release_model:
            with self._model_lock:
                self._embedder = None
        return self._write_fast_start(low_priority)

    def write_missing_fast_start(self) -> fast_start.Written | None:
        """Export the model for the fast start when it is on and has no usable export, whether or
        not a model is loaded here (a process started for that alone: `photoseek index` hands the
        export to one); None when not needed or when it failed (logged)."""
        return self._write_fast_start(low_priority=False) if self._fast_start_missing() else None

    def _write_fast_start(self, low_priority: bool) -> fast_start.Written | None:
        sample = [Path(p) for p in self.catalog.paths(self.photo_ids(limit=16).tolist()).values()]
        try:
            from .model import export  # (torch's exporter, onnx: only here)

            def work() -> fast_start.Written:
                return export.write_fast_start(self.spec, self.settings.models_dir, sample)

            if not low_priority:
                return work()
            with ThreadPoolExecutor(1, "fast-start", initializer=_lower_this_threads_priority) as thread:
                return thread.submit(work).result()  # (the threads ONNX Runtime starts inherit it)
        except Exception as e:  # noqa: BLE001 - a faster start next time, never a failed run
            log.warning("the fast start for %s could not be prepared: %s", self.spec.name, e)
            return None

    def search_model(self, *, towers: str = "text") -> Embedder | None:
        """The model for a search; None once a load has failed. A search then matches words in
        file names and the text in photos, and does not try (maybe the network) again on every key:
        `load_model` does, when asked. The first load's failure is raised, so a command that
        searches once (the CLI) says why rather than quietly matching names."""
        if self._embedder is None and self.model_error is not None:
            return None
        return self.load_model(towers=towers)

    def text_vectors(self, texts: Sequence[str], cached_only: bool = False, towers: str = "text") -> np.ndarray | None:
        """Unit vectors [N, D] of texts, from the data dir's query cache when they were asked
        before (no model loaded at all), else from the text tower (and kept). `cached_only`: None
        unless every text is cached. With the whole model in memory (the window), its own cache
        answers and nothing is written: a process that loads a tower for queries alone (a command
        line search) is the one the next cold start saves from loading it. `towers`: what to load
        when one is needed ("both" when an image is to be embedded too)."""
        loaded = self._embedder
        if loaded is not None and loaded.towers == "both":
            return loaded.embed_texts(list(texts))
        cache = QueryCache(self.settings.data_dir / "queries", self.model_id)
        found = cache.get(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing and cached_only:
            return None
        if missing:
            vectors = self.load_model(towers=towers).embed_texts(missing)
            found.update(zip(missing, vectors))
            cache.put(dict(zip(missing, vectors)))
        return np.stack([found[t] for t in texts])

    @property
    def index(self) -> VectorIndex:
        """The vector index for the current model, loaded or rebuilt from the catalog on first use."""
        from .store.index import VectorIndex  # here: FAISS takes a while to load, the window opens without it

        with self._index_lock:
            if self._index is None:
                self._index = VectorIndex.open(self.catalog, self.settings.index_dir, self.model_id)
            return self._index

    def maintain_index(self) -> bool:
        """Rebuild the index as the kind its size calls for (exact or approximate, see index.py)
        when that changed. Searches keep using the current index meanwhile; call from a worker."""
        old = self.index
        if not old.needs_rebuild():
            return False
        old.start_tracking()
        new = type(old).build(self.catalog, self.model_id)
        with self._index_lock:
            if self._index is not old:  # the model changed meanwhile
                return False
            new.catch_up(old)
            self._index = new
        log.info("index rebuilt as %s for %d photos", new.kind, len(new))
        self.save_index()
        return True

    def save_index(self) -> None:
        with self._index_lock:
            if self._index is not None:
                self._index.save(self.settings.index_dir, self.model_id, self.catalog.generation())

    # -- folders and indexing ---------------------------------------------------------------

    def folders(self) -> dict[int, Path]:
        return self.catalog.folders()

    def add_folder(self, path: Path | str) -> int:
        path = Path(path).expanduser()
        if not path.is_dir():
            raise NotADirectoryError(f"not a folder: {path}")
        folder_id = self.catalog.add_folder(path)
        self.save_index()
        return folder_id

    def remove_folder(self, path: Path | str) -> Receipt:
        """Forget a folder and its photos (the files on disk are not touched); `restore` undoes it."""
        resolved = Path(path).expanduser().resolve()
        folder_id = next((fid for fid, root in self.folders().items() if root == resolved), None)
        ids = [r.id for r in self.catalog.files("WHERE folder_id = ?", (folder_id,))] if folder_id is not None else []
        if folder_id is None:
            return Receipt(0, "folder", ())  # not a library folder: nothing to do or undo
        with self.catalog.transaction() as db:
            hold = self.catalog.hold(db, "folder", ids, [folder_id])
            self.catalog.delete_folder(db, folder_id)
        self.index.remove(ids)
        self.save_index()
        return Receipt(hold, "folder", tuple(ids), folder=str(resolved))

    def update(
        self,
        folders: Sequence[Path | str] | None = None,
        progress: Callable[[Progress], None] | None = None,
        control: Control | None = None,
        require_model: bool = True,
        only_these: bool = False,
        embed: bool = True,
        after_embedding: Callable[[], None] | None = None,
        download: DownloadProgress | None = None,
    ) -> IndexReport:
        """Add `folders` to the library (if given) and bring everything up to date.

        `only_these`: check just those folders (the rest was checked a moment ago: a folder added
        to a big library should not mean re-walking all of it), unless they overlap a library
        folder. Without a loadable model and `require_model=False`, photos are catalogued and
        thumbnailed so they can be browsed; they are embedded once a model is available.
        `embed=False`: that, without even trying to load the model (photos on screen in seconds on
        a first start, while the model loads beside it); the text-reading pass waits for a run that
        embeds. The model is loaded (`download`: the progress of fetching its weights) only when
        there are photos to embed: a rescan that finds nothing new loads none (the report's
        `model_loaded`), nor the index unless photos left. `after_embedding` is called once the photos are embedded, before text is read (the
        window scores concepts there: `#` works long before the slow text-reading pass ends).

        One indexer per data dir: while another process indexes this library, this one waits
        (progress phase "waiting"; searching works meanwhile), then does what is left.
        """
        control = control or Control()
        if not self._start_writing(progress or (lambda p: None), control):
            return IndexReport(cancelled=True)
        try:
            self._remove_stale_temps()
            self._daily_backup()
            return self._update(folders, progress, control, require_model, only_these, embed, after_embedding, download)
        finally:
            self._writer.release()

    def _start_writing(self, progress: Callable[[Progress], None], control: Control) -> bool:
        """Take the data dir's writer lock, waiting while another process holds it; False when
        cancelled meanwhile."""
        try:
            self._writer.acquire(timeout=0)
            return True
        except Timeout:
            pass
        log.info("another PhotoSeek is indexing %s; waiting for it", self.settings.data_dir)
        progress(Progress(0, 0, 0.0, "", "waiting"))
        while not control.cancelled:
            try:
                self._writer.acquire(timeout=0.25)
            except Timeout:
                continue
            with self._index_lock:
                self._index = None  # the other indexer changed the catalog: load what it saved
            return True
        return False

    def _remove_stale_temps(self) -> None:
        """What writers killed mid-write left (index, thumbnails, concept scores, backups); under the writer lock."""
        s = self.settings
        tempfiles.remove_stale(
            [
                *s.index_dir.glob("*.tmp"),
                *s.thumbs_dir.glob("*/*.tmp"),
                *(s.data_dir / "concepts").glob("*.tmp"),
                *(s.data_dir / "concepts").glob("*/*.tmp"),
                *backups.folder(s.catalog_path).glob("*.tmp"),
            ]
        )

    def _daily_backup(self) -> None:
        """Once a day, before indexing changes anything, a copy of the catalog (backups.py). A failed
        backup does not stop indexing; one that fails its check means the catalog itself is damaged."""
        try:
            backups.make_daily(self.catalog.db, self.settings.catalog_path)
        except backups.BackupError as e:
            log.warning(
                "backing up the catalog %s: %s; it may be damaged: run `photoseek doctor`",
                self.settings.catalog_path,
                e,
            )
        except (sqlite3.Error, OSError) as e:
            log.warning("the catalog %s could not be backed up: %s", self.settings.catalog_path, e)

    def _update(
        self,
        folders: Sequence[Path | str] | None,
        progress: Callable[[Progress], None] | None,
        control: Control,
        require_model: bool,
        only_these: bool,
        embed: bool = True,
        after_embedding: Callable[[], None] | None = None,
        download: DownloadProgress | None = None,
    ) -> IndexReport:
        started = time.monotonic()
        added = {self.add_folder(folder) for folder in folders or ()}
        scope = None
        if only_these and added:
            every = self.folders()
            scope = {fid: every[fid] for fid in added}
            others = [p for fid, p in every.items() if fid not in added]
            if any(a.is_relative_to(b) or b.is_relative_to(a) for a in scope.values() for b in others):
                scope = None  # nested folders: which one a photo belongs to needs them all
        loaded = self._embedder if self._embedder is not None and self._embedder.has("image") else None
        indexer = Indexer(
            self.catalog,
            self.settings,
            loaded if embed else None,  # (one loaded for text queries alone is loaded whole when needed)
            on_vectors=(lambda ids, vectors: self.index.add(ids, vectors)) if embed else None,
            on_removed=(lambda ids: self.index.remove(ids)) if embed else None,
            load_model=(lambda: self._embedder_for_update(require_model, download)) if embed else None,
            model_id=self.model_id if embed else None,
        )
        report = indexer.run(folders=scope, progress=progress, control=control)
        if not report.cancelled:
            report.moved_folders = [(str(m.old), str(m.new), m.matches) for m in self.moved_folder_candidates()]
        self.save_index()
        if self._index is not None:
            self.maintain_index()
        if (
            not report.cancelled
            and after_embedding is not None
            and (indexer.embedder is not None or self._scores_due())
        ):
            after_embedding()
        if not report.cancelled and embed:
            self.update_derived(report, progress=progress, control=control)
        report.model_loaded = self.model_loaded
        report.seconds = time.monotonic() - started  # the whole run: model, scan, embedding, text reading
        return report

    def _scores_due(self) -> bool:
        """Concept scores are missing (a run stopped while scoring) and the text tower can be had."""
        if not self.concepts.pending():
            return False
        try:
            self.load_model(towers="text")
        except ModelUnavailable:
            return False
        return True

    def _embedder_for_update(self, require_model: bool, download: DownloadProgress | None = None) -> Embedder | None:
        try:
            return self.load_model(download)
        except ModelUnavailable:
            if require_model:
                raise
            return None

    # -- offline folders and moved libraries ---------------------------------------------------

    def offline_folders(self) -> dict[int, OfflineFolder]:
        """Library folders that could not list their photos at the last check (an unplugged
        drive): their photos are kept and listed, but left out of searches unless asked for."""
        return self.catalog.offline_folders()

    def moved_folder_candidates(self) -> list[MovedFolder]:
        """Offline folders whose photos, by content, are (at least half of them) in a folder that
        is online: most likely the same library, moved or copied there. The best one each."""
        offline = self.catalog.offline_folders()
        folders = self.folders()
        best: dict[int, MovedFolder] = {}
        for old, new, matches, photos in self.catalog.shared_content(offline):
            if new in offline or new not in folders or matches < max(1, MOVED_SHARE * photos):
                continue
            if old not in best or matches > best[old].matches:
                best[old] = MovedFolder(offline[old].path, folders[new], matches, photos)
        return sorted(best.values(), key=lambda m: str(m.old))

    def relink(self, old: Path | str, new: Path | str) -> Relinked:
        """A library folder moved to `new`: rewrite its path and its photos' paths in place, in one
        transaction. Each photo is found at `new` by its content (at the same place below it
        first), so it keeps its id, embedding, text and tags, and nothing is decoded again; rows
        that indexing `new` made of the same photos go. Photos not found there move to their
        place below `new` (the next update removes them if they are not there); ValueError when
        none is found. A library folder at `new` is merged into this one."""
        folder_id, old_root, new_root = self._relink_roots(old, new)
        try:
            self._writer.acquire(timeout=0)
        except Timeout:
            raise ValueError("another PhotoSeek is indexing this library; relink when it is done") from None
        try:
            moves, drop, found, missing = self._relink_plan(folder_id, old_root, new_root)
            if not found:
                raise ValueError(f"no photo of {old_root} is in {new_root}; nothing was changed")
            self.catalog.relink_folder(folder_id, new_root, moves, drop)
        finally:
            self._writer.release()
        self.index.remove(drop)
        self.save_index()
        log.info("relinked %s to %s: %d photos found, %d not", old_root, new_root, found, missing)
        return Relinked(old_root, new_root, found, missing)

    def _relink_roots(self, old: Path | str, new: Path | str) -> tuple[int, Path, Path]:
        """(folder id, old root, new root) for a relink; ValueError / NotADirectoryError, one line, when it cannot be."""
        new_root = Path(new).expanduser()
        if not new_root.is_dir():
            raise NotADirectoryError(f"not a folder: {new}")
        new_root = new_root.resolve()
        folders = self.folders()
        wanted = {Path(old).expanduser().absolute(), Path(old).expanduser().resolve()}
        folder_id = next((fid for fid, root in folders.items() if root in wanted), None)
        if folder_id is None:
            raise ValueError(f"not a library folder: {old}")
        old_root = folders[folder_id]
        if new_root == old_root:
            raise ValueError(f"{old_root} is already where its photos are")
        for root in folders.values():
            if root != new_root and (new_root.is_relative_to(root) or root.is_relative_to(new_root)):
                raise ValueError(f"{new_root} overlaps the library folder {root}: relink to a folder of its own")
        return folder_id, old_root, new_root

    def _relink_plan(self, folder_id: int, old_root: Path, new_root: Path) -> tuple[list, list[int], int, int]:
        """(moves (id, path, size, mtime), ids to drop, photos found, photos not found) for a relink: each photo of
        the folder matched by content to a file below `new_root`."""
        from .ingest import scanner

        there = {
            r.path: r
            for fid, root in self.folders().items()
            if root == new_root
            for r in self.catalog.files("WHERE folder_id = ?", (fid,))
        }
        disk = list(scanner.walk(new_root, scanner.supported_extensions(), skip=self.settings.data_dir))
        known = {
            f.path: there[f.path].fingerprint
            for f in disk
            if f.path in there and (there[f.path].size, there[f.path].mtime) == (f.size, f.mtime)
        }
        fresh, _unreadable = scanner._fingerprints(
            [f for f in disk if f.path not in known], scanner.fingerprint, max(1, self.settings.decode_threads)
        )  # unreadable: not found
        by_fp: dict[str, dict[str, scanner.DiskFile]] = {}
        for f in disk:
            fp = known.get(f.path) or fresh.get(f.path)
            if fp is not None:
                by_fp.setdefault(fp, {})[f.path] = f
        moves, taken, moved = [], set(), set()
        rows = self.catalog.files("WHERE folder_id = ? ORDER BY id", (folder_id,))
        place = {
            r.id: os.path.join(new_root, os.path.relpath(r.path, old_root))
            for r in rows
            if Path(r.path).is_relative_to(old_root)
        }
        for row in rows:
            candidates = {p: f for p, f in by_fp.get(row.fingerprint, {}).items() if p not in taken}
            match = candidates.get(place.get(row.id)) or next(iter(candidates.values()), None)
            if match is not None:
                moves.append((row.id, match.path, match.size, match.mtime))
                taken.add(match.path)
                moved.add(row.id)
        found = len(moves)
        for row in rows:  # not found: to their place below the new root, when it is free
            target = place.get(row.id)
            if row.id not in moved and target is not None and target not in taken and not os.path.lexists(target):
                moves.append((row.id, target, row.size, row.mtime))
                taken.add(target)
                moved.add(row.id)
        drop = [r.id for r in there.values() if r.path in taken] + [r.id for r in rows if r.id not in moved]
        return moves, drop, found, len(rows) - found

    # -- browsing ----------------------------------------------------------------------------

    def photos(self, folder_id: int | None = None, after_id: int | None = None) -> list[FileRecord]:
        """Every readable photo, newest first (`when`, then path); `after_id`: only the photos
        catalogued after that id (the new ones, while indexing)."""
        where, params = ["status = 'ok'"], []
        if folder_id is not None:
            where.append("folder_id = ?")
            params.append(folder_id)
        if after_id is not None:
            where.append("id > ?")
            params.append(after_id)
        return self.catalog.files("WHERE " + " AND ".join(where) + " " + NEWEST_FIRST, params)

    def photo_ids(self, among: np.ndarray | None = None, limit: int | None = None) -> np.ndarray:
        """The ids of `photos()` in its order, without a record each; `among`: only these ids
        (sorted); `limit`: only the first that many (a page of a million-photo library)."""
        cursor = self.catalog.db.execute(f"SELECT id FROM files WHERE status = 'ok' {NEWEST_FIRST}")
        pages, found = [], 0
        try:
            while limit is None or found < limit:
                rows = cursor.fetchmany(50_000)
                if not rows:
                    break
                page = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                if among is not None:
                    page = page[np.isin(page, among)]
                pages.append(page)
                found += len(page)
        finally:
            cursor.close()
        ids = np.concatenate(pages) if pages else np.empty(0, dtype=np.int64)
        return ids[:limit]

    @staticmethod
    def when(record: FileRecord) -> str:
        """What `photos` orders by: the capture time, else the file time (as SQLite writes it)."""
        if record.taken_at is not None:
            return record.taken_at
        # SQLite's datetime(mtime, 'unixepoch') rounds to the millisecond first (x.9996 s is the
        # next second), so do the same sums: a plain int() put such photos out of order.
        epoch_ms = 210866760000000.0  # the Unix epoch in Julian-day milliseconds, as SQLite counts
        ms = int(record.mtime * 1000.0 + epoch_ms + 0.5) - int(epoch_ms)
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms // 1000))

    def skipped(self) -> list[FileRecord]:
        return self.catalog.files("WHERE status = 'skipped' ORDER BY path")

    def thumbnail(self, record: FileRecord, remake: bool = False) -> Path:
        """The cached thumbnail of a photo, made now if the cache lost it (or, `remake`, because the
        cached file turned out unreadable)."""
        path = imaging.thumbnail_path(self.settings.thumbs_dir, record.fingerprint)
        if remake:
            path.unlink(missing_ok=True)
        if not path.exists():
            side = self.settings.thumb_size
            decoded = imaging.decode(record.path, min_side=side, thumb_size=side, max_pixels=self.settings.max_pixels)
            imaging.save_thumbnail(decoded.image, path, side)
        return path

    def trash(self, ids: Sequence[int]) -> Receipt:
        """Send photos to the system trash; the catalog and the index follow. The receipt says
        what went and what could not (path, why), and lets `restore` undo it (see trashcan.py)."""
        from send2trash import send2trash

        failures, gone, trashed, note = [], [], [], ""
        for file_id, path in self.catalog.paths(ids).items():
            try:
                send2trash(path)
            except Exception as e:  # permission, missing file, no trash on this volume...
                if Path(path).exists():
                    failures.append((path, str(e)))
                    continue
            gone.append(file_id)
            try:
                trashed.append(trashcan.locate(path))
            except OSError as e:  # another platform's trash, or it went elsewhere
                note = note or str(e)
        with self.catalog.transaction() as db:
            hold = self.catalog.hold(db, "trash", gone)
            self.catalog.delete_files(db, gone)
        if not trashed:  # nothing this platform lets us take back: nothing to hold
            self.catalog.release([hold])
        self.index.remove(gone)
        self.save_index()
        return Receipt(hold, "trash", tuple(gone), tuple(failures), tuple(trashed), note=note)

    def restore(self, receipt: Receipt) -> Restored:
        """Undo `trash` or `remove_folder`: the files back at their paths (never over another
        file), their rows back in the catalog with their ids, and their vectors back in the index
        from the catalog's embeddings (nothing decoded or embedded). The receipt is spent."""
        failures: list[tuple[str, str]] = []
        paths = None
        if receipt.kind == "trash":
            paths = set()
            for item in receipt.trashed:
                try:
                    trashcan.restore(item)
                    paths.add(item.original)
                except OSError as e:
                    failures.append((item.original, e.strerror or str(e)))
        index = self.index  # before the rows are back: an index opened after would have them already
        ids, not_back = self.catalog.put_back(receipt.hold, paths)
        self._index_again(index, ids)
        self.release(receipt)
        self.save_index()
        back = self.catalog.paths(ids)
        return Restored(ids, [back[i] for i in ids], failures + not_back)

    def _index_again(self, index: VectorIndex, ids: list[int]) -> None:
        """Restored photos' vectors from the catalog into the index."""
        records = [r for r in map(self.catalog.file, ids) if r is not None]
        found, vectors = self.catalog.vectors_by_fingerprint(self.model_id, sorted({r.fingerprint for r in records}))
        row = {fp: i for i, fp in enumerate(found)}
        have = [r for r in records if r.fingerprint in row]
        if have:
            index.add(np.array([r.id for r in have], dtype=np.int64), vectors[[row[r.fingerprint] for r in have]])

    def release(self, receipt: Receipt) -> None:
        """Forget what a receipt held (it will not be undone): its data may be pruned now."""
        self.catalog.release([receipt.hold])

    # -- search ------------------------------------------------------------------------------

    def _hits(self, ids: np.ndarray, scores: np.ndarray) -> list[Hit]:
        paths = self.catalog.paths(ids.tolist())
        return [Hit(int(i), paths[int(i)], float(s)) for i, s in zip(ids, scores) if int(i) in paths]

    def rank(
        self, vector: np.ndarray, n: int | None = None, exclude: set[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ranked (ids, scores) for a query vector, best first: what the grid needs (no paths)."""
        return query.rank(self.index, vector, n, exclude)

    def search_vector(self, vector: np.ndarray, n: int | None = None, exclude: set[int] | None = None) -> list[Hit]:
        return self._hits(*self.rank(vector, n, exclude))

    def text_vector(self, text: str) -> np.ndarray:
        vectors = self.text_vectors([text])
        assert vectors is not None  # (only `cached_only` gives None)
        return vectors[0]

    def image_vector(self, image, text: str | None = None, words: Sequence[str] = ()) -> np.ndarray:
        """The query vector of an image (a path, in or outside the library, or a PIL image),
        optionally refined by text. A library photo's is the catalog's: no model is loaded.
        `words`: the query's texts that rank beside it; when the image needs the model too, it is
        loaded whole once for both (not the image tower and then all of it again)."""
        record = self.catalog.file_by_path(str(Path(image).resolve())) if isinstance(image, (str, Path)) else None
        vector = self.catalog.vector(record.id, self.model_id) if record else None
        if vector is None:
            if words:
                self.text_vectors(words, towers="both")  # (and kept: the next such query loads the image tower alone)
            vector = query.image_vector(self.load_model(towers="image"), image)
        if text and text.strip():
            vector = query.combine(vector, self.text_vector(text.strip()))
        return vector

    def search(
        self,
        text: str,
        n: int | None = None,
        *,
        image=None,
        min_score: float | None = None,
        good_only: bool = False,
        exclude: set[int] | None = None,
        paths: bool = True,
        include_offline: bool = False,
    ) -> SearchResult:
        """Run a query in the search language (see query_parser.py), optionally with an image
        (a path or a PIL image) combined into it. The result is a list of hits, best first, that
        also carries `good_count` (where the good matches end) and `hints` about the query.
        `paths=False`: only the result's `ids` array, no path lookups (see search.execute).
        Photos of offline folders only with `include_offline` (or `is:offline` in the query)."""
        parsed = parse_query(text)
        words = [p.text for p in parsed.parts]
        image_vector = self.image_vector(image, words=words) if image is not None else None
        return ranking.execute(self, parsed, n, image_vector, exclude, min_score, good_only, paths, include_offline)

    def search_image(self, image, text: str | None = None, n: int | None = None, **options) -> SearchResult:
        return self.search(text or "", n, image=image, **options)

    def similar(self, photo: int | str | Path, n: int | None = None, text: str = "", **options) -> SearchResult:
        """Photos that look like a library photo (refined by `text`), the photo itself excluded."""
        record = (
            self.catalog.file(photo)
            if isinstance(photo, int)
            else self.catalog.file_by_path(str(Path(photo).resolve()))
        )
        if record is None:
            raise KeyError(f"not in the library: {photo}")
        vector = self.index.vector(record.id)
        if vector is None:
            vector = self.catalog.vector(record.id, self.model_id)
        if vector is None:
            raise KeyError(f"not indexed yet: {record.path}")
        exclude = {record.id} | set(options.pop("exclude", None) or ())
        return ranking.execute(self, parse_query(text), n, vector, exclude, **options)

    # -- concepts ----------------------------------------------------------------------------

    @property
    def concepts(self) -> ConceptIndex:
        """Concept scores for the current model (computed by `update_concepts`)."""
        with self._index_lock:
            model_id = self.model_id
            if self._concepts is None or self._concepts.model_id != model_id:
                self._concepts = ConceptIndex(self.catalog, self.settings.data_dir / "concepts", model_id)
            return self._concepts

    def update_concepts(
        self, should_stop: Callable[[], bool] | None = None, progress: Callable[[Progress], None] | None = None
    ) -> ConceptReport:
        """Score new photos against the concept vocabulary (run after indexing; quick when
        nothing changed). Progress phases: "prompts" while the vocabulary is encoded for a new
        model (minutes on a CPU, kept as it goes: an interrupted run resumes), "concepts" while
        photos are scored."""
        phase = (lambda name: None) if progress is None else (lambda name: _phase_progress(progress, name))
        return self.concepts.refresh(
            self.load_model(towers="text"),  # prompts are text; the photos' vectors are in the catalog
            should_stop=should_stop,
            progress=phase("concepts"),
            prompt_progress=phase("prompts"),
        )

    def concept_tags(self, photo: int, limit: int = 6) -> list[tuple[str, float]]:
        """The concepts a photo shows, best first: (name, calibrated score)."""
        if not self.concepts.is_current():
            self.update_concepts()
        return self.concepts.tags(photo, limit=limit)

    def concept_names(self) -> list[tuple[str, int]]:
        """Every concept with how many photos of this library show it, most frequent first."""
        counts = self.concepts.frequencies()
        names = [c.name for c in self.concepts.vocabulary().concepts]
        return sorted(((name, counts.get(name, 0)) for name in names), key=lambda nc: (-nc[1], nc[0]))

    def user_concepts(self) -> dict[str, list[str]]:
        return self.catalog.user_concepts()

    def add_concept(self, name: str, phrases: Sequence[str]) -> None:
        """Add (or replace) a concept of your own: a name and the phrases that describe it."""
        name = " ".join(str(name).lstrip("#").split())
        phrases = [" ".join(str(p).split()) for p in phrases if str(p).strip()]
        if not concept_key(name):
            raise ValueError("a concept needs a name")
        if not phrases:
            raise ValueError("a concept needs at least one phrase that describes it")
        self.catalog.set_user_concept(name, phrases)

    def remove_concept(self, name: str) -> bool:
        key = concept_key(name)
        for existing in self.catalog.user_concepts():
            if concept_key(existing) == key:
                return self.catalog.remove_user_concept(existing)
        return False

    # -- saved searches ----------------------------------------------------------------------

    def saved_searches(self) -> list[tuple[int, str, str]]:
        """(id, name, query) of the smart albums."""
        return self.catalog.saved_searches()

    def save_search(self, name: str, query: str) -> int:
        name = " ".join(str(name).split())
        if not name:
            raise ValueError("a saved search needs a name")
        return self.catalog.save_search(name, query)

    def rename_saved_search(self, search_id: int, name: str) -> None:
        name = " ".join(str(name).split())
        if not name:
            raise ValueError("a saved search needs a name")
        try:
            self.catalog.rename_saved_search(search_id, name)
        except sqlite3.IntegrityError:
            raise ValueError(f"there is already a saved search named “{name}”") from None

    def remove_saved_search(self, search_id: int) -> None:
        self.catalog.remove_saved_search(search_id)

    # -- text in photos and duplicates --------------------------------------------------------

    def update_derived(
        self,
        report: IndexReport | None = None,
        progress: Callable[[Progress], None] | None = None,
        control: Control | None = None,
    ) -> IndexReport:
        """After embedding: forget what belonged to deleted content, date and hash photos indexed
        before such dates and hashes were read, then (when `settings.ocr`) read the text of photos
        not read yet. Resumable and cancellable like indexing; progress phases "hashing" and "ocr"."""
        from .ingest import ocr
        from .organize import duplicates

        report = report or IndexReport()
        control = control or Control()
        progress = progress or (lambda p: None)
        self.catalog.prune_derived()  # content gone (deleted, changed, trashed): its text and hash go too
        report.redated += self._read_unread_dates(control)
        started = time.monotonic()

        def hashing(done: int, total: int, path: str) -> None:
            rate = done / max(1e-6, time.monotonic() - started)
            progress(Progress(done, total, rate, path, "hashing"))

        duplicates.backfill_hashes(
            self.catalog,
            self.settings.thumbs_dir,
            self.settings.thumb_size,
            self.settings.max_pixels,
            should_stop=control.checkpoint,
            progress=hashing,
        )
        if self.settings.ocr and not control.cancelled:
            try:
                report.ocr += _at_low_priority(
                    lambda: ocr.read_library(self.catalog, self.settings, progress=progress, control=control),
                    control,
                )
            except ocr.OcrUnavailable as e:
                log.warning("%s", e)
                report.ocr_error = str(e)
        report.cancelled = report.cancelled or control.cancelled
        return report

    def _read_unread_dates(self, control: Control, batch: int = 500) -> int:
        """Photos catalogued when only EXIF dates were read: look for a date in the rest of their
        metadata (no decode, but a PNG is read whole). Returns how many have one now."""
        pending: list[tuple[int, str | None, str | None]] = []
        redated = 0
        for file_id, path in self.catalog.unread_dates():
            if control.checkpoint():
                break
            try:
                meta = imaging.read_metadata(path)
            except OSError:  # gone or unplugged: try again next time
                continue
            except Exception:  # noqa: BLE001 - unreadable metadata: the file time stays
                meta = {}
            pending.append((file_id, meta.get("taken_at"), meta.get("taken_from")))
            redated += bool(meta.get("taken_at"))
            if len(pending) >= batch:
                self.catalog.set_dates(pending)
                pending = []
        self.catalog.set_dates(pending)
        return redated

    def ocr_text(self, photo: int) -> str | None:
        """The text found in a photo ('' for none), or None when it has not been read (yet)."""
        return self.catalog.ocr_text(photo)

    def duplicates(
        self,
        threshold: float | None = None,
        hash_distance: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ):
        """Groups of duplicate photos, largest first (see duplicates.py): identical files, photos
        whose image hashes are nearly equal, and photos whose embeddings are at least `threshold`
        similar (default duplicates.DEFAULT_THRESHOLD). ValueError outside the allowed range."""
        from .organize import duplicates

        return duplicates.find_duplicates(
            self.catalog,
            self.model_id,
            duplicates.DEFAULT_THRESHOLD if threshold is None else threshold,
            hash_distance,
            should_stop=should_stop,
            progress=progress,
        )

    # -- health ------------------------------------------------------------------------------

    def doctor(self) -> dict:
        model_id = self.model_id
        embedded = self.catalog.embedding_count(model_id)
        index_size = len(self.index)
        return {
            "data_dir": str(self.settings.data_dir),
            "model": self.spec.name,
            "pretrained": self.spec.pretrained,
            "model_id": model_id,
            "device": self._embedder.device if self._embedder else None,
            "precision": self._embedder.precision if self._embedder else self.settings.precision,
            "folders": [str(p) for p in self.folders().values()],
            "photos": self.catalog.count(OK),
            "skipped": self.catalog.count(SKIPPED),
            "embedded": embedded,
            "index_size": index_size,
            # the counts agree, and a random sample of its vectors is the catalog's own
            "index_ok": index_size == embedded and self.index.agrees_with(self.catalog, model_id),
            "index_type": self.index.kind,
            "catalog_integrity": self.catalog.integrity_check(),
            "catalog_generation": self.catalog.generation(),
            **backups.summary(self.settings.catalog_path),
        }
