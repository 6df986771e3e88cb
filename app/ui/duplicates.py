"""The Duplicates view: groups of photos that are the same picture, a suggested keeper in each,
and "Move Others to Trash".

The search runs on the window's worker pool (`Library.duplicates`, see app/core/organize/duplicates.py);
moving to the trash runs on the window's writer thread (`Library.trash`). This module only shows
the groups and routes clicks. In each group the identical and near copies of the keeper start
checked; photos that only look alike are offered unchecked (they may be other shots of the same
scene). Checked photos are the ones "Move Others to Trash" sends away (the user can change which,
or pick another keeper from the context menu).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from ..core.organize.duplicates import (
    DEFAULT_THRESHOLD,
    IDENTICAL,
    KEEPER,
    LOOKS_ALIKE,
    MIN_THRESHOLD,
    NEAR_COPY,
    SAME_PICTURE,
    DuplicateGroup,
    DuplicateReport,
    Photo,
    hash_distance_for,
)
from . import desktop

try:
    from shiboken6 import isValid as _valid
except ImportError:  # pragma: no cover

    def _valid(obj) -> bool:  # type: ignore[misc]  # the stand-in names its argument
        return obj is not None


log = logging.getLogger(__name__)

ICON = 72
PHOTO_ROLE = Qt.ItemDataRole.UserRole  # on photo rows: the Photo; on group rows: None
KEEPER_ROLE = Qt.ItemDataRole.UserRole + 1  # on photo rows: whether it is the group's keeper
GROUP_ROLE = Qt.ItemDataRole.UserRole + 2  # on group rows: the DuplicateGroup
_TITLES = {IDENTICAL: "Identical copies", NEAR_COPY: "Near copies", LOOKS_ALIKE: "Look-alikes"}
_RANGE = f"{MIN_THRESHOLD:.2f}–1.00"


def _human_size(num_bytes: int) -> str:
    from .dialogs import human_size

    return human_size(num_bytes)


class DuplicatesDialog(QDialog):
    """Non-modal; `window` is the MainWindow (its library, worker pools and thumbnail loader)."""

    results_shown = Signal()  # a search finished and its groups are on screen
    trashed = Signal(list)  # ids moved to the trash

    def __init__(self, window, threshold: float = DEFAULT_THRESHOLD) -> None:
        super().__init__(window)
        self.main = window
        self.setWindowTitle("Duplicates — PhotoSeek")
        self.report: DuplicateReport | None = None
        self.busy = False
        self._seq = 0
        self._stop: threading.Event | None = None
        self._rows: dict[int, QTreeWidgetItem] = {}  # photo id -> its row
        self._make_threshold(threshold)
        self._make_tree()
        buttons = self._make_buttons()
        self._lay_out(buttons)
        window.loader.loaded.connect(self._thumbnails_loaded)
        QTimer.singleShot(0, self.find)

    def _make_threshold(self, threshold: float) -> None:
        """The similarity box (a search a moment after each change) and the lines under it."""
        self.threshold_spin = QDoubleSpinBox(self)
        self.threshold_spin.setRange(MIN_THRESHOLD, 1.00)  # looser would group photos that are not copies
        self.threshold_spin.setSingleStep(0.01)
        self.threshold_spin.setDecimals(2)
        self.threshold_spin.setValue(threshold)
        self.threshold_spin.setToolTip(
            f"How alike two photos must be to count as the same picture, {_RANGE} "
            "(1.00: identical files only). Lower finds more."
        )
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(350)
        self._debounce.timeout.connect(self.find)
        self.threshold_spin.valueChanged.connect(lambda _value: self._debounce.start())
        self.status = QLabel(self)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: palette(placeholder-text);")
        self.note.hide()

    def _make_tree(self) -> None:
        """The groups, a row a photo."""
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Photo", "Dimensions", "File size", "Folder"])
        self.tree.setIconSize(QSize(ICON, ICON))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.itemChanged.connect(lambda *_: self._update_buttons())
        self.tree.itemDoubleClicked.connect(self._open_item)
        self.tree.verticalScrollBar().valueChanged.connect(lambda _v: self._request_visible())
        self.tree.itemExpanded.connect(lambda _item: self._request_visible())
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.tree.setColumnWidth(0, 360)
        self.tree.setColumnWidth(1, 110)
        self.tree.setColumnWidth(2, 90)

    def _make_buttons(self) -> QDialogButtonBox:
        self.trash_button = QPushButton("Move Others to Trash…", self)
        self.trash_button.setToolTip("Send the checked photos to the trash; each group's keeper stays")
        self.trash_button.clicked.connect(self.trash_others)
        self.trash_button.setEnabled(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.trash_button, QDialogButtonBox.ButtonRole.ActionRole)
        # Enter after typing a similarity must not press a button: it was "Move N Others to Trash…"
        for button in (buttons.button(QDialogButtonBox.StandardButton.Close), self.trash_button):
            button.setAutoDefault(False)
            button.setDefault(False)
        self.threshold_spin.editingFinished.connect(self._threshold_entered)
        return buttons

    def _lay_out(self, buttons: QDialogButtonBox) -> None:
        top = QHBoxLayout()
        top.addWidget(QLabel(f"Similarity ({_RANGE}):", self))
        top.addWidget(self.threshold_spin)
        top.addSpacing(12)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.resize(860, 620)

    # -- searching -------------------------------------------------------------------------------

    def threshold(self) -> float:
        return round(self.threshold_spin.value(), 2)

    def find(self) -> None:
        """Look for duplicates at the current threshold (off the GUI thread); a newer search wins."""
        self._debounce.stop()
        if self._stop is not None:
            self._stop.set()
        stop = threading.Event()
        self._stop = stop
        self._seq += 1
        seq = self._seq
        self.busy = True
        self.trash_button.setEnabled(False)
        self.status.setText("Looking for duplicates…")
        library = self.main.library
        self.main.run_job(
            library.duplicates,
            self.threshold(),
            None,
            stop.is_set,
            on_result=lambda report: self._show(seq, report),
            on_error=lambda error: self._failed(seq, error),
        )

    def _failed(self, seq: int, error: BaseException) -> None:
        if seq != self._seq or not _valid(self):
            return
        self.busy = False
        self.status.setText(f"Could not look for duplicates: {error}")

    def _show(self, seq: int, report: DuplicateReport) -> None:
        if seq != self._seq or not _valid(self):
            return
        self.busy = False
        self.report = report
        self.tree.blockSignals(True)
        self.tree.clear()
        self._rows.clear()
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for group in report.groups:
            title = f"{_TITLES[group.kind]} · {len(group.photos)} photos"
            if not group.exact:
                title += f" · {round(100 * group.similarity)}% alike"
            parent = QTreeWidgetItem([title])
            parent.setData(0, GROUP_ROLE, group)
            parent.setFirstColumnSpanned(True)
            parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
            parent.setFont(0, bold)
            self.tree.addTopLevelItem(parent)
            for photo in group.photos:
                parent.addChild(self._photo_row(photo))
            parent.setExpanded(True)
        self.tree.blockSignals(False)
        n = len(report.groups)
        if n:
            self.status.setText(
                f"{n:,} group{'s' * (n != 1)} · {report.redundant:,} photo"
                f"{'s' * (report.redundant != 1)} could go · keepers: largest, then oldest"
            )
        else:
            self.status.setText(f"No duplicates among {report.photos:,} photos")
        self.note.setText(report.note)
        self.note.setVisible(bool(report.note))
        bits = hash_distance_for(self.threshold())
        self.threshold_spin.setToolTip(
            f"How alike two photos must be to count as the same picture, {_RANGE} (1.00: identical files only). "
            "Lower finds more." + (f" Image hashes may differ by {bits} bits here." if bits >= 0 else "")
        )
        self._update_buttons()
        self._request_visible()
        self.results_shown.emit()

    def _photo_row(self, photo: Photo) -> QTreeWidgetItem:
        dims = f"{photo.width} × {photo.height}" if photo.width and photo.height else "—"
        item = QTreeWidgetItem(["", dims, _human_size(photo.size), os.path.dirname(photo.path)])
        item.setData(0, PHOTO_ROLE, photo)
        item.setToolTip(0, photo.path)
        item.setToolTip(3, os.path.dirname(photo.path))
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
        self._mark(item, photo.kind)
        self._rows[photo.id] = item
        return item

    def _mark(self, item: QTreeWidgetItem, kind: str) -> None:
        """Show how a photo matches its group's keeper (KEEPER for the keeper); only the same
        picture for sure (identical, near copy) starts checked for the trash."""
        photo: Photo = item.data(0, PHOTO_ROLE)
        keeper = kind == KEEPER
        item.setData(0, KEEPER_ROLE, keeper)
        trash = kind in SAME_PICTURE
        item.setCheckState(0, Qt.CheckState.Checked if trash else Qt.CheckState.Unchecked)
        suffix = "  ★ Keep" if keeper else f"  ({'identical copy' if kind == IDENTICAL else kind})"
        item.setText(0, os.path.basename(photo.path) + suffix)
        font = QFont(self.tree.font())
        font.setBold(keeper)
        item.setFont(0, font)

    # -- thumbnails ------------------------------------------------------------------------------

    def _request_visible(self) -> None:
        """Ask for the thumbnails of the rows on screen (the loader keeps only recent requests)."""
        item = self.tree.itemAt(0, 0)
        height = self.tree.viewport().height()
        while item is not None:
            if self.tree.visualItemRect(item).top() > height:
                break
            photo = item.data(0, PHOTO_ROLE)
            if photo is not None and item.icon(0).isNull():
                self._set_icon(item, photo)
            item = self.tree.itemBelow(item)

    def _set_icon(self, item: QTreeWidgetItem, photo: Photo) -> None:
        record = self.main.screen_model.record(photo.id)
        if record is None:
            return
        image = self.main.loader.image(record)
        if image is not None and not image.isNull():
            item.setIcon(0, QIcon(QPixmap.fromImage(image)))

    def _thumbnails_loaded(self, file_ids: list[int]) -> None:
        if not _valid(self):
            return
        for file_id in file_ids:
            item = self._rows.get(file_id)
            if item is not None and item.icon(0).isNull():
                self._set_icon(item, item.data(0, PHOTO_ROLE))

    # -- choosing and trashing -------------------------------------------------------------------

    def groups(self) -> list[list[str]]:
        """The paths of each group on screen, keeper first."""
        out = []
        for g in range(self.tree.topLevelItemCount()):
            parent = self.tree.topLevelItem(g)
            out.append([parent.child(k).data(0, PHOTO_ROLE).path for k in range(parent.childCount())])
        return out

    def keepers(self) -> list[str]:
        return [item.data(0, PHOTO_ROLE).path for item in self._photo_items() if item.data(0, KEEPER_ROLE)]

    def checked(self) -> list[Photo]:
        """The photos that "Move Others to Trash" would send away."""
        return [item.data(0, PHOTO_ROLE) for item in self._photo_items() if item.checkState(0) == Qt.CheckState.Checked]

    def _photo_items(self) -> list[QTreeWidgetItem]:
        items: list[QTreeWidgetItem] = []
        for g in range(self.tree.topLevelItemCount()):
            parent = self.tree.topLevelItem(g)
            items.extend(parent.child(k) for k in range(parent.childCount()))
        return items

    def keep(self, item: QTreeWidgetItem) -> None:
        """Make this photo its group's keeper: it stays, its identical and near copies are checked
        to go, the photos that only look like it are not."""
        parent = item.parent()
        if parent is None:
            return
        group: DuplicateGroup = parent.data(0, GROUP_ROLE)
        keeper: Photo = item.data(0, PHOTO_ROLE)
        self.tree.blockSignals(True)
        for k in range(parent.childCount()):
            child = parent.child(k)
            self._mark(child, KEEPER if child is item else group.match(keeper, child.data(0, PHOTO_ROLE)).kind)
        self.tree.blockSignals(False)
        self._update_buttons()

    def _update_buttons(self) -> None:
        n = len(self.checked()) if not self.busy else 0
        self.trash_button.setEnabled(n > 0)
        self.trash_button.setText(f"Move {n:,} Other{'s' * (n != 1)} to Trash…" if n else "Move Others to Trash…")

    def _threshold_entered(self) -> None:
        """Enter (or leaving the box) applies a typed similarity at once."""
        if self._debounce.isActive():
            self._debounce.stop()
            self.find()

    def trash_others(self) -> None:
        photos = self.checked()
        if not photos or self.busy:
            return
        n = len(photos)
        if not desktop.confirm(
            self,
            "Move to Trash",
            f"Move {n:,} photo{'s' * (n != 1)} to the trash?\n\nThe photo marked Keep in each group stays. "
            "You can restore the others from the trash later.",
        ):
            return
        ids = [p.id for p in photos]
        self.busy = True
        self._update_buttons()
        self.status.setText(f"Moving {n:,} photo{'s' * (n != 1)} to the trash…")
        self.main.move_to_trash(ids, then=self._trashed, failed=self._trash_failed)

    def _trashed(self, gone: list[int], failures: list[tuple[str, str]]) -> None:
        if not _valid(self):
            return
        self.busy = False
        if failures:
            QMessageBox.warning(
                self,
                "Move to Trash",
                "Some photos could not be moved to the trash:\n\n"
                + "\n".join(f"{p}: {why}" for p, why in failures[:10]),
            )
        self.main.notify(f"{len(gone):,} duplicate{'s' * (len(gone) != 1)} moved to the trash")
        self.trashed.emit(gone)
        self.find()

    def _trash_failed(self, error: BaseException) -> None:
        if not _valid(self):
            return
        self.busy = False
        self._update_buttons()
        self.status.setText(f"Could not move to the trash: {error}")

    # -- context menu ----------------------------------------------------------------------------

    def _menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None or item.data(0, PHOTO_ROLE) is None:
            return
        photo: Photo = item.data(0, PHOTO_ROLE)
        menu = QMenu(self)
        a = menu.addAction("Keep This One", lambda: self.keep(item))
        a.setEnabled(not item.data(0, KEEPER_ROLE))
        menu.addSeparator()
        menu.addAction("Open", lambda: desktop.open_file(photo.path))
        menu.addAction("Show in Folder", lambda: desktop.show_in_folder(photo.path, said=self.status.setText))
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def _open_item(self, item: QTreeWidgetItem, _column: int) -> None:
        photo = item.data(0, PHOTO_ROLE)
        if photo is not None and Path(photo.path).exists():
            desktop.open_file(photo.path)

    # -- closing ---------------------------------------------------------------------------------

    def done(self, result: int) -> None:
        if self._stop is not None:
            self._stop.set()
        self._debounce.stop()
        try:
            self.main.loader.loaded.disconnect(self._thumbnails_loaded)
        except (RuntimeError, TypeError):
            pass
        super().done(result)


__all__ = ["DuplicatesDialog"]
