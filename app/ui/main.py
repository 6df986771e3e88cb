"""Open the PhotoSeek window: `photoseek [PATH...]` (folders are added to the library; a photo adds
its folder and opens in the viewer)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import cast

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from ..core.config import APP_NAME
from ..core.process_tuning import tune_process
from . import prefs
from .opener import PhotoOpener
from .window import MainWindow, app_icon

log = logging.getLogger(__name__)


def create_app(argv: list[str] | None = None) -> QApplication:
    tune_process("window")  # the process-wide levers (app/core/process_tuning.py)
    # a QApplication: made here, or by the tests' qtbot
    app = cast("QApplication | None", QApplication.instance())
    if app is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts, True)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    # the desktop entry's id (packaging/): Wayland matches the window to its menu entry and icon by it
    app.setDesktopFileName("io.github.photoseek.PhotoSeek")
    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    return app


def create_window(args=None) -> MainWindow:
    """The window for parsed command-line arguments (flags > environment > saved preferences).
    A photo among the paths ("Open with PhotoSeek") adds its folder and opens in the viewer."""
    settings = prefs.build_settings(args)
    paths = [Path(p).expanduser().resolve() for p in (getattr(args, "folders", None) or [])]
    photos = [p for p in paths if p.is_file()]
    folders = list(dict.fromkeys([str(p) for p in paths if p.is_dir()] + [str(p.parent) for p in photos]))
    for p in paths:
        if not p.exists():
            log.warning("not found, ignored: %s", p)
    window = MainWindow(settings, folders=folders)
    window.indexer.photo_folders = {str(p.parent) for p in photos} - {str(p) for p in paths}
    if photos:  # the first one: the viewer pages through its folder from there
        PhotoOpener(window, photos[0])
    return window


def run(args=None) -> int:
    app = create_app()
    window = create_window(args)
    window.show()
    return app.exec()
