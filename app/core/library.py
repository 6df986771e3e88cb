"""The engine in one object: a photo library on disk, its catalog, its model and its index.

The command line, the window, the tests and the benchmarks all drive PhotoSeek through this class.
Every method may block (disk, model, FAISS): the window calls them from worker threads.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import imaging, query
from .catalog import OK, SKIPPED, Catalog, FileRecord
from .config import Settings
from .embedder import DownloadProgress, Embedder, ModelSpec, ModelUnavailable
from .index import VectorIndex
from .indexer import Control, Indexer, IndexReport, Progress
from .query import Hit

log = logging.getLogger(__name__)

__all__ = ["Library", "Hit", "Control", "Progress", "IndexReport", "ModelUnavailable", "FileRecord"]


class Library:
    def __init__(self, settings: Settings):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(settings.catalog_path)
        self.spec = ModelSpec(settings.model, settings.pretrained)
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
        self._model_lock = threading.Lock()
        self._index_lock = threading.Lock()

    def close(self) -> None:
        self.catalog.close()

    # -- model and index -------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self._embedder.model_id if self._embedder else self.spec.model_id

    @property
    def model_loaded(self) -> bool:
        return self._embedder is not None

    def load_model(self, progress: DownloadProgress | None = None) -> Embedder:
        """Load (downloading once if needed) the configured model. Raises ModelUnavailable."""
        with self._model_lock:
            if self._embedder is None:
                self._embedder = Embedder(self.spec, self.settings.models_dir, self.settings.device, progress)
            return self._embedder

    @property
    def index(self) -> VectorIndex:
        """The vector index for the current model, loaded or rebuilt from the catalog on first use."""
        with self._index_lock:
            if self._index is None:
                self._index = VectorIndex.open(self.catalog, self.settings.index_dir, self.model_id)
            return self._index

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

    def remove_folder(self, path: Path | str) -> None:
        """Forget a folder and its photos (the files on disk are not touched)."""
        resolved = str(Path(path).expanduser().resolve())
        ids = [r.id for fid, root in self.folders().items() if str(root) == resolved
               for r in self.catalog.files("WHERE folder_id = ?", (fid,))]
        self.catalog.remove_folder(Path(resolved))
        self.index.remove(ids)
        self.save_index()

    def update(self, folders: Sequence[Path | str] | None = None, progress: Callable[[Progress], None] | None = None,
               control: Control | None = None, require_model: bool = True) -> IndexReport:
        """Add `folders` to the library (if given) and bring everything up to date.

        Without a loadable model and `require_model=False`, photos are catalogued and thumbnailed
        so they can be browsed; they are embedded once a model is available.
        """
        for folder in folders or ():
            self.add_folder(folder)
        try:
            embedder = self.load_model()
        except ModelUnavailable:
            if require_model:
                raise
            embedder = None
        index = self.index if embedder is not None else None
        indexer = Indexer(
            self.catalog, self.settings, embedder,
            on_vectors=index.add if index is not None else None,
            on_removed=index.remove if index is not None else None,
        )
        report = indexer.run(progress=progress, control=control)
        self.save_index()
        return report

    # -- browsing ----------------------------------------------------------------------------

    def photos(self, folder_id: int | None = None) -> list[FileRecord]:
        """Every readable photo, newest first (EXIF capture time, else file time)."""
        where = "WHERE status = 'ok'" + (" AND folder_id = ?" if folder_id is not None else "")
        order = " ORDER BY COALESCE(taken_at, datetime(mtime, 'unixepoch')) DESC, path"
        return self.catalog.files(where + order, () if folder_id is None else (folder_id,))

    def skipped(self) -> list[FileRecord]:
        return self.catalog.files("WHERE status = 'skipped' ORDER BY path")

    def thumbnail(self, record: FileRecord) -> Path:
        """The cached thumbnail of a photo, made now if the cache lost it."""
        path = imaging.thumbnail_path(self.settings.thumbs_dir, record.fingerprint)
        if not path.exists():
            decoded = imaging.decode(record.path, thumb_size=self.settings.thumb_size, max_pixels=self.settings.max_pixels)
            imaging.save_thumbnail(decoded.image, path, self.settings.thumb_size)
        return path

    def trash(self, ids: Sequence[int]) -> list[tuple[str, str]]:
        """Send photos to the system trash; the catalog and the index follow. Returns failures."""
        from send2trash import send2trash

        failures, gone = [], []
        for file_id, path in self.catalog.paths(ids).items():
            try:
                send2trash(path)
                gone.append(file_id)
            except Exception as e:  # permission, missing file, no trash on this volume...
                if not Path(path).exists():
                    gone.append(file_id)
                else:
                    failures.append((path, str(e)))
        with self.catalog.transaction() as db:
            self.catalog.delete_files(db, gone)
        self.index.remove(gone)
        self.save_index()
        return failures

    # -- search ------------------------------------------------------------------------------

    def _hits(self, ids: np.ndarray, scores: np.ndarray) -> list[Hit]:
        paths = self.catalog.paths(ids.tolist())
        return [Hit(int(i), paths[int(i)], float(s)) for i, s in zip(ids, scores) if int(i) in paths]

    def search_vector(self, vector: np.ndarray, n: int | None = None, exclude: set[int] | None = None) -> list[Hit]:
        return self._hits(*query.rank(self.index, vector, n, exclude))

    def text_vector(self, text: str) -> np.ndarray:
        return query.text_vector(self.load_model(), text)

    def image_vector(self, image, text: str | None = None) -> np.ndarray:
        """The query vector of an image (a path, in or outside the library, or a PIL image),
        optionally refined by text."""
        embedder = self.load_model()
        record = self.catalog.file_by_path(str(Path(image).resolve())) if isinstance(image, (str, Path)) else None
        vector = self.catalog.vector(record.id, self.model_id) if record else None
        if vector is None:
            vector = query.image_vector(embedder, image)
        if text and text.strip():
            vector = query.combine(vector, query.text_vector(embedder, text.strip()))
        return vector

    def search(self, text: str, n: int | None = None) -> list[Hit]:
        return self.search_vector(self.text_vector(text), n)

    def search_image(self, image, text: str | None = None, n: int | None = None) -> list[Hit]:
        return self.search_vector(self.image_vector(image, text), n)

    def similar(self, photo: int | str | Path, n: int | None = None) -> list[Hit]:
        """Photos that look like a library photo, the photo itself excluded."""
        record = self.catalog.file(photo) if isinstance(photo, int) else self.catalog.file_by_path(str(Path(photo).resolve()))
        if record is None:
            raise KeyError(f"not in the library: {photo}")
        vector = self.index.vector(record.id)
        if vector is None:
            vector = self.catalog.vector(record.id, self.model_id)
        if vector is None:
            raise KeyError(f"not indexed yet: {record.path}")
        return self.search_vector(vector, n, exclude={record.id})

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
            "folders": [str(p) for p in self.folders().values()],
            "photos": self.catalog.count(OK),
            "skipped": self.catalog.count(SKIPPED),
            "embedded": embedded,
            "index_size": index_size,
            "index_ok": index_size == embedded,
            "catalog_integrity": self.catalog.integrity_check(),
            "catalog_generation": self.catalog.generation(),
        }
