"""A stand-in file manager on a session bus: it answers org.freedesktop.FileManager1.ShowItems
as Nautilus or Dolphin do, and writes each call (uris, startup id) as a line of JSON to the file
named by its argument. Run: python3 fake_file_manager.py CALLS_FILE (DBUS_SESSION_BUS_ADDRESS set).
It prints "ready" once it owns the name."""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import ClassInfo, QCoreApplication, QObject, Slot
from PySide6.QtDBus import QDBusConnection


@ClassInfo({"D-Bus Interface": "org.freedesktop.FileManager1"})
class FileManager(QObject):
    def __init__(self, calls: str):
        super().__init__()
        self.calls = calls

    @Slot("QStringList", str)
    def ShowItems(self, uris, startup_id):  # noqa: N802 - the D-Bus method's name
        with open(self.calls, "a", encoding="utf-8") as f:
            f.write(json.dumps([list(uris), startup_id]) + "\n")


def main() -> None:
    app = QCoreApplication(sys.argv)
    bus = QDBusConnection.sessionBus()
    manager = FileManager(sys.argv[1])
    options = QDBusConnection.RegisterOption.ExportAllSlots
    if not (
        bus.registerObject("/org/freedesktop/FileManager1", manager, options)
        and bus.registerService("org.freedesktop.FileManager1")
    ):
        sys.exit("cannot register on the session bus")
    print("ready", flush=True)
    app.exec()


if __name__ == "__main__":
    main()
