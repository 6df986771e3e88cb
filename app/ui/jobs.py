"""Work the window hands to worker threads (see workers.py): opening the library, indexing,
reading the photo list, searching, and the changes the writer thread makes. Each function takes
what it needs and returns a plain result; only the GUI thread touches widgets.

Qt here is limited to QImage/QBuffer (thread-safe); the engine is imported inside the functions,
on the worker, so that the window paints before numpy, SQLite or torch load.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
from PySide6.QtGui import QImage

from ..core.config import Settings
from ..core.process_tuning import heavy_imports, settle_long_lived
from ..core.screen import Order, PhotoList, Ranking
from .lazy import numpy as np
from .searchbar import ImageQuery
from .workers import Throttle

if TYPE_CHECKING:  # pragma: no cover
    from ..core.ingest.indexer import Control, IndexReport
    from ..core.library import Library, Receipt, Restored

log = logging.getLogger(__name__)


def is_model_unavailable(error: BaseException) -> bool:
    from ..core.model.embedder import ModelUnavailable

    return isinstance(error, ModelUnavailable)


def open_library(settings: Settings) -> Library:
    with heavy_imports():
        from ..core.library import Library  # the whole engine but torch

    library = Library(settings)
    settle_long_lived()
    return library


CONCEPTS_SCORED = ("concepts scored",)  # index_job's word that `#` knows the new photos


def index_job(
    library: Library,
    folders: list[str],
    control: Control,
    progress: Callable[[Any], None],
    load_model: bool = False,
    only_these: bool = False,
    embed: bool = True,
    unless_held: set[str] | frozenset[str] = frozenset(),
) -> IndexReport:
    """An index run. `embed=False`: catalogue and thumbnail only, no model (Library.update).
    Concepts are scored right after the embeddings, before the slow text-reading pass.
    Folders in `unless_held` are added only when no library folder holds them already."""
    from ..core.ingest.indexer import Progress

    if unless_held:
        roots = list(library.folders().values())
        folders = [f for f in folders if f not in unless_held or not any(Path(f).is_relative_to(r) for r in roots)]

    throttled = Throttle(
        progress, rate=10, final=lambda p: isinstance(p, Progress) and p.total > 0 and p.done == p.total
    )
    if load_model:  # a new model: load it first (with download progress), it must work
        library.load_model(progress=lambda done, total: throttled(("download", done, total)))

    def score_concepts() -> None:
        try:
            library.update_concepts(should_stop=lambda: control.cancelled, progress=throttled)
        except Exception as e:  # noqa: BLE001 - concepts are a help; the run goes on
            log.warning("concept scores failed: %s", e)
            return
        progress(CONCEPTS_SCORED)  # not throttled: it must arrive

    return library.update(
        folders or None,
        progress=throttled,
        control=control,
        require_model=load_model,
        only_these=only_these,
        embed=embed,
        after_embedding=score_concepts,
    )


def browse_job(
    library: Library, previous: PhotoList | None, new_only: bool = False
) -> tuple[PhotoList | None, PhotoList | None]:
    """(the photo list, the list it was made from) or (None, None) when it is the same as
    `previous`. `new_only` (while indexing): just add the photos catalogued since `previous`; a full
    re-read of a big library would keep the worker threads fighting the window for the
    interpreter. The generation is read first: the list is then at least that new."""
    generation = library.catalog.generation()
    folders, offline = library.folders(), library.offline_folders()
    if new_only and previous is not None:
        new = library.photos(after_id=previous.max_id)
        if not new and (folders, offline) == (previous.folders, previous.offline):
            return None, None
        photos = previous.with_new(new, folders, generation, offline)
        settle_long_lived()  # its 100k-entry list and dict, young, made every collection a slow one
        return photos, previous
    records = library.photos()
    if (
        previous is not None
        and previous.records == records
        and (previous.folders, previous.offline) == (folders, offline)
    ):
        return None, None
    photos = PhotoList(records, folders, generation, offline=offline)
    settle_long_lived()
    return photos, None


def trash_job(library: Library, ids: list[int]) -> tuple[list[int], list[tuple[str, str]], int, Receipt]:
    """(the ids that went to the trash, (path, why) for those that could not, the generation,
    the receipt that undoes it)."""
    receipt = library.trash(ids)
    left = library.catalog.paths(ids)  # still catalogued: not trashed
    return [i for i in ids if i not in left], list(receipt.failures), library.catalog.generation(), receipt


def remove_folder_job(library: Library, path: Path) -> tuple[list[int], int, Receipt]:
    """Forget a folder: (the ids of its photos, the generation after, the receipt that undoes it)."""
    receipt = library.remove_folder(path)
    return list(receipt.ids), library.catalog.generation(), receipt


def restore_job(library: Library, receipt: Receipt) -> Restored:
    """Undo a move to the trash or a folder's removal (Library.restore)."""
    return library.restore(receipt)


def search_job(
    library: Library, seq: int, latest: Callable[[], int], text: str, image: ImageQuery | None, known: np.ndarray | None
) -> Ranking:
    """The ranking of a query. With `known` (the photos shown, a bool array by id), it comes with
    the grid's `Order`, worked out here rather than on the GUI thread, and only shown photos
    count as good matches."""
    if seq != latest():  # a newer query was typed while this one waited: skip the work
        return Ranking(seq, np.empty(0, dtype=np.int64))
    started = time.perf_counter()
    if image is None:
        result = library.search(text, paths=False)
    elif image.photo_id is not None:  # a library photo: itself left out, words refine it
        result = library.similar(image.photo_id, text=text, paths=False)
    elif isinstance(image.source, QImage):
        result = library.search_image(qimage_to_pil(image.source), text=text or None, paths=False)
    else:
        result = library.search_image(image.source, text=text or None, paths=False)
    ranking = Ranking(seq, result.ids, result.good_count, list(result.hints))
    if known is not None:
        ranking.order = Order(result.ids, known)
        if result.good_count is not None:
            ranking.good_count = len(Order(result.ids[: result.good_count], known).ids)
    ranking.seconds = time.perf_counter() - started
    return ranking


def qimage_to_pil(image: QImage):
    """Pixels from the clipboard or a browser -> a PIL image (PNG bytes in between)."""
    import io

    from PIL import Image

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stub says bytes; PySide6 takes only str
    buffer.close()
    return Image.open(io.BytesIO(data.data())).convert("RGB")


def read_image(path: str, bound: QSize = QSize()) -> QImage:
    """A photo upright, within `bound` (none: full size), as the preview reads it (a HEIF's
    primary image)."""
    from .dialogs import read_image

    image, error = read_image(path, bound)
    if image.isNull():
        raise OSError(error)
    return image
