"""Modules imported on first use.

The window must paint before the heavy imports (numpy alone takes about as long as PySide6 to
import; the engine pulls in Pillow, SQLite and more). Module-level names in the UI refer to these
stand-ins; the real module loads the first time one of its attributes is read, by then usually on
a worker opening the library, after the first paint.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING


class LazyModule:
    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


if TYPE_CHECKING:  # the checker sees the real module's names
    import numpy
else:
    numpy = LazyModule("numpy")
