"""The perceptual hash of a picture (pHash): the indexer takes it from the one decode of each photo,
duplicate finding (app/core/organize/duplicates.py) compares hashes by their Hamming distance."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

_FLAT = 2.0  # pictures whose low-frequency content is all below this have no usable hash


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    m[0] /= math.sqrt(2)
    return m


_DCT32 = _dct_matrix(32)


def perceptual_hash(image: Image.Image) -> int | None:
    """The 64-bit DCT hash (pHash) of a picture as a signed integer (SQLite's INTEGER), or None
    for a picture too flat to tell apart from others (a blank frame)."""
    grey = image.convert("L")
    if grey.width > 256 or grey.height > 256:
        grey = grey.reduce(max(1, min(grey.width, grey.height) // 64))
    pixels = np.asarray(grey.resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    low = (_DCT32 @ pixels @ _DCT32.T)[:8, :8].ravel()
    ac = low[1:]
    if np.abs(ac).max() < _FLAT:
        return None
    bits = low > np.median(ac)
    value = int(np.packbits(bits).view(">u8")[0])
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()
