"""Indexing: the controller that runs the library's index runs on the writer thread, its
progress widget in the status bar (also the model download's progress), and the status bar's
link to the files it could not read.

The controller holds the run's state (the task, its Control, the folders queued for the next
run, whether to run again). It says what happened through signals; the window decides what
follows a run (a library swap, a photo list read, a search again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from . import jobs
from .widgets import ClickableLabel, duration, plural
from .workers import Task

if TYPE_CHECKING:  # pragma: no cover
    from ..core.ingest.indexer import Control, IndexReport
    from ..core.library import Library
    from .dialogs import SkippedDialog

PAUSED = " (paused)"


class IndexStatus(QWidget):
    """The status bar's progress: a label, a bar, Pause and Cancel (hidden while idle)."""

    pause_toggled = Signal(bool)
    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(6)
        self.label = QLabel(self)
        self.progress = QProgressBar(self)
        self.progress.setFixedWidth(180)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.pause_button = QToolButton(self)
        self.pause_button.setText("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._pause_toggled)
        self.cancel_button = QToolButton(self)
        self.cancel_button.setText("Cancel")
        self.cancel_button.clicked.connect(self.cancel_clicked)
        for widget in (self.label, self.progress, self.pause_button, self.cancel_button):
            box.addWidget(widget)
        self.hide()

    def run_started(self) -> None:
        self.pause_button.setChecked(False)
        self.show_busy("Looking for new photos…")
        self.show()

    def show_busy(self, text: str) -> None:
        self.progress.setRange(0, 0)
        self.label.setText(text)

    def show_progress(self, p) -> None:
        """An indexer Progress: what it does, how far, how fast, how long still."""
        if p.phase == "scanning" or not p.total:
            self.show_busy(
                "Another PhotoSeek is indexing this library; waiting…"
                if p.phase == "waiting"
                else "Looking for new photos…"
            )
            return
        self.progress.setRange(0, p.total)
        self.progress.setValue(p.done)
        verb = {
            "ocr": "Reading text in photos",
            "hashing": "Preparing duplicate detection",
            "prompts": "Preparing concepts",
        }.get(p.phase, "Indexing")
        parts = [f"{verb} {p.done:,} of {p.total:,}"]
        if p.rate > 0:
            parts.append(f"{p.rate:.1f}/s" if p.rate < 10 else f"{p.rate:.0f}/s")
        if p.eta_s is not None and p.done < p.total:
            parts.append(f"{duration(p.eta_s)} left")
        self.label.setText(" · ".join(parts))
        if self.pause_button.isChecked():
            self.label.setText(self.label.text() + PAUSED)

    def show_download(self, value) -> None:
        """The model download's (done, total) bytes; total is 0 when unknown."""
        done, total = value
        if not total and not done:
            return
        self.show()
        self.pause_button.hide()
        self.cancel_button.hide()
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.label.setText(f"Downloading model… {done / 1e6:,.0f} of {total / 1e6:,.0f} MB")
        else:
            self.progress.setRange(0, 0)
            self.label.setText(f"Downloading model… {done / 1e6:,.0f} MB")

    def show_side_work(self, p, indexing: bool) -> None:
        """Progress of work beside indexing (a new model's concept prompts), unless a run has the box."""
        if indexing:
            return
        self.show()
        self.pause_button.hide()
        self.cancel_button.hide()
        self.show_progress(p)

    def download_done(self, indexing: bool) -> None:
        if not indexing:
            self.hide()
        self.show_buttons()

    def show_buttons(self) -> None:
        self.pause_button.show()
        self.cancel_button.show()

    def stopping(self) -> None:
        self.label.setText("Stopping…")

    def _pause_toggled(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_toggled.emit(paused)

    def mark_paused(self, paused: bool) -> None:
        text = self.label.text()
        self.label.setText(text + PAUSED if paused else text.replace(PAUSED, ""))


class IndexingController(QObject):
    """Runs index runs one at a time: `start`, `interrupt` (a change goes first, then it runs
    again), `cancel` (the user stops it). `run` starts a task on the writer thread (the window's
    task plumbing); `notify` shows a line in the status bar."""

    photos_changed = Signal()  # every 1.5 s while a run goes: new photos may be in the catalog
    finished = Signal(object, object)  # library, IndexReport or exception
    relink_offered = Signal(str, str, int)  # old folder, new folder, photos: a library seen moved

    def __init__(
        self,
        status: IndexStatus,
        run: Callable[..., Task | None],
        notify: Callable[[str], None],
        folders: list[str] | None = None,
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        self.status = status
        self._run = run
        self._notify = notify
        self._task: Task | None = None
        self._control: Control | None = None
        self._reindex = False
        self._queued_folders: list[str] = list(folders or [])
        self._library_checked = False  # every folder re-checked since the window opened
        self.last_report: IndexReport | None = None
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(1500)
        self._refresh_timer.timeout.connect(self.photos_changed)
        status.pause_toggled.connect(self._pause_toggled)
        status.cancel_clicked.connect(self.cancel)

    @property
    def running(self) -> bool:
        return self._task is not None

    def wants_another_run(self) -> bool:
        return self._reindex or bool(self._queued_folders)

    def start(self, library: Library | None) -> None:
        """Bring the library up to date (incremental); queued if a run is already going."""
        if self._task is not None:
            self._reindex = True
            return
        if library is None:  # the window indexes once the library is open
            return
        self.start_run(library, load_model=False)

    def queue_folders(self, paths: list[str]) -> None:
        """Folders for the next run (a running one is interrupted to take them at once)."""
        self._queued_folders.extend(paths)

    def interrupt(self) -> bool:
        """Stop the running run to let a change go first; it runs again after. False if none runs."""
        if self._task is None or self._control is None:
            return False
        self._control.cancel()
        self._reindex = True
        return True

    def stop_for_next(self) -> bool:
        """Stop the running run; the caller starts the next one when it is done (`finished`)."""
        if self._task is None or self._control is None:
            return False
        self._control.cancel()
        return True

    def cancel(self) -> None:
        """The user stops indexing: nothing queued runs after."""
        if self._control is not None:
            self._reindex = False
            self._queued_folders = []
            self._control.cancel()
            self.status.stopping()

    def shutdown(self) -> None:
        self._refresh_timer.stop()
        if self._control is not None:
            self._control.cancel()

    def start_run(self, library: Library, load_model: bool) -> None:
        folders, self._queued_folders = self._queued_folders, []
        # new folders alone, once the whole library has been checked this session
        only_these = bool(folders) and self._library_checked
        from ..core.ingest.indexer import Control

        control = Control()
        self._control = control
        self._reindex = False
        self.status.run_started()
        self._refresh_timer.start()
        self._task = self._run(
            jobs.index_job,
            library,
            folders,
            control,
            report_kw="progress",
            load_model=load_model,
            only_these=only_these,
            on_progress=self._progress,
            on_result=lambda report: self._done(library, report),
            on_error=lambda error: self._done(library, error),
        )

    def _progress(self, p) -> None:
        if isinstance(p, tuple):  # model download
            self.status.show_download(p[1:])
            self.status.show_buttons()
            return
        self.status.show_progress(p)

    def _done(self, library: Library, result) -> None:
        self._task = None
        self._control = None
        if not isinstance(result, BaseException) and not result.cancelled:
            self._library_checked = True  # (a cancelled run may have left folders unchecked)
        self._refresh_timer.stop()
        self.status.hide()
        if not isinstance(result, BaseException):
            self.last_report = result
            self._report(result)
        self.finished.emit(library, result)

    def _report(self, r: IndexReport) -> None:
        if r.cancelled:
            if not self._reindex:
                self._notify("Indexing stopped. It picks up where it left off next time.")
            return
        parts = []
        if r.new:
            parts.append(f"{plural(r.new, 'new photo')}")
        if r.changed:
            parts.append(f"{r.changed:,} changed")
        if r.removed:
            parts.append(f"{r.removed:,} removed")
        if r.skipped:
            parts.append(f"{len(r.skipped):,} skipped")
        if r.unavailable_folders:
            parts.append(f"{plural(len(r.unavailable_folders), 'folder')} not available")
        if parts:
            self._notify("Library updated: " + ", ".join(parts))
        if r.moved_folders:
            self.relink_offered.emit(*r.moved_folders[0])

    def _pause_toggled(self, paused: bool) -> None:
        control = self._control
        if control is None:
            return
        if paused:
            control.pause()
        else:
            control.resume()
        self.status.mark_paused(paused)


class SkippedFiles(ClickableLabel):
    """The status bar's 'N skipped' link: the files indexing could not read; a click lists why.
    `run` starts a read on the window's jobs thread; `library` is the window's current one."""

    def __init__(
        self, run: Callable[..., Task | None], library: Callable[[], Library | None], parent: QWidget | None = None
    ):
        super().__init__(parent)
        self._run, self._library = run, library
        self.items: list[tuple[str, str]] = []  # (path, why), as last read
        self.dialog: SkippedDialog | None = None  # the list last opened
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Some files could not be read; click to see why")
        self.hide()
        self.clicked.connect(self.show_dialog)

    def refresh(self) -> None:
        library = self._library()
        if library is None:  # the window reads them once the library is open
            return

        def done(records):
            if library is self._library():
                self.items = [(r.path, r.skip_reason or "unknown reason") for r in records]
                n = len(self.items)
                self.setText(f"<a href='#'>{n:,} skipped</a>")
                self.setVisible(n > 0)

        self._run(library.skipped, on_result=done)

    def show_dialog(self) -> None:
        from .dialogs import SkippedDialog

        dialog = SkippedDialog(list(self.items), self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.show()
