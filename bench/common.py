"""Shared bits of the benchmarks: the process-wide levers, table/JSON output, process memory."""

from __future__ import annotations

import json
import resource
import sys

from app.core.process_tuning import tune_process

# Every benchmark imports this module first: the process is tuned as the CLI's is (a benchmark of
# the window, `gui_latency` or `startup`, gets the window's levers from create_app).
tune_process("bench")


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc; falls back to the peak)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def report(result: dict, as_json: bool, title: str) -> None:
    if as_json:
        print(json.dumps(result, indent=1))
        return
    print(title)
    width = max(len(k) for k in result)
    for key, value in result.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"{key}:")
            cols = list(value[0])
            print("  " + "  ".join(f"{c:>14}" for c in cols))
            for row in value:
                print("  " + "  ".join(f"{_fmt(row[c]):>14}" for c in cols))
        else:
            print(f"  {key:<{width}}  {_fmt(value)}")
    sys.stdout.flush()


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)
