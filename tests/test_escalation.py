"""The escalation lexicon and matcher, on short hand-written news in six languages."""
from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
import yaml

from newsmon.core.config import config_path
from newsmon.analysis.escalation import ConceptMatch, Place, describe, load_lexicon

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "extraction-benchmark"


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


def by_concept(matches: list[ConceptMatch]) -> dict[str, ConceptMatch]:
    return {match.concept: match for match in matches}


# ---------------------------------------------------------------- escalation

ESCALATION = [  # language, title, text, concept, severity, first place
    ("ru", "Ракетный удар по Гяндже",
     "В ночь на воскресенье по жилым кварталам Гянджи был нанесён ракетный удар. По данным "
     "Минобороны Азербайджана, погибли трое мирных жителей, ещё 12 ранены.",
     "missile_strike", 3, "Ganja"),
    ("hy", "Ադրբեջանը հրետակոծում է Ստեփանակերտը",
     "Այսօր առավոտյան ադրբեջանական զինուժը հրետակոծել է Ստեփանակերտը և հարակից բնակավայրերը։ "
     "Արցախի ԱԻՊԾ տվյալներով՝ վնասվել են բնակելի տներ։",
     "shelling", 2, "Stepanakert"),
    ("az", "Tərtər şəhəri artilleriyadan atəşə tutulub",
     "Ermənistan silahlı qüvvələri gecə saatlarında Tərtər şəhərini və ətraf kəndləri ağır "
     "artilleriyadan atəşə tutub. Müdafiə Nazirliyinin məlumatına görə, mülki obyektlərə ziyan dəyib.",
     "shelling", 2, "Tartar"),
    ("tr", "Gence'ye füze saldırısı",
     "Ermenistan ordusu gece saatlerinde Azerbaycan'ın ikinci büyük kenti Gence'ye füze saldırısı "
     "düzenledi. Azerbaycan Savunma Bakanlığı, saldırıda dört sivilin hayatını kaybettiğini açıkladı.",
     "missile_strike", 3, "Ganja"),
    ("fr", "Frappe de missiles sur Stepanakert",
     "L'armée azerbaïdjanaise a mené dimanche une frappe de missiles sur Stepanakert, la principale "
     "ville du Haut-Karabakh. Plusieurs immeubles d'habitation ont été touchés, selon les autorités.",
     "missile_strike", 3, "Stepanakert"),
    ("en", "Drone strike hits Hadrut",
     "A drone strike hit the town of Hadrut on Monday morning, local officials said. "
     "Two buildings were destroyed.",
     "drone_strike", 2, "Hadrut"),
    ("en", "Cluster munitions used in Barda, rights group says",
     "Human Rights Watch said Armenian forces fired cluster munitions into the centre of Barda, "
     "killing 21 civilians. The group called the use of such weapons in populated areas unlawful.",
     "cluster_munitions", 3, "Barda"),
    ("ru", "В Армении объявлено военное положение",
     "Правительство Армении объявило военное положение и всеобщую мобилизацию после начала "
     "боевых действий в Карабахе.",
     "martial_law", 3, "Armenia"),   # declared by Armenia, though the fighting is in Karabakh
    ("hy", "Հայաստանում հայտարարվել է ընդհանուր զորահավաք",
     "Երևանում կառավարությունը որոշում է ընդունել ընդհանուր զորահավաք հայտարարելու մասին։ "
     "Զինապարտները պետք է ներկայանան զինկոմիսարիատներ։",
     "mobilization", 3, "Armenia"),   # the title: "declared in Armenia"
    ("az", "Tovuz rayonu üzərində Ermənistana məxsus PUA vurulub",
     "Azərbaycan Ordusunun hava hücumundan müdafiə bölmələri Tovuz rayonu üzərində Ermənistan "
     "silahlı qüvvələrinə məxsus pilotsuz uçuş aparatını vurub. Nazirlik bildirib ki, dron məhv edilib.",
     "downed_aircraft", 2, "Tovuz"),
    ("tr", "Azerbaycan sınıra asker yığınağı yapıyor",
     "Erivan yönetimi, Azerbaycan'ın Zengezur bölgesi yakınlarında asker yığınağı yaptığını iddia "
     "etti. Bakü ise iddiaları reddetti.",
     "troop_buildup", 2, "Syunik"),
    ("fr", "Violation du cessez-le-feu dans le Tavouch",
     "Le ministère arménien de la Défense accuse les forces azerbaïdjanaises d'avoir ouvert le feu "
     "sur des positions arméniennes dans la région de Tavouch. Aucune victime n'est à déplorer.",
     "ceasefire_violation", 1, "Tavush"),
    ("en", "Parliament approves state of war",
     "Azerbaijan's parliament approved a state of war in several districts, including Tovuz and "
     "Ganja, after overnight fighting.",
     "state_of_war", 3, "Tovuz"),
    ("ru", "Над Варденисом сбит беспилотник",
     "Силы ПВО Армении сбили азербайджанский беспилотник над Варденисом, сообщило Минобороны "
     "республики.",
     "downed_aircraft", 2, "Vardenis"),
    ("hy", "Մարտակերտում խաղաղ բնակիչներ են զոհվել",
     "Ադրբեջանական հրթիռակոծության հետևանքով Մարտակերտում զոհվել է երկու խաղաղ բնակիչ, ևս "
     "հինգը վիրավորվել են։",
     "civilian_casualties", 3, "Martakert"),
]


@pytest.mark.parametrize("language, title, text, concept, severity, place", ESCALATION,
                         ids=[f"{case[0]}-{case[3]}" for case in ESCALATION])
def test_escalation_article_gives_concept_severity_and_place(lexicon, language, title, text,
                                                             concept, severity, place):
    match = by_concept(lexicon.escalation(title, text, language))[concept]
    assert (match.severity, match.kind) == (severity, "escalation")
    assert match.places[0].name == place
    assert by_concept(lexicon.escalation(title, text))[concept] == match   # no hint: all languages


def test_describe_names_concept_place_and_country(lexicon):
    title, text = ESCALATION[0][1:3]
    assert describe(by_concept(lexicon.analyze(title, text, "ru"))["missile_strike"]) == \
        "missile strike reported in Ganja (AZ)"
    martial = ConceptMatch("martial_law", "martial law", 3, "escalation", ("martial law",), ())
    assert describe(martial) == "martial law reported"


WEAPONS = [  # language, text, concept, word in describe(), place
    ("en", "Armenia's defence ministry said Azerbaijani forces fired Smerch rockets at Stepanakert "
           "overnight.", "weapon_smerch", "Smerch", "Stepanakert"),
    ("ru", "По данным армянской стороны, по Степанакерту был нанесён удар из РСЗО «Полонез».",
     "weapon_polonez", "Polonez", "Stepanakert"),
    ("en", "Azerbaijan's defence ministry said Armenia had fired a LORA ballistic missile at "
           "Mingachevir.", "weapon_lora", "LORA", "Mingachevir"),
    ("az", "Azərbaycan Müdafiə Nazirliyi bildirib ki, Ermənistan Şuşa şəhərinə İsgəndər-M raketi atıb.",
     "weapon_iskander", "Iskander", "Shusha"),
    ("az", "Ermənistan Bərdəyə Toçka-U raketi ilə zərbə endirib.", "weapon_tochka", "Tochka-U", "Barda"),
    ("tr", "Azerbaycan Savunma Bakanlığı, Bayraktar TB2 SİHA'ların Füzuli yakınlarındaki Ermeni "
           "mevzilerini vurduğunu açıkladı.", "weapon_bayraktar", "Bayraktar", "Fuzuli"),
    ("hy", "Ադրբեջանական զինուժը «Հարոփ» անօդաչուով հարվածել է Գորիսի մոտ գտնվող դիրքերին։",
     "weapon_harop", "Harop", "Goris"),
]


@pytest.mark.parametrize("language, text, concept, weapon, place", WEAPONS,
                         ids=[case[2] for case in WEAPONS])
def test_weapon_systems_are_matched_and_named(lexicon, language, text, concept, weapon, place):
    match = by_concept(lexicon.escalation("", text, language))[concept]
    assert lexicon.concepts[concept]["group"] == "weapon_system"
    assert weapon in describe(match) and place in describe(match)


def test_weapon_term_is_the_surface_form(lexicon):
    match = by_concept(lexicon.escalation("", WEAPONS[0][1]))["weapon_smerch"]
    assert match.terms == ("Smerch",)


# ---------------------------------------------------------------- no escalation

CALM = [  # language, title, text
    ("en", "Baku hosts Formula 1 Grand Prix",
     "Thousands of fans gathered in Baku on Sunday for the Azerbaijan Grand Prix. Max Verstappen "
     "won the race ahead of Charles Leclerc."),
    ("en", "Armenian brandy exports rise",
     "Exports of Armenian brandy rose 12 percent, driven by demand in Russia and China, the "
     "statistics committee in Yerevan said."),
    ("ru", "В Баку открылся нефтегазовый форум",
     "Международная выставка «Нефть и газ Каспия» открылась в Баку. Участники обсудили экспорт газа "
     "в Европу."),
    ("ru", "Смерч во Флориде", "Смерч обрушился на побережье Флориды, разрушив десятки домов."),
    ("hy", "Երևանում մեկնարկել է ջազ փառատոնը",
     "Երևանում մեկնարկել է միջազգային ջազ փառատոնը, որին մասնակցում են երաժիշտներ տասը երկրից։"),
    ("az", "Qarabağ Çempionlar Liqasında qələbə qazandı",
     "Qarabağ futbol klubu Bakıda keçirilən oyunda rəqibini 2:1 hesabı ilə məğlub edib. Baş məşqçi "
     "oyundan sonra mətbuat konfransı keçirib."),
    ("tr", "Bakü-Tiflis-Ceyhan boru hattında rekor",
     "Bakü-Tiflis-Ceyhan boru hattından geçen petrol miktarı bu yıl rekor seviyeye ulaştı. Festivalin "
     "kapanış töreninde susam helvası ikram edildi."),
    ("fr", "Le cognac arménien à la conquête de l'Europe",
     "Les exportations de cognac arménien vers l'Union européenne ont progressé de 15 % cette année."),
    # war words used figuratively
    ("en", "Investors pour money into Baku",
     "The board shot down the proposal in Baku. Reporters bombarded him with questions while "
     "investors are shelling out millions in Yerevan."),
    ("ru", "ДТП в Баку",
     "Столкновение автомобилей произошло в Баку. Водитель был сбит с толку сигналом светофора."),
    ("tr", "Bakü'de akaryakıt indirimi",
     "Şirket Bakü'de akaryakıt fiyatlarını düşürdü. Çıkar çatışması iddiaları gündemde."),
    ("fr", "Le Classique à Erevan",
     "L'affrontement entre Paris et Marseille a tenu ses promesses. Des arbres ont été abattus à Erevan."),
]


@pytest.mark.parametrize("language, title, text", CALM, ids=[case[1][:30] for case in CALM])
def test_calm_news_raises_nothing(lexicon, language, title, text):
    assert lexicon.escalation(title, text, language) == []
    assert lexicon.escalation(title, text) == []


DE_ESCALATION = [  # language, title, text, concept
    ("en", "Armenia and Azerbaijan agree humanitarian ceasefire",
     "Armenia and Azerbaijan agreed to a humanitarian ceasefire from midnight, the Russian foreign "
     "ministry said after talks in Moscow.", "ceasefire_agreed"),
    ("en", "Peace talks in Washington",
     "The foreign ministers of Armenia and Azerbaijan held peace talks in Washington on Thursday, "
     "the State Department said.", "peace_talks"),
    ("ru", "Армения и Азербайджан провели обмен пленными",
     "На границе состоялся обмен военнопленными: Азербайджан передал армянской стороне 15 человек.",
     "prisoner_exchange"),
    ("hy", "Սահմանազատման հանձնաժողովները հանդիպել են",
     "Հայաստանի և Ադրբեջանի սահմանազատման հանձնաժողովների հերթական հանդիպումը տեղի է ունեցել "
     "Տավուշում։", "border_delimitation"),
    ("az", "Sülh müqaviləsinin mətni razılaşdırılıb",
     "Azərbaycan və Ermənistan sülh müqaviləsinin mətni üzrə danışıqları başa çatdırıb.",
     "peace_treaty"),
    ("tr", "Karabağ'da insani ateşkes",
     "Azerbaycan ve Ermenistan, Moskova'daki görüşmelerin ardından insani ateşkes konusunda anlaştı.",
     "ceasefire_agreed"),
    ("fr", "Pourparlers de paix à Bruxelles",
     "Les dirigeants arménien et azerbaïdjanais ont repris les pourparlers de paix à Bruxelles sous "
     "l'égide de l'Union européenne.", "peace_talks"),
]


@pytest.mark.parametrize("language, title, text, concept", DE_ESCALATION,
                         ids=[f"{case[0]}-{case[3]}" for case in DE_ESCALATION])
def test_de_escalation_is_recognised_and_raises_nothing(lexicon, language, title, text, concept):
    match = by_concept(lexicon.analyze(title, text, language))[concept]
    assert (match.severity, match.kind) == (0, "de_escalation")
    assert lexicon.escalation(title, text, language) == []


# Each negated or historical sentence comes with its plain twin, which must match:
# the rule, not a missing pattern, is what keeps the first one quiet.
NOT_NEW = [  # language, negated or historical text, plain text, concept
    ("en", "No shelling was reported overnight along the border in Tavush, the ministry said.",
     "Shelling was reported overnight along the border in Tavush, the ministry said.", "shelling"),
    ("ru", "Обстрелов со стороны Армении за сутки не зафиксировано, сообщили в Минобороны.",
     "Обстрелы со стороны Армении за сутки зафиксированы в Тертере, сообщили в Минобороны.", "shelling"),
    ("en", "Armenian units did not fire at Azerbaijani positions in Kalbajar, the ministry said.",
     "Armenian units fired at Azerbaijani positions in Kalbajar, the ministry said.",
     "ceasefire_violation"),
    ("en", "Yerevan denied reports that its forces had shelled Azerbaijani villages in Tovuz.",
     "Azerbaijan said that Armenian forces had shelled villages in Tovuz.", "shelling"),
    ("az", "Müdafiə Nazirliyi bildirib ki, gün ərzində atəşkəs rejimi pozulmayıb.",
     "Müdafiə Nazirliyi bildirib ki, gün ərzində atəşkəs rejimi pozulub.", "ceasefire_violation"),
    ("tr", "Savunma Bakanlığı, gece boyunca Tovuz yönünde ateşkes ihlali yaşanmadığını açıkladı.",
     "Savunma Bakanlığı, gece boyunca Tovuz yönünde ateşkes ihlali yaşandığını açıkladı.",
     "ceasefire_violation"),
    ("hy", "Պաշտպանության նախարարությունը հայտնում է, որ գիշերը հրետակոծություն չի գրանցվել։",
     "Պաշտպանության նախարարությունը հայտնում է, որ գիշերը հրետակոծություն է գրանցվել։", "shelling"),
    ("fr", "Aucun tir d'artillerie n'a été signalé dans la nuit le long de la frontière.",
     "Des tirs d'artillerie ont été signalés dans la nuit le long de la frontière.", "shelling"),
    ("en", "The 1994 ceasefire was violated thousands of times over the following decades.",
     "The ceasefire was violated several times overnight.", "ceasefire_violation"),
    ("en", "During the 2020 war, Smerch rockets hit Stepanakert almost daily.",
     "Smerch rockets hit Stepanakert overnight, local officials said.", "weapon_smerch"),
    ("en", "In 2016, Azerbaijani troops shelled Martakert during four days of fighting.",
     "Azerbaijani troops shelled Martakert on Tuesday, officials said.", "shelling"),
    ("en", "Thirty years ago, Armenian forces shelled Aghdam before capturing it.",
     "Armenian forces shelled Aghdam on Monday.", "shelling"),
    ("ru", "В 1992 году армянские силы обстреливали Шушу из Степанакерта.",
     "Армянские силы обстреливали Шушу из Степанакерта, сообщили в Баку.", "shelling"),
    ("fr", "Il y a trente ans, les forces arméniennes bombardaient Aghdam.",
     "Les forces arméniennes bombardaient Aghdam mardi.", "shelling"),
    ("az", "44 günlük müharibə zamanı Gəncə raket zərbələrinə məruz qalıb.",
     "Gəncə raket zərbələrinə məruz qalıb.", "missile_strike"),
    ("tr", "1992 yılında Ermeni güçleri Hocalı'ya saldırı düzenledi.",
     "Ermeni güçleri Hocalı'ya saldırı düzenledi.", "settlement_attack"),
    ("en", "Armenia lifted martial law in March.", "Armenia declared martial law in March.",
     "martial_law"),
]


@pytest.mark.parametrize("language, not_new, plain, concept", NOT_NEW,
                         ids=[f"{case[0]}-{case[1][:25]}" for case in NOT_NEW])
def test_negated_or_historical_mention_is_not_new(lexicon, language, not_new, plain, concept):
    published = date(2025, 6, 1)
    assert concept in by_concept(lexicon.escalation("", plain, language, published))
    assert lexicon.escalation("", not_new, language, published) == []


def test_years_are_history_relative_to_the_article_date(lexicon):
    text = "On 27 September 2020, Azerbaijani forces shelled Stepanakert."
    assert "shelling" in by_concept(lexicon.escalation("", text, "en", date(2020, 9, 27)))
    assert lexicon.escalation("", text, "en", date(2025, 1, 10)) == []


@pytest.mark.parametrize("language, text", [
    ("en", "Azerbaijan shelled Jermuk on Tuesday, the heaviest fighting since the 2020 war."),
    ("ru", "С 2020 года это самый сильный обстрел Тертера."),
])
def test_since_a_year_is_still_news(lexicon, language, text):
    assert "shelling" in by_concept(lexicon.escalation("", text, language, date(2025, 6, 1)))


# ---------------------------------------------------------------- inflection and places

@pytest.mark.parametrize("form", ["обстрел", "обстрела", "обстрелом", "обстрелы", "обстрелов"])
def test_russian_cases_of_shelling(lexicon, form):
    assert "shelling" in by_concept(lexicon.escalation("", f"Минобороны сообщило об {form} Тертера."))


@pytest.mark.parametrize("text, concept", [
    ("Des frappes aériennes ont visé Fuzuli.", "air_strike"),
    ("Une frappe aérienne a visé Fuzuli.", "air_strike"),
    ("Plusieurs civils ont été tués à Barda.", "civilian_casualties"),
])
def test_french_plurals_and_feminines(lexicon, text, concept):
    assert concept in by_concept(lexicon.escalation("", text, "fr"))


GANJA = ["Ganja'ya", "Gəncəyə", "Gəncədə", "GƏNCƏ", "Gence'ye", "Gandja", "Гянджи", "Гянджой", "Գանձակում"]
STEPANAKERT = ["Xankəndiyə", "Khankendi's", "Ханкенди", "Степанакертом", "Ստեփանակերտի", "Stepanakert"]


@pytest.mark.parametrize("form, place", [(f, "Ganja") for f in GANJA] + [(f, "Stepanakert") for f in STEPANAKERT])
def test_place_names_in_every_script_and_inflection(lexicon, form, place):
    assert [p.name for p in lexicon.places(f"Reports from {form} this morning.")] == [place]


@pytest.mark.parametrize("text", [
    "Kapanış töreni yapıldı.",            # Turkish "closing", not Kapan
    "Araç bakımı ücretsiz.",              # "maintenance", not Bakı
    "Akşam barda buluştuk.",              # "at the bar", not Barda
    "Susam helvası ikram edildi.",        # "sesame", not Şuşa
])
def test_false_friends_are_not_places(lexicon, text):
    assert lexicon.places(text) == []


def test_places_are_ranked_by_mentions(lexicon):
    ranked = lexicon.places("Ganja and Barda. Barda again, then Gəncə and Bərdə.")
    assert [p.name for p in ranked] == ["Barda", "Ganja"]
    assert ranked[0] == Place("Barda", "AZ", 40.374, 47.126)


def test_a_specific_place_beats_a_capital_used_as_a_metonym(lexicon):
    match = by_concept(lexicon.escalation("", "Baku accused Yerevan of shelling villages in Tovuz."))
    assert [p.name for p in match["shelling"].places] == ["Tovuz"]


def test_without_a_nearby_place_the_main_place_of_the_article_is_used(lexicon):
    text = ("Residents of Kapan spent the night in shelters. Kapan's mayor said schools would stay "
            "closed. Officials in Yerevan met. Later, heavy shelling was reported.")
    assert [p.name for p in by_concept(lexicon.escalation("", text, "en"))["shelling"].places] == ["Kapan"]


# An act of a state takes the country acting in its sentence, not a town of the sentence before.
ACTS_OF_A_STATE = [  # language, text, concept, place
    ("fr", "Des tirs ont visé Ganja dans la nuit. Le gouvernement arménien a décrété la mobilisation "
           "partielle des réservistes.", "mobilization", "Armenia"),
    ("en", "Shelling was reported in Tartar. Azerbaijan says Armenia has announced a general mobilization.",
     "mobilization", "Armenia"),
    ("en", "Officials in Kapan met on Monday. Armenia accused Azerbaijan of ordering a partial mobilization.",
     "mobilization", "Azerbaijan"),
    ("ru", "Жители Гянджи провели ночь в укрытиях. В Азербайджане объявлено военное положение.",
     "martial_law", "Azerbaijan"),
    ("en", "Martial law was declared in Armenia after fighting near Goris.", "martial_law", "Goris"),
]


@pytest.mark.parametrize("language, text, concept, place", ACTS_OF_A_STATE,
                         ids=[f"{case[0]}-{case[2]}-{case[3]}" for case in ACTS_OF_A_STATE])
def test_an_act_of_a_state_is_placed_in_the_country_acting(lexicon, language, text, concept, place):
    assert [p.name for p in by_concept(lexicon.escalation("", text, language))[concept].places][:1] == [place]


def test_a_country_is_never_the_place_of_an_event(lexicon):
    shelling = by_concept(lexicon.escalation("", "Azerbaijan accused Armenia of shelling overnight.", "en"))
    assert shelling["shelling"].places == ()
    assert by_concept(lexicon.escalation("", "The talks stalled after attacks on Armenia.", "en")) == {}
    assert lexicon.places("Armenia and Azerbaijan; Armenian and Azerbaijani officials.") == []


def test_azerbaijani_text_hinted_as_turkish_still_matches(lexicon):
    assert "ceasefire_violation" in by_concept(lexicon.escalation("", NOT_NEW[4][2], "tr"))


def test_analyze_takes_any_input(lexicon):
    assert lexicon.analyze(None, None) == []
    assert lexicon.analyze("", "İı\u0130ß\x00" * 100, "xx") == []


# ---------------------------------------------------------------- the lexicon file

def test_shipped_lexicon_covers_the_brief(lexicon):
    concepts = lexicon.concepts
    escalation = [c for c, info in concepts.items() if info["kind"] == "escalation"]
    assert all(concepts[c]["severity"] in (1, 2, 3) for c in escalation)
    assert all(info["severity"] == 0 for info in concepts.values() if info["kind"] == "de_escalation")
    assert len(escalation) >= 20 and len(concepts) - len(escalation) >= 5
    places = yaml.safe_load(config_path("escalation.yaml").read_text(encoding="utf-8"))["places"]
    assert len(places) >= 30 and {p["country"] for p in places} == {"AM", "AZ"}


def minimal_lexicon() -> dict:
    return {
        "concepts": [{"id": "shelling", "label": "shelling", "severity": 2, "kind": "escalation",
                      "patterns": {"any": ["shell(?:ed|ing)"]}}],
        "places": [{"name": "Ganja", "country": "AZ", "kind": "city", "lat": 40.68, "lon": 46.36,
                    "names": ["ganja"]}],
        "cues": {kind: {} for kind in ("negation", "negation_before", "negation_suffix", "denial",
                                       "history", "since")},
    }


def break_key(data):
    data["concepts"][0]["colour"] = "red"


def break_regex(data):
    data["concepts"][0]["patterns"]["any"] = ["shell(ing"]


def break_language(data):
    data["concepts"][0]["patterns"] = {"en": ["shelling"]}


def break_severity(data):
    data["concepts"][0].update(kind="de_escalation")


def break_start(data):
    data["concepts"][0]["patterns"]["any"] = [r"\w+shelling"]


def break_place(data):
    data["places"][0]["lat"] = 123


def break_scope(data):
    data["concepts"][0]["scope"] = "planet"


@pytest.mark.parametrize("breakage, expected", [
    (break_key, "concept 'shelling'"), (break_key, "'colour'"),
    (break_regex, "concept 'shelling'"), (break_language, "language 'ru'"),
    (break_severity, "severity"), (break_start, "must start with two letters"),
    (break_place, "place 'Ganja': lat"), (break_scope, "scope must be one of place, country"),
])
def test_a_bad_lexicon_is_a_one_line_value_error(tmp_path, breakage, expected):
    data = minimal_lexicon()
    path = tmp_path / "escalation.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_lexicon(path).escalation("", "Ganja was shelled.")[0].places[0].name == "Ganja"
    breakage(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError) as error:
        load_lexicon(path)
    assert expected in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("content, expected", [("concepts: [\n", "not valid YAML at line"), (None, "file not found")])
def test_an_unreadable_lexicon_is_a_config_error(tmp_path, content, expected):
    path = tmp_path / "escalation.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=expected):
        load_lexicon(path)


# ---------------------------------------------------------------- throughput

def test_throughput_on_real_articles(lexicon):
    """Prints articles per second over real news bodies; asserts only that off-topic news stays quiet."""
    truth = CORPUS / "ground-truth.json"
    if not truth.exists():
        pytest.skip(f"{truth} is not available")
    bodies = [item["articleBody"] for item in json.loads(truth.read_text(encoding="utf-8")).values()]
    started = time.process_time()
    alerted = sum(bool(lexicon.escalation("", body)) for body in bodies)
    elapsed = time.process_time() - started
    size = sum(map(len, bodies)) // len(bodies)
    print(f"\nescalation: {len(bodies) / elapsed:.0f} articles/s (CPU time, {size} chars on average, "
          f"no language hint); {alerted} of {len(bodies)} off-topic articles match")
    assert alerted <= len(bodies) // 20
