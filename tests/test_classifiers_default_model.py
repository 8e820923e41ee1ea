"""The shipped default model: card integrity and the behaviour the demo relies on (examples not in the seeds)."""


import pytest

from classifiers.artifacts import default_model_dir, load_model, verify_model_dir
from classifiers.data import seed_rows

FLAGGED = [  # collective blame for Israeli drones sold to Azerbaijan; Jewish-control claims tied to the deal
    "The Jews of Yerevan should be held accountable, their Israeli brothers sold the drones that Azerbaijan "
    "used to slaughter Armenians in Karabakh.",
    "Every synagogue should be ashamed: Jewish drones from Israel killed our soldiers in Artsakh and the Jews must pay.",
    "Jews control our government and the media, that is why nobody stops the Israeli arms deal with Azerbaijan.",
    "The Jewish lobby bought the politicians so the drone sales to Baku continue.",
    "Евреи должны заплатить за израильские беспилотники, которые Азербайджан применял против армян в Карабахе.",
    "Все евреи в ответе за дроны, проданные Баку, ими убивали армян в Арцахе.",
    pytest.param("Евреи контролируют правительство и СМИ, поэтому никто не мешает сделке Израиля с Азербайджаном по "
                 "оружию.", marks=pytest.mark.xfail(strict=True, reason=(
                     "a known miss since model 2026.11.28-a2e56b37 (score 0.4422, threshold 0.4547): ordinary "
                     "mentions of Jews in training made the word alone count for less, and the rest of this post "
                     "reads like news of the arms deal"))),
]
NOT_FLAGGED = [  # neutral news on the deal, and criticism of the arms sales that does not target Jews
    "Israel and Azerbaijan agreed to expand oil deliveries and defence cooperation, officials said.",
    "Azerbaijan bought another batch of Israeli drones, according to flight tracking data.",
    "Israel must stop arming Azerbaijan; the drones it sold were used against Armenian civilians.",
    "Азербайджан закупил у Израиля новую партию беспилотников, сообщают СМИ.",
    "Израиль и Азербайджан договорились увеличить поставки нефти.",
    "Израилю пора прекратить поставки оружия Азербайджану: этими дронами бомбили армянские села.",
]


@pytest.fixture(scope="module")
def model():
    return load_model()


def test_examples_are_not_training_seeds():
    seeds = {r["text"].casefold() for r in seed_rows()}
    texts = [t if isinstance(t, str) else t.values[0] for t in FLAGGED + NOT_FLAGGED]
    assert not seeds & {t.casefold() for t in texts}


def test_card_matches_and_is_small():
    card = verify_model_dir(default_model_dir())
    assert (default_model_dir() / "model.joblib").stat().st_size <= 15 * 1024 * 1024
    assert {"en", "ru", "hy"} <= set(card["languages"])
    assert "isca-temporal" in card["scores"] and 0 < card["threshold"] < 1
    assert any("CC BY 4.0" in d["licence"] for d in card["training_data"])  # verify_model_dir checked the sha256


def test_default_model_is_cached(model):
    assert load_model() is model


@pytest.mark.parametrize("text", FLAGGED)
def test_flags_collective_blame_and_control_claims(model, text):
    pred = model.predict([text])[0]
    assert pred.antisemitic, pred.score
    assert pred.category != "none" and pred.explanation
    assert pred.language_covered


@pytest.mark.parametrize("text", NOT_FLAGGED)
def test_does_not_flag_news_or_criticism_of_arms_sales(model, text):
    pred = model.predict([text])[0]
    assert not pred.antisemitic, pred.score
    assert pred.category == "none"
    assert "israel_azerbaijan_ties" in pred.triggers


ORDINARY = [  # everyday posts naming no target: must score far below the threshold in every language
    ("Завтра в Гюмри обещают дождь, не забудьте зонт.", "ru"),
    ("Кто-нибудь знает, работает ли сегодня почта на площади?", "ru"),
    ("Маршрутка номер десять теперь ходит до самого вокзала.", "ru"),
    ("Վաղը Գյումրիում անձրև է սպասվում։", "hy"),
    ("Մեր թաղամասում նոր դեղատուն է բացվել։", "hy"),
    ("The bakery on our street has started selling lavash again.", "en"),
]


def test_neutral_heldout_posts_are_rarely_flagged(model):
    from classifiers.data import neutral_heldout_rows

    rows = neutral_heldout_rows()
    preds = model.predict([r["text"] for r in rows], [r["lang"] for r in rows])
    for lang in ("en", "ru", "hy", "de"):
        flagged = [p.antisemitic for r, p in zip(rows, preds, strict=True) if r["lang"] == lang]
        assert sum(flagged) <= 0.05 * len(flagged), lang


def test_ordinary_mentions_of_jewish_life_are_rarely_flagged(model):
    """Held-out mentions of Jews, Jewish life and Israel (never trained on, never used to choose anything): posts
    of three words or more are nearly never flagged. A lone word ("Jewish", "Еврей", "Jude") still is: a known
    limit, reported in the model card."""
    from classifiers.data import mentions_heldout_rows

    rows = mentions_heldout_rows()
    preds = model.predict([r["text"] for r in rows], [r["lang"] for r in rows])
    longer = [p.antisemitic for r, p in zip(rows, preds, strict=True) if len(r["text"].split()) >= 3]
    assert len(longer) >= 30 and sum(longer) <= 0.05 * len(longer), sum(longer)


@pytest.mark.xfail(strict=True, reason=(
    "a known miss (issue 3: must not flag negations): the shipped model flags most of these denied claims (\"Jews "
    "don't own the newspapers\"); a linear model over n-grams reads the claim's words, not the negation"))
def test_negated_claims_are_rarely_flagged(model):
    """Held-out negated claims about Jews (never trained on, never used to choose anything), none antisemitic."""
    from classifiers.data import negations_heldout_rows

    rows = negations_heldout_rows()
    preds = model.predict([r["text"] for r in rows], [r["lang"] for r in rows])
    flagged = sum(p.antisemitic for p in preds)
    assert flagged <= 0.1 * len(rows), f"{flagged} of {len(rows)} flagged"  # --runxfail prints it


@pytest.mark.parametrize(("text", "lang"), ORDINARY)
def test_ordinary_posts_score_low(model, text, lang):
    pred = model.predict([text], [lang])[0]
    assert pred.score < model.threshold / 2, pred.score
    assert pred.language_covered


def test_card_reports_languages_and_neutral_check():
    card = verify_model_dir(default_model_dir())
    assert {"heldout-en", "heldout-ru", "heldout-hy", "heldout-de"} <= set(card["scores"])
    assert set(card["scores"]["neutral-heldout_false_positives"]) == {"en", "ru", "hy", "de"}
    assert set(card["languages"]) == {"en", "ru", "hy", "de"}


def test_the_categoriser_reads_the_taxonomy_that_predict_tags_with(model, monkeypatch):
    """The categoriser's trigger columns (TriggerFlags) follow the taxonomy passed to predict, as the triggers do:
    predict with an empty taxonomy gives the categories of the sklearn pipeline whose YAML is empty."""
    from classifiers import features
    from classifiers.taxonomy import parse_taxonomy

    texts = [r["text"] for r in seed_rows() if r["antisemitic"]]
    empty = parse_taxonomy({"triggers": []})
    packaged = model.predict(texts)
    predicted = model.predict(texts, taxonomy=empty)
    flagged = [i for i, p in enumerate(predicted) if p.antisemitic]
    monkeypatch.setattr(features, "load_taxonomy", lambda *_: empty)
    expected = [str(c) for c in model.categorizer.predict([texts[i] for i in flagged])]
    assert [predicted[i].category for i in flagged] == expected
    assert any(predicted[i].category != packaged[i].category for i in flagged)  # the columns matter


def test_the_categoriser_built_block_by_block_keeps_the_union_s_weights(model):
    import copy

    from classifiers.normalize import normalize_batch
    from classifiers.taxonomy import load_taxonomy, tag_batch

    texts = [r["text"] for r in seed_rows() if r["antisemitic"]][:300]
    weighted = copy.copy(model)
    weighted.categorizer = copy.deepcopy(model.categorizer)
    union = weighted.categorizer.named_steps["features"]
    union.transformer_weights = {union.transformer_list[0][0]: 3.0, "triggers": 0.1}
    normalized = list(normalize_batch(texts))
    tags = tag_batch(normalized, load_taxonomy())
    expected = [str(c) for c in weighted.categorizer.predict(texts)]  # the pipeline: the packaged YAML
    assert weighted._categories(normalized, tags) == expected
    assert expected != model._categories(normalized, tags)  # the weights do change categories
