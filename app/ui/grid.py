"""The thumbnail grid: a list model over catalog ids, a painting delegate, an async thumbnail
loader with a bounded cache, and the QListView that shows them.

The model holds only ids (in display order) and the catalog records they point to. Searching
re-orders the ids; no image is reloaded. Thumbnails are read from the engine's thumbnail cache by
worker threads, scaled (and cropped to a square) while decoding, and only for items that are
painted, i.e. visible.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

from PySide6.QtCore import (QAbstractListModel, QMimeData, QModelIndex, QObject, QPersistentModelIndex, QRect,
                            QRectF, QSize, QThreadPool, Qt, QUrl, Signal)
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

from ..core.catalog import FileRecord
from .workers import run_task

log = logging.getLogger(__name__)

RecordRole = Qt.ItemDataRole.UserRole + 1
IdRole = Qt.ItemDataRole.UserRole + 2
PathRole = Qt.ItemDataRole.UserRole + 3

# -- model -----------------------------------------------------------------------------------------


class PhotoModel(QAbstractListModel):
    """Catalog ids in display order. `set_order` moves, inserts and removes rows so that the
    selection and the current item survive a re-order."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._ids: list[int] = []
        self._records: dict[int, FileRecord] = {}
        self._row: dict[int, int] = {}

    # Qt API
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        file_id = self._ids[index.row()]
        if role == IdRole:
            return file_id
        record = self._records.get(file_id)
        if record is None:
            return None
        if role == RecordRole:
            return record
        if role == PathRole:
            return record.path
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return Path(record.path).name
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [Path(record.path).name]
            if record.width and record.height:
                lines.append(f"{record.width} × {record.height}")
            if record.taken_at:
                lines.append(record.taken_at.replace("T", " "))
            lines.append(str(Path(record.path).parent))
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
        mime.setUrls([QUrl.fromLocalFile(p) for p in paths if p])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    # ours
    def ids(self) -> list[int]:
        return list(self._ids)

    def paths(self) -> list[str]:
        return [self._records[i].path for i in self._ids]

    def record(self, row: int) -> FileRecord:
        return self._records[self._ids[row]]

    def row_of(self, file_id: int) -> int | None:
        return self._row.get(file_id)

    def index_of(self, file_id: int) -> QModelIndex:
        row = self._row.get(file_id)
        return QModelIndex() if row is None else self.index(row)

    def _reindex(self) -> None:
        self._row = {file_id: row for row, file_id in enumerate(self._ids)}

    def set_order(self, ids: Iterable[int], records: dict[int, FileRecord] | None = None) -> None:
        """Show `ids` in this order (ids without a record are left out)."""
        if records is not None:
            self._records = records
        new = [i for i in dict.fromkeys(ids) if i in self._records]
        if new == self._ids:
            return
        new_set = set(new)
        gone_rows = [row for row, i in enumerate(self._ids) if i not in new_set]
        ranges = _ranges(gone_rows)
        if len(ranges) > 64 or (self._ids and len(gone_rows) == len(self._ids)):
            # A wholesale change (another folder, a new library): a reset is cheaper than moves.
            self.beginResetModel()
            self._ids = new
            self._reindex()
            self.endResetModel()
            return
        for first, last in reversed(ranges):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._ids[first:last + 1]
            self.endRemoveRows()
        present = set(self._ids)
        added = [i for i in new if i not in present]
        if added:
            start = len(self._ids)
            self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
            self._ids.extend(added)
            self.endInsertRows()
        if self._ids != new:
            self.layoutAboutToBeChanged.emit()
            persistent = self.persistentIndexList()
            old_ids = [self._ids[p.row()] if 0 <= p.row() < len(self._ids) else None for p in persistent]
            self._ids = new
            self._reindex()
            self.changePersistentIndexList(
                persistent, [self.index(self._row[i]) if i is not None else QModelIndex() for i in old_ids])
            self.layoutChanged.emit()
        else:
            self._reindex()

    def remove_ids(self, ids: Iterable[int]) -> None:
        drop = set(ids)
        self.set_order([i for i in self._ids if i not in drop])

    def thumbnail_ready(self, file_id: int) -> None:
        row = self._row.get(file_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])


def _ranges(rows: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for row in rows:
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


class ThumbnailLoader(QObject):
    """Loads thumbnails on a thread pool, newest request first; keeps a bounded LRU of QImages."""

    loaded = Signal(int)  # file id

    def __init__(self, library=None, capacity: int = 2000, parent: QObject | None = None):
        super().__init__(parent)
        self.library = library
        self.capacity = capacity
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.side = 160
        self._cache: OrderedDict[int, tuple[int, QImage]] = OrderedDict()
        self._pending: OrderedDict[int, FileRecord] = OrderedDict()
        self._running: set[int] = set()
        self._failed: set[int] = set()

    def set_library(self, library) -> None:
        self.library = library
        self.clear()

    def set_side(self, side: int) -> None:
        self.side = side
        self._pending.clear()

    def clear(self) -> None:
        self._cache.clear()
        self._pending.clear()
        self._failed.clear()

    def failed(self, file_id: int) -> bool:
        return file_id in self._failed

    def image(self, record: FileRecord) -> QImage | None:
        """The best image we have now for a photo (maybe at another size); loads one otherwise."""
        hit = self._cache.get(record.id)
        if hit is not None:
            self._cache.move_to_end(record.id)
            if hit[0] == self.side:
                return hit[1]
        if record.id not in self._failed:
            self.request(record)
        return hit[1] if hit else None

    def request(self, record: FileRecord) -> None:
        if record.id in self._running:
            return
        self._pending[record.id] = record
        self._pending.move_to_end(record.id)
        while len(self._pending) > 400:  # scrolled far past these: forget them
            self._pending.popitem(last=False)
        self._pump()

    def _pump(self) -> None:
        while self._pending and len(self._running) < self.pool.maxThreadCount() and self.library is not None:
            file_id, record = self._pending.popitem(last=True)  # newest first: what is on screen now
            self._running.add(file_id)
            side, library = self.side, self.library
            run_task(self.pool, _load_thumbnail, library, record, side,
                     on_result=lambda result, fid=file_id, s=side: self._done(fid, s, result),
                     on_error=lambda error, fid=file_id: self._error(fid, error))

    def _done(self, file_id: int, side: int, image: QImage) -> None:
        self._running.discard(file_id)
        self._cache[file_id] = (side, image)
        self._cache.move_to_end(file_id)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        self.loaded.emit(file_id)
        self._pump()

    def _error(self, file_id: int, error: BaseException) -> None:
        log.info("no thumbnail for %s: %s", file_id, error)
        self._running.discard(file_id)
        self._failed.add(file_id)
        self.loaded.emit(file_id)
        self._pump()

    def shutdown(self) -> None:
        self._pending.clear()
        self.pool.clear()
        self.pool.waitForDone(5000)


def _load_thumbnail(library, record: FileRecord, side: int) -> QImage:
    return read_square_thumbnail(library.thumbnail(record), side)


# -- delegate --------------------------------------------------------------------------------------


class ThumbnailDelegate(QStyledItemDelegate):
    MARGIN = 3
    RADIUS = 6.0

    def __init__(self, loader: ThumbnailLoader, parent: QObject | None = None):
        super().__init__(parent)
        self.loader = loader
        self.cell = 160

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.cell, self.cell)

    def paint(self, painter: QPainter, option, index: QModelIndex) -> None:
        record: FileRecord | None = index.data(RecordRole)
        if record is None:
            return
        palette = option.palette
        state = option.state
        selected = bool(state & QStyle.StateFlag.State_Selected)
        hovered = bool(state & QStyle.StateFlag.State_MouseOver)
        focused = bool(state & QStyle.StateFlag.State_HasFocus)
        m = self.MARGIN
        rect = QRectF(option.rect).adjusted(m, m, -m, -m)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        path = QPainterPath()
        path.addRoundedRect(rect, self.RADIUS, self.RADIUS)
        image = self.loader.image(record)
        if image is None:
            base = palette.color(QPalette.ColorRole.Base)
            placeholder = base.darker(108) if base.lightness() > 128 else base.lighter(140)
            painter.fillPath(path, placeholder)
            if self.loader.failed(record.id):
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "?")
        else:
            painter.setClipPath(path)
            if image.width() != int(rect.width()):
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(rect, image)
            painter.setClipping(False)
        if hovered and not selected:
            painter.fillPath(path, QColor(255, 255, 255, 36))
        if selected:
            highlight = palette.color(QPalette.ColorRole.Highlight)
            tint = QColor(highlight)
            tint.setAlpha(60)
            painter.fillPath(path, tint)
            pen = QPen(highlight, 3)
            painter.setPen(pen)
            painter.drawRoundedRect(rect.adjusted(1.5, 1.5, -1.5, -1.5), self.RADIUS - 1, self.RADIUS - 1)
        elif focused:
            pen = QPen(palette.color(QPalette.ColorRole.Highlight), 1.5)
            painter.setPen(pen)
            painter.drawRoundedRect(rect.adjusted(0.75, 0.75, -0.75, -0.75), self.RADIUS, self.RADIUS)
        painter.restore()


# -- view ----------------------------------------------------------------------------------------


class PhotoGrid(QListView):
    """An icon-mode list of uniform square cells; Ctrl+wheel zooms, Space/Enter previews."""

    zoom_requested = Signal(int)  # +1 larger, -1 smaller
    preview_requested = Signal(int)  # row
    external_drop = Signal(object)  # something dropped from outside the grid
    escape_pressed = Signal()

    def __init__(self, model: PhotoModel, loader: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.loader = loader
        self.delegate = ThumbnailDelegate(loader, self)
        self.setModel(model)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setWrapping(True)
        self.setSpacing(0)  # the delegate leaves the gaps; cells tile the width exactly
        self.target_cell = 160
        self.setLayoutMode(QListView.LayoutMode.SinglePass)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setFrameShape(QListView.Shape.NoFrame)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setAccessibleName("Photos")
        self.doubleClicked.connect(lambda index: self.preview_requested.emit(index.row()))
        loader.loaded.connect(model.thumbnail_ready)
        self.set_cell_size(160)

    def photo_model(self) -> PhotoModel:
        return self.model()  # type: ignore[return-value]

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
        if cell == self.delegate.cell:
            return
        self.delegate.cell = cell
        ratio = self.devicePixelRatioF()
        self.loader.set_side(int(round((cell - 2 * ThumbnailDelegate.MARGIN) * ratio)))
        self.setIconSize(QSize(cell, cell))
        self.verticalScrollBar().setSingleStep(max(20, cell // 4))
        self.doItemsLayout()
        self.viewport().update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_cells()

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())

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

    def dragEnterEvent(self, event) -> None:
        if self._external(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        if self._external(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        if self._external(event):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self.external_drop.emit(event.mimeData())
        else:
            event.ignore()


__all__ = ["PhotoModel", "PhotoGrid", "ThumbnailLoader", "ThumbnailDelegate", "read_square_thumbnail",
           "RecordRole", "IdRole", "PathRole", "QPersistentModelIndex"]
