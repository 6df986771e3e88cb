"""Undo for the window's destructive actions: after photos go to the trash or a folder leaves the
library, the status bar offers "3 photos moved to the trash · Undo" and Edit > Undo (Ctrl+Z)
puts them back (Library.restore, on the writer thread). The photos return through the Screen's
usual events: the photo list is read again. What is not undone is released when the window
closes, so the catalog does not keep it."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow

from . import jobs
from .widgets import plural

if TYPE_CHECKING:  # pragma: no cover
    from ..core.library import Library, Receipt, Restored

log = logging.getLogger(__name__)

OFFER_MS = 20000  # how long the status bar offers it; Edit > Undo stays until the window closes


def describe(receipt: Receipt) -> str:
    """'3 photos moved to the trash', '“Holidays” removed from the library'."""
    if receipt.kind == "folder":
        return f"“{Path(receipt.folder or '').name}” removed from the library"
    return f"{plural(len(receipt.ids), 'photo')} moved to the trash"


def undo_text(receipt: Receipt) -> str:
    return "Undo Remove Folder" if receipt.kind == "folder" else "Undo Move to Trash"


def restored_text(receipt: Receipt, result: Restored) -> str:
    """What came back, and each file that could not, with why."""
    if receipt.kind == "folder" and not result.failures:
        text = f"“{Path(receipt.folder or '').name}” is back in the library"
    else:
        text = f"{plural(len(result.ids), 'photo')} put back"
    if result.failures:
        text += "; not put back: " + "; ".join(f"{Path(p).name} ({why})" for p, why in result.failures[:5])
    return text


class UndoOffer(QObject):
    """The undo stack of one window: `offer` after each change, `undo` the newest."""

    def __init__(
        self,
        window: QMainWindow,
        *,
        write: Callable[..., object],
        changed: Callable[[], None],
        failed: Callable[[BaseException], None],
        notify: Callable[[str, int], None],
        put_back: Callable[[list[int]], None] | None = None,
    ):
        """`write` runs a library change on the writer thread, `changed` re-reads the photos,
        `failed` shows an error, `notify` a message for so many ms, `put_back(ids)` re-reads them
        and selects the photos restored: the window's own, handed in so this part keeps to its job
        (and needs no import of the window, which imports it)."""
        super().__init__(window)
        self._write, self._changed, self._show_failure, self._notify = write, changed, failed, notify
        self._put_back = put_back or (lambda ids: changed())
        self.receipts: list[tuple[Library, Receipt]] = []
        self.running = False
        self._in_flight: tuple[Library, Receipt] | None = None
        self.action = QAction("Undo", window)
        self.action.setShortcut(QKeySequence.StandardKey.Undo)
        self.action.setEnabled(False)
        self.action.triggered.connect(self.undo)
        self.label = QLabel(window)
        self.label.setObjectName("undoOffer")
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.linkActivated.connect(lambda _link: self.undo())
        self.label.setContentsMargins(0, 0, 12, 0)  # apart from the indexing progress beside it
        self.label.hide()
        # permanent, so that messages do not hide it; first of them, after the window's one label
        window.statusBar().insertPermanentWidget(1, self.label)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(OFFER_MS)
        self.timer.timeout.connect(self.label.hide)

    def offer(self, library: Library, receipt: Receipt) -> None:
        """A change that can be undone (or, where this platform's trash cannot be read, said so)."""
        if not receipt.undoable:  # nothing went, or this platform's trash cannot be read here
            # (Library.trash holds nothing then: no catalog write here, on the GUI thread)
            if receipt.note and receipt.ids:
                self._notify(f"{describe(receipt)}. {receipt.note}", 12000)
            return
        self.receipts.append((library, receipt))
        self.label.setText(f'{html.escape(describe(receipt))} · <a href="undo">Undo</a>')
        self.label.show()
        self.timer.start()
        self._update_action()

    def undo(self) -> None:
        """Put back what the newest change took (the writer thread does it)."""
        if not self.receipts or self.running:
            return
        library, receipt = self.receipts.pop()
        self.running = True
        self._in_flight = (library, receipt)  # released at close too, should the restore never run
        self.label.hide()
        self._update_action()
        self._write(
            jobs.restore_job,
            library,
            receipt,
            on_result=lambda result: self._restored(receipt, result),
            on_error=self._failed,
        )

    def _restored(self, receipt: Receipt, result: Restored) -> None:
        self.running, self._in_flight = False, None
        self._update_action()
        self._put_back(list(result.ids))  # the photos come back with the photo list, read again
        self._notify(restored_text(receipt, result), 12000)

    def _failed(self, error: BaseException) -> None:
        self.running = False  # (still in flight: released at close)
        self._update_action()
        self._changed()
        self._show_failure(error)

    def _update_action(self) -> None:
        self.action.setEnabled(bool(self.receipts) and not self.running)
        self.action.setText(undo_text(self.receipts[-1][1]) if self.receipts else "Undo")

    def release_all(self) -> None:
        """Forget every change not undone (the window closes, or the library changes)."""
        receipts, self.receipts = self.receipts + ([self._in_flight] if self._in_flight else []), []
        for library, receipt in receipts:
            try:
                library.release(receipt)
            except Exception as e:  # noqa: BLE001 - a closed or broken catalog: a later open forgets it
                log.warning("could not release what undo kept: %s", e)
        self.label.hide()
        self._update_action()
