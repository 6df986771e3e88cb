"""Persisted preferences (QSettings) and how they combine with flags and the environment.

Precedence, highest first: command-line flags > PHOTOSEEK_* environment variables > values saved
by the window (QSettings) > the engine's defaults.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSettings

from ..core.config import APP_NAME, Settings, parse_bool

# Settings field -> (QSettings key, type, environment variable that overrides it)
PERSISTED: dict[str, tuple[str, type, str | None]] = {
    "model": ("engine/model", str, "PHOTOSEEK_MODEL"),
    "pretrained": ("engine/pretrained", str, "PHOTOSEEK_PRETRAINED"),
    "decode_threads": ("engine/decode_threads", int, "PHOTOSEEK_THREADS"),
    "thumb_size": ("engine/thumb_short_side", int, None),  # "engine/thumb_size" was the long side
    "ocr": ("engine/ocr", bool, "PHOTOSEEK_OCR"),
}

CELL_SIZE_KEY = "view/cell_size"
GEOMETRY_KEY = "window/geometry"
SPLITTER_KEY = "window/splitter"
DEFAULT_CELL = 168
MIN_CELL, MAX_CELL = 96, 360


def qsettings() -> QSettings:
    """The one settings store (an INI file in the user's config dir on every platform, so tests can
    redirect it with QSettings.setPath)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, APP_NAME, APP_NAME)


def _read(store: QSettings, key: str, kind: type) -> Any:
    value = store.value(key)
    if value is None or value == "":
        return None
    try:
        return parse_bool(value) if kind is bool else kind(value)
    except (TypeError, ValueError):
        return None


def persisted_engine_values(store: QSettings | None = None) -> dict[str, Any]:
    store = store or qsettings()
    values = {}
    for field, (key, kind, _env) in PERSISTED.items():
        value = _read(store, key, kind)
        if value is not None:
            values[field] = value
    return values


def save_engine_values(values: dict[str, Any], store: QSettings | None = None) -> None:
    store = store or qsettings()
    for field, (key, _kind, _env) in PERSISTED.items():
        if field in values and values[field] is not None:
            store.setValue(key, values[field])
    store.sync()


def build_settings(args=None, store: QSettings | None = None) -> Settings:
    """Settings for the window from argparse flags, the environment and saved preferences."""
    saved = {
        field: value
        for field, value in persisted_engine_values(store).items()
        if not (PERSISTED[field][2] and os.environ.get(PERSISTED[field][2]))
    }
    flags = {name: getattr(args, name, None) for name in ("data_dir", "model", "pretrained")} if args else {}
    saved.update({k: v for k, v in flags.items() if v is not None})
    return Settings.from_env(**saved)


def cell_size(store: QSettings | None = None) -> int:
    value = _read(store or qsettings(), CELL_SIZE_KEY, int)
    return max(MIN_CELL, min(MAX_CELL, value)) if value else DEFAULT_CELL


def save_cell_size(size: int, store: QSettings | None = None) -> None:
    (store or qsettings()).setValue(CELL_SIZE_KEY, int(size))
