"""Where the good matches end (synthetic score curves), and reciprocal-rank fusion."""

import numpy as np
import pytest

from app.core.search.relevance import relevance_cutoff, rrf

rng = np.random.default_rng(7)


def test_a_clear_step_is_found_whatever_the_size_of_the_good_group():
    for good in (1, 3, 12, 80):
        scores = np.r_[0.31 + rng.normal(0, 0.005, good), 0.19 + rng.normal(0, 0.02, 400)]
        rng.shuffle(scores)  # any order in, the best `count` are the good ones
        cut = relevance_cutoff(scores)
        assert cut.count == good, (good, cut)
        assert abs(cut.threshold - np.sort(scores)[::-1][good - 1]) < 1e-9


def test_a_majority_of_matches_is_still_a_step():
    scores = np.r_[0.30 + rng.normal(0, 0.01, 80), 0.15 + rng.normal(0, 0.01, 20)]
    cut = relevance_cutoff(scores)
    assert cut.count == 80 and cut.method == "step"


def test_a_long_tail_above_a_noisy_background_counts_as_matches():
    """CLIP-like: 200 dogs in 10,000 photos, the distributions overlapping a little."""
    scores = np.r_[rng.normal(0.29, 0.015, 200), rng.normal(0.20, 0.02, 9800)]
    cut = relevance_cutoff(scores)
    top = np.argsort(-scores)[: cut.count]
    assert 100 <= cut.count <= 260
    assert np.mean(top < 200) > 0.9  # nearly all of them dogs


def test_no_drop_means_no_good_matches():
    assert relevance_cutoff(np.linspace(0.3, 0.1, 200)).count == 0
    assert relevance_cutoff(rng.normal(0.2, 0.02, 5000)).count <= 3  # only chance outliers


def test_a_single_outlier():
    cut = relevance_cutoff(np.r_[0.9, rng.normal(0.2, 0.05, 99)])
    assert cut.count == 1 and cut.threshold == 0.9


def test_steps_ignore_scale_and_offset():
    base = np.r_[[0.8] * 5, [0.2] * 50] + rng.normal(0, 0.01, 55)
    for a, b in [(1, 0), (0.01, 0.3), (100, -40), (-1, 0)]:
        scores = a * base + b if a > 0 else base  # a monotone rescaling keeps the answer
        assert relevance_cutoff(scores).count == 5


@pytest.mark.parametrize(
    "scores, count, method",
    [
        ([], 0, "empty"),
        ([0.4], 1, "few"),
        ([0.5, 0.1], 2, "few"),
        ([0.7] * 30, 30, "flat"),  # a filter-only query: every result is as good as the next
        ([1.0] * 10 + [0.0] * 10, 10, "step"),
        ([np.nan, 0.9, 0.9, 0.1, 0.1, 0.1, -np.inf], 2, "step"),  # not-a-number scores are ignored
    ],
)
def test_edge_cases(scores, count, method):
    cut = relevance_cutoff(scores)
    assert (cut.count, cut.method) == (count, method)


def test_rrf_rewards_items_high_in_both_rankings():
    clip = ["a", "b", "c", "d", "e"]
    text = ["d", "a"]
    fused = [item for item, _ in rrf([clip, text])]
    assert fused[:2] == ["a", "d"]  # in both: first
    assert fused[2:] == ["b", "c", "e"]  # the rest keep their CLIP order


def test_rrf_scores_and_weights():
    fused = dict(rrf([["x", "y"], ["y"]], k=60))
    assert fused["x"] == pytest.approx(1 / 61)
    assert fused["y"] == pytest.approx(1 / 62 + 1 / 61)
    weighted = [i for i, _ in rrf([["x", "y"], ["y", "x"]], weights=[3, 1])]
    assert weighted == ["x", "y"]
    assert rrf([]) == [] and rrf([[], []]) == []


def test_rrf_lifts_a_text_match_from_deep_in_the_clip_ranking():
    clip = list(range(1000))
    fused = [i for i, _ in rrf([clip, [700]])]
    assert fused[0] == 700 or fused.index(700) < 3


def test_a_few_best_above_a_wide_gap():
    """The trained tiny model on "a red circle": 3 red circles, then a long spread of the rest."""
    scores = [
        0.97,
        0.95,
        0.95,
        0.47,
        0.37,
        0.37,
        0.31,
        0.27,
        0.24,
        0.21,
        0.17,
        0.16,
        0.15,
        0.14,
        0.13,
        0.12,
        0.12,
        0.08,
        -0.16,
        -0.2,
        -0.21,
        -0.21,
        -0.25,
        -0.25,
        -0.26,
        -0.28,
        -0.33,
        -0.33,
        -0.36,
        -0.36,
        -0.4,
        -0.43,
        -0.52,
        -0.52,
        -0.54,
        -0.66,
    ]
    cut = relevance_cutoff(scores)
    assert (cut.count, cut.method) == (3, "gap")


def test_chance_gaps_in_small_noisy_samples_are_rarely_taken():
    false = sum(relevance_cutoff(np.random.default_rng(seed).normal(0, 1, 36)).count > 0 for seed in range(200))
    assert false <= 16  # at most 8 % of pure-noise queries get a divider (mostly chance outliers)


def test_a_step_is_cut_at_its_steepest_drop():
    """A lone score inside the drop stays below the cut, where Otsu's variance split alone put it
    above. These are the tiny trained model's #triangle scores: twelve triangles >= 0.96, one blue
    circle at 0.36, then the rest from 0.07 down."""
    scores = [
        1.615,
        1.5445,
        1.5324,
        1.5126,
        1.4789,
        1.4149,
        1.213,
        1.1232,
        1.0708,
        0.9881,
        0.9651,
        0.9646,
        0.3582,
        0.0736,
        0.0651,
        0.0527,
        -0.15,
        -0.2705,
        -0.4228,
        -0.4682,
        -0.5132,
        -0.5436,
        -0.6402,
        -0.6901,
        -0.6946,
        -0.7019,
        -0.7494,
        -0.7892,
        -0.8198,
        -0.8768,
        -1.1536,
        -1.1702,
        -1.2453,
        -1.3094,
        -1.3648,
        -1.3986,
    ]
    cut = relevance_cutoff(scores)
    assert (cut.count, cut.method) == (12, "step")
