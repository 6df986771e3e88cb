"""Decode a photo once, at reduced size, upright, in RGB; derive the thumbnail and metadata from it.

Large JPEGs are decoded with draft mode (the DCT does the shrinking, several times faster than a
full decode), other formats are shrunk with `Image.reduce`. EXIF orientation is applied, odd modes
(CMYK, 16-bit, palette, alpha) are converted properly, and huge images are refused before any
pixel is read.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

try:  # HEIC/HEIF photos from phones. A frozen build can ship the decoder-only `pi_heif` instead.
    import pillow_heif as _heif
except ImportError:  # pragma: no cover - depends on the installation
    try:
        import pi_heif as _heif  # type: ignore[no-redef]
    except ImportError:
        _heif = None
if _heif is not None:
    _heif.register_heif_opener()

# Our own pixel cap is checked explicitly (see decode); disable Pillow's global one so it does not
# raise a warning-turned-error elsewhere with a less helpful message.
Image.MAX_IMAGE_PIXELS = None
ImageFile.LOAD_TRUNCATED_IMAGES = False

THUMB_QUALITY = 85


class ImageError(Exception):
    """A file that cannot be used as a photo; the message is the reason shown to the user."""


@dataclass
class Decoded:
    image: Image.Image  # upright RGB, reduced but at least `min_side` on its short side when possible
    width: int  # original size, upright
    height: int
    format: str
    taken_at: str | None


def avif_supported() -> bool:
    return ".avif" in Image.registered_extensions()


def _exif_datetime(exif: Image.Exif) -> str | None:
    try:
        sub = exif.get_ifd(0x8769)  # Exif IFD
    except Exception:  # broken EXIF: not worth failing the photo for
        sub = {}
    for value in (sub.get(0x9003), sub.get(0x9004), exif.get(0x0132)):  # original, digitized, modified
        if not value or not isinstance(value, str):
            continue
        try:
            return _dt.datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S").isoformat()
        except ValueError:
            continue
    return None


_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")

# EXIF orientation -> the transpose that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _to_rgb(im: Image.Image) -> Image.Image:
    """Convert any mode Pillow decodes to 8-bit RGB, compositing transparency onto white."""
    if im.mode == "RGB":
        return im
    if im.mode in _SIXTEEN_BIT:
        # Pillow's own convert() clips 16-bit values at 255; scale the full range down instead.
        arr = np.asarray(im, dtype=np.float32)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        if im.mode == "F" and arr.max() <= 1.0:
            top = 1.0
        return Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8), "L").convert("RGB")
    if im.mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        im = im.convert("RGBA")
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        return background
    return im.convert("RGB")  # L, 1, CMYK (Pillow inverts Adobe CMYK), YCbCr, LAB...


def _reduce_factor(size: tuple[int, int], min_short: int, min_long: int) -> int:
    """The largest integer factor that keeps both sides at least the minimums we need."""
    short, long = sorted(size)
    factor = 1
    while short // (factor * 2) >= min_short and long // (factor * 2) >= min_long:
        factor *= 2
    return factor


def _smallest_size(size: tuple[int, int], min_short: int, min_long: int) -> tuple[int, int]:
    """`size` scaled down as far as possible while keeping both sides at least the minimums."""
    w, h = size
    scale = min(1.0, max(min_short / min(w, h), min_long / max(w, h)))
    return math.ceil(w * scale), math.ceil(h * scale)


def decode(path: str | Path, min_side: int = 224, thumb_size: int = 320, max_pixels: int = 150_000_000) -> Decoded:
    """Open `path` once and return it upright, in RGB, shrunk as far as the model and the thumbnail
    allow. Raises ImageError with a readable reason for anything unusable."""
    path = os.fspath(path)
    try:
        if os.path.getsize(path) == 0:
            raise ImageError("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF and palette warnings are not the user's problem
            # We own the file, not Pillow: closing it leaves the loaded picture usable, where closing
            # the Image would not and would cost a copy of every pixel (0.4 ms a photo here).
            with open(path, "rb") as file:
                im = Image.open(file)
                fmt = im.format or "?"
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageError(
                        f"image too large ({w}x{h}, {w * h / 1e6:.0f} MP; limit {max_pixels / 1e6:.0f} MP)"
                    )
                if w < 1 or h < 1:
                    raise ImageError("image has no pixels")
                try:
                    exif = im.getexif()
                except Exception:
                    exif = Image.Exif()
                taken_at = _exif_datetime(exif)
                orientation = exif.get(0x0112, 1) if exif else 1
                if fmt == "JPEG":
                    # draft() picks the largest DCT scaling that keeps the image at least this size
                    factor = _reduce_factor((w, h), min_side, thumb_size)
                    if factor > 1:
                        im.draft("RGB", (w // factor, h // factor))
                elif fmt == "HEIF":
                    # phones embed a thumbnail (an iPhone: 320 px); draft() decodes it instead of the
                    # 12 MP picture when it is at least as big as the model and our thumbnail need
                    im.draft("RGB", _smallest_size((w, h), min_side, thumb_size))
                # Pillow opens a file at the picture it shows: the first frame of a GIF, the primary
                # image of a HEIF (pillow-heif), which need not be its first (a burst, an edit).
                im.load()
                rgb = _to_rgb(im)
                factor = _reduce_factor(rgb.size, min_side, thumb_size)
                out = rgb.reduce(factor) if factor > 1 else rgb
        if orientation in _UPRIGHT:
            out = out.transpose(_UPRIGHT[orientation])
            if orientation >= 5:
                w, h = h, w
        return Decoded(out, w, h, fmt.lower(), taken_at)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("not an image, or a format PhotoSeek cannot read") from None
    except Image.DecompressionBombError as e:
        raise ImageError(f"image too large ({e})") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, RuntimeError) as e:
        reason = str(e) or type(e).__name__
        if "truncated" in reason.lower() or isinstance(e, EOFError):
            reason = f"file is truncated or damaged ({reason})"
        raise ImageError(f"cannot decode: {reason}") from None


# -- thumbnails ------------------------------------------------------------------------------


def thumbnail_path(thumbs_dir: Path, fingerprint: str) -> Path:
    return Path(thumbs_dir) / fingerprint[:2] / f"{fingerprint}.jpg"


def shrink_short_side(image: Image.Image, side: int) -> Image.Image:
    """`image` resized (bicubic) so that its short side is `side`; as it is when not bigger. The
    long side is cut to an integer as torchvision's Resize cuts it (CLIP's own preprocessing)."""
    w, h = image.size
    short = min(w, h)
    if short <= side:
        return image
    size = (side, int(side * h / w)) if w == short else (int(side * w / h), side)
    return image.resize(size, Image.Resampling.BICUBIC)


def save_thumbnail(image: Image.Image, dest: Path, size: int) -> None:
    """Write a JPEG thumbnail atomically, so a crash never leaves half a file. Its short side is
    `size` (the grid shows centre squares); a panorama's long side stops at four times that."""
    if dest.exists():
        return
    thumb = shrink_short_side(image, size)
    if max(thumb.size) > 4 * size:
        thumb = ImageOps.contain(thumb, (4 * size, 4 * size), Image.Resampling.BICUBIC)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(f".{os.getpid()}.{id(thumb)}.tmp")
    thumb.save(tmp, "JPEG", quality=THUMB_QUALITY)
    os.replace(tmp, dest)


# -- metadata for the Properties view ------------------------------------------------------


def read_metadata(path: str | Path) -> dict:
    """Camera, capture date, GPS and size of a photo, read from its header only."""
    info: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as im:
            info["format"] = im.format
            info["width"], info["height"] = im.size
            exif = im.getexif()
            info["taken_at"] = _exif_datetime(exif)
            make, model = exif.get(0x010F), exif.get(0x0110)
            camera = " ".join(str(s).strip("\x00 ") for s in (make, model) if s)
            if camera:
                info["camera"] = camera
            if exif.get(0x0112, 1) in (5, 6, 7, 8):
                info["width"], info["height"] = info["height"], info["width"]
            try:
                gps = exif.get_ifd(0x8825)
            except Exception:
                gps = {}
            coords = _gps(gps)
            if coords:
                info["gps"] = coords
    return info


def _gps(gps: dict) -> tuple[float, float] | None:
    try:
        def deg(values, ref):
            d, m, s = (float(v) for v in values)
            value = d + m / 60 + s / 3600
            return -value if ref in ("S", "W") else value

        return round(deg(gps[2], gps[1]), 6), round(deg(gps[4], gps[3]), 6)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
