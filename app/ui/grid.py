"""The thumbnail grid: a list model over catalog ids, a painting delegate, an async thumbnail
loader with a bounded cache, and the view that shows them as a grid of uniform cells.

The model holds only ids (in display order) and the catalog records they point to. Searching
re-orders the ids; no image is reloaded. Thumbnails are read from the engine's thumbnail cache by
worker threads, scaled (and cropped to a square) while decoding, and only for items that are
painted, i.e. visible.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelection,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QImageReader,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QRegion,
)
from PySide6.QtWidgets import QAbstractItemView, QFrame, QLabel, QStyle, QStyledItemDelegate

from app.core.names import shown
from app.core.screen import Order, lookup, rows_of

from .desktop import file_url
from .lazy import numpy as np
from .workers import run_task

if TYPE_CHECKING:  # pragma: no cover
    from ..core.store.catalog import FileRecord, OfflineFolder

log = logging.getLogger(__name__)

RecordRole = Qt.ItemDataRole.UserRole + 1
IdRole = Qt.ItemDataRole.UserRole + 2
PathRole = Qt.ItemDataRole.UserRole + 3
GoodRole = Qt.ItemDataRole.UserRole + 4  # False below the good matches of a search
OfflineRole = Qt.ItemDataRole.UserRole + 5  # True for a photo whose folder is not connected

# -- model -----------------------------------------------------------------------------------------


class PhotoModel(QAbstractListModel):
    """Catalog ids in display order. `set_order` moves, inserts and removes rows so that the
    selection and the current item survive a re-order."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        # int64 arrays once photos are set; empty tuples until then (numpy loads after first paint)
        self._ids: np.ndarray | tuple = ()  # display order
        self._records: dict[int, FileRecord] = {}
        self._known: np.ndarray | None = None  # _known[id]: has a record
        self._row: np.ndarray | tuple = ()  # _row[id]: its row, or -1
        self.good_count: int | None = None  # search results: the first good_count rows match well
        self.offline: dict[int, OfflineFolder] = {}  # folders not connected, by id (Library.offline_folders)

    def set_offline(self, folders: dict[int, OfflineFolder]) -> None:
        """Which folders are offline; their photos are painted dimmed."""
        if folders != self.offline:
            self.offline = dict(folders)
            if len(self._ids):
                self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1), [OfflineRole])

    def offline_folder(self, record: FileRecord) -> OfflineFolder | None:
        """The offline folder a photo is in, None when it is connected."""
        return self.offline.get(record.folder_id) if self.offline else None

    def set_good_count(self, count: int | None) -> None:
        """Where the good matches of a search end (None: no divider); the view repaints."""
        if count != self.good_count:
            self.good_count = count
            if len(self._ids):
                self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1), [GoodRole])

    def is_weak(self, row: int) -> bool:
        """Drawn faded: below the good matches. With none at all nothing is faded (a grid all
        faded looks disabled); the line at the top says that nothing stands out."""
        return self.good_count is not None and self.good_count > 0 and row >= self.good_count

    # Qt API
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        file_id = int(self._ids[index.row()])
        if role == IdRole:
            return file_id
        if role == GoodRole:
            return not self.is_weak(index.row())
        record = self._records.get(file_id)
        if record is None:
            return None
        if role == RecordRole:
            return record
        if role == OfflineRole:
            return self.offline_folder(record) is not None
        if role == PathRole:
            return record.path
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return shown(Path(record.path).name)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [shown(Path(record.path).name)]
            if record.width and record.height:
                lines.append(f"{record.width} × {record.height}")
            if record.taken_at:
                lines.append(record.taken_at.replace("T", " "))
            lines.append(shown(str(Path(record.path).parent)))
            if (folder := self.offline_folder(record)) is not None:
                lines.append(f"Offline: {shown(str(folder.path))} is not connected")
            return "\n".join(lines)
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        paths = [self.data(i, PathRole) for i in indexes]
        mime.setUrls([file_url(p) for p in paths if p])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    # ours
    def ids(self) -> list[int]:
        return self._ids.tolist() if len(self._ids) else []  # type: ignore[union-attr]  # a tuple only while empty

    def paths(self) -> list[str]:
        return [self._records[i].path for i in self.ids()]

    def record(self, row: int) -> FileRecord:
        return self._records[int(self._ids[row])]

    def record_at(self, row: int) -> FileRecord | None:
        """The record shown at `row`, None past the end (the grid paints with it)."""
        return self._records.get(int(self._ids[row])) if 0 <= row < len(self._ids) else None

    def records(self) -> dict[int, FileRecord]:
        return self._records

    def row_of(self, file_id: int) -> int | None:
        if 0 <= file_id < len(self._row) and self._row[file_id] >= 0:
            return int(self._row[file_id])
        return None

    def index_of(self, file_id: int) -> QModelIndex:
        row = self.row_of(file_id)
        return QModelIndex() if row is None else self.index(row)

    def set_order(
        self, ids: Iterable[int] | Order, records: dict[int, FileRecord] | None = None, known: np.ndarray | None = None
    ) -> None:
        """Show `ids` in this order (ids without a record are left out). Vectorised: a re-order of
        100k photos costs milliseconds on the GUI thread, fewer when given as an `Order` worked out
        on a worker against the records shown. With new `records`, `known` may give which ids they
        hold (a bool array by id), so that it is not worked out here."""
        if records is not None:
            self._records, self._known = records, known
        if self._known is None:
            keys = np.fromiter(self._records, dtype=np.int64, count=len(self._records))
            self._known = np.zeros(int(keys.max()) + 1 if len(keys) else 0, dtype=bool)
            self._known[keys] = True
        if not (isinstance(ids, Order) and ids.known is self._known):  # else made for other records
            ids = Order(ids.ids if isinstance(ids, Order) else ids, self._known)
        new = ids.ids
        old = self._ids = np.asarray(self._ids, dtype=np.int64)
        if len(new) == len(old) and np.array_equal(new, old):
            return
        gone = np.flatnonzero(ids.row_of(old) < 0)
        breaks = np.flatnonzero(np.diff(gone) != 1) if len(gone) else np.empty(0, np.int64)
        if len(breaks) > 64 or (len(old) and len(gone) == len(old)):
            # A wholesale change (another folder, a new library): a reset is cheaper than moves.
            self.beginResetModel()
            self._ids, self._row = new, ids.rows
            self.endResetModel()
            return
        added_at = np.flatnonzero(lookup(np.asarray(self._row, dtype=np.int64), new) < 0)  # not shown before
        if not len(gone) and 0 < len(added_at) < len(new) and self._insert(ids, added_at):
            return
        added = new[added_at]
        for first, last in reversed(_ranges(gone)):
            self.beginRemoveRows(QModelIndex(), first, last)
            self._ids = np.delete(self._ids, slice(first, last + 1))
            self.endRemoveRows()
        if len(added):
            start = len(self._ids)
            self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
            self._ids = np.concatenate([self._ids, added])
            self._row = rows_of(self._ids)
            self.endInsertRows()
        if not np.array_equal(self._ids, new):  # what is left is a permutation: move, keep selection
            self.layoutAboutToBeChanged.emit()
            persistent = self.persistentIndexList()
            old_ids = [int(self._ids[p.row()]) if 0 <= p.row() < len(self._ids) else None for p in persistent]
            self._ids, self._row = new, ids.rows
            self.changePersistentIndexList(
                persistent, [self.index_of(i) if i is not None else QModelIndex() for i in old_ids]
            )
            self.layoutChanged.emit()
        else:
            self._row = ids.rows

    def _insert(self, order: Order, added_at: np.ndarray) -> bool:
        """Show `order` when it is the shown order with new photos put in (photos coming in while
        indexing): each run of them goes in where it belongs, so the others keep their order, the
        selection and the current photo, with no re-layout. False when it is not such an order."""
        new = order.ids
        runs = _ranges(added_at)
        if len(runs) > 16 or not np.array_equal(np.delete(new, added_at), self._ids):
            return False
        # Ascending: the rows before a run are then as in `new`. (`_row` is the old one until the
        # end; nothing that answers these signals asks for it.)
        for first, last in runs:
            self.beginInsertRows(QModelIndex(), first, last)
            self._ids = new if last == runs[-1][1] else np.insert(self._ids, first, new[first : last + 1])
            self.endInsertRows()
        self._row = order.rows
        return True

    def remove_ids(self, ids: Iterable[int]) -> None:
        drop = np.asarray(list(ids), dtype=np.int64)
        current = np.asarray(self._ids, dtype=np.int64)
        self.set_order(current[~np.isin(current, drop)])

    def thumbnails_ready(self, file_ids: list[int]) -> None:
        """A batch of thumbnails came: one change signal for the rows they span (a signal a photo
        was eight trips between Python and Qt each, on the GUI thread)."""
        rows = [row for row in map(self.row_of, file_ids) if row is not None]
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)), [Qt.ItemDataRole.DecorationRole])


def _ranges(rows) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for row in (int(r) for r in rows):
        if out and out[-1][1] == row - 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


# -- thumbnails ----------------------------------------------------------------------------------


def read_square_thumbnail(path: Path, side: int) -> QImage:
    """Decode an image file scaled to cover a `side` square and cropped to it (worker thread)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and size.width() > 0 and size.height() > 0:
        scale = side / min(size.width(), size.height())
        if scale < 1:
            w, h = max(side, round(size.width() * scale)), max(side, round(size.height() * scale))
            reader.setScaledSize(QSize(w, h))
            reader.setScaledClipRect(QRect((w - side) // 2, (h - side) // 2, side, side))
    image = reader.read()
    if image.isNull():
        raise OSError(reader.errorString())
    if image.width() != image.height():  # small source: crop what we have
        s = min(image.width(), image.height())
        image = image.copy((image.width() - s) // 2, (image.height() - s) // 2, s, s)
    return image.convertToFormat(QImage.Format.Format_RGB32)


def cell_image(path: Path, side: int, corners: QImage | None = None, ratio: float = 1.0) -> QImage:
    """A photo's grid cell picture (worker thread): its `side`-pixel square, with the corners of
    `corners` (`corner_mask`) cut off, for a screen of `ratio` device pixels a point. The grid then
    draws a cell in one call: a paint makes no round trips into Qt that a busy worker could make it
    wait for."""
    square = read_square_thumbnail(path, side)
    if square.width() != side:  # not a `side` square yet: a photo smaller than a cell, or of unknown size
        square = square.scaled(
            side, side, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    if corners is not None:
        square = square.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
        painter = QPainter(square)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationIn)
        painter.drawImage(0, 0, corners)
        painter.end()
    square.setDevicePixelRatio(ratio)
    return square


def corner_mask(side: int, radius: float) -> QImage:
    """An opaque `side` square with rounded, antialiased corners, to cut pictures' corners with."""
    mask = QImage(side, side, QImage.Format.Format_ARGB32_Premultiplied)
    mask.fill(0)
    outline = QPainterPath()
    outline.addRoundedRect(QRectF(0, 0, side, side), radius, radius)
    painter = QPainter(mask)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.fillPath(outline, QColor(0, 0, 0))
    painter.end()
    return mask


class ThumbnailLoader(QObject):
    """Loads thumbnails on a thread pool, newest request first; keeps a bounded LRU of QImages.

    Everything here is keyed by the photo's content fingerprint, not its catalog id: a picture
    belongs to content, so a changed file is never painted with its old picture, and copies of one
    photo share theirs."""

    loaded = Signal(object)  # the file ids of a batch of thumbnails just loaded (or failed)
    BATCH = 8  # thumbnails per task: a task and its reply cost the GUI thread more than a decode

    def __init__(self, library=None, capacity: int = 2000, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self.capacity = capacity
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.side = 160  # device pixels
        self.ratio = 1.0  # device pixels a point
        self._corners: QImage | None = None  # corner_mask, made here: the workers share it
        # fingerprint: ((side, ratio), image)
        self._cache: OrderedDict[str, tuple[tuple[int, float], QImage]] = OrderedDict()
        self._pending: OrderedDict[str, FileRecord] = OrderedDict()
        self._running: dict[str, set[int]] = {}  # fingerprint: the ids of the photos waiting for it
        self._tasks = 0  # batches in flight
        self._failed: set[str] = set()
        self._pump_due = False

    CACHE_BYTES = 400 * 2**20  # the pictures kept: as many as fit, up to `capacity`

    def set_library(self, library) -> None:
        self.library = library
        self.clear()

    def room(self) -> int:
        """How many pictures the cache keeps at the current size: fewer when each is larger
        (2000 cells of 700 device pixels would be 4 GB)."""
        return max(100, min(self.capacity, self.CACHE_BYTES // (4 * self.side * self.side)))

    def set_side(self, side: int, ratio: float = 1.0, radius: float = 0.0) -> None:
        """Load pictures `side` device pixels square, their corners rounded by `radius` points."""
        self.side, self.ratio = side, ratio
        self._corners = corner_mask(side, radius * ratio) if radius > 0 else None
        self._pending.clear()

    def clear(self) -> None:
        self._cache.clear()
        self._pending.clear()
        self._failed.clear()

    def failed(self, record: FileRecord) -> bool:
        return record.fingerprint in self._failed

    def image(self, record: FileRecord) -> QImage | None:
        """The best image we have now for a photo (maybe at another size); loads one otherwise."""
        return self.lookup(record)[0]

    def cached(self, record: FileRecord) -> QImage | None:
        """The picture in the cache for a photo, at whatever size; loads nothing."""
        hit = self._cache.get(record.fingerprint)
        return hit[1] if hit else None

    def lookup(self, record: FileRecord) -> tuple[QImage | None, bool]:
        """`image(record)`, and whether it is at the current size (else it is drawn scaled)."""
        key = record.fingerprint
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            if hit[0] == (self.side, self.ratio):
                return hit[1], True
        if key not in self._failed:
            self.request(record)
        return (hit[1], False) if hit else (None, False)

    def request(self, record: FileRecord) -> None:
        key = record.fingerprint
        if key in self._running:
            self._running[key].add(record.id)  # told too when it comes
            return
        self._pending[key] = record
        self._pending.move_to_end(key)
        while len(self._pending) > 400:  # scrolled far past these: forget them
            self._pending.popitem(last=False)
        if not self._pump_due:  # requests come from painting: start the work once the paint is done,
            self._pump_due = True  # not on the cores the paint needs (first paints took ~2x longer)
            QTimer.singleShot(0, self, self._pump)

    def _pump(self) -> None:
        self._pump_due = False
        while self._pending and self._tasks < self.pool.maxThreadCount() and self.library is not None:
            records: list[FileRecord] = []
            while self._pending and len(records) < self.BATCH:
                records.append(self._pending.popitem(last=True)[1])  # newest first: what is on screen now
            for r in records:
                self._running[r.fingerprint] = {r.id}
            self._tasks += 1
            size = (self.side, self.ratio)
            run_task(
                self.pool,
                _load_thumbnails,
                self.library,
                records,
                size,
                self._corners,
                on_result=self._done,
                on_error=lambda error, rs=records, size=size: self._done(
                    [(r.fingerprint, size, None, str(error)) for r in rs]
                ),
            )

    def _done(self, results: list[tuple[str, tuple[int, float], QImage | None, str | None]]) -> None:
        self._tasks -= 1
        ids: list[int] = []
        for key, size, image, error in results:
            ids += self._running.pop(key, ())
            if image is None:
                log.info("no thumbnail for %s: %s", key, error)
                self._failed.add(key)
            else:
                self._cache[key] = (size, image)
                self._cache.move_to_end(key)
        self.loaded.emit(ids)
        while len(self._cache) > self.room():
            self._cache.popitem(last=False)
        self._pump()

    def shutdown(self) -> None:
        self._pending.clear()
        self.pool.clear()
        self.pool.waitForDone(5000)


def _cell_picture(library, record: FileRecord, side: int, corners: QImage | None, ratio: float) -> QImage:
    if side > library.settings.thumb_size:  # larger than the cached thumbnail (big cells, a 2x screen):
        try:  # from the photo itself, so it stays sharp
            return cell_image(Path(record.path), side, corners, ratio)
        except OSError:  # offline, or a format Qt cannot read (HEIC): the thumbnail, scaled up
            pass
    try:
        return cell_image(library.thumbnail(record), side, corners, ratio)
    except OSError:  # a damaged cached thumbnail (a kill mid-write, a bad disk): made again from the photo, once
        return cell_image(library.thumbnail(record, remake=True), side, corners, ratio)


def _load_thumbnails(
    library, records: list[FileRecord], size: tuple[int, float], corners: QImage | None
) -> list[tuple[str, tuple[int, float], QImage | None, str | None]]:
    """(fingerprint, (side, ratio), image or None, why not) for each record (worker thread)."""
    side, ratio = size
    results: list[tuple[str, tuple[int, float], QImage | None, str | None]] = []
    for record in records:
        try:
            results.append((record.fingerprint, size, _cell_picture(library, record, side, corners, ratio), None))
        except Exception as e:  # noqa: BLE001 - one unreadable thumbnail must not lose the others
            results.append((record.fingerprint, size, None, str(e) or type(e).__name__))
    return results


# -- delegate --------------------------------------------------------------------------------------


# A cell to paint: x, y (its top left), record, weak, selected, hovered, focused, offline.
Cell = tuple[int, int, "FileRecord", bool, bool, bool, bool, bool]


class ThumbnailDelegate(QStyledItemDelegate):
    MARGIN = 3
    RADIUS = 6.0
    FADED = 1 - 110 / 255  # opacity of a weaker match
    OFFLINE = 0.4  # opacity of a photo whose folder is not connected

    def __init__(self, loader: ThumbnailLoader, parent: QObject | None = None):
        super().__init__(parent)
        self.loader = loader
        self.cell = 160
        self._outline_made: tuple[int | None, QPainterPath] = (None, QPainterPath())  # (picture side, path)
        self._palette_colours: tuple[int | None, tuple] = (None, ())  # (the palette's cacheKey, its colours)
        self._placeholders: dict[tuple, QImage] = {}  # by (cell, pixel ratio, colours, failed)
        self._badge: tuple[float | None, QImage] = (None, QImage())  # (pixel ratio, the "offline" mark)

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.cell, self.cell)

    @property
    def picture_side(self) -> int:
        """A cell's picture, in points: the cell less its margins."""
        return self.cell - 2 * self.MARGIN

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        """Qt's delegate API (the grid itself paints its cells with `paint_cells`)."""
        record: FileRecord | None = index.data(RecordRole)
        if record is not None:
            state, S = option.state, QStyle.StateFlag
            cell = (
                option.rect.x(),
                option.rect.y(),
                record,
                index.data(GoodRole) is False,
                bool(state & S.State_Selected),
                bool(state & S.State_MouseOver),
                bool(state & S.State_HasFocus),
                bool(index.data(OfflineRole)),
            )
            self.paint_cells(painter, [cell], option.palette)

    def paint_cells(self, painter: QPainter, cells: Iterable[Cell], palette: QPalette) -> None:
        """Paint cells given as (x, y, record, weak, selected, hovered, focused, offline), (x, y) the
        cell's top left; `weak`: below the good matches of a search; `offline`: its folder is not
        connected (dimmed, with a small "offline" mark; the cached thumbnail still shows it). A cell with its picture and nothing
        highlighted, nearly all of them, is one call into Qt: each call is a moment a worker thread
        running Python can keep the window waiting (a repaint took 3 ms alone, 20-60 ms beside two
        such threads with a dozen calls a cell)."""
        m = self.MARGIN
        opacity = 1.0
        painter.save()  # the hints, pen and brush set here stay here (the rubber band is drawn after)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for x, y, record, weak, selected, hovered, focused, offline in cells:
            faded = self.FADED if weak and not selected else 1.0
            faded = faded * self.OFFLINE if offline else faded
            if faded != opacity:  # a weaker match is drawn faded into the background, in one pass
                painter.setOpacity(faded)
                opacity = faded
            image, exact = self.loader.lookup(record)
            if exact:  # rounded and sized by the loader
                painter.drawImage(x + m, y + m, image)
            elif image is not None:  # at a previous size, until the new one comes
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                painter.drawImage(QRectF(x + m, y + m, self.picture_side, self.picture_side), image)
            else:  # not loaded yet, or cannot be
                painter.drawImage(x + m, y + m, self._placeholder(palette, self.loader.failed(record)))
            if selected or hovered or focused or offline:
                if opacity != 1.0:
                    painter.setOpacity(1.0)
                    opacity = 1.0
                if offline:
                    painter.drawImage(x + m + 4, y + m + self.picture_side - self.BADGE[1] - 4, self._offline_badge())
                self._paint_highlight(painter, x + m, y + m, selected, hovered, focused, palette)
        painter.restore()

    BADGE = (44, 16)  # the "offline" mark, in points

    def _offline_badge(self) -> QImage:
        """The small "offline" mark of a cell, drawn once per pixel ratio."""
        ratio = self.loader.ratio
        if self._badge[0] != ratio:
            w, h = self.BADGE
            image = QImage(round(w * ratio), round(h * ratio), QImage.Format.Format_ARGB32_Premultiplied)
            image.setDevicePixelRatio(ratio)
            image.fill(0)
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            path = QPainterPath()
            path.addRoundedRect(QRectF(0, 0, w, h), 4, 4)
            painter.fillPath(path, QColor(0, 0, 0, 170))
            painter.setPen(QColor(255, 255, 255))
            font = painter.font()
            font.setPixelSize(10)
            painter.setFont(font)
            painter.drawText(QRect(0, 0, w, h), Qt.AlignmentFlag.AlignCenter, "offline")
            painter.end()
            self._badge = (ratio, image)
        return self._badge[1]

    def _outline(self, x: float, y: float) -> QPainterPath:
        """The rounded outline of a cell's picture with its top left at (x, y)."""
        side = self.picture_side
        if self._outline_made[0] != side:
            path = QPainterPath()
            path.addRoundedRect(QRectF(0, 0, side, side), self.RADIUS, self.RADIUS)
            self._outline_made = (side, path)
        return self._outline_made[1].translated(x, y)

    def _placeholder(self, palette: QPalette, failed: bool) -> QImage:
        """The rounded square shown until a picture is loaded, with a "?" when it cannot be; drawn
        once per size and colours, so that a screenful of them is a screenful of single calls."""
        if self._palette_colours[0] != palette.cacheKey():
            colours = (
                palette.color(QPalette.ColorRole.Base).rgba(),
                palette.color(QPalette.ColorRole.PlaceholderText).rgba(),
            )
            self._palette_colours = (palette.cacheKey(), colours)
        colours = self._palette_colours[1]
        key = (self.cell, self.loader.ratio, colours, failed)
        made = self._placeholders
        if key not in made:
            ratio, side = self.loader.ratio, self.picture_side
            image = QImage(round(side * ratio), round(side * ratio), QImage.Format.Format_ARGB32_Premultiplied)
            image.setDevicePixelRatio(ratio)
            image.fill(0)
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            base = QColor.fromRgba(colours[0])
            painter.fillPath(self._outline(0, 0), base.darker(108) if base.lightness() > 128 else base.lighter(140))
            if failed:
                painter.setPen(QColor.fromRgba(colours[1]))
                painter.drawText(QRect(0, 0, side, side), Qt.AlignmentFlag.AlignCenter, "?")
            painter.end()
            if len(made) >= 8:  # old sizes and colours
                made.clear()
            made[key] = image
        return made[key]

    def _paint_highlight(
        self, painter: QPainter, x: int, y: int, selected: bool, hovered: bool, focused: bool, palette: QPalette
    ) -> None:
        """The hovered, selected or current (keyboard focus) look of a cell."""
        side = self.picture_side
        highlight = palette.color(QPalette.ColorRole.Highlight)
        if hovered and not selected:
            painter.fillPath(self._outline(x, y), QColor(255, 255, 255, 36))
        if selected:
            tint = QColor(highlight)
            tint.setAlpha(60)
            painter.fillPath(self._outline(x, y), tint)
            painter.setPen(QPen(highlight, 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(x + 1.5, y + 1.5, side - 3, side - 3), self.RADIUS - 1, self.RADIUS - 1)
        elif focused:  # the current cell while the grid has the keyboard
            painter.setPen(QPen(highlight, 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(x + 0.75, y + 0.75, side - 1.5, side - 1.5), self.RADIUS, self.RADIUS)


# -- view ----------------------------------------------------------------------------------------


class PhotoGrid(QAbstractItemView):
    """A grid of uniform square cells laid out by arithmetic, so a library of a million photos
    costs nothing more than one of a hundred: only the visible cells are ever asked for.
    Ctrl+wheel zooms, Space/Enter previews, a rubber band selects."""

    zoom_requested = Signal(int)  # +1 larger, -1 smaller
    preview_requested = Signal(int)  # row
    external_drop = Signal(object)  # something dropped from outside the grid
    escape_pressed = Signal()

    def __init__(self, model: PhotoModel, loader: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.loader = loader
        self.delegate = ThumbnailDelegate(loader, self)
        self.columns = 1
        self._hover = QPersistentModelIndex()
        self._band: QRect | None = None  # rubber band, viewport coordinates
        self._band_origin = QPoint()  # where it started, contents coordinates
        self._anchor: tuple[int, int] | None = None  # (row at the top, px of it above) while rows come in
        self.setModel(model)
        self.setItemDelegate(self.delegate)
        self.target_cell = 160
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setAccessibleName("Photos")
        self.empty_label = QLabel(self.viewport())  # what an empty grid says (set_empty_text)
        self.empty_label.setObjectName("gridEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text); font-size: 14px;")
        self.empty_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.empty_label.hide()
        self.doubleClicked.connect(lambda index: self.preview_requested.emit(index.row()))
        loader.loaded.connect(model.thumbnails_ready)
        model.rowsAboutToBeInserted.connect(self._rows_coming)  # (not a virtual of the view)
        self.set_cell_size(160)

    def photo_model(self) -> PhotoModel:
        return self.model()  # type: ignore[return-value]

    def set_empty_text(self, text: str) -> None:
        """What the grid says while it has no photo ("No photos in Pictures yet…"); "" for nothing."""
        self.empty_label.setText(text)
        self._place_empty_label()

    def _place_empty_label(self) -> None:
        show = bool(self.empty_label.text()) and not self._rows()
        if show:
            self.empty_label.setGeometry(self.viewport().rect().adjusted(24, 24, -24, -24))
        self.empty_label.setVisible(show)

    @property
    def cell(self) -> int:
        return self.delegate.cell

    def set_cell_size(self, cell: int) -> None:
        """Aim for cells of about `cell` px, stretched a little so the columns fill the width."""
        self.target_cell = cell
        self._fit_cells()
        current = self.currentIndex()
        if current.isValid() and self.selectionModel().isSelected(current):
            self.scrollTo(current)

    def _fit_cells(self) -> None:
        # Fit the columns to the width left beside a scroll bar whether or not one is shown: fitting
        # to the viewport makes the bar appear and vanish in turn (cells grow, a row spills over).
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self.verticalScrollBar())
        width = max(1, self.contentsRect().width() - bar - 1)
        columns = max(1, round(width / self.target_cell))
        cell = max(48, width // columns)
        ratio = self.devicePixelRatioF()
        if (cell, columns, ratio) == (self.delegate.cell, self.columns, self.loader.ratio):
            return  # (a new pixel ratio: the window went to a screen of another scale)
        self.delegate.cell, self.columns = cell, columns
        self.loader.set_side(int(round(self.delegate.picture_side * ratio)), ratio, ThumbnailDelegate.RADIUS)
        self.setIconSize(QSize(cell, cell))
        self.updateGeometries()
        self.viewport().update()

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())

    def selected_count(self) -> int:
        """How many photos are selected, from the selection's ranges (Select All on 100k photos
        is one range: no list of 100k indexes for the status bar's count)."""
        spans = sorted((s.top(), s.bottom()) for s in self.selectionModel().selection())  # type: ignore[attr-defined]
        count, end = 0, -1
        for top, bottom in spans:  # ranges may overlap: count each row once
            if bottom > end:
                count += bottom - max(top, end + 1) + 1
                end = bottom
        return count

    # -- geometry: row <-> rectangle ---------------------------------------------------------

    def _rows(self) -> int:
        return self.model().rowCount() if self.model() is not None else 0

    def _row_rect(self, row: int) -> QRect:
        """A row's cell in viewport coordinates."""
        cell = self.delegate.cell
        return QRect((row % self.columns) * cell, (row // self.columns) * cell - self.verticalOffset(), cell, cell)

    def _visible_rows(self, rect: QRect) -> range:
        """Rows whose cells meet `rect` (viewport coordinates), as one range of whole grid rows."""
        cell, top = self.delegate.cell, self.verticalOffset()
        first = max(0, (rect.top() + top) // cell) * self.columns
        last = min(self._rows(), ((rect.bottom() + top) // cell + 1) * self.columns)
        return range(first, max(first, last))

    def visualRect(self, index: QModelIndex) -> QRect:
        if not index.isValid() or index.model() is not self.model():
            return QRect()
        return self._row_rect(index.row())

    def indexAt(self, point: QPoint) -> QModelIndex:
        cell = self.delegate.cell
        column = point.x() // cell
        row = ((point.y() + self.verticalOffset()) // cell) * self.columns + column
        if point.x() < 0 or point.y() < 0 or column >= self.columns or not 0 <= row < self._rows():
            return QModelIndex()
        return self.model().index(row, 0)

    def scrollTo(self, index: QModelIndex, hint=QAbstractItemView.ScrollHint.EnsureVisible) -> None:
        if not index.isValid():
            return
        cell, height = self.delegate.cell, self.viewport().height()
        top = (index.row() // self.columns) * cell
        bar = self.verticalScrollBar()
        if hint == QAbstractItemView.ScrollHint.PositionAtTop:
            bar.setValue(top)
        elif hint == QAbstractItemView.ScrollHint.PositionAtBottom:
            bar.setValue(top + cell - height)
        elif hint == QAbstractItemView.ScrollHint.PositionAtCenter:
            bar.setValue(top + cell // 2 - height // 2)
        elif top < bar.value():
            bar.setValue(top)
        elif top + cell > bar.value() + height:
            bar.setValue(top + cell - height)

    def horizontalOffset(self) -> int:
        return 0

    def verticalOffset(self) -> int:
        return self.verticalScrollBar().value()

    def isIndexHidden(self, index: QModelIndex) -> bool:
        return False

    def moveCursor(self, action, modifiers) -> QModelIndex:
        rows = self._rows()
        if rows == 0:
            return QModelIndex()
        current = self.currentIndex()
        row = current.row() if current.isValid() else -1
        per_page = max(1, self.viewport().height() // self.delegate.cell) * self.columns
        A = QAbstractItemView.CursorAction
        if row < 0:
            row = 0
        elif action in (A.MoveLeft, A.MovePrevious):
            row -= 1
        elif action in (A.MoveRight, A.MoveNext):
            row += 1
        elif action == A.MoveUp:
            row = row - self.columns if row >= self.columns else row
        elif action == A.MoveDown:
            row = row + self.columns if row + self.columns < rows else row
        elif action == A.MovePageUp:
            row = max(row % self.columns, row - per_page)
        elif action == A.MovePageDown:
            row = min(rows - 1, row + per_page)
        elif action == A.MoveHome:
            row = 0
        elif action == A.MoveEnd:
            row = rows - 1
        return self.model().index(max(0, min(rows - 1, row)), 0)

    def setSelection(self, rect: QRect, command) -> None:
        """A rubber band selects the cells it touches; Shift+click and Shift+arrows select every
        photo between the anchor and the current one, in reading order, like a file manager."""
        rect = rect.normalized()
        if self.state() != QAbstractItemView.State.DragSelectingState:
            corners = [
                self.indexAt(p) for p in (rect.topLeft(), rect.bottomRight(), rect.topRight(), rect.bottomLeft())
            ]
            pair = corners[2:] if self.currentIndex() in corners[2:] else corners[:2]
            if all(i.isValid() for i in pair):
                first, last = sorted(i.row() for i in pair)
                self.selectionModel().select(
                    QItemSelection(self.model().index(first, 0), self.model().index(last, 0)), command
                )
                return
        cell, top = self.delegate.cell, self.verticalOffset()
        first_col = max(0, rect.left() // cell)
        last_col = min(self.columns - 1, rect.right() // cell)
        selection = QItemSelection()
        if first_col <= last_col:
            model, rows = self.model(), self._rows()
            for grid_row in range(max(0, (rect.top() + top) // cell), (rect.bottom() + top) // cell + 1):
                first = grid_row * self.columns + first_col
                last = min(rows - 1, grid_row * self.columns + last_col)
                if first > last:
                    break
                selection.select(model.index(first, 0), model.index(last, 0))
        self.selectionModel().select(selection, command)

    def visualRegionForSelection(self, selection: QItemSelection) -> QRegion:
        region = QRegion()
        for row in self._selected_rows_in(self._visible_rows(self.viewport().rect()), selection):
            region += self._row_rect(row)
        return region

    def _selected_rows_in(self, rows: range, selection: QItemSelection | None = None) -> set[int]:
        """The rows of `rows` in `selection` (default: the view's), from its ranges."""
        selected: set[int] = set()
        # iterable at run time; PySide6's hints miss it
        for span in self.selectionModel().selection() if selection is None else selection:  # type: ignore[attr-defined]
            selected.update(range(max(span.top(), rows.start), min(span.bottom(), rows.stop - 1) + 1))
        return selected

    def updateGeometries(self) -> None:
        cell = self.delegate.cell
        height = -(-self._rows() // self.columns) * cell
        bar = self.verticalScrollBar()
        bar.setRange(0, max(0, height - self.viewport().height()))
        bar.setPageStep(self.viewport().height())
        bar.setSingleStep(max(20, cell // 4))
        super().updateGeometries()

    def doItemsLayout(self) -> None:  # after a reset or a re-order: nothing to lay out, only to size
        self.updateGeometries()
        self.viewport().update()
        super().doItemsLayout()

    def _rows_coming(self, parent: QModelIndex, start: int, end: int) -> None:
        # Photos coming in above the one at the top of the view would push it down (the offset is
        # in pixels): keep it where the user sees it. At the very top the view stays at the top.
        top = self.verticalOffset()
        if top > 0 and self._anchor is None:
            row = (top // self.delegate.cell) * self.columns
            self._anchor = (row, top - (row // self.columns) * self.delegate.cell)
        if self._anchor is not None and start <= self._anchor[0]:
            self._anchor = (self._anchor[0] + end - start + 1, self._anchor[1])

    def rowsInserted(self, parent: QModelIndex, start: int, end: int) -> None:
        super().rowsInserted(parent, start, end)
        self.updateGeometries()
        if self._anchor is not None:
            row, within = self._anchor
            self.verticalScrollBar().setValue((row // self.columns) * self.delegate.cell + within)
            QTimer.singleShot(0, self._drop_anchor)  # the runs of one update share it
        self.viewport().update()

    def _drop_anchor(self) -> None:
        self._anchor = None

    def rowsAboutToBeRemoved(self, parent: QModelIndex, start: int, end: int) -> None:
        super().rowsAboutToBeRemoved(parent, start, end)
        QTimer.singleShot(0, self.doItemsLayout)  # once the rows are gone

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self.viewport().scroll(dx, dy)

    # -- painting ----------------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        # Each cell's state is worked out here in Python, from a few calls for the whole paint:
        # every call into Qt is a moment a busy worker thread can keep the window waiting.
        if self.devicePixelRatioF() != self.loader.ratio:  # moved to a screen of another scale
            self._fit_cells()
        painter = QPainter(self.viewport())
        photos = self.photo_model()
        rows = self._visible_rows(event.rect())
        selected = self._selected_rows_in(rows)
        current = self.currentIndex()
        focus_row = current.row() if self.hasFocus() and current.isValid() else -1
        hover_row = self._hover.row() if self._hover.isValid() else -1
        cell, columns, top = self.delegate.cell, self.columns, self.verticalOffset()
        offline = photos.offline
        cells = []
        for row in rows:
            record = photos.record_at(row)
            if record is not None:
                cells.append(
                    (
                        (row % columns) * cell,
                        (row // columns) * cell - top,
                        record,
                        photos.is_weak(row),
                        row in selected,
                        row == hover_row,
                        row == focus_row,
                        bool(offline) and record.folder_id in offline,
                    )
                )
        self.delegate.paint_cells(painter, cells, self.palette())
        self._paint_divider(painter)
        if self._band is not None:
            color = self.palette().color(QPalette.ColorRole.Highlight)
            painter.setPen(color)
            color.setAlpha(50)
            painter.setBrush(color)
            painter.drawRect(self._band.adjusted(0, 0, -1, -1))
        if self.property("dropTarget"):
            self._paint_drop_frame(painter)
        painter.end()

    def _paint_drop_frame(self, painter: QPainter) -> None:
        color = self.palette().color(QPalette.ColorRole.Highlight)
        painter.setPen(QPen(color, 3))
        color.setAlpha(25)
        painter.setBrush(color)
        painter.drawRect(self.viewport().rect().adjusted(1, 1, -2, -2))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_cells()
        self.updateGeometries()
        self._place_empty_label()

    # -- where the good matches of a search end ----------------------------------------------

    DIVIDER_TEXT = "Weaker matches"

    def divider_segments(self) -> list[tuple[QPoint, QPoint]]:
        """The line between the good matches and the rest, in viewport coordinates: above the
        first weaker match's row and, when that row starts with good ones, a step around them."""
        model = self.photo_model()
        count = model.good_count
        if count is None or count <= 0 or count >= model.rowCount():
            return []
        first_weak = self.visualRect(model.index(count, 0))
        if not first_weak.isValid():
            return []
        right = self.columns * self.delegate.cell
        top, bottom, x = first_weak.top(), first_weak.bottom() + 1, first_weak.left()
        if x <= 0:  # the weaker ones start a row: one straight line
            return [(QPoint(0, top), QPoint(right, top))]
        return [
            (QPoint(x, top), QPoint(right, top)),
            (QPoint(x, top), QPoint(x, bottom)),
            (QPoint(0, bottom), QPoint(x, bottom)),
        ]

    def divider_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        return font

    def divider_label_rect(self) -> QRectF:
        """Where the "Weaker matches" label goes: on the longer of the line's horizontal parts,
        at its right end, and always whole inside the view (never cut by its edges, whatever
        the cell size, the width or the scroll position); empty without a divider."""
        segments = self.divider_segments()
        if not segments:
            return QRectF()
        metrics = QFontMetrics(self.divider_font())
        width, height = metrics.horizontalAdvance(self.DIVIDER_TEXT) + 14, metrics.height() + 4
        a, b = max((segments[0], segments[-1]), key=lambda s: s[1].x() - s[0].x())
        view = QRectF(self.viewport().rect())
        if not view.top() - height <= a.y() <= view.bottom() + height:  # the line is scrolled away
            return QRectF()
        x = max(view.left() + 2, min(b.x() - width - 6, view.right() - width - 2))
        y = max(view.top() + 1, min(a.y() - height / 2, view.bottom() - height - 1))
        return QRectF(x, y, min(width, view.width() - 4), height)

    def _paint_divider(self, painter: QPainter) -> None:
        model = self.photo_model()
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        segments = self.divider_segments()
        if not segments:
            if model.good_count == 0 and model.rowCount():  # nothing stands out for this query
                painter.setPen(QPen(highlight, 2))
                painter.drawLine(
                    QPoint(0, 1 - self.verticalOffset()), QPoint(self.viewport().width(), 1 - self.verticalOffset())
                )
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(highlight, 2))
        for a, b in segments:
            painter.drawLine(a, b)
        font = self.divider_font()
        painter.setFont(font)
        label = self.divider_label_rect()
        if not label.isEmpty():
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(highlight)
            painter.drawRoundedRect(label, label.height() / 2, label.height() / 2)
            painter.setPen(self.palette().color(QPalette.ColorRole.HighlightedText))
            painter.drawText(label, Qt.AlignmentFlag.AlignCenter, self.DIVIDER_TEXT)
        painter.restore()

    # -- mouse: hover and the rubber band ----------------------------------------------------

    def mousePressEvent(self, event) -> None:
        self._band_origin = event.position().toPoint() + QPoint(0, self.verticalOffset())
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        super().mouseMoveEvent(event)
        index = self.indexAt(event.position().toPoint())
        if QPersistentModelIndex(index) != self._hover:
            for old in (self._hover, index):
                if old.isValid():
                    self.viewport().update(self._row_rect(old.row()))
            self._hover = QPersistentModelIndex(index)
        if self.state() == QAbstractItemView.State.DragSelectingState:
            old_band = self._band
            origin = self._band_origin - QPoint(0, self.verticalOffset())
            self._band = QRect(origin, event.position().toPoint()).normalized()
            self.viewport().update((old_band or self._band).united(self._band).adjusted(-2, -2, 2, 2))

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if self._band is not None:
            self._band = None
            self.viewport().update()

    def leaveEvent(self, event) -> None:
        if self._hover.isValid():
            self.viewport().update(self._row_rect(self._hover.row()))
        self._hover = QPersistentModelIndex()
        super().leaveEvent(event)

    # events
    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            delta = event.angleDelta().y()
            if delta:
                self.zoom_requested.emit(1 if delta > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and not event.modifiers():
            self.escape_pressed.emit()
            event.accept()
            return
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            current = self.currentIndex()
            if current.isValid():
                self.preview_requested.emit(current.row())
                event.accept()
                return
        super().keyPressEvent(event)

    def _external(self, event) -> bool:
        return event.source() is not self and (event.mimeData().hasUrls() or event.mimeData().hasImage())

    def set_drop_target(self, on: bool) -> None:
        """Highlight the grid while a drop from outside hovers over it (see paintEvent)."""
        if bool(self.property("dropTarget")) != on:
            self.setProperty("dropTarget", on)
            self.viewport().update()

    def dragEnterEvent(self, event) -> None:
        self.dragMoveEvent(event)

    def dragMoveEvent(self, event) -> None:
        if self._external(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.set_drop_target(True)
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:
        self.set_drop_target(False)
        super().dragLeaveEvent(event)

    def dropEvent(self, event) -> None:
        self.set_drop_target(False)
        if self._external(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.external_drop.emit(event.mimeData())
        else:
            event.ignore()


__all__ = [
    "PhotoModel",
    "PhotoGrid",
    "ThumbnailLoader",
    "ThumbnailDelegate",
    "read_square_thumbnail",
    "RecordRole",
    "IdRole",
    "PathRole",
    "GoodRole",
    "OfflineRole",
    "QPersistentModelIndex",
]
