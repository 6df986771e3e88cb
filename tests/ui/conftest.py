"""Fixtures for the window tests: isolated preferences and trash, a folder of shape pictures,
and a window that is always shut down cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer

from helpers import isolate_trash
from tiny_clip import write_shapes


@pytest.fixture(autouse=True)
def isolated_desktop(tmp_path, monkeypatch):
    """Preferences and the trash in a temp dir: tests never touch the user's."""
    config = tmp_path / "config"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(config))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    isolate_trash(monkeypatch, tmp_path / "xdg-data")
    for name in ("PHOTOSEEK_DATA_DIR", "PHOTOSEEK_MODEL", "PHOTOSEEK_PRETRAINED", "PHOTOSEEK_THREADS"):
        monkeypatch.delenv(name, raising=False)
    yield config


@pytest.fixture
def shapes(tmp_path) -> Path:
    """24 pictures: 2 of each colour x shape, plus one broken file."""
    folder = tmp_path / "shapes"
    write_shapes(folder, per_kind=2, size=128)
    (folder / "broken.jpg").write_bytes(b"")
    return folder


@pytest.fixture
def make_window(qtbot, make_settings, trained_model):
    """make(settings=None, folders=()) -> a shown MainWindow; shut down after the test."""
    from app.ui.window import MainWindow

    windows = []

    def make(settings=None, folders=(), model=None):
        settings = settings or make_settings(model or trained_model)
        window = MainWindow(settings, folders=[str(f) for f in folders])
        windows.append(window)
        qtbot.addWidget(window)
        window.show()
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture
def heartbeat(qtbot):
    """A GUI-thread timer that counts ticks: proof that the event loop keeps turning."""
    beats = [0]
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: beats.__setitem__(0, beats[0] + 1))
    timer.start()
    yield beats
    timer.stop()
