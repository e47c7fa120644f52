"""Sentences of the evidence: candidates, their weighted question terms, clause windows,
redundancy and the shared data types of the extractive answerer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...chunk import split_sentences
from ...types import Chunk, Citation, ScoredChunk

ABSTAIN_MESSAGE = "新闻档案中没有找到能回答这个问题的内容。可以换个说法、补充人名或地名，或调整日期范围后再试。"

# A speaker opening a paragraph: "李晓军强调，…", "解芳指出，…" (reporting verbs of news prose)
SPEAKER_LEAD = re.compile(
    r"^([\u4e00-\u9fff]{2,4})(?:还|也|再次|同时)?(强调|指出|要求|表示|希望|提出|说|在安排|在讲话中|讲话)"
)
INSTRUCTION = re.compile(r"^(?:要|切实|坚持|进一步|加强|推动|各级各部门要|各乡镇要|必须|务必)")
SCAFFOLD = re.compile(
    r"哪些地方|什么地方|哪些方面|哪几个方面|什么时候|哪一天|哪些|哪几|哪里|哪儿|什么|怎么样|怎么|如何|"
    r"是谁|有谁|都有|分别|有没有|是不是|是否|讲了些|讲了|说了|提了|多少|会议上|会上|什么职务|职务|叫什么名字|名字"
)
QUESTION_BIGRAMS = {
    "什么",
    "哪些",
    "哪里",
    "哪天",
    "多少",
    "怎么",
    "如何",
    "是否",
    "有什",
    "么要",
    "了什",
    "是什",
    "哪几",
    "县里",
    "我县",
    "要求",
    "强调",
}


@dataclass
class Doc:
    """One article as evidence: its text (rebuilt from its chunks, so offsets are article
    offsets), its chunks in order, and the best retrieval rank/score of its passages."""

    article_id: str
    title: str
    date: str
    author: str
    source: str
    text: str
    chunks: list[Chunk]
    rank: int
    score: float
    retrieved: set[str] = field(default_factory=set)  # ids of its chunks that were retrieved

    @property
    def context(self) -> str:
        return f"{self.title}\n{self.text}\n{self.author}"

    def passage_for(self, start: int, end: int) -> ScoredChunk:
        """The chunk holding ``text[start:end]`` (a retrieved one when possible) as a passage."""
        holding = [c for c in self.chunks if c.start <= start and end <= c.end]
        if not holding:
            holding = sorted(self.chunks, key=lambda c: -(min(c.end, end) - max(c.start, start)))[:1]
        best = sorted(holding, key=lambda c: (c.id not in self.retrieved, c.index))[0]
        return ScoredChunk(best, self.score, chunk_ids=[best.id])


@dataclass
class Sentence:
    doc: int  # index into the answer's docs
    start: int  # article offsets
    end: int
    text: str
    para_head: str  # first sentence of its paragraph
    score: float = 0.0


def doc_sentences(docs: Sequence[Doc]) -> list[Sentence]:
    """Every sentence of every doc, with the first sentence of its paragraph."""
    out = []
    for i, d in enumerate(docs):
        head, prev_end = "", 0
        for s, e in split_sentences(d.text):
            if s == 0 or "\n" in d.text[prev_end:s]:
                head = d.text[s:e]
            prev_end = e
            out.append(Sentence(i, s, e, d.text[s:e], head))
    return out


def rebuild_text(chunks: Sequence[Chunk]) -> str:
    """An article's text from its chunks (overlapping slices at article offsets); gaps
    between chunks (paragraph breaks no chunk holds) become newlines."""
    text = ""
    for c in sorted(chunks, key=lambda c: c.start):
        if c.start > len(text):
            text += "\n" * (c.start - len(text))
        if c.end > len(text):
            text = text[: c.start] + c.text
    return text


def coverage(terms: dict[str, float], text: str) -> float:
    """IDF-weighted share of ``terms`` found in ``text``, in [0, 1]."""
    total = sum(terms.values())
    return sum(w for t, w in terms.items() if t in text) / total if total > 0 else 0.0


def window(sentence: str, terms: dict[str, float], limit: int, keep: tuple[int, int] | None = None) -> tuple[int, int]:
    """The part of a long sentence that matters: ``(start, end)`` of the run of clauses
    (split after ，；：) around the clause with the most question terms (or the one holding
    ``keep``), at most ``limit`` characters. A sentence within ``limit`` is returned whole."""
    if len(sentence) <= limit:
        return 0, len(sentence)
    bounds = [m.span() for m in re.finditer(r"[^，；：,]+[，；：,]?", sentence)]
    if len(bounds) < 2:
        return 0, limit
    weights = [sum(w for t, w in terms.items() if t in sentence[s:e]) for s, e in bounds]
    if keep is not None:
        best = next((i for i, (s, e) in enumerate(bounds) if s <= keep[0] < e), 0)
    else:
        best = max(range(len(bounds)), key=lambda i: (weights[i], -i))
        if weights[best] == 0:
            best = 0
    lo = hi = best
    size = bounds[best][1] - bounds[best][0]
    while True:
        grow = []
        if lo > 0 and size + bounds[lo - 1][1] - bounds[lo - 1][0] <= limit:
            grow.append((weights[lo - 1], 1, lo - 1))
        if hi < len(bounds) - 1 and size + bounds[hi + 1][1] - bounds[hi + 1][0] <= limit:
            grow.append((weights[hi + 1], 0, hi + 1))
        if not grow:
            break
        _, left, idx = max(grow)
        lo, hi = (idx, hi) if left else (lo, idx)
        size += bounds[idx][1] - bounds[idx][0]
    return bounds[lo][0], bounds[hi][1]


def clipped(sentence: str, span: tuple[int, int]) -> str:
    """``sentence[span]`` with "……" where it was cut (trailing clause punctuation dropped)."""
    s, e = span
    text = sentence[s:e]
    if e < len(sentence):
        text = text.rstrip("，；：,") + "……"
    if s > 0:
        text = "……" + text
    return text


def similar(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams (redundancy check)."""
    x = {a[i : i + 2] for i in range(len(a) - 1)}
    y = {b[i : i + 2] for i in range(len(b) - 1)}
    return len(x & y) / len(x | y) if x and y else 0.0


def make_citation(n: int, p: ScoredChunk, spans: Sequence[tuple[int, int]] = ()) -> Citation:
    """Citation ``[n]`` for a retrieved passage.

    spans: ``(start, end)`` article offsets of the cited sentences inside the passage; the
        quote then runs from the first to the last of them and ``highlights`` lists each.
        Without spans (or with none inside the passage) the whole passage is the quote.
    """
    c = p.chunk
    inside = sorted({(max(s, c.start), min(e, c.end)) for s, e in spans if s < c.end and e > c.start and s < e})
    start, end = (inside[0][0], max(e for _, e in inside)) if inside else (c.start, c.end)
    return Citation(
        n=n,
        article_id=c.article_id,
        title=c.title,
        date=c.date,
        author=c.author,
        source=c.source,
        chunk_id=c.id,
        start=start,
        end=end,
        quote=c.text[start - c.start : end - c.start],
        score=round(p.score, 4),
        passage=c.text,
        passage_start=c.start,
        passage_end=c.end,
        highlights=[[s, e] for s, e in inside],
    )
