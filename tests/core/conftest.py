"""Fixtures shared by the core tests (the model and settings fixtures are in tests/conftest.py)."""

from pathlib import Path

import pytest

from tiny_clip import write_shapes


@pytest.fixture
def photos(tmp_path) -> Path:
    """12 shape pictures in a folder, the three blue ones in its subfolder `trips`."""
    folder = tmp_path / "photos"
    write_shapes(folder, per_kind=1)
    (folder / "trips").mkdir()
    for p in sorted(folder.glob("blue_*.jpg")):
        p.rename(folder / "trips" / p.name)
    return folder
