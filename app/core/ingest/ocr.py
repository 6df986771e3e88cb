"""Text inside photos: an offline OCR engine and the background pass that reads every photo once.

The engine is RapidOCR (`rapidocr-onnxruntime`, Apache-2.0): PaddleOCR's PP-OCRv4 text detection
and recognition models (Chinese + English/Latin characters) exported to ONNX and shipped inside the
wheel, run by onnxruntime on the CPU. Nothing is downloaded.

The pass runs after embedding (Library.update), is resumable (each batch is committed; a photo
whose text was stored is never read again, and a photo without text is stored as '' so it is not
either), cancellable and pausable through the indexer's Control, and reports Progress with
phase "ocr". Copies share the text of their content (keyed by fingerprint).

Size: photos are read with their long side at most `OCR_SIZE` px (the decoder's draft mode makes
that cheap). Measured with `python -m bench.ocr` (words on 2400x1800 photos): 1280 px reads
words 2% of the picture height tall nearly always and 1.2% tall most of the time, for about 1.5x
the time of 960 px, which loses half of the small ones. Smaller photos are not enlarged: the
detector scales its own input up to 736 px on the short side, and recognition reads the original
pixels.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from PIL import Image

from . import imaging
from .indexer import Control, Progress

log = logging.getLogger(__name__)

OCR_VERSION = 1  # bump to read every photo again (a better engine or size)
OCR_SIZE = 1280  # long side, px, of the picture the OCR reads
MIN_CONFIDENCE = 0.6  # text lines recognised with less confidence are dropped (mostly texture)
BATCH = 8  # photos per committed batch (about 5 s of work on 2 cores)
PHASE = "ocr"

# opencv-python (a dependency of rapidocr) points Qt at its own Qt 5 plugins when imported; the
# window uses Qt 6, and programs it starts must not inherit that either.
_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")


class OcrUnavailable(RuntimeError):
    """The OCR engine is not installed or cannot start."""


def engine_name() -> str:
    from importlib import metadata

    try:
        return f"rapidocr-onnxruntime {metadata.version('rapidocr-onnxruntime')}"
    except metadata.PackageNotFoundError:
        return "rapidocr-onnxruntime"


def _import_rapidocr():
    saved = {name: os.environ.get(name) for name in _QT_VARIABLES}
    try:
        from rapidocr_onnxruntime import RapidOCR
    except Exception as e:  # ImportError, or a broken native library
        raise OcrUnavailable(f"text recognition is not available ({e}); install rapidocr-onnxruntime") from e
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return RapidOCR


class OcrEngine:
    """One RapidOCR instance, loaded on first use. `read` is thread-safe (calls are serialised:
    the engine keeps per-call state, and one call already uses `threads` cores)."""

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self._engine: Callable | None = None  # RapidOCR, loaded on first use
        self._lock = threading.Lock()
        self.name = engine_name()

    def _load(self) -> None:
        RapidOCR = _import_rapidocr()
        options: dict = {"text_score": MIN_CONFIDENCE, "print_verbose": False}
        if self.threads:
            options["intra_op_num_threads"] = max(1, min(int(self.threads), os.cpu_count() or 1))
        try:
            self._engine = RapidOCR(**options)
        except Exception as e:
            raise OcrUnavailable(f"text recognition could not start: {e}") from e

    def load(self) -> OcrEngine:
        with self._lock:
            if self._engine is None:
                self._load()
        return self

    def read(self, image: Image.Image) -> str:
        """The text in a picture, one line per text box (top to bottom), '' when there is none."""
        image = fit(image)
        with self._lock:
            if self._engine is None:
                self._load()
            result, _elapsed = self._engine(image)
        lines = [str(item[1]).strip() for item in result or ()]
        return "\n".join(line for line in lines if _meaningful(line))


def _meaningful(line: str) -> bool:
    """A line worth keeping: two letters or digits at least, or one digit. A lone letter is
    nearly always a round or straight shape read as "O" or "I"."""
    alnum = [c for c in line if c.isalnum()]
    return len(alnum) >= 2 or (len(alnum) == 1 and alnum[0].isdigit())


def fit(image: Image.Image, size: int = OCR_SIZE) -> Image.Image:
    """RGB, long side at most `size` (never enlarged)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    if max(image.size) > size:
        image = image.copy()
        image.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return image


def load_for_ocr(path: str, size: int = OCR_SIZE, max_pixels: int = 150_000_000) -> Image.Image:
    """Decode a photo upright at about the size the OCR reads (JPEG draft mode shrinks while decoding)."""
    return fit(imaging.decode(path, min_side=1, thumb_size=size, max_pixels=max_pixels).image, size)


_shared: OcrEngine | None = None
_shared_lock = threading.Lock()


def shared_engine(threads: int | None = None) -> OcrEngine:
    """The process's one engine (the models take ~100 MB; loading them twice is waste)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = OcrEngine(threads)
        return _shared


def _text_of(engine: OcrEngine, path: str, decoding: Future) -> str | None:
    """The text in a photo being decoded: "" when it cannot be read, None when it is gone (or on a
    drive that is not plugged in), so that a later pass reads it."""
    try:
        return engine.read(decoding.result())
    except imaging.ImageError as e:
        if not os.path.exists(path):  # gone, or on a drive that is not plugged in: later
            return None
        log.info("cannot read the text of %s: %s", path, e)
        return ""
    except OcrUnavailable:
        raise
    except Exception as e:  # noqa: BLE001 - one odd photo must not stop the pass
        log.warning("text recognition failed on %s: %s", path, e)
        return ""


def read_library(
    catalog,
    settings,
    progress: Callable[[Progress], None] | None = None,
    control: Control | None = None,
    engine: OcrEngine | None = None,
) -> int:
    """Read the text of every photo not read yet; returns how many were read. Raises OcrUnavailable
    when the engine cannot start (nothing is stored then, so a later run tries again)."""
    progress = progress or (lambda p: None)
    control = control or Control()
    pending = catalog.ocr_pending(OCR_VERSION)
    total = len(pending)
    if not total:
        return 0
    engine = (engine or shared_engine(settings.decode_threads)).load()
    progress(Progress(0, total, 0.0, "", PHASE))
    started = time.monotonic()
    done = 0
    batch: list[tuple[str, str]] = []
    queue: deque = deque()
    items = iter(pending)

    def submit(pool: ThreadPoolExecutor) -> None:
        for fingerprint, path in items:
            queue.append((fingerprint, path, pool.submit(load_for_ocr, path, OCR_SIZE, settings.max_pixels)))
            return

    # One decoder thread keeps the next photo ready while the engine reads this one.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr-decode") as pool:
        # Nested 4 deep: the decoder pool is held for the loop; try stores the last batch, however it ends.
        try:
            for _ in range(2):
                submit(pool)
            while queue:
                if control.checkpoint():
                    break
                fingerprint, path, future = queue.popleft()
                submit(pool)
                text = _text_of(engine, path, future)
                if text is None:
                    continue
                batch.append((fingerprint, text))
                done += 1
                if len(batch) >= BATCH:
                    catalog.put_ocr(batch, engine.name, OCR_VERSION)
                    batch = []
                elapsed = max(1e-6, time.monotonic() - started)
                progress(Progress(done, total, done / elapsed, path, PHASE))
        finally:
            if batch:
                catalog.put_ocr(batch, engine.name, OCR_VERSION)
            for _fp, _path, future in queue:
                future.cancel()
    return done


__all__ = [
    "OcrEngine",
    "OcrUnavailable",
    "read_library",
    "shared_engine",
    "load_for_ocr",
    "fit",
    "engine_name",
    "OCR_VERSION",
    "OCR_SIZE",
]
