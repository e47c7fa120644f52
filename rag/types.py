"""Small data types shared by every stage of the pipeline.

All offsets are in characters (Python ``str`` indices), never bytes or tokens.
Ids are content hashes, so re-running an ingest produces the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


def stable_id(*parts: str, length: int = 16) -> str:
    """Return a hex id of ``length`` characters: sha1 of the parts joined by NUL."""
    h = hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()
    return h[:length]


@dataclass(frozen=True)
class Article:
    """One news article.

    id: stable hash of the normalised text (so a reprint in another file gets the same id).
    date: ISO ``YYYY-MM-DD`` or ``""`` when unknown.
    author: byline, ``""`` when the article has none.
    source: path of the file relative to the corpus root (or the upload name).
    table_rows: ``(start, end)`` character spans of ``text`` that are table rows written as
        sentences ("乡镇：南樊镇，项目：樱桃冷链仓储中心，完成投资（万元）：1450。"); the chunker keeps
        each whole. Not stored: it only lives between parsing and chunking.
    """

    id: str
    title: str
    text: str
    date: str = ""
    author: str = ""
    source: str = ""
    url: str = ""
    table_rows: tuple[tuple[int, int], ...] = ()

    @property
    def date_int(self) -> int:
        """``YYYYMMDD`` as an integer for range filters; 0 when the date is unknown."""
        return int(self.date.replace("-", "")) if self.date else 0


@dataclass(frozen=True)
class Chunk:
    """A contiguous passage of an article: ``article.text[start:end] == text``.

    corrected: the article's metadata fields (``title``, ``date``, ``author``, comma-separated)
        a user corrected (``Pipeline.correct_article``): kept when the same file is ingested again.
    """

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int
    title: str = ""
    date: str = ""
    author: str = ""
    source: str = ""
    corrected: str = ""

    @property
    def embed_text(self) -> str:
        """Text that is embedded and keyword-indexed: the title, a newline, the passage."""
        return f"{self.title}\n{self.text}" if self.title else self.text

    @property
    def date_int(self) -> int:
        return int(self.date.replace("-", "")) if self.date else 0


@dataclass
class ScoredChunk:
    """A retrieved chunk (or several adjacent chunks of one article merged).

    score: fused retrieval score, higher is better (RRF units, not a probability).
    dense_score: cosine similarity in [-1, 1] of the best dense hit, or None if not a dense hit.
    bm25_score: raw BM25 score of the best keyword hit, or None if not a keyword hit.
    chunk_ids: ids of every chunk merged into this one, in article order.
    """

    chunk: Chunk
    score: float
    dense_score: float | None = None
    bm25_score: float | None = None
    chunk_ids: list[str] = field(default_factory=list)


@dataclass
class Citation:
    """A numbered source of an answer: one article (``rag.answer.citations.group_citations``
    gives every answer one citation per article; an answerer may make one per passage).

    All offsets are characters into the stored article text (``article.text``).
    quotes: every quoted span, ``{"start", "end", "text"}`` with ``text == article.text[start:end]``,
        in article order (set by the grouping; an answerer may leave it empty).
    passages: the retrieved passages the quotes come from, same shape, in article order
        (touching or overlapping passages merged).
    quote: the quoted text: the quotes joined, with ``……`` between spans that do not touch
        (one span: ``article.text[start:end]``). An answerer that cites a whole passage
        quotes the passage.
    start / end: from the first quote's start to the last quote's end.
    highlights: ``[start, end]`` of each quote (the spans of ``quotes``); empty when whole
        passages are cited.
    passage / passage_start / passage_end: the first of ``passages``,
        ``article.text[passage_start:passage_end]``; chunk_id: the first cited chunk.
    score: the best fused retrieval score of its passages (RRF units).
    """

    n: int
    article_id: str
    title: str
    date: str
    author: str
    source: str
    chunk_id: str
    start: int
    end: int
    quote: str
    score: float
    passage: str = ""
    passage_start: int = 0
    passage_end: int = 0
    highlights: list[list[int]] = field(default_factory=list)
    quotes: list[dict] = field(default_factory=list)
    passages: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    """The result of a question. Same shape for the extractive and the LLM answerer.

    text: the answer with ``[n]`` markers, or the abstention message.
    abstained: True when the archive holds no answer; then ``citations`` is empty.
    timings_ms: stage name -> milliseconds.
    notice: a message for the user about how the answer was made (e.g. an LLM fallback), or "".
    notice_code: the notice's stable snake_case code (``rag.errors.LLMError`` codes,
        ``llm_sentences_dropped``), or "".
    usage: token counts of an LLM call (``prompt_tokens`` as the server reported it,
        ``prompt_tokens_est`` as the prompt budget estimated it, ``completion_tokens``);
        empty for the extractive answerer.
    kind: the answer kind the question asked for (``factoid``, ``list``, ``statements``,
        ``description``, ``events``, ``author``; "" when unknown), also on an abstention.
    value: a factoid's value, verbatim from the article ("" for other kinds and abstentions).
    span: where ``value`` stands: ``{"article_id", "start", "end"}``, character offsets into the
        stored article text (None without a value).
    confidence: the answerer's probability that the answer is right, in [0, 1] (the calibrated
        score it abstains on; None when the answerer gives none).
    period: the period a relative date of the question named, set by the pipeline after the
        answerer (``rag.timeref.Period.to_dict``: ``expression`` as written, ``label``,
        ``date_from``/``date_to`` searched, ``as_of`` the day it was resolved against); empty
        when the question names none.
    """

    question: str
    standalone_question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    notice: str = ""
    notice_code: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    kind: str = ""
    value: str = ""
    span: dict | None = None
    confidence: float | None = None
    period: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The JSON contract of ``rag ask --json`` and ``POST /api/ask``."""
        d = {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "kind": self.kind,
            "value": self.value,
            "span": dict(self.span) if self.span else None,
            "confidence": self.confidence,
        }
        if self.notice:
            d["notice"] = self.notice
        if self.notice_code:
            d["notice_code"] = self.notice_code
        if self.usage:
            d["usage"] = dict(self.usage)
        if self.period:
            d["period"] = dict(self.period)
        return d
