"""How many pixels the decode threads may hold at once.

Threads bound decoding by CPUs; memory needs its own bound. A 144 MP PNG is decoded whole (only
JPEGs and HEIFs decode at reduced size), several bytes a pixel, so eight of them on eight threads
held 5.3 GB. Each decode takes its picture's pixel count from this budget before it reads a pixel
and gives it back once the picture is reduced: small photos still decode side by side, huge ones
take turns. A picture bigger than the whole budget still decodes, alone. Freed pictures are
given back to the system as they are released: otherwise each decode thread's heap keeps the
biggest it decoded, and eight threads kept eight.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from .. import process_tuning
from ..config import DEFAULT_PIXELS

# glibc keeps a freed picture in the heap of the thread that decoded it, for that thread's next
# one: a big picture's pixels go back to the system when they are given back here.
TRIM_PIXELS = 16_000_000


class PixelBudget:
    """A counting semaphore in pixels. Thread-safe."""

    def __init__(self, total: int = DEFAULT_PIXELS):
        self.total = max(1, int(total))
        self.held = 0  # pixels held now
        self.peak = 0  # the most held at once (what a benchmark or a test looks at)
        self._free = threading.Condition()

    def acquire(self, pixels: int) -> int:
        """Wait until `pixels` fit beside what is held, then hold them; returns what was taken
        (the whole budget for a picture bigger than it, which so decodes alone)."""
        take = min(max(0, int(pixels)), self.total)
        with self._free:
            while self.held + take > self.total:
                self._free.wait()
            self.held += take
            self.peak = max(self.peak, self.held)
        return take

    def release(self, taken: int) -> None:
        if taken >= TRIM_PIXELS:
            process_tuning.release_free_memory()
        with self._free:
            self.held -= taken
            self._free.notify_all()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        taken = self.acquire(pixels)
        try:
            yield
        finally:
            self.release(taken)


__all__ = ["PixelBudget", "DEFAULT_PIXELS"]
