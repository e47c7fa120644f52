"""The events someone took part in (参加了哪些活动 / 出现在哪些报道): one line per evidence
article that names every person, place and organisation of the question: its lead sentence,
then the sentence naming them. The question's names decide, not a model (the articles are
listed, not picked)."""

from __future__ import annotations

from ..compose import clipped, window
from ..reading import Draft, Piece, Reading
from .registry import Kind, register

LEAD_CHARS = 150
NAMED_CHARS = 100


def compose(r: Reading, ctx) -> Draft | None:
    names = [n.text for n in r.frame.names if n.tag in ("PER", "LOC", "ORG", "nz")]
    if not names:
        return None
    pieces: list[Piece] = []
    for i, d in enumerate(r.docs):
        if not all(n in d.text or n in d.title for n in names):
            continue
        mine = [s for s in r.sents if s.doc == i]
        if not mine:
            continue
        lead = mine[0]
        pieces.append(Piece(i, lead.start, lead.end, clipped(lead.text, window(lead.text, 0, 0, LEAD_CHARS))))
        named = next((s for s in mine if any(n in s.text for n in names)), None)
        if named is not None and named is not lead:
            p = min(named.text.find(n) for n in names if n in named.text)
            pieces.append(
                Piece(i, named.start, named.end, clipped(named.text, window(named.text, p, p + 1, NAMED_CHARS)))
            )
    if not pieces:
        return None
    return Draft(pieces, decided=True)


register(Kind("events", compose))
