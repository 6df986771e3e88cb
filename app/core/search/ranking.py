"""Running a parsed query: filters -> ranking -> text matches -> where the good matches end.

Ranking, by what the query holds:

- text, an image, or concepts mixed with either: ONE query vector,
      q = sum_i w_i t_i + image + sum_c w_c concept_c - NEGATIVE_WEIGHT * sum_j w_j t_j(excluded)
  where every t is a unit CLIP vector (a concept contributes the normalised mean of its prompt
  vectors) divided by the spread of its cosine over the library (so adding vectors adds z-scored
  similarities and a weight means the same influence for text, concepts and pictures), and every
  photo is ranked by cosine with the normalised q (rclip's "-" works the same way);
- concepts only (`#dog #beach`): each concept's score is a photo's best cosine over the concept's
  prompts, calibrated as a z-score against the library (how far above the library's usual score
  for that concept it is: a threshold of 2 means the same for every concept); several concepts
  add their z-scores, weighted, so a photo must show all of them;
- only filters and quoted phrases: the matching photos, newest first, all equally good.

Then the filters (SQL on catalog fields) and the quoted phrases (file name or text found in the
photo) keep or drop photos, and the plain words are matched against the text found in photos:
that ranking is fused with the CLIP ranking by reciprocal-rank fusion. The relevance cut-off
(relevance.py) is found on the CLIP scores; text matches count as good. Good matches come first.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import unicodedata
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..names import from_db
from ..store import textmatch
from .query import Hit, normalise
from .query_parser import TYPE_EXTENSIONS, Filters, ParsedQuery, Part, concept_key
from .relevance import Cutoff, relevance_cutoff, rrf

if TYPE_CHECKING:  # pragma: no cover
    from ..model.embedder import Embedder
    from ..store.catalog import Catalog
    from ..store.index import VectorIndex
    from .concepts import ConceptIndex

log = logging.getLogger(__name__)

NEGATIVE_WEIGHT = 1.0  # lambda: how strongly an excluded part is subtracted
SQUARE_TOLERANCE = 0.03  # |w - h| within 3 % of the long side counts as square
OCR_LIMIT = 500  # text matches considered for fusion
# formats as PhotoSeek records them (Pillow's, lower case) for each canonical type
TYPE_FORMATS = {"jpeg": ("jpeg", "mpo"), "heif": ("heif", "heic"), "tiff": ("tiff",)}


class Searchable(Protocol):
    """What a search reads of a library (app/core/library.py's Library is one). A protocol, so that
    the library imports the search and the search does not import the library back."""

    catalog: Catalog

    @property
    def model_id(self) -> str: ...

    @property
    def index(self) -> VectorIndex: ...

    @property
    def concepts(self) -> ConceptIndex: ...

    def load_model(self, *, towers: str = "both") -> Embedder: ...

    def search_model(self, *, towers: str = "text") -> Embedder | None: ...

    def text_vectors(self, texts: list[str], cached_only: bool = False) -> np.ndarray | None: ...

    def photo_ids(self, among: np.ndarray | None = None, limit: int | None = None) -> np.ndarray: ...


class SearchResult(list):
    """The hits, best first (a plain list of Hit), and what the search made of the query.

    `good_count`: the first `good_count` hits are good matches (None when not judged, e.g. a
    library browse); `hints`: short notes for the user about how the query was read; `ids`: the
    hits' ids as an array (all there is when the search was asked for no paths)."""

    def __init__(
        self,
        hits: Iterable[Hit] = (),
        *,
        parsed: ParsedQuery | None = None,
        hints: Iterable[str] = (),
        good_count: int | None = None,
        total: int = 0,
        cutoff: Cutoff | None = None,
        ids: np.ndarray | None = None,
    ):
        super().__init__(hits)
        self.ids = np.fromiter((h.id for h in self), dtype=np.int64, count=len(self)) if ids is None else ids
        self.parsed = parsed
        self.hints = list(dict.fromkeys(hints))
        self.good_count = good_count
        self.total = total  # matches before `n` cut the list
        self.cutoff = cutoff

    @property
    def good(self) -> list[Hit]:
        return list(self) if self.good_count is None else list(self[: self.good_count])


# -- filters -------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _type_condition(types: Iterable[str], params: list) -> str:
    ors = []
    for t in types:
        formats = TYPE_FORMATS.get(t, (t,))
        ors.append(f"COALESCE(LOWER(format), '') IN ({','.join('?' * len(formats))})")
        params.extend(formats)
        for ext in TYPE_EXTENSIONS.get(t, ("." + t,)):
            ors.append("LOWER(path) LIKE ?")
            params.append("%" + ext)
    return "(" + " OR ".join(ors) + ")"


def _orientation_condition(orientations: Iterable[str]) -> str:
    tol = SQUARE_TOLERANCE
    square = f"ABS(width - height) <= {tol} * MAX(width, height)"
    sql = {
        "square": square,
        "portrait": f"(height > width AND NOT {square})",
        "landscape": f"(width > height AND NOT {square})",
    }
    return "(width > 0 AND height > 0 AND (" + " OR ".join(sql[o] for o in orientations) + "))"


def offline_condition(catalog, wanted: bool | None, include_offline: bool = False) -> str | None:
    """SQL on `files` for photos in offline folders: left out (`wanted` False; None too, unless
    `include_offline`), kept alone (True, is:offline) or kept beside the others. An offline photo
    whose content is also in a folder that is online never shows: that copy is the one to open."""
    offline = getattr(catalog, "offline_folders", None)
    folder_ids = ",".join(str(int(i)) for i in offline()) if offline is not None else ""
    if not folder_ids:
        return "0" if wanted else None
    away = f"COALESCE(folder_id, -1) IN ({folder_ids})"
    online_too = (
        "fingerprint IN (SELECT fingerprint FROM files WHERE status = 'ok' "
        f"AND COALESCE(folder_id, -1) NOT IN ({folder_ids}))"
    )
    if wanted is False or (wanted is None and not include_offline):
        return f"NOT {away}"
    if wanted:
        return f"({away} AND NOT {online_too})"
    return f"NOT ({away} AND {online_too})"


def has_offline(catalog) -> bool:
    offline = getattr(catalog, "offline_folders", None)
    return offline is not None and bool(offline())


def filter_ids(catalog, f: Filters, include_offline: bool = False) -> np.ndarray:
    """Ids of the readable photos that pass every filter, sorted (photos of offline folders
    only as `offline_condition` says)."""
    where, params = ["status = 'ok'"], []
    offline = offline_condition(catalog, f.offline, include_offline)
    if offline is not None:
        where.append(offline)
    when = "COALESCE(taken_at, datetime(mtime, 'unixepoch', 'localtime'))"
    if f.after is not None:
        where.append(f"{when} >= ?")
        params.append(f.after.isoformat())
    if f.before is not None:
        where.append(f"{when} < ?")
        params.append(f.before.isoformat())
    if f.types:
        where.append(_type_condition(f.types, params))
    if f.not_types:
        where.append("NOT " + _type_condition(f.not_types, params))
    if f.orientations:
        where.append(_orientation_condition(f.orientations))
    if f.not_orientations:
        where.append("NOT " + _orientation_condition(f.not_orientations))
    if not (f.folders or f.not_folders):
        return _sorted_ids(
            r[0] for r in catalog.db.execute(f"SELECT id FROM files WHERE {' AND '.join(where)}", params)
        )
    rows = catalog.db.execute(f"SELECT id, path, folder_id FROM files WHERE {' AND '.join(where)}", params).fetchall()
    roots = catalog.folders()
    wanted = [_fold(x).strip("/") for x in f.folders]
    unwanted = [_fold(x).strip("/") for x in f.not_folders]
    verdict: dict[tuple[str, int | None], bool] = {}  # per directory: decided once
    out = []
    for file_id, path, folder_id in rows:
        directory = os.path.dirname(from_db(path))
        key = (directory, folder_id)
        ok = verdict.get(key)
        if ok is None:
            rel = _relative_dir(directory, roots.get(folder_id))
            ok = (not wanted or any(_folder_matches(rel, w) for w in wanted)) and not any(
                _folder_matches(rel, u) for u in unwanted
            )
            verdict[key] = ok
        if ok:
            out.append(file_id)
    return _sorted_ids(out)


def _sorted_ids(ids: Iterable[int]) -> np.ndarray:
    return np.unique(np.fromiter(ids, dtype=np.int64))


def _relative_dir(directory: str, root: Path | None) -> list[str]:
    """The folder names a photo is under, from its library folder's own name down."""
    d = Path(directory)
    if root is not None:
        try:
            return [_fold(root.name)] + [_fold(p) for p in d.relative_to(root).parts]
        except ValueError:
            pass
    return [_fold(d.name)] if d.name else []


def _folder_matches(parts: list[str], name: str) -> bool:
    if not name:
        return False
    if "/" in name:  # folder:2021/summer: a piece of the folder path
        return name in "/".join(parts)
    return any(name in p for p in parts)


# -- text matches (file name, text found in photos) -------------------------------------------------


def _name_key(text: str) -> str:
    """A file name or a quoted phrase as matched against file names: folded case and accents, no
    spaces, and _ - . (word breaks in file names) taken out, so "birthday_cake" holds "Birthday Cake"."""
    return textmatch.compact(text.replace("_", " "))


class _FileNames:
    """Every readable photo's file name (its `_name_key`) in one string, with the photos' ids:
    folding 100k names takes about half a second, finding a phrase in them milliseconds."""

    def __init__(self, rows: list[tuple[int, str]]):
        keys = [_name_key(os.path.basename(path)) for _, path in rows]
        self.ids = np.array([file_id for file_id, _ in rows], dtype=np.int64)
        self.starts = np.cumsum([0] + [len(k) + 1 for k in keys[:-1]], dtype=np.int64)
        self.text = "\n".join(keys)

    def find(self, key: str) -> list[int]:
        """Ids of the photos whose file name holds `key`, by id."""
        found, at = [], self.text.find(key) if key else -1
        while at >= 0:
            found.append(at)
            at = self.text.find(key, at + len(key))
        rows = np.unique(np.searchsorted(self.starts, found, side="right") - 1)
        return self.ids[rows].tolist()


_file_names: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # catalog -> (generation, _FileNames)


def _names_of(catalog) -> _FileNames:
    """The catalog's file names, folded again only when its files changed."""
    generation = catalog.generation()
    cached = _file_names.get(catalog)
    if cached is None or cached[0] != generation:
        rows = catalog.db.execute("SELECT id, path FROM files WHERE status = 'ok' ORDER BY id").fetchall()
        cached = _file_names[catalog] = (generation, _FileNames([(i, from_db(p)) for i, p in rows]))
    return cached[1]


def _keeping_text_order(fused: list[int], text_ranking: list[int]) -> list[int]:
    """The fused order, with the places of the text hits refilled in the text ranking's order: the
    CLIP ranking moves text hits up or down as a group, but never puts a photo whose text holds the
    word in part (COFFEESHOP) above one that holds it as written (a sign saying COFFEE)."""
    text = set(text_ranking)
    best_first = iter(text_ranking)
    return [next(best_first) if i in text else i for i in fused]


def _has_ocr(catalog) -> bool:
    return callable(getattr(catalog, "ocr_search", None))


def ocr_ranking(catalog, text: str, limit: int | None = OCR_LIMIT, phrase: bool = False) -> list[int]:
    """Ids of photos whose text matches, best first ([] without OCR support or on any error);
    `phrase`: the words together and in order (Catalog.ocr_search)."""
    if not text.strip() or not _has_ocr(catalog):
        return []
    try:
        return [int(i) for i, _ in catalog.ocr_search(text, limit=limit, phrase=phrase)]
    except Exception as e:  # a query the text index cannot take must not break the search
        log.info("text search failed for %r: %s", text, e)
        return []


def phrase_matches(catalog, phrase: str) -> list[int]:
    """Photos whose text (best first) or file name holds the phrase: its words together and in
    order, whatever the case, accents and spaces."""
    ordered = ocr_ranking(catalog, phrase, None, phrase=True)
    seen = set(ordered)
    return ordered + [i for i in _names_of(catalog).find(_name_key(phrase)) if i not in seen]


# -- without a model ---------------------------------------------------------------------------

_STOP_WORDS = {"a", "an", "the", "of", "in", "on", "at", "with", "and", "or", "to", "for", "my"}
NO_MODEL_HINT = "no search model yet: words are matched against file names and the text in photos"


def _has_model(library: Searchable, parsed: ParsedQuery) -> bool:
    """A model to search with: the query's words were asked before (their vectors are cached,
    no model needed) or the text tower loads."""
    texts = [p.text for p in parsed.parts]
    if texts and not parsed.concepts and library.text_vectors(texts, cached_only=True) is not None:
        return True
    return library.search_model(towers="text") is not None


def words_as_phrases(parsed: ParsedQuery) -> ParsedQuery:
    """The query as text matches, for a library without a model: each plain word (and concept name)
    must be in the file name or the photo's text; an excluded part must not be."""
    words = [w for p in parsed.positive_parts for w in p.text.split()]
    words += [concept_key(t.name) for t in parsed.concepts if not t.negative]
    excluded = [p.text for p in parsed.negative_parts] + [concept_key(t.name) for t in parsed.concepts if t.negative]
    kept = [w for w in words if len(w) > 1 and w.lower() not in _STOP_WORDS] or words
    return dataclasses.replace(
        parsed,
        parts=(),
        concepts=(),
        phrases=tuple(dict.fromkeys(parsed.phrases + tuple(kept))),
        excluded_phrases=parsed.excluded_phrases + tuple(excluded),
        hints=parsed.hints + (NO_MODEL_HINT,),
    )


# -- vectors and concepts ------------------------------------------------------------------------


def _max_by_id(results: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per id, the best score over several (ids, scores) rankings."""
    ids = np.concatenate([r[0] for r in results]) if results else np.empty(0, dtype=np.int64)
    scores = np.concatenate([r[1] for r in results]) if results else np.empty(0, dtype=np.float32)
    if not len(ids):
        return ids, scores
    order = np.lexsort((-scores, ids))
    ids, scores = ids[order], scores[order]
    first = np.r_[True, ids[1:] != ids[:-1]]
    return ids[first], scores[first]


def _resolve_concepts(library: Searchable, parsed: ParsedQuery, hints: list[str]):
    """(concepts found [(term, Concept)], parts standing in for unknown concepts)."""
    if not parsed.concepts:
        return [], []
    vocab = library.concepts.vocabulary()
    found, stand_ins = [], []
    for term in parsed.concepts:
        concept = vocab.find(term.name)
        if concept is None:
            words = concept_key(term.name)
            near = vocab.suggest(term.name)
            hints.append(
                f"no concept #{term.name}; searching for “{words}”"
                + (f" (did you mean #{near[0].replace(' ', '_')}?)" if near else "")
            )
            stand_ins.append(Part(words, term.weight, term.negative))
        else:
            found.append((term, concept))
    return found, stand_ins


_SAMPLE_SIZE = 4096
_samples: dict[tuple[int, str], tuple[int, int, np.ndarray]] = {}  # (catalog, model) -> (generation, count, vectors)


def library_sample(library: Searchable) -> np.ndarray | None:
    """Up to 4,096 image vectors of the library (all of a small one), re-drawn when it has
    changed by more than 5 %: what the spread of a query part's scores is measured on."""
    catalog, model_id = library.catalog, library.model_id
    key = (id(catalog), model_id)
    generation = catalog.generation()
    cached = _samples.get(key)
    if cached is not None and cached[0] == generation:
        return cached[2]
    count = catalog.embedding_count(model_id)
    if (
        cached is not None
        and len(cached[2])
        and abs(count - cached[1]) <= 0.05 * cached[1]
        and (len(cached[2]) >= _SAMPLE_SIZE or count == cached[1])
    ):
        _samples[key] = (generation, cached[1], cached[2])
        return cached[2]
    rows = catalog.db.execute(
        """
        SELECT embeddings.vector FROM files JOIN embeddings
        ON embeddings.fingerprint = files.fingerprint AND embeddings.model_id = ?
        WHERE files.status = 'ok' ORDER BY RANDOM() LIMIT ?
        """,
        (model_id, _SAMPLE_SIZE),
    ).fetchall()
    vectors = (
        np.frombuffer(b"".join(r[0] for r in rows), dtype=np.float16).reshape(len(rows), -1).astype(np.float32)
        if rows
        else np.empty((0, 0), dtype=np.float32)
    )
    _samples[key] = (generation, count, vectors)
    return vectors


def query_vector(
    library: Searchable, parts: list[Part], concepts: list, image_vector: np.ndarray | None, hints: list[str]
) -> np.ndarray:
    """One unit vector for the query's parts, concepts and image (see the module docstring).

    With more than one term, each unit vector is divided by the spread (standard deviation) of
    its cosine over the library: adding these vectors adds z-scored similarities, so a weight
    means the same influence on the ranking for every term. Without it an image, whose cosine to
    similar photos spreads far more than any text's, would drown the words that refine it."""
    terms: list[tuple[np.ndarray, float]] = []  # (unit vector, signed weight)
    if parts:
        vectors = library.text_vectors([p.text for p in parts])
        assert vectors is not None  # (only `cached_only` gives None)
        terms += [(v, (-NEGATIVE_WEIGHT if p.negative else 1.0) * p.weight) for p, v in zip(parts, vectors)]
    for term, concept in concepts:
        embedder = library.load_model(towers="text")
        centroid = normalise(library.concepts.concept_vectors(embedder, concept).mean(axis=0))
        terms.append((centroid, (-NEGATIVE_WEIGHT if term.negative else 1.0) * term.weight))
    if image_vector is not None:
        terms.append((normalise(image_vector), 1.0))
    if len(terms) > 1:
        sample = library_sample(library)
        if sample is not None and len(sample) >= 8 and sample.shape[1] == len(terms[0][0]):
            terms = [(v, w / max(float(np.std(sample @ v)), 1e-3)) for v, w in terms]
    dim = len(terms[0][0]) if terms else library.load_model(towers="text").dim
    total = sum((w * v for v, w in terms), np.zeros(dim, dtype=np.float32)) if terms else None
    if total is None or float(np.linalg.norm(total)) < 1e-6:
        hints.append("the exclusions cancel the rest of the query")
        positives = [v for v, w in terms if w > 0]
        return normalise(np.sum(positives, axis=0)) if positives else np.zeros(dim, np.float32)
    return normalise(total)


def concept_ranking(
    library: Searchable, concepts: list, among: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Photos by concept score: for one concept its z-score (the best-prompt cosine, standardised
    by the mean and spread of that concept's best-prompt cosine over the library); for several,
    the weighted mean of their z-scores, so that a photo must show all of them. `among`: only
    these photos (see VectorIndex.search)."""
    embedder = library.load_model(towers="text")
    index = library.concepts
    sample = library_sample(library)
    total_weight = sum(term.weight for term, _ in concepts)
    ids_all, score_all = None, None
    for term, concept in concepts:
        prompt_vectors = index.concept_vectors(embedder, concept)
        ids, raw = _max_by_id([library.index.search(v, None, among) for v in prompt_vectors])
        if sample is not None and len(sample) >= 8 and sample.shape[1] == prompt_vectors.shape[1]:
            reference = (sample @ prompt_vectors.T).max(axis=1)
        else:
            reference = raw
        z = (raw - float(np.mean(reference))) / max(float(np.std(reference)), 1e-3)
        order = np.argsort(ids)
        ids, contribution = ids[order], (term.weight / total_weight) * z[order]
        if ids_all is None:
            ids_all, score_all = ids, contribution
        else:  # photos ranked by every concept (all of them for an exact index)
            common, a, b = np.intersect1d(ids_all, ids, assume_unique=True, return_indices=True)
            ids_all, score_all = common, score_all[a] + contribution[b]
    score = score_all.astype(np.float32)
    order = np.argsort(-score, kind="stable")
    return ids_all[order], score[order]


# -- the whole search ----------------------------------------------------------------------------


def execute(
    library: Searchable,
    parsed: ParsedQuery,
    n: int | None = None,
    image_vector: np.ndarray | None = None,
    exclude: set[int] | None = None,
    min_score: float | None = None,
    good_only: bool = False,
    paths: bool = True,
    include_offline: bool = False,
) -> SearchResult:
    """`paths=False`: only `ids` (and `good_count`, `hints`) are filled in; what the window needs,
    without looking up a path for each of maybe a million results. Photos of offline folders
    are left out unless `include_offline` or the query says `is:offline`."""
    catalog = library.catalog
    if image_vector is None and parsed.has_semantic_terms and not _has_model(library, parsed):
        parsed = words_as_phrases(parsed)
    hints = list(parsed.hints)
    concepts, stand_ins = _resolve_concepts(library, parsed, hints)
    parts = list(parsed.parts) + stand_ins
    scope = _scope(catalog, parsed, exclude, include_offline, hints)
    ranked = _rank(library, parsed, parts, concepts, image_vector, scope, n, hints)
    if ranked is None:
        return SearchResult([], parsed=parsed, hints=hints or ["nothing to search for"], good_count=0)
    ids, scores, total = ranked
    ids, scores = _within(ids, scores, scope)
    cutoff = relevance_cutoff(scores)

    # plain words found in the photos' text: fused with the CLIP ranking
    words = " ".join(p.text for p in parts if not p.negative)
    ocr = ocr_ranking(catalog, words) if words else []
    if ocr:
        present = set(ids.tolist())
        ocr = [i for i in ocr if i in present]
    if not ocr and not parsed.phrases and min_score is None and not paths:
        return _ids_result(parsed, hints, ids, cutoff, total, n, good_only)
    order, good, text_hits, score_of = _fused_order(ids, scores, cutoff, ocr, bool(parsed.phrases))
    good_count = len(good & set(order))
    if min_score is not None:
        order = [i for i in order if score_of[i] >= min_score or i in text_hits]
        good_count = len([i for i in order if i in good])
    if good_only:
        order = order[:good_count]
    total = len(order) if total is None else total
    if n is not None:
        order = order[: max(0, n)]
    if not paths:
        return SearchResult(
            [],
            parsed=parsed,
            hints=hints,
            good_count=min(good_count, len(order)),
            total=total,
            cutoff=cutoff,
            ids=np.array(order, dtype=np.int64),
        )
    found = catalog.paths(order)
    hits = [Hit(i, found[i], float(score_of[i]), i in text_hits) for i in order if i in found]
    return SearchResult(
        hits, parsed=parsed, hints=hints, good_count=min(good_count, len(hits)), total=total, cutoff=cutoff
    )


@dataclass
class _Scope:
    """Which photos may appear at all."""

    allowed: np.ndarray | None  # sorted ids; None: every photo
    banned: set[int]  # excluded, and the photos holding excluded phrases
    phrase_order: list[int]  # the first phrase's matches, best first
    restricted: bool  # filters or phrases: else a query of filters only asks for nothing


def _scope(catalog, parsed: ParsedQuery, exclude: set[int] | None, include_offline: bool, hints: list[str]) -> _Scope:
    restricted = parsed.filters.active or bool(parsed.phrases)
    allowed = (
        filter_ids(catalog, parsed.filters, include_offline) if parsed.filters.active or has_offline(catalog) else None
    )
    phrase_order: list[int] = []
    for phrase in parsed.phrases:
        matches = phrase_matches(catalog, phrase)
        phrase_order = phrase_order or matches
        allowed = _sorted_ids(matches) if allowed is None else np.intersect1d(allowed, _sorted_ids(matches))
    banned = set(exclude or ())
    for phrase in parsed.excluded_phrases:
        banned.update(phrase_matches(catalog, phrase))
    if allowed is not None and banned:
        allowed = np.setdiff1d(allowed, np.fromiter(banned, dtype=np.int64, count=len(banned)), assume_unique=True)
    if parsed.phrases and not _has_ocr(catalog):
        hints.append("quoted words are matched against file names (text inside photos is not read yet)")
    return _Scope(allowed, banned, phrase_order, restricted)


def _rank(
    library: Searchable,
    parsed: ParsedQuery,
    parts: list[Part],
    concepts: list,
    image_vector: np.ndarray | None,
    scope: _Scope,
    n: int | None,
    hints: list[str],
) -> tuple[np.ndarray, np.ndarray, int | None] | None:
    """(ids, scores, total when known before ranking), best first; None: nothing to search for.
    The index ranks only the allowed photos (filtering its best few after would lose most)."""
    allowed, total = scope.allowed, None
    concept_only = bool(concepts) and not parts and image_vector is None and all(not t.negative for t, _ in concepts)
    if concept_only:
        ids, scores = concept_ranking(library, concepts, allowed)
    elif parts or concepts or image_vector is not None:
        q = query_vector(library, parts, concepts, image_vector, hints)
        ids, scores = library.index.search(q, None, allowed)
    else:  # only filters and phrases: the matches, best text match first, else newest first
        if not scope.restricted and not scope.banned:
            return None
        if scope.phrase_order:
            ids = np.array(list(dict.fromkeys(scope.phrase_order)), dtype=np.int64)
        else:  # ids only, and only the first n when that is all that was asked for
            ids = library.photo_ids(allowed, n if allowed is not None else None)
            total = len(allowed) if allowed is not None else None
        scores = np.ones(len(ids), dtype=np.float32)
    return np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32), total


def _within(ids: np.ndarray, scores: np.ndarray, scope: _Scope) -> tuple[np.ndarray, np.ndarray]:
    if scope.allowed is not None:
        keep = np.isin(ids, scope.allowed)
        return ids[keep], scores[keep]
    if scope.banned:
        keep = ~np.isin(ids, np.fromiter(scope.banned, dtype=np.int64, count=len(scope.banned)))
        return ids[keep], scores[keep]
    return ids, scores


def _ids_result(
    parsed: ParsedQuery,
    hints: list[str],
    ids: np.ndarray,
    cutoff: Cutoff,
    total: int | None,
    n: int | None,
    good_only: bool,
) -> SearchResult:
    """The usual case, kept in arrays: the CLIP order is the order, the good ones lead it (a Python
    list of 100k ids here held the interpreter long enough to stall the window)."""
    good_count = len(ids) if cutoff.count > len(ids) else cutoff.count
    order_ids = ids[:good_count] if good_only else ids
    total = len(order_ids) if total is None else total
    if n is not None:
        order_ids = order_ids[: max(0, n)]
    return SearchResult(
        [],
        parsed=parsed,
        hints=hints,
        good_count=min(good_count, len(order_ids)),
        total=total,
        cutoff=cutoff,
        ids=np.ascontiguousarray(order_ids, dtype=np.int64),
    )


def _fused_order(
    ids: np.ndarray, scores: np.ndarray, cutoff: Cutoff, ocr: list[int], phrases: bool
) -> tuple[list[int], set[int], set[int], dict[int, float]]:
    """(order with the good ones first, the good ones, the text matches, score by id): the CLIP
    ranking fused with the text matches."""
    good = set(ids[: cutoff.count].tolist())
    score_of = dict(zip(ids.tolist(), scores.tolist()))
    text_hits: set[int] = set()
    if ocr:
        text_hits = set(ocr)
        fused = _keeping_text_order([i for i, _ in rrf([ids.tolist(), ocr])], ocr)
    else:
        fused = ids.tolist()
    if phrases:
        text_hits |= set(fused)  # every result holds the quoted words
    good |= text_hits
    order = [i for i in fused if i in good] + [i for i in fused if i not in good]
    return order, good, text_hits, score_of


__all__ = [
    "SearchResult",
    "execute",
    "filter_ids",
    "offline_condition",
    "has_offline",
    "phrase_matches",
    "ocr_ranking",
    "query_vector",
    "concept_ranking",
    "NEGATIVE_WEIGHT",
]
