"""Hand files to the desktop: open them, reveal them in the system file manager; ask before acting."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QUrl
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


FILE_MANAGER = (  # the freedesktop file manager interface (Nautilus, Dolphin, Nemo, Thunar, Caja…)
    "org.freedesktop.FileManager1",
    "/org/freedesktop/FileManager1",
    "org.freedesktop.FileManager1",
    "ShowItems",
)
BUS_NAME = "photoseek-desktop"  # our own session bus connection: made again when the bus was away


def show_in_folder(path: str | Path, said: Callable[[str], None] | None = None) -> None:
    """Reveal a file in the file manager, selected (macOS, Windows, and on Linux the freedesktop
    ShowItems call); else open its folder; else `said` is told that no file manager could show
    it. Call it on the GUI thread: the D-Bus answer comes back through its event loop."""
    path = Path(path)
    if sys.platform == "darwin" or sys.platform.startswith("win"):
        if _reveal_with_command(path):
            return
    elif _show_items(path, lambda: _open_folder(path, said)):
        return
    _open_folder(path, said)


def _reveal_with_command(path: Path) -> bool:
    import subprocess  # here: 5 ms of the window's start for a menu item

    command = ["open", "-R", str(path)] if sys.platform == "darwin" else ["explorer", f"/select,{path}"]
    try:
        subprocess.Popen(command)
        return True
    except OSError as e:
        log.info("could not reveal %s: %s", path, e)
        return False


def _show_items(path: Path, failed: Callable[[], None]) -> bool:
    """Ask the session's file manager to show the file selected; `failed()` if it says no. False:
    no session bus to ask."""
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusMessage, QDBusPendingCallWatcher
    except ImportError:  # a Qt built without D-Bus
        return False
    bus = QDBusConnection.connectToBus(QDBusConnection.BusType.SessionBus, BUS_NAME)
    if not bus.isConnected():
        QDBusConnection.disconnectFromBus(BUS_NAME)  # (else the failed connection is kept)
        return False
    message = QDBusMessage.createMethodCall(*FILE_MANAGER)
    message.setArguments(
        [[file_url(path).toString(QUrl.ComponentFormattingOption.FullyEncoded)], ""]
    )  # uris, startup id
    watcher = QDBusPendingCallWatcher(bus.asyncCall(message, 5000), QCoreApplication.instance())

    def answered(call) -> None:
        if call.isError():
            log.info("no file manager on the session bus for %s: %s", path, call.error().message())
            failed()
        call.deleteLater()

    watcher.finished.connect(answered)
    return True


def _open_folder(path: Path, said: Callable[[str], None] | None) -> None:
    if QDesktopServices.openUrl(file_url(path.parent)):
        return
    text = f"No file manager to show “{path.name}” in: it is in {path.parent}"
    log.info(text)
    if said is not None:
        said(text)
