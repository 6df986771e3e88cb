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
