"""Offline folders in the window: what to say about a photo whose drive is not connected, and the
bar that offers to relink a library folder whose photos turned up somewhere else."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QBoxLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from app.core.names import shown

if TYPE_CHECKING:  # pragma: no cover
    from ..core.store.catalog import OfflineFolder


def since(folder: OfflineFolder) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(folder.since))


def offline_status(folder: OfflineFolder) -> str:
    """One line for Properties and tooltips."""
    return f"Offline — {shown(str(folder.path))} is not connected (since {since(folder)})"


def not_connected(path: str, folder: OfflineFolder) -> str:
    """What opening an offline photo says."""
    return f"{shown(os.path.basename(path))} is on {shown(str(folder.path))}, which is not connected"


class RelinkBar(QFrame):
    """A non-modal bar above the grid: "Pictures moved to /media/…? Relink"."""

    relink_requested = Signal(str, str)  # old root, new root

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("relinkBar")
        self.old = self.new = ""
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 6, 8, 6)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.relink_button = QPushButton("Relink", self)
        self.relink_button.clicked.connect(self._relink)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Not now")
        close.setAccessibleName("Close: not now")
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.relink_button)
        layout.addWidget(close)
        self.setStyleSheet(
            "#relinkBar { background: #e6f0ff; border-bottom: 1px solid #9db8e0; }#relinkBar QLabel { color: #10243f; }"
        )
        self.hide()

    @classmethod
    def below(cls, widget: QWidget) -> RelinkBar:
        """A bar put right below `widget` in its parent's box layout."""
        bar = cls(widget.parentWidget())
        layout = widget.parentWidget().layout()
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(layout.indexOf(widget) + 1, bar)
        return bar

    def offer(self, old: str, new: str, photos: int) -> None:
        self.old, self.new = old, new
        self.label.setText(
            f"Pictures moved to {shown(new)}? {photos:,} photos of {shown(Path(old).name or old)} "
            f"({shown(old)}, not connected) are there. Relink keeps their tags and search data."
        )
        self.show()

    def _relink(self) -> None:
        self.hide()
        self.relink_requested.emit(self.old, self.new)
