"""PhotoSeek: a desktop photo organizer whose search understands what is in the pictures."""

from .core.process_tuning import before_numpy

__version__ = "0.1.0"

before_numpy()  # before any import of numpy (app/core/process_tuning.py says why)
