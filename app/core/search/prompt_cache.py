"""Text vectors of the concept prompts, encoded a chunk at a time and kept as each chunk is done.

The built-in vocabulary holds thousands of prompts: minutes of text tower on a CPU at real model
size. Each chunk of 256 prompts is saved (atomically, float16) as soon as it is encoded, under a
name made of the model id and the chunk's texts, so an interrupted run (Ctrl-C, a kill, a closed
window) keeps what it did and the next one encodes only the rest. The same texts in the same
chunks give the same vectors whether they were encoded in one go or across runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..tempfiles import temp_beside

log = logging.getLogger(__name__)

CHUNK = 256  # prompts per saved chunk (and per text-tower batch)
SUFFIX = ".npy"

Encode = Callable[[list[str]], "np.ndarray | None"]


class PromptCache:
    """The chunks of one model's prompt vectors in `folder`."""

    def __init__(self, folder: Path, model_id: str):
        self.folder = Path(folder)
        self.model_id = model_id

    def vectors(
        self,
        texts: Sequence[str],
        encode: Encode,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray | None:
        """float32 [len(texts), d]: saved chunks read back, the others encoded with `encode` and
        saved one by one. None when `should_stop()` said so (the chunks done so far are kept).
        `progress(prompts ready, prompts)` after each chunk, once at the start when some are left."""
        chunks = [list(texts[i : i + CHUNK]) for i in range(0, len(texts), CHUNK)]
        paths = [self._path(chunk) for chunk in chunks]
        blocks = [self._read(path, len(chunk)) for chunk, path in zip(chunks, paths)]
        ready = sum(len(c) for c, b in zip(chunks, blocks) if b is not None)
        if progress is not None and ready < len(texts):
            progress(ready, len(texts))
        for k, (chunk, path) in enumerate(zip(chunks, paths)):
            if blocks[k] is not None:
                continue
            if should_stop is not None and should_stop():
                return None
            vectors = encode(chunk)
            if vectors is None:
                return None
            blocks[k] = self._write(path, vectors)
            ready += len(chunk)
            if progress is not None:
                progress(ready, len(texts))
        if not blocks:  # no vocabulary (unreadable): keep what an earlier one saved
            return np.empty((0, 0), dtype=np.float32)
        self._forget_except(set(paths))
        return np.concatenate(blocks).astype(np.float32)

    def _path(self, chunk: list[str]) -> Path:
        digest = hashlib.sha256(json.dumps([self.model_id, chunk]).encode()).hexdigest()[:24]
        return self.folder / f"{digest}{SUFFIX}"

    @staticmethod
    def _read(path: Path, rows: int) -> np.ndarray | None:
        try:
            block = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):  # missing, or damaged: encode it again
            return None
        if block.ndim != 2 or block.shape[0] != rows or not np.isfinite(block).all():
            log.info("prompt vectors %s do not fit; encoding them again", path)
            return None
        return block

    def _write(self, path: Path, vectors: np.ndarray) -> np.ndarray:
        """Save a chunk atomically (a unique temp file renamed over it); returns it as stored."""
        stored = np.asarray(vectors, dtype=np.float16)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = temp_beside(path)  # unique: another process may be writing the same chunk
        try:
            with open(tmp, "wb") as out:
                np.save(out, stored)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return stored

    def _forget_except(self, keep: set[Path]) -> None:
        """Chunks of an older vocabulary go once the current one is complete."""
        for path in self.folder.glob(f"*{SUFFIX}"):
            if path not in keep:
                path.unlink(missing_ok=True)


__all__ = ["PromptCache", "CHUNK"]
