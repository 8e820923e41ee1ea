"""Posts/s and peak RSS of Model.predict (or `vigil classify`'s loop) on 100,000 ~200-character posts, one core.

Run: .venv/bin/python bench/classify_speed.py [--model DIR] [--posts N] [--corpus own|small|shared] [--data DIR]
[--stages] [--via-classify]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

WORDS = {
    "en": ("the government said new report drones oil pipeline Baku Israel Azerbaijan Armenia talks minister "
           "visit prices market weather football city council election school community synagogue holiday "
           "festival museum history soldiers border ceasefire aid hospital students budget trade agreement "
           "yesterday today week analysts said protest rally statement court").split(),
    "ru": ("правительство заявило новый доклад дроны нефть трубопровод Баку Израиль Азербайджан Армения переговоры "
           "министр визит цены рынок погода футбол город совет выборы школа община праздник музей история "
           "солдаты граница перемирие помощь больница студенты бюджет торговля соглашение вчера сегодня").split(),
    "hy": ("կառավարությունը հայտարարեց նոր զեկույց դրոններ նավթ Բաքու Իսրայել Ադրբեջան Հայաստան բանակցություններ "
           "նախարար այց գներ շուկա եղանակ ֆուտբոլ քաղաք ընտրություններ դպրոց համայնք տոն թանգարան").split(),
}
LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"


def small_vocabulary_posts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Posts of random words from ~40 per language (the figure earlier sessions quoted; every word cache-hot)."""
    rng = random.Random(seed)
    texts, langs = [], []
    for _ in range(n):
        lang = rng.choice(("en", "en", "ru", "hy"))
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 200:
            words.append(rng.choice(WORDS[lang]))
        texts.append(" ".join(words))
        langs.append(lang)
    return texts, langs


def own_text_posts(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Posts of ~200 characters joined from the project's own sentences (background corpus 90%, seed examples
    10%, so some are flagged) in en/ru/hy/de, each with a random @handle and #tag no cache has seen."""
    from classifiers.background import background_sentences
    from classifiers.data import seed_rows

    rng = random.Random(seed)
    by_lang: dict[str, tuple[list[str], list[str]]] = {}
    seeds = seed_rows()
    for lang in ("en", "ru", "hy", "de"):
        by_lang[lang] = (background_sentences(lang, 2000), [r["text"] for r in seeds if r["lang"] == lang])
    texts, langs = [], []
    for _ in range(n):
        lang = rng.choice(("en", "en", "ru", "hy", "de"))
        neutral, hostile = by_lang[lang]
        handle = "".join(rng.choices(LETTERS, k=9))
        parts = [f"@{handle}"]
        while sum(len(p) + 1 for p in parts) < 170:
            parts.append(rng.choice(hostile if rng.random() < 0.1 else neutral))
        parts.append("#" + "".join(rng.choices(LETTERS, k=7)))
        texts.append(" ".join(parts))
        langs.append(lang)
    return texts, langs


def shared_text_posts(n: int, data: str) -> tuple[list[str], list[str | None]]:
    """Real posts read at run time from the shared data sets (ISCA tweets, ToxiGen, HateXplain test/val), at most
    `n`, each once: cycling them would warm the word caches and flatter the figure. No language is given."""
    from classifiers.data import HATEXPLAIN_FILE, TOXIGEN_FILE, data_file, isca_rows

    folders = ("isca_antisemitism_twitter", "toxigen_annotated", "hatexplain_test_val")
    missing = [f for f in folders if not os.path.isdir(os.path.join(data, f))]
    if missing:
        raise SystemExit(f"--corpus shared needs the shared data sets under --data {data!r}; missing: "
                         f"{', '.join(missing)}")
    texts = [r["text"] for r in isca_rows(os.path.join(data, folders[0]))]
    # The CSVs' text columns as they are: toxigen_rows would normalise texts (names_target) and warm the caches.
    for folder, name in ((folders[1], TOXIGEN_FILE), (folders[2], HATEXPLAIN_FILE)):
        with data_file(os.path.join(data, folder), name).open(encoding="utf-8", newline="") as fh:
            texts += [r["text"] for r in csv.DictReader(fh)]
    return texts[:n], [None] * min(n, len(texts))


CORPORA = {"own": own_text_posts, "small": small_vocabulary_posts}  # and "shared", which needs --data
LINGUA_WARM_UP = "Dzień dobry, co słychać?"  # Polish: no English or German function word, so lingua places it


def via_classify(model, texts: list[str], langs: list[str | None]) -> tuple[float, int]:
    """Seconds for classify_stream (what `vigil classify IN -o OUT` runs, less process start and model load) over
    the posts as a JSONL file, and how many rows it wrote as antisemitic."""
    import json
    import tempfile

    from classifiers.commands import classify_stream

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.jsonl"), os.path.join(tmp, "out.jsonl")
        with open(src, "w", encoding="utf-8") as fh:
            for n, (text, lang) in enumerate(zip(texts, langs, strict=True)):
                fh.write(json.dumps({"id": n, "text": text, "lang": lang}, ensure_ascii=False) + "\n")
        start = time.perf_counter()
        with open(src, "rb") as stream, open(dst, "w", encoding="utf-8") as out:
            classify_stream(model, stream, out)
        elapsed = time.perf_counter() - start
        with open(dst, encoding="utf-8") as fh:
            flagged = sum(json.loads(line)["antisemitic"] is True for line in fh)
    return elapsed, flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model directory (default: packaged)")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--stages", action="store_true", help="also time each stage alone on 20,000 posts")
    parser.add_argument("--via-classify", action="store_true",
                        help="time `vigil classify`'s own loop (classify_stream: JSONL in, JSON rows out, to a "
                             "temporary file) on the posts written as JSONL, instead of Model.predict alone")
    parser.add_argument("--corpus", choices=[*sorted(CORPORA), "shared"], default="own",
                        help="own: sentences of the project's background corpus and seeds, with unseen handles "
                             "and tags (default); small: ~40 words per language, as measured before; shared: "
                             "the real posts of the shared data sets (see --data), each once")
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"),
                        help="folder of the shared data sets, for --corpus shared (default: ../shared/data "
                             "beside the repository)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    from classifiers.artifacts import load_model

    model = load_model(args.model)
    if args.corpus == "shared":
        texts, langs = shared_text_posts(args.posts, args.data)
        model.predict(["warm up"] * 100)  # warm-up that leaves the caches cold for the real words
        # Posts without a language that neither script nor function words place go to lingua, which loads its
        # Latin-script models on the first such post: a cost each process pays once, timed apart here.
        start = time.perf_counter()
        model.predict([LINGUA_WARM_UP])
        print(f"language detector (lingua) loaded in {time.perf_counter() - start:.1f} s: once per process, "
              "not counted below")
    else:
        texts, langs = CORPORA[args.corpus](args.posts)
        model.predict(texts[:1000], langs[:1000])  # warm-up
    if args.via_classify:
        elapsed, flagged_count = via_classify(model, texts, langs)
        what = "vigil classify's loop (JSONL to JSONL)"
    else:
        start = time.perf_counter()
        preds = model.predict(texts, langs)
        elapsed = time.perf_counter() - start
        flagged_count, what = sum(p.antisemitic for p in preds), "Model.predict"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model {model.version}, corpus {args.corpus}, {what}: {len(texts)} posts "
          f"(mean {sum(map(len, texts)) / len(texts):.0f} chars) in {elapsed:.1f} s = {len(texts) / elapsed:,.0f} "
          f"posts/s on one core; flagged {flagged_count}; peak RSS {peak_mb:.0f} MB")
    if args.stages:
        import numpy as np

        from classifiers.normalize import normalize_batch
        from classifiers.taxonomy import tag_batch

        sample = texts[: min(len(texts), 20_000)]
        normalized = normalize_batch(sample)
        features = model.detector.named_steps["features"].transform(normalized)
        scores = model.detector.named_steps["clf"].predict_proba(features)[:, 1]  # as predict scores them
        flagged = np.flatnonzero(scores >= model.threshold).tolist()
        dates = [None] * len(sample)
        taxonomy = model.taxonomy
        tags = tag_batch(normalized, taxonomy)
        stages = {
            "normalise (as predict runs it)": lambda: normalize_batch(sample),
            "hostility score (incl. normalise)": lambda: model.scores(sample),
            "category (all posts, as if flagged; tags given)": lambda: model._categories(normalized, tags),
            "triggers: terms for all, learned for flagged, as predict runs them (normalised, features given)":
                lambda: model._triggers(taxonomy, tag_batch(normalized, taxonomy), features, dates, flagged),
        }
        for name, run in stages.items():
            start = time.perf_counter()
            run()
            print(f"  {name}: {len(sample) / (time.perf_counter() - start):,.0f} posts/s")


if __name__ == "__main__":
    main()
