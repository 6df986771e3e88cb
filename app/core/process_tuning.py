"""The process-wide speed levers, in one place, each with the measurement that chose it.

`tune_process(front)` applies the settings made once per process, at each entry point: the window
(`app.ui.main.create_app`), the command line (`app.cli.main`) and the benchmarks (`bench.common`).
`before_numpy()` is applied by importing `app` (app/__init__.py), as it must come before numpy
loads, whoever imports it first. The other levers act at a moment the code chooses, and are
called from there:

- `release_free_memory()`: the glibc allocator gives freed pages back (the indexer, after a run);
- `heavy_imports()`, `settle_long_lived()`: the cyclic garbage collector waits while big modules
  load, and stops walking what lives as long as the window (the window's jobs);
- `embedding_lanes()`, `split_torch_threads()`, `all_torch_threads()`: two image batches embedded
  side by side on a CPU, each on its share of torch's threads (the embedder);
- `idle_priority()`: a process that works in the background (the fast start's export after an
  index command) runs only on CPU time nothing else wants.

Tried and dropped, so not here: glibc tuned to one arena, blocks up to 32 MB from the heap and
256 MB of free heap kept while indexing (page faults 2,000 -> 300 a photo, the model alone 6-12 %
faster, but the pipeline within noise in 10 alternating pairs); a 0.2 ms switch interval
(PySide6 6.11.3 crashed in 6 of 24 starts).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def before_numpy() -> None:
    """The settings numpy's libraries read once, when they load."""
    # OpenBLAS (numpy's exact ranking) keeps its threads spinning for ~0.1 s after each call; on a
    # small CPU they then fight torch's threads encoding the next query's text (measured on 2
    # cores: text encoding 120 ms -> 43 ms with a 4 timeout).
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


def tune_process(front: str) -> None:
    """The once-per-process settings for entry point `front`, "window", "cli" or "bench" (call it
    once, at start; `typing.Literal` would cost the CLI's start the import of typing)."""
    if front == "window":
        # Workers run Python (ranking, tokenising, thumbnails) while the window answers events in
        # Python: Python's default 5 ms switch interval let a busy search worker stretch the window's
        # pauses while typing; a thread waiting for the interpreter now gets it within 0.5 ms.
        sys.setswitchinterval(0.0005)
    # The CLI and the benchmarks keep Python's defaults: they have no window to keep answering.


# -- the allocator ------------------------------------------------------------------------------

_libc = None


def _glibc():
    import ctypes  # here: every front imports this module at start
    import platform

    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
            try:
                _libc = ctypes.CDLL("libc.so.6")
                _libc.malloc_trim.argtypes = [ctypes.c_size_t]
            except OSError:
                pass
    return _libc


def release_free_memory() -> None:
    """Return the free pages of every heap to the system (glibc only; a few ms; the indexer calls it
    after a run). glibc gives memory back only from the top of a heap: after indexing 529 photos the
    decoded photos, batches and activations freed stayed resident among blocks still in use, 1,862
    MB (1,366 MB with the model loaded, before); 1,569 MB once the free pages are given back."""
    libc = _glibc()
    if libc:
        libc.malloc_trim(0)


# -- the garbage collector ----------------------------------------------------------------------

_importing = 0  # threads inside `heavy_imports`
_importing_lock = threading.Lock()
_collector_was_on = True


def settle_long_lived() -> None:
    """Call after loading something that lives as long as the window (the model, a photo list):
    the cyclic garbage collector stops walking what exists now. Its full passes over a 100k-photo
    library and the model's modules took up to 0.8 s, holding the interpreter, so the window froze.
    Young garbage is collected first so that none is kept; frozen objects are still freed as usual
    when nothing refers to them any more. Inside `heavy_imports` it is left to their end."""
    with _importing_lock:
        importing = _importing > 0
    if not importing:
        gc.collect(1)
        gc.freeze()


@contextmanager
def heavy_imports() -> Iterator[None]:
    """Around the first import of big modules (the engine, torch, open_clip): the cyclic collector
    waits, then everything is frozen. While the heap grows, a full pass comes at every quarter of
    growth and walks it all holding the interpreter: eight passes of 15-187 ms froze the window
    while a 100k library and its model loaded. Frozen without collecting first, as a young
    collection of all that is one 330 ms pause; what the imports leave in cycles (about 11,000
    objects, 8 MB) is kept, once."""
    global _importing, _collector_was_on
    with _importing_lock:
        if _importing == 0:
            _collector_was_on = gc.isenabled()
            gc.disable()
        _importing += 1
    try:
        yield
    finally:
        with _importing_lock:
            _importing -= 1
            if _importing == 0:  # the last import out turns the collector back on
                if _collector_was_on:
                    gc.enable()
                gc.freeze()


# -- torch's threads: embedding lanes -----------------------------------------------------------

_threads_lock = threading.Lock()  # split_torch_threads: who is inside, torch's thread count before
_side_by_side_users, _threads_before = 0, 0


def embedding_lanes(device: str) -> int:
    """How many image batches to embed side by side on this machine (`split_torch_threads`)."""
    import torch

    threads = _threads_before if _side_by_side_users else torch.get_num_threads()
    return 2 if device == "cpu" and threads >= 2 else 1


@contextmanager
def split_torch_threads(lanes: int) -> Iterator[None]:
    """While inside, `lanes` image batches may be embedded at once from as many threads, each
    on its share of the cores. On 2 cores two batches on one thread each embed 24-29 photos/s
    where one batch on both does 19-22 (int8 ViT-B-32-256): a batch's threads wait for each
    other at every layer, and spin there while a decode thread holds the other core."""
    import torch

    global _side_by_side_users, _threads_before
    with _threads_lock:  # torch's thread count is the process's: the last one out restores it
        if _side_by_side_users == 0:
            _threads_before = torch.get_num_threads()
            torch.set_num_threads(max(1, _threads_before // max(1, lanes)))
        _side_by_side_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _side_by_side_users -= 1
            if _side_by_side_users == 0:
                torch.set_num_threads(_threads_before)


def all_torch_threads() -> None:
    """Torch fixes a thread's thread count the first time it computes: a thread first used while
    indexing ran side by side (one thread each) would answer queries on one core ever after."""
    if _side_by_side_users == 0 and _threads_before:
        import torch

        if torch.get_num_threads() != _threads_before:
            torch.set_num_threads(_threads_before)


def idle_priority() -> None:
    """This process (and the threads it starts from now on) runs only when the CPU is otherwise
    idle: Linux's SCHED_IDLE, else the lowest nice level. Call it before starting threads."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux
        try:
            os.nice(19)
        except (AttributeError, OSError):
            pass
