"""How fast the window opens on a big library.

    python -m bench.startup [--photos 100000] [--runs 3] [--json]

Each run starts a fresh interpreter (the same one running this benchmark) and times, from just
before the process is spawned:

- bare_qt_s: a bare PySide6 `QMainWindow` shown and painted (the floor for any Qt app);
- window_s: PhotoSeek's main window shown and painted, built the way `photoseek` builds it
  (`app.ui.main.create_app` + `create_window`), on a synthetic library of `--photos` photos
  (bench/synthetic.py: real catalog, real index, real thumbnails; a private copy per run);
- grid_s: the grid holding every photo of the library (read from the catalog off the GUI thread);
- model_s: the model loaded in the background (the tiny CLIP of the tests by default).

Runs use QT_QPA_PLATFORM (offscreen when unset); figures are medians over `--runs`.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import report

BARE = r"""
import sys, time, json
t0 = float(sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
class First(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            print(json.dumps({"shown": time.time() - t0}), flush=True)
            QTimer.singleShot(0, app.quit)
            obj.removeEventFilter(self)
        return False
w = QMainWindow(); w.resize(1200, 800)
f = First(); w.installEventFilter(f)
w.show()
app.exec()
"""

APP = r"""
import sys, time, json
t0, expected = float(sys.argv[1]), int(sys.argv[2])
from app.ui.main import create_app, create_window
from PySide6.QtCore import QEvent, QObject, QTimer
app = create_app()
window = create_window()
marks = {}
def mark(name):
    if name not in marks:
        marks[name] = time.time() - t0
    if {"shown", "grid", "model"} <= set(marks):
        print(json.dumps(marks), flush=True)
        window.close()
        app.quit()
class First(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            mark("shown")
            obj.removeEventFilter(self)
        return False
f = First(); window.installEventFilter(f)
window.model_state_changed.connect(lambda state: state == "ready" and mark("model"))
poll = QTimer(); poll.setInterval(2)
poll.timeout.connect(lambda: window.grid_model.rowCount() >= expected and mark("grid"))
poll.start()
QTimer.singleShot(120_000, app.quit)
window.show()
app.exec()
"""


def _run(code: str, args: list[str], env: dict) -> dict:
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, str(t0), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        timeout=300,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        sys.exit(f"run failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def main(argv=None) -> dict:
    from . import synthetic

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    lib = synthetic.build(args.photos)
    # An installed app starts from compiled bytecode (pip writes it); a checkout run with
    # PYTHONDONTWRITEBYTECODE would compile PhotoSeek's sources on every start instead.
    compileall.compile_dir(Path(__file__).resolve().parents[1] / "app", quiet=1)
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    bare, shown, grid, model = [], [], [], []
    for _ in range(args.runs):
        bare.append(_run(BARE, [], env)["shown"])
        with tempfile.TemporaryDirectory() as tmp:
            run_env = dict(env, **lib.clone(Path(tmp)).env(), XDG_CONFIG_HOME=str(Path(tmp) / "config"))
            marks = _run(APP, [str(lib.count)], run_env)
        shown.append(marks["shown"])
        grid.append(marks["grid"])
        model.append(marks["model"])
    result = {
        "photos": lib.count,
        "runs": args.runs,
        "platform": env["QT_QPA_PLATFORM"],
        "bare_qt_s": round(statistics.median(bare), 3),
        "window_s": round(statistics.median(shown), 3),
        "grid_s": round(statistics.median(grid), 3),
        "model_s": round(statistics.median(model), 3),
    }
    result["window_over_bare"] = round(result["window_s"] / result["bare_qt_s"], 2)
    report(result, args.json, "Startup")
    return result


if __name__ == "__main__":
    main()
