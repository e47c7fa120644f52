"""Descriptions (怎么 / 如何 / 为什么 / yes-no / no interrogative): the best sentences of one
article by the sentence model, in article order."""

from __future__ import annotations

from ..compose import clipped, window
from ..reading import Draft, Piece, Reading
from . import Kind, register

MAX_SENTENCES = 2
MAX_CHARS = 240
RELATIVE = 0.5  # a further sentence needs at least this share of the best one's probability


def sentences_draft(r: Reading, max_sentences: int, max_chars: int) -> Draft | None:
    """The best sentence and, from the same article, the next best ones with at least
    ``RELATIVE`` of its probability, within ``max_sentences`` and ``max_chars``; article order."""
    if not r.sents:
        return None
    order = r.best_sentences()
    top = order[0]
    doc = r.sents[top].doc
    chosen, size = [top], len(r.sents[top].text)
    for i in order[1:]:
        if len(chosen) >= max_sentences or r.s_prob[i] < RELATIVE * r.s_prob[top]:
            break
        if r.sents[i].doc != doc or size + len(r.sents[i].text) > max_chars:
            continue
        chosen.append(i)
        size += len(r.sents[i].text)
    pieces = []
    for i in sorted(chosen):
        s = r.sents[i]
        span = window(s.text, 0, 0, max_chars) if len(s.text) > max_chars else (0, len(s.text))
        pieces.append(Piece(s.doc, s.start, s.end, clipped(s.text, span)))
    second = r.s_prob[order[1]] if len(order) > 1 else 0.0
    return Draft(pieces, r.confidence_row(r.s_prob[top], second, top))


def compose(r: Reading, ctx) -> Draft | None:
    return sentences_draft(r, MAX_SENTENCES, MAX_CHARS)


register(Kind("description", compose))
