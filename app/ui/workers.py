"""Run engine calls off the GUI thread and bring their results back to it.

The pattern of MusicBrainz Picard's `picard/util/thread.py`: a callable runs on a QThreadPool;
its result (or exception) is posted back to the GUI thread through the signals of a QObject that
lives there. Progress callbacks from the engine become queued signals, throttled so a fast job
cannot flood the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

# PySide makes a Qt class's Python type the first time it is used, and two threads doing that at
# once crashed the app (two thumbnail loaders in QImageReader(path), which needs QIODevice). So
# worker code uses Qt only through names its module imports at the top, on the GUI thread, and
# types their calls need without naming them are made here; tests/ui/test_workers.py checks
# that worker calls make no new types.
from PySide6.QtCore import (
    QIODevice,  # noqa: F401
    QObject,
    QRunnable,
    QThreadPool,
    Signal,
)

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Lives in the GUI thread; signals emitted from a worker arrive there queued."""

    finished = Signal(object)
    failed = Signal(object)
    progress = Signal(object)


class Task(QRunnable):
    """One call of `fn(*args, **kwargs)` on a thread pool.

    `on_result(result)` / `on_error(exception)` / `on_progress(value)` run in the GUI thread.
    With `report_kw="progress"`, `fn` receives `progress=<a thread-safe callable>` that forwards
    each value to `on_progress`.
    """

    _alive: set[Task] = set()  # keeps Python wrappers alive until their result is delivered
    _alive_lock = threading.Lock()

    def __init__(
        self,
        fn: Callable[..., Any],
        *args,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        report_kw: str | None = None,
        **kwargs,
    ):
        super().__init__()
        self.setAutoDelete(False)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.relay = _Relay()
        self.cancelled = False
        if report_kw:
            kwargs[report_kw] = self.report
        if on_result is not None:
            self.relay.finished.connect(on_result)
        self.relay.failed.connect(on_error if on_error is not None else _log_error)
        if on_progress is not None:
            self.relay.progress.connect(on_progress)
        self.relay.finished.connect(self._release)
        self.relay.failed.connect(self._release)

    def report(self, value: Any) -> None:
        """Thread-safe: deliver a progress value to the GUI thread."""
        if not self.cancelled:
            self.relay.progress.emit(value)

    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as e:  # noqa: BLE001 - every failure goes back to the GUI thread
            e.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            if not self.cancelled:
                self.relay.failed.emit(e)
            else:
                self._release()
            return
        if not self.cancelled:
            self.relay.finished.emit(result)
        else:
            self._release()

    def cancel(self) -> None:
        """Drop the result: callbacks will not run (the call itself is not interrupted)."""
        self.cancelled = True
        with warnings.catch_warnings():  # PySide warns when a signal had nothing connected
            warnings.simplefilter("ignore", RuntimeWarning)
            for signal in (self.relay.finished, self.relay.failed, self.relay.progress):
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):
                    pass
        self.relay.finished.connect(self._release)
        self.relay.failed.connect(self._release)

    def _release(self, *_):
        with Task._alive_lock:
            Task._alive.discard(self)


def _log_error(error: BaseException) -> None:
    log.error("background task failed: %s\n%s", error, getattr(error, "__traceback_text__", ""))


def run_task(pool: QThreadPool, fn: Callable[..., Any], *args, **kwargs) -> Task:
    """Start `fn(*args)` on `pool`; keyword arguments as for `Task`."""
    task = Task(fn, *args, **kwargs)
    with Task._alive_lock:
        Task._alive.add(task)
    pool.start(task)
    return task


class Throttle:
    """Call `sink(value)` at most `rate` times a second; the last value is never lost when
    `final(value)` says so (e.g. a job's last step)."""

    def __init__(self, sink: Callable[[Any], None], rate: float = 10.0, final: Callable[[Any], bool] | None = None):
        self.sink = sink
        self.interval = 1.0 / rate
        self.final = final or (lambda v: False)
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, value: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.interval and not self.final(value):
                return
            self._last = now
        self.sink(value)
