"""Decode a photo once, at reduced size, upright, in RGB; derive the thumbnail and metadata from it.

Large JPEGs are decoded with draft mode (the DCT does the shrinking, several times faster than a
full decode), other formats are shrunk with `Image.reduce`. EXIF orientation is applied, odd modes
(CMYK, 16-bit, palette, alpha) are converted properly, and huge images are refused before any
pixel is read.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import logging
import math
import os
import re
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ..tempfiles import temp_beside
from .pixel_budget import PixelBudget

log = logging.getLogger(__name__)


def _register_heif() -> str | None:
    """HEIC/HEIF photos from phones. The decoder-only `pi_heif` first: the packaged app ships it,
    since pillow_heif's wheels carry the GPL x265 encoder (packaging/README.md); same API."""
    for name in ("pi_heif", "pillow_heif"):
        try:
            importlib.import_module(name).register_heif_opener()
            return name
        except ImportError:  # pragma: no cover - depends on the installation
            continue
    return None


HEIF_DECODER = _register_heif()  # the module that reads HEIC/HEIF here; None: none installed

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
    taken_at: str | None  # see capture_date
    taken_from: str | None = None  # where taken_at was read; None: nowhere (the file time stands in)


def avif_supported() -> bool:
    return ".avif" in Image.registered_extensions()


# -- capture dates ---------------------------------------------------------------------------
#
# Cameras and phones put the capture date in EXIF; editors and some apps only in XMP (or IPTC);
# PNGs in a text chunk. All of them are read from the image Pillow (and pillow-heif, which gives
# a HEIF's EXIF and XMP items) already opened, so the file is read once. XMP is parsed by Pillow's
# `getxmp` with defusedxml (safe against XML bombs); no metadata library is needed on top: exifread
# and `exif` read EXIF only, which Pillow does, and would open the file a second time; py3exiv2
# and pyexiv2 bind GPL exiv2.

_EXIF_IFD = 0x8769
# (date, its UTC offset) in the Exif IFD: DateTimeOriginal, DateTimeDigitized
_EXIF_DATES = ((0x9003, 0x9011), (0x9004, 0x9012))
_XMP_DATES = ("DateTimeOriginal", "DateTimeDigitized", "DateCreated", "CreateDate")  # exif:, photoshop:, xmp:
_PNG_DATE = "Creation Time"  # the PNG spec's keyword (tEXt, zTXt or iTXt)
_OFFSET = re.compile(r"^[+-]\d\d:\d\d$")


def capture_date(im: Image.Image, exif: Image.Exif) -> tuple[str | None, str | None]:
    """When the photo was taken, as ISO 8601 local time (with its UTC offset when the file says),
    and where that was read: "EXIF", "XMP", "IPTC" or "PNG text". (None, None): the file does not
    say, and the file time stands in."""
    readers = (
        ("EXIF", _exif_taken),
        ("XMP", _xmp_taken),
        ("IPTC", _iptc_taken),
        ("PNG text", _png_taken),
        ("EXIF", _exif_modified),
    )
    for source, read in readers:
        try:
            when = read(im, exif)
        except Exception:  # noqa: BLE001 - broken metadata is not worth failing the photo for
            log.debug("unreadable %s date in %s", source, getattr(im, "filename", "?"), exc_info=True)
            continue
        if when:
            return when, source
    return None, None


def _exif_date(value, offset=None) -> str | None:
    if not value or not isinstance(value, str):
        return None
    try:
        when = _dt.datetime.strptime(value.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None
    offset = offset.strip("\x00 ") if isinstance(offset, str) else ""
    return when + offset if _OFFSET.match(offset) else when


def _exif_ifd(exif: Image.Exif) -> dict:
    try:
        return exif.get_ifd(_EXIF_IFD)
    except Exception:  # noqa: BLE001 - a broken Exif IFD: the main IFD may still hold a date
        return {}


def _exif_taken(im: Image.Image, exif: Image.Exif) -> str | None:
    sub = _exif_ifd(exif)
    return next(filter(None, (_exif_date(sub.get(tag), sub.get(offset)) for tag, offset in _EXIF_DATES)), None)


def _exif_modified(im: Image.Image, exif: Image.Exif) -> str | None:
    """EXIF DateTime: when the file was last changed, which a camera writes as the capture time."""
    return _exif_date(exif.get(0x0132), _exif_ifd(exif).get(0x9010))  # DateTime, OffsetTime


def _xmp_taken(im: Image.Image, exif: Image.Exif) -> str | None:
    if "xmp" not in im.info:
        return None
    found: dict[str, str] = {}

    def walk(node) -> None:  # getxmp gives nested dicts and lists, namespaces stripped
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if key in _XMP_DATES and key not in found:
                text = value.get("text") if isinstance(value, dict) else value
                if isinstance(text, str) and text.strip():
                    found[key] = text.strip()
            if isinstance(value, (dict, list)):
                walk(value)

    walk(im.getxmp())
    return next(filter(None, (_iso_date(found.get(key)) for key in _XMP_DATES)), None)


def _iptc_taken(im: Image.Image, exif: Image.Exif) -> str | None:
    if im.format not in ("JPEG", "TIFF"):
        return None
    from PIL import IptcImagePlugin

    # Pillow's hint asks for an ImageFile; any image will do (the format is checked above)
    iptc = IptcImagePlugin.getiptcinfo(im) or {}  # type: ignore[arg-type]
    day, time = iptc.get((2, 55)), iptc.get((2, 60))  # DateCreated CCYYMMDD, TimeCreated HHMMSS±HHMM
    if not isinstance(day, bytes) or len(day) != 8:
        return None
    text = f"{day[:4].decode()}-{day[4:6].decode()}-{day[6:].decode()}"
    if isinstance(time, bytes) and len(time) >= 6:
        t = time.decode()
        text += f"T{t[:2]}:{t[2:4]}:{t[4:6]}" + (f"{t[6:9]}:{t[9:11]}" if len(t) == 11 else "")
    return _iso_date(text)


def _png_taken(im: Image.Image, exif: Image.Exif) -> str | None:
    return _text_date(im.info.get(_PNG_DATE))


def _iso_date(text: str | None) -> str | None:
    """An XMP (ISO 8601) date, which may stop after the year, month or day, or end in Z."""
    if not text:
        return None
    text = text.strip()
    text = {4: text + "-01-01", 7: text + "-01"}.get(len(text), text)
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(microsecond=0).isoformat()


def _text_date(text) -> str | None:
    """A PNG text date: RFC 1123 as the PNG spec suggests, else ISO 8601 or EXIF's own form."""
    if not isinstance(text, str) or not text.strip():
        return None
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(text).replace(microsecond=0).isoformat()
    except (TypeError, ValueError, IndexError):
        return _iso_date(text) or _exif_date(text)


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


# Formats decoded at reduced size (JPEG's DCT scaling, a HEIF's embedded thumbnail): a photo over
# the pixel cap costs no more to read than a small one, so the cap is no reason to refuse it.
REDUCED_DECODE = ("JPEG", "HEIF")
MAX_PHOTO_PIXELS = 1_000_000_000  # no phone or camera makes more (a phone 200 MP, multi-shot 400 MP)
# A compressed photo holds ~0.1-0.5 bytes a pixel (a 200 MP phone HEIC: 20-60 MB); a decompression
# bomb is a big header over a small file, ~0.001 bytes a pixel.
MIN_PHOTO_BYTES_PER_PIXEL = 0.01


def _check_size(w: int, h: int, max_pixels: int, file_size: int, fmt: str) -> None:
    """Refuse what is not a photo before a pixel is decoded: a header far bigger than the file, or
    (for formats that decode whole) more pixels than `max_pixels`."""
    if w < 1 or h < 1:
        raise ImageError("image has no pixels")
    pixels = w * h
    if pixels <= max_pixels:
        return
    if file_size < pixels * MIN_PHOTO_BYTES_PER_PIXEL:
        raise ImageError(
            f"not a photo: its header says {w}x{h} ({pixels / 1e6:,.0f} MP) but the file holds only "
            f"{file_size / 1e3:,.0f} KB (a decompression bomb?)"
        )
    if fmt in REDUCED_DECODE and pixels <= MAX_PHOTO_PIXELS:
        return  # a real big photo: decoded at reduced size (`_draft`)
    raise ImageError(
        f"image too large ({w}x{h}, {pixels / 1e6:.0f} MP; limit {max_pixels / 1e6:.0f} MP "
        f"for {fmt}, which cannot be decoded at reduced size)"
    )


def _draft(im: Image.Image, fmt: str, min_side: int, thumb_size: int) -> None:
    """Ask the decoder for a smaller picture where the format can give one."""
    w, h = im.size
    if fmt == "JPEG":
        # draft() picks the largest DCT scaling that keeps the image at least this size
        factor = _reduce_factor((w, h), min_side, thumb_size)
        if factor > 1:
            im.draft("RGB", (w // factor, h // factor))
    elif fmt == "HEIF":
        # phones embed a thumbnail (an iPhone: 320 px); draft() decodes it instead of the
        # 12 MP picture when it is at least as big as the model and our thumbnail need
        im.draft("RGB", _smallest_size((w, h), min_side, thumb_size))


def _exif_of(im: Image.Image) -> Image.Exif:
    try:
        return im.getexif()
    except Exception:  # noqa: BLE001 - broken EXIF: the picture is still a picture
        return Image.Exif()


def _reduced(im: Image.Image, min_side: int, thumb_size: int) -> Image.Image:
    rgb = _to_rgb(im)
    factor = _reduce_factor(rgb.size, min_side, thumb_size)
    return rgb.reduce(factor) if factor > 1 else rgb


def decode(
    path: str | Path,
    min_side: int = 224,
    thumb_size: int = 320,
    max_pixels: int = 150_000_000,
    budget: PixelBudget | None = None,
) -> Decoded:
    """Open `path` once and return it upright, in RGB, shrunk as far as the model and the thumbnail
    allow. With a `budget`, the decoded pixels wait for room in it (decode threads share one).
    Raises ImageError with a readable reason for anything unusable."""
    path = os.fspath(path)
    try:
        file_size = os.path.getsize(path)
        if file_size == 0:
            raise ImageError("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF and palette warnings are not the user's problem
            # We own the file, not Pillow: closing it leaves the loaded picture usable, where closing
            # the Image would not and would cost a copy of every pixel (0.4 ms a photo here).
            with open(path, "rb") as file:
                im = Image.open(file)
                fmt = im.format or "?"
                w, h = im.size
                _check_size(w, h, max_pixels, file_size, fmt)
                _draft(im, fmt, min_side, thumb_size)
                # The pixels about to be decoded (draft() set the size a JPEG decodes at) wait for
                # room in the budget; the reduced picture that comes out is small.
                # Nested 4 deep on purpose: the file, the warnings filter and the pixel budget are held just this long.
                with budget.hold(im.size[0] * im.size[1]) if budget is not None else nullcontext():
                    exif = _exif_of(im)  # a PNG's reads every pixel: its EXIF chunk may follow them
                    orientation = exif.get(0x0112, 1) if exif else 1
                    # Pillow opens a file at the picture it shows: the first frame of a GIF, the primary
                    # image of a HEIF (pillow-heif), which need not be its first (a burst, an edit).
                    im.load()
                    taken_at, taken_from = capture_date(im, exif)  # after load: a PNG's late text chunks
                    out = _reduced(im, min_side, thumb_size)
                    del im  # the full picture goes before its pixels are given back
        if orientation in _UPRIGHT:
            out = out.transpose(_UPRIGHT[orientation])
            if orientation >= 5:
                w, h = h, w
        return Decoded(out, w, h, fmt.lower(), taken_at, taken_from)
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
    tmp = temp_beside(dest)
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
            info["taken_at"], info["taken_from"] = capture_date(im, exif)
            make, model = exif.get(0x010F), exif.get(0x0110)
            camera = " ".join(str(s).strip("\x00 ") for s in (make, model) if s)
            if camera:
                info["camera"] = camera
            info.update(_lens_and_exposure(_exif_ifd(exif)))
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


def _lens_and_exposure(ifd: dict) -> dict:
    """The lens ("lens") and the exposure ("exposure": "1/250 s · f/2.8 · ISO 200 · 35 mm") when
    the EXIF sub-IFD holds them."""
    info: dict = {}
    make, model = (str(ifd.get(tag) or "").strip("\x00 ") for tag in (0xA433, 0xA434))  # LensMake, LensModel
    lens = model if make and model.lower().startswith(make.lower()) else " ".join(filter(None, (make, model)))
    if lens:
        info["lens"] = lens
    parts = []
    try:
        if (t := ifd.get(0x829A)) and float(t) > 0:  # ExposureTime, seconds
            t = float(t)
            parts.append(f"1/{round(1 / t)} s" if t < 0.5 else f"{t:g} s")
        if (f := ifd.get(0x829D)) and float(f) > 0:  # FNumber
            parts.append(f"f/{float(f):g}")
        if iso := ifd.get(0x8827):  # ISOSpeedRatings (a tuple in some files)
            parts.append(f"ISO {iso[0] if isinstance(iso, tuple) else iso}")
        if (mm := ifd.get(0x920A)) and float(mm) > 0:  # FocalLength
            parts.append(f"{float(mm):g} mm")
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        pass  # a broken value: what was read stands
    if parts:
        info["exposure"] = " · ".join(parts)
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
