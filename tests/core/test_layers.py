"""The architecture's one hard rule: app/core (the engine) never imports Qt, so the command line,
the benchmarks and any other front run it without a GUI toolkit."""

import pkgutil
import subprocess
import sys

import app.core


def test_the_engine_imports_no_qt():
    modules = [f"app.core.{m.name}" for m in pkgutil.iter_modules(app.core.__path__)]
    assert len(modules) > 10
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + \
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
