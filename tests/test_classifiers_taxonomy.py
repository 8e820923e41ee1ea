"""Trigger taxonomy: inflection-aware terms, requires_all groups, dates, and YAML edits taking effect."""

import datetime as dt
import os
import textwrap

import pytest
import structlog.testing
import yaml

from classifiers.data import seed_rows
from classifiers.taxonomy import load_taxonomy, parse_taxonomy, tag_triggers
from classifiers.trigger_learner import trigger_scores

TAX = load_taxonomy()


def test_packaged_ids():
    assert {"israel_azerbaijan_ties", "gaza_war", "nagorno_karabakh", "iran_israel_conflict",
            "holocaust_remembrance"} <= set(TAX.ids)


@pytest.mark.parametrize("text", [
    "Israel sold Harop drones to Azerbaijan",
    "Aliyev thanked the Israeli president for the drones",
    "Израильские беспилотники были проданы Азербайджану",
    "Поставки из Израиля в Баку выросли",
    "Алиевым подписан контракт с израильской компанией",
    "Իսրայելը դրոններ է վաճառել Ադրբեջանին",
    "Բաքվի և Իսրայելի համաձայնագիրը",
])
def test_israel_azerbaijan_ties_matches_inflected_forms(text):
    assert "israel_azerbaijan_ties" in tag_triggers(text, TAX)


@pytest.mark.parametrize("text", [
    "Israel sold drones to several countries",  # no Azerbaijan side
    "Azerbaijan bought drones from Turkey",  # no Israel side
    "Азербайджан закупил оружие",
    "Իսրայելը նոր դրոններ է գնել",
])
def test_requires_all_needs_both_sides(text):
    assert "israel_azerbaijan_ties" not in tag_triggers(text, TAX)


def test_word_boundaries_and_stems():
    assert tag_triggers("Войска вошли в Карабах", TAX) == ["nagorno_karabakh"]
    assert "nagorno_karabakh" in tag_triggers("в Нагорном Карабахе", TAX)
    assert "nagorno_karabakh" in tag_triggers("Արցախում", TAX)
    assert tag_triggers("цены газа растут", TAX) == []  # Russian gas is not Gaza
    on = dt.date(2024, 1, 10)
    for gaza in ("Израиль бомбит Газу", "удары по Газе", "гуманитарная помощь для Газы", "блокада Газы",
                 "обстрелы Газы продолжаются"):
        assert tag_triggers(gaza, TAX, on_date=on) == ["gaza_war"], gaza
    for gas in ("дать газу на трассе", "по газу и вперёд", "цены на газ", "поставки газа для Европы", "газы в трубе"):
        assert tag_triggers(gas, TAX, on_date=on) == [], gas
    assert tag_triggers("Holocausts of stamps", TAX) == ["holocaust_remembrance"]
    assert tag_triggers("xkarabakh", TAX) == []  # not a word start
    # Case endings: ЦАХАЛа, азеров, Գազայից / Գազային.
    assert tag_triggers("ЦАХАЛа удары по Ирану", TAX) == ["iran_israel_conflict"]
    assert tag_triggers("азеров поддержал Израиль", TAX) == ["israel_azerbaijan_ties"]
    assert tag_triggers("Գազայից փախստականներ", TAX, on_date=dt.date(2024, 1, 1)) == ["gaza_war"]
    assert tag_triggers("Գազային օգնություն", TAX, on_date=dt.date(2024, 1, 1)) == ["gaza_war"]


def test_gaza_war_active_from():
    text = "Strikes hit Rafah overnight"
    assert tag_triggers(text, TAX) == ["gaza_war"]
    assert tag_triggers(text, TAX, on_date=dt.date(2023, 10, 8)) == ["gaza_war"]
    assert tag_triggers(text, TAX, on_date=dt.date(2021, 5, 10)) == []


def test_obfuscated_text_is_normalised_before_matching():
    assert "holocaust_remembrance" in tag_triggers("the H0L0CAUST", TAX)


def test_editing_the_yaml_changes_tagging(tmp_path):
    path = tmp_path / "triggers.yaml"
    path.write_text(textwrap.dedent("""
        triggers:
          - id: football
            label: Football
            terms: {en: [football*], ru: [футбол*], hy: [ֆուտբոլ*]}
    """), encoding="utf-8")
    text = "Футболисты Армении и Израиля"
    assert tag_triggers(text, load_taxonomy(path)) == ["football"]
    path.write_text(path.read_text(encoding="utf-8").replace("футбол*", "хоккей*"), encoding="utf-8")
    assert tag_triggers(text, load_taxonomy(path)) == []


def test_the_digest_changes_with_what_tagging_reads_and_nothing_else():
    def digest(*triggers: dict) -> str:
        return parse_taxonomy({"triggers": list(triggers)}).digest

    football = {"id": "football", "label": "Football", "terms": {"en": ["football*", "soccer"]}}
    chess = {"id": "chess", "terms": {"ru": ["шахмат*"]}}
    base = digest(football, chess)
    assert len(base) == 16
    reworded = yaml.safe_load(textwrap.dedent("""
        # a comment, another layout, key order, term order, case and spacing: the same tagging
        version: 7
        triggers:
          - id: chess
            terms: {ru: [Шахмат*]}
          - terms:
              en: [SOCCER, "  football*"]
            description: Matches and transfers
            label: Association football
            id: football
    """))
    assert parse_taxonomy(reworded).digest == base
    changed = [
        digest({**football, "terms": {"en": ["football*"]}}, chess),  # a term gone
        digest({**football, "id": "soccer"}, chess),  # an id
        digest({**football, "active_from": dt.date(2024, 1, 1)}, chess),  # a date
        digest({**football, "requires_all": [{"terms": {"en": ["match*"]}}]}, chess),  # a group
        digest(football),  # a trigger gone
    ]
    assert len({base, *changed}) == len(changed) + 1


def test_a_yaml_key_read_as_a_boolean_keeps_the_last_taxonomy(tmp_path):
    path = tmp_path / "triggers.yaml"
    path.write_text("triggers:\n  - id: chess\n    terms: {ru: [шахмат*]}\n", encoding="utf-8")
    assert load_taxonomy(path).ids == ["chess"]
    path.write_text("triggers:\n  - id: chess\n    terms: {ru: [шахмат*], on: [x], fr: [y]}\n", encoding="utf-8")
    os.utime(path, ns=(0, 1))
    assert load_taxonomy(path).ids == ["chess"]  # refused (YAML reads `on` as True), the last one kept


@pytest.mark.parametrize("bad", [
    {"triggers": [{"id": "x"}]},
    {"triggers": [{"id": "x", "terms": {"fr": ["a"]}}]},
    {"triggers": [{"id": "x", "terms": ["a"]}, {"id": "x", "terms": ["b"]}]},
    {"triggers": [{"id": "x", "terms": ["a"], "active_from": "yesterday"}]},
    ["a list, not a mapping"],
    {"triggers": ["x"]},
    {"triggers": {"id": "x"}},
    {"triggers": [{"id": "x", "requires_all": ["a"]}]},
    {"triggers": [{"id": "x" * 65, "terms": ["a"]}]},  # longer than the rollups' trigger column
    {"triggers": [{"id": "Gaza War", "terms": ["a"]}]},
    {"triggers": [{"id": "x", "terms": {"en": 5}}]},  # not a list
    {"triggers": [{"id": "x", "terms": {"en": "drones"}}]},
    {"triggers": [{"id": ["x"], "terms": ["a"]}]},  # an unhashable id
])
def test_bad_taxonomy_is_refused(bad):
    with pytest.raises(ValueError):
        parse_taxonomy(bad)


def test_seed_trigger_labels_use_taxonomy_ids_and_the_terms_rarely_contradict_them():
    """Seed rows are labelled by meaning, so the terms may miss oblique mentions (the learned part's job);
    but a term hit the analyst did not label is a term that fires on the wrong posts."""
    ids = set(TAX.ids)
    labelled = [r for r in seed_rows() if "triggers" in r]
    assert labelled
    for row in labelled:
        assert set(row["triggers"]) <= ids, row["triggers"]
    scores = trigger_scores([r["triggers"] for r in labelled], [tag_triggers(r["text"], TAX) for r in labelled])
    assert scores["precision"] >= 0.9, scores


def test_tag_batch_agrees_with_each_text():
    from classifiers.normalize import normalize_batch, normalize_text
    from classifiers.taxonomy import tag_batch, tag_normalized

    texts = ["Israel sold Harop drones to Azerbaijan", "", "Strikes hit Rafah overnight", "цены газа растут",
             "Войска вошли в Карабах", "the H0L0CAUST", "Israel sold Harop drones to Azerbaijan", "Nagorno-Karabakh"]
    dates = [None, None, dt.date(2021, 5, 10), None, dt.date(2024, 1, 1), None, dt.date(2021, 5, 10), None]
    expected = [tag_normalized(normalize_text(t), TAX, d) for t, d in zip(texts, dates, strict=True)]
    assert tag_batch(normalize_batch(texts), TAX, dates) == expected
    assert tag_batch([normalize_text(t) for t in texts], TAX, dates) == expected
    assert expected[0] == ["israel_azerbaijan_ties"] and expected[2] == []
    assert tag_batch([], TAX) == []


def _tag_each(texts, taxonomy, dates):
    """The reference: every trigger's regexes run on every text (Trigger.matches), on the dates it is active."""
    return [[t.id for t in taxonomy.triggers if t.is_active(d) and t.matches(text)]
            for text, d in zip(texts, dates, strict=True)]


def test_tag_batch_by_hit_arrays_equals_every_regex_on_every_text():
    """tag_batch decides for all texts at once from (texts, groups) hit arrays, and the regexes run only where a
    phrase may match; every trigger's regexes on every text are the reference, with dates inside and outside
    active windows."""
    import random

    from classifiers.normalize import normalize_batch
    from classifiers.taxonomy import tag_batch

    rng = random.Random(5)
    words = [w for t in TAX.triggers for k in t.keys for w in (*k.exact, *k.phrase_words, *k.prefixes)]
    words += ["aviv", "fire", "on", "million", "october", "7", "strip", "секторе", "газа", "Tel Aviv", "set on fire",
              "the", "and", "drones", "oil", "Baku", "al-aqsa", "Yad Vashem", "telegram", "also", "settle", "-", "x"]
    texts = [" ".join(rng.choice(words) + rng.choice(["", "s", "ы", "ում"]) for _ in range(rng.randint(0, 12)))
             for _ in range(3000)]
    dates = [rng.choice([None, dt.date(2019, 1, 1), dt.date(2023, 10, 8), dt.date(2025, 1, 1)]) for _ in texts]
    batch = normalize_batch(texts)
    expected = _tag_each(batch, TAX, dates)
    assert sum(map(bool, expected)) > 500  # the texts do name triggers
    assert tag_batch(batch, TAX, dates) == expected
    assert tag_batch(list(batch), TAX) == _tag_each(batch, TAX, [None] * len(texts))
    # A dated trigger matched by a phrase (the regex path): tagged only on the dates it is active.
    on = [dt.date(2019, 1, 1), dt.date(2023, 10, 8)]
    assert tag_batch(normalize_batch(["remember october 7"] * 2), TAX, on) == [[], ["gaza_war"]]


def test_a_term_that_no_word_starts_is_checked_in_every_text():
    """A term starting with a non-word character ("#tag") has no key to look up, so its group's regex runs on
    every text; the other triggers are tagged as usual beside it."""
    from classifiers.normalize import normalize_batch
    from classifiers.taxonomy import tag_batch

    taxonomy = parse_taxonomy({"triggers": [{"id": "h", "terms": {"en": ["#freepalestine"]}},
                                            {"id": "t", "terms": {"en": ["tel aviv"]}}]})
    batch = normalize_batch(["we say #FreePalestine", "tel aviv #freepalestine", "nothing", "freepalestine"])
    assert tag_batch(batch, taxonomy) == [["h"], ["h", "t"], [], []]
    assert tag_batch(batch, taxonomy) == _tag_each(batch, taxonomy, [None] * len(batch))
    # Such a term in a later group, and a Trigger built by hand without keys (its regexes run on every text).
    import dataclasses
    import re

    from classifiers.taxonomy import Trigger

    taxonomy = parse_taxonomy({"triggers": [{"id": "d", "requires_all": [["drone*"], ["#deal"]]},
                                            {"id": "t", "terms": {"en": ["tel aviv"]}}]})
    by_hand = Trigger(id="k", label="k", description="", groups=(re.compile(r"\bbaku\b"),))
    taxonomy = dataclasses.replace(taxonomy, triggers=(*taxonomy.triggers, by_hand))
    batch = normalize_batch(["drones #deal in Baku", "#deal", "drones deal", "tel aviv", "baku #deal drone"])
    assert tag_batch(batch, taxonomy) == [["d", "k"], [], [], ["t"], ["d", "k"]]
    assert tag_batch(batch, taxonomy) == _tag_each(batch, taxonomy, [None] * len(batch))


def test_a_phrase_key_is_a_whole_token_unless_its_word_ends_in_a_star():
    """A phrase's regex starts with its first word followed by a space, a hyphen or the rest of that word, so only
    a token equal to the key can begin it; `key*` keeps matching any token starting with the key."""
    from classifiers.taxonomy import term_keys

    keys = term_keys(["tel aviv", "al-aqsa", "тель* авив", "#tag", "jews"])
    assert keys.phrase_words == frozenset({"tel", "al"}) and keys.phrase_keys == ("тель", "")
    assert keys.hit("tel") == 1 and keys.hit("telegram") == 1  # "" (#tag) makes every token worth checking
    keys = term_keys(["tel aviv", "al-aqsa"])
    assert (keys.hit("tel"), keys.hit("telegram"), keys.hit("al"), keys.hit("also")) == (1, 0, 1, 0)
    taxonomy = parse_taxonomy({"triggers": [{"id": "t", "terms": {"en": ["tel aviv", "al-aqsa", "set* fire"]}}]})
    expected = {"tel aviv": ["t"], "Tel-Aviv today": ["t"], "al-aqsa": ["t"], "setting fire": ["t"], "x tel aviv": ["t"],
                "telegram aviv": [], "also-aqsa": [], "tel": []}
    for text, tags in expected.items():
        assert tag_triggers(text, taxonomy) == tags, text
        assert taxonomy.triggers[0].matches(text.casefold()) == bool(tags), text  # the regexes agree


def test_an_edited_yaml_is_read_again_by_a_running_process(tmp_path):
    path = tmp_path / "triggers.yaml"
    path.write_text("triggers:\n  - id: football\n    terms: {en: [football]}\n", encoding="utf-8")
    first = load_taxonomy(path)
    assert load_taxonomy(path) is first  # compiled once while the file stays the same
    path.write_text("triggers:\n  - id: basketball\n    terms: {en: [basketball, hoops]}\n", encoding="utf-8")
    assert load_taxonomy(path).ids == ["basketball"]
    assert tag_triggers("hoops tonight", load_taxonomy(path)) == ["basketball"]


def test_a_broken_edit_keeps_the_last_taxonomy_that_compiled(tmp_path):
    """A typo or a half-saved file must not stop classification in running workers: tagging goes on as before."""
    path = tmp_path / "triggers.yaml"
    path.write_text("triggers:\n  - id: football\n    terms: {en: [football]}\n", encoding="utf-8")
    good = load_taxonomy(path)
    path.write_text("triggers:\n  - id: Foot Ball\n    terms: {fr: [x]}\n", encoding="utf-8")
    with structlog.testing.capture_logs() as logs:
        assert load_taxonomy(path) is good
        assert load_taxonomy(path) is good  # that version is refused once, not parsed on every batch
    assert [e["event"] for e in logs] == ["taxonomy_edit_refused"]
    path.unlink()  # gone for a moment, as some editors save
    assert load_taxonomy(path) is good
    never_good = tmp_path / "broken.yaml"  # a file never read whole has nothing to fall back on
    never_good.write_text("triggers: [x]\n", encoding="utf-8")
    with pytest.raises(ValueError):
        load_taxonomy(never_good)


def test_dated_tagging_equals_every_trigger_regex_on_every_text_on_its_date():
    import random

    from classifiers.normalize import normalize_batch
    from classifiers.taxonomy import only_active, tag_batch

    rng = random.Random(3)
    texts = normalize_batch([r["text"] for r in seed_rows()] + ["Gaza again", "ХАМАС и Газа", "covid lockdown"] * 5)
    dates = [rng.choice([None, dt.date(2019, 6, 1), dt.date(2021, 5, 10), dt.date(2024, 1, 1)]) for _ in texts]
    by_regex = [[t.id for t in TAX.triggers if t.matches(text) and t.is_active(on)] for text, on in zip(texts, dates)]
    assert tag_batch(texts, TAX, dates) == by_regex
    undated = tag_batch(texts, TAX)
    assert only_active(TAX, undated, dates) == by_regex != undated  # the dates did drop some triggers


def test_a_trigger_is_active_in_a_window_its_dates_overlap():
    war = next(t for t in TAX.triggers if t.id == "gaza_war")  # active from 2023-10-07, no end
    assert war.active_between(dt.date(2023, 10, 1), dt.date(2023, 10, 7))
    assert not war.active_between(dt.date(2023, 9, 1), dt.date(2023, 10, 6))
    import dataclasses

    short = dataclasses.replace(war, active_to=dt.date(2023, 10, 20))  # wholly inside a longer window
    assert short.active_between(dt.date(2023, 10, 1), dt.date(2023, 11, 30))
    assert not short.active_between(dt.date(2023, 10, 21), dt.date(2023, 11, 30))
