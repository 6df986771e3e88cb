""" "Open with PhotoSeek": a photo given on the command line (the desktop entry's `%F`) is shown in
the viewer once the grid lists it; main.py adds its folder to the library."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from .window import MainWindow


class PhotoOpener(QObject):
    """Waits for `photo` among the photos read from the catalog (the folder's first pass lists it in
    seconds), then selects it in the grid and opens it in the viewer, once."""

    def __init__(self, window: MainWindow, photo: Path) -> None:
        super().__init__(window)
        self._window = window
        self._photo = str(photo)
        window.photos_shown.connect(self._photos_shown)

    def _photos_shown(self) -> None:
        window = self._window
        file_id = next((i for i, r in window.screen_model.records.items() if r.path == self._photo), None)
        if file_id is None:
            return  # not catalogued yet: the next read has it
        row = window.grid_model.row_of(file_id)  # all photos are shown at start: the grid has it
        if row is None:
            return
        window.photos_shown.disconnect(self._photos_shown)
        index = window.grid_model.index(row)
        window.grid.setCurrentIndex(index)
        window.grid.scrollTo(index)
        window.open_preview(row)
