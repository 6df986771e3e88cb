"""How fast a query is at any library size.

    python -m bench.query [--sizes 10000,100000,1000000] [--queries 200] [--json]

Per size, a synthetic library (bench/synthetic.py, catalog and index only: float16 vectors from a
mixture of a few hundred Gaussian clusters on the sphere, stored through the real catalog code) is
opened in a fresh process, exactly as the app opens a user's library, and measured:

- load_s: `Library(settings)` plus its index (loaded from the saved file) ready to search;
- search_p50_ms / search_p95_ms: one query vector -> the ranked result list (`Library.rank`):
  every photo when the index is exact, the best APPROX_RESULTS when it is approximate;
- text_encode_ms: the text tower of the model (default ViT-B-32-256, random weights are enough for
  speed) on a query it has not seen;
- end_to_end_p95_ms: a query string -> ranked ids, `cold` (new text) and `cached` (text seen before);
- recall_at_100: overlap of the top 100 with exact search (1.0 for the exact index), on text-like
  query vectors (a photo's direction drowned in noise: best cosine about 0.35, like CLIP text);
- exact_p95_ms: the app's exact (flat) index built over the same vectors, asked for the same
  number of results on the same queries: what an approximate index is measured against;
- index_type, rss_mb (the whole process at the end, the comparison's exact index freed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from .common import percentile, report, rss_mb

DEFAULT_MODEL = "ViT-B-32-256"
WORDS = ("dog cat beach sunset mountain snow city night food cake birthday car bike tree flower "
         "river boat kids party museum street rain forest bridge window coffee book train dinner").split()


def text_like_queries(vectors: np.ndarray, count: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picks = vectors[rng.choice(len(vectors), size=count, replace=False)].astype(np.float32)
    q = picks + rng.standard_normal(picks.shape).astype(np.float32) * (2.5 / np.sqrt(picks.shape[1]))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def phrases(count: int, seed: int = 2) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=3)) + f" {i}" for i in range(count)]


def measure_one(size: int, queries: int, model: str, warm: int = 5) -> dict:
    """Runs in its own process, so load time and memory are those of a fresh app."""
    import logging

    from app.core.library import Library

    from . import synthetic

    logging.basicConfig(level=logging.WARNING)
    lib = synthetic.build(size, model=model, pretrained="none", files=False)

    started = time.perf_counter()
    library = Library(lib.settings)
    index = library.index
    load_s = time.perf_counter() - started
    kind = getattr(index, "kind", "flat")

    ids, vectors = library.catalog.vectors(library.model_id)  # ground truth, outside the timings
    qs = text_like_queries(vectors, queries)
    rank = getattr(library, "rank", None) or (lambda v: index.search(v))
    for q in qs[:warm]:
        rank(q)
    times, results = [], []
    for q in qs:  # timed on their own: the exact search below streams every vector through the caches
        t = time.perf_counter()
        found, _ = rank(q)
        times.append((time.perf_counter() - t) * 1000)
        results.append(found)
    from app.core.index import VectorIndex

    # the app's own exact index over the same vectors: what an approximate one is measured against
    exact_index = VectorIndex.from_vectors(ids, vectors, kind="flat") if hasattr(VectorIndex, "from_vectors") \
        else None  # an older checkout: plain numpy
    recalls, exact = [], []
    for q, found in zip(qs, results):
        t = time.perf_counter()
        if exact_index is not None:
            best, _ = exact_index.search(q, len(found))
        else:
            best = ids[np.argsort(-(vectors @ q))[: len(found)]]
        exact.append((time.perf_counter() - t) * 1000)
        recalls.append(len(set(found[:100].tolist()) & set(best[:100].tolist())) / 100)
    del exact_index
    del vectors

    library.load_model()
    texts = phrases(queries // 2)
    for text in texts[:warm]:
        library.text_vector(text)
    encode, cold, cached = [], [], []
    for text in texts[warm:]:
        t = time.perf_counter()
        vector = library.text_vector(text)
        encode.append((time.perf_counter() - t) * 1000)
        rank(vector)
        cold.append((time.perf_counter() - t) * 1000)
    for text in texts[warm:]:
        t = time.perf_counter()
        rank(library.text_vector(text))
        cached.append((time.perf_counter() - t) * 1000)
    return {
        "size": size, "index_type": kind,
        "search_p50_ms": round(percentile(times, 50), 2), "search_p95_ms": round(percentile(times, 95), 2),
        "text_encode_ms": round(percentile(encode, 50), 2),
        "end_to_end_p95_ms": round(percentile(cold, 95), 2),
        "end_to_end_cached_p95_ms": round(percentile(cached, 95), 2),
        "recall_at_100": round(float(np.mean(recalls)), 4),
        "exact_p95_ms": round(percentile(exact, 95), 2),
        "load_s": round(load_s, 3), "rss_mb": round(rss_mb(), 1),
        "results": int(len(found)),
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--model", default=DEFAULT_MODEL, help="open_clip model name (random weights)")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size in this process
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one, args.queries, args.model)))
        return {}
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        out = subprocess.run([sys.executable, "-m", "bench.query", "--one", str(size), "--queries", str(args.queries),
                              "--model", args.model], capture_output=True, text=True, env=os.environ.copy())
        if out.returncode != 0:
            sys.exit(f"size {size} failed:\n{out.stderr[-3000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    import platform

    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "queries": args.queries,
              "model": args.model, "sizes": rows}
    report(result, args.json, "Query latency")
    return result


if __name__ == "__main__":
    main()
