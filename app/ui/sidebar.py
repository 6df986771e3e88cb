"""The sidebar: the library's folders (choose one to narrow the grid), the saved searches (smart
albums), and the buttons to add and remove folders.

It shows what it is given and says what the user asked for through signals; the window carries
the requests out through the engine and gives it the new folders or saved searches.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from . import desktop
from .offline import offline_status
from .searchbar import line_icon

ALL_PHOTOS = -1  # the "All Photos" row's folder id
SEARCH_ID, QUERY = Qt.ItemDataRole.UserRole, Qt.ItemDataRole.UserRole + 1  # on saved-search rows


class Sidebar(QWidget):
    folder_chosen = Signal(object)  # a folder id, or None for all photos
    add_folder_requested = Signal()
    remove_folder_requested = Signal(int)  # folder id
    saved_search_chosen = Signal(str)  # its query
    saved_search_renamed = Signal(int, str)  # id, new name
    saved_search_removed = Signal(int)
    saved_search_replace_requested = Signal(str)  # name: save the current search under it

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("sidePanel")
        self.folders: dict[int, Path] = {}  # as listed
        self.folder_list = self._list("Folders")
        self.folder_list.customContextMenuRequested.connect(self._folder_menu)
        self.folder_list.currentItemChanged.connect(self._folder_changed)
        header = QLabel("LIBRARY", self)
        header.setObjectName("sidebarHeader")
        add_button = QPushButton("Add Folder…", self)
        add_button.clicked.connect(self.add_folder_requested)
        self.remove_button = QToolButton(self)
        self.remove_button.setText("−")
        self.remove_button.setToolTip("Remove the selected folder from the library")
        self.remove_button.setAccessibleName("Remove Folder")
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self._remove_current)
        self.saved_header = QLabel("SAVED SEARCHES", self)
        self.saved_header.setObjectName("sidebarHeader")
        self.saved_list = self._list("Saved searches")
        self.saved_list.customContextMenuRequested.connect(self._saved_menu)
        self.saved_list.itemClicked.connect(self._saved_clicked)
        self.saved_list.itemActivated.connect(self._saved_clicked)
        self.saved_header.hide()
        self.saved_list.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 10, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(header)
        layout.addWidget(self.folder_list, 1)
        layout.addWidget(self.saved_header)
        layout.addWidget(self.saved_list)
        buttons = QHBoxLayout()
        buttons.addWidget(add_button, 1)
        buttons.addWidget(self.remove_button)
        layout.addLayout(buttons)
        self.setMinimumWidth(170)
        self.set_folders({}, None)

    def _list(self, name: str) -> QListWidget:
        widget = QListWidget(self)
        widget.setObjectName("sidebar")
        widget.setFrameShape(QFrame.Shape.NoFrame)
        widget.setIconSize(QSize(18, 18))
        widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        widget.setAccessibleName(name)
        return widget

    # -- folders -------------------------------------------------------------------------------

    def set_folders(self, folders: dict[int, Path], current: int | None, offline: dict | None = None) -> None:
        """List `folders` (by name), `current` chosen if it is one of them, else All Photos; the
        `offline` ones (id: OfflineFolder) greyed."""
        offline = offline or {}
        self.folders = dict(folders)
        listing = self.folder_list
        listing.blockSignals(True)
        listing.clear()
        all_item = QListWidgetItem(self.style().standardIcon(QStyle.StandardPixmap.SP_DirHomeIcon), "All Photos")
        all_item.setData(Qt.ItemDataRole.UserRole, ALL_PHOTOS)
        listing.addItem(all_item)
        folder_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        selected = all_item
        for folder_id, path in sorted(folders.items(), key=lambda kv: kv[1].name.lower()):
            away = offline.get(folder_id)
            item = QListWidgetItem(folder_icon, (path.name or str(path)) + (" (offline)" if away else ""))
            item.setToolTip(str(path) + (f"\n{offline_status(away)}" if away else ""))
            if away:
                item.setForeground(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
            item.setData(Qt.ItemDataRole.UserRole, folder_id)
            listing.addItem(item)
            if folder_id == current:
                selected = item
        listing.setCurrentItem(selected)
        listing.blockSignals(False)
        self.remove_button.setEnabled(selected is not all_item)

    def chosen_folder(self) -> int | None:
        item = self.folder_list.currentItem()
        folder = item.data(Qt.ItemDataRole.UserRole) if item else ALL_PHOTOS
        return None if folder in (None, ALL_PHOTOS) else int(folder)

    def select_folder(self, folder_id: int | None) -> None:
        for row in range(self.folder_list.count()):
            item = self.folder_list.item(row)
            value = item.data(Qt.ItemDataRole.UserRole)
            if (folder_id is None and value == ALL_PHOTOS) or value == folder_id:
                self.folder_list.setCurrentItem(item)
                return

    def _folder_changed(self, *_) -> None:
        folder = self.chosen_folder()
        self.remove_button.setEnabled(folder is not None)
        self.folder_chosen.emit(folder)

    def _remove_current(self) -> None:
        folder = self.chosen_folder()
        if folder is not None:
            self.remove_folder_requested.emit(folder)

    def _folder_menu(self, pos) -> None:
        item = self.folder_list.itemAt(pos)
        if item is None:
            return
        folder_id = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        if folder_id == ALL_PHOTOS:
            menu.addAction("Add Folder…", self.add_folder_requested.emit)
        else:
            path = self.folders.get(folder_id)
            menu.addAction("Open in File Manager", lambda: desktop.open_file(path))
            menu.addSeparator()
            menu.addAction("Remove from Library…", lambda: self.remove_folder_requested.emit(folder_id))
        menu.exec(self.folder_list.viewport().mapToGlobal(pos))

    # -- saved searches ------------------------------------------------------------------------

    def set_saved_searches(self, rows: list[tuple[int, str, str]]) -> None:
        """List (id, name, query) rows; the one selected stays selected."""
        listing = self.saved_list
        selected = listing.currentItem()
        selected_id = selected.data(SEARCH_ID) if selected and selected.isSelected() else None
        listing.clear()
        icon = line_icon("search", 18)
        for search_id, name, query in rows:
            item = QListWidgetItem(icon, name)
            item.setToolTip(query)
            item.setData(SEARCH_ID, search_id)
            item.setData(QUERY, query)
            listing.addItem(item)
            if search_id == selected_id:
                listing.setCurrentItem(item)
        self.saved_header.setVisible(bool(rows))
        listing.setVisible(bool(rows))
        listing.setFixedHeight(min(8, max(1, len(rows))) * (listing.sizeHintForRow(0) + 2) + 4 if rows else 0)

    def saved_searches(self) -> list[tuple[str, str]]:
        """(name, query) of the smart albums, as shown."""
        return [
            (self.saved_list.item(i).text(), self.saved_list.item(i).data(QUERY))
            for i in range(self.saved_list.count())
        ]

    def search_typed(self, text: str) -> None:
        """The search bar's text changed: a saved search no longer shown is no longer selected."""
        current = self.saved_list.currentItem()
        if current is not None and current.isSelected() and current.data(QUERY) != text:
            self.saved_list.clearSelection()

    def clear_saved_selection(self) -> None:
        self.saved_list.clearSelection()

    def _saved_clicked(self, item: QListWidgetItem) -> None:
        self.saved_list.setCurrentItem(item)
        self.select_folder(None)
        self.saved_search_chosen.emit(item.data(QUERY))

    def _saved_menu(self, pos) -> None:
        item = self.saved_list.itemAt(pos)
        if item is None:
            return
        menu = QMenu(self)
        menu.addAction("Show", lambda: self._saved_clicked(item))
        menu.addAction("Rename…", lambda: self.rename_saved_search(item))
        menu.addAction("Replace with Current Search", lambda: self.saved_search_replace_requested.emit(item.text()))
        menu.addSeparator()
        menu.addAction("Remove", lambda: self.remove_saved_search(item))
        menu.exec(self.saved_list.viewport().mapToGlobal(pos))

    def rename_saved_search(self, item: QListWidgetItem) -> None:
        name, ok = QInputDialog.getText(self, "Rename Saved Search", "Name:", text=item.text())
        if ok and name.strip() and name.strip() != item.text():
            self.saved_search_renamed.emit(item.data(SEARCH_ID), name.strip())

    def remove_saved_search(self, item: QListWidgetItem) -> None:
        self.saved_search_removed.emit(item.data(SEARCH_ID))
