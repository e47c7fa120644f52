"""Descriptions (怎么 / 如何 / 为什么 / yes-no / no interrogative): the best sentences of one
article by the sentence model, in article order."""

from __future__ import annotations

from ..compose import clipped, window
from ..reading import Draft, Piece, Reading
from .registry import Kind, register

MAX_SENTENCES = 3
MAX_CHARS = 300
RELATIVE = 0.5  # a further sentence needs at least this share of the best one's probability
OTHER_ARTICLE = 0.8  # … and this share when it comes from another article


def sentences_draft(r: Reading, max_sentences: int, max_chars: int) -> Draft | None:
    """The best sentence and the next best ones with at least ``RELATIVE`` of its probability
    (``OTHER_ARTICLE`` from another article: a question may span two), within
    ``max_sentences`` and ``max_chars``; in retrieval order of their articles, then article order."""
    if not r.sents:
        return None
    order = r.best_sentences()
    top = order[0]
    doc = r.sents[top].doc
    chosen, size = [top], len(r.sents[top].text)
    for i in order[1:]:
        need = RELATIVE if r.sents[i].doc == doc else OTHER_ARTICLE
        if len(chosen) >= max_sentences or r.s_prob[i] < RELATIVE * r.s_prob[top]:
            break
        if r.s_prob[i] < need * r.s_prob[top] or size + len(r.sents[i].text) > max_chars:
            continue
        chosen.append(i)
        size += len(r.sents[i].text)
    pieces = []
    for i in sorted(chosen, key=lambda i: (i != top and r.sents[i].doc != doc, r.sents[i].doc, i)):
        s = r.sents[i]
        span = window(s.text, 0, 0, max_chars) if len(s.text) > max_chars else (0, len(s.text))
        pieces.append(Piece(s.doc, s.start, s.end, clipped(s.text, span)))
    return Draft(pieces, r.confidence_row(top))


def compose(r: Reading, ctx) -> Draft | None:
    return sentences_draft(r, MAX_SENTENCES, MAX_CHARS)


register(Kind("description", compose))
