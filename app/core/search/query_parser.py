"""The search language, parsed once for the search bar and `photoseek search`.

    kids at the beach at sunset        free text: one CLIP text part
    beach -people                      exclusion: "people" is subtracted from the query vector
    dog - people on bikes              a standalone "-" excludes the whole segment after it
    2:dog + cat                        weights: parts separated by "+", "N:" weighs a part
    -(people on bikes)  2:(dog on grass)   parentheses group words for "-" and "N:"
    #dog #beach  -#night               concepts from the vocabulary (see concepts.py)
    folder:Holidays  folder:"My Trip"  photos under a folder whose name contains this
    after:2021-06  before:2022         dates (YYYY, YYYY-MM or YYYY-MM-DD): after: includes the
                                       period named, before: stops where it starts
    type:heic  type:jpg,png            file formats (extension or decoded format)
    orientation:portrait               portrait, landscape or square
    "quoted words"                     must appear in the file name or the text in the photo
    -folder:x  -type:png  -"draft"     any filter or quoted phrase can be negated
    is:offline                         only photos whose folder is not connected (left out otherwise)

Parsing never raises. Whatever cannot be understood is read the most useful way (usually as
plain words) and a short hint says what happened, e.g. "after: needs a date like 2021-06".
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
import unicodedata
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 2000
MAX_WEIGHT = 10.0

FILTER_KEYS = ("folder", "after", "before", "type", "orientation", "is")
_KEY_ALIASES = {
    "in": "folder",
    "dir": "folder",
    "since": "after",
    "until": "before",
    "format": "type",
    "ext": "type",
    "orient": "orientation",
}
ORIENTATIONS = ("portrait", "landscape", "square")
_ORIENTATION_ALIASES = {
    "portrait": "portrait",
    "vertical": "portrait",
    "tall": "portrait",
    "landscape": "landscape",
    "horizontal": "landscape",
    "wide": "landscape",
    "square": "square",
}
# type: aliases -> canonical name (the format PhotoSeek records, lower case)
TYPE_ALIASES = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "jpe": "jpeg",
    "jfif": "jpeg",
    "heic": "heif",
    "heif": "heif",
    "hif": "heif",
    "heics": "heif",
    "png": "png",
    "gif": "gif",
    "webp": "webp",
    "bmp": "bmp",
    "avif": "avif",
    "tif": "tiff",
    "tiff": "tiff",
}
# canonical type -> file extensions it covers
TYPE_EXTENSIONS = {
    "jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "heif": (".heic", ".heif", ".hif"),
    "png": (".png",),
    "gif": (".gif",),
    "webp": (".webp",),
    "bmp": (".bmp",),
    "avif": (".avif",),
    "tiff": (".tif", ".tiff"),
}

_QUOTES = {'"': '"', "“": "”", "”": "”", "„": "“", "«": "»", "»": "«", "＂": "＂"}
_WEIGHT = re.compile(r"^(\d{1,6}(?:\.\d{0,6})?|\.\d{1,6}):")
_FILTER = re.compile(r"^([A-Za-z]{2,12}):")
_DATE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?$")
_CONCEPT_TRIM = ".,;:!?'\"“”’)("


def concept_key(name: str) -> str:
    """The form concept names are compared in: `#Hot_Air-Balloon` == `hot air balloon`."""
    name = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(re.sub(r"[_\-\s]+", " ", name).split())


@dataclass(frozen=True)
class Part:
    """Words embedded together as one CLIP text vector."""

    text: str
    weight: float = 1.0  # always > 0; `negative` says whether it is added or subtracted
    negative: bool = False


@dataclass(frozen=True)
class ConceptTerm:
    name: str  # as typed, without '#'
    weight: float = 1.0
    negative: bool = False

    @property
    def key(self) -> str:
        return concept_key(self.name)


@dataclass(frozen=True)
class Filters:
    folders: tuple[str, ...] = ()  # any of these (substring of a folder name, case-insensitive)
    not_folders: tuple[str, ...] = ()
    after: _dt.date | None = None  # taken on or after this day
    before: _dt.date | None = None  # taken before this day
    types: tuple[str, ...] = ()  # canonical names (see TYPE_ALIASES) or bare extensions
    not_types: tuple[str, ...] = ()
    orientations: tuple[str, ...] = ()
    not_orientations: tuple[str, ...] = ()
    offline: bool | None = None  # is:offline True, is:online False; None: as the search is asked (online)

    @property
    def active(self) -> bool:
        return any(
            (
                self.folders,
                self.not_folders,
                self.after,
                self.before,
                self.types,
                self.not_types,
                self.orientations,
                self.not_orientations,
                self.offline is not None,
            )
        )


@dataclass(frozen=True)
class ParsedQuery:
    raw: str
    parts: tuple[Part, ...] = ()
    concepts: tuple[ConceptTerm, ...] = ()
    filters: Filters = field(default_factory=Filters)
    phrases: tuple[str, ...] = ()  # each must appear in the file name or the photo's text
    excluded_phrases: tuple[str, ...] = ()  # none may appear
    hints: tuple[str, ...] = ()

    @property
    def positive_parts(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if not p.negative)

    @property
    def negative_parts(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.negative)

    @property
    def words(self) -> str:
        """The plain positive words, for matching the text found in photos."""
        return " ".join(p.text for p in self.positive_parts)

    @property
    def has_semantic_terms(self) -> bool:
        """Anything that needs the CLIP model (text parts or concepts)."""
        return bool(self.parts or self.concepts)

    @property
    def is_empty(self) -> bool:
        return not (self.parts or self.concepts or self.filters.active or self.phrases or self.excluded_phrases)

    def canonical(self) -> str:
        """A query string that parses back to this query (hints aside)."""
        out: list[str] = []
        for p in self.parts:
            words = p.text if re.fullmatch(r"[^\W\d_][\w'’.,!?&]*", p.text) else f"({p.text})"
            weight = "" if p.weight == 1 else f"{_num(p.weight)}:"
            out.append(("-" if p.negative else "") + weight + words)
        for c in self.concepts:
            weight = "" if c.weight == 1 else f"{_num(c.weight)}:"
            out.append(("-" if c.negative else "") + weight + "#" + c.name)
        f = self.filters
        out += [f'folder:"{x}"' for x in f.folders] + [f'-folder:"{x}"' for x in f.not_folders]
        if f.after:
            out.append(f"after:{f.after.isoformat()}")
        if f.before:
            out.append(f"before:{f.before.isoformat()}")
        if f.types:
            out.append("type:" + ",".join(f.types))
        if f.not_types:
            out.append("-type:" + ",".join(f.not_types))
        if f.orientations:
            out.append("orientation:" + ",".join(f.orientations))
        if f.not_orientations:
            out.append("-orientation:" + ",".join(f.not_orientations))
        if f.offline is not None:
            out.append("is:offline" if f.offline else "is:online")
        out += [f'"{x}"' for x in self.phrases] + [f'-"{x}"' for x in self.excluded_phrases]
        return " + ".join(o for o in out)


def _num(x: float) -> str:
    return f"{x:g}"


# -- tokens ------------------------------------------------------------------------------------


# kinds: "word" (text), "quote" (text), "group" (text), "plus", "minus" (a standalone '-')
@dataclass
class _Tok:
    kind: str
    text: str
    prefix: str = ""  # what came glued before a quote/group: '-', '2:', 'folder:', '-2:' ...


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text))
    # control and format characters (NUL, zero-width, bidi marks) become spaces
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else ch for ch in text)


def _tokens(text: str, hints: list[str]) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch == "+":
            toks.append(_Tok("plus", "+"))
            i += 1
            continue
        # a run of characters up to whitespace, '+', a quote or a parenthesis
        j = i
        while j < n and not text[j].isspace() and text[j] not in _QUOTES and text[j] not in "()+":
            j += 1
        head = text[i:j]
        if j < n and (text[j] in _QUOTES or text[j] == "("):
            opener = text[j]
            k = j + 1
            if opener == "(":
                depth = 1
                # Nested 4 deep: the matching ')' is found inside the token loop, in one pass over the text.
                while k < n and depth:
                    depth += {"(": 1, ")": -1}.get(text[k], 0)
                    k += 1
                closed = depth == 0
                inner = text[j + 1 : k - 1] if closed else text[j + 1 :]
            else:  # any quote mark closes: “words" and "words” are both read as meant
                end = next((e for e in range(k, n) if text[e] in _QUOTES), -1)
                closed = end >= 0
                inner = text[k:end] if closed else text[k:]
                k = end + 1 if closed else n
            if not closed:
                hints.append("a quote is not closed" if opener != "(" else "a parenthesis is not closed")
            kind = "group" if opener == "(" else "quote"
            toks.append(_Tok(kind, " ".join(inner.split()), head))
            i = k
            continue
        if j < n and text[j] == ")":  # a stray closing parenthesis: drop it
            if head:
                toks.append(_Tok("word", head))
            i = j + 1
            continue
        if head and not head.strip("-"):  # "-" (or "--") on its own
            toks.append(_Tok("minus", "-"))
        elif head:
            toks.append(_Tok("word", head))
        i = j
    return toks


# -- parsing -----------------------------------------------------------------------------------


def _parse_date(value: str) -> _dt.date | None:
    m = _DATE.match(value.strip())
    if not m:
        return None
    year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


def _key(word: str) -> tuple[str | None, str]:
    """('folder', rest) for a known filter key (aliases included), (None, word) otherwise."""
    m = _FILTER.match(word)
    if not m:
        return None, word
    key = m.group(1).lower()
    key = _KEY_ALIASES.get(key, key)
    return (key, word[m.end() :]) if key in FILTER_KEYS else (None, word)


class _Builder:
    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.concepts: list[ConceptTerm] = []
        self.phrases: list[str] = []
        self.excluded_phrases: list[str] = []
        self.hints: list[str] = []
        self.f: dict[str, list] = {
            k: [] for k in ("folders", "not_folders", "types", "not_types", "orientations", "not_orientations")
        }
        self.after: _dt.date | None = None
        self.before: _dt.date | None = None
        self.offline: bool | None = None
        # the segment being read: its words, weight and sign
        self.words: list[str] = []
        self.weight = 1.0
        self.negative = False

    def hint(self, text: str) -> None:
        if text not in self.hints:
            self.hints.append(text)

    # segments
    def end_segment(self) -> None:
        if self.words:
            self.add_part(" ".join(self.words), self.weight, self.negative)
        self.words = []
        self.weight = 1.0
        self.negative = False

    def add_part(self, text: str, weight: float, negative: bool) -> None:
        text = " ".join(text.split())
        if text and weight > 0:
            self.parts.append(Part(text, weight, negative))

    def take_weight(self, text: str) -> float:
        value = float(text)
        if value <= 0:
            self.hint("a weight of 0 leaves that part out")
            return 0.0
        if value > MAX_WEIGHT:
            self.hint(f"weights above {MAX_WEIGHT:g} count as {MAX_WEIGHT:g}")
            return MAX_WEIGHT
        return value

    # filters
    def add_filter(self, key: str, value: str, negative: bool) -> None:
        value = value.strip()
        if key in ("after", "before"):
            if negative:  # not after X == before X, and the other way round
                key = "before" if key == "after" else "after"
            if not value:
                self.hint(f"{key}: needs a date like 2021-06")
                return
            day = _parse_date(value)
            if day is None:
                self.hint(f"{key}: needs a date like 2021-06 (YYYY, YYYY-MM or YYYY-MM-DD)")
                return
            if key == "after":
                self.after = day if self.after is None else max(self.after, day)
            else:
                self.before = day if self.before is None else min(self.before, day)
            return
        if key == "is":
            state = {"offline": True, "online": False}.get(value.lower())
            if state is None:
                self.hint("is: is offline or online")
                return
            self.offline = state != negative
            return
        if not value:
            example = {"folder": "folder:Holidays", "type": "type:heic", "orientation": "orientation:portrait"}[key]
            self.hint(f"{key}: needs a value, like {example}")
            return
        if key == "folder":
            self.f["not_folders" if negative else "folders"].append(value)
            return
        values = [v.strip().lower().lstrip(".") for v in value.split(",") if v.strip(" .")]
        if key == "type":
            # Nested 4 deep: each value of a type: filter is checked and hinted at on its own.
            for v in values:
                canonical = TYPE_ALIASES.get(v)
                if canonical is None:
                    if not re.fullmatch(r"[a-z0-9]{1,8}", v):
                        self.hint(f"type: {v} is not a file type (try jpg, heic, png)")
                        continue
                    canonical = v  # an extension PhotoSeek has no alias for, e.g. jxl
                self.f["not_types" if negative else "types"].append(canonical)
            return
        for v in values:  # orientation
            canonical = _ORIENTATION_ALIASES.get(v)
            if canonical is None:
                self.hint("orientation: is portrait, landscape or square")
                continue
            self.f["not_orientations" if negative else "orientations"].append(canonical)

    # atoms: one token, with what is glued to its front
    def atom(self, tok: _Tok) -> None:
        """Read one token. A '-' glued to the front negates that atom alone; 'N:' glued to the
        front starts a weighted segment (or weighs the negated atom)."""
        head = tok.text if tok.kind == "word" else tok.prefix
        negated = False
        weight: float | None = None
        for _ in range(2):  # '-' and 'N:' in either order
            if not negated and head.startswith("-") and (len(head) > 1 or tok.kind != "word"):
                negated, head = True, head.lstrip("-")
                continue
            m = _WEIGHT.match(head) if weight is None else None
            # "12:30" is a time, not a weight
            if m and not (tok.kind == "word" and head[m.end() : m.end() + 1].isdigit()):
                weight, head = self.take_weight(m.group(1)), head[m.end() :]
                continue
            break
        # a standalone "-" just before carries over to the segment a weight starts
        pending_negative = self.negative and not self.words
        if tok.kind == "word" and not head:
            # "2:" or "-2:" followed by a space: the weight applies to the segment after it
            self.end_segment()
            self.negative = negated or pending_negative
            self.weight = weight if weight is not None else 1.0
            return
        if weight is not None and not negated:
            self.end_segment()  # a weighted atom starts a new segment
            self.weight = weight
            self.negative = pending_negative
        if negated:
            w, neg, alone = (weight if weight is not None else 1.0), True, True
        else:
            w, neg, alone = self.weight, self.negative, False
        if tok.kind in ("quote", "group"):
            if head:
                key, rest = _key(head)
                if key is not None and not rest:  # folder:"My Trip", folder:(My Trip)
                    self.add_filter(key, tok.text, neg)
                    return
                self.term(head, w, neg, alone)  # words glued before a quote: keep them
            if tok.kind == "quote":
                self.phrase(tok.text, neg)
            else:
                self.term(tok.text, w, neg, alone, plain=True)
            return
        self.term(head, w, neg, alone)

    def term(self, text: str, weight: float, negative: bool, alone: bool, plain: bool = False) -> None:
        """A word (maybe a #concept or a filter) or, with `plain`, grouped words."""
        if not text:
            return
        if not plain and text.startswith("#"):
            name = text.lstrip("#").strip(_CONCEPT_TRIM)
            if not name:
                self.hint("# needs a concept name, like #dog")
                return
            self.concepts.append(ConceptTerm(name, weight, negative))
            return
        if not plain:
            key, rest = _key(text)
            if key is not None:
                self.add_filter(key, rest, negative)
                return
            m = re.match(r"^([A-Za-z]{2,12}):\S", text)
            if m and not text.lower().startswith(("http:", "https:", "file:")):
                close = difflib.get_close_matches(m.group(1).lower(), FILTER_KEYS, n=1, cutoff=0.7)
                if close:
                    self.hint(f"{m.group(1)}: is not a filter; did you mean {close[0]}:?")
        if alone:
            self.add_part(text, weight, negative)
        else:
            self.words.append(text)

    def phrase(self, text: str, negative: bool) -> None:
        if not text:
            self.hint("empty quotes match nothing; they are ignored")
            return
        (self.excluded_phrases if negative else self.phrases).append(text)

    def result(self, raw: str) -> ParsedQuery:
        self.end_segment()
        if self.after and self.before and self.after >= self.before:
            self.hint("after: is not earlier than before:, so no photo can match")
        parts = _merge(sorted(self.parts, key=lambda p: p.negative))  # positives first, in order
        concepts = _merge_concepts(self.concepts)
        if (
            parts
            and not any(not p.negative for p in parts)
            and not any(not c.negative for c in concepts)
            or not parts
            and concepts
            and all(c.negative for c in concepts)
        ):
            self.hint("only exclusions: showing the photos least like them")
        f = self.f
        filters = Filters(
            tuple(dict.fromkeys(f["folders"])),
            tuple(dict.fromkeys(f["not_folders"])),
            self.after,
            self.before,
            tuple(dict.fromkeys(f["types"])),
            tuple(dict.fromkeys(f["not_types"])),
            tuple(dict.fromkeys(f["orientations"])),
            tuple(dict.fromkeys(f["not_orientations"])),
            self.offline,
        )
        return ParsedQuery(
            raw,
            parts,
            concepts,
            filters,
            tuple(dict.fromkeys(self.phrases)),
            tuple(dict.fromkeys(self.excluded_phrases)),
            tuple(self.hints),
        )


def _merge(parts: list[Part]) -> tuple[Part, ...]:
    """The same words twice with the same sign count once, with the weights added."""
    out: dict[tuple[str, bool], float] = {}
    for p in parts:
        key = (p.text, p.negative)
        out[key] = min(MAX_WEIGHT, out.get(key, 0.0) + p.weight)
    return tuple(Part(text, w, neg) for (text, neg), w in out.items())


def _merge_concepts(concepts: list[ConceptTerm]) -> tuple[ConceptTerm, ...]:
    out: dict[tuple[str, bool], ConceptTerm] = {}
    for c in concepts:
        key = (c.key, c.negative)
        old = out.get(key)
        out[key] = c if old is None else ConceptTerm(old.name, min(MAX_WEIGHT, old.weight + c.weight), c.negative)
    return tuple(out.values())


def parse(text: str | None) -> ParsedQuery:
    """Parse a query; never raises (see the module docstring for the language)."""
    try:
        return _parse(text)
    except Exception as e:  # pragma: no cover - a bug must not break searching: fall back to words
        raw = "" if text is None else str(text)
        words = " ".join(_clean(raw).split())[:MAX_QUERY_CHARS]
        return ParsedQuery(
            raw,
            (Part(words),) if words else (),
            hints=(f"could not read the query ({type(e).__name__}); searching for the words",),
        )


def _parse(text: str | None) -> ParsedQuery:
    raw = "" if text is None else str(text)
    b = _Builder()
    cleaned = _clean(raw)
    if len(cleaned) > MAX_QUERY_CHARS:
        b.hint(f"the query is long; only its first {MAX_QUERY_CHARS} characters are used")
        cleaned = cleaned[:MAX_QUERY_CHARS]
    for tok in _tokens(cleaned, b.hints):
        if tok.kind == "plus":
            b.end_segment()
        elif tok.kind == "minus":
            b.end_segment()
            b.negative = True
        else:
            b.atom(tok)
    return b.result(raw)


__all__ = [
    "parse",
    "ParsedQuery",
    "Part",
    "ConceptTerm",
    "Filters",
    "concept_key",
    "FILTER_KEYS",
    "ORIENTATIONS",
    "TYPE_ALIASES",
    "TYPE_EXTENSIONS",
]
