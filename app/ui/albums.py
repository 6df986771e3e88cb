"""The library's saved searches (smart albums) and concepts ('#' words): reading, saving, renaming
and removing them through the engine on the window's jobs thread.

Each part is given what it needs: `library` (the window's current one, None until it is open),
`run` (start a read or a small change on the jobs thread), `notify` (a line in the status bar),
`when_open` (True if the library is open, else the action runs once it is). What it read, it
says by signal; the window shows it (the sidebar, the search bar's autocomplete).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from .workers import Task

if TYPE_CHECKING:  # pragma: no cover
    from ..core.library import Library

log = logging.getLogger(__name__)


class SavedSearches(QObject):
    changed = Signal(object)  # the saved-search rows, as the library has them now

    def __init__(
        self,
        *,
        library: Callable[[], Library | None],
        run: Callable[..., Task | None],
        notify: Callable[[str], None],
        when_open: Callable[[Callable[[], None]], bool],
        parent: QWidget,
    ):
        super().__init__(parent)
        self._library, self._run, self._notify, self._when_open = library, run, notify, when_open
        self._parent = parent

    def refresh(self) -> None:
        library = self._library()
        if library is None:  # the window reads them once the library is open
            return

        def done(rows):
            if library is self._library():
                self.changed.emit(rows)

        self._run(library.saved_searches, on_result=done)

    def save_dialog(self, text: str) -> None:
        """Ask a name for the search `text` and save it."""
        from PySide6.QtWidgets import QInputDialog

        if not text:
            self._notify("Type a search first; a dropped picture cannot be saved in a search")
            return
        name, ok = QInputDialog.getText(self._parent, "Save Search", "Name of the smart album:", text=text[:40])
        if ok and name.strip():
            self.save(name.strip(), text)

    def save(self, name: str, query: str) -> None:
        if not self._when_open(lambda: self.save(name, query)):
            return
        self._run(
            self._library().save_search,
            name,
            query,
            on_result=lambda _: self._saved(name),
            on_error=lambda e: self._notify(f"Cannot save the search: {e}"),
        )

    def _saved(self, name: str) -> None:
        self.refresh()
        self._notify(f"Saved “{name}”")

    def rename(self, search_id: int, name: str) -> None:
        self._run(
            self._library().rename_saved_search,
            search_id,
            name,
            on_result=lambda _: self.refresh(),
            on_error=lambda e: self._notify(str(e)),
        )

    def remove(self, search_id: int) -> None:
        self._run(self._library().remove_saved_search, search_id, on_result=lambda _: self.refresh())


class Concepts(QObject):
    ready = Signal(object)  # the library's concept names, scored
    prompts_progress = Signal(object)  # a new model's concept prompts being encoded (minutes on a CPU)
    prompts_done = Signal()

    def __init__(
        self,
        *,
        library: Callable[[], Library | None],
        run: Callable[..., Task | None],
        notify: Callable[[str], None],
        when_open: Callable[[Callable[[], None]], bool],
        closing: Callable[[], bool],
        parent: QWidget,
    ):
        super().__init__(parent)
        self._library, self._run, self._notify, self._when_open = library, run, notify, when_open
        self._closing, self._parent = closing, parent
        self._running = False
        self._again = False

    def refresh(self) -> None:
        """Score new photos against the concepts (background), then say the names (`ready`)."""
        library = self._library()
        if self._closing() or library is None or not library.model_loaded:
            return
        if self._running:
            self._again = True
            return
        self._running = True

        def job(progress):
            library.update_concepts(
                should_stop=lambda: self._closing() or library is not self._library(), progress=progress
            )
            return library.concept_names()

        def shown(p):  # scoring photos is quick and not shown; encoding the prompts is not
            if p.phase == "prompts":
                self.prompts_progress.emit(p)

        def done(names):
            self._running = False
            self.prompts_done.emit()
            if self._again:  # asked again meanwhile (a concept added): these names are already old
                self._again = False
                self.refresh()
            elif library is self._library():
                self.ready.emit(names)

        def failed(error):
            self._running = False
            self.prompts_done.emit()
            log.warning("concept scores failed: %s", error)

        self._run(job, report_kw="progress", on_result=done, on_error=failed, on_progress=shown)

    def new_dialog(self) -> None:
        """Add a concept of the user's own (or remove some), then score the photos for it."""
        from .dialogs import ConceptDialog

        if not self._when_open(self.new_dialog):
            return
        library = self._library()
        dialog = ConceptDialog(library.user_concepts(), self._parent)
        if not dialog.exec():
            return
        values, removed = dialog.values(), list(dialog.removed)

        def job():
            for name in removed:
                library.remove_concept(name)
            if values is not None:
                library.add_concept(*values)

        def done(_):
            if values is not None:
                self._notify(f"Added #{values[0].replace(' ', '_')}; your photos are being scored for it")
            self.refresh()

        self._run(job, on_result=done, on_error=lambda e: self._notify(f"Cannot save the concept: {e}"))
