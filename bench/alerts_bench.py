"""Alert evaluation benchmark: evaluate_and_deliver over N stored articles (default 10,000).

Usage:
    python bench/alerts_bench.py [--articles N] [--only sqlite|postgresql]

Builds a synthetic multilingual corpus (en, ru, hy, az, tr, fr) over 30 days
through the real migrations: articles of 10-16 sentences (~1.5-2.5 KB) written
from news-like sentences, 12% of them reporting an escalation at a gazetteer
place, 6% carrying a negated or historical mention, 15% syndicated copies of an
earlier story from another outlet. Then times the first evaluation of the
whole corpus (no channels, so delivery costs nothing), a second evaluation
(nothing new: the watermark makes it cheap), and the lexicon alone over the
same texts, to show where the time goes.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models import Alert, Article, Story  # noqa: E402
from models.engine import make_engine, session_scope  # noqa: E402
from newsmon.alerting.rules import default_lexicon, evaluate_and_deliver  # noqa: E402
from newsmon.storage.migrate import upgrade  # noqa: E402

DEFAULT_PG_URL = os.environ.get("NEWSMON_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
END = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
SPAN = timedelta(days=30)
SEED = 20201927
ESCALATION_SHARE, DISTRACTOR_SHARE, COPY_SHARE = 0.12, 0.06, 0.15

PLACES = {"en": ["Goris", "Jermuk", "Ganja", "Tartar", "Kapan", "Tovuz"],
          "ru": ["Горис", "Джермук", "Гянджа", "Тертер", "Капан", "Товуз"],
          "hy": ["Գորիս", "Ջերմուկ", "Գանձակ", "Կապան", "Տավուշ"],
          "az": ["Gəncə", "Tərtər", "Tovuz", "Ağdam", "Füzuli"],
          "tr": ["Gence", "Terter", "Tovuz", "Ağdam", "Füzuli"],
          "fr": ["Goris", "Jermuk", "Gandja", "Tartar", "Kapan"]}
CALM = {
    "en": ["The foreign ministers met in Brussels to discuss the text of the peace agreement.",
           "Border delimitation commissions agreed to continue their work next month.",
           "Farmers in the region complained about rising fuel prices ahead of the winter.",
           "The government presented a new programme to rebuild schools and roads.",
           "Analysts said the transit route could open trade between the two countries.",
           "The prime minister answered questions from journalists about the budget.",
           "Officials said the new customs post would be ready by the end of the year."],
    "ru": ["Министры иностранных дел обсудили в Брюсселе текст мирного соглашения.",
           "Комиссии по делимитации границы договорились продолжить работу в следующем месяце.",
           "Фермеры региона жалуются на рост цен на топливо перед зимой.",
           "Правительство представило программу восстановления школ и дорог.",
           "Эксперты считают, что транзитный маршрут откроет торговлю между странами."],
    "hy": ["Արտաքին գործերի նախարարները Բրյուսելում քննարկել են խաղաղության պայմանագրի տեքստը։",
           "Սահմանազատման հանձնաժողովները պայմանավորվել են շարունակել աշխատանքը։",
           "Գյուղացիները դժգոհում են վառելիքի գների աճից ձմռանից առաջ։",
           "Կառավարությունը ներկայացրել է դպրոցների և ճանապարհների վերականգնման ծրագիր։"],
    "az": ["Xarici işlər nazirləri Brüsseldə sülh sazişinin mətnini müzakirə ediblər.",
           "Sərhəd delimitasiyası üzrə komissiyalar işi gələn ay davam etdirməyə razılaşıb.",
           "Bölgənin fermerləri qış öncəsi yanacaq qiymətlərinin artmasından şikayət edir.",
           "Hökumət məktəblərin və yolların bərpası üzrə yeni proqram təqdim edib."],
    "tr": ["Dışişleri bakanları Brüksel'de barış anlaşmasının metnini görüştü.",
           "Sınır belirleme komisyonları çalışmalarına gelecek ay devam etme kararı aldı.",
           "Bölgedeki çiftçiler kış öncesi artan yakıt fiyatlarından şikayet etti.",
           "Hükümet okulların ve yolların yeniden inşası için yeni bir program sundu."],
    "fr": ["Les ministres des Affaires étrangères ont discuté à Bruxelles du texte de l'accord de paix.",
           "Les commissions de délimitation de la frontière poursuivront leurs travaux le mois prochain.",
           "Les agriculteurs de la région se plaignent de la hausse du prix du carburant avant l'hiver.",
           "Le gouvernement a présenté un programme de reconstruction des écoles et des routes."],
}
ESCALATION = {
    "en": ["Artillery shelling hit {place} overnight, the defence ministry said.",
           "A drone strike hit a military post near {place} on Saturday.",
           "Missiles struck {place}, killing two civilians, local officials said."],
    "ru": ["Ночью {place} подвергся артиллерийскому обстрелу, сообщило Минобороны.",
           "По позициям у {place} был нанесён ракетный удар."],
    "hy": ["{place}ը այս գիշեր հրթիռակոծվել է, հայտնում են տեղական իշխանությունները։",
           "{place}ի ուղղությամբ հրետակոծություն է տեղի ունեցել։"],
    "az": ["Gecə saatlarında {place} şəhərinə raket zərbəsi endirilib.",
           "{place} istiqamətində mövqelər artilleriyadan atəşə tutulub."],
    "tr": ["{place}'daki mevzilere İHA saldırısı düzenlendi.",
           "{place} bölgesinde topçu ateşi açıldığı bildirildi."],
    "fr": ["Des roquettes sont tombées sur {place} dans la nuit, selon les autorités.",
           "Des tirs d'artillerie ont visé {place} samedi matin."],
}
DISTRACTOR = {
    "en": ["No shelling was reported along the border overnight, the ministry said.",
           "The ceasefire of 1994 held for more than two decades."],
    "ru": ["Министерство обороны опровергло сообщения об обстреле {place}."],
    "hy": ["Պաշտպանության նախարարությունը հերքել է {place}ի հրետակոծության մասին լուրերը։"],
    "az": ["Müdafiə Nazirliyi {place} ərazisinin atəşə tutulması barədə xəbərləri təkzib edib."],
    "tr": ["Bakanlık, {place} bölgesine saldırı yapıldığı iddialarını yalanladı."],
    "fr": ["Les quartiers de {place} frappés par des missiles en 2020 sont presque reconstruits."],
}
SOURCES = [f"outlet-{n}" for n in range(24)]


def article_text(rng: random.Random, language: str) -> tuple[str, str]:
    place = rng.choice(PLACES[language])
    sentences = [rng.choice(CALM[language]) for _ in range(rng.randint(10, 16))]
    roll = rng.random()
    if roll < ESCALATION_SHARE:
        sentences.insert(rng.randrange(len(sentences)), rng.choice(ESCALATION[language]).format(place=place))
    elif roll < ESCALATION_SHARE + DISTRACTOR_SHARE:
        sentences.insert(rng.randrange(len(sentences)), rng.choice(DISTRACTOR[language]).format(place=place))
    title = " ".join(sentences[0].split()[:8])
    paragraphs = [" ".join(sentences[i:i + 4]) for i in range(0, len(sentences), 4)]
    return title, "\n\n".join(paragraphs)


def build_corpus(url: str, count: int) -> None:
    """Stories and articles bulk-inserted (the store's own path is benchmarked elsewhere)."""
    rng = random.Random(SEED)
    stories, articles = [], []
    for number in range(1, count + 1):
        published = END - SPAN * rng.random()
        if stories and rng.random() < COPY_SHARE:     # a syndicated copy of a recent story
            story = rng.choice(stories[-50:])
            original = articles[story["first_article_id"] - 1]
            title, body, language = original["title"], original["text"], original["language"]
            published = max(published, story["first_seen_at"])
        else:
            language = rng.choice(list(CALM))
            title, body = article_text(rng, language)
            story = {"id": len(stories) + 1, "title": title, "first_article_id": number,
                     "first_seen_at": published, "last_seen_at": published}
            stories.append(story)
        source = rng.choice(SOURCES)
        url_of = f"https://{source}.example/{number}"
        articles.append({"id": number, "canonical_url": url_of, "url": url_of, "source": source,
                         "title": title, "text": body, "language": language, "published_at": published,
                         "fetched_at": published, "content_hash": f"h{number}", "relevance": 0.8,
                         "story_id": story["id"], "authors": []})
    with session_scope(url, write=True) as session:
        session.execute(insert(Story), [{k: v for k, v in s.items() if k != "first_article_id"} for s in stories])
        for start in range(0, len(articles), 2000):
            session.execute(insert(Article), articles[start:start + 2000])


def measure(url: str, label: str) -> None:
    started = time.perf_counter()
    report = evaluate_and_deliver(database_url=url, now=END, channels=[])
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = evaluate_and_deliver(database_url=url, now=END, channels=[])
    second = time.perf_counter() - started
    with session_scope(url) as session:
        rows = session.execute(select(Article.title, Article.text, Article.language, Article.published_at)).all()
        alerts = session.scalar(select(func.count(Alert.id)))
    lexicon = default_lexicon()
    started = time.perf_counter()
    for title, body, language, published in rows:
        lexicon.escalation(title, body, language, published.date())
    lexicon_only = time.perf_counter() - started
    print(f"{label}: {report.evaluated_articles} articles evaluated in {first:.1f} s "
          f"({report.evaluated_articles / first:.0f}/s; lexicon alone {lexicon_only:.1f} s); "
          f"{alerts} alerts {report.by_kind}; re-run {second:.2f} s, {again.raised} raised")


def run_sqlite(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        build_corpus(url, count)
        measure(url, "sqlite")
        make_engine(url).dispose()


def run_postgresql(count: int) -> None:
    schema = f"nm_alerts_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(DEFAULT_PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    base = make_url(DEFAULT_PG_URL)
    url = base.set(query={**base.query, "options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        upgrade(url)
        build_corpus(url, count)
        measure(url, "postgresql")
    finally:
        make_engine(url).dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.only != "postgresql":
        run_sqlite(args.articles)
    if args.only != "sqlite":
        run_postgresql(args.articles)


if __name__ == "__main__":
    main()
