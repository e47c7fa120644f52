"""The evidence of a question: the retrieved passages' articles, read whole, cut into sentences.

One ``ArchiveLookup.article_chunks`` call per question reads the articles (at most ``MAX_DOCS``,
in retrieval order); each article's text is rebuilt from its chunks, so every offset here is an
offset into the stored article text, which is what citations quote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ...chunk import split_sentences
from ...types import Chunk, Citation, ScoredChunk

MAX_DOCS = 8  # articles read whole per question (one store call)


class ArchiveLookup(Protocol):
    """What the answerer may ask the archive beyond the retrieved passages."""

    def article_chunks(self, article_ids: Sequence[str]) -> dict[str, list[Chunk]]:
        """Every chunk of each article, in index order (one store call)."""

    def by_author(self, author: str) -> list[Chunk]:
        """The first chunk of every article with this byline, newest first."""


@dataclass
class Doc:
    """One article as evidence. rank: retrieval rank of its best passage (0 = first); score:
    that passage's fused score (RRF units); chunk_rank: chunk id → retrieval rank of the passage
    holding it (retrieved chunks only)."""

    article_id: str
    title: str
    date: str
    author: str
    source: str
    text: str
    chunks: list[Chunk]
    rank: int
    score: float
    chunk_rank: dict[str, int] = field(default_factory=dict)
    dense: float = 0.0  # best cosine similarity of its passages (0 when none was a dense hit)

    def passage_for(self, start: int, end: int) -> ScoredChunk:
        """The chunk holding ``text[start:end]`` (a retrieved one when possible) as a passage."""
        holding = [c for c in self.chunks if c.start <= start and end <= c.end]
        if not holding:
            holding = sorted(self.chunks, key=lambda c: -(min(c.end, end) - max(c.start, start)))[:1]
        best = min(holding, key=lambda c: (self.chunk_rank.get(c.id, 99), c.index))
        return ScoredChunk(best, self.score, chunk_ids=[best.id])

    def rank_at(self, start: int) -> int:
        """Retrieval rank of the passage holding offset ``start`` (99 when none was retrieved)."""
        return min((self.chunk_rank.get(c.id, 99) for c in self.chunks if c.start <= start < c.end), default=99)


@dataclass
class Sentence:
    """A sentence of an article: ``docs[doc].text[start:end] == text``. index: its number in
    the article; para: its paragraph's number; para_first: index of its paragraph's first
    sentence; rank: retrieval rank of its passage (99 = not retrieved)."""

    doc: int
    index: int
    start: int
    end: int
    text: str
    para: int
    para_first: int
    rank: int


def read_docs(passages: Sequence[ScoredChunk], lookup: ArchiveLookup | None) -> list[Doc]:
    """The passages' articles in retrieval order (at most ``MAX_DOCS``), read whole with one
    ``lookup.article_chunks`` call (the passages alone without a lookup)."""
    order: dict[str, int] = {}
    chunk_rank: dict[str, int] = {}
    dense: dict[str, float] = {}
    for rank, p in enumerate(passages):
        order.setdefault(p.chunk.article_id, rank)
        for cid in p.chunk_ids or [p.chunk.id]:
            chunk_rank.setdefault(cid, rank)
        if p.dense_score is not None:
            dense[p.chunk.article_id] = max(dense.get(p.chunk.article_id, 0.0), p.dense_score)
    ids = list(order)[:MAX_DOCS]
    chunks = lookup.article_chunks(ids) if (lookup is not None and ids) else {}
    out = []
    for aid in ids:
        mine = [p for p in passages if p.chunk.article_id == aid]
        got = sorted(chunks.get(aid) or [p.chunk for p in mine], key=lambda c: c.start)
        first = mine[0].chunk
        out.append(
            Doc(
                aid,
                first.title,
                first.date,
                first.author,
                first.source,
                rebuild_text(got),
                got,
                order[aid],
                max(p.score for p in mine),
                {c.id: chunk_rank[c.id] for c in got if c.id in chunk_rank},
                dense.get(aid, 0.0),
            )
        )
    return out


def sentences_of(docs: Sequence[Doc]) -> list[Sentence]:
    """Every sentence of every doc, in order (a paragraph starts after a line break)."""
    out = []
    for i, d in enumerate(docs):
        para, first, prev_end = -1, 0, 0
        for k, (s, e) in enumerate(split_sentences(d.text)):
            if k == 0 or "\n" in d.text[prev_end:s]:
                para, first = para + 1, k
            prev_end = e
            out.append(Sentence(i, k, s, e, d.text[s:e], para, first, d.rank_at(s)))
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
