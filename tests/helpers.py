"""Small helpers shared by test modules (importable by name; conftest files are not)."""

from __future__ import annotations

from pathlib import Path

import pytest

DEVDATA = Path(__file__).resolve().parents[2] / "shared" / "devdata"


def devdata(*parts: str) -> Path:
    """A folder of ../shared/devdata, or skip the test when it is absent."""
    path = DEVDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"devdata not available: {path}")
    return path


def isolate_trash(monkeypatch, data_home: Path) -> Path:
    """Point the freedesktop home trash at `data_home`/Trash, for send2trash (which reads
    XDG_DATA_HOME once, at import) and for app.core.organize.trashcan: tests never touch the user's."""
    import os

    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    try:
        import send2trash.plat_other as trash
    except ImportError:  # macOS / Windows: their own trash APIs
        return data_home / "Trash"
    data = os.fsencode(data_home)
    monkeypatch.setattr(trash, "XDG_DATA_HOME", data)
    monkeypatch.setattr(trash, "HOMETRASH_B", os.path.join(data, b"Trash"))
    monkeypatch.setattr(trash, "HOMETRASH", str(data_home / "Trash"))
    return data_home / "Trash"


# -- window tests (qtbot is pytest-qt's fixture) ------------------------------------------


def wait_indexed(qtbot, window, count: int, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: not window.indexing and window.grid_model.rowCount() == count, timeout=timeout)


def wait_ready(qtbot, window, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: window.model_state == "ready" and not window.indexing, timeout=timeout)
