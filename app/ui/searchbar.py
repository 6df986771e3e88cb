"""The search field: type to search (debounced), Enter searches at once, Esc clears; an image
dropped or pasted onto it becomes a query "chip" that typed words refine."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QModelIndex, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QIcon,
    QImage,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import QCompleter, QFrame, QHBoxLayout, QLabel, QLineEdit, QMenu, QToolButton, QWidget

DEBOUNCE_MS = 250
SEARCH_TIPS = (
    "<p>Describe what is in the photo: <b>kids at the beach at sunset</b></p>"
    "<p><b>beach -people</b> leaves people out &nbsp; <b>2:dog + cat</b> weighs parts</p>"
    "<p><b>#dog</b> finds a concept (type # to pick one)</p>"
    "<p><b>folder:Holidays</b> &nbsp; <b>after:2021-06</b> &nbsp; <b>before:2022</b> &nbsp; "
    "<b>type:heic</b> &nbsp; <b>orientation:portrait</b></p>"
    '<p><b>"exact words"</b> must be in the file name or written in the photo</p>'
    "<p>Drop or paste a picture to search by it; words you type refine it.</p>"
)
SEARCH_PLACEHOLDER = "Search your photos — try “dog on a beach”"
LOADING_PLACEHOLDER = "Loading model…"
NO_MODEL_PLACEHOLDER = "No search model yet: file names, folder:, after:/before: dates and “text in photos” still work"


@dataclass
class ImageQuery:
    """A picture to search by: a file path (in the library or not) or decoded pixels."""

    source: str | QImage
    label: str
    photo_id: int | None = None  # a library photo ("Find similar")
    thumb: QImage | None = field(default=None, repr=False)


def line_icon(kind: str, size: int = 16, color: QColor | None = None) -> QIcon:
    """Small crisp line icons drawn here, so they look the same with or without an icon theme."""
    pixmaps = []
    for scale in (1, 2):
        pm = QPixmap(size * scale, size * scale)
        pm.setDevicePixelRatio(scale)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        c = color or QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        pen = QPen(c, 1.6)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        s = float(size)
        if kind == "search":
            p.drawEllipse(QRectF(s * 0.16, s * 0.16, s * 0.5, s * 0.5))
            p.drawLine(QPointF(s * 0.58, s * 0.58), QPointF(s * 0.86, s * 0.86))
        elif kind == "clear":
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(c)
            p.drawEllipse(QRectF(s * 0.1, s * 0.1, s * 0.8, s * 0.8))
            p.setPen(QPen(QGuiApplication.palette().color(QPalette.ColorRole.Base), 1.6))
            p.drawLine(QPointF(s * 0.36, s * 0.36), QPointF(s * 0.64, s * 0.64))
            p.drawLine(QPointF(s * 0.64, s * 0.36), QPointF(s * 0.36, s * 0.64))
        elif kind == "small":
            p.drawRoundedRect(QRectF(s * 0.3, s * 0.3, s * 0.4, s * 0.4), 1.5, 1.5)
        elif kind == "large":
            p.drawRoundedRect(QRectF(s * 0.12, s * 0.12, s * 0.76, s * 0.76), 2, 2)
        elif kind == "more":
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(c)
            for x in (0.22, 0.5, 0.78):
                p.drawEllipse(QPointF(s * x, s * 0.5), s * 0.08, s * 0.08)
        p.end()
        pixmaps.append(pm)
    icon = QIcon()
    for pm in pixmaps:
        icon.addPixmap(pm)
    return icon


class _QueryEdit(QLineEdit):
    image_pasted = Signal(object)  # QMimeData
    escape_pressed = Signal()
    backspace_on_empty = Signal()
    down_pressed = Signal()  # into the results
    concept_completer: QCompleter | None  # set by the search bar that owns it

    def keyPressEvent(self, event) -> None:
        completer = getattr(self, "concept_completer", None)
        if (
            completer is not None
            and completer.popup().isVisible()
            and event.key()
            in (
                Qt.Key.Key_Return,
                Qt.Key.Key_Enter,
                Qt.Key.Key_Escape,
                Qt.Key.Key_Tab,
                Qt.Key.Key_Backtab,
                Qt.Key.Key_Down,
                Qt.Key.Key_Up,
            )
        ):
            event.ignore()  # the completer picks (or closes); no search, no clearing
            return
        if event.matches(QKeySequence.StandardKey.Paste):
            mime = QGuiApplication.clipboard().mimeData()
            if mime is not None and (mime.hasImage() or _has_file_urls(mime)):
                self.image_pasted.emit(mime)
                event.accept()
                return
        if event.key() == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Down and not event.modifiers():  # (the popup, if open, has the keys)
            self.down_pressed.emit()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Backspace and not self.text() and not self.hasSelectedText():
            self.backspace_on_empty.emit()
            event.accept()
            return
        super().keyPressEvent(event)


def _has_file_urls(mime: QMimeData) -> bool:
    return mime.hasUrls() and any(u.isLocalFile() for u in mime.urls())


class QueryChip(QFrame):
    """A small thumbnail of the query picture with a button to remove it."""

    removed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("queryChip")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(3, 2, 2, 2)
        layout.setSpacing(4)
        self.thumb = QLabel(self)
        self.thumb.setFixedSize(22, 22)
        self.thumb.setScaledContents(True)
        self.label = QLabel(self)
        self.label.setMaximumWidth(160)
        self.close_button = QToolButton(self)
        self.close_button.setObjectName("chipClose")
        self.close_button.setIcon(line_icon("clear", 14))
        self.close_button.setIconSize(QSize(14, 14))
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Remove this picture from the search")
        self.close_button.setAccessibleName("Remove Picture")
        self.close_button.setCursor(Qt.CursorShape.ArrowCursor)
        self.close_button.clicked.connect(self.removed)
        layout.addWidget(self.thumb)
        layout.addWidget(self.label)
        layout.addWidget(self.close_button)

    def set_query(self, query: ImageQuery) -> None:
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(query.label, Qt.TextElideMode.ElideMiddle, 150))
        self.setToolTip(query.label if isinstance(query.source, QImage) else str(query.source))
        self.set_thumb(query.thumb)

    def set_thumb(self, image: QImage | None) -> None:
        if image is None or image.isNull():
            pm = QPixmap(44, 44)
            pm.fill(self.palette().color(QPalette.ColorRole.Mid))
        else:
            side = min(image.width(), image.height())
            square = image.copy((image.width() - side) // 2, (image.height() - side) // 2, side, side)
            pm = QPixmap.fromImage(
                square.scaled(44, 44, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
            )
        rounded = QPixmap(pm.size())
        rounded.fill(Qt.GlobalColor.transparent)
        p = QPainter(rounded)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, pm.width(), pm.height()), 8, 8)
        p.setClipPath(path)
        p.drawPixmap(0, 0, pm)
        p.end()
        self.thumb.setPixmap(rounded)


class SearchBar(QFrame):
    """`search_requested(text)` after typing pauses or on Enter; `cleared()` when nothing is left
    to search for; `mime_dropped(QMimeData)` for a dropped or pasted picture (the window decides)."""

    search_requested = Signal(str)
    cleared = Signal()
    mime_dropped = Signal(object)
    results_requested = Signal()  # Down arrow in the field: on to the results
    save_requested = Signal()  # "Save Search…" from the bar's menu
    concept_requested = Signal()  # "New Concept…" from the bar's menu

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("searchBar")
        self.setAcceptDrops(True)
        self.image_query: ImageQuery | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 3, 4, 3)
        layout.setSpacing(6)
        self.icon = QLabel(self)
        self.icon.setPixmap(line_icon("search", 16).pixmap(16, 16))
        self.chip = QueryChip(self)
        self.chip.hide()
        self.chip.removed.connect(self.remove_image)
        self._make_edit()
        self._make_buttons()
        layout.addWidget(self.icon)
        layout.addWidget(self.chip)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.clear_button)
        layout.addWidget(self.menu_button)
        self._make_completer()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.search_now)
        self.setFocusProxy(self.edit)
        self.setFixedHeight(max(34, self.edit.sizeHint().height() + 10))
        self._update_style()

    def _make_edit(self) -> None:
        """The line typed in: Enter searches, Esc clears, Backspace on empty drops the picture."""
        self.edit = _QueryEdit(self)
        self.edit.setObjectName("searchEdit")
        self.edit.setFrame(False)
        self.edit.setPlaceholderText(SEARCH_PLACEHOLDER)
        self.edit.setAccessibleName("Search")
        self.edit.setMinimumWidth(240)
        self.edit.setAttribute(Qt.WidgetAttribute.WA_MacShowFocusRect, False)
        self.edit.textEdited.connect(self._edited)
        self.edit.returnPressed.connect(self.search_now)
        self.edit.escape_pressed.connect(self.clear)
        self.edit.backspace_on_empty.connect(self.remove_image)
        self.edit.installEventFilter(self)
        self.edit.image_pasted.connect(self.mime_dropped)
        self.edit.down_pressed.connect(self._to_results)

    def _make_buttons(self) -> None:
        """Clear, and the menu (save, new concept, tips)."""
        self.clear_button = QToolButton(self)
        self.clear_button.setIcon(line_icon("clear", 16))
        self.clear_button.setAutoRaise(True)
        self.clear_button.setToolTip("Clear search (Esc)")
        self.clear_button.setAccessibleName("Clear Search")
        self.clear_button.setCursor(Qt.CursorShape.ArrowCursor)
        self.clear_button.clicked.connect(self.clear)
        self.clear_button.hide()
        self.menu_button = QToolButton(self)
        self.menu_button.setIcon(line_icon("more", 16))
        self.menu_button.setAutoRaise(True)
        self.menu_button.setToolTip("Save this search, add a concept, search tips")
        self.menu_button.setAccessibleName("Search Menu")
        self.menu_button.setCursor(Qt.CursorShape.ArrowCursor)
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self)
        self.save_action = self.menu.addAction("Save Search…", self.save_requested.emit)
        self.concept_action = self.menu.addAction("New Concept…", self.concept_requested.emit)
        self.menu.addSeparator()
        self.tips_action = self.menu.addAction("Search Tips", self.show_tips)
        self.menu_button.setMenu(self.menu)

    def _make_completer(self) -> None:
        # '#' autocomplete: the completer only shows our list; we insert the choice ourselves
        self._concepts: list[tuple[str, int]] = []
        self.completion_model = QStandardItemModel(self)
        self.completer = QCompleter(self.completion_model, self)
        self.completer.setWidget(self.edit)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setMaxVisibleItems(10)
        # PySide6's hints do not know a signal's overloads by index
        self.completer.activated[QModelIndex].connect(self._complete)  # type: ignore[index]
        self.edit.concept_completer = self.completer
        self.completer.popup().installEventFilter(self)  # closed without a choice: search what is typed
        self.edit.cursorPositionChanged.connect(lambda *_: self._hide_completion_if_moved())

    # state
    def text(self) -> str:
        return self.edit.text().strip()

    def is_empty(self) -> bool:
        return not self.text() and self.image_query is None

    def set_loading(self, loading: bool) -> None:
        self.edit.setPlaceholderText(LOADING_PLACEHOLDER if loading else SEARCH_PLACEHOLDER)

    def set_no_model(self) -> None:
        """Say what searching can still do while there is no model."""
        self.edit.setPlaceholderText(NO_MODEL_PLACEHOLDER)

    def _to_results(self) -> None:
        if self.timer.isActive():  # typed and not yet searched: search first, then go down
            self.search_now()
        self.results_requested.emit()

    def focus_search(self) -> None:
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def set_image(self, query: ImageQuery, search: bool = True) -> None:
        self.image_query = query
        self.chip.set_query(query)
        self.chip.show()
        self._update_clear()
        if search:
            self.search_now()

    def set_chip_thumb(self, image: QImage) -> None:
        if self.image_query is not None:
            self.image_query.thumb = image
            self.chip.set_thumb(image)

    def remove_image(self) -> None:
        if self.image_query is None:
            return
        self.image_query = None
        self.chip.hide()
        self._update_clear()
        self.search_now()

    def clear(self) -> None:
        """Forget the words and the picture: back to the library."""
        self.timer.stop()
        self.completer.popup().hide()
        self.image_query = None
        self.chip.hide()
        self.edit.clear()
        self.clear_button.hide()
        self.cleared.emit()

    def search_for(self, text: str) -> None:
        """Search for `text` alone (a saved search, a clicked tag): any picture is dropped."""
        self.image_query = None
        self.chip.hide()
        self.edit.setText(text)
        self.search_now()

    def search_now(self) -> None:
        self.timer.stop()
        self._update_clear()
        if self.is_empty():
            self.cleared.emit()
        else:
            self.search_requested.emit(self.text())

    def _update_clear(self) -> None:
        """One clear button: with a picture its chip's (Esc still clears all), else the field's
        when words are typed."""
        self.clear_button.setVisible(bool(self.text()) and self.image_query is None)

    def _edited(self, _text: str) -> None:
        self._update_clear()
        self._update_completion()
        if self.completer.popup().isVisible():  # a concept being picked ("#", "#do"): the grid
            self.timer.stop()  # stays as it was until one is chosen (or Enter, Esc)
        else:
            self.timer.start()

    # '#' autocomplete
    def set_concepts(self, concepts: list[tuple[str, int]]) -> None:
        """The concepts to offer after '#': (name, photos in this library), most frequent first."""
        self._concepts = list(concepts)

    def _concept_token(self) -> tuple[int, str] | None:
        """(position after '#', what follows it up to the cursor) when the cursor is in a #word."""
        text, cursor = self.edit.text(), self.edit.cursorPosition()
        m = re.search(r"(?:^|[\s+(])(?:-?(?:\d*\.?\d+:)?-?)#([^\s#\"“”()+]*)$", text[:cursor])
        return (m.start(1), m.group(1)) if m else None

    def completions(self, prefix: str, limit: int = 50) -> list[tuple[str, int]]:
        """Concepts for a typed prefix: names starting with it, then names with a word starting
        with it; each group most frequent first."""
        from ..core.search.query_parser import concept_key  # here: loaded with the engine, not at start

        key = concept_key(prefix)
        first, second = [], []
        for name, count in self._concepts:
            k = concept_key(name)
            if k.startswith(key):
                first.append((name, count))
            elif key and any(w.startswith(key) for w in k.split()[1:]):
                second.append((name, count))
        rank = lambda nc: (-nc[1], nc[0])  # noqa: E731
        return (sorted(first, key=rank) + sorted(second, key=rank))[:limit]

    def _update_completion(self) -> None:
        token = self._concept_token()
        matches = self.completions(token[1]) if token is not None and self._concepts else []
        popup = self.completer.popup()
        if not matches:
            popup.hide()
            return
        self.completion_model.clear()
        for name, count in matches:
            item = QStandardItem(f"#{name.replace(' ', '_')}" + (f"   {count:,}" if count else ""))
            item.setData(name, Qt.ItemDataRole.UserRole)
            item.setToolTip(f"{count:,} photo{'s' if count != 1 else ''} of your library" if count else "")
            self.completion_model.appendRow(item)
        rect = self.edit.cursorRect()
        rect.setWidth(max(220, popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 12))
        self.completer.complete(rect)
        popup.setCurrentIndex(self.completion_model.index(0, 0))

    def _complete(self, index: QModelIndex) -> None:
        name = index.data(Qt.ItemDataRole.UserRole)
        token = self._concept_token()
        if not name or token is None:
            return
        start = token[0]
        text, cursor = self.edit.text(), self.edit.cursorPosition()
        end = cursor
        while end < len(text) and not text[end].isspace():
            end += 1  # replace the rest of the word under the cursor too
        insert = name.replace(" ", "_") + " "
        self.edit.setText(text[:start] + insert + text[end:].lstrip(" "))
        self.edit.setCursorPosition(start + len(insert))
        self.completer.popup().hide()
        self._update_clear()
        self.search_now()

    def _hide_completion_if_moved(self) -> None:
        if self.completer.popup().isVisible() and self._concept_token() is None:
            self.completer.popup().hide()

    def show_tips(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.information(self, "Search Tips", SEARCH_TIPS)

    # look
    def _update_style(self) -> None:
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base).name()
        border = pal.color(QPalette.ColorRole.Mid).name()
        chip = pal.color(QPalette.ColorRole.AlternateBase).name()
        focus = pal.color(QPalette.ColorRole.Highlight).name()
        self.setStyleSheet(
            f"#searchBar {{ background: {base}; border: 1px solid {border}; border-radius: 9px; }}"
            f'#searchBar[focused="true"] {{ border: 1px solid {focus}; }}'
            f'#searchBar[dropTarget="true"] {{ border: 2px solid {focus}; background: {chip}; }}'
            f"#searchEdit {{ background: transparent; border: none; padding: 4px 0; }}"
            f"#queryChip {{ background: {chip}; border: 1px solid {border}; border-radius: 7px; }}"
            "QToolButton { border: none; padding: 1px; }"
        )

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Hide and watched is self.completer.popup():
            if not self.is_empty():  # (a concept chosen searches at once, and stops this)
                self.timer.start()
            return False
        if watched is self.edit and event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self.setProperty("focused", event.type() == QEvent.Type.FocusIn)
            self._repolish()
        if watched is self.edit and event.type() == QEvent.Type.DragLeave:
            self.set_drop_target(False)
        elif watched is self.edit and event.type() in _DRAG_EVENTS and event.source() is not self.edit:
            # the field would type a dropped file's URL: pictures become the chip instead
            return self._drag_event(
                event,
                self.edit.cursorPositionAt(event.position().toPoint()) if event.type() == QEvent.Type.Drop else None,
            )
        return super().eventFilter(watched, event)

    def _repolish(self) -> None:
        self.style().unpolish(self)
        self.style().polish(self)

    # drops: a picture (or a folder: the window adds it) is emitted, anything else is typed in
    def set_drop_target(self, on: bool) -> None:
        """Highlight the bar while a drop hovers over it."""
        if bool(self.property("dropTarget")) != on:
            self.setProperty("dropTarget", on)
            self._repolish()

    def _drag_event(self, event, position: int | None = None) -> bool:
        """A drag over the bar or its field; every drop is a copy. True: handled."""
        kind = event.type()
        if kind == QEvent.Type.DragLeave:
            self.set_drop_target(False)
            event.accept()
            return True
        what = drop_kind(event.mimeData(), image_extensions)
        if not what:
            self.set_drop_target(False)
            event.ignore()
            return True
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            self.set_drop_target(True)
            return True
        self.set_drop_target(False)
        if what == "picture":
            self.mime_dropped.emit(event.mimeData())
        else:
            self.type_dropped(dropped_text(event.mimeData()), position)
        return True

    def type_dropped(self, text: str, position: int | None = None) -> None:
        """Dropped words (a link, a file that is not a picture) go into the field, at `position`."""
        if position is not None:
            self.edit.setCursorPosition(position)
        self.edit.insert(text)
        self.edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self._edited(self.edit.text())

    def dragEnterEvent(self, event) -> None:
        self._drag_event(event)

    def dragMoveEvent(self, event) -> None:
        self._drag_event(event)

    def dragLeaveEvent(self, event) -> None:
        self._drag_event(event)

    def dropEvent(self, event) -> None:
        self._drag_event(event)


_DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)


def image_extensions() -> set[str]:
    """The suffixes of the pictures PhotoSeek reads (a drop's, a paste's)."""
    # Asked on the first drop, not at startup: Pillow's full plugin registry takes a while to load.
    global IMAGE_EXTS
    from ..core.ingest import scanner

    if IMAGE_EXTS is None:
        IMAGE_EXTS = {e.lower() for e in scanner.supported_extensions()}
    return IMAGE_EXTS


IMAGE_EXTS: set[str] | None = None


def drop_kind(mime: QMimeData, image_extensions) -> str:
    """ "picture" for picture files, pixels or folders (see `image_query_from_mime`), "text" for
    other links and words, "" for nothing usable. `image_extensions()`: the readable suffixes."""
    if mime.hasUrls():
        local = [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]
        if any(p.is_dir() for p in local) or any(p.suffix.lower() in image_extensions() for p in local):
            return "picture"
    if mime.hasImage():
        return "picture"
    return "text" if mime.hasText() or mime.hasUrls() else ""


def dropped_text(mime: QMimeData) -> str:
    """The words a drop types: its links (a local file as its path), else its text."""
    if mime.hasUrls():
        return " ".join(u.toLocalFile() if u.isLocalFile() else u.toString() for u in mime.urls())
    return " ".join(mime.text().split())


def image_query_from_mime(mime: QMimeData, image_exts: set[str]) -> tuple[ImageQuery | None, list[str]]:
    """(a picture query, folders) found in dropped or pasted data."""
    folders, files = [], []
    if mime.hasUrls():
        # Nested 4 deep: each dropped URL is sorted into folder, picture or neither.
        for url in mime.urls():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if path.is_dir():
                    folders.append(str(path))
                elif path.suffix.lower() in image_exts:
                    files.append(str(path))
    if folders:
        return None, folders
    if files:
        return ImageQuery(files[0], Path(files[0]).name), []
    if mime.hasImage():
        image = QImage(mime.imageData())
        if not image.isNull():
            label = "Pasted picture"
            if mime.hasUrls() and mime.urls():
                label = Path(mime.urls()[0].path()).name or label
            return ImageQuery(image, label, thumb=image), []
    return None, []
