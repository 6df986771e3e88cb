"""What can be done to the grid's photos: the context menu and its handlers (find similar, open,
show in folder, preview, copy, move to trash, properties).

It reads the grid's selection and is given the rest: `run` starts a read on the window's jobs
thread, `library` and `settings` are the window's current ones, `preview` opens the preview on a
row, `trash` moves the selection to the trash. What the window carries out, it asks by signal.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from . import desktop, jobs
from .grid import PhotoGrid, PhotoModel, ThumbnailLoader
from .offline import not_connected, offline_status
from .searchbar import ImageQuery
from .workers import Task

if TYPE_CHECKING:  # pragma: no cover
    from ..core.config import Settings
    from ..core.library import Library
    from ..core.store.catalog import FileRecord
    from .dialogs import PropertiesDialog

try:
    from shiboken6 import isValid as shiboken_valid
except ImportError:  # pragma: no cover

    def shiboken_valid(obj) -> bool:  # type: ignore[misc]  # the stand-in names its argument
        return obj is not None


class PhotoActions(QObject):
    similar_requested = Signal(object)  # an ImageQuery: search for photos like the current one
    concept_clicked = Signal(str)  # a tag clicked in Properties

    def __init__(
        self,
        grid: PhotoGrid,
        model: PhotoModel,
        loader: ThumbnailLoader,
        *,
        run: Callable[..., Task | None],
        notify: Callable[[str], None],
        library: Callable[[], Library],
        settings: Callable[[], Settings],
        model_ready: Callable[[], bool],
        preview: Callable[[int], None],
        trash: Callable[[], None],
        parent: QWidget,
    ):
        super().__init__(parent)
        self._grid, self._model, self._loader, self._parent = grid, model, loader, parent
        self._run, self._notify = run, notify
        self._library, self._settings, self._model_ready = library, settings, model_ready
        self._preview, self._trash = preview, trash
        self.properties: PropertiesDialog | None = None  # the Properties dialog last opened
        grid.customContextMenuRequested.connect(self._grid_menu)

    def selected_records(self) -> list[FileRecord]:
        return [self._model.record(row) for row in self._grid.selected_rows()]

    def current_record(self) -> FileRecord | None:
        index = self._grid.currentIndex()
        return self._model.record(index.row()) if index.isValid() else None

    def photo_menu(self) -> QMenu:
        """The context menu for the current selection (also what tests trigger)."""
        records = self.selected_records()
        current = self.current_record()
        menu = QMenu(self._parent)
        one = current is not None
        a = menu.addAction("Find Similar", self.find_similar)
        a.setEnabled(one)
        menu.addSeparator()
        a = menu.addAction("Open", self.open_selected)
        a.setEnabled(bool(records))
        a = menu.addAction("Show in Folder", self.show_in_folder)
        a.setEnabled(one)
        a = menu.addAction("Preview", lambda: self._preview(self._grid.currentIndex().row()))
        a.setShortcut(QKeySequence(Qt.Key.Key_Space))
        a.setEnabled(one)
        menu.addSeparator()
        a = menu.addAction("Copy Image", self.copy_image)
        a.setEnabled(one)
        a = menu.addAction("Copy Path" if len(records) <= 1 else f"Copy {len(records)} Paths", self.copy_paths)
        a.setEnabled(bool(records))
        menu.addSeparator()
        a = menu.addAction(
            "Move to Trash" if len(records) <= 1 else f"Move {len(records)} Photos to Trash", self._trash
        )
        a.setShortcut(QKeySequence.StandardKey.Delete)
        a.setEnabled(bool(records))
        menu.addSeparator()
        a = menu.addAction("Properties", self.show_properties)
        a.setEnabled(one)
        return menu

    def _grid_menu(self, pos) -> None:
        index = self._grid.indexAt(pos)
        if not index.isValid():
            return
        if not self._grid.selectionModel().isSelected(index):
            self._grid.setCurrentIndex(index)
        else:
            self._grid.selectionModel().setCurrentIndex(index, self._grid.selectionModel().SelectionFlag.NoUpdate)
        menu = self.photo_menu()
        menu.exec(self._grid.viewport().mapToGlobal(pos))

    def find_similar(self) -> None:
        record = self.current_record()
        if record is None:
            return
        query = ImageQuery(record.path, Path(record.path).name, photo_id=record.id, thumb=self._loader.cached(record))
        self.similar_requested.emit(query)

    def open_selected(self) -> None:
        for record in self.selected_records()[:20]:
            if (offline := self._model.offline_folder(record)) is not None:
                self._notify(not_connected(record.path, offline))
            else:
                desktop.open_file(record.path)

    def show_in_folder(self) -> None:
        record = self.current_record()
        if record is not None:
            desktop.show_in_folder(record.path, said=self._notify)

    def copy_image(self) -> None:
        record = self.current_record()
        if record is None:
            return
        self._run(
            jobs.read_image,
            record.path,
            on_result=lambda image: (QGuiApplication.clipboard().setImage(image), self._notify("Image copied")),
            on_error=lambda e: self._notify(f"Cannot copy this image: {e}"),
        )

    def copy_paths(self) -> None:
        paths = [r.path for r in self.selected_records()]
        if paths:
            QGuiApplication.clipboard().setText("\n".join(paths))
            self._notify("Path copied" if len(paths) == 1 else f"{len(paths)} paths copied")

    def show_properties(self) -> None:
        record = self.current_record()
        if record is None:
            return
        from .dialogs import PropertiesDialog

        offline = self._model.offline_folder(record)
        dialog = PropertiesDialog(record.path, self._parent, offline=offline_status(offline) if offline else None)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.tag_clicked.connect(self.concept_clicked)
        self.properties = dialog
        dialog.show()
        reading = self._settings().ocr

        def show_text(text):
            if shiboken_valid(dialog):
                dialog.set_text(text, reading)

        def show_tags(tags):
            if shiboken_valid(dialog):
                dialog.set_tags(tags)

        self.read_catalog_details(record, show_text, show_tags)

    def read_catalog_details(
        self,
        record: FileRecord,
        show_text: Callable[[str | None], None],
        show_tags: Callable[[list[tuple[str, float]] | None], None],
    ) -> None:
        """What the catalog knows of a photo, read on the jobs thread: the text found in it
        (None: not read yet) and its concepts (None: no model to score them)."""
        library = self._library()
        self._run(library.ocr_text, record.id, on_result=show_text, on_error=lambda e: show_text(None))
        if not self._model_ready():
            show_tags(None)
            return
        self._run(library.concept_tags, record.id, on_result=show_tags, on_error=lambda e: show_tags(None))

    def reads_text(self) -> bool:
        """Whether text in photos is read (Settings), so a photo not read yet will be."""
        return self._settings().ocr

    def move_to_trash(self) -> None:
        """Move the selection to the trash (the window asks first and offers Undo)."""
        self._trash()
