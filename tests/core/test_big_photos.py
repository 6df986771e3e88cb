"""Real photos over the pixel cap (a 200 MP phone photo) are read at reduced size; a file whose
header claims far more pixels than its size can hold (a decompression bomb) is still refused.

The cap is lowered for these tests (max_pixels) so the pictures stay small: the rule is the same."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.core.ingest import imaging

CAP = 1_000_000  # 1 MP: a 6 MP photo is six times over it, as a 200 MP one is over 150 MP


def _photo(w: int, h: int) -> Image.Image:
    """Gradients and noise: compresses like a photo (~0.1-0.3 bytes a pixel as a JPEG)."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 90)], -1)
    return Image.fromarray(np.clip(arr + rng.integers(-12, 12, arr.shape), 0, 255).astype(np.uint8), "RGB")


def _bomb_jpeg(path: Path, w: int, h: int) -> Path:
    """A tiny JPEG whose header (its SOF0 frame) claims w x h pixels."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 120, 120)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = h.to_bytes(2, "big") + w.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


def test_a_photo_over_the_pixel_cap_is_decoded_at_reduced_size(tmp_path):
    path = tmp_path / "phone.jpg"
    _photo(3000, 2000).save(path, quality=90)
    assert path.stat().st_size > 3000 * 2000 * imaging.MIN_PHOTO_BYTES_PER_PIXEL  # plausible for a photo
    decoded = imaging.decode(path, min_side=224, thumb_size=256, max_pixels=CAP)
    assert (decoded.width, decoded.height) == (3000, 2000)  # the photo's own size is recorded
    assert 224 <= min(decoded.image.size) < 2000  # read at reduced size (draft), not whole


def test_a_heic_over_the_pixel_cap_is_read_too(tmp_path):
    """A phone's HEIC (a Samsung S24 Ultra makes 200 MP ones): its embedded thumbnail when it is big
    enough, else the picture itself, shrunk at once; never refused for its pixel count alone."""
    pytest.importorskip("pillow_heif")  # (the encoder: pi_heif only decodes)
    path = tmp_path / "phone.heic"
    _photo(1200, 900).save(path, quality=50)
    decoded = imaging.decode(path, max_pixels=CAP)
    assert (decoded.width, decoded.height, decoded.format) == (1200, 900, "heif")
    assert min(decoded.image.size) < 900


@pytest.mark.parametrize("w, h", [(60000, 60000), (20000, 15000)])
def test_a_header_far_bigger_than_its_file_is_refused_as_a_bomb(tmp_path, w, h):
    path = _bomb_jpeg(tmp_path / "bomb.jpg", w, h)
    assert path.stat().st_size < 5000
    with pytest.raises(imaging.ImageError, match=rf"not a photo: its header says {w}x{h} .* decompression bomb"):
        imaging.decode(path, max_pixels=CAP)


def test_a_format_that_decodes_whole_keeps_the_cap(tmp_path):
    path = tmp_path / "big.png"
    _photo(1500, 1000).save(path)  # 1.5 MP, a plausible size: but a PNG is always decoded whole
    with pytest.raises(imaging.ImageError, match="limit 1 MP for PNG"):
        imaging.decode(path, max_pixels=CAP)


def test_a_library_indexes_the_big_photo_and_skips_the_bomb_with_its_reason(make_settings, random_model, tmp_path):
    from app.core.library import Library

    folder = tmp_path / "photos"
    folder.mkdir()
    _photo(3000, 2000).save(folder / "phone.jpg", quality=90)
    _bomb_jpeg(folder / "bomb.jpg", 60000, 60000)
    library = Library(make_settings(random_model, max_pixels=CAP))
    try:
        library.update([folder])
        (photo,) = library.photos()
        assert Path(photo.path).name == "phone.jpg" and (photo.width, photo.height) == (3000, 2000)
        assert library.catalog.vector(photo.id, library.model_id) is not None  # embedded
        (skipped,) = library.skipped()
        assert Path(skipped.path).name == "bomb.jpg" and "decompression bomb" in skipped.skip_reason
    finally:
        library.close()
