"""The viewer's info panel (I): when and with what a photo was taken, how big it is, where it is
on disk and on earth, the concepts PhotoSeek sees in it and the text it read in it.

`read_details` reads the file's header (call it on a worker); the catalog's part (concepts, text)
comes from the Library through the photo actions and is set with `set_tags` and `set_text`.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from ..core.names import shown
from .dialogs import found_text_line, human_size, map_url, tag_links, taken_text

PANEL_WIDTH = 300


def read_details(path: str) -> dict:
    """What the panel shows from the file itself: its EXIF (Pillow, pillow-heif for HEIF) and its
    size; "error" says why nothing could be read. Reads the header only; call it off the GUI thread."""
    from ..core.ingest import imaging

    details: dict = {}
    try:
        details["file_size"] = os.path.getsize(path)
        details.update(imaging.read_metadata(path))
    except Exception as e:  # noqa: BLE001 - an unreadable file is said in the panel, never a crash
        details["error"] = str(e) or type(e).__name__
    return details


def _breakable(text: str) -> str:
    """A path that can wrap after each separator (a long one must not widen the panel)."""
    return text.replace(os.sep, os.sep + "\u200b")


class InfoPanel(QScrollArea):
    """The facts of one photo, in a narrow column beside the picture."""

    tag_clicked = Signal(str)  # a concept name: search for it

    ROWS = ("Taken", "Camera", "Lens", "Exposure", "Size", "File size", "Place", "Name", "Folder")
    OPTIONAL = ("Camera", "Lens", "Exposure", "Place")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("infoPanel")
        self.setFixedWidth(PANEL_WIDTH)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget(self)
        body.setObjectName("infoBody")
        self._form = QFormLayout()
        self._form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        self._form.setVerticalSpacing(3)
        self.fields: dict[str, QLabel] = {}
        for name in self.ROWS:
            self.fields[name] = self._row(name)
        self.fields["Concepts"] = self._row("Concepts", rich=True)
        self.fields["Concepts"].linkActivated.connect(self.tag_clicked)
        self.fields["Concepts"].setToolTip("Concepts PhotoSeek sees in this photo; click one to find more like it")
        self.fields["Place"].setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.fields["Place"].setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.fields["Place"].linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.fields["Text in photo"] = self._row("Text in photo")
        self.fields["Text in photo"].setToolTip("Text PhotoSeek read in this photo; searching for it finds the photo")
        self._error = QLabel(self)
        self._error.setObjectName("infoError")
        self._error.setWordWrap(True)
        self._error.hide()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.addWidget(self._error)
        layout.addLayout(self._form)
        layout.addStretch(1)
        self.setWidget(body)
        self.path = ""

    def _row(self, name: str, rich: bool = False) -> QLabel:
        title = QLabel(name, self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 0.85)
        title.setFont(font)
        title.setEnabled(False)  # drawn dimmer than the value
        value = QLabel("…", self)
        value.setObjectName(name)
        value.setWordWrap(True)
        value.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
        value.setTextInteractionFlags(
            Qt.TextInteractionFlag.LinksAccessibleByMouse if rich else Qt.TextInteractionFlag.TextSelectableByMouse
        )
        value.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the viewer keeps the keys (arrows step photos)
        self._form.addRow(title, value)
        return value

    def text(self) -> str:
        """Everything the panel says, one "Name: value" a line (what a test or a screen reader reads)."""
        return "\n".join(f"{name}: {label.text()}" for name, label in self.fields.items())

    def show_photo(self, path: str) -> None:
        """A new photo: its name and folder at once, the rest once read."""
        self.path = path
        for label in self.fields.values():
            label.setText("…")
        self.fields["Name"].setText(shown(os.path.basename(path)))
        self.fields["Folder"].setText(_breakable(shown(os.path.dirname(path))))
        self._error.hide()

    def set_details(self, path: str, details: dict) -> None:
        """What `read_details` found in the file at `path` (ignored if another photo is shown now)."""
        if path != self.path:
            return
        error = details.get("error")
        self._error.setText(f"Cannot read this file: {error}" if error else "")
        self._error.setVisible(bool(error))
        w, h = details.get("width"), details.get("height")
        size = details.get("file_size")
        self.fields["Taken"].setText(taken_text(path, details.get("taken_at"), details.get("taken_from")))
        self.fields["Camera"].setText(details.get("camera") or "—")
        self.fields["Lens"].setText(details.get("lens") or "—")
        self.fields["Exposure"].setText(details.get("exposure") or "—")
        self.fields["Size"].setText(f"{w} × {h} px ({w * h / 1e6:.1f} MP)" if w and h else "—")
        self.fields["File size"].setText(human_size(size) if size is not None else "—")
        self._set_place(details.get("gps"))
        for name in self.OPTIONAL:  # what most photos lack is left out rather than said "—"
            self._form.setRowVisible(self.fields[name], self.fields[name].text() != "—")

    def _set_place(self, gps) -> None:
        label = self.fields["Place"]
        if not gps:
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setText("—")
            return
        lat, lon = float(gps[0]), float(gps[1])
        label.setTextFormat(Qt.TextFormat.RichText)
        color = self.palette().color(QPalette.ColorRole.Highlight).name()
        link = f'<a href="{map_url(lat, lon).toString()}" style="color:{color}">Show on map</a>'
        label.setText(f"{lat:.5f}, {lon:.5f}<br>{link}")

    def set_tags(self, path: str, tags: list[tuple[str, float]] | None) -> None:
        if path == self.path:
            color = self.palette().color(QPalette.ColorRole.Highlight).name()
            self.fields["Concepts"].setText(tag_links(tags, color))

    def set_text(self, path: str, text: str | None, reading: bool = True) -> None:
        if path == self.path:
            self.fields["Text in photo"].setText(found_text_line(text, reading))
