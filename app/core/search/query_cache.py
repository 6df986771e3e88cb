"""The text vectors of queries asked before, kept on disk per model: a repeated query (the same
words from the command line, a saved search) needs no model at all, so its process never imports
torch. One small .npy file per (model id, text); the oldest go beyond MAX_ENTRIES."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..tempfiles import temp_beside

log = logging.getLogger(__name__)

MAX_ENTRIES = 4096
SUFFIX = ".npy"


class QueryCache:
    def __init__(self, folder: Path, model_id: str):
        self.folder = Path(folder)
        self.model_id = model_id

    def _path(self, text: str) -> Path:
        digest = hashlib.sha256(json.dumps([self.model_id, text]).encode()).hexdigest()[:32]
        return self.folder / f"{digest}{SUFFIX}"

    def get(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """text -> its unit vector (float32), for the texts that are cached."""
        found: dict[str, np.ndarray] = {}
        for text in dict.fromkeys(texts):
            try:
                vector = np.load(self._path(text), allow_pickle=False)
            except (OSError, ValueError, EOFError):  # not asked before, or damaged: encode it again
                continue
            if vector.ndim == 1 and len(vector) and np.isfinite(vector).all():
                found[text] = vector.astype(np.float32)
        return found

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep these texts' vectors (atomically; a failure costs only an encoding later)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for text, vector in vectors.items():
                path = self._path(text)
                tmp = temp_beside(path)
                with open(tmp, "wb") as out:
                    np.save(out, np.asarray(vector, dtype=np.float32))
                os.replace(tmp, path)
            self._trim()
        except OSError as e:
            log.info("cannot keep query vectors in %s: %s", self.folder, e)

    def _trim(self) -> None:
        entries = list(self.folder.glob(f"*{SUFFIX}"))
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort(key=lambda p: p.stat().st_mtime)
        for path in entries[: len(entries) - MAX_ENTRIES]:
            path.unlink(missing_ok=True)


__all__ = ["QueryCache"]
