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
- text_recall_at_10 / text_recall_at_100 / text_recall_min_100: overlap of the top 10 / 100 with
  exact search (1.0 for the exact index; the mean, and the worst query), on text-like query
  vectors: a photo's direction with noise added until that photo scores a cosine of 0.25 with it,
  like CLIP's text-to-photo scores (`app.core.store.index.probe_queries`, the probes nprobe is tuned on,
  drawn afresh here);
- photo_recall_at_100: the same for photo-like queries (a photo with a little noise: cosine 0.9);
- exact_p95_ms: the app's exact (flat) index built over the same vectors, asked for the same
  number of results on the same queries: what an approximate index is measured against;
  vs_exact: search_p50_ms / exact_p50_ms;
- index_type, rss_mb (the whole process at the end, the comparison's exact index freed),
  peak_rss_mb (the most it held at any time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from .common import peak_rss_mb, percentile, report, rss_mb

DEFAULT_MODEL = "ViT-B-32-256"
WORDS = (
    "dog cat beach sunset mountain snow city night food cake birthday car bike tree flower "
    "river boat kids party museum street rain forest bridge window coffee book train dinner"
).split()


def phrases(count: int, seed: int = 2) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=3)) + f" {i}" for i in range(count)]


def _timed_searches(rank, qs: list, warm: int) -> tuple[list[float], list[np.ndarray]]:
    """(ms a search, ids found) of each query, after `warm` untimed ones."""
    for q in qs[:warm]:
        rank(q)
    times, results = [], []
    for q in qs:  # timed on their own: the exact search below streams every vector through the caches
        t = time.perf_counter()
        found, _ = rank(q)
        times.append((time.perf_counter() - t) * 1000)
        results.append(found)
    return times, results


def _exact_searches(exact_index, qs: list, results: list, photo_qs: list) -> tuple[list, list, list]:
    """(ms a search, ids found) of the exact index for each query as many as were found, and the
    best 100 for each photo query."""
    exact, best = [], []
    for q, found in zip(qs, results):
        t = time.perf_counter()
        best.append(exact_index.search(q, len(found))[0])
        exact.append((time.perf_counter() - t) * 1000)
    photo_best = [exact_index.search(q, 100)[0] for q in photo_qs]
    return exact, best, photo_best


def _recall(found: list[np.ndarray], truth: list[np.ndarray], k: int) -> list[float]:
    return [len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]


def _text_searches(library, rank, queries: int, warm: int) -> tuple[list[float], list[float], list[float]]:
    """ms to encode a text, to encode and search it, and to search it again with its vector cached."""
    embedder = library.load_model()  # the text tower itself: `text_vector` may answer from the query cache
    texts = phrases(queries // 2)
    for text in texts[:warm]:
        embedder.embed_texts([text])
    encode, cold, cached = [], [], []
    for text in texts[warm:]:
        t = time.perf_counter()
        vector = embedder.embed_texts([text])[0]
        encode.append((time.perf_counter() - t) * 1000)
        rank(vector)
        cold.append((time.perf_counter() - t) * 1000)
    for text in texts[warm:]:
        t = time.perf_counter()
        rank(library.text_vector(text))
        cached.append((time.perf_counter() - t) * 1000)
    return encode, cold, cached


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

    from app.core.store.index import VectorIndex, probe_queries

    ids, vectors = library.catalog.vectors(library.model_id)  # ground truth, outside the timings
    rng = np.random.default_rng(1)  # not the tuning's probes: those came from seed 0
    qs = probe_queries(vectors, queries, "text", rng)
    photo_qs = probe_queries(vectors, queries // 2, "photo", rng)
    rank = getattr(library, "rank", None) or (lambda v: index.search(v))
    times, results = _timed_searches(rank, qs, warm)
    photo_results = [rank(q)[0] for q in photo_qs]

    # the app's own exact index over the same vectors: what an approximate one is measured against
    exact_index = VectorIndex.from_vectors(ids, vectors, kind="flat")
    del vectors
    exact, best, photo_best = _exact_searches(exact_index, qs, results, photo_qs)
    del exact_index

    text_10, text_100, photo_100 = (
        _recall(results, best, 10),
        _recall(results, best, 100),
        _recall(photo_results, photo_best, 100),
    )
    encode, cold, cached = _text_searches(library, rank, queries, warm)
    found = results[-1]
    return {
        "size": size,
        "index_type": kind,
        "search_p50_ms": round(percentile(times, 50), 2),
        "search_p95_ms": round(percentile(times, 95), 2),
        "text_encode_ms": round(percentile(encode, 50), 2),
        "end_to_end_p95_ms": round(percentile(cold, 95), 2),
        "end_to_end_cached_p95_ms": round(percentile(cached, 95), 2),
        "text_recall_at_10": round(float(np.mean(text_10)), 4),
        "text_recall_at_100": round(float(np.mean(text_100)), 4),
        "text_recall_min_100": round(float(np.min(text_100)), 2),
        "photo_recall_at_100": round(float(np.mean(photo_100)), 4),
        "exact_p95_ms": round(percentile(exact, 95), 2),
        "vs_exact": round(percentile(times, 50) / percentile(exact, 50), 3),
        "load_s": round(load_s, 3),
        "rss_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
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
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.query",
                "--one",
                str(size),
                "--queries",
                str(args.queries),
                "--model",
                args.model,
            ],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        if out.returncode != 0:
            sys.exit(f"size {size} failed:\n{out.stderr[-3000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    import platform

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "queries": args.queries,
        "model": args.model,
        "sizes": rows,
    }
    report(result, args.json, "Query latency")
    return result


if __name__ == "__main__":
    main()
