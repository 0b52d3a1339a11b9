"""Relevance on hand-written news in the six project languages, and the
topic file's validation."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from newsmon.core.config import config_path
from newsmon.analysis.relevance import Relevance, load_topic


@pytest.fixture(scope="module")
def topic():
    return load_topic()


# (language, title, text, ids that must be among the matched ones)
RELEVANT = [
    ("en", "Armenia and Azerbaijan sign peace agreement at the White House",
     "The leaders signed a deal meant to end decades of conflict over Nagorno-Karabakh.",
     {"nagorno_karabakh", "both_sides_conflict"}),
    ("en", "Azerbaijan closes the Lachin corridor",
     "The only road linking Karabakh Armenians to Armenia has been blocked for weeks.",
     {"lachin_corridor", "nagorno_karabakh"}),
    ("en", "Refugees from Karabakh struggle to find homes",
     "More than 100,000 people fled after the offensive and now live in rented flats.",
     {"nagorno_karabakh", "refugees"}),
    ("en", "Armenia says three soldiers killed in border clashes",
     "The defence ministry in Yerevan blamed Azerbaijani forces for the shooting.",
     {"both_sides_conflict", "border", "casualties"}),
    ("en", "Aliyev and Pashinyan meet in Granada",
     "The two leaders spoke for an hour on the sidelines of the summit.",
     {"aliyev_pashinyan"}),
    ("en", "Thousands flee Stepanakert", "Long queues of cars formed on the road out of the city.",
     {"stepanakert"}),
    ("ru", "Пашинян и Алиев встретились в Брюсселе",
     "Стороны обсудили подготовку мирного договора.", {"aliyev_pashinyan", "peace_process"}),
    ("ru", "Беженцы из Карабаха получили жильё в Ереване",
     "Правительство выделило квартиры семьям, покинувшим Нагорный Карабах.",
     {"nagorno_karabakh", "refugees"}),
    ("ru", "На въезде в Лачинский коридор установлен КПП",
     "Азербайджан установил контрольно-пропускной пункт.", {"lachin_corridor"}),
    ("ru", "Перестрелка на армяно-азербайджанской границе",
     "Минобороны сообщило о ранении военнослужащего.", {"armenia_azerbaijan"}),
    ("hy", "Արցախից բռնի տեղահանվածները բողոքի ակցիա են անցկացրել",
     "Ակցիային մասնակցել են հարյուրավոր մարդիկ Երևանում։", {"artsakh", "refugees"}),
    ("hy", "Փաշինյանը և Ալիևը հանդիպել են Պրահայում",
     "Կողմերը քննարկել են խաղաղության պայմանագրի նախագիծը։", {"aliyev_pashinyan", "peace_process"}),
    ("hy", "Ադրբեջանական զինուժը կրակ է բացել",
     "Կրակոցներ են հնչել հայ-ադրբեջանական սահմանի արևելյան հատվածում։", {"armenia_azerbaijan"}),
    ("hy", "Լեռնային Ղարաբաղի պատերազմի զոհերի հիշատակը",
     "Ոգեկոչման արարողությանը ներկա էին զոհվածների հարազատները։", {"nagorno_karabakh"}),
    ("az", "Prezident İlham Əliyev Xankəndidə bayraq qaldırıb",
     "Dövlət başçısı şəhərdə tədbirdə iştirak edib.", {"stepanakert", "aliyev"}),
    ("az", "Qarabağda minatəmizləmə işləri davam edir",
     "Mütəxəssislər ərazini minalardan təmizləyir.", {"nagorno_karabakh"}),
    ("az", "Ermənistan-Azərbaycan sərhədində atəşkəs pozulub",
     "Müdafiə Nazirliyi məlumat yayıb.", {"armenia_azerbaijan", "ceasefire"}),
    ("az", "Əliyev və Paşinyan Vaşinqtonda görüşüb",
     "Tərəflər sülh sazişinin mətnini paraflayıb.", {"aliyev_pashinyan", "peace_process"}),
    ("tr", "Karabağ'da kara mayını patladı", "Patlamada iki kişi yaralandı.",
     {"nagorno_karabakh", "casualties"}),
    ("tr", "Dağlık Karabağ'dan göç eden Ermeniler",
     "Bölgeyi terk edenlerin sayısı 100 bini aştı.", {"nagorno_karabakh", "armenia"}),
    ("tr", "Azerbaycan ile Ermenistan arasında barış anlaşması imzalandı",
     "İki ülke arasındaki sınır yeniden çizilecek.", {"both_sides_conflict", "peace_process"}),
    ("tr", "Aliyev ve Paşinyan Prag'da görüştü", "Görüşme iki saat sürdü.", {"aliyev_pashinyan"}),
    ("fr", "Haut-Karabakh : l'exode des Arméniens", "Des dizaines de milliers de personnes ont fui.",
     {"nagorno_karabakh", "refugees"}),
    ("fr", "Le corridor de Latchine bloqué depuis des mois",
     "Les habitants manquent de nourriture et de médicaments.", {"lachin_corridor"}),
    ("fr", "L'Arménie et l'Azerbaïdjan signent un accord de paix",
     "Le texte règle la question de la frontière.", {"both_sides_conflict", "peace_process"}),
    ("fr", "Aliev et Pachinian se rencontrent à Bruxelles", "Une nouvelle réunion est prévue.",
     {"aliyev_pashinyan"}),
    ("en", "COP29 in Baku: Armenia and Azerbaijan agree on peace treaty text",
     "The announcement came on the margins of the climate conference.",
     {"cop29", "both_sides_conflict"}),
]

# (language, title, text, ids that must be among the matched ones)
IRRELEVANT = [
    ("en", "Baku Formula 1 Grand Prix: Perez wins in Azerbaijan",
     "The Azerbaijan Grand Prix on the streets of Baku was decided on the last lap.",
     {"formula1", "baku"}),
    ("en", "Armenian brandy sales soar", "The Yerevan Brandy Company shipped more cognac than ever.",
     {"brandy", "armenia"}),
    ("en", "Azerbaijan boosts gas exports to Europe",
     "SOCAR said shipments through the southern pipeline to Italy rose by a tenth.", {"azerbaijan"}),
    ("en", "Yerevan jazz festival draws record crowds", "Musicians from twenty countries played.",
     {"yerevan"}),
    ("en", "Armenian and Azerbaijani wrestlers clash in European Championships final",
     "The bout ended in a narrow win on points.", {"sports", "both_sides_conflict"}),
    ("en", "Ukraine war: ceasefire talks resume in Istanbul",
     "Negotiators met for the first time since spring.", {"war", "ceasefire"}),
    ("ru", "Армения выступит во втором полуфинале Евровидения",
     "Жеребьёвка прошла в Мальмё.", {"eurovision", "armenia"}),
    ("hy", "Հայաստանի ֆուտբոլի հավաքականը հաղթեց", "Հանդիպումն ավարտվեց 2:1 հաշվով։",
     {"football", "armenia"}),
    ("az", "Qarabağ Çempionlar Liqasının əsas mərhələsinə vəsiqə qazanıb",
     "Ağdam klubu futbol mövsümünü uğurla başa vurub.", {"football", "nagorno_karabakh"}),
    ("tr", "Bakü'de COP29 iklim zirvesi başladı", "Zirveye 190 ülkeden delege katılıyor.",
     {"cop29", "baku"}),
    ("tr", "Karabağlar Belediyesi yeni park açtı", "Araç bakımı ve bakış açısı üzerine söyleşi yapıldı.",
     set()),
    ("fr", "Recette : le dolma arménien", "Une spécialité de la cuisine du Caucase.",
     {"recipes", "armenia"}),
]


def _params(cases):
    return [pytest.param(*case, id=f"{case[0]}:{case[1][:40]}") for case in cases]


@pytest.mark.parametrize("language,title,text,expected", _params(RELEVANT))
def test_conflict_news_passes(topic, language, title, text, expected):
    relevance = topic.score(title, text, language)
    assert relevance.passed, relevance.reason
    assert expected <= set(relevance.matched), relevance.matched
    assert topic.precheck(title, text)


@pytest.mark.parametrize("language,title,text,expected", _params(IRRELEVANT))
def test_other_news_fails(topic, language, title, text, expected):
    relevance = topic.score(title, text, language)
    assert not relevance.passed, relevance
    assert expected <= set(relevance.matched), relevance.matched
    assert relevance.reason.startswith(("below threshold", "no topic terms"))


@pytest.mark.parametrize("language,title,text,expected", _params(RELEVANT + IRRELEVANT))
def test_unknown_language_gives_the_same_verdict(topic, language, title, text, expected):
    assert topic.score(title, text, None).passed == topic.score(title, text, language).passed


def test_title_counts_more_than_body(topic):
    in_title = topic.score("Karabakh", "Some unrelated words.", "en")
    in_body = topic.score("Some unrelated words", "Karabakh.", "en")
    assert in_title.score > in_body.score >= topic.threshold


def test_weak_terms_alone_never_pass(topic):
    text = "Baku. Azerbaijan. Yerevan. Armenia. Pashinyan. Baku. Armenia. " * 20
    relevance = topic.score("Armenia, Azerbaijan, Baku, Yerevan", text, "en")
    assert not relevance.passed
    assert relevance.reason.startswith("below threshold: only weak terms (")


def test_negative_context_outweighs_a_passing_mention(topic):
    text = "The Grand Prix circuit in Baku. " * 3 + "Azerbaijan won the Karabakh war in 2020."
    relevance = topic.score("Formula 1: Azerbaijan Grand Prix preview", text, "en")
    assert not relevance.passed
    assert relevance.reason.startswith("below threshold: negative context (formula1)")


def test_one_strong_mention_in_the_body_passes_with_its_reason(topic):
    relevance = topic.score("Weekly digest", "Elsewhere, Nagorno-Karabakh was discussed.", "en")
    assert relevance.passed
    assert relevance.matched == ("nagorno_karabakh",)
    assert relevance.reason == "strong: nagorno_karabakh"


def test_no_terms(topic):
    relevance = topic.score("Local weather", "Sunny with light wind.", "en")
    assert relevance == Relevance(score=0.0, passed=False, matched=(), reason="no topic terms")


def test_precheck_is_permissive_but_not_blind(topic):
    assert topic.precheck("Baku hosts business forum", None)                # one weak term
    assert topic.precheck("Ceasefire violated overnight, ministry says", "")   # context only
    assert topic.precheck("Weekly digest", "Talks on the Lachin corridor resumed.")
    assert not topic.precheck("Local weather", "Sunny with light wind.")
    assert not topic.precheck("Eurovision semi-final draw", "Formula 1 calendar announced.")


def test_scoring_is_fast(topic):
    paragraph = ("The government said on Tuesday that the new budget would raise spending "
                 "on schools and hospitals, while the opposition called the plan unrealistic. ")
    text = (paragraph * 20)[:3000]
    started = time.perf_counter()
    for _ in range(300):
        topic.score("Budget debate continues", text, "en")
    assert (time.perf_counter() - started) / 300 < 0.002   # > 500 articles/s even on a loaded CI core


def _write_topic(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "topic.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
threshold: 0.5
terms:
  karabakh:
    kind: strong
    patterns: {en: [karabakh]}
"""


def test_minimal_topic_file_loads(tmp_path):
    topic = load_topic(_write_topic(tmp_path, MINIMAL))
    assert topic.threshold == 0.5
    assert topic.score("Karabakh", "", "en").passed


@pytest.mark.parametrize("text,key", [
    (MINIMAL + "extra: 1\n", "extra: unknown key"),
    (MINIMAL.replace("kind: strong", "kind: huge"), "terms.karabakh.kind: must be one of"),
    (MINIMAL.replace("[karabakh]", "['kara(bakh']"), "terms.karabakh.patterns.en[0]: invalid regex"),
    (MINIMAL.replace("[karabakh]", "[Karabakh]"),
     "terms.karabakh.patterns.en[0]: 'Karabakh' must be lower case"),
    (MINIMAL.replace("[karabakh]", "['karabakh|artsakh']"), "list each alternative as its own pattern"),
    (MINIMAL.replace("[karabakh]", "['[kq]arabakh']"), "must start with a plain letter"),
    (MINIMAL.replace("[karabakh]", "['(?P<x>karabakh)']"), "named groups are reserved"),
    (MINIMAL.replace("threshold: 0.5", "threshold: high"), "threshold: must be a number"),
    (MINIMAL.replace("threshold: 0.5", "threshold: 0.2\nweak_cap: 0.6"), "weak_cap: 0.6 lets weak terms"),
    (MINIMAL + "combos:\n  both:\n    all_of: [karabakh, nowhere]\n",
     "combos.both.all_of: unknown label 'nowhere'"),
    ("- just\n- a list\n", "top level: must be a mapping"),
    ("threshold: [unclosed\n", "not valid YAML at line"),
])
def test_bad_topic_file_names_the_key(tmp_path, text, key):
    path = _write_topic(tmp_path, text)
    with pytest.raises(ValueError) as error:
        load_topic(path)
    message = str(error.value)
    assert key in message and str(path) in message
    assert "\n" not in message


def test_missing_topic_file(tmp_path):
    with pytest.raises(ValueError, match="topic file not found"):
        load_topic(tmp_path / "absent.yaml")


def test_default_path_is_the_shipped_file():
    assert config_path("topic.yaml").is_file()
