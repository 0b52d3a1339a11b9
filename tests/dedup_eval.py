"""Labelled evaluation set for the near-duplicate decision in newsmon.analysis.similarity.

Built deterministically (fixed seed) from the real article bodies of the
extraction benchmark plus hand-written reports about the conflict:

- positives: every article and every hand-written report against an edited
  copy of itself, the edits mixed 1-3 at a time: a different headline, an
  added attribution line, the last paragraph cut, typo fixes, a different
  dateline;
- hard negatives: pairs of articles from the same site, pairs of short
  articles wrapped in the same site header/footer, hand-written independent
  reports of the same event (same day, place, names, numbers, worded
  differently) and hand-written bulletins of the same template on different
  days (only places and numbers differ).

The hand-written texts are test fixtures written for this file: the events are
real, the wording is ours and the figures are not a source.

`evaluate()` runs every pair through the decision path the store uses:
signature -> band-key collision (the SQL candidate filter) -> is_near_duplicate.
`python tests/dedup_eval.py` prints recall, false merges and the similarity
distributions behind the threshold.
"""
from __future__ import annotations

import json
import random
import re
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations, cycle
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

if __name__ == "__main__":  # run as a script from a checkout: make `newsmon` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from newsmon.analysis.similarity import (  # noqa: E402
    NEAR_DUPLICATE_THRESHOLD,
    band_keys,
    estimated_similarity,
    is_near_duplicate,
    signature,
)

SEED = 20201027
CORPUS = Path(__file__).resolve().parents[2] / "shared/corpora/extraction-benchmark/ground-truth.json"
TEMPLATE_PAIRS = 30


@dataclass(frozen=True)
class Pair:
    kind: str
    stored: str       # the copy already in the database
    arriving: str     # the text looked up against it
    duplicate: bool   # the label


@dataclass(frozen=True)
class Outcome:
    pair: Pair
    similarity: float | None   # estimated Jaccard; None when a text is too short to sketch
    candidate: bool            # the LSH band filter returned the stored copy
    merged: bool               # the final decision


# ---------------------------------------------------------------- syndication edits

HEADLINES = [
    "Armenia and Azerbaijan trade blame as talks stall",
    "What we know so far",
    "UPDATE 2-Officials give new details",
    "Analysis: a fragile calm along the line of contact",
    "Exclusive: documents shed light on the dispute",
    "Karabakh: the latest",
    "Leaders meet as pressure mounts",
    "5 things to know today",
    "Explainer: why it matters",
    "World news in brief",
]

ATTRIBUTIONS = [
    "This article first appeared on Asbarez.",
    "This article first appeared on OC Media and is republished with permission.",
    "Reporting by Nvard Hovhannisyan in Yerevan and Nailia Bagirova in Baku; editing by Mark Heinrich",
    "Reporting by Felix Light; Writing by Guy Faulconbridge; Editing by Alex Richardson",
    "(Reporting by Reuters staff; editing by Peter Graff)",
    "Copyright 2023 The Associated Press. All rights reserved.",
]

DATELINES = [
    ("YEREVAN, Nov 21 (Reuters) - ", "BAKU — "),
    ("STEPANAKERT, Oct 4 (AP) — ", "Nagorno-Karabakh, 4 October (AFP) - "),
    ("MOSCOW, Sept 20 (Reuters) - ", "MOSCOW — "),
    ("GORIS, Armenia — ", "YEREVAN, Sept 28 (Reuters) - "),
    ("BAKU, Azerbaijan (AP) — ", "TARTAR, Oct 27 (AFP) - "),
]


def change_headline(original: str, copy: str, rng: random.Random) -> tuple[str, str]:
    first, second = rng.sample(HEADLINES, 2)
    return f"{first}\n\n{original}", f"{second}\n\n{copy}"


def add_attribution(original: str, copy: str, rng: random.Random) -> tuple[str, str]:
    return original, f"{copy}\n\n{rng.choice(ATTRIBUTIONS)}"


def cut_last_paragraph(original: str, copy: str, rng: random.Random) -> tuple[str, str]:
    head, newline, _ = copy.rstrip().rpartition("\n")
    if newline:
        return original, head.rstrip()
    head, stop, _ = copy.rstrip().rstrip(".").rpartition(". ")   # one paragraph: cut the last sentence
    return original, head + stop.strip() if stop else copy


def fix_typos(original: str, copy: str, rng: random.Random) -> tuple[str, str]:
    words = list(re.finditer(r"[^\W\d_]{5,}", copy))
    chosen = sorted(rng.sample(words, min(len(words), rng.randint(3, 6))), key=lambda m: m.start())
    pieces, end = [], 0
    for match in chosen:
        pieces += [copy[end : match.start()], _one_character_edit(match.group(), rng)]
        end = match.end()
    return original, "".join(pieces) + copy[end:]


def _one_character_edit(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    edits = [
        word[:i] + word[i + 1] + word[i] + word[i + 2 :],   # swapped letters
        word[:i] + word[i + 1 :],                           # dropped letter
        word[:i] + word[i] + word[i:],                      # doubled letter
    ]
    return rng.choice(edits)


def change_dateline(original: str, copy: str, rng: random.Random) -> tuple[str, str]:
    first, second = rng.choice(DATELINES)
    return first + original, second + copy


# applied in this order, so a headline lands above a dateline
EDITS = [change_dateline, fix_typos, cut_last_paragraph, add_attribution, change_headline]


def edited_copy_pair(text: str, rng: random.Random) -> Pair:
    edits = sorted(rng.sample(EDITS, rng.randint(1, 3)), key=EDITS.index)
    original, copy = text, text
    for edit in edits:
        original, copy = edit(original, copy, rng)
    kind = "copy: " + " + ".join(edit.__name__.replace("_", " ") for edit in edits)
    return Pair(kind, original, copy, duplicate=True)


# ---------------------------------------------------------------- site templates

TEMPLATES = [
    (
        "Asbarez Newsroom. Armenian news since 1908. Subscribe to our daily newsletter to get "
        "the latest updates from Armenia, Artsakh and the Diaspora.",
        "© 2024 Asbarez. All rights reserved. Reproduction of this material is permitted only "
        "with a hyperlink to the source. Follow us on Telegram and Facebook.",
    ),
    (
        "Caliber.Az — news from Azerbaijan and the region. Read the latest news first on our "
        "Telegram channel.",
        "Any use of the materials is allowed only with an active link to the website. The "
        "opinion of the editorial board may not coincide with the opinion of the author.",
    ),
    (
        "Новости Кавказа — главное за день. Подпишитесь на наш канал в Telegram, чтобы не "
        "пропустить важное.",
        "Все права защищены. Использование материалов разрешено только при наличии активной "
        "гиперссылки на источник. Мнение редакции может не совпадать с мнением автора.",
    ),
]


def with_template(text: str, template: tuple[str, str]) -> str:
    header, footer = template
    return f"{header}\n\n{text}\n\n{footer}"


# ---------------------------------------------------------------- hand-written reports

# Independent reports of the same event by two outlets: same day, place, names
# and numbers, written differently (a few share a short quotation).
SAME_EVENT_REPORTS = [
    (
        """TARTAR, Azerbaijan - Artillery shells hit the centre of Tartar on Tuesday morning, killing two civilians and wounding five others, Azerbaijan's prosecutor general's office said.

The town, about 20 km from the front line, has been shelled almost daily since fighting over Nagorno-Karabakh resumed on Sept. 27. Residents said the barrage began shortly after 9 a.m. and lasted for about forty minutes. A school building and a row of shops on Heydar Aliyev Avenue were damaged.

Hikmet Hajiyev, an aide to President Ilham Aliyev, accused Armenian forces of deliberately targeting civilians. Armenia's defence ministry denied firing at Tartar and said its forces were only responding to Azerbaijani artillery positions near the town.

The Red Cross said it was sending medical supplies to the district hospital, where the wounded were being treated.""",
        """Two people were killed and five injured when Armenian artillery struck Tartar on 27 October, according to the Azerbaijani Prosecutor General's Office.

The shelling of the district centre started at around 09:00 and continued for roughly 40 minutes, local officials told reporters. Among the damaged buildings are a secondary school and several shops on Heydar Aliyev Avenue.

"Armenia continues to deliberately target civilians," Hikmet Hajiyev, Assistant to the President of Azerbaijan, wrote on Twitter. Since 27 September Tartar, which lies some 20 kilometres from the line of contact, has come under fire nearly every day.

Yerevan rejected the accusation: defence ministry spokeswoman Shushan Stepanyan said Armenian units had not fired on the town. The wounded were taken to the Tartar district hospital, which the International Committee of the Red Cross has supplied with medicines.""",
    ),
    (
        """A missile struck a residential area of Ganja, Azerbaijan's second-largest city, early on Sunday, killing nine people and wounding 34, Azerbaijani officials said.

The strike hit an apartment block on Mirza Shafi Vazeh Street shortly after 2 a.m., hours after a Russian-brokered humanitarian ceasefire took effect. Rescuers worked through the night to pull survivors from the rubble.

Azerbaijan's Prosecutor General's Office blamed Armenian forces and said the attack was a grave violation of the truce. Armenia's Defence Ministry denied involvement and accused Baku of shelling Stepanakert at the same time.

Ganja lies about 100 km north of Stepanakert and had been hit by rockets a week earlier.""",
        """Nine civilians were killed and 34 injured when a ballistic missile hit a five-storey building in Ganja overnight, according to Azerbaijan's prosecutor general.

Residents of Mirza Shafi Vazeh Street said the blast woke them at around 02:00 on 11 October. "The whole building shook and then half of it was gone," one neighbour told reporters as emergency teams searched the debris.

Baku said the strike came from Armenian territory and broke the humanitarian ceasefire agreed in Moscow the day before. Yerevan rejected the claim, saying its forces were not targeting Azerbaijani cities, and in turn accused Azerbaijan of firing on Stepanakert.

It was the second time in a week that Ganja, home to more than 300,000 people, came under fire.""",
    ),
    (
        """Stepanakert, the main city of Nagorno-Karabakh, came under heavy shelling on Sunday as fighting between Armenian and Azerbaijani forces entered its second week.

Explosions were heard across the city from the early morning, and air-raid sirens sounded repeatedly, according to witnesses. Residents took shelter in basements, and power was cut in several districts.

The Karabakh authorities said civilians had been wounded and infrastructure damaged, while Azerbaijan's Defence Ministry said it was striking only military targets. President Ilham Aliyev said in a televised address that Azerbaijani forces had taken control of Jabrayil and several villages.

Arayik Harutyunyan, the region's leader, said Karabakh forces would target military installations in large Azerbaijani cities.""",
        """Sirens wailed over Stepanakert for much of Sunday as Azerbaijani artillery and drones pounded the capital of the breakaway region.

Local emergency services reported several wounded civilians and damage to residential buildings and the electricity network. Many families spent the day in basements; some left for Armenia by the Goris road.

In Baku, Ilham Aliyev announced in a televised address that the army had captured the town of Jabrayil along with several villages, and insisted that only military objects were being hit.

Karabakh leader Arayik Harutyunyan warned that military facilities in major Azerbaijani cities would now be considered legitimate targets. The fighting, which began on 27 September, has killed hundreds, according to both sides' figures.""",
    ),
    (
        """Armenia and Azerbaijan agreed to a humanitarian ceasefire in Nagorno-Karabakh starting at noon on Saturday, Russian Foreign Minister Sergei Lavrov said after more than ten hours of talks in Moscow.

Lavrov read out a statement saying the truce would allow the two sides to exchange prisoners and the bodies of the dead, with the mediation of the International Committee of the Red Cross. The specific parameters would be agreed separately.

The talks between Armenia's foreign minister Zohrab Mnatsakanyan and his Azerbaijani counterpart Jeyhun Bayramov were the first high-level contact since fighting erupted on Sept. 27. Lavrov said the parties would start substantive negotiations under the OSCE Minsk Group.""",
        """After marathon negotiations hosted by Sergei Lavrov that ran past 3 a.m., the foreign ministers of Azerbaijan and Armenia agreed to halt fighting in Karabakh from 12:00 local time on 10 October.

Jeyhun Bayramov and Zohrab Mnatsakanyan did not speak to the press. It was Lavrov who announced the deal, describing it as a ceasefire "for humanitarian purposes" to swap captives and recover bodies with the help of the Red Cross.

The Russian minister said the details would be worked out later and that the OSCE Minsk Group co-chairs would help the sides begin talks on a settlement. Within hours, both Baku and Yerevan accused each other of violating the truce.""",
    ),
    (
        """Президент России Владимир Путин, президент Азербайджана Ильхам Алиев и премьер-министр Армении Никол Пашинян подписали совместное заявление о полном прекращении огня в Нагорном Карабахе с полуночи 10 ноября по московскому времени. Стороны остаются на занимаемых позициях.

Вдоль линии соприкосновения и вдоль Лачинского коридора развертывается миротворческий контингент России численностью 1960 военнослужащих со стрелковым оружием, 90 бронетранспортерами и 380 единицами автомобильной и специальной техники. Срок пребывания миротворцев составит пять лет с автоматическим продлением.

Армения до 20 ноября возвращает Азербайджану Агдамский район. Путин выразил надежду, что договоренности создадут условия для долгосрочного урегулирования.""",
        """Лидеры трех стран договорились о прекращении боевых действий в Карабахе. Заявление, подписанное в ночь на 10 ноября Ильхамом Алиевым, Николом Пашиняном и Владимиром Путиным, вступило в силу в 00:00 по Москве.

По документу в регион вводятся российские миротворцы: 1960 военных, 90 БТР и 380 единиц техники. Они будут находиться в Карабахе пять лет, и этот срок продлевается автоматически, если ни одна из сторон не заявит о намерении его прекратить. Агдамский район должен перейти под контроль Азербайджана до 20 ноября.

Пашинян назвал свое решение «невероятно болезненным» для него лично и для народа Армении. В Ереване после публикации заявления начались протесты у здания правительства.""",
    ),
    (
        """Armenia said at least 49 of its soldiers were killed overnight as Azerbaijani forces shelled towns and military positions inside Armenia, including Jermuk, Goris and Vardenis.

Prime Minister Nikol Pashinyan told parliament on Tuesday that the fighting began shortly after midnight and that Azerbaijan had advanced into Armenian territory in several directions. Yerevan asked Russia for help under a 1997 friendship treaty and appealed to the Collective Security Treaty Organization.

Azerbaijan's Defence Ministry said it had responded to "large-scale provocations" by Armenian units near the border districts of Dashkesan, Kalbajar and Lachin, and reported 50 of its servicemen dead. A Russian-brokered truce was announced on Tuesday morning but was broken within hours.""",
        """Heavy fighting broke out on the Armenia–Azerbaijan border in the early hours of 13 September, with shells landing near Jermuk, Goris, Vardenis and Kapan.

Nikol Pashinyan said 49 Armenian servicemen had been killed, and the government formally requested assistance from the CSTO. Yerevan also invoked its 1997 treaty with Moscow.

Baku offered a different account, saying Armenian sabotage groups had mined roads and fired on positions in Dashkesan, Kalbajar and Lachin, and that its army took "local retaliatory measures". The Azerbaijani side later put its own losses at 50 soldiers.

Moscow said a ceasefire had been agreed at 09:00, but both sides reported continued shelling through the day. The clashes were the deadliest since the 2020 war.""",
    ),
    (
        """Dozens of Azerbaijanis describing themselves as environmental activists blocked the Lachin corridor, the only road linking Nagorno-Karabakh with Armenia, on Monday.

The protesters set up tents near Shusha and said they were demonstrating against illegal mining at the Gizilbulag gold deposit and the Damirli copper-molybdenum mine. Russian peacekeepers stood between them and the road.

Officials in Stepanakert said about 120,000 residents were cut off from supplies of food and medicine, and that the gas supply from Armenia was interrupted on Tuesday. Armenia's foreign ministry called the protest a staged blockade organised by Baku.

Azerbaijan's foreign ministry rejected the claim, saying the road remained open for humanitarian purposes.""",
        """Traffic on the Lachin corridor came to a standstill on 12 December after a group of Azerbaijani protesters, who say they are eco-activists, gathered on the road outside Shusha.

The demonstrators demand an end to what they call illegal exploitation of the Gizilbulag and Damirli mines. Russian peacekeeping troops lined up across the highway to keep them away from vehicles.

The Karabakh authorities warned of a humanitarian crisis for the region's 120,000 people, and said a gas pipeline from Armenia had stopped working. Yerevan accused Baku of orchestrating the protest to blockade Karabakh.

Baku denies any blockade. "The road is open for humanitarian convoys and for civilian traffic," its foreign ministry said in a statement.""",
    ),
    (
        """Azerbaijan launched what it called "local anti-terrorist measures" in Nagorno-Karabakh on Tuesday, shelling Stepanakert and positions of the Karabakh army.

The Azerbaijani Defence Ministry said the operation aimed to disarm and withdraw Armenian military formations from the region and to restore constitutional order. Officials in Stepanakert reported at least 27 people killed, including two civilians, and more than 200 wounded.

Nikol Pashinyan said Armenia's army was not involved and accused Baku of seeking to draw Yerevan into a war. Russia, whose peacekeepers are deployed in the region, called on both sides to stop the bloodshed.

A ceasefire was announced the next day at 13:00, under which the Karabakh forces agreed to disarm.""",
        """Explosions shook Stepanakert on 19 September after Baku announced an "anti-terror operation" against Armenian forces in Karabakh.

According to the Karabakh ombudsman, 27 people were killed in the first hours of the offensive, two of them civilians, and over 200 were injured. Azerbaijan's Defence Ministry said it was targeting only military objects and demanded the complete withdrawal of Armenian armed units.

In Yerevan, Prime Minister Pashinyan said Armenian troops were not deployed in Karabakh. Moscow urged an immediate halt to the fighting.

On 20 September the Karabakh authorities accepted a Russian-mediated truce that took effect at 1 p.m. and agreed to disband their army.""",
    ),
    (
        """В результате взрыва на складе горюче-смазочных материалов возле Степанакерта погибли не менее 20 человек, сообщил вечером 25 сентября омбудсмен непризнанной республики Гегам Степанян. Более 200 человек получили ранения, многие из них в тяжелом состоянии.

Взрыв произошел на трассе Степанакерт — Аскеран, где сотни жителей стояли в очереди за бензином, чтобы выехать в Армению. Причины пока не установлены.

Больницы Степанакерта переполнены, не хватает медикаментов. Министерство здравоохранения Армении сообщило, что готово принять пострадавших, их будут эвакуировать вертолетами.""",
        """Мощный взрыв прогремел в понедельник на бензоскладе вблизи Степанакерта. По данным карабахского омбудсмена Гегама Степаняна, погибли 20 человек, еще свыше 200 ранены.

В момент взрыва у заправки на дороге в Аскеран собралась большая очередь: люди запасались топливом перед отъездом в Армению. Следователи выясняют, что стало причиной трагедии.

Местные медики говорят, что больницы не справляются с потоком раненых и им нужна помощь. Минздрав Армении заявил о готовности принять раненых и организовать их доставку санавиацией.""",
    ),
    (
        """More than 100,000 people have arrived in Armenia from Nagorno-Karabakh since Azerbaijan took control of the region last week, the Armenian government said on Saturday.

Most crossed the Hakari bridge and were registered in Goris, where volunteers handed out food, water and clothes. Cars packed with belongings queued for hours on the mountain road from Stepanakert through the Lachin corridor.

Government spokeswoman Nazeli Baghdasaryan said 100,417 people had entered Armenia, out of a population estimated at 120,000 before the exodus. UN refugee agency officials said many of the arrivals were elderly, women and children.

Pashinyan said Armenia would offer housing assistance and accused Azerbaijan of ethnic cleansing, a charge Baku rejects.""",
        """The flow of refugees from Karabakh into Armenia exceeded 100,000 people on 30 September, Yerevan announced, nearly the entire population of the region.

In Goris, the first town on the route, the central square had become a registration centre. Families who spent days on the road from Stepanakert slept in cars and in a theatre turned into a shelter. Humanitarian groups distributed meals and blankets.

According to the Armenian government, 100,417 people had crossed the border via the Hakari bridge. The UNHCR warned that many needed medical and psychological help.

Nikol Pashinyan called the exodus an act of ethnic cleansing. Azerbaijan says residents were free to stay and that it guarantees their rights.""",
    ),
    (
        """Armenia and Azerbaijan said on Thursday they would exchange prisoners and take steps to build trust, in a joint statement issued by the office of Prime Minister Nikol Pashinyan and the administration of President Ilham Aliyev.

Azerbaijan will release 32 Armenian servicemen, while Armenia will free two Azerbaijani soldiers, the statement said. In a goodwill gesture, Armenia also withdrew its bid to host the COP29 climate conference, backing Baku's candidacy.

The two sides said they shared the view that there was a historic chance to achieve long-awaited peace in the region. The exchange took place on 13 December at the border.""",
        """In a rare joint statement on 7 December, Baku and Yerevan announced a prisoner swap and pledged to continue talks on a peace treaty.

Under the deal, 32 Armenian soldiers held in Azerbaijan would be returned in exchange for two Azerbaijani servicemen detained in Armenia. Yerevan, for its part, dropped its candidacy for COP29 and said it would support Azerbaijan as host of the UN climate summit.

"There is a historic chance to achieve long-awaited peace in the region," the statement said. The prisoners crossed the border six days later, on 13 December, in a handover witnessed by officials of both countries.""",
    ),
    (
        """Հայաստանի և Ադրբեջանի սահմանազատման հանձնաժողովները ապրիլի 19-ին համաձայնության են եկել Տավուշի մարզում սահմանի մոտ 12,7 կիլոմետր հատվածի շուրջ։ Համաձայնությունը վերաբերում է Բաղանիս, Ոսկեպար, Կիրանց և Բերքաբեր գյուղերին։

Հանձնաժողովները ղեկավարում են փոխվարչապետ Մհեր Գրիգորյանը և Ադրբեջանի փոխվարչապետ Շահին Մուստաֆաևը։ Տեղի բնակիչները մտահոգված են, որ գյուղերի որոշ տներ և ճանապարհներ կհայտնվեն սահմանի մյուս կողմում։

Վարչապետ Նիկոլ Փաշինյանը նշել է, որ գործընթացը կանխելու է նոր պատերազմը։""",
        """Տավուշում սահմանազատման աշխատանքների մեկնարկի մասին հայտարարությունը բողոքի ալիք է բարձրացրել։ Ապրիլի 19-ին Մհեր Գրիգորյանի և Շահին Մուստաֆաևի գլխավորած հանձնաժողովները պայմանավորվել են սահմանի շուրջ 12,7 կմ երկարությամբ հատվածի վերաբերյալ։

Խոսքը Ոսկեպարի, Բաղանիսի, Կիրանցի և Բերքաբերի հարակից տարածքների մասին է։ Կիրանցի բնակիչները փակել են միջպետական ճանապարհը՝ պահանջելով բացատրություններ։

Նրանց խոսքով՝ գյուղի դպրոցը և մի քանի տուն կարող են մնալ սահմանագծին շատ մոտ։ Փաշինյանը պնդում է, որ սահմանազատումը խաղաղության երաշխիք է։""",
    ),
]

# The same official template on different days: only places and numbers change.
SAME_TEMPLATE_BULLETINS = [
    (
        """Azerbaijan's Defence Ministry: On October 3, from 18:10 to 22:45, units of the Armenian armed forces located in the Basarkechar region, using small arms, subjected to fire the positions of the Azerbaijani Army Units located in the Yukhari Ayrim and Zaylik settlements of the Kalbajar district.

Adequate retaliatory measures were taken by the Azerbaijani Army Units. There are no losses among the personnel of the Azerbaijani Army. The operational situation is under the full control of our units.""",
        """Azerbaijan's Defence Ministry: On October 5, from 21:30 to 23:15, units of the Armenian armed forces located in the Chambarak region, using small arms, subjected to fire the positions of the Azerbaijani Army Units located in the Kokhanabi and Munjuglu settlements of the Tovuz district.

Adequate retaliatory measures were taken by the Azerbaijani Army Units. There are no losses among the personnel of the Azerbaijani Army. The operational situation is under the full control of our units.""",
    ),
    (
        """On November 14, at around 18:40, units of the Azerbaijani armed forces opened fire from small arms in the direction of Armenian combat positions located in the eastern part of the border near Sotk. There are no casualties on the Armenian side.

The Ministry of Defense of Armenia notes that the information spread by the Azerbaijani side about Armenian units firing on Azerbaijani positions is false.""",
        """On November 21, at around 10:15, units of the Azerbaijani armed forces opened fire from small arms and mortars in the direction of Armenian combat positions located in the southern part of the border near Nerkin Hand. There are 2 wounded on the Armenian side.

The Ministry of Defense of Armenia notes that the information spread by the Azerbaijani side about Armenian units firing on Azerbaijani positions is false.""",
    ),
    (
        """В зоне ответственности российского миротворческого контингента в Нагорном Карабахе зафиксировано одно нарушение режима прекращения огня в Шушинском районе. Пострадавших нет. Российские миротворцы продолжают выполнять задачи на 27 наблюдательных постах.

За сутки обеспечен безопасный проезд по Лачинскому коридору 45 автомобилей и 8 автобусов. Из Еревана в Степанакерт вернулись 112 беженцев, всего с 14 ноября 2020 года в Карабах вернулись более 53 тысяч человек.

Разминирование проведено на площади 6 гектаров, обезврежено 19 взрывоопасных предметов.""",
        """В зоне ответственности российского миротворческого контингента в Нагорном Карабахе зафиксировано одно нарушение режима прекращения огня в Мартакертском районе. Пострадавших нет. Российские миротворцы продолжают выполнять задачи на 23 наблюдательных постах.

За сутки обеспечен безопасный проезд по Лачинскому коридору 51 автомобиля и 6 автобусов. Из Еревана в Степанакерт вернулись 87 беженцев, всего с 14 ноября 2020 года в Карабах вернулись более 53 тысяч человек.

Разминирование проведено на площади 4 гектаров, обезврежено 27 взрывоопасных предметов.""",
    ),
    (
        """Armenian armed forces violated the ceasefire 31 times throughout the day in various directions of the front, using large-caliber machine guns, the Azerbaijani Defence Ministry said.

The positions of the Azerbaijani army were fired upon from positions near the villages of Aygedzor and Berdavan in Armenia's Tavush region, and from nameless heights in the Goranboy and Tartar districts. The Azerbaijani army responded with fire, the ministry said.""",
        """Armenian armed forces violated the ceasefire 24 times throughout the day in various directions of the front, using large-caliber machine guns, the Azerbaijani Defence Ministry said.

The positions of the Azerbaijani army were fired upon from positions near the villages of Chinari and Paravakar in Armenia's Tavush region, and from nameless heights in the Khojavand and Fuzuli districts. The Azerbaijani army responded with fire, the ministry said.""",
    ),
]


# ---------------------------------------------------------------- the set

def corpus_articles() -> list[tuple[str, str]]:
    """(URL host, article body) for every benchmark article, in a fixed order."""
    ground_truth = json.loads(CORPUS.read_text(encoding="utf-8"))
    return [
        (urlsplit(entry["url"]).hostname or "", entry["articleBody"])
        for _, entry in sorted(ground_truth.items())
    ]


def hand_written_texts() -> list[str]:
    return [text for pair in SAME_EVENT_REPORTS + SAME_TEMPLATE_BULLETINS for text in pair]


def build_pairs() -> list[Pair]:
    rng = random.Random(SEED)
    articles = corpus_articles()
    bodies = [body for _, body in articles] + hand_written_texts()
    return [
        *(edited_copy_pair(body, rng) for body in bodies),
        *same_site_pairs(articles),
        *template_pairs(articles, rng),
        *(Pair("same event, other outlet", a, b, duplicate=False) for a, b in SAME_EVENT_REPORTS),
        *(Pair("same template, other day", a, b, duplicate=False) for a, b in SAME_TEMPLATE_BULLETINS),
    ]


def same_site_pairs(articles: list[tuple[str, str]]) -> list[Pair]:
    by_host = defaultdict(list)
    for host, body in articles:
        by_host[host.removeprefix("www.")].append(body)
    return [
        Pair("same site", a, b, duplicate=False)
        for bodies in by_host.values()
        for a, b in combinations(bodies, 2)
    ]


def template_pairs(articles: list[tuple[str, str]], rng: random.Random) -> list[Pair]:
    """The shortest articles, paired at random, both wrapped in one site template:
    short bodies are where shared boilerplate weighs most."""
    shortest = sorted((body for _, body in articles), key=len)[: 2 * TEMPLATE_PAIRS]
    rng.shuffle(shortest)
    return [
        Pair("same template", with_template(a, template), with_template(b, template), duplicate=False)
        for a, b, template in zip(shortest[0::2], shortest[1::2], cycle(TEMPLATES))
    ]


# ---------------------------------------------------------------- the decision path

def judge(pair: Pair) -> Outcome:
    stored, arriving = signature(pair.stored), signature(pair.arriving)
    if stored is None or arriving is None:
        return Outcome(pair, None, candidate=False, merged=False)
    candidate = not set(band_keys(arriving)).isdisjoint(band_keys(stored))
    merged = candidate and is_near_duplicate(arriving, stored, pair.arriving, pair.stored)
    return Outcome(pair, estimated_similarity(arriving, stored), candidate, merged)


def evaluate(pairs: list[Pair] | None = None) -> list[Outcome]:
    return [judge(pair) for pair in (build_pairs() if pairs is None else pairs)]


def recall(outcomes: list[Outcome]) -> float:
    positives = [o for o in outcomes if o.pair.duplicate]
    return sum(o.merged for o in positives) / len(positives)


def false_merges(outcomes: list[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.merged and not o.pair.duplicate]


def corpus_cross_merges(texts: list[str]) -> tuple[int, list[tuple[int, int]]]:
    """Store every text in one band index and look each one up, as the store does.
    Returns the number of candidate pairs and the pairs merged; the texts are
    distinct articles, so every merge is a false one."""
    signatures = [signature(text) for text in texts]
    index = defaultdict(set)
    for i, sig in enumerate(signatures):
        for key in band_keys(sig):
            index[key].add(i)
    candidates = {
        (min(i, j), max(i, j))
        for i, sig in enumerate(signatures)
        for key in band_keys(sig)
        for j in index[key]
        if j != i
    }
    merged = [
        (i, j) for i, j in sorted(candidates)
        if is_near_duplicate(signatures[i], signatures[j], texts[i], texts[j])
    ]
    return len(candidates), merged


def highest_cross_similarity(texts: list[str]) -> float:
    signatures = np.stack([signature(text) for text in texts])
    agreement = (signatures[:, None, :] == signatures[None, :, :]).mean(axis=2)
    np.fill_diagonal(agreement, 0.0)
    return float(agreement.max())


# ---------------------------------------------------------------- the report

def distribution(outcomes: list[Outcome]) -> str:
    values = [o.similarity for o in outcomes if o.similarity is not None]
    if len(values) < 2:
        return f"n={len(values)} " + " ".join(f"{v:.2f}" for v in values)
    fifth, *_, ninety_fifth = statistics.quantiles(values, n=20, method="inclusive")
    return (
        f"n={len(values):3d}  min {min(values):.2f}  p5 {fifth:.2f}  median {statistics.median(values):.2f}"
        f"  p95 {ninety_fifth:.2f}  max {max(values):.2f}"
    )


def print_report(outcomes: list[Outcome]) -> None:
    positives = [o for o in outcomes if o.pair.duplicate]
    negatives = [o for o in outcomes if not o.pair.duplicate]
    print(f"threshold {NEAR_DUPLICATE_THRESHOLD}: {len(positives)} positive pairs, {len(negatives)} negative pairs")
    print(f"recall {recall(outcomes):.3f}   false merges {len(false_merges(outcomes))}")
    lsh_misses = [o for o in positives if not o.candidate and _similarity(o) >= NEAR_DUPLICATE_THRESHOLD]
    print(f"positives above the threshold missed by the band filter: {len(lsh_misses)}")
    print("\nestimated Jaccard, positives by number of edits:")
    _print_distributions(positives, lambda o: f"{o.pair.kind.count('+') + 1} edit(s)")
    print(f"  {'all positives':26} {distribution(positives)}")
    print("estimated Jaccard, negatives by kind:")
    _print_distributions(negatives, lambda o: o.pair.kind)
    _print_extremes(positives, negatives)


def _print_distributions(outcomes: list[Outcome], group_of) -> None:
    groups = defaultdict(list)
    for o in outcomes:
        groups[group_of(o)].append(o)
    for name, group in sorted(groups.items()):
        print(f"  {name:26} {distribution(group)}")


def _print_extremes(positives: list[Outcome], negatives: list[Outcome]) -> None:
    print("\nmissed positives:")
    for o in sorted((o for o in positives if not o.merged), key=_similarity):
        similarity = "too short to sketch" if o.similarity is None else f"{o.similarity:.2f}"
        print(f"  {similarity}  candidate={o.candidate}  {o.pair.kind}")
    print("highest negatives:")
    for o in sorted(negatives, key=_similarity, reverse=True)[:6]:
        print(f"  {o.similarity:.2f}  candidate={o.candidate}  merged={o.merged}  {o.pair.kind}")


def _similarity(outcome: Outcome) -> float:
    return -1.0 if outcome.similarity is None else outcome.similarity


def main() -> None:
    print_report(evaluate())
    texts = [body for _, body in corpus_articles()] + hand_written_texts()
    candidates, merged = corpus_cross_merges(texts)
    print(f"\nwhole corpus in one band index ({len(texts)} distinct articles): "
          f"{candidates} candidate pairs, {len(merged)} merged")
    unrelated = texts[: -2 * len(SAME_TEMPLATE_BULLETINS)]
    print(f"highest estimated Jaccard between two of them, bulletins left out: "
          f"{highest_cross_similarity(unrelated):.2f}")


if __name__ == "__main__":
    main()
