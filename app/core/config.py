"""Settings in one place: defaults, the platform's data directory, PHOTOSEEK_* overrides."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import platformdirs

APP_NAME = "PhotoSeek"
DEFAULT_MODEL = "ViT-B-32-256"
DEFAULT_PRETRAINED = "datacomp_s34b_b86k"
RESOURCES_DIR = Path(__file__).resolve().parents[2] / "resources"
DEFAULT_PIXELS = 200_000_000  # decoded at once (app/core/ingest/pixel_budget.py)
WRITER_LOCK = "indexing.lock"  # in the data dir: held by the one process indexing (or repairing) it


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def parse_bool(value) -> bool:
    """'1', 'true', 'yes', 'on' (any case) are true; '0', 'false', 'no', 'off', '' are false."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


def _default_threads() -> int:
    return max(1, (os.cpu_count() or 2))


@dataclass(frozen=True)
class Settings:
    """Everything the engine needs to know; the UI persists these, the CLI builds them from flags."""

    data_dir: Path = field(default_factory=default_data_dir)
    model: str = DEFAULT_MODEL  # open_clip model name, or path to a model-config JSON
    pretrained: str = DEFAULT_PRETRAINED  # open_clip tag, path to a checkpoint, or "none"
    decode_threads: int = field(default_factory=_default_threads)
    batch_size: int = 32
    thumb_size: int = 256  # short side of cached thumbnails, px (the grid shows their centre squares)
    max_pixels: int = 150_000_000  # decompression-bomb guard
    # pixels being decoded at once across the decode threads (memory, as threads bound CPU)
    decode_pixels: int = DEFAULT_PIXELS
    device: str = "auto"
    # Image tower precision on CPU: "auto" measures int8 against float32 on the first batch of the
    # user's own photos and keeps int8 only when their cosine is >= 0.99; "fp32" or "int8" force it.
    precision: str = "auto"
    ocr: bool = True  # read the text inside photos after embedding (searchable; off for speed)
    # the model exported to ONNX once after indexing, so queries and the window start without torch
    # (app/core/model/fast_start.py)
    fast_start: bool = True

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then PHOTOSEEK_* environment variables, then explicit (non-None) overrides."""
        env = os.environ
        values: dict = {}
        if env.get("PHOTOSEEK_DATA_DIR"):
            values["data_dir"] = Path(env["PHOTOSEEK_DATA_DIR"])
        if env.get("PHOTOSEEK_MODEL"):
            values["model"] = env["PHOTOSEEK_MODEL"]
        if env.get("PHOTOSEEK_PRETRAINED"):
            values["pretrained"] = env["PHOTOSEEK_PRETRAINED"]
        if env.get("PHOTOSEEK_THREADS"):
            values["decode_threads"] = int(env["PHOTOSEEK_THREADS"])
        if env.get("PHOTOSEEK_DECODE_PIXELS"):
            values["decode_pixels"] = int(env["PHOTOSEEK_DECODE_PIXELS"])
        if env.get("PHOTOSEEK_BATCH_SIZE"):
            values["batch_size"] = int(env["PHOTOSEEK_BATCH_SIZE"])
        if env.get("PHOTOSEEK_DEVICE"):
            values["device"] = env["PHOTOSEEK_DEVICE"]
        if env.get("PHOTOSEEK_PRECISION"):
            values["precision"] = env["PHOTOSEEK_PRECISION"]
        if env.get("PHOTOSEEK_OCR"):
            values["ocr"] = parse_bool(env["PHOTOSEEK_OCR"])
        if env.get("PHOTOSEEK_FAST_START"):
            values["fast_start"] = parse_bool(env["PHOTOSEEK_FAST_START"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"]).expanduser()
        return cls(**values)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite3"

    @property
    def thumbs_dir(self) -> Path:
        return self.data_dir / "thumbs"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"
