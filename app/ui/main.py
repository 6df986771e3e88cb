"""Open the PhotoSeek window: `photoseek [PATH...]` (PATHs are added to the library)."""

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
    app.setDesktopFileName("photoseek")
    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    return app


def create_window(args=None) -> MainWindow:
    """The window for parsed command-line arguments (flags > environment > saved preferences)."""
    settings = prefs.build_settings(args)
    folders = [str(Path(p).expanduser().resolve()) for p in (getattr(args, "folders", None) or [])]
    missing = [p for p in folders if not Path(p).is_dir()]
    for p in missing:
        log.warning("not a folder, ignored: %s", p)
    return MainWindow(settings, folders=[p for p in folders if p not in missing])


def run(args=None) -> int:
    app = create_app()
    window = create_window(args)
    window.show()
    return app.exec()
