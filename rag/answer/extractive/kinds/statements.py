"""A speaker's statements (强调 / 指出 / 要求 了什么): the paragraph of the best sentence from
its head on — in news prose a speaker's points follow the paragraph that opens "X强调，" — up to
``MAX_CHARS``."""

from __future__ import annotations

from ..compose import clipped, window
from ..reading import Draft, Piece, Reading
from . import Kind, register

MAX_CHARS = 420


def compose(r: Reading, ctx) -> Draft | None:
    """The best sentence's paragraph (from its first sentence), then the following sentences of
    the article while they fit and no other paragraph starts with a speaker."""
    if not r.sents:
        return None
    order = r.best_sentences()
    top = order[0]
    s0 = r.sents[top]
    first = top - (s0.index - s0.para_first)
    chosen, size = [], 0
    for i in range(first, len(r.sents)):
        s = r.sents[i]
        if s.doc != s0.doc or (i > top and s.para != s0.para and r.s_feature(i, "head_speaker") <= 0):
            break
        if size + len(s.text) > MAX_CHARS:
            if not chosen:
                chosen.append((i, window(s.text, 0, 0, MAX_CHARS)))
            break
        chosen.append((i, (0, len(s.text))))
        size += len(s.text)
    pieces = [Piece(r.sents[i].doc, r.sents[i].start, r.sents[i].end, clipped(r.sents[i].text, sp)) for i, sp in chosen]
    return Draft(pieces, r.confidence_row(top))


register(Kind("statements", compose))
