"""Where the good matches end, and how two rankings become one.

A fixed cosine cut-off does not work across queries: "dog" may score 0.30 on dogs and 0.20 on the
rest, "receipt" 0.25 and 0.18. `relevance_cutoff` looks at the sorted scores of *this* query and
finds where they drop away:

1. Two groups, if the curve has them. Otsu's method splits the sorted scores in the two groups
   with the largest between-group variance (one pass over cumulative sums). The split is taken
   when it explains most of the spread (between-group variance >= SEPARATION of the total): a
   clear step, whether the good group is 3 photos or 80 % of the library. A straight or gently
   curved decline explains at most 75 % (a uniform spread) and is not a step. The cut goes at the
   steepest drop within the step.
2. Otherwise, a few best matches above a gap: the largest gap between neighbouring scores in the
   better half, if it covers a good share of the way from the best score to the median and is
   much wider than the gaps around it (3 red circles at 0.95, then the rest from 0.47 down).
3. Otherwise, outliers above the background. Most photos do not match a query, so the median and
   the median absolute deviation describe the "background" scores; matches are the photos more
   than Z robust standard deviations above it.
4. Nothing stands out: no good matches (count 0). Equal scores (a filter-only query): all good.

`rrf` is reciprocal-rank fusion (Cormack et al. 2009): each ranking gives an item 1 / (k + rank),
and the sums order the fused list. It needs no common scale, so a CLIP ranking and a text-match
ranking combine fairly.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

SEPARATION = 0.8  # between-group share of the variance that makes a step
Z = 3.5  # robust standard deviations above the background for an outlier
GAP_SHARE = 0.4  # a gap this share of (best - median) separates a few best matches
GAP_RATIO = 4.0  # ... when it is also this many times the typical gap among the best half
RRF_K = 60


@dataclass(frozen=True)
class Cutoff:
    count: int  # the best `count` results are good matches
    threshold: float  # the lowest good score (inf when none is good)
    method: str  # "empty", "few", "flat", "step", "gap", "outliers" or "none"


def relevance_cutoff(scores: Sequence[float] | np.ndarray, separation: float = SEPARATION, z: float = Z) -> Cutoff:
    """How many of these scores (any order; the best count) are good matches for the query."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    s = s[np.isfinite(s)]
    n = len(s)
    if n == 0:
        return Cutoff(0, float("inf"), "empty")
    s = np.sort(s)[::-1]
    if n <= 2:  # too few to tell a drop from noise
        return Cutoff(n, float(s[-1]), "few")
    spread = s[0] - s[-1]
    if spread <= 1e-9 * max(1.0, abs(s[0])):
        return Cutoff(n, float(s[-1]), "flat")
    k, share = _otsu(s)
    if share >= separation:
        k = _steepest_edge(s, k)
        return Cutoff(k, float(s[k - 1]), "step")
    median = float(np.median(s))
    k = _top_gap(s, median)
    if k:
        return Cutoff(k, float(s[k - 1]), "gap")
    mad = float(np.median(np.abs(s - median))) * 1.4826
    if mad <= 1e-12:  # more than half the scores are equal: the rest is measured against them
        above = s[s > median]
        mad = float(np.std(above)) if len(above) > 1 else spread / 4
    threshold = median + z * mad
    count = int(np.count_nonzero(s >= threshold))
    if count == 0:
        return Cutoff(0, float("inf"), "none")
    return Cutoff(count, float(s[count - 1]), "outliers")


def _top_gap(s: np.ndarray, median: float) -> int:
    """Two or more best scores far above the rest: the largest gap between neighbours in the top half,
    when it is at least GAP_SHARE of the way from the best score down to the median and GAP_RATIO
    times the typical gap there. 0 when there is none."""
    half = max(2, len(s) // 2)
    gaps = s[:half] - s[1 : half + 1]
    typical = float(np.median(gaps))
    gaps[0] = 0.0  # one photo alone above a gap is an outlier: judged below, against the background
    k = int(np.argmax(gaps))
    if gaps[k] >= GAP_SHARE * (s[0] - median) and gaps[k] >= GAP_RATIO * max(typical, 1e-12):
        return k + 1
    return 0


def _steepest_edge(s: np.ndarray, k: int) -> int:
    """Where a step found by Otsu really drops: the largest gap between neighbours whose scores lie
    between the two groups' means. Otsu maximises variance, not the drop, so a lone score in the
    middle of the step (a blue circle at 0.36 under triangles >= 0.97, the rest <= 0.07) can land
    in the top group."""
    tolerance = 1e-9 * (s[0] - s[-1])  # a mean of equal scores may round below them
    top, low = float(s[:k].mean()) + tolerance, float(s[k:].mean()) - tolerance
    j = np.arange(1, len(s))  # a cut before s[j]
    inside = (s[j - 1] <= top) & (s[j] >= low)
    if not inside.any():
        return k
    gaps = np.where(inside, s[j - 1] - s[j], -np.inf)
    return int(j[np.argmax(gaps)])


def _otsu(s: np.ndarray) -> tuple[int, float]:
    """(size of the top group, share of the variance between the groups) for scores sorted
    best first."""
    n = len(s)
    c = s - s.mean()  # centred, for numerical stability
    total = float(np.dot(c, c))
    if total <= 0:
        return n, 0.0
    k = np.arange(1, n)  # top group = s[:k]
    top_sum = np.cumsum(c)[:-1]
    # between-group sum of squares with the overall mean at 0: S1^2/k + S2^2/(n-k), S2 = -S1
    between = top_sum**2 * (1.0 / k + 1.0 / (n - k))
    best = int(np.argmax(between))
    return best + 1, float(between[best] / total)


Item = TypeVar("Item", bound=Hashable)


def rrf(
    rankings: Iterable[Sequence[Item]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[tuple[Item, float]]:
    """Fuse rankings (each best first) into one: (item, fused score), best first. Items missing
    from a ranking get nothing from it; ties keep the order of the first ranking that has them."""
    scores: dict[Item, float] = {}
    first_seen: dict[Item, tuple[int, int]] = {}
    for r, ranking in enumerate(rankings):
        w = 1.0 if weights is None else float(weights[r])
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
            first_seen.setdefault(item, (r, rank))
    return sorted(scores.items(), key=lambda kv: (-kv[1], first_seen[kv[0]]))


__all__ = ["Cutoff", "relevance_cutoff", "rrf", "SEPARATION", "Z", "RRF_K"]
