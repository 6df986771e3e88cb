"""Text inside photos, for real: the offline OCR engine reads words rendered on pictures and on the
devdata photos, the catalog stores them (no-text results too), and ocr_search finds them with
partial words and typos."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from helpers import devdata
from pictures import write_signs

pytest.importorskip("rapidocr_onnxruntime")

from app.core.config import Settings  # noqa: E402
from app.core.ingest.indexer import Control  # noqa: E402
from app.core.library import Library  # noqa: E402
from app.core.store.catalog import Catalog, FileRecord  # noqa: E402

WORDS = ["Lisbon", "BAKERY", "Harbour", "PHARMACY", "Museum of Art"]


@pytest.fixture(scope="module")
def signs_library(tmp_path_factory, random_model):
    """A library of pictures with words on signs (and two without), indexed with OCR on."""
    root = tmp_path_factory.mktemp("ocr")
    paths = write_signs(root / "photos", WORDS)
    config, checkpoint = random_model
    settings = Settings(
        data_dir=root / "data", model=str(config), pretrained=str(checkpoint), decode_threads=2, batch_size=8, ocr=True
    )
    library = Library(settings)
    report = library.update([root / "photos"])
    yield library, paths, report
    library.close()


def _id(library, path: Path) -> int:
    return library.catalog.file_by_path(str(path)).id


def test_every_photo_is_read_once_and_no_text_is_remembered(signs_library):
    library, paths, report = signs_library
    assert report.ocr == len(paths) and not report.ocr_error
    for word, path in paths.items():
        text = library.ocr_text(_id(library, path))
        if word.strip():
            assert word.lower() in text.lower()
        else:
            assert text == ""  # read, and nothing there: stored so it is not read again
    assert library.catalog.ocr_pending(1) == []
    again = library.update()
    assert again.ocr == 0


@pytest.mark.parametrize("word", WORDS)
def test_a_word_in_a_picture_finds_it_first(signs_library, word):
    library, paths, _ = signs_library
    query = word.split()[0].lower()
    hits = library.catalog.ocr_search(query)
    assert hits and hits[0][0] == _id(library, paths[word])
    assert hits[0][1] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "query, word",
    [
        ("lisbn", "Lisbon"),  # a letter left out
        ("bakary", "BAKERY"),  # a letter wrong
        ("harbuor", "Harbour"),  # two letters swapped
        ("pharmacey", "PHARMACY"),  # a letter too many
        ("museun", "Museum of Art"),
    ],
)
def test_a_misspelt_word_still_finds_its_picture(signs_library, query, word):
    library, paths, _ = signs_library
    hits = library.catalog.ocr_search(query)
    assert hits and hits[0][0] == _id(library, paths[word])
    assert hits[0][1] < 1.0  # below what the right spelling scores


def test_partial_words_and_phrases(signs_library):
    library, paths, _ = signs_library
    assert library.catalog.ocr_search("pharm")[0][0] == _id(library, paths["PHARMACY"])
    assert library.catalog.ocr_search("museum art")[0][0] == _id(library, paths["Museum of Art"])
    assert [i for i, _ in library.catalog.ocr_search("museum of art", phrase=True)] == [
        _id(library, paths["Museum of Art"])
    ]
    assert library.catalog.ocr_search("art museum", phrase=True) == []  # not in that order
    assert library.catalog.ocr_search("zebra crossing") == []


def test_quoted_words_in_a_picture_are_strict_end_to_end(signs_library):
    library, paths, _ = signs_library
    museum = _id(library, paths["Museum of Art"])
    assert [h.id for h in library.search('"MUSEUMOFART"')] == [museum]  # spaces optional
    assert list(library.search('"musuem of art"')) == []  # a typo matches nothing
    assert [h.id for h in library.search('"museum" -"museum art"')] == [museum]  # only together, in order
    assert list(library.search('"museum" -"museum of art"')) == []


def test_reading_text_is_cancellable_and_resumes(tmp_path, make_settings, random_model):
    paths = write_signs(tmp_path / "photos", ["Alpha", "Bravo", "Charlie", "Delta"], size=(400, 300), blank=0)
    library = Library(make_settings(random_model, ocr=True))
    control = Control()

    def progress(p):
        if p.phase == "ocr" and p.done >= 2:
            control.cancel()

    report = library.update([tmp_path / "photos"], progress=progress, control=control)
    assert report.cancelled and 2 <= report.ocr < 4
    read = {p for p, _ in paths.items() if library.ocr_text(_id(library, paths[p])) is not None}
    again = library.update()
    assert again.ocr == 4 - len(read) and not again.cancelled
    assert library.catalog.ocr_search("charlie")[0][0] == _id(library, paths["Charlie"])
    library.close()


def test_ocr_can_be_turned_off(tmp_path, make_settings, random_model, monkeypatch):
    write_signs(tmp_path / "photos", ["Omega"], size=(400, 300), blank=0)
    library = Library(make_settings(random_model, ocr=False))
    report = library.update([tmp_path / "photos"])
    assert report.ocr == 0
    assert library.ocr_text(library.photos()[0].id) is None
    assert library.catalog.ocr_search("omega") == []
    library.close()
    monkeypatch.setenv("PHOTOSEEK_OCR", "off")
    assert Settings.from_env().ocr is False
    monkeypatch.setenv("PHOTOSEEK_OCR", "1")
    assert Settings.from_env().ocr is True


# Photos of ../shared/devdata with text in them (found by reading all 380; the words checked here
# are plainly visible): a police appeal sign, a film poster, a typewriter, a petrol pump...
DEVDATA_TEXT = {
    "text2img/flickr8k/images/2077346067_0a3a5aae65.jpg": ["witnesses", "police"],
    "text2img/flickr8k/images/1355945307_f9e01a9a05.jpg": ["bavaria"],
    "text2img/imagenet_samples/images/in_5038.jpg": ["commandments", "heston"],
    "text2img/imagenet_samples/images/in_5061.jpg": ["remington"],
    "text2img/imagenet_samples/images/in_5012.jpg": ["staedtler"],
    "text2img/imagenette/images/nette_50026.jpg": ["unleaded"],
    "text2img/imagenette/images/nette_50082.jpg": ["caution"],
}
TYPOS = {
    "witnesess": "2077346067_0a3a5aae65.jpg",
    "remingtom": "in_5061.jpg",
    "unleadde": "nette_50026.jpg",
    "commandements": "in_5038.jpg",
}


def test_words_in_the_devdata_photos_find_them(tmp_path, make_settings, random_model):
    root = devdata()
    photos = tmp_path / "photos"
    photos.mkdir()
    for rel in DEVDATA_TEXT:
        shutil.copy(root / rel, photos / Path(rel).name)
    for k, extra in enumerate(sorted((root / "text2img/flickr8k/images").glob("*.jpg"))[:6]):
        shutil.copy(extra, photos / f"other_{k}.jpg")  # distractors
    library = Library(make_settings(random_model, ocr=True))
    library.update([photos])
    name = {r.id: Path(r.path).name for r in library.photos()}
    for rel, words in DEVDATA_TEXT.items():
        for word in words:
            hits = library.catalog.ocr_search(word)
            assert hits and name[hits[0][0]] == Path(rel).name, (word, [(name[i], s) for i, s in hits])
    for typo, expected in TYPOS.items():
        hits = library.catalog.ocr_search(typo)
        assert hits and name[hits[0][0]] == expected, (typo, [(name[i], s) for i, s in hits])
    library.close()


# -- the catalog side: storage and search, without the engine ------------------------------------


@pytest.fixture
def texts(tmp_path):
    """A catalog whose photos' text is given (as the OCR pass would store it)."""
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    given = {
        "appeal": "WE ARE APPEALING FOR\nWITNESSES\nROADDEATH\nCALL 02076012222",
        "lisbon": "Welcome to Lisbon",
        "lisboa": "LISBOA",
        "cafe": "Café Central\nBakery 1923",
        "seven": "number 7",
        "beach": "SUNSET BEACH",
        "bench": "PARK BENCH",
        "blank": "",
        "education": "education centre",
        "strasse": "Hauptstraße",
    }
    with catalog.transaction() as db:
        catalog.put_files(db, [FileRecord(None, f"/p/{k}.jpg", f"fp-{k}", 1, 1.0) for k in given])
    catalog.put_ocr([(f"fp-{k}", t) for k, t in given.items()], "test", 1)
    ids = {Path(r.path).stem: r.id for r in catalog.files()}
    yield catalog, ids
    catalog.close()


def _names(catalog, ids, query, **kw):
    back = {v: k for k, v in ids.items()}
    return [back[i] for i, _ in catalog.ocr_search(query, **kw)]


def test_search_forgives_case_accents_run_together_words_and_typos(texts):
    catalog, ids = texts
    assert _names(catalog, ids, "CAFE") == ["cafe"]
    assert _names(catalog, ids, "café central") == ["cafe"]
    assert _names(catalog, ids, "strasse") == ["strasse"]  # ß folds to ss
    assert _names(catalog, ids, "death") == ["appeal"]  # inside "ROADDEATH"
    assert _names(catalog, ids, "road death") == ["appeal"]
    assert _names(catalog, ids, "witneses") == ["appeal"]
    assert _names(catalog, ids, "lisbon") == ["lisbon"]  # exact: LISBOA (one letter off) is not dragged in
    assert _names(catalog, ids, "lisbn") == ["lisbon"]
    assert set(_names(catalog, ids, "lisb")) == {"lisbon", "lisboa"}  # the start of words
    assert _names(catalog, ids, "7") == ["seven"]  # short queries: whole words
    assert _names(catalog, ids, "0207") == ["appeal"]  # the start of a number
    assert _names(catalog, ids, "cat") == []  # short words never match inside others ("education")


def test_scores_rank_exact_above_partial_above_typos(texts):
    catalog, ids = texts
    exact = dict(catalog.ocr_search("beach"))[ids["beach"]]
    prefix = dict(catalog.ocr_search("bea"))[ids["beach"]]
    typo = dict(catalog.ocr_search("beack"))  # found nowhere as typed: one letter off
    assert exact == pytest.approx(1.0) and prefix < exact
    assert ids["beach"] in typo and ids["bench"] not in typo  # "bench" is two edits from "beack"
    assert max(typo.values()) < prefix


def test_stop_words_and_half_the_words(texts):
    catalog, ids = texts
    assert _names(catalog, ids, "kids at the beach at sunset") == ["beach"]
    assert _names(catalog, ids, "the") == []
    assert _names(catalog, ids, "a dog on a park bench") == ["bench"]  # 2 of 3 words: park, bench


def test_phrases_must_appear_together(texts):
    catalog, ids = texts
    assert _names(catalog, ids, "sunset beach", phrase=True) == ["beach"]
    assert _names(catalog, ids, "road death", phrase=True) == ["appeal"]  # spaces optional: OCR drops them
    assert _names(catalog, ids, "beach sunset", phrase=True) == []
    assert _names(catalog, ids, "bakary", phrase=True) == []  # no typos in phrases


@pytest.fixture
def shop_signs(tmp_path):
    """A catalog whose photos' text is given: the signs of issue 23 (no "SHOPPING CART" among them)."""
    catalog = Catalog(tmp_path / "catalog.sqlite3")
    given = {
        "barber": "BARBER SHOP\nOPEN 9-5",
        "barbershop": "BARBERSHOP",
        "bookshop": "BOOKSHOP",
        "thanks": "THANKYOUFORSHOPPING",
        "card": "CARD PAYMENT VISA",
        "plate": "RE16TGK",
        "tgk": "TGK",
        "cafe": "Café de Flore",
        "shop": "SHOP",
    }
    with catalog.transaction() as db:
        catalog.put_files(db, [FileRecord(None, f"/p/{k}.jpg", f"fp-{k}", 1, 1.0) for k in given])
    catalog.put_ocr([(f"fp-{k}", t) for k, t in given.items()], "test", 1)
    yield catalog, {Path(r.path).stem: r.id for r in catalog.files()}
    catalog.close()


def test_a_quoted_phrase_is_its_words_in_order_spaces_optional(shop_signs):
    catalog, ids = shop_signs
    assert _names(catalog, ids, "BARBER SHOP", phrase=True) == ["barber", "barbershop"]  # as written first
    assert _names(catalog, ids, "barbershop", phrase=True) == ["barbershop", "barber"]
    assert _names(catalog, ids, "shopping cart", phrase=True) == []
    assert _names(catalog, ids, "barbre shop", phrase=True) == []  # no typos
    assert _names(catalog, ids, "shop barber", phrase=True) == []  # in order
    assert _names(catalog, ids, "CAFE", phrase=True) == _names(catalog, ids, "café DE flore", phrase=True) == ["cafe"]
    assert _names(catalog, ids, "tgk", phrase=True) == ["tgk", "plate"]  # inside a word, via the trigram index
    shop = _names(catalog, ids, "shop", phrase=True)
    assert shop[:2] == ["shop", "barber"] and set(shop) == {"shop", "barber", "barbershop", "bookshop", "thanks"}


def test_unquoted_words_stay_forgiving(shop_signs):
    catalog, ids = shop_signs
    assert set(_names(catalog, ids, "barber shop")) > {"barber", "bookshop", "thanks"}  # half the words do
    assert _names(catalog, ids, "shopping cart")[-1] == "card"  # "cart" is one letter from "card"
    assert _names(catalog, ids, "barbre shop")[0] == "barber"


def test_an_exact_text_hit_outranks_a_partial_one(shop_signs):
    catalog, ids = shop_signs
    tgk = dict(catalog.ocr_search("tgk"))  # three letters: inside a word only as a run of letters
    assert list(tgk) == [ids["tgk"], ids["plate"]] and tgk[ids["tgk"]] > tgk[ids["plate"]]
    shop = _names(catalog, ids, "shop")
    assert shop[:2] == ["shop", "barber"] and shop.index("barbershop") > 1 and shop.index("bookshop") > 1


def test_hostile_queries_never_raise(texts):
    catalog, _ = texts
    for query in [
        "",
        "   ",
        '"',
        "'",
        "*",
        "a*",
        "NEAR(a b)",
        "AND OR NOT",
        "^",
        "-",
        "--x",
        "(",
        ")",
        ":",
        "col:x",
        "\x00",
        "😀",
        'ab"cd',
        "x" * 500,
        "a b c d e f g h i j k l m n o p",
    ]:
        catalog.ocr_search(query)
        catalog.ocr_search(query, phrase=True)


def test_text_survives_vacuum_and_follows_the_files(texts):
    catalog, ids = texts
    catalog.db.execute("VACUUM")
    assert _names(catalog, ids, "witnesses") == ["appeal"]
    with catalog.transaction() as db:
        catalog.delete_files(db, [ids["appeal"]])
    assert catalog.ocr_search("witnesses") == []  # gone from search at once
    assert catalog.prune_derived() >= 1
    assert catalog.db.execute("SELECT COUNT(*) FROM ocr_text WHERE fingerprint = 'fp-appeal'").fetchone()[0] == 0
    assert catalog.ocr_text(ids["blank"]) == ""
    assert catalog.ocr_text(99999) is None


def test_writing_text_leaves_the_index_generation_alone(texts):
    catalog, _ = texts
    before = catalog.generation()
    catalog.put_ocr([("fp-beach", "SUNSET BEACH CLUB")], "test", 1)
    assert catalog.generation() == before  # the vector index and concept scores stay valid
    assert catalog.ocr_search("club")


def test_a_schema_3_catalog_keeps_its_text_and_finds_phrases_without_spaces(tmp_path):
    from app.core.store.catalog import MIGRATIONS

    path = tmp_path / "v3.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript("".join(MIGRATIONS[:3]) + "PRAGMA user_version = 3;")
    db.execute("INSERT INTO files (path, fingerprint, size, mtime, status) VALUES ('/p/a.jpg', 'fp-a', 1, 1.0, 'ok')")
    db.execute(
        "INSERT INTO ocr_text (fingerprint, text, norm, engine, version, read_at) "
        "VALUES ('fp-a', 'BARBER SHOP', 'barber shop', 'test', 1, 0)"
    )
    db.close()
    catalog = Catalog(path)
    assert catalog.ocr_text(1) == "BARBER SHOP"  # not read again
    assert [i for i, _ in catalog.ocr_search("barbershop", phrase=True)] == [1]
    catalog.put_ocr([("fp-a", "RE16 TGK")], "test", 1)  # the index follows changes
    assert catalog.ocr_search("barbershop", phrase=True) == []
    assert [i for i, _ in catalog.ocr_search("re16tgk", phrase=True)] == [1]
    catalog.close()


def test_an_early_schema_2_catalog_is_repaired(tmp_path):
    from app.core.store.catalog import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MIGRATIONS[0])
    # schema 2 as it stood before its release: ocr_text keyed by fingerprint, no image hashes
    db.executescript("""
        CREATE TABLE ocr_text (fingerprint TEXT PRIMARY KEY, text TEXT NOT NULL, engine TEXT NOT NULL);
        CREATE VIRTUAL TABLE ocr_fts USING fts5(text, content='ocr_text', content_rowid='rowid', tokenize='trigram');
        CREATE TABLE user_concepts (name TEXT PRIMARY KEY, phrases TEXT NOT NULL);
        CREATE TABLE saved_searches (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, query TEXT NOT NULL,
                                     created_at REAL NOT NULL);
        INSERT INTO saved_searches VALUES (1, 'kept', 'dog', 0);
        PRAGMA user_version = 2;
    """)
    db.close()
    catalog = Catalog(path)
    with catalog.transaction() as db:
        catalog.put_files(db, [FileRecord(None, "/p/a.jpg", "fp-a", 1, 1.0)])
    catalog.put_ocr([("fp-a", "OPEN DAILY")], "test", 1)
    assert catalog.ocr_search("daily")
    assert catalog.db.execute("SELECT name FROM saved_searches").fetchall() == [("kept",)]  # user data kept
    catalog.close()
