"""Indexing: the controller that runs the library's index runs on the writer thread, its
progress widget in the status bar (also the model download's progress), and the status bar's
link to the files it could not read.

The controller holds the run's state (the task, its Control, the folders queued for the next
run, whether to run again). It says what happened through signals; the window decides what
follows a run (a library swap, a photo list read, a search again).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QToolButton, QWidget

from . import jobs
from .widgets import ClickableLabel, duration, plural
from .workers import Task

if TYPE_CHECKING:  # pragma: no cover
    from ..core.ingest.indexer import Control, IndexReport, SmoothEta
    from ..core.library import Library
    from .dialogs import SkippedDialog

PAUSED = " (paused)"
VERBS = {
    "ocr": "Reading text in photos",
    "hashing": "Looking for duplicates",
    "prompts": "Learning tags",
    "concepts": "Scoring photos for concepts",
    "adding": "Adding Pictures",
}


class ElidedLabel(QLabel):
    """A label that gives way: it asks for its text's width but can be squeezed to a little,
    cut with an ellipsis (the whole text in its tooltip). The status bar's progress is one, so
    that the notes about a query beside it are never the ones cut."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), self.fontMetrics().horizontalAdvance("In…")))
        return hint

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(self.alignment()), text)


class ShrinkingBar(QProgressBar):
    """A progress bar 180 px wide when there is room, narrower when the status bar is short of it."""

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setWidth(180)
        return hint

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(40)
        return hint


class IndexStatus(QWidget):
    """The status bar's progress: a label, a bar, Pause and Cancel (hidden while idle)."""

    pause_toggled = Signal(bool)
    cancel_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        box = QHBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(6)
        self.label = ElidedLabel(self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft)
        self._eta: SmoothEta | None = None  # made with the first progress (the engine is loaded by then)
        self.progress = ShrinkingBar(self)
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

    def run_started(self, adding: bool = False) -> None:
        self.pause_button.setChecked(False)
        self._eta = None  # a run's time left is its own
        self.show_busy("Adding Pictures…" if adding else "Looking for new photos…")
        self.show()

    def show_busy(self, text: str) -> None:
        self.progress.setRange(0, 0)
        self.label.setText(text)

    def show_progress(self, p, adding: bool = False) -> None:
        """An indexer Progress: what it does, how far, how fast, how long still. `adding`: the
        run adds the folders the user gave (it says so, with how many photos it found)."""
        if p.phase in ("scanning", "waiting") or not p.total:
            self.show_busy(scanning_text(p, adding))
            return
        self.progress.setRange(0, p.total)
        self.progress.setValue(p.done)
        if p.phase == "prompts":  # (thousands of phrases, not photos: how far, in words)
            parts = [f"{VERBS['prompts']}… {100 * p.done // p.total}%"]
        else:
            parts = [f"{VERBS.get(p.phase, 'Indexing')} {p.done:,} of {p.total:,}"]
        rate, eta = self._smooth_eta(p)
        if rate > 0 and p.phase != "prompts":
            parts.append(f"{rate:.1f}/s" if rate < 10 else f"{rate:.0f}/s")
        if eta is not None and p.done < p.total:
            parts.append(f"{duration(eta)} left")
        self.label.setText(" · ".join(parts))
        if self.pause_button.isChecked():
            self.label.setText(self.label.text() + PAUSED)

    def _smooth_eta(self, p) -> tuple[float, float | None]:
        if self._eta is None:
            from ..core.ingest.indexer import SmoothEta

            self._eta = SmoothEta()
        return self._eta.update(p.phase, p.total, p.done, p.rate, time.monotonic())

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


def scanning_text(p, adding: bool) -> str:
    if p.phase == "waiting":
        return "Another PhotoSeek is indexing this library; waiting…"
    if adding:
        return f"Adding Pictures… {p.done:,} found" if p.done else "Adding Pictures…"
    return "Looking for new photos…"


def found_count(p) -> int | None:
    """How many photos a run has found so far, when its progress says."""
    if p.phase == "scanning":
        return p.done
    return p.total if p.phase in ("indexing", "adding") else None


class IndexingController(QObject):
    """Runs index runs one at a time: `start`, `interrupt` (a change goes first, then it runs
    again), `cancel` (the user stops it). `run` starts a task on the writer thread (the window's
    task plumbing); `notify` shows a line in the status bar."""

    photos_changed = Signal()  # every 1.5 s while a run goes: new photos may be in the catalog
    finished = Signal(object, object)  # library, IndexReport or exception
    relink_offered = Signal(str, str, int)  # old folder, new folder, photos: a library seen moved
    found = Signal(int)  # photos found so far by a run that adds the folders the user gave
    concepts_scored = Signal()  # a run's photos are scored for concepts (its text is read after)

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
        # folders of photos opened with "Open with": added only when no library folder holds them
        self.photo_folders: set[str] = set()
        self._library_checked = False  # every folder re-checked since the window opened
        self.adding = False  # the running run adds folders the user gave
        self._first_photos = False  # (of an adding run) shown
        self.last_report: IndexReport | None = None
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(1500)
        self._refresh_timer.timeout.connect(self.photos_changed)
        status.pause_toggled.connect(self._pause_toggled)
        status.cancel_clicked.connect(self.cancel)

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def has_queued_folders(self) -> bool:
        return bool(self._queued_folders)

    def queued_new_folders(self, known: dict) -> bool:
        """Whether folders queued for the next run are not yet among `known` (id -> Path)."""
        roots = {Path(p) for p in known.values()}
        return any(Path(f).expanduser().resolve() not in roots for f in self._queued_folders)

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

    def start_run(self, library: Library, load_model: bool, embed: bool = True) -> None:
        """`embed=False`: the photos catalogued and thumbnailed only, without the model (the first
        pass of a first start: photos on screen while the model loads)."""
        folders, self._queued_folders = self._queued_folders, []
        # new folders alone, once the whole library has been checked this session
        only_these = bool(folders) and self._library_checked
        from ..core.ingest.indexer import Control

        control = Control()
        self._control = control
        self._reindex = False
        self.adding = bool(folders)
        self._first_photos = False
        self.status.run_started(self.adding)
        self._refresh_timer.start(500 if self.adding else 1500)  # the first photos as soon as they land
        self._task = self._run(
            jobs.index_job,
            library,
            folders,
            control,
            report_kw="progress",
            load_model=load_model,
            only_these=only_these,
            embed=embed,
            unless_held=self.photo_folders,
            on_progress=self._progress,
            on_result=lambda report: self._done(library, report),
            on_error=lambda error: self._done(library, error),
        )

    def _progress(self, p) -> None:
        if p == jobs.CONCEPTS_SCORED:
            self.concepts_scored.emit()
        elif isinstance(p, tuple):  # model download
            self.status.show_download(p[1:])
            self.status.show_buttons()
        else:
            self.status.show_progress(p, self.adding)
            count = found_count(p) if self.adding else None
            if count:
                self.found.emit(count)
            if self.adding and p.phase == "adding" and p.done and not self._first_photos:
                self._first_photos = True
                self.photos_changed.emit()  # the first photos are in: on screen now, not at the next tick

    def _done(self, library: Library, result) -> None:
        self._task = None
        self._control = None
        self.adding = False
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
        text = report_text(r)
        if text:
            self._notify(text)
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


def report_text(r: IndexReport) -> str:
    """What a run did, in words: "Added 24 photos · Removed 3 photos · Could not read broken.jpg
    (why)" ('' when nothing changed)."""
    parts = []
    added = r.new - len(r.skipped)  # (a refused file is catalogued, as skipped, but no photo)
    if added > 0:
        parts.append(f"Added {plural(added, 'photo')}")
    if r.changed:
        parts.append(f"Updated {plural(r.changed, 'changed photo')}")
    if r.removed:
        parts.append(f"Removed {plural(r.removed, 'photo')}")
    if r.skipped:
        path, why = r.skipped[0]
        others = len(r.skipped) - 1
        parts.append(
            f"Could not read {Path(path).name} ({why})" + (f" and {plural(others, 'other file')}" if others else "")
        )
    for folder in r.unavailable_folders:
        parts.append(f"{Path(folder).name} is not available; its photos are kept")
    return " · ".join(parts)


class SkippedFiles(ClickableLabel):
    """The status bar's 'N skipped' link: the files indexing could not read; a click lists why.
    `run` starts a read on the window's jobs thread; `library` is the window's current one."""

    counted = Signal(int)  # how many files are skipped, as just read

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
                self.counted.emit(n)

        self._run(library.skipped, on_result=done)

    def show_dialog(self) -> None:
        from .dialogs import SkippedDialog

        dialog = SkippedDialog(list(self.items), self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.show()
