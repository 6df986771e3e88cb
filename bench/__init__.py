"""Benchmarks that print figures (`python -m bench.NAME --help`). Never timed assertions in tests."""

import app  # noqa: F401  (first: its thread settings must precede numpy, as they do in the app)
