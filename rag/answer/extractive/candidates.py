"""Candidate answers: every value a question could ask for, found in a tagged sentence.

A candidate is a span of one evidence sentence with a coarse type. The types come from the
tagger (LAC: ``PER LOC ORG TIME`` entities, ``nz`` proper nouns, ``nw`` titles of works, ``m``
numerals + ``q`` measure words), from punctuation (“quoted” and 《titled》 names, enumerations
joined by 、, clauses between commas, ``header：value`` cells of table rows) and from noun runs
(noun phrases). Nothing here decides which candidate is right: the scorer does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lexicon import Lexicon
from .tagger import Tagged

# in order of preference when two kinds of candidate cover the same span
TYPES = ("PER", "LOC", "ORG", "TIME", "QUOTE", "TITLE", "NUM", "CELL", "NZ", "NW", "ENUM", "NP", "CLAUSE")
MAX_CLAUSE = 60  # characters; a longer clause is no value
_QUOTED = re.compile(r"“([^”]{1,25})”|\"([^\"]{1,25})\"|「([^」]{1,25})」")
_TITLED = re.compile(r"《([^》]{1,40})》")
_ENUM = re.compile(r"[^，。；：、,;:（）()“”]{1,20}(?:、[^，。；：、,;:（）()“”]{1,20})+(?:等[^，。；：,;:]{0,6})?")
_CLAUSE = re.compile(r"[^，。；：,;:！？!?]+")
_CELL = re.compile(r"(?:^|[，；,;])([^：:，；,;。]{1,16})[：:]([^：:，；,;。]{1,40})")
_DIGITS = re.compile(r"[0-9０-９零〇一二两三四五六七八九十百千万亿]")
_NUM_START = re.compile(r"[0-9零〇一二两三四五六七八九十百千万亿几数多半约近超逾]")


@dataclass(frozen=True)
class Candidate:
    """A candidate answer: ``sentence.text[start:end]`` of evidence sentence number ``sent``.
    type: one of ``TYPES``. head: a word the span ends with that names its kind (the measure
    word of a number, a cell's column header), or ""."""

    sent: int
    start: int
    end: int
    text: str
    type: str
    head: str = ""


def spans(tagged: Tagged) -> list[tuple[int, int, str, str]]:
    """``(start, end, word, tag)`` of each tagged word."""
    out, p = [], 0
    for w, t in tagged:
        out.append((p, p + len(w), w, t))
        p += len(w)
    return out


def value_candidates(sent: int, text: str, tagged: Tagged, lex: Lexicon) -> list[Candidate]:
    """Every candidate value of one sentence (see the module docstring), without duplicates."""
    words = spans(tagged)
    out: dict[tuple[int, int], Candidate] = {}

    def add(s: int, e: int, typ: str, head: str = "") -> None:
        while s < e and text[s] in " 　":
            s += 1
        while e > s and text[e - 1] in " 　，、。":
            e -= 1
        if e - s < 1 or (e - s == 1 and typ not in ("NUM",)):
            return
        key = (s, e)
        old = out.get(key)
        if old is None or TYPES.index(typ) < TYPES.index(old.type):
            out[key] = Candidate(sent, s, e, text[s:e], typ, head or (old.head if old else ""))
        elif head and (not old.head or typ == "CELL"):  # a cell's column header names what the value is
            out[key] = Candidate(sent, s, e, old.text, old.type, head)

    entity_map = {"PER": "PER", "LOC": "LOC", "ORG": "ORG", "TIME": "TIME", "nz": "NZ", "nw": "NW"}
    i = 0
    while i < len(words):
        s, e, w, t = words[i]
        if t in entity_map:
            add(s, e, entity_map[t])
            # a run of places and organisations is one name ("运城市" + "教育局")
            j = i
            while j + 1 < len(words) and words[j + 1][3] in ("LOC", "ORG", "nz"):
                j += 1
            if j > i:
                typ = "ORG" if any(words[k][3] == "ORG" for k in range(i, j + 1)) else "LOC"
                add(s, words[j][1], typ)
        if t in ("m", "TIME") and _NUM_START.match(w):
            # a numeral with what measures it: "1200册", "90280辆", "5.3%", "三个"
            end, head = e, ""
            m = lex.unit_re.match(text, e)
            if m:
                end, head = m.end(), m.group()
            elif i + 1 < len(words) and words[i + 1][3] == "q":
                end, head = words[i + 1][1], words[i + 1][2]
            else:
                tail = lex.unit_re.search(w)
                head = tail.group() if tail and tail.end() == len(w) else ""
            if _DIGITS.search(w):
                add(s, end, "TIME" if t == "TIME" else "NUM", head)
        i += 1

    # noun phrases: runs of nouns, and the run without its first word (its head part)
    run: list[tuple[int, int, str, str]] = []
    for item in words + [(len(text), len(text), "", "w")]:
        if item[3] in lex.noun_tags and item[3] != "PER":
            run.append(item)
            continue
        if run:
            add(run[0][0], run[-1][1], "NP", run[-1][2])
            if len(run) >= 2:
                add(run[1][0], run[-1][1], "NP", run[-1][2])
        run = []

    for m in _QUOTED.finditer(text):
        g = next(i for i in (1, 2, 3) if m.group(i))
        add(m.start(g), m.end(g), "QUOTE")
    for m in _TITLED.finditer(text):
        add(m.start(1), m.end(1), "TITLE")
    for m in _ENUM.finditer(text):
        add(m.start(), m.end(), "ENUM")
    for m in _CELL.finditer(text):
        add(m.start(2), m.end(2), "CELL", m.group(1).strip())
    for m in _CLAUSE.finditer(text):
        if 4 <= m.end() - m.start() <= MAX_CLAUSE:
            add(m.start(), m.end(), "CLAUSE")
    return list(out.values())
