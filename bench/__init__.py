"""Benchmarks that print figures (`python -m bench.NAME --help`). Never timed assertions in tests."""
