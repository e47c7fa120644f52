"""Bylines (谁写的 / 作者是谁 / X写了哪些稿子): answered from the articles' metadata."""

from __future__ import annotations

from ....types import Answer, ScoredChunk
from ..evidence import make_citation
from ..reading import Draft, Piece, Reading
from .registry import Kind, register


def compose(r: Reading, ctx) -> Draft | None:
    """ "X写了哪些稿子": the articles with byline X (``ctx.lookup.by_author``), newest first,
    each cited; else the byline of the best sentence's article: "《T》的作者是X。"."""
    people = [n.text for n in r.frame.names if n.tag == "PER"]
    lookup = getattr(ctx, "lookup", None)
    if people and lookup is not None and ctx.lex.author_list_re.search(r.frame.text):
        leads = lookup.by_author(people[0])
        if leads:
            cits = [make_citation(i + 1, ScoredChunk(c, 0.0, chunk_ids=[c.id])) for i, c in enumerate(leads)]
            text = (
                f"{people[0]}署名的报道有："
                + "；".join(f"《{c.title}》（{c.date}）[{i + 1}]" for i, c in enumerate(leads))
                + "。"
            )
            return Draft([], decided=True, value=people[0], answer=Answer("", "", text, False, cits))
    if not r.sents:
        return None
    top = r.best_sentences(1)[0]
    d = r.docs[r.sents[top].doc]
    lead = next(s for s in r.sents if s.doc == r.sents[top].doc)
    text = f"《{d.title}》的作者是{d.author}。" if d.author else f"《{d.title}》没有署名作者。"
    return Draft(
        [Piece(lead.doc, lead.start, lead.end, text)],
        r.confidence_row(top),
        value=d.author,
    )


register(Kind("author", compose))
