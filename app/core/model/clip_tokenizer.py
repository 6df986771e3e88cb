"""open_clip's SimpleTokenizer without torch: CLIP's byte-level BPE over the vocabulary and merges
that `export.py` wrote from open_clip's own tokenizer (tokenizer.json.gz in an export folder).

The cleaning, the pre-tokenising pattern and the merge loop are open_clip's (open_clip/tokenizer.py);
tests/core/test_onnx.py checks that the ids are open_clip's on many strings.
"""

from __future__ import annotations

import gzip
import html
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

TOKENIZER_FILE = "tokenizer.json.gz"
CLEANERS = ("lower", "whitespace")  # open_clip's clean modes this tokenizer reproduces


@lru_cache
def byte_to_unicode() -> dict[int, str]:
    """open_clip's `bytes_to_unicode`: each byte as a printable character the BPE works on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


def _basic_clean(text: str) -> str:
    import ftfy

    return html.unescape(html.unescape(ftfy.fix_text(text))).strip()


def _clean(text: str, mode: str) -> str:
    text = " ".join(_basic_clean(text).split()).strip()
    return text.lower() if mode == "lower" else text


class ClipTokenizer:
    """Texts -> int64 token ids [N, context_length], as open_clip's SimpleTokenizer gives them."""

    def __init__(self, vocab: Sequence[str], merges: Sequence[Sequence[str]], specials: Sequence[str], **options):
        import regex

        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {(a, b): i for i, (a, b) in enumerate(merges)}
        self.context_length = int(options["context_length"])
        self.clean = str(options.get("clean", "lower"))
        if self.clean not in CLEANERS:
            raise ValueError(f"tokenizer clean mode {self.clean!r} is not supported")
        self.sot_id, self.eot_id = self.encoder[specials[0]], self.encoder[specials[1]]
        self.cache: dict[str, str] = {t: t for t in specials}
        special = "|".join(regex.escape(t) for t in specials)
        self.pattern = regex.compile(
            special + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE
        )

    @classmethod
    def from_file(cls, path: Path) -> ClipTokenizer:
        data = json.loads(gzip.decompress(Path(path).read_bytes()))
        return cls(data["vocab"], data["merges"], data["specials"], **data["options"])

    def bpe(self, token: str) -> str:
        """The BPE pieces of one pre-token (space separated), merged by rank as open_clip does."""
        if token in self.cache:
            return self.cache[token]
        word = (*token[:-1], token[-1] + "</w>")
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if best not in self.ranks:
                break
            merged: list[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == best[0] and word[i + 1] == best[1]:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        pieces = " ".join(word)
        self.cache[token] = pieces
        return pieces

    def encode(self, text: str) -> list[int]:
        to_unicode = byte_to_unicode()
        ids: list[int] = []
        for token in self.pattern.findall(_clean(text, self.clean)):
            token = "".join(to_unicode[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[piece] for piece in self.bpe(token).split(" "))
        return ids

    def __call__(self, texts: str | Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        out = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.sot_id, *self.encode(text), self.eot_id]
            if len(ids) > self.context_length:  # truncated, still ending with the end token
                ids = ids[: self.context_length]
                ids[-1] = self.eot_id
            out[row, : len(ids)] = ids
        return out
