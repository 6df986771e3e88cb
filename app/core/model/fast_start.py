"""The fast start: the torch model's towers exported to ONNX once, in <models_dir>/onnx/<model id>/,
so that later loads (a query on the command line, the window's start) import neither torch nor
open_clip (~3.6 s and ~870 MB of a `photoseek search`).

It is written after a process has loaded the torch model to embed photos (`photoseek index`, the
window's indexing), by `export.export_model`: the text tower in float32, the image tower in int8
when its vectors stay within cosine 0.99 of float32 on the library's own photos (else float32),
every file's sha256 checked there. Torch stays the source of truth: the export carries the torch
model's id (the stored embeddings' key) and the open_clip version that made it; one made from
other weights or by another open_clip is not used, and the next index run writes it again. At
load the check is cheap: the manifest and each file's size. PHOTOSEEK_FAST_START=0 turns it off.

One process writes it at a time: the writer holds `.fast-start.lock` (flock) in the onnx folder,
from before it starts to when it ends, so a command can wait for an export being written
(`wait_while_written`) and a second index run does not write it again beside the first.

Torch-free; `export.write_fast_start` writes it.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .export_files import _safe, read_manifest
from .weights import ModelUnavailable

INT8_TOWER, FP32_TOWER, TEXT_TOWER = "visual.int8.onnx", "visual.onnx", "text.onnx"
LOCK_FILE, LOG_FILE = ".fast-start.lock", "fast-start.log"  # in <models_dir>/onnx/


@dataclass(frozen=True)
class Written:
    folder: Path
    seconds: float
    bytes: int


def export_dir(models_dir: Path, model_id: str) -> Path:
    return Path(models_dir) / "onnx" / _safe(model_id)


def usable_export(models_dir: Path, model_id: str, towers: str = "both", precision: str = "auto") -> Path | None:
    """The fast start's folder when it is an export of `model_id` by this open_clip, whole by its
    manifest's file sizes, with the towers asked for in `precision`; else None."""
    folder = export_dir(models_dir, model_id)
    try:
        manifest = read_manifest(folder)
    except (ModelUnavailable, OSError):
        return None
    if manifest.get("model_id") != model_id or manifest.get("made_with", {}).get("open_clip") != open_clip_version():
        return None
    sizes = manifest.get("sizes")
    if not isinstance(sizes, dict) or set(sizes) != set(manifest.get("files", {})):
        return None  # (an export without sizes: made by `photoseek export-model` before they were written)
    for name, size in sizes.items():
        try:
            if (folder / name).stat().st_size != size:
                return None
        except OSError:
            return None
    return folder if _has_towers(set(sizes), towers, precision) else None


def _has_towers(files: set[str], towers: str, precision: str) -> bool:
    if towers != "image" and TEXT_TOWER not in files:
        return False
    if towers == "text":
        return True
    if precision == "fp32":  # (an int8 image tower is not what was asked for)
        return FP32_TOWER in files
    return INT8_TOWER in files or FP32_TOWER in files


def open_clip_version() -> str | None:
    """The installed open_clip's version, without importing it (seconds)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("open_clip_torch")
    except PackageNotFoundError:
        return None


def remove_stale_work(models_dir: Path, older_than_s: float = 3600) -> None:
    """Half-written exports a killed process left beside the fast start's folders."""
    for work in (Path(models_dir) / "onnx").glob(".export-*"):
        try:
            if time.time() - work.stat().st_mtime > older_than_s:
                shutil.rmtree(work, ignore_errors=True)
        except OSError:
            pass


def log_path(models_dir: Path) -> Path:
    """Where a fast start written in a process of its own says how it went."""
    return Path(models_dir) / "onnx" / LOG_FILE


def claim_writing(models_dir: Path) -> int | None:
    """A descriptor holding the writer's lock (keep it open while writing, or hand it to the process
    that writes), or None when another process is writing. POSIX only (flock)."""
    import fcntl

    folder = Path(models_dir) / "onnx"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def wait_while_written(models_dir: Path, timeout_s: float) -> bool:
    """Wait until no process is writing the fast start in `models_dir` (a caller that wants the
    export just started: the tests, the benchmarks); False when one still is after `timeout_s`."""
    import fcntl

    try:
        fd = os.open(Path(models_dir) / "onnx" / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return True  # never written here
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return True
            except OSError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
    finally:
        os.close(fd)
