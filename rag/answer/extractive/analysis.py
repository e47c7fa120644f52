"""Question analysis: what kind of answer a question wants and what it takes as given.

Classic factoid QA maps a question to an expected answer type and the terms and names an answer
must be tied to (Moldovan et al. 2000, "The structure and performance of an open-domain question
answering system", ACL). Here the analysis only *describes* the question — its interrogative and
the category of it (谁 → who, 多少 → howmany …), the focus noun it asks about (哪个**品牌**, **县委
书记**是谁), the measure word it wants (多少**辆**), its weighted terms and its names — and the
learned scorer (``scorer.py``) decides how much each agreement between question and evidence
counts. Pure: no archive access.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .lexicon import Lexicon
from .tagger import Tagged

KINDS = ("factoid", "list", "statements", "description", "events", "author")
WH_CATEGORIES = ("none", "who", "when", "where", "howmany", "which", "what", "how", "why", "yesno")
NAME_TAGS = ("PER", "LOC", "ORG", "TIME", "nz", "nw")
SINGLE_CHAR_WEIGHT = 0.3  # a single Han character carries little meaning alone
UNKNOWN_TERM_WEIGHT = 0.25  # a term the archive never uses: this share of the largest idf
_QUOTED = re.compile(r"[“\"「『《]([^”\"」』》]{1,30})[”\"」』》]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Name:
    """A name the question takes as given: ``text`` with its tag (``PER LOC ORG TIME nz nw`` from
    the tagger, ``NUM`` a number, ``QUOTE`` a quoted or 《》 name) at ``start`` in the question."""

    text: str
    tag: str
    start: int


@dataclass(frozen=True)
class Frame:
    """What a question asks (see the module docstring).

    text: the question as analysed (standalone, normalised). kind: one of ``KINDS`` (the answer
    kind of ``kinds/``). wh: one of ``WH_CATEGORIES``; wh_start/wh_end: character offsets of the
    interrogative (-1 when there is none). focus: the noun the interrogative asks about ("" when
    none). measure: the measure word after 多少/几 ("" when none). terms: content term → weight
    (idf; see ``analyze``); term_pos: term → its first offset in ``text``. names: the question's
    names. cues: the cue groups of ``lexicon.toml [cues]`` the question uses. unknown_share: the
    share of the terms' weight that the archive never uses. tagged: the tagger's words of ``text``.
    """

    text: str
    kind: str
    wh: str
    wh_start: int
    wh_end: int
    focus: str
    measure: str
    terms: dict[str, float]
    term_pos: dict[str, int]
    names: tuple[Name, ...]
    cues: frozenset[str]
    unknown_share: float = 0.0
    tagged: Tagged = field(default_factory=list, repr=False)

    @property
    def factoid(self) -> bool:
        return self.kind == "factoid"

    @property
    def total_weight(self) -> float:
        return sum(self.terms.values())


def analyze(
    question: str,
    lex: Lexicon,
    tagged: Tagged,
    tokenize: Callable[[str], list[str]],
    idf: Callable[[str], float],
    df: Callable[[str], int],
) -> Frame:
    """Describe ``question`` (standalone and normalised).

    tagged: the tagger's words of ``question``; tokenize: the keyword tokenizer (content tokens,
    stopwords removed); idf/df: the keyword index's statistics. A term's weight is its idf (BM25
    idf, Robertson–Spärck Jones); a single Han character weighs ``SINGLE_CHAR_WEIGHT`` of that; a
    term the archive never uses weighs ``UNKNOWN_TERM_WEIGHT`` of the largest idf.
    """
    q = question
    wh, wh_start, wh_end = _interrogative(q, lex)
    kind = _kind(q, wh, lex)
    focus = _focus(q, tagged, wh_start, wh_end, lex)
    measure = _measure(q, wh_end, lex) if wh == "howmany" else ""
    bare = lex.wh_re.sub(" ", q)
    max_idf = idf("\x00never-a-token\x00")
    terms: dict[str, float] = {}
    pos: dict[str, int] = {}
    unknown: set[str] = set()
    for t in tokenize(bare):
        if t in lex.scaffold:
            continue
        known = df(t) > 0
        if not known:
            unknown.add(t)
        w = idf(t) if known else UNKNOWN_TERM_WEIGHT * max_idf
        if len(t) == 1 and not t.isdigit():
            w *= SINGLE_CHAR_WEIGHT
        if w > terms.get(t, 0.0):
            terms[t] = w
        if t not in pos:
            pos[t] = q.find(t)
    cues = frozenset(name for name, rx in lex.cues.items() if rx.search(q))
    total = sum(terms.values())
    share = sum(terms[t] for t in unknown) / total if total > 0 else 0.0
    return Frame(q, kind, wh, wh_start, wh_end, focus, measure, terms, pos, _names(q, tagged), cues, share, tagged)


def _interrogative(q: str, lex: Lexicon) -> tuple[str, int, int]:
    """The interrogative that decides the category: a specific one (谁, 多少, 哪天…) before a
    generic one (什么, 哪些); ``("none", -1, -1)`` when there is none."""
    found = []
    for i in range(len(q)):  # every match, overlapping ones too ("出现在哪些": 在哪 and 哪些)
        m = lex.wh_re.match(q, i)
        # "在哪/去哪" + 些/几/个 is the 哪 of 哪些/哪几/哪个: that longer interrogative decides
        if m and not (m.group().endswith("哪") and q[m.end() : m.end() + 1] in ("些", "几", "个")):
            found.append((m.start(), m.end(), lex.wh_category[m.group()]))
    if not found:
        return "none", -1, -1
    rank = {c: i for i, c in enumerate(("who", "when", "where", "howmany", "which", "why", "how", "what", "yesno"))}
    s, e, cat = min(found, key=lambda f: (rank[f[2]], f[0]))
    return cat, s, e


def question_kind(question: str, lex: Lexicon) -> str:
    """The answer kind of ``question`` (one of ``KINDS``) from its words alone, without the
    tagger (for the pipeline: an events question reads more passages)."""
    return _kind(question, _interrogative(question, lex)[0], lex)


def _kind(q: str, wh: str, lex: Lexicon) -> str:
    if lex.author_re.search(q):
        return "author"
    if lex.events_re.search(q):
        return "events"
    if lex.speech_re.search(q):
        return "statements"
    if wh in ("how", "why", "yesno", "none"):
        return "description"
    if lex.list_re.search(q):
        return "list"
    return "factoid"


def _focus(q: str, tagged: Tagged, wh_start: int, wh_end: int, lex: Lexicon) -> str:
    """The noun the interrogative asks about: the nouns right after it (哪个**汽车品牌**, 什么
    **奖项**), else the nouns right before "是/为 + interrogative" (**县委书记**是谁)."""
    if wh_start < 0:
        return ""
    spans, p = [], 0
    for w, t in tagged:
        spans.append((p, p + len(w), w, t))
        p += len(w)
    after = []
    for s, _e, w, t in spans:
        if s < wh_end:
            continue
        if t in lex.noun_tags or (t == "q" and not after):
            if t != "q":
                after.append(w)
            if len(after) >= 3:
                break
            continue
        break
    if after:
        return "".join(after)
    m = re.search(r"(?:是|为|叫|有)(?:由)?$", q[:wh_start])
    end = m.start() if m else -1
    if end <= 0:
        return ""
    before: list[str] = []
    edge = end
    for s, e, w, t in reversed(spans):
        if e > edge:
            continue
        if e == edge and t in lex.noun_tags:
            before.insert(0, w)
            edge = s
            if len(before) < 3:
                continue
        break
    return "".join(before)


def _measure(q: str, wh_end: int, lex: Lexicon) -> str:
    """The measure word right after 多少/几 ("多少辆" → 辆), or ""."""
    m = lex.unit_re.match(q, wh_end)
    return m.group() if m else ""


def _names(q: str, tagged: Tagged) -> tuple[Name, ...]:
    """The question's names: tagged entities, numbers and quoted names, in order."""
    out, p = [], 0
    for w, t in tagged:
        if t in NAME_TAGS and len(w) >= 2:
            out.append(Name(w, t, p))
        p += len(w)
    out += [Name(m.group(), "NUM", m.start()) for m in _NUMBER.finditer(q)]
    out += [Name(m.group(1), "QUOTE", m.start(1)) for m in _QUOTED.finditer(q)]
    seen, uniq = set(), []
    for n in sorted(out, key=lambda n: n.start):
        if n.text not in seen:
            seen.add(n.text)
            uniq.append(n)
    return tuple(uniq)
