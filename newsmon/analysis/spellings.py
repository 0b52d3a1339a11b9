"""Other spellings of a search word: a place's names across languages and scripts
(the gazetteer's aliases: Ganja, Gəncə, Гянджа, Գանձակ) and Turkish dotted/dotless I.

Pure and cheap: reads escalation.yaml's places and the generated gazetteer once,
without compiling the lexicon.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from newsmon.analysis.escalation import alias_key, place_aliases, read_gazetteer
from newsmon.core.config import config_path, read_yaml


def lower_case(text: str) -> str:
    """Lower case as the search index stores words: "İ" is "i", not "i" + a combining dot (casefold)."""
    return text.replace("İ", "i").casefold()


def turkish_i_variants(word: str) -> set[str]:
    """The word lower-cased both ways when it has a capital I: SALDIRISI is saldirisi or saldırısı."""
    lowered = lower_case(word)
    return {lowered, lower_case(word.replace("I", "ı"))} if "I" in word else {lowered}


@lru_cache(maxsize=4)
def _aliases(path: Path) -> dict[str, tuple[str, ...]]:
    data = read_yaml(path, "escalation lexicon")
    return place_aliases(data.get("places", []), read_gazetteer(path, data))


def spellings(word: str, lexicon_path: str | Path | None = None) -> tuple[str, ...]:
    """Every lower-case spelling a search for `word` should also find, the word's own first.
    A place's names end with "*": they are stems, inflected in the text (Gəncədə, Гянджи)."""
    found = dict.fromkeys([lower_case(word), *sorted(turkish_i_variants(word))])
    names = _aliases(Path(config_path("escalation.yaml", lexicon_path))).get(alias_key(word), ())
    for name in names:
        if len(name.split()) == 1:     # single words: a search term is one word
            found[stem(name) + "*"] = None
    return tuple(found)


def stem(name: str) -> str:
    """A place name as a search stem: Russian declines a final а/я (Гянджа, Гянджи, Гяндже);
    the other five languages add suffixes (Gəncədə, Գանձակում), so their names stay whole.
    GeoNames' ǝ (U+01DD) is written ə (U+0259), as Azerbaijani is."""
    lowered = lower_case(name).replace("ǝ", "ə")
    return lowered[:-1] if len(lowered) >= 5 and lowered[-1] in "ая" else lowered
