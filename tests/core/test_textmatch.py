"""The word matching behind the search of text found in photos."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.store import textmatch


def _osa(a: str, b: str) -> int:
    """Optimal string alignment distance, the slow obvious way."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_normalize_folds_case_accents_and_punctuation():
    assert textmatch.normalize("  CAFÉ  Crème-Brûlée!\nStraße 7 ") == "cafe creme brulee strasse 7"
    assert textmatch.words("km/h 100") == ["km", "h", "100"]
    assert textmatch.normalize("汽车之家 CLUB") == "汽车之家 club"
    assert textmatch.significant(["a", "dog", "on", "the", "beach", "dog"]) == ["dog", "beach"]
    assert textmatch.significant(["the", "at"]) == ["the", "at"]


small = st.text(alphabet="abcd", max_size=7)


@given(small, small)
@settings(max_examples=400, deadline=None)
def test_within_one_edit_is_osa_distance_at_most_one(a, b):
    assert textmatch.within_one_edit(a, b) == (_osa(a, b) <= 1)


@given(small, st.text(alphabet="abcd", max_size=12))
@settings(max_examples=300, deadline=None)
def test_substring_distance_is_the_best_substring(pattern, text):
    best = min(_osa(pattern, text[i:j]) for i in range(len(text) + 1) for j in range(i, len(text) + 1))
    assert textmatch.substring_distance(pattern, text, 1) == min(best, 2)


def test_vocabulary_lookups():
    vocab = textmatch.Vocabulary([(1, "welcome to lisbon"), (2, "lisboa bakery"), (3, "bakers street")])
    assert vocab.exact("lisbon") == {1}
    assert vocab.starting_with("lisb") == {1, 2}
    assert vocab.starting_with("bake") == {2, 3}
    assert vocab.near("lisbon") == ["lisboa"]
    assert vocab.near("bakary") == ["bakery"]
    assert vocab.near("bakre") == []  # two edits from both "bakers" and "bakery"
    assert vocab.near("bakres") == ["bakers"]  # one swap
    assert vocab.near("zzzz") == []


def test_a_phrase_is_its_words_in_order_spaces_optional():
    def score(phrase: str, text: str) -> float:
        return textmatch.phrase_score(textmatch.words(phrase), textmatch.normalize(text))

    assert score("BARBER SHOP", "Barber Shop open 9-5") == textmatch.EXACT
    assert score("barbershop", "BARBER SHOP") == score("barber shop", "BARBERSHOP") == textmatch.PREFIX
    assert score("tgk", "RE16TGK") == score("shop", "BOOKSHOP") == textmatch.INSIDE
    assert score("cafe", "CAFÉ") == textmatch.EXACT
    for text in ["BOOKSHOP", "THANKYOUFORSHOPPING", "SHOP BARBER", "BARBRE SHOP", ""]:
        assert score("barber shop", text) == 0.0, text
    assert score("shopping cart", "CARD PAYMENT VISA") == 0.0
    assert score("", "anything") == 0.0


def test_short_words_match_inside_only_as_a_run_of_letters_or_digits():
    assert textmatch.inside_as_group("tgk", "plate re16tgk")
    assert textmatch.inside_as_group("123", "ab123cd")
    assert not textmatch.inside_as_group("cat", "education centre")
    assert not textmatch.inside_as_group("e16", "re16tgk")  # "e" is part of the run "re"
