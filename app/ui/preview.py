"""The preview: a large, upright view of one photo at a time, stepping through the grid's photos.

`PhotoPreview` opens it on the grid's photos (saying which are not connected) and keeps the
grid's current photo on the one shown; `PreviewDialog` reads the photos on its own thread.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QGuiApplication, QImage, QKeyEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ..core.config import APP_NAME
from ..core.names import shown
from .grid import PhotoGrid, PhotoModel
from .offline import not_connected


class PhotoPreview(QObject):
    """Opens the preview on the grid's photos; stepping in it moves the grid's current photo."""

    def __init__(self, grid: PhotoGrid, model: PhotoModel, parent: QWidget):
        super().__init__(parent)
        self._grid, self._model, self._parent = grid, model, parent
        self.dialog: PreviewDialog | None = None  # the one open

    def open(self, row: int) -> None:
        if not 0 <= row < self._model.rowCount():
            return
        model = self._model
        unavailable = (
            {
                i: not_connected(r.path, f)
                for i, r in enumerate(map(model.record, range(model.rowCount())))
                if (f := model.offline_folder(r)) is not None
            }
            if model.offline
            else None
        )
        dialog = PreviewDialog(model.paths(), row, self._parent, unavailable)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.current_changed.connect(self._moved)
        dialog.destroyed.connect(lambda *_: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.show()

    def _moved(self, row: int) -> None:
        if 0 <= row < self._model.rowCount():
            index = self._model.index(row)
            self._grid.setCurrentIndex(index)
            self._grid.scrollTo(index)


class _ImageView(QWidget):
    """Paints one image centred on a dark background, shrunk to fit (never blown up: small
    pictures stay crisp at 100 %)."""

    BACKGROUND = QColor(24, 24, 24)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self._message = ""
        self._scaled = QPixmap()  # cached for the current widget size; rescaling is not free
        self.setMinimumSize(200, 150)

    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage) -> None:
        self._image, self._message, self._scaled = image, "", QPixmap()
        self.update()

    def set_message(self, text: str) -> None:
        self._image, self._message, self._scaled = QImage(), text, QPixmap()
        self.update()

    def message(self) -> str:
        return self._message

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.BACKGROUND)
        if self._image.isNull():
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(
                self.rect().adjusted(20, 20, -20, -20),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._message,
            )
            return
        dpr = self.devicePixelRatioF()
        room = QSize(int(self.width() * dpr), int(self.height() * dpr))
        target = self._image.size()
        if target.width() > room.width() or target.height() > room.height():
            target = target.scaled(room, Qt.AspectRatioMode.KeepAspectRatio)
        if self._scaled.size() != target:
            self._scaled = QPixmap.fromImage(
                self._image.scaled(
                    target, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
            self._scaled.setDevicePixelRatio(dpr)
        w, h = target.width() / dpr, target.height() / dpr
        painter.drawPixmap(int((self.width() - w) / 2), int((self.height() - h) / 2), self._scaled)


class _Loaded(QObject):
    """Carries a finished read from the worker thread back to the GUI thread (queued)."""

    done = Signal(int, QImage, str)  # index, image (null if not read), error ("" if skipped)


class _ReadTask(QRunnable):
    """Reads one photo on the pool's thread and reports back through `loaded`."""

    def __init__(self, path: str, index: int, bound: QSize, loaded: _Loaded, wanted, read_image) -> None:
        super().__init__()
        self.path, self.index, self.bound, self.loaded, self.wanted = path, index, bound, loaded, wanted
        self.read_image = read_image

    def run(self) -> None:
        if not self.wanted(self.index):  # the user has stepped far past it already
            self.loaded.done.emit(self.index, QImage(), "")
            return
        image, error = self.read_image(self.path, self.bound)
        self.loaded.done.emit(self.index, image, (error or "unreadable") if image.isNull() else "")


class PreviewDialog(QDialog):
    """A large, upright view of one photo; Left/Right step through `paths`, Esc closes."""

    current_changed = Signal(int)

    _CACHE = 5  # images kept around so stepping back and forth is instant

    def __init__(
        self, paths: list[str], index: int, parent: QWidget | None = None, unavailable: dict[int, str] | None = None
    ) -> None:
        """`unavailable`: why photos (by index) cannot be read, without trying (not connected)."""
        super().__init__(parent)
        # (the engine's imaging reads them: imported once a preview opens, not with the window)
        from .dialogs import read_image

        self._read_image = read_image
        self._paths = [os.fspath(p) for p in paths]
        self._index = max(0, min(index, len(self._paths) - 1))
        self._shown = -1  # index whose image (or error) is on screen
        self._cache: dict[int, QImage] = {}
        self._errors: dict[int, str] = dict(unavailable or {})
        self._pending: set[int] = set()
        self._closed = False

        # The pool is created before the signal carrier, so when the dialog is destroyed the pool
        # (which waits for its worker) goes first and no worker emits on a deleted object.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # the current photo first, then its neighbours
        self._loaded = _Loaded(self)
        self._loaded.done.connect(self._on_loaded)

        self._view = _ImageView(self)
        self._prev = self._nav_button("‹", "Previous photo (Left arrow)", self.previous)
        self._next = self._nav_button("›", "Next photo (Right arrow)", self.next)
        self._caption = QLabel(self)
        self._caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._caption.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        font = self._caption.font()
        font.setPointSizeF(font.pointSizeF() * 0.9)
        self._caption.setFont(font)

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 6)
        bar.addWidget(self._prev)
        bar.addWidget(self._caption, 1)
        bar.addWidget(self._next)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._view, 1)
        layout.addLayout(bar)

        palette = self.palette()
        for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Button, QPalette.ColorRole.Base):
            palette.setColor(role, _ImageView.BACKGROUND)
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text):
            palette.setColor(role, QColor(200, 200, 200))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(85, 85, 85))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        # the main window's style sheet would otherwise paint the caption in its dark default text
        self.setStyleSheet("QLabel, QToolButton { color: rgb(200, 200, 200); }")

        screen = self.screen() or QGuiApplication.primaryScreen()
        avail = screen.availableGeometry().size()
        self.resize(int(avail.width() * 0.8), int(avail.height() * 0.8))
        # Read no more pixels than the screen can show (in device pixels, for HiDPI).
        self._bound = screen.size() * screen.devicePixelRatio()
        self._show_current()

    def _nav_button(self, glyph: str, tip: str, slot) -> QToolButton:
        # A large glyph rather than the style's arrow, which some styles draw tiny.
        button = QToolButton(self)
        button.setText(glyph)
        font = button.font()
        font.setPointSizeF(font.pointSizeF() * 2.2)
        button.setFont(font)
        button.setAutoRaise(True)
        button.setMinimumWidth(44)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep the arrow keys for stepping
        button.clicked.connect(slot)
        return button

    # -- public API

    def current_index(self) -> int:
        return self._index

    def current_path(self) -> str | None:
        return self._paths[self._index] if self._paths else None

    def image(self) -> QImage:
        """The image on screen (null while loading or when the file cannot be read)."""
        return self._view.image()

    def shown_index(self) -> int:
        """Index of the photo whose pixels (or error) are on screen; -1 while loading."""
        return self._shown

    def message(self) -> str:
        """The text shown instead of an image (loading, or why it cannot be shown)."""
        return self._view.message()

    def set_current_index(self, index: int) -> None:
        index = max(0, min(index, len(self._paths) - 1))
        if index == self._index or not self._paths:
            return
        self._index = index
        self._show_current()
        self.current_changed.emit(index)

    def next(self) -> None:
        self.set_current_index(self._index + 1)

    def previous(self) -> None:
        self.set_current_index(self._index - 1)

    # -- Qt overrides

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space):
            self.next()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_PageUp, Qt.Key.Key_Backspace):
            self.previous()
        elif key == Qt.Key.Key_Home:
            self.set_current_index(0)
        elif key == Qt.Key.Key_End:
            self.set_current_index(len(self._paths) - 1)
        elif key == Qt.Key.Key_F11:
            self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen)
        else:
            super().keyPressEvent(event)  # Esc closes

    def done(self, result: int) -> None:
        # Drop queued reads and let the one in flight finish, so nothing outlives the dialog.
        self._closed = True
        self._pool.clear()
        self._pool.waitForDone()
        super().done(result)

    # -- loading

    def _show_current(self) -> None:
        self._prev.setEnabled(self._index > 0)
        self._next.setEnabled(self._index < len(self._paths) - 1)
        if not self._paths:
            self._caption.setText("")
            self._view.set_message("No photo to show")
            return
        path = self._paths[self._index]
        name = shown(os.path.basename(path))
        self.setWindowTitle(f"{name} — {APP_NAME}")
        self._caption.setText(f"{name}    {self._index + 1} / {len(self._paths)}")
        self._caption.setToolTip(shown(path))
        if self._index in self._cache or self._index in self._errors:
            self._display(self._index)
            return
        self._shown = -1
        self._view.set_message("Loading…")
        self._request(self._index)

    def _display(self, index: int) -> None:
        self._shown = index
        if index in self._cache:
            self._view.set_image(self._cache[index])
        else:
            self._view.set_message(f"Cannot show {shown(os.path.basename(self._paths[index]))}:\n{self._errors[index]}")
        for neighbour in (index + 1, index - 1):  # the likely next step, read ahead
            if 0 <= neighbour < len(self._paths):
                self._request(neighbour)

    def _wanted(self, index: int) -> bool:
        return abs(index - self._index) <= 1

    def _request(self, index: int) -> None:
        if self._closed or index in self._cache or index in self._errors or index in self._pending:
            return
        self._pending.add(index)
        self._pool.start(
            _ReadTask(self._paths[index], index, QSize(self._bound), self._loaded, self._wanted, self._read_image)
        )

    def _on_loaded(self, index: int, image: QImage, error: str) -> None:
        self._pending.discard(index)
        if image.isNull() and not error:  # skipped as stale; ask again if it is wanted after all
            if index == self._index:
                self._request(index)
            return
        if image.isNull():
            self._errors[index] = error
        else:
            self._cache[index] = image
            while len(self._cache) > self._CACHE:  # forget the photo farthest from here
                del self._cache[max(self._cache, key=lambda i: abs(i - self._index))]
        if index == self._index:
            self._display(index)
