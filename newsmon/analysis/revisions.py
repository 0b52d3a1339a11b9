"""What changed between two versions of an article: the headline, and sentences whose figures moved.

An edited report matters when its headline or its numbers change (a death
toll raised from 3 to 5, a date corrected). Sentences are aligned with
difflib; a replaced sentence is reported when the numbers in it differ, so a
rephrasing without new figures stays quiet. Numbers are digits (every
language here writes figures in digits) and English number words up to
twelve (which style guides spell out).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

# digits in every script this project reads, and the English words a sentence may start with
NUMBER = re.compile(r"\d+(?:[.,]\d+)*|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
                    r"dozens?|hundreds?)\b", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?։…])\s+|\n+")   # ։ is the Armenian full stop
QUOTE_CHARS = 160


@dataclass(frozen=True)
class Edit:
    what: str          # "headline" | "figures"
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.what}: {_quote(self.before)} -> {_quote(self.after)}"


def edits(before_title: str, before_text: str, after_title: str, after_text: str) -> list[Edit]:
    """The headline change (if any), then each replaced sentence whose numbers changed."""
    found = []
    if before_title.strip() != after_title.strip():
        found.append(Edit("headline", before_title, after_title))
    old, new = sentences(before_text), sentences(after_text)
    for tag, i1, i2, j1, j2 in SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "replace":
            continue
        was, now = " ".join(old[i1:i2]), " ".join(new[j1:j2])
        if _figures(was) != _figures(now):
            found.append(Edit("figures", was, now))
    return found


def _figures(sentence: str) -> list[str]:
    return [number.casefold() for number in NUMBER.findall(sentence)]


def sentences(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE_END.split(text or "") if part.strip()]


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…")
