"""The text vectors of recent queries, kept by both embedders (torch and ONNX Runtime): typing a
query asks for the same words again and again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np


class RecentTexts:
    """Unit vectors of the most recently asked texts (least recently used go first). Thread-safe:
    one lookup (and the encoding of what it misses) at a time."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def vectors(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
        """[N, D] for `texts`; `encode(missing)` makes those not kept (unit vectors, in order)."""
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            if missing:
                for text, vec in zip(missing, encode(missing)):
                    self._vectors[text] = vec
            for t in texts:
                self._vectors.move_to_end(t)
            while len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
            return np.stack([self._vectors[t] for t in texts])
