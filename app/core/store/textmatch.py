"""Matching typed words against the text found inside photos: forgiving, but not noisy.

Pure Python (no SQLite, no OCR engine), used by `Catalog.ocr_search` and quoted phrases:

- `normalize` folds case and accents and keeps word characters, so "CAFÉ", "Café" and "cafe" are
  one word, and the stored search form of a photo's text is its words joined by single spaces;
- `Vocabulary` is an in-memory map word -> rows, with prefix lookup and a deletion index that
  finds every word within one edit (substitution, insertion, deletion, swap) of a typed word;
- `within_one_edit` and `substring_distance` check candidates exactly.

How a photo's text scores against one typed word (the best that applies):

    1.0  a word of the photo equals it          0.7  a word of the photo is one edit away
    0.9  a word of the photo starts with it     0.6  one edit away from part of a longer run
    0.8  it appears inside a word (OCR often         (OCR writes "ROADDEATH" for "ROAD DEATH")
         runs words together: "ROADDEATH")

A query scores the mean over its significant words (stop words only count when there is nothing
else), plus a small bonus when the words appear together in order. A photo is a match only when at
least half of the significant words are found in it, so "kids at the beach" does not pull in every
photo with "at" written on it. A word of three characters (`MIN_INSIDE`) matches inside a longer
one only as a whole run of letters or digits ("TGK" in the plate "RE16TGK", never "cat" in "education").

A quoted phrase is strict: its words together and in order, no typos, spaces optional (OCR drops
and adds them, so "barbershop" and "BARBER SHOP" are one phrase). `phrase_score` ranks the words as
written (1.0) above the same letters with other spaces (0.9) and above part of a word (0.8:
"TGK" in "RE16TGK", "shop" in "BOOKSHOP").
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import defaultdict
from itertools import accumulate

EXACT, PREFIX, INSIDE, FUZZY_WORD, FUZZY_INSIDE = 1.0, 0.9, 0.8, 0.7, 0.6
PHRASE_BONUS = 0.05
MIN_FUZZY = 4  # shorter words are matched exactly only: one edit of "cat" is "cot", "cut", "car"...
MIN_FUZZY_INSIDE = 6  # below this one edit can remove every trigram the FTS index could find it by
MIN_INSIDE = 3  # the trigram index finds nothing shorter inside a word

_WORD = re.compile(r"\w+")

STOP_WORDS = frozenset(
    """
a an the and or of in on at to for with from by is are was be as it its this that these those
into onto over under near my our your his her their no not
""".split()
)


def normalize(text: str) -> str:
    """Case- and accent-folded words joined by single spaces: the searchable form of a text."""
    if not text.isascii():  # ASCII has no accents: skipping this halves the time for most file names
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(_WORD.findall(text.casefold()))


def words(text: str) -> list[str]:
    """The normalized words of a text, in order."""
    return normalize(text).split()


def significant(query_words: list[str]) -> list[str]:
    """The words that must match: stop words only when the query has nothing else. Unique, in order."""
    unique = list(dict.fromkeys(query_words))
    kept = [w for w in unique if w not in STOP_WORDS]
    return kept or unique


def within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one substitution, insertion, deletion or swap of
    neighbouring characters (Damerau-Levenshtein distance <= 1)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # one substitution
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i:] == b[i + 1 :]  # b has one extra character


def substring_distance(pattern: str, text: str, limit: int = 1) -> int:
    """The fewest edits (substitution, insertion, deletion, swap of neighbours) that turn `pattern`
    into some substring of `text` (Sellers' algorithm with swaps), or limit + 1 when that is more
    than `limit`."""
    m = len(pattern)
    if m == 0:
        return 0
    before = None  # the column two characters back, for swaps
    previous = list(range(m + 1))  # column for the empty text prefix: pattern[:i] costs i
    best = previous[m]
    prev_ch = ""
    for ch in text:
        current = [0]  # a match may start anywhere in the text
        for i in range(1, m + 1):
            value = min(previous[i - 1] + (pattern[i - 1] != ch), previous[i] + 1, current[i - 1] + 1)
            if before is not None and i > 1 and pattern[i - 1] == prev_ch and pattern[i - 2] == ch:
                value = min(value, before[i - 2] + 1)
            current.append(value)
        best = min(best, current[m])
        if best == 0:
            return 0
        before, previous, prev_ch = previous, current, ch
    return best if best <= limit else limit + 1


def compact(text: str) -> str:
    """The searchable form of a text without its spaces: what a quoted phrase must be part of."""
    return normalize(text).replace(" ", "")


def phrase_score(phrase: list[str], text: str) -> float:
    """How a normalized `text` holds the normalized words of a quoted `phrase` (0.0: it does not):
    EXACT as written, PREFIX with other spaces but whole words, INSIDE as part of a word."""
    joined = "".join(phrase)
    if not joined:
        return 0.0
    if f" {' '.join(phrase)} " in f" {text} ":
        return EXACT
    run = text.replace(" ", "")
    breaks = set(accumulate((len(w) for w in text.split()), initial=0))  # word ends, without spaces
    best, start = 0.0, run.find(joined)
    while start >= 0:
        if start in breaks and start + len(joined) in breaks:
            return PREFIX
        best, start = INSIDE, run.find(joined, start + 1)
    return best


def inside_as_group(part: str, text: str) -> bool:
    """True when `part` appears in `text` as a whole run of letters or of digits, as "tgk" does in
    "re16tgk" (and "cat" does not in "education")."""

    def other(ch: str) -> str:  # a neighbour that would continue the run
        return r"\d" if ch.isdigit() else r"[^\W\d_]"

    pattern = f"(?<!{other(part[0])}){re.escape(part)}(?!{other(part[-1])})"
    return re.search(pattern, text) is not None


def trigrams(word: str) -> list[str]:
    return list(dict.fromkeys(word[i : i + 3] for i in range(len(word) - 2)))


class Vocabulary:
    """Every word of the photos' texts, with the rows (ocr_text ids) it occurs in."""

    def __init__(self, rows: list[tuple[int, str]]):
        """`rows`: (row id, normalized text)."""
        self.rows_of: dict[str, set[int]] = defaultdict(set)
        for row_id, text in rows:
            for word in text.split():
                self.rows_of[word].add(row_id)
        self.sorted = sorted(self.rows_of)
        self._deletions: dict[str, list[str]] | None = None

    def __len__(self) -> int:
        return len(self.rows_of)

    def exact(self, word: str) -> set[int]:
        return self.rows_of.get(word, set())

    def starting_with(self, prefix: str) -> set[int]:
        """Rows with a word that starts with `prefix` (and is longer than it)."""
        found: set[int] = set()
        start = bisect.bisect_right(self.sorted, prefix)
        for word in self.sorted[start:]:
            if not word.startswith(prefix):
                break
            found |= self.rows_of[word]
        return found

    def near(self, word: str) -> list[str]:
        """The words one edit away from `word` (not `word` itself), via a deletion index built on
        first use: two words are within one edit when deleting at most one character from each
        makes them equal."""
        if self._deletions is None:
            index: dict[str, list[str]] = defaultdict(list)
            # Nested 4 deep: building the deletion index once, each word's variants in one comprehension loop.
            for w in self.sorted:
                if len(w) >= MIN_FUZZY - 1:
                    for variant in {w} | {w[:i] + w[i + 1 :] for i in range(len(w))}:
                        index[variant].append(w)
            self._deletions = index
        candidates: set[str] = set()
        for variant in {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}:
            candidates.update(self._deletions.get(variant, ()))
        candidates.discard(word)
        return sorted(w for w in candidates if within_one_edit(word, w))


__all__ = [
    "normalize",
    "words",
    "significant",
    "within_one_edit",
    "substring_distance",
    "trigrams",
    "compact",
    "phrase_score",
    "inside_as_group",
    "Vocabulary",
    "STOP_WORDS",
    "EXACT",
    "PREFIX",
    "INSIDE",
    "FUZZY_WORD",
    "FUZZY_INSIDE",
]
