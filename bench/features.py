"""What the search features cost on a folder of real photos, per 1,000 photos.

    python -m bench.features --images DIR [--model M --pretrained none] [--json]

Indexes DIR into a scratch library (OCR off), then times, each alone:

- concepts_ms_per_1000: scoring every photo against the whole concept vocabulary (after the text
  embeddings of every prompt, `concept_prompts_s`, computed once per model and cached);
- ocr_s_per_1000: reading the text in every photo (rapidocr), and how many held text;
- duplicates_s: finding duplicate groups over the library (hashes filled in first).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

from .common import report


def main(argv=None) -> dict:
    from app.core.config import Settings
    from app.core.ingest import ocr
    from app.core.library import Library

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--pretrained", default="none")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR)

    settings = Settings.from_env(
        data_dir=Path(tempfile.mkdtemp(prefix="photoseek-bench-")),
        model=args.model,
        pretrained=args.pretrained,
        ocr=False,
    )
    library = Library(settings)
    report_ = library.update([args.images.resolve()])
    photos = library.catalog.count("ok")

    vocabulary = library.concepts.vocabulary()
    t0 = time.perf_counter()
    concepts = library.update_concepts()
    prompts_s = time.perf_counter() - t0 - concepts.seconds  # the prompts' text embeddings, once per model

    t0 = time.perf_counter()
    read = ocr.read_library(library.catalog, settings)
    ocr_s = time.perf_counter() - t0
    _, _, with_text = library.catalog.ocr_counts()

    t0 = time.perf_counter()
    groups = library.duplicates()
    duplicates_s = time.perf_counter() - t0

    result = {
        "photos": photos,
        "embedded": report_.embedded,
        "model": library.model_id,
        "concepts": len(vocabulary.concepts),
        "concept_prompts_s": round(prompts_s, 2),
        "concepts_ms_per_1000": round(concepts.ms_per_1000, 1),
        "ocr_photos": read,
        "ocr_with_text": with_text,
        "ocr_s_per_1000": round(1000 * ocr_s / max(1, read), 1),
        "duplicate_groups": len(getattr(groups, "groups", groups)),
        "duplicates_s": round(duplicates_s, 2),
    }
    report(result, args.json, "Search features")
    library.close()
    return result


if __name__ == "__main__":
    main()
