"""Compare lingua and langdetect on short English, Russian and Armenian posts: accuracy, time, memory.

Run: .venv/bin/python bench/language_detection.py [--only NAME]
Each detector runs in a fresh subprocess so its memory figure is its own. Accuracy counts only right
answers; "wrong" are confident wrong labels, "None" are posts the detector declined to label.
"cold ms" includes lazy model loading on first use; "warm ms" is the steady state.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Written for this benchmark: news-like and chatty posts, 10-140 characters, with place and person
# names in the other script ("Gyumri" in Russian, "Yerevan" in Armenian) and some very short ones.
SAMPLES: dict[str, list[str]] = {
    "en": [
        "Protest planned downtown tonight.",
        "Markets closed early in Yerevan today.",
        "Armen Petrosyan won the chess final in Gyumri.",
        "Rain again. Great.",
        "The city council approved the new bus routes this morning.",
        "Anahit Grigoryan says the library will reopen next week.",
        "Traffic is terrible near Republic Square.",
        "Who else saw the fireworks over Lake Sevan last night?",
        "New report on school funding released.",
        "Thanks for the kind words, everyone!",
        "Flights from Zvartnots delayed due to fog.",
        "Breaking: minister resigns after budget vote.",
        "Read the full interview with Tigran Hakobyan here",
        "Just landed in Vanadzor.",
        "The museum exhibit on medieval manuscripts opens Friday.",
        "Power outage in Kentron district, crews on the way.",
        "Good morning from Dilijan!",
        "Prices for bread went up again this month.",
        "Vote counting continues in three regions.",
        "Great match yesterday, Ararat FC deserved it.",
        "Lost dog near Abovyan street, please share.",
        "The bridge repairs will take two more months.",
        "Hospital staff held a short strike on Tuesday.",
        "Snow closed the road to Jermuk.",
        "Congrats to Lusine Avetisyan on her award",
        "Wildfire under control, officials say.",
        "Talks between the two delegations ended without a deal.",
        "I disagree with this decision.",
        "Students rallied outside the university gates.",
        "Is the metro running today?",
        "Heavy winds expected across the north.",
        "Local bakery donates bread to shelters.",
        "Election results due tomorrow.",
        "Stay safe out there.",
        "Hovhannes Tumanyan's house museum is free on Sunday.",
        "Water supply restored in Nor Nork.",
        "Ceasefire talks resume in Geneva.",
        "Nice work!",
        "New cafe opened on Saryan street, worth a visit.",
        "Police detained two men after the clash near Ереван station.",
    ],
    "ru": [
        "Сегодня вечером в центре пройдёт митинг.",
        "В Ереване закрылись рынки раньше обычного.",
        "Армен Петросян выиграл финал в Gyumri.",
        "Опять дождь.",
        "Горсовет утвердил новые автобусные маршруты.",
        "Библиотека в Ванадзоре откроется на следующей неделе.",
        "Пробки возле площади Республики ужасные.",
        "Кто видел салют над Севаном вчера?",
        "Опубликован новый доклад о финансировании школ.",
        "Спасибо всем за поддержку!",
        "Рейсы из Звартноца задерживаются из-за тумана.",
        "Срочно: министр подал в отставку.",
        "Полное интервью с Тиграном Акопяном по ссылке",
        "Только что приехал в Vanadzor.",
        "Выставка средневековых рукописей открывается в пятницу.",
        "В районе Кентрон отключили свет.",
        "Доброе утро из Дилижана!",
        "Хлеб опять подорожал.",
        "Подсчёт голосов продолжается в трёх областях.",
        "Отличный матч вчера, Арарат заслужил победу.",
        "Потерялась собака на улице Абовяна, помогите.",
        "Ремонт моста займёт ещё два месяца.",
        "Врачи провели короткую забастовку во вторник.",
        "Снег перекрыл дорогу на Jermuk.",
        "Поздравляем Лусине Аветисян с наградой",
        "Пожар под контролем, сообщают власти.",
        "Переговоры делегаций закончились ничем.",
        "Я не согласен с этим решением.",
        "Студенты собрались у ворот университета.",
        "Метро сегодня работает?",
        "На севере ожидается сильный ветер.",
        "Пекарня раздаёт хлеб приютам.",
        "Результаты выборов завтра.",
        "Берегите себя.",
        "Дом-музей Туманяна бесплатный в воскресенье.",
        "В Nor Nork восстановили подачу воды.",
        "Переговоры о перемирии возобновятся в Женеве.",
        "Вот молодцы!",
        "Всем barev из Gyumri и Vanadzor!",
        "Полиция задержала двоих после стычки в Yerevan.",
    ],
    "hy": [
        "Այսօր երեկոյան կենտրոնում հանրահավաք կլինի։",
        "Երևանում շուկաները շուտ փակվեցին։",
        "Արմեն Պետրոսյանը հաղթեց Գյումրիի եզրափակչում։",
        "Նորից անձրև է։",
        "Ավագանին հաստատեց նոր ավտոբուսային երթուղիները։",
        "Վանաձորի գրադարանը կբացվի հաջորդ շաբաթ։",
        "Հանրապետության հրապարակի մոտ խցանումներ են։",
        "Ո՞վ տեսավ հրավառությունը Սևանի վրա։",
        "Հրապարակվել է դպրոցների ֆինանսավորման նոր զեկույց։",
        "Շնորհակալություն բոլորին։",
        "Զվարթնոցից չվերթները հետաձգվում են մառախուղի պատճառով։",
        "Շտապ՝ նախարարը հրաժարական է տվել։",
        "Տիգրան Հակոբյանի հարցազրույցը՝ հղումով",
        "Նոր հասա Vanadzor։",
        "Միջնադարյան ձեռագրերի ցուցահանդեսը բացվում է ուրբաթ օրը։",
        "Կենտրոն վարչական շրջանում հոսանք չկա։",
        "Բարի լույս Դիլիջանից։",
        "Հացը նորից թանկացել է։",
        "Ձայների հաշվարկը շարունակվում է երեք մարզում։",
        "Երեկ լավ խաղ էր, Արարատը արժանի էր հաղթանակի։",
        "Աբովյան փողոցում շուն է կորել, տարածեք։",
        "Կամրջի վերանորոգումը կտևի ևս երկու ամիս։",
        "Բժիշկները երեքշաբթի կարճ գործադուլ արեցին։",
        "Ձյունը փակել է Ջերմուկի ճանապարհը։",
        "Շնորհավորում ենք Լուսինե Ավետիսյանին մրցանակի կապակցությամբ",
        "Հրդեհը վերահսկողության տակ է։",
        "Պատվիրակությունների բանակցություններն ավարտվեցին առանց արդյունքի։",
        "Համաձայն չեմ այս որոշման հետ։",
        "Ուսանողները հավաքվել են համալսարանի դարպասների մոտ։",
        "Մետրոն այսօր աշխատո՞ւմ է։",
        "Հյուսիսում ուժեղ քամի է սպասվում։",
        "Հացի փուռը հաց է նվիրում ապաստարաններին։",
        "Ընտրությունների արդյունքները՝ վաղը։",
        "Զգույշ եղեք։",
        "Թումանյանի տուն-թանգարանը կիրակի անվճար է։",
        "Nor Nork-ում ջուրը վերականգնվել է։",
        "Զինադադարի բանակցությունները կվերսկսվեն Ժնևում։",
        "Ապրեք, տղերք։",
        "Սարյան փողոցում նոր սրճարան է բացվել, Café Central-ի կողքին։",
        "Ոստիկանությունը Yerevan-ում երկու մարդու է ձերբակալել։",
    ],
}

REPEATS = 5
# lingua-vigil is what monitor.language ships; the others are the alternatives it was chosen over.
DETECTORS = ["lingua-vigil", "lingua-vigil-low", "lingua-all", "langdetect"]


def _rss_kib() -> tuple[int, int]:
    """Current and peak resident memory of this process, in KiB (Linux)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _make_detector(name: str):
    if name == "lingua-vigil":
        from monitor.language import detect_language
        return detect_language
    if name in ("lingua-all", "lingua-vigil-low"):
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        from monitor.language import DETECTABLE
        if name == "lingua-all":
            detector = LanguageDetectorBuilder.from_all_languages().build()
        else:
            codes = [getattr(IsoCode639_1, code.upper()) for code in DETECTABLE]
            detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()

        def detect(text: str) -> str | None:
            language = detector.detect_language_of(text)
            return language.iso_code_639_1.name.lower() if language else None
        return detect
    if name == "langdetect":
        from langdetect import DetectorFactory, LangDetectException, detect as ld_detect
        DetectorFactory.seed = 0  # langdetect is random by default; seeded for repeatable figures

        def detect(text: str) -> str | None:
            try:
                return ld_detect(text).split("-")[0]
            except LangDetectException:
                return None
        return detect
    raise SystemExit(f"unknown detector {name}")


def run_one(name: str) -> dict:
    """Measure one detector in this process and return its figures."""
    sys.path.insert(0, str(ROOT))
    rss_start, _ = _rss_kib()
    detect = _make_detector(name)
    posts = [(lang, text) for lang, texts in SAMPLES.items() for text in texts]
    started = time.perf_counter()
    first = [detect(text) for _, text in posts]  # includes lazy model loading
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(REPEATS):
        for _, text in posts:
            detect(text)
    warm_s = time.perf_counter() - started
    rss_end, peak = _rss_kib()
    accuracy, misses = {}, []
    for lang in SAMPLES:
        results = [(text, got) for (want, text), got in zip(posts, first) if want == lang]
        accuracy[lang] = sum(got == lang for _, got in results) / len(results)
        misses += [f"{lang} -> {got}: {text}" for text, got in results if got != lang]
    return {
        "name": name, "accuracy": accuracy, "misses": misses,
        "wrong": sum(got is not None and got != want for (want, _), got in zip(posts, first)),
        "undetermined": sum(got is None for got in first),
        "cold_ms_per_post": 1000 * cold_s / len(posts),
        "warm_ms_per_post": 1000 * warm_s / (REPEATS * len(posts)),
        "rss_delta_mib": (rss_end - rss_start) / 1024, "peak_mib": peak / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", choices=DETECTORS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--misses", action="store_true", help="list the posts each detector got wrong")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child)))
        return

    for lang, texts in SAMPLES.items():
        assert len(texts) >= 30 and all(10 <= len(t) <= 140 for t in texts), lang
    names = [args.only] if args.only else DETECTORS
    print(f"{sum(map(len, SAMPLES.values()))} posts: "
          + ", ".join(f"{lang} {len(texts)}" for lang, texts in SAMPLES.items()))
    header = f"{'detector':16} " + " ".join(f"{lang:>6}" for lang in SAMPLES)
    print(header + f" {'wrong':>6} {'None':>5} {'cold ms':>8} {'warm ms':>8} {'+RSS MiB':>9} {'peak MiB':>9}")
    for name in names:
        out = subprocess.run([sys.executable, __file__, "--child", name],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        r = json.loads(out.stdout)
        print(f"{name:16} " + " ".join(f"{r['accuracy'][lang]:6.0%}" for lang in SAMPLES)
              + f" {r['wrong']:6d} {r['undetermined']:5d} {r['cold_ms_per_post']:8.2f} {r['warm_ms_per_post']:8.3f}"
              + f" {r['rss_delta_mib']:9.1f} {r['peak_mib']:9.1f}")
        if args.misses:
            for miss in r["misses"]:
                print("    " + miss)


if __name__ == "__main__":
    main()
