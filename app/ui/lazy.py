"""Modules imported on first use (see app/core/lazy.py): the window paints before numpy loads."""

from ..core.lazy import numpy

__all__ = ["numpy"]
