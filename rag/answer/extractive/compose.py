"""Writing an answer: pieces with ``[n]`` citations, clause windows of long sentences."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ...types import Answer, ScoredChunk
from .evidence import Doc, make_citation
from .reading import Piece

ABSTAIN_MESSAGE = "新闻档案中没有找到能回答这个问题的内容。可以换个说法、补充人名或地名，或调整日期范围后再试。"
_CLAUSE = re.compile(r"[^，；：,;]+[，；：,;]?")


def window(sentence: str, start: int, end: int, limit: int) -> tuple[int, int]:
    """The run of clauses (split after ，；：) of ``sentence`` around ``sentence[start:end]``, at
    most ``limit`` characters when it can be (the clause holding the span is kept whole), grown
    to the right first. A sentence within ``limit`` is returned whole: ``(0, len)``."""
    if len(sentence) <= limit:
        return 0, len(sentence)
    bounds = [m.span() for m in _CLAUSE.finditer(sentence)]
    lo = next((i for i, (s, e) in enumerate(bounds) if s <= start < e), 0)
    hi = next((i for i, (s, e) in enumerate(bounds) if s < end <= e), lo)
    hi = max(hi, lo)
    size = bounds[hi][1] - bounds[lo][0]
    while True:
        if hi + 1 < len(bounds) and size + bounds[hi + 1][1] - bounds[hi + 1][0] <= limit:
            hi += 1
        elif lo > 0 and size + bounds[lo - 1][1] - bounds[lo - 1][0] <= limit:
            lo -= 1
        else:
            break
        size = bounds[hi][1] - bounds[lo][0]
    return bounds[lo][0], bounds[hi][1]


def clipped(sentence: str, span: tuple[int, int]) -> str:
    """``sentence[span]`` with "……" where it was cut (trailing clause punctuation dropped)."""
    s, e = span
    text = sentence[s:e]
    if e < len(sentence):
        text = text.rstrip("，；：,;") + "……"
    if s > 0:
        text = "……" + text
    return text


def cite(question: str, standalone: str, pieces: Sequence[Piece], docs: Sequence[Doc], prefix: str = "") -> Answer:
    """The answer text ``prefix + piece[n] piece[n] …``: n numbers the passages (chunks) in order
    of first use, each citation quoting the sentences its pieces come from."""
    numbers: dict[str, int] = {}
    passages: dict[str, ScoredChunk] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    parts = [prefix] if prefix else []
    for pc in pieces:
        p = docs[pc.doc].passage_for(pc.start, pc.end)
        key = p.chunk.id
        if key not in numbers:
            numbers[key] = len(numbers) + 1
            passages[key] = p
        spans.setdefault(key, []).append((pc.start, pc.end))
        parts.append(f"{pc.text}[{numbers[key]}]")
    citations = [make_citation(n, passages[k], spans[k]) for k, n in numbers.items()]
    return Answer(question, standalone, "".join(parts), False, citations)
