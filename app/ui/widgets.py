"""Small widgets of the main window: the banner above the grid, the empty state a new user
sees, a clickable label; and the wording of counts and durations."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle, QToolButton, QVBoxLayout, QWidget

from ..core.config import RESOURCES_DIR
from .searchbar import line_icon


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def app_icon() -> QIcon:
    svg = RESOURCES_DIR / "photoseek.svg"
    return QIcon(str(svg)) if svg.exists() else QIcon()


class ClickableLabel(QLabel):
    clicked = Signal()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class Banner(QFrame):
    """A non-modal message above the grid (the model could not be loaded)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 8, 10)
        layout.setSpacing(10)
        icon = QLabel(self)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(24, 24))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.title = QLabel(self)
        self.title.setObjectName("bannerTitle")
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.message)
        self.choose_button = QPushButton("Choose Model…", self)
        self.retry_button = QPushButton("Retry", self)
        self.close_button = QToolButton(self)
        self.close_button.setIcon(line_icon("clear", 16))
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide")
        self.close_button.setAccessibleName("Hide this message")
        self.close_button.clicked.connect(self.hide)
        layout.addWidget(icon)
        layout.addLayout(text, 1)
        layout.addWidget(self.choose_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setStyleSheet(
            "#banner { background: #fff4ce; border-bottom: 1px solid #e0c97a; }"
            "#banner QLabel { color: #3b3000; } #bannerTitle { font-weight: 600; }"
        )

    def show_error(self, title: str, message: str, can_choose_model: bool = True) -> None:
        self.choose_button.setVisible(can_choose_model)
        self.title.setText(title)
        self.message.setText(message)
        self.show()


class EmptyState(QWidget):
    """What a new user sees: what the app does and one big button."""

    def __init__(self, on_add: Callable[[], None], parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(3)
        icon = QLabel(self)
        icon_source = app_icon()
        if icon_source.isNull():
            icon_source = self.style().standardIcon(QStyle.StandardPixmap.SP_DirIcon)
        icon.setPixmap(icon_source.pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        title = QLabel("Find any photo by describing it", self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setWeight(font.Weight.DemiBold)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            "Add a folder of photos. PhotoSeek indexes them on this computer,\n"
            "then you can search for “a red car at night” or drop in a picture to find similar ones.",
            self,
        )
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setForegroundRole(text.foregroundRole())
        text.setStyleSheet("color: palette(placeholder-text);")
        self.button = QPushButton("Add Folder…", self)
        self.button.setDefault(True)
        self.button.setMinimumSize(180, 40)
        bf = self.button.font()
        bf.setPointSizeF(bf.pointSizeF() * 1.15)
        self.button.setFont(bf)
        self.button.clicked.connect(on_add)
        hint = QLabel("or drop a folder onto this window", self)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setStyleSheet("color: palette(placeholder-text);")
        layout.addWidget(icon)
        layout.addSpacing(12)
        layout.addWidget(title)
        layout.addSpacing(4)
        layout.addWidget(text)
        layout.addSpacing(20)
        row = QHBoxLayout()
        row.addStretch()
        row.addWidget(self.button)
        row.addStretch()
        layout.addLayout(row)
        layout.addSpacing(6)
        layout.addWidget(hint)
        layout.addStretch(4)
        self.title, self.text, self.hint = title, text, hint
        self._welcome = (title.text(), text.text())
        self.adding = False  # showing "Adding Pictures…" instead of the onboarding

    def show_adding(self, found: int = 0) -> None:
        """Folders were given and are being listed: say so (and how many photos so far), no
        "Add Folder…" (the photos come in a moment)."""
        self.title.setText("Adding Pictures…")
        self.text.setText(f"{found:,} found" if found else "Looking for photos in the folders you gave")
        self.button.hide()
        self.hint.hide()
        self.adding = True

    def show_welcome(self) -> None:
        self.title.setText(self._welcome[0])
        self.text.setText(self._welcome[1])
        self.button.show()
        self.hint.show()
        self.adding = False
