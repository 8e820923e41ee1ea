"""The generated background corpus and the no-target feature that keep ordinary ru/hy/en text from scoring high."""

import collections

from classifiers.background import background_rows, background_sentences
from classifiers.data import neutral_heldout_rows, seed_rows
from classifiers.features import TargetMention
from classifiers.normalize import normalize_text
from monitor.demo import texts as demo


def test_background_is_deterministic_distinct_and_neutral():
    assert background_sentences("ru", 50) == background_sentences("ru", 50)
    rows = background_rows({"ru": 300, "hy": 200, "en": 100})
    assert collections.Counter(r["lang"] for r in rows) == {"ru": 300, "hy": 200, "en": 100}
    assert len({r["text"] for r in rows}) == len(rows)
    assert all(not r["antisemitic"] and r["category"] == "none" and r["split"] == "train" for r in rows)
    assert not any("{" in r["text"] for r in rows)


def _demo_sentences() -> set[str]:
    out = set()
    for name in dir(demo):
        pool = getattr(demo, name)
        if name.isupper() and isinstance(pool, list) and pool and isinstance(pool[0], str):
            ru = name.endswith("_RU")
            cities = [c for cs in (demo.CITIES_RU if ru else demo.CITIES_EN).values() for c in cs]
            places = demo.PLACES_RU if ru else demo.PLACES_EN
            out |= {t.format(city=c, place=p).casefold() for t in pool for c in cities for p in places}
    return out


def test_demo_sentences_are_not_training_or_check_text():
    ours = {r["text"].casefold() for r in background_rows() + seed_rows() + neutral_heldout_rows()}
    assert not ours & _demo_sentences()


def test_neutral_heldout_rows_are_never_trained_on():
    rows = neutral_heldout_rows()
    assert {r["lang"] for r in rows} == {"ru", "hy", "en", "de"}
    assert all(r["split"] == "heldout" and not r["antisemitic"] for r in rows)
    assert not {r["text"] for r in rows} & {r["text"] for r in background_rows() + seed_rows()}


def test_target_mention_flags_posts_naming_no_target():
    texts = ["(((They))) run the banks", "Евреям не место здесь", "Հրեաները", "j3ws again", "Traffic in Gyumri",
             "Погода в Ереване", "Israeli drones", "Սևանում ձյուն է"]
    flags = TargetMention().transform([normalize_text(t) for t in texts]).toarray().ravel().tolist()
    assert flags == [0, 0, 0, 0, 1, 1, 0, 1]
