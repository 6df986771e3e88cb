"""Queries -> one query vector -> ranked catalog ids.

Text, an image (a file inside or outside the library, or pixels), a library photo ("similar"), or
an image refined by text: every form becomes a single unit vector searched in the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..ingest import imaging
from ..model.embedder import Embedder

if TYPE_CHECKING:  # pragma: no cover
    from ..store.index import VectorIndex


@dataclass(frozen=True)
class Hit:
    id: int
    path: str
    score: float
    text_match: bool = False  # its file name or the text in the photo matched the query's words


def normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).reshape(-1)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def text_vector(embedder: Embedder, text: str) -> np.ndarray:
    return embedder.embed_texts([text])[0]


def image_vector(embedder: Embedder, image: str | Path | object) -> np.ndarray:
    """A path (decoded the same way the indexer decodes) or a PIL image."""
    if isinstance(image, (str, Path)):
        image = imaging.decode(image, min_side=embedder.image_size).image
    return embedder.embed_images([image])[0]


def combine(image_vec: np.ndarray, text_vec: np.ndarray, text_weight: float = 0.5) -> np.ndarray:
    """An image refined by words ("this, but at night"): a weighted sum of unit vectors."""
    return normalise((1 - text_weight) * image_vec + text_weight * text_vec)


def rank(
    index: VectorIndex, vector: np.ndarray, k: int | None = None, exclude: set[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    extra = len(exclude) if exclude else 0
    ids, scores = index.search(normalise(vector), None if k is None else k + extra)
    if exclude:
        keep = ~np.isin(ids, list(exclude))
        ids, scores = ids[keep], scores[keep]
    if k is not None:
        ids, scores = ids[:k], scores[:k]
    return ids, scores
