"""The architecture's hard rules. app/core (the engine) never imports Qt, so the command line, the
benchmarks and any other front run it without a GUI toolkit; and its packages form layers without
import cycles (the contracts in pyproject.toml's [tool.importlinter])."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import app.core

REPO = Path(__file__).resolve().parents[2]


def test_the_engine_imports_no_qt():
    """At run time, lazy imports included: every engine module imported, no Qt module loaded."""
    modules = [m.name for m in pkgutil.walk_packages(app.core.__path__, "app.core.")]
    assert len(modules) > 25
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_import_contracts_are_kept():
    """Layers (the window over the engine; inside it the library over search and organize, over
    ingest, model, store and the shared helpers; the window's parts over the widgets they use), no
    cycles, no Qt: read from the source."""
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BROKEN" not in out.stdout and out.stdout.count("KEPT") == 6, out.stdout
