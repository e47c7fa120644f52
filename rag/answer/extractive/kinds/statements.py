"""A speaker's statements (强调 / 指出 / 要求 了什么): the paragraph of the best sentence from
its head on — in news prose a speaker's points follow the paragraph that opens "X强调，" — up to
``MAX_CHARS``."""

from __future__ import annotations

from ..compose import clipped, window
from ..reading import Draft, Piece, Reading
from .registry import Kind, register

MAX_CHARS = 420
POINT_CHARS = 100  # at most this much of each point (its first clauses)
SPEECH_SENTENCES = 3  # the model's best sentences searched for a speech verb


def compose(r: Reading, ctx) -> Draft | None:
    """The paragraph (from its first sentence) of the best sentence — the first of the
    ``SPEECH_SENTENCES`` best whose paragraph opens with a speech verb or that has one, if any — then the following sentences of
    the article while they fit (``POINT_CHARS`` of each) and no other paragraph starts with a
    speaker."""
    if not r.sents:
        return None
    order = r.best_sentences()
    # a speaker's points are reported with a speech verb (强调/指出/要求…): start at the best of
    # the first few sentences whose paragraph opens with one (or that has one), when one does
    top = next((i for i in order[:SPEECH_SENTENCES] if _spoken(r, i)), order[0])
    s0 = r.sents[top]
    first = top - (s0.index - s0.para_first)
    chosen, size = [], 0
    for i in range(first, len(r.sents)):
        s = r.sents[i]
        if s.doc != s0.doc or (i > top and s.para != s0.para and r.s_feature(i, "head_speaker") <= 0):
            break
        span = window(s.text, 0, 0, POINT_CHARS)  # a point's first clauses: more points fit
        if size + span[1] - span[0] > MAX_CHARS:
            break
        chosen.append((i, span))
        size += span[1] - span[0]
    pieces = [Piece(r.sents[i].doc, r.sents[i].start, r.sents[i].end, clipped(r.sents[i].text, sp)) for i, sp in chosen]
    return Draft(pieces, r.confidence_row(top))


def _spoken(r: Reading, i: int) -> bool:
    """Sentence ``i`` or the first sentence of its paragraph has a speech verb."""
    s = r.sents[i]
    return r.s_feature(i, "s_speech") > 0 or r.s_feature(i - (s.index - s.para_first), "s_speech") > 0


register(Kind("statements", compose))
