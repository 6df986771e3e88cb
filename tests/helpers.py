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


# -- window tests (qtbot is pytest-qt's fixture) ------------------------------------------


def wait_indexed(qtbot, window, count: int, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: not window.indexing and window.grid_model.rowCount() == count, timeout=timeout)


def wait_ready(qtbot, window, timeout: int = 30000) -> None:
    qtbot.waitUntil(lambda: window.model_state == "ready" and not window.indexing, timeout=timeout)
