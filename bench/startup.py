"""How fast the window opens on a big library.

    python -m bench.startup [--photos 100000] [--runs 3] [--model M --pretrained P] [--json]

Each run starts a fresh interpreter (the same one running this benchmark) and times, from just
before the process is spawned:

- bare_qt_s: a bare PySide6 `QMainWindow` shown and painted (the floor for any Qt app);
- window_s: PhotoSeek's main window shown and painted, built the way `photoseek` builds it
  (`app.ui.main.create_app` + `create_window`), on a synthetic library of `--photos` photos
  (bench/synthetic.py: real catalog, real index, real thumbnails; a private copy per run);
- grid_s: the grid holding every photo of the library (read from the catalog off the GUI thread);
- model_s: the model loaded in the background, ready for a first query, as a returning user's
  window loads it: from the fast start (app/core/model/fast_start.py), the model's ONNX export
  an index run leaves in the data dir (written once per model, beside the synthetic library),
  under ONNX Runtime, without torch (the tiny CLIP of the tests by default, so the model's own
  weights are a small part of it: a ViT-B-32 adds its ONNX sessions' opening);
- model_torch_s, grid_torch_s: the same library without the export (torch and open_clip
  imported: the start after an index run that could not export, or indexing on a GPU);
- first_thumbnails_s / first_thumbnails_no_model_s: a first start, `photoseek FOLDER` on an
  unindexed folder of `--first-photos` photos (distinct files, real JPEG decoding) and an empty
  data dir, until the first screen of the grid shows thumbnails: with the model available, and
  with a model that cannot be loaded (a checkpoint that is not there). `--first-only` runs these
  alone, `--no-first` all but these.

Runs use QT_QPA_PLATFORM (offscreen when unset); figures are medians over `--runs`.

`--command CMD` (repeatable) times other builds instead, e.g. the frozen app against this checkout:

    DISPLAY=:97 python -m bench.startup --photos 10000 --command /usr/bin/photoseek-gui --command 'python3 -m app gui'

Each CMD is spawned on the same synthetic library (runs of the commands interleaved), and window_s
is the time until a window titled PhotoSeek is visible on $DISPLAY (an X server: `Xvfb :97 -noreset`,
since without -noreset Xvfb resets between runs and refuses the next one's connection; found by
polling `xdotool search` every 10 ms): mapped, not yet painted, so a little earlier than
the in-process window_s. Per command: window_s (median), window_best_s and every run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shlex
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


FIRST = r"""
import sys, time, json, argparse
t0, folder = float(sys.argv[1]), sys.argv[2]
from app.ui.main import create_app, create_window
from PySide6.QtCore import QTimer
app = create_app()
window = create_window(argparse.Namespace(folders=[folder]))
def first_screen_shown():
    grid, model = window.grid, window.grid_model
    cells = grid.columns * -(-grid.viewport().height() // grid.cell)
    rows = min(cells, model.rowCount())
    if window.stack.currentWidget() is not grid or rows < cells:
        return False
    return all(window.loader.cached(model.record(r)) is not None for r in range(rows))
def check():
    if first_screen_shown():
        print(json.dumps({"first_thumbnails": time.time() - t0, "model": window.model_state}), flush=True)
        poll.stop()
        window.close()
        app.quit()
poll = QTimer(); poll.setInterval(5)
poll.timeout.connect(check)
poll.start()
QTimer.singleShot(120_000, app.quit)
window.show()
app.exec()
"""


def unindexed_folder(count: int) -> Path:
    """`count` distinct photos (the benchmark's base photos, each with its own trailing bytes, so
    each has its own fingerprint and is decoded), built once in the cache."""
    from . import synthetic

    folder = synthetic.cache_root() / f"unindexed-{count}"
    done = folder / ".complete"
    if done.exists():
        return folder
    base = synthetic.base_photos(synthetic.cache_root() / "base-photos")
    for i in range(count):
        sub = folder / f"{i // 500:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        data = base[i % len(base)].read_bytes() + f"photoseek-bench {i}".encode()  # after the JPEG's end
        (sub / f"photo{i:05d}.jpg").write_bytes(data)
    done.touch()
    return folder


def first_thumbnails(folder: Path, env: dict, model: tuple[str, str], runs: int) -> float:
    """Median seconds from spawning `photoseek FOLDER` (a fresh data dir) to the first screen of thumbnails."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            run_env = dict(
                env,
                PHOTOSEEK_DATA_DIR=str(Path(tmp) / "data"),
                PHOTOSEEK_MODEL=model[0],
                PHOTOSEEK_PRETRAINED=model[1],
                XDG_CONFIG_HOME=str(Path(tmp) / "config"),
            )
            times.append(_run(FIRST, [str(folder)], run_env)["first_thumbnails"])
    return round(statistics.median(times), 3)


def first_start(count: int, runs: int, env: dict) -> dict:
    """first_thumbnails_s with the model and without one (bench.synthetic's tiny model)."""
    from . import synthetic

    folder = unindexed_folder(count)
    config, checkpoint = synthetic.tiny_model(synthetic.cache_root() / "tiny-model")
    missing = str(Path(checkpoint).with_name("not-there.pt"))
    return {
        "first_photos": count,
        "first_thumbnails_s": first_thumbnails(folder, env, (str(config), str(checkpoint)), runs),
        "first_thumbnails_no_model_s": first_thumbnails(folder, env, (str(config), missing), runs),
    }


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


def command_window(command: str, env: dict) -> float:
    """Seconds from spawning `command` to its window titled PhotoSeek being visible on $DISPLAY."""
    find = ["xdotool", "search", "--onlyvisible", "--name", "^PhotoSeek$"]
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a chatty app never blocks on it
        t0 = time.time()
        proc = subprocess.Popen(shlex.split(command), env=env, stdout=log, stderr=log)
        try:
            while time.time() - t0 < 120 and proc.poll() is None:
                if subprocess.run(find, env=env, capture_output=True).returncode == 0:
                    return time.time() - t0
                time.sleep(0.01)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        log.seek(0)
        sys.exit(f"no PhotoSeek window from {command!r} (exit {proc.returncode}):\n{log.read()[-3000:]}")


def commands_startup(commands: list[str], photos: int, runs: int, env: dict) -> dict:
    """window_s of each command on the same synthetic library, their runs interleaved."""
    from . import synthetic

    if not env.get("DISPLAY"):
        sys.exit("--command needs an X display (DISPLAY; e.g. Xvfb :97 -noreset &) and xdotool")
    lib = synthetic.build(photos)
    times: dict[str, list[float]] = {c: [] for c in commands}
    for _ in range(runs):
        for command in commands:
            with tempfile.TemporaryDirectory() as tmp:
                run_env = dict(env, **lib.clone(Path(tmp)).env(), XDG_CONFIG_HOME=str(Path(tmp) / "config"))
                times[command].append(command_window(command, run_env))
    rows = [
        {
            "command": command,
            "window_s": round(statistics.median(ts), 3),
            "window_best_s": round(min(ts), 3),
            "runs_s": " ".join(f"{t:.2f}" for t in ts),
        }
        for command, ts in times.items()
    ]
    return {"photos": lib.count, "runs": runs, "platform": env["QT_QPA_PLATFORM"], "commands": rows}


def main(argv=None) -> dict:
    from . import synthetic

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--first-photos", type=int, default=2000, help="photos of the unindexed folder (first start)")
    p.add_argument("--first-only", action="store_true", help="only the first start (first_thumbnails_s)")
    p.add_argument("--no-first", action="store_true", help="all but the first start (first_thumbnails_s)")
    p.add_argument("--command", action="append", help="time this command's window instead (an X display; repeatable)")
    p.add_argument("--model", default=None, help="open_clip name or config (default: the tiny CLIP of the tests)")
    p.add_argument("--pretrained", default=None, help="its weights: a tag or a checkpoint file")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    # An installed app starts from compiled bytecode (pip writes it); a checkout run with
    # PYTHONDONTWRITEBYTECODE would compile PhotoSeek's sources on every start instead.
    compileall.compile_dir(Path(__file__).resolve().parents[1] / "app", quiet=1)
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "xcb" if args.command else "offscreen")
    env.setdefault("HF_HUB_OFFLINE", "1")
    if args.command:
        result = commands_startup(args.command, args.photos, args.runs, env)
        report(result, args.json, "Startup")
        return result
    first = {} if args.no_first else first_start(args.first_photos, args.runs, env)
    if args.first_only:
        report(first, args.json, "First start")
        return first
    lib = synthetic.build(args.photos, model=args.model, pretrained=args.pretrained)
    lib.fast_start()  # (written once, before any run is timed)
    bare, shown, grid, model, grid_torch, model_torch = [], [], [], [], [], []
    for _ in range(args.runs):
        bare.append(_run(BARE, [], env)["shown"])
        for fast in (True, False):  # interleaved: a returning user's start, and one without the export
            with tempfile.TemporaryDirectory() as tmp:
                clone = lib.clone(Path(tmp), fast_start=fast)
                run_env = dict(env, **clone.env(), XDG_CONFIG_HOME=str(Path(tmp) / "config"))
                marks = _run(APP, [str(lib.count)], run_env)
            if fast:
                shown.append(marks["shown"])
                grid.append(marks["grid"])
                model.append(marks["model"])
            else:
                grid_torch.append(marks["grid"])
                model_torch.append(marks["model"])
    result = {
        "photos": lib.count,
        "model": lib.settings.model if args.model else "tiny CLIP (tests/tiny_clip.py)",
        "runs": args.runs,
        "platform": env["QT_QPA_PLATFORM"],
        "bare_qt_s": round(statistics.median(bare), 3),
        "window_s": round(statistics.median(shown), 3),
        "grid_s": round(statistics.median(grid), 3),
        "model_s": round(statistics.median(model), 3),
        "grid_torch_s": round(statistics.median(grid_torch), 3),
        "model_torch_s": round(statistics.median(model_torch), 3),
    }
    result["window_over_bare"] = round(result["window_s"] / result["bare_qt_s"], 2)
    result.update(first)
    report(result, args.json, "Startup")
    return result


if __name__ == "__main__":
    main()
