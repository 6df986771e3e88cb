"""Pictures for the OCR and duplicate tests: photo-like scenes with words on signs, and edited
copies of a photo (resized, recompressed, slightly cropped)."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont


def scene(size: tuple[int, int] = (800, 600), seed: int = 0) -> Image.Image:
    """A busy, photo-like background: a sky-to-ground gradient, blobs and grain."""
    rng = random.Random(seed)
    w, h = size
    top = tuple(rng.randint(90, 200) for _ in range(3))
    bottom = tuple(rng.randint(20, 120) for _ in range(3))
    im = Image.new("RGB", size)
    draw = ImageDraw.Draw(im)
    for y in range(h):
        t = y / max(1, h - 1)
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    for _ in range(12):
        x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(w // 30, w // 6)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise(size, 18).convert("RGB")
    return Image.blend(im, noise, 0.12)


def sign(im: Image.Image, text: str, height_frac: float = 0.08, seed: int = 0) -> Image.Image:
    """`im` with `text` on a light sign (dark letters), at a random place that fits."""
    rng = random.Random(seed)
    im = im.copy()
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=max(10, int(im.height * height_frac)))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    tw, th = right - left, bottom - top
    pad = th // 2
    x = rng.randint(pad, max(pad, im.width - tw - 2 * pad))
    y = rng.randint(pad, max(pad, im.height - th - 2 * pad))
    draw.rectangle((x - pad, y - pad, x + tw + pad, y + th + pad), fill=(245, 242, 230))
    draw.text((x - left, y - top), text, fill=(25, 25, 30), font=font)
    return im


def write_signs(folder: Path, words: list[str], size=(800, 600), blank: int = 2) -> dict[str, Path]:
    """One JPEG per word (a scene with the word on a sign), plus `blank` scenes with no text.
    Returns word -> path (blank ones as '' keys: '', ' ', ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for k, word in enumerate(words):
        path = folder / f"sign_{k:02d}.jpg"
        sign(scene(size, seed=k), word, seed=k).save(path, quality=90)
        out[word] = path
    for k in range(blank):
        path = folder / f"blank_{k:02d}.jpg"
        scene(size, seed=100 + k).save(path, quality=90)
        out[" " * k] = path
    return out


# -- edited copies ---------------------------------------------------------------------------


def resized(im: Image.Image, factor: float) -> Image.Image:
    return im.resize((max(1, round(im.width * factor)), max(1, round(im.height * factor))), Image.Resampling.LANCZOS)


def recompressed(im: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    im.convert("RGB").save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def cropped(im: Image.Image, keep: float, anchor: str = "centre") -> Image.Image:
    """Keep `keep` of each side: centred, or against the top-left corner."""
    w, h = round(im.width * keep), round(im.height * keep)
    x, y = ((im.width - w) // 2, (im.height - h) // 2) if anchor == "centre" else (0, 0)
    return im.crop((x, y, x + w, y + h))


def decoy_first_heif(path: Path, size: tuple[int, int] = (480, 640), thumbnails: tuple[int, ...] = ()) -> Image.Image:
    """Write a HEIF whose primary image (a portrait scene) is its second: its first is another
    picture, of another size. Returns the primary image as pillow-heif reads it back."""
    import pillow_heif

    heif = pillow_heif.HeifFile()
    heif.add_from_pillow(scene((size[1], size[0]), seed=7))  # the decoy, landscape
    heif.add_from_pillow(scene(size, seed=8))
    heif.save(path, quality=90, primary_index=1, thumbnails=list(thumbnails))
    back = pillow_heif.open_heif(path)
    assert back.primary_index == 1
    return back[back.primary_index].to_pillow().convert("RGB")


def xmp_packet(**dates: str) -> bytes:
    """An XMP packet as editors write one: `prefix_Name="value"` becomes `prefix:Name`, the first as an
    attribute of rdf:Description, the others as elements."""
    ns = {
        "exif": "http://ns.adobe.com/exif/1.0/",
        "xmp": "http://ns.adobe.com/xap/1.0/",
        "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    }
    (first, value), *rest = [(k.replace("_", ":", 1), v) for k, v in dates.items()]
    elements = "".join(f"<{k}>{v}</{k}>" for k, v in rest)
    declared = " ".join(f'xmlns:{p}="{u}"' for p, u in ns.items())
    return (
        f'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" {declared} {first}="{value}">{elements}</rdf:Description>'
        f'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()
