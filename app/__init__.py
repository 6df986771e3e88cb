"""PhotoSeek: a desktop photo organizer whose search understands what is in the pictures."""

import os

__version__ = "0.1.0"

# OpenBLAS (numpy's exact ranking) keeps its threads spinning for ~0.1 s after each call; on a
# small CPU they then fight torch's threads encoding the next query's text (measured on 2 cores:
# text encoding 120 ms -> 43 ms with this). Read once, when numpy loads: set before any import.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
