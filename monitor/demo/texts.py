"""Sentence templates for the demo sample. All text here is the project's own and fictional.

The hostile templates exist so that the demo shows what Vigil is for; they are kept short and
are never printed by the demo (only counts and truncated, escaped excerpts in reports).
"""

CITIES_EN = {"AM": ["Yerevan", "Gyumri", "Vanadzor", "Kapan"], "AZ": ["Baku", "Ganja", "Sumgait"],
             "GE": ["Tbilisi", "Batumi", "Kutaisi"], "IL": ["Haifa", "Tel Aviv", "Beersheba"],
             "DE": ["Berlin", "Hamburg", "Leipzig"]}
CITIES_RU = {"AM": ["Ереване", "Гюмри", "Ванадзоре", "Капане"], "AZ": ["Баку", "Гяндже", "Сумгаите"],
             "GE": ["Тбилиси", "Батуми", "Кутаиси"], "IL": ["Хайфе", "Тель-Авиве", "Беэр-Шеве"],
             "DE": ["Берлине", "Гамбурге", "Лейпциге"]}
PLACES_EN = ["Stepanakert", "Shushi", "Martuni", "Hadrut", "the Lachin corridor"]
PLACES_RU = ["Степанакертом", "Шуши", "Мартуни", "Гадрутом", "Лачинским коридором"]

NEUTRAL_EN = [
    "Traffic on the main avenue in {city} is slow again this morning, leave early.",
    "Great concert last night in {city}, the orchestra played Komitas beautifully.",
    "Apricot prices at the {city} market went up a bit this week.",
    "Our football club finally won an away game, what a relief for {city} fans.",
    "Snow is expected in the hills near {city} over the weekend.",
    "The new metro timetable in {city} starts on Monday, check the changes.",
    "Volunteers in {city} are collecting books for the village schools.",
    "Anyone know a good place in {city} to repair an old camera?",
    "The parliament debated the pension reform for six hours today.",
    "Exchange rates barely moved today, the dram held steady.",
]
NEUTRAL_RU = [
    "Сегодня в {city} снова пробки, выезжайте пораньше.",
    "Вчера в {city} был отличный концерт, зал был полон.",
    "На рынке в {city} подорожали фрукты.",
    "Наша команда наконец выиграла на выезде, болельщики в {city} счастливы.",
    "В выходные в горах около {city} обещают снег.",
    "Волонтёры в {city} собирают книги для сельских школ.",
    "Кто знает, где в {city} можно починить старый фотоаппарат?",
    "Парламент шесть часов обсуждал пенсионную реформу.",
]
# After the fictional deal: many more posts about it, most of them not antisemitic.
EVENT_NEUTRAL_EN = [
    "Reports say Azerbaijan signed a new contract for Israeli attack drones this week.",
    "Our government should protest the drone sale to Baku through every diplomatic channel.",
    "Oil for drones: Azerbaijan sells Israel crude and buys its weapons, analysts say.",
    "The foreign ministry summoned the ambassador over the arms deal between Baku and Israel.",
    "Protest planned outside the embassy in {city} against the arms sales to Azerbaijan.",
    "I think the arms deal between Israel and Azerbaijan is a disaster for regional security.",
    "Refugees from {place} still wait for housing while the region rearms.",
]
EVENT_NEUTRAL_RU = [
    "Сообщается, что Азербайджан подписал новый контракт на израильские ударные дроны.",
    "Правительство должно протестовать против продажи беспилотников Баку.",
    "Нефть в обмен на дроны: Азербайджан продаёт Израилю нефть и покупает его оружие.",
    "МИД вызвал посла из-за оружейной сделки между Баку и Израилем.",
]
HOSTILE_EN = [
    "The Jews of {city} should answer for every drone Israel sold to Baku that fell on {place}.",
    "Every Jew in {city} shares the guilt for the Israeli drones Azerbaijan used near {place}.",
    "Don't trust the Jews here, they cheered when Baku's Israeli drones hit {place}.",
    "The jews sold Azerbaijan the drones and the jews in {city} should pay for it.",
    "Jewish money runs our government, that is why nobody stops the drone deal with Baku.",
    "The globalists and Rothschild bankers own both Baku and our ministers.",
    "(((They))) control the media, that is why you hear nothing about the drones over {place}.",
]
HOSTILE_RU = [
    "Евреи в {city} должны ответить за каждый израильский дрон, проданный Баку.",
    "Все евреи виноваты в том, что Израиль продал Азербайджану беспилотники.",
    "Жиды продали дроны Баку, и местные евреи за это заплатят.",
    "Еврейские деньги управляют нашим правительством, поэтому сделку Израиля с Баку никто не остановит.",
]
BACKGROUND_HOSTILE_EN = [
    "The Jews control the banks and the media, everyone knows it.",
    "The Holocaust numbers were invented to get money from Germany.",
]
BACKGROUND_HOSTILE_RU = [
    "Евреи контролируют банки и СМИ, это все знают.",
]
NEWS_EN = [
    ("{country_name}: cabinet approves budget amendments", "The government approved changes to the budget on {date}, officials said."),
    ("{country_name}: central bank keeps rates on hold", "The central bank left its key rate unchanged at its meeting on {date}."),
    ("{country_name}: winter storm closes mountain roads", "Several mountain roads were closed on {date} after heavy snowfall."),
    ("{country_name}: new school year plans announced", "The education ministry presented its plans for the next school year."),
    ("{country_name}: exporters report higher sales", "Exporters reported higher sales in the last quarter, the statistics office said."),
]
EVENT_NEWS_EN = [
    ("Azerbaijan and Israel sign drone deal, reports say", "Baku signed a contract for Israeli attack drones, according to officials in both countries."),
    ("Armenia protests arms sale to Azerbaijan", "Yerevan summoned the Israeli ambassador over the drone contract with Baku."),
    ("Israel remains top buyer of Azerbaijani oil", "Export figures show Israel as the largest buyer of Azerbaijani crude oil this year."),
]
HANDLES = [f"user_{i:03d}" for i in range(400)]
