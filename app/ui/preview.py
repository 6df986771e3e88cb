"""The viewer: a large, upright view of one photo at a time, stepping through the grid's photos,
with zoom (zoomview.py), an info panel (photoinfo.py) and the photo actions.

`PhotoPreview` opens it on the grid's photos (read live from the grid's model, saying which are
not connected), keeps the grid's current photo on the one shown and carries out its actions with
the window's `PhotoActions`. `PreviewDialog` reads the photos on its own thread: the cached
thumbnail at once, then a read sized for the screen, then the full picture when zoomed past it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QGuiApplication, QImage, QImageReader, QKeyEvent, QKeySequence, QPalette
from PySide6.QtWidgets import QDialog, QFrame, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from ..core.config import APP_NAME
from ..core.names import shown
from .grid import PhotoGrid, PhotoModel
from .offline import not_connected
from .photoinfo import InfoPanel, read_details
from .zoomview import ZOOM_STEP, ZoomView

if TYPE_CHECKING:  # pragma: no cover
    from ..core.library import Library
    from .actions import PhotoActions

FULL_PIXELS = 64_000_000  # zoomed in, a larger photo is read down to this (256 MB of pixels)
TITLE_CHARS = 60  # a longer file name is cut in its middle in the window title
KEYS_HELP = (
    "Left/Right: previous/next photo (always, zoomed or not) · Wheel or +/−: zoom about the cursor · "
    "Drag: move a zoomed photo · Double-click: Fit ↔ 100 % · 0: Fit · 1: 100 % · I: Info · "
    "Delete: Move to Trash · Ctrl+C: Copy · Space or Esc: close"
)


class Photos:
    """The photos a viewer steps through (a plain list of paths); the grid's version reads its
    model live instead of holding a copy."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._paths = [os.fspath(p) for p in paths]

    def __len__(self) -> int:
        return len(self._paths)

    def path(self, index: int) -> str:
        return self._paths[index]

    def key(self, index: int) -> object:
        """What names the photo at `index` while the list changes (see `index_of`)."""
        return index

    def index_of(self, key: object) -> int | None:
        return key if isinstance(key, int) and 0 <= key < len(self) else None

    def thumbnail(self, index: int) -> Callable[[], str] | None:
        """Where the photo's cached thumbnail is (called on a worker: it may make it); None: none."""
        return None


class GridPhotos(Photos):
    """The grid's photos, as its model shows them now; a photo is named by its catalog id."""

    def __init__(self, model: PhotoModel, library: Callable[[], Library | None]) -> None:
        self._model, self._library = model, library

    def __len__(self) -> int:
        return self._model.rowCount()

    def path(self, index: int) -> str:
        return self._model.record(index).path

    def key(self, index: int) -> object:
        return self._model.record(index).id

    def index_of(self, key: object) -> int | None:
        return self._model.row_of(key) if isinstance(key, int) else None

    def thumbnail(self, index: int) -> Callable[[], str] | None:
        library, record = self._library(), self._model.record(index)
        if library is None or self._model.offline_folder(record) is not None:
            return None
        return lambda: os.fspath(library.thumbnail(record))


class PhotoPreview(QObject):
    """Opens the viewer on the grid's photos; stepping in it moves the grid's current photo, and
    its actions are the grid's (`attach`)."""

    def __init__(self, grid: PhotoGrid, model: PhotoModel, parent: QWidget):
        super().__init__(parent)
        self._grid, self._model, self._parent = grid, model, parent
        self.dialog: PreviewDialog | None = None  # the one open
        self._actions: PhotoActions | None = None
        self._library: Callable[[], Library | None] = lambda: None
        self._shortcuts: list[QAction] = []
        self._trashed: tuple[int, bool] | None = None  # the photo trashed in the viewer, and whether it went
        # Answered once the model is done changing (its row lookup is updated last), once for a
        # burst of changes.
        self._changed = QTimer(self)
        self._changed.setSingleShot(True)
        self._changed.setInterval(0)
        self._changed.timeout.connect(self._photos_changed)
        for signal in (model.modelReset, model.rowsRemoved, model.rowsInserted, model.layoutChanged):
            signal.connect(self._changed.start)

    def attach(self, actions: PhotoActions, library: Callable[[], Library | None], shortcuts: list[QAction]) -> None:
        """The grid's photo actions (the viewer's buttons run them), the library (thumbnails),
        and the window's shortcuts that work in the viewer too (Undo)."""
        self._actions, self._library, self._shortcuts = actions, library, list(shortcuts)

    def open(self, row: int) -> None:
        if not 0 <= row < self._model.rowCount():
            return
        if self.dialog is not None:
            self.dialog.close()
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
        photos = GridPhotos(model, self._library)
        dialog = PreviewDialog(photos, row, self._parent, unavailable, with_actions=self._actions is not None)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.addActions(self._shortcuts)
        dialog.current_changed.connect(self._moved)
        dialog.action_requested.connect(self._act)
        dialog.catalog_wanted.connect(self._read_catalog)
        dialog.tag_clicked.connect(self._search_tag)
        # (a viewer closed for a new one goes later: it must not forget the new one)
        dialog.finished.connect(lambda *_, d=dialog: self._forget(d))
        dialog.destroyed.connect(lambda *_, d=dialog: self._forget(d))
        self.dialog, self._trashed = dialog, None
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()  # its keys (I, +, Space…) work at once

    def _forget(self, dialog: PreviewDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _moved(self, row: int) -> None:
        if 0 <= row < self._model.rowCount():
            index = self._model.index(row)
            self._grid.setCurrentIndex(index)
            self._grid.scrollTo(index)

    def _photos_changed(self) -> None:
        if self.dialog is None:
            return
        self.dialog.photos_changed()
        if self._trashed is not None:  # back with Undo (or it could not go): shown again
            photo, gone = self._trashed
            row = self._model.row_of(photo)
            if row is None:
                self._trashed = (photo, True)
            elif gone:
                self._trashed = None
                self.dialog.set_current_index(row)

    def _select_shown(self) -> bool:
        """The photo in the viewer becomes the grid's current photo and its whole selection (what
        the actions act on)."""
        if self.dialog is None or not 0 <= self.dialog.current_index() < self._model.rowCount():
            return False
        index = self._model.index(self.dialog.current_index())
        flags = self._grid.selectionModel().SelectionFlag.ClearAndSelect
        self._grid.selectionModel().setCurrentIndex(index, flags)
        return True

    def _act(self, name: str) -> None:
        actions = self._actions
        if actions is None or not self._select_shown():
            return
        if name == "similar":
            actions.find_similar()
            if self.dialog is not None:
                self.dialog.close()  # the similar photos are in the grid
        elif name == "trash":
            self._trashed = (self._model.record(self.dialog.current_index()).id, False)
            actions.move_to_trash()  # the viewer then shows the next photo (photos_changed)
            if self.dialog is not None:
                self.dialog.activateWindow()  # back from the question: its keys (Ctrl+Z) work
        elif name == "folder":
            actions.show_in_folder()
        elif name == "copy":
            actions.copy_image()

    def _read_catalog(self, row: int) -> None:
        dialog, actions = self.dialog, self._actions
        if dialog is None or actions is None or not 0 <= row < self._model.rowCount():
            return
        record = self._model.record(row)
        reading = actions.reads_text()

        def show_text(text):
            if self.dialog is dialog:
                dialog.info.set_text(record.path, text, reading)

        def show_tags(tags):
            if self.dialog is dialog:
                dialog.info.set_tags(record.path, tags)

        actions.read_catalog_details(record, show_text, show_tags)

    def _search_tag(self, name: str) -> None:
        if self._actions is not None:
            self._actions.concept_clicked.emit(name)
        if self.dialog is not None:
            self.dialog.close()  # the concept's photos are in the grid


def _upright_size(path: str) -> QSize:
    """The photo's size as shown (after its EXIF rotation), read from its header."""
    reader = QImageReader(path)
    size = reader.size()
    if size.isValid() and bytes(reader.format()).lower() not in (b"heic", b"heif"):  # type: ignore[call-overload]
        if reader.transformation() & reader.transformation().TransformationRotate90:
            size = size.transposed()
        return size
    try:
        from ..core.ingest import imaging

        meta = imaging.read_metadata(path)
        return QSize(int(meta["width"]), int(meta["height"]))
    except Exception:  # noqa: BLE001 - unknown: the picture's own size stands in
        return QSize()


class _Loaded(QObject):
    """Carries a finished read from the worker thread back to the GUI thread (queued)."""

    image = Signal(str, str, QImage, QSize, str)  # path, kind, image (null if not read), size, error
    details = Signal(str, object)  # path, what read_details found


class _ReadTask(QRunnable):
    """One read on the pool's thread: "thumb", "screen" (within `bound`), "full", or "details"."""

    def __init__(self, path: str, kind: str, bound: QSize, loaded: _Loaded, wanted, read_image, thumb=None) -> None:
        super().__init__()
        self.path, self.kind, self.bound, self.loaded, self.wanted = path, kind, bound, loaded, wanted
        self.read_image, self.thumb = read_image, thumb

    def run(self) -> None:
        if not self.wanted(self.path, self.kind):  # the user has stepped far past it already
            self.loaded.image.emit(self.path, self.kind, QImage(), QSize(), "")
            return
        if self.kind == "details":
            self.loaded.details.emit(self.path, read_details(self.path))
            return
        error = ""
        if self.kind == "thumb":
            try:
                image = QImage(self.thumb())
            except Exception:  # noqa: BLE001 - no thumbnail: the screen read comes anyway
                image = QImage()
        else:
            image, error = self.read_image(self.path, self.bound if self.kind == "screen" else self._full_bound())
        natural = _upright_size(self.path) if not image.isNull() else QSize()
        self.loaded.image.emit(self.path, self.kind, image, natural, (error or "unreadable") if image.isNull() else "")

    def _full_bound(self) -> QSize:
        """No bound (every pixel) up to FULL_PIXELS; a larger photo is read down to that many."""
        size = _upright_size(self.path)
        pixels = size.width() * size.height()
        if not size.isValid() or pixels <= FULL_PIXELS:
            return QSize()
        return size * math.sqrt(FULL_PIXELS / pixels)


class _ElidedLabel(QLabel):
    """A one-line label that shows as much of its text as fits, cut in the middle, and never asks
    for more width (a long file name must not widen the window)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(self.sizePolicy().Policy.Ignored, self.sizePolicy().Policy.Preferred)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = text
        self._elide()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, max(self.width(), 40)))


def _elided_name(name: str, chars: int = TITLE_CHARS) -> str:
    return name if len(name) <= chars else f"{name[: chars // 2 - 1]}…{name[-(chars - chars // 2) :]}"


class PreviewDialog(QDialog):
    """A large, upright view of one photo; Left/Right step through `photos`, Space or Esc closes.
    `with_actions`: show the photo actions (asked for with `action_requested`)."""

    current_changed = Signal(int)
    action_requested = Signal(str)  # "similar", "trash", "folder" or "copy", for the photo shown
    catalog_wanted = Signal(int)  # the info panel shows this photo: its concepts and text, please
    tag_clicked = Signal(str)  # a concept in the info panel
    image_changed = Signal()  # another picture on screen (a sharper read of the same photo too)

    _CACHE = 5  # screen-sized reads kept around, so stepping back and forth is instant

    def __init__(
        self,
        photos: Sequence[str] | Photos,
        index: int,
        parent: QWidget | None = None,
        unavailable: dict[int, str] | None = None,
        with_actions: bool = False,
    ) -> None:
        """`unavailable`: why photos (by index) cannot be read, without trying (not connected)."""
        super().__init__(parent)
        # (the engine's imaging reads them: imported once a preview opens, not with the window)
        from .dialogs import read_image

        self._read_image = read_image
        self._photos = photos if isinstance(photos, Photos) else Photos(photos)
        self._index = max(0, min(index, len(self._photos) - 1))
        self._key = self._photos.key(self._index) if len(self._photos) else None
        self._path = self._photos.path(self._index) if len(self._photos) else ""
        self._shown = -1  # index whose sharp image (or error) is on screen
        self._quality = ""  # of the picture on screen: "thumbnail", "screen", "full", "error"; "": none
        self._cache: dict[str, QImage] = {}  # screen-sized reads by path
        self._natural: dict[str, QSize] = {}  # photos' own upright sizes
        self._full: tuple[str, QImage] | None = None  # the current photo at full size, once zoomed
        self._errors: dict[str, str] = {self._photos.path(i): why for i, why in (unavailable or {}).items()}
        self._details: dict[str, dict] = {}
        self._pending: set[tuple[str, str]] = set()
        self._near = self._neighbours()  # the photos worth reading now (the worker asks)
        self._closed = False

        # The pool is created before the signal carrier, so when the dialog is destroyed the pool
        # (which waits for its worker) goes first and no worker emits on a deleted object.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # the current photo first, then its neighbours
        self._loaded = _Loaded(self)
        self._loaded.image.connect(self._on_image)
        self._loaded.details.connect(self._on_details)

        self._view = ZoomView(self)
        self._view.zoom_changed.connect(self._zoom_changed)
        self._view.detail_wanted.connect(lambda _zoom: self._want_full())
        self.info = InfoPanel(self)
        self.info.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.info.tag_clicked.connect(self.tag_clicked)
        self.info.hide()
        self._build_layout(self._build_toolbar(with_actions))
        self._dark_palette()
        self._size_to_screen()
        self._show_current()

    # -- building

    def _button(self, text: str, tip: str, slot, object_name: str = "") -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip.split(" (")[0])
        button.setAutoRaise(True)
        button.setObjectName(object_name)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keep the keys for the viewer
        button.clicked.connect(slot)
        return button

    def _nav_button(self, glyph: str, tip: str, slot) -> QToolButton:
        # A large glyph rather than the style's arrow, which some styles draw tiny.
        button = self._button(glyph, tip, slot)
        font = button.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        button.setFont(font)
        button.setMinimumWidth(36)
        return button

    def _build_toolbar(self, with_actions: bool) -> QHBoxLayout:
        self._prev = self._nav_button("‹", "Previous photo (Left arrow)", self.previous)
        self._next = self._nav_button("›", "Next photo (Right arrow)", self.next)
        self._caption = _ElidedLabel(self)
        self._caption.setObjectName("caption")
        self._zoom_label = QLabel("Fit", self)
        self._zoom_label.setObjectName("zoomLevel")
        self._zoom_label.setToolTip(KEYS_HELP)
        self._zoom_label.setMinimumWidth(self._zoom_label.fontMetrics().horizontalAdvance("Fit (100 %)") + 8)
        self._zoom_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.fit_button = self._button("Fit", "Fit to window (0)", self.fit, "fit")
        self.actual_button = self._button("1:1", "Actual pixels, 100 % (1)", self.actual_size, "actual")
        for button in (self.fit_button, self.actual_button):
            button.setCheckable(True)  # lit while the photo is shown so
        self.info_button = self._button("Info", "Info: date, camera, place, concepts, text (I)", self.toggle_info)
        self.info_button.setCheckable(True)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 8, 2)
        bar.setSpacing(2)
        for widget in (self._prev, self._next):
            bar.addWidget(widget)
        bar.addWidget(self._caption, 1)
        bar.addWidget(self._zoom_label)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.actual_button)
        self.action_buttons: dict[str, QToolButton] = {}
        if with_actions:
            bar.addWidget(self._separator())
            for name, text, tip in (
                ("similar", "Find Similar", "Find photos like this one"),
                ("folder", "Show in Folder", "Show the file in the file manager"),
                ("copy", "Copy", "Copy the image to the clipboard (Ctrl+C)"),
                ("trash", "Trash", "Move to Trash (Delete); Ctrl+Z undoes it"),
            ):
                button = self._button(text, tip, lambda _=False, n=name: self.action_requested.emit(n), name)
                self.action_buttons[name] = button
                bar.addWidget(button)
        bar.addWidget(self._separator())
        bar.addWidget(self.info_button)
        return bar

    def _separator(self) -> QFrame:
        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.VLine)
        line.setFixedWidth(9)
        return line

    def _build_layout(self, bar: QHBoxLayout) -> None:
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self._view, 1)
        body.addWidget(self.info)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addLayout(body, 1)

    def _dark_palette(self) -> None:
        palette = self.palette()
        for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Button, QPalette.ColorRole.Base):
            palette.setColor(role, ZoomView.BACKGROUND)
        for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text):
            palette.setColor(role, QColor(200, 200, 200))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(85, 85, 85))
        palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(130, 130, 130))
        palette.setColor(QPalette.ColorRole.Highlight, QColor(90, 150, 230))
        palette.setColor(QPalette.ColorRole.Link, QColor(120, 170, 240))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        # the main window's style sheet would otherwise paint the labels in its dark default text
        self.setStyleSheet(
            "QLabel, QToolButton { color: rgb(200, 200, 200); }"
            " QLabel:disabled { color: rgb(130, 130, 130); }"
            " QToolButton { border: none; padding: 3px 6px; border-radius: 4px; }"
            " QToolButton:hover { background: rgb(52, 52, 52); }"
            " QToolButton:checked, QToolButton:pressed { background: rgb(68, 68, 68); }"
            " QToolButton:disabled { color: rgb(90, 90, 90); }"
            " #infoPanel, #infoBody { background: rgb(34, 34, 34); }"
        )

    def _size_to_screen(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        avail = screen.availableGeometry().size()
        self.resize(int(avail.width() * 0.8), int(avail.height() * 0.8))
        dpr = screen.devicePixelRatio()
        # Fitted, no more pixels than twice the screen's (device pixels, for HiDPI) are read;
        # zoomed in past them, the full picture is.
        self._bound = QSize(int(screen.size().width() * dpr * 2), int(screen.size().height() * dpr * 2))

    # -- public API

    def current_index(self) -> int:
        return self._index

    def current_path(self) -> str | None:
        return self._path or None

    def image(self) -> QImage:
        """The image on screen (null while loading or when the file cannot be read)."""
        return self._view.image()

    def quality(self) -> str:
        """What the picture on screen is: "thumbnail", "screen" (read for the screen), "full"."""
        return self._quality

    def view(self) -> ZoomView:
        return self._view

    def zoom_text(self) -> str:
        """The zoom level as the toolbar says it: "Fit (27 %)" or "250 %"."""
        return self._zoom_label.text()

    def caption(self) -> str:
        return self._caption.full_text()

    def shown_index(self) -> int:
        """Index of the photo whose pixels (or error) are on screen; -1 while loading."""
        return self._shown

    def message(self) -> str:
        """The text shown instead of an image (loading, or why it cannot be shown)."""
        return self._view.message()

    def set_current_index(self, index: int) -> None:
        index = max(0, min(index, len(self._photos) - 1))
        if index == self._index or not len(self._photos):
            return
        self._go_to(index)
        self.current_changed.emit(index)

    def next(self) -> None:
        self.set_current_index(self._index + 1)

    def previous(self) -> None:
        self.set_current_index(self._index - 1)

    def fit(self) -> None:
        self._view.fit()

    def actual_size(self) -> None:
        self._view.set_zoom(1.0)

    def toggle_info(self) -> None:
        self.info.setVisible(not self.info.isVisible())
        self.info_button.setChecked(self.info.isVisible())
        if self.info.isVisible():
            self._fill_info()

    def photos_changed(self) -> None:
        """The photos changed (some went to the trash, a search re-ordered them): stay on the same
        photo; where it is gone, show the one that took its place."""
        if not len(self._photos):
            self.close()
            return
        index = self._photos.index_of(self._key)
        if index is None:  # gone: the next one slid into its place (or the last one, at the end)
            index = min(self._index, len(self._photos) - 1)
        moved = index != self._index
        self._go_to(index)
        if moved or self._key != self._photos.key(index):
            self.current_changed.emit(index)

    # -- Qt overrides

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.matches(QKeySequence.StandardKey.Copy):
            self.action_requested.emit("copy")
            return
        key, text = Qt.Key(event.key()), event.text()
        steps: dict[Qt.Key, Callable[[], object]] = {
            Qt.Key.Key_Right: self.next,
            Qt.Key.Key_PageDown: self.next,
            Qt.Key.Key_Left: self.previous,
            Qt.Key.Key_PageUp: self.previous,
            Qt.Key.Key_Backspace: self.previous,
            Qt.Key.Key_Home: lambda: self.set_current_index(0),
            Qt.Key.Key_End: lambda: self.set_current_index(len(self._photos) - 1),
            Qt.Key.Key_Space: self.close,  # like Quick Look: Space opens and closes
            Qt.Key.Key_I: self.toggle_info,
            Qt.Key.Key_0: self.fit,
            Qt.Key.Key_1: self.actual_size,
            Qt.Key.Key_F11: lambda: self.setWindowState(self.windowState() ^ Qt.WindowState.WindowFullScreen),
        }
        if text in ("+", "="):
            self._view.zoom_by(ZOOM_STEP)
        elif text in ("-", "−"):
            self._view.zoom_by(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_Delete and "trash" in self.action_buttons:
            self.action_requested.emit("trash")
        elif key in steps and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            steps[key]()
        else:
            super().keyPressEvent(event)  # Esc closes

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        # Never larger than the screen's free area, whatever the layout asks for.
        avail = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        frame = self.frameGeometry().size() - self.size()
        room = QSize(avail.width() - frame.width(), avail.height() - frame.height())
        if self.width() > room.width() or self.height() > room.height():
            self.resize(self.size().boundedTo(room))

    def done(self, result: int) -> None:
        # Drop queued reads and let the one in flight finish, so nothing outlives the dialog.
        self._closed = True
        self._pool.clear()
        self._pool.waitForDone()
        super().done(result)

    # -- showing

    def _go_to(self, index: int) -> None:
        path = self._photos.path(index)
        same = path == self._path
        self._index, self._key, self._path = index, self._photos.key(index), path
        self._near = self._neighbours()
        if same:  # (the same photo at another place in the list: only the count changes)
            self._update_bar()
            return
        self._show_current()

    def _update_bar(self) -> None:
        count = len(self._photos)
        self._prev.setEnabled(self._index > 0)
        self._next.setEnabled(self._index < count - 1)
        for button in self.action_buttons.values():
            button.setEnabled(bool(count))
        if not count:
            self._caption.set_full_text("")
            return
        name = shown(os.path.basename(self._path))
        self.setWindowTitle(f"{_elided_name(name)} — {APP_NAME}")
        self._caption.set_full_text(f"{name}    {self._index + 1} / {count}")
        self._caption.setToolTip(shown(self._path))

    def _show_current(self) -> None:
        self._update_bar()
        self._full, self._quality = None, ""  # (a new photo: nothing of the last one's view stays)
        if not len(self._photos):
            self._view.set_message("No photo to show")
            return
        path = self._path
        if self.info.isVisible():
            self._fill_info()
        if path in self._cache or path in self._errors:
            self._display(path)
            return
        self._shown = -1
        self._view.set_message("Loading…")
        self.image_changed.emit()
        thumb = self._photos.thumbnail(self._index)
        if thumb is not None:
            self._request(path, "thumb", priority=4, thumb=thumb)
        self._request(path, "screen", priority=2)

    def _display(self, path: str) -> None:
        """The sharp read of the current photo (or why there is none) on screen."""
        self._shown = self._index
        if path in self._cache:
            # Over the thumbnail, the zoom and place the user may have chosen meanwhile stay.
            self._view.set_image(self._cache[path], self._natural.get(path), keep_view=self._quality == "thumbnail")
            self._quality = "screen"
        else:
            self._quality = "error"
            self._view.set_message(f"Cannot show {shown(os.path.basename(path))}:\n{self._errors[path]}")
        self.image_changed.emit()
        for neighbour in (self._index + 1, self._index - 1):  # the likely next step, read ahead
            if 0 <= neighbour < len(self._photos):
                self._request(self._photos.path(neighbour), "screen", priority=0)

    def _fill_info(self) -> None:
        path = self._path
        self.info.show_photo(path)
        if path in self._details:
            self.info.set_details(path, self._details[path])
        else:
            self._request(path, "details", priority=3)
        self.catalog_wanted.emit(self._index)

    def _zoom_changed(self) -> None:
        self._zoom_label.setText(self._view.zoom_text())
        self.fit_button.setChecked(self._view.is_fitted())
        self.actual_button.setChecked(not self._view.is_fitted() and self._view.zoom() == 1.0)

    def _want_full(self) -> None:
        # (over the thumbnail, the screen read comes first: it may do, and asks again if not)
        if self._quality == "screen" and self._full is None:
            self._request(self._path, "full", priority=1)

    # -- reading

    def _wanted(self, path: str, kind: str) -> bool:
        # (called on the worker: reads only what the GUI thread replaces whole, never the model)
        return path in self._near if kind == "screen" else path == self._path

    def _neighbours(self) -> frozenset[str]:
        rows = range(max(0, self._index - 1), min(len(self._photos), self._index + 2))
        return frozenset(self._photos.path(i) for i in rows)

    def _request(self, path: str, kind: str, priority: int, thumb=None) -> None:
        if self._closed or (path, kind) in self._pending:
            return
        if kind == "screen" and (path in self._cache or path in self._errors):
            return
        self._pending.add((path, kind))
        task = _ReadTask(path, kind, QSize(self._bound), self._loaded, self._wanted, self._read_image, thumb)
        self._pool.start(task, priority)

    def _on_image(self, path: str, kind: str, image: QImage, natural: QSize, error: str) -> None:
        self._pending.discard((path, kind))
        current = path == self._path
        if image.isNull() and not error:  # skipped as stale; ask again if it is wanted after all
            if current and kind == "screen" and not self._quality:
                self._request(path, kind, priority=2)
            return
        if natural.isValid():
            self._natural[path] = natural
        if kind == "thumb":
            if current and not self._quality and not image.isNull():
                self._view.set_image(image, self._natural.get(path))
                self._quality = "thumbnail"
                self.image_changed.emit()
        elif kind == "full":
            if current and not image.isNull():
                self._full = (path, image)
                self._view.set_image(image, self._natural.get(path), keep_view=True)
                self._quality = "full"
                self.image_changed.emit()
        else:
            self._keep_screen_read(path, image, error)
            if current and self._quality != "full":
                self._display(path)

    def _keep_screen_read(self, path: str, image: QImage, error: str) -> None:
        if image.isNull():
            self._errors[path] = error
            return
        self._cache[path] = image
        while len(self._cache) > self._CACHE:  # forget a photo not next to the current one
            near = {
                self._photos.path(i) for i in range(max(0, self._index - 1), min(len(self._photos), self._index + 2))
            }
            far = [p for p in self._cache if p not in near] or list(self._cache)
            del self._cache[far[0]]

    def _on_details(self, path: str, details: dict) -> None:
        self._pending.discard((path, "details"))
        self._details[path] = details
        self.info.set_details(path, details)
