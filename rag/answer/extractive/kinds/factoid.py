"""Factoid answers (who, when, where, how many, which, what): the best-scored candidate value
first, then the clause it comes from — "王辨明。[1]……县政府办主任王辨明主持会议。[1]" — and,
when the sentence model prefers another sentence to the value's own, that sentence too (the
evidence that best matches the question, for the reader to check the value against)."""

from __future__ import annotations

from ..compose import clipped, window
from ..reading import Draft, Piece, Reading
from .registry import Kind, register

CLAUSE_CHARS = 120  # the supporting clause shown after the value (characters)


def compose(r: Reading, ctx) -> Draft | None:
    """The value of the best candidate (``r.c_prob``) and its clause; None without candidates."""
    if not r.cands:
        return None
    best = max(range(len(r.cands)), key=lambda k: (r.c_prob[k], -k))
    c = r.cands[best]
    s = r.sents[c.sent]
    span = window(s.text, c.start, c.end, CLAUSE_CHARS)
    shown = clipped(s.text, span)
    pieces = []
    if len(c.text) < 0.8 * (span[1] - span[0]):
        pieces.append(Piece(s.doc, s.start, s.end, c.text.rstrip("，、。；：") + "。"))
    pieces.append(Piece(s.doc, s.start, s.end, shown))
    top = r.best_sentences(1)[0]
    if top != c.sent and r.s_prob[top] > r.s_prob[c.sent]:
        t = r.sents[top]
        pieces.append(Piece(t.doc, t.start, t.end, clipped(t.text, window(t.text, 0, 0, CLAUSE_CHARS))))
    return Draft(
        pieces,
        r.confidence_row(c.sent, best),
        value=c.text,
        span=(s.doc, s.start + c.start, s.start + c.end),
    )


register(Kind("factoid", compose, values=True))
