"""What one report says about an act, read without translation (newsmon.analysis.incident_facts)."""
from __future__ import annotations

from datetime import date

import pytest

from newsmon.alerting.rules import default_lexicon
from newsmon.analysis.incident_facts import attacking_side, casualties, event_day, may_deny, read_report

PUBLISHED = date(2026, 12, 4)


@pytest.mark.parametrize("text, expected", [
    ("Shelling on 3 December", (date(2026, 12, 3), "day")),
    ("Обстрел 3 декабря", (date(2026, 12, 3), "day")),
    ("dekabrın 3-də atəşə tutulub", (date(2026, 12, 3), "day")),
    ("դեկտեմբերի 3-ին հրետակոծվել է", (date(2026, 12, 3), "day")),
    ("3 Aralık günü saldırı", (date(2026, 12, 3), "day")),
    ("bombardée le 1er décembre", (date(2026, 12, 1), "day")),
    ("Shelling on December 3", (date(2026, 12, 3), "day")),
    ("Shelled yesterday", (date(2026, 12, 3), "day")),
    ("on 20 December", (date(2025, 12, 20), "day")),          # a date after publication is last year's
    ("Shelled overnight near Martakert 3 km from the line", (PUBLISHED, "reported")),
])
def test_event_day(text, expected):
    assert event_day(text, PUBLISHED) == expected


@pytest.mark.parametrize("text, expected", [
    ("Two civilians were killed and three were wounded.", (2, 3)),
    ("Погибли 2 мирных жителя, 4 человека ранены.", (2, 4)),
    ("Погибли двое военнослужащих, трое ранены.", (2, 3)),
    ("3 խաղաղ բնակիչ զոհվել է, 5 հոգի վիրավորվել է։", (3, 5)),
    ("1 mülki şəxs həlak olub, 2 nəfər yaralanıb.", (1, 2)),
    ("İki sivil hayatını kaybetti, üç kişi yaralandı.", (2, 3)),
    ("Deux civils ont été tués et quatre blessés.", (2, 4)),
    ("Shells fell on 2020 houses; nobody was hurt.", (None, None)),
    ("The shelling damaged a school.", (None, None)),
])
def test_casualties(text, expected):
    assert casualties(text) == expected


def test_attacking_side_in_several_languages():
    assert attacking_side("Armenian forces shelled Tartar") == "AM"
    assert attacking_side("ВС Азербайджана открыли огонь") == "AZ"
    assert attacking_side("Ermənistan silahlı qüvvələri atəşə tutub") == "AM"
    assert attacking_side("les forces azerbaïdjanaises ont ouvert le feu") == "AZ"
    assert attacking_side("Shelling reported near Goris") is None


def test_reports_denials_types_and_what_is_not_an_incident():
    lexicon = default_lexicon()

    def read(title, text, language):
        return read_report(lexicon, title, text, language, PUBLISHED)

    drone = read("Drone strike hits Goris", "A drone strike hit a position near Goris on 3 December.", "en")
    assert (drone.type.name, drone.type.acled_sub_event_type, drone.place.name, drone.denial) == \
        ("air_drone_strike", "Air/drone strike", "Goris", False)
    assert drone.evidence == "A drone strike hit a position near Goris on 3 December."
    denial = read("Минобороны опровергло", "Военное ведомство опровергло сообщения об обстреле населенного пункта "
                  "Тертер 3 декабря.", "ru")
    assert (denial.denial, denial.type.name, denial.place.name, denial.event_date) == \
        (True, "shelling", "Tartar", date(2026, 12, 3))
    clash = read("Clashes near Sotk", "Azerbaijani forces opened fire on positions near Sotk.", "en")
    assert (clash.type.acled_event_type, clash.actor, clash.date_precision) == ("Battles", "AZ", "reported")
    smerch = read("Smerch", "Armenian forces fired Smerch rockets at Barda.", "en")
    assert smerch.weapons == ("weapon_smerch",) and smerch.type.name == "shelling"
    assert read("Mobilization", "Armenia declared a general mobilization.", "en") is None       # not an act of violence
    assert read("Talks", "The foreign ministers met in Brussels for peace talks.", "en") is None
    assert read("Shelling", "Heavy shelling was reported overnight.", "en") is None             # no place


@pytest.mark.parametrize("text, expected", [
    ("The ministry denied the reports.", True),
    ("Минобороны ОПРОВЕРГЛО сообщения", True),                 # lowered first
    ("Müdafiə Nazirliyi xəbərləri təkzib edib.", True),
    ("(Fake) news", True),                                      # a word after punctuation
    ("The president saw evidence of damage.", False),           # "den" inside words is no cue
    ("Shelling hit Goris overnight.", False),
])
def test_may_deny_looks_at_word_starts(text, expected):
    assert may_deny(text) is expected


def test_read_report_with_the_matches_handed_over_reads_the_same():
    lexicon = default_lexicon()
    for title, text, language in [
            ("Drone strike hits Goris", "A drone strike hit a position near Goris on 3 December.", "en"),
            ("Минобороны опровергло", "Военное ведомство опровергло сообщения об обстреле Тертер 3 декабря.", "ru"),
            ("Talks", "The foreign ministers met in Brussels for peace talks.", "en")]:
        matches = lexicon.escalation(title, text, language, PUBLISHED)
        assert read_report(lexicon, title, text, language, PUBLISHED, matches) == \
            read_report(lexicon, title, text, language, PUBLISHED)
