"""The search language: every form, odd spacing, unicode, and hostile input that must never raise."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.search.query_parser import ConceptTerm, Part, concept_key, parse


def test_free_text_is_one_part():
    q = parse("kids at the beach at sunset")
    assert q.parts == (Part("kids at the beach at sunset"),)
    assert not q.concepts and not q.filters.active and not q.phrases and not q.hints
    assert q.words == "kids at the beach at sunset" and q.has_semantic_terms and not q.is_empty


def test_exclusions_glued_and_standalone():
    assert parse("beach -people").parts == (Part("beach"), Part("people", negative=True))
    q = parse("dog - people on bikes + sunset")
    assert q.parts == (Part("dog"), Part("sunset"), Part("people on bikes", negative=True))
    assert parse("-(people on bikes) beach").parts == (Part("beach"), Part("people on bikes", negative=True))
    assert parse("a red shape -circle").negative_parts == (Part("circle", negative=True),)
    assert parse("a red shape -circle").words == "a red shape"  # excluded words are not text to match


def test_weights():
    assert parse("2:dog + cat").parts == (Part("dog", 2.0), Part("cat"))
    assert parse("0.5:dog on grass + cat").parts == (Part("dog on grass", 0.5), Part("cat"))
    assert parse("2: dog + .5:cat").parts == (Part("dog", 2.0), Part("cat", 0.5))
    assert parse("2:(dog on grass) cat").parts == (Part("dog on grass cat", 2.0),)
    assert parse("beach -2:people").parts == (Part("beach"), Part("people", 2.0, True))
    assert parse("beach 2:-people").parts == (Part("beach"), Part("people", 2.0, True))
    assert parse("beach - 3: people").parts == (Part("beach"), Part("people", 3.0, True))
    assert parse("dog + dog").parts == (Part("dog", 2.0),)  # the same words count once, weights add


def test_weights_out_of_range_get_hints():
    q = parse("0:dog + cat")
    assert q.parts == (Part("cat"),) and "a weight of 0 leaves that part out" in q.hints
    q = parse("99:dog")
    assert q.parts == (Part("dog", 10.0),) and any("count as 10" in h for h in q.hints)


def test_times_and_urls_are_words_not_weights_or_filters():
    assert parse("12:30 meeting").parts == (Part("12:30 meeting"),)
    q = parse("https://example.com/x photo")
    assert q.parts == (Part("https://example.com/x photo"),) and not q.hints


def test_concepts_combine_with_the_rest():
    q = parse("#dog #Beach at night -#snow")
    assert q.concepts == (ConceptTerm("dog"), ConceptTerm("Beach"), ConceptTerm("snow", negative=True))
    assert q.parts == (Part("at night"),)
    assert [c.key for c in q.concepts] == ["dog", "beach", "snow"]
    assert parse("2:#dog").concepts == (ConceptTerm("dog", 2.0),)
    assert parse("#hot_air-balloon,").concepts[0].key == "hot air balloon"
    assert concept_key("  Hot_Air--Balloon ") == "hot air balloon"
    assert parse("##dog").concepts == (ConceptTerm("dog"),)


def test_a_bare_hash_gets_a_hint():
    q = parse("dog #")
    assert q.parts == (Part("dog"),) and q.hints == ("# needs a concept name, like #dog",)


def test_filters():
    q = parse('folder:"My Trip" after:2021-06 before:2022 type:heic,JPG orientation:portrait beach')
    f = q.filters
    assert f.folders == ("My Trip",) and f.after == dt.date(2021, 6, 1) and f.before == dt.date(2022, 1, 1)
    assert f.types == ("heif", "jpeg") and f.orientations == ("portrait",)
    assert q.parts == (Part("beach"),) and not q.hints
    assert parse("FOLDER:trips").filters.folders == ("trips",)
    assert parse("folder:(old stuff)").filters.folders == ("old stuff",)
    assert parse("after:2021-06-15").filters.after == dt.date(2021, 6, 15)
    assert parse("after:2021/6/5").filters.after == dt.date(2021, 6, 5)
    assert parse("orientation:landscape,square").filters.orientations == ("landscape", "square")
    assert parse("orientation:vertical").filters.orientations == ("portrait",)
    assert parse("type:.png").filters.types == ("png",)
    assert parse("type:jxl").filters.types == ("jxl",)  # an extension without an alias still works
    assert parse("in:trips since:2020 until:2021").filters == parse("folder:trips after:2020 before:2021").filters
    only = parse("type:heic")
    assert only.filters.active and not only.has_semantic_terms and not only.is_empty


def test_negated_filters():
    f = parse("-folder:drafts -type:png -orientation:portrait").filters
    assert f.not_folders == ("drafts",) and f.not_types == ("png",) and f.not_orientations == ("portrait",)
    assert parse("-after:2020").filters.before == dt.date(2020, 1, 1)  # not after = before
    assert parse("-before:2020").filters.after == dt.date(2020, 1, 1)


@pytest.mark.parametrize(
    "query, hint",
    [
        ("after:2021-13", "after: needs a date like 2021-06"),
        ("after:", "after: needs a date like 2021-06"),
        ("before:yesterday", "before: needs a date like 2021-06"),
        ("orientation:diagonal", "orientation: is portrait, landscape or square"),
        ("folder:", "folder: needs a value"),
        ("type:!!", "type: !! is not a file type"),
        ("fodler:trips", "fodler: is not a filter; did you mean folder:?"),
        ('"unclosed words', "a quote is not closed"),
        ("(unclosed group", "a parenthesis is not closed"),
        ("after:2022 before:2021", "after: is not earlier than before:"),
        ("-people", "only exclusions"),
        ('""', "empty quotes"),
    ],
)
def test_malformed_queries_get_the_best_reading_and_a_hint(query, hint):
    q = parse(query)
    assert any(h.startswith(hint) for h in q.hints), q.hints


def test_best_reading_of_malformed_queries():
    assert parse("after:2021-13 dog").parts == (Part("dog"),)
    assert parse('"unclosed words').phrases == ("unclosed words",)
    assert parse("(unclosed group").parts == (Part("unclosed group"),)
    assert parse("fodler:trips").parts == (Part("fodler:trips"),)
    assert parse("dog) cat").parts == (Part("dog cat"),)


def test_quoted_phrases():
    q = parse('"birthday cake" party -"draft"')
    assert q.phrases == ("birthday cake",) and q.excluded_phrases == ("draft",)
    assert q.parts == (Part("party"),)
    assert parse("“curly quotes” and «guillemets»").phrases == ("curly quotes", "guillemets")
    assert parse('"mixed quotes”').phrases == ("mixed quotes",)
    assert parse('"  spaced   out  "').phrases == ("spaced out",)


def test_odd_spacing():
    assert parse("   dog    on\tthe \n beach  ").parts == (Part("dog on the beach"),)
    assert parse("2:dog+cat").parts == (Part("dog", 2.0), Part("cat"))
    assert parse("dog   -   cat").parts == (Part("dog"), Part("cat", negative=True))
    assert parse("  +  + dog +").parts == (Part("dog"),)
    assert parse("dog --cat").parts == (Part("dog"), Part("cat", negative=True))
    assert parse("dog \u00a0 cat\u2003bird").parts == (Part("dog cat bird"),)  # unicode spaces


def test_unicode():
    q = parse("chien à la plage -gens #chat café")
    assert q.parts == (Part("chien à la plage café"), Part("gens", negative=True))
    assert q.concepts == (ConceptTerm("chat"),)
    assert parse("ＣＡＴ ＃dog").concepts == (ConceptTerm("dog"),)  # full-width forms (NFKC)
    assert parse("猫 在 海滩").parts == (Part("猫 在 海滩"),)
    assert parse("folder:Été").filters.folders == ("Été",)
    assert parse("dog\x00cat\u200b").parts == (Part("dog cat"),)  # control and zero-width chars
    assert parse("🐶 on the 🏖️").parts[0].text.startswith("🐶")


def test_empty_and_none():
    for q in (parse(""), parse("   "), parse(None), parse("+ - +")):
        assert q.is_empty and q.hints == ()


def test_very_long_queries_are_cut_with_a_hint():
    q = parse("dog " * 1000)
    assert any("long" in h for h in q.hints) and q.parts


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_any_string_parses(text):
    q = parse(text)
    assert isinstance(q.hints, tuple)
    for p in q.parts:
        assert p.text and p.text == " ".join(p.text.split()) and 0 < p.weight <= 10
    for c in q.concepts:
        assert c.name and 0 < c.weight <= 10


_ALPHABET = st.sampled_from(
    list('abc xyz-+:#"()“”«»\\/.,0123456789 \t\n')
    + [
        "folder:",
        "after:",
        "before:",
        "type:",
        "orientation:",
        "portrait",
        "2021-06",
        "2:",
        "-",
        " - ",
        "#",
        "é",
        "\x00",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join))
def test_syntax_soup_parses(text):
    """Strings made of the language's own punctuation and keywords: the hardest ones to read."""
    q = parse(text)
    parse(q.canonical())


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzé", min_size=1, max_size=8)


@st.composite
def _queries(draw):
    words = draw(st.lists(_WORD, min_size=0, max_size=4))
    pieces = []
    for w in words:
        sign = draw(st.sampled_from(["", "-"]))
        weight = draw(st.sampled_from(["", "2:", "0.5:"]))
        pieces.append(f"{sign}{weight}{w}")
    pieces += [f"#{w}" for w in draw(st.lists(_WORD, max_size=2))]
    pieces += [f'"{w} {w}"' for w in draw(st.lists(_WORD, max_size=2))]
    if draw(st.booleans()):
        pieces.append(f"after:{draw(st.integers(1990, 2030))}-{draw(st.integers(1, 12)):02d}")
    if draw(st.booleans()):
        pieces.append("orientation:" + draw(st.sampled_from(["portrait", "landscape", "square"])))
    if draw(st.booleans()):
        pieces.append(f'folder:"{draw(_WORD)}"')
    return " + ".join(draw(st.permutations(pieces)))


@settings(max_examples=300, deadline=None)
@given(_queries())
def test_canonical_form_parses_back_to_the_same_query(text):
    q = parse(text)
    again = parse(q.canonical())
    assert (again.parts, again.concepts, again.filters, again.phrases, again.excluded_phrases) == (
        q.parts,
        q.concepts,
        q.filters,
        q.phrases,
        q.excluded_phrases,
    )
