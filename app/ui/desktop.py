"""Hand files to the desktop: open them, reveal them in the system file manager; ask before acting."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger(__name__)


def confirm(parent: QWidget, title: str, text: str, default_yes: bool = False) -> bool:
    """Ask a yes/no question before a change the user may regret; True for Yes."""
    yes, no = QMessageBox.StandardButton.Yes, QMessageBox.StandardButton.No
    return QMessageBox.question(parent, title, text, yes | no, yes if default_yes else no) == yes


def pictures_folder() -> Path:
    """Where a folder picker opens: the user's Pictures folder, else the home folder."""
    from PySide6.QtCore import QStandardPaths

    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return Path(found) if found and Path(found).is_dir() else Path.home()


def file_url(path: str | Path) -> QUrl:
    """A file:// URL of the file's exact bytes: `QUrl.fromLocalFile` drops a name's bytes that are
    not UTF-8 (a QString cannot hold them) and would point at another file."""
    return QUrl.fromEncoded(Path(path).absolute().as_uri().encode("ascii"))


def open_file(path: str | Path) -> bool:
    return QDesktopServices.openUrl(file_url(path))


def show_in_folder(path: str | Path) -> bool:
    """Reveal a file in the file manager, selected where the platform allows it."""
    import subprocess  # here: 5 ms of the window's start for a menu item

    path = Path(path)
    try:
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", str(path)])
            return True
        if sys.platform.startswith("win"):
            subprocess.Popen(["explorer", f"/select,{path}"])
            return True
        if shutil.which("dbus-send"):
            uri = file_url(path).toString(QUrl.ComponentFormattingOption.FullyEncoded)
            result = subprocess.run(
                [
                    "dbus-send",
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.FileManager1",
                    "--type=method_call",
                    "/org/freedesktop/FileManager1",
                    "org.freedesktop.FileManager1.ShowItems",
                    f"array:string:{uri}",
                    "string:",
                ],
                capture_output=True,
                timeout=3,
            )
            if result.returncode == 0:
                return True
    except (OSError, subprocess.SubprocessError) as e:
        log.info("could not reveal %s: %s", path, e)
    return QDesktopServices.openUrl(file_url(path.parent))
