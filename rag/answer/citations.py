"""Citations grouped per article, for every answerer.

An answerer cites passages: the extractive one makes one ``Citation`` per passage it quotes,
so an answer built from four passages of one article used to list that article four times.
``group_citations`` (applied by ``rag.pipeline`` to every ``Answer`` once it is made) gives
each article one number, in order of first appearance in the text: the ``[n]`` markers are
renumbered, markers that became equal side by side are merged (``[1][1]`` → ``[1]``), and the
article's citation keeps every quoted span (``quotes``) and every passage they come from
(``passages``) with their character offsets into the stored article text.

``answer_lines`` is how the answer is shown one point per line (chat, ``rag ask``, ``/v1``)
without changing the ``Answer`` text itself: a line ends after the ``[n]`` markers that close
a point.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..types import Answer, Citation

MARKER = re.compile(r"\[(\d+)\]")
GAP = "……"  # between two quoted spans of one article that do not touch
# the markers that close a point, and the clause or sentence mark that may follow them
# ("…《T1》（2024-05-10）[1]；《T2》…"): a line ends there when more text follows
_POINT_END = re.compile(r"(?:\[\d+\])+[；;。，,、]?")


def group_citations(answer: Answer) -> Answer:
    """``answer`` with one citation per article (see the module docstring).

    Numbers: articles in order of the first marker that cites them; articles cited by no
    marker (an abstention's citation) follow in their old order. A marker whose number has no
    citation is left as it is.
    Per article: ``quotes`` (each ``{"start", "end", "text"}``, article order; spans that
    overlap are merged, spans that only touch stay apart), ``passages`` (the same shape,
    overlapping or touching passages merged), ``highlights`` (the quotes' ``[start, end]``;
    empty when whole passages are cited),
    ``quote`` (the quotes' texts, joined by ``……`` where they do not touch), ``start``/``end``
    (first quote's start, last quote's end), ``passage``/``passage_start``/``passage_end``
    (the first of ``passages``), ``chunk_id`` (the first citation's), ``score`` (the highest).
    returns: a new ``Answer`` (the input is not changed; one without citations is returned as
        it is). Grouping a grouped answer changes nothing.
    """
    if not answer.citations:
        return answer
    article_of: dict[int, str] = {}
    for c in answer.citations:
        article_of.setdefault(c.n, c.article_id)
    order: list[str] = []
    for m in MARKER.finditer(answer.text):
        aid = article_of.get(int(m.group(1)))
        if aid is not None and aid not in order:
            order.append(aid)
    for c in sorted(answer.citations, key=lambda c: c.n):
        if c.article_id not in order:
            order.append(c.article_id)
    number = {aid: i + 1 for i, aid in enumerate(order)}
    members: dict[str, list[Citation]] = {aid: [] for aid in order}
    for c in answer.citations:
        members[c.article_id].append(c)

    def renumber(m: re.Match) -> str:
        aid = article_of.get(int(m.group(1)))
        return f"[{number[aid]}]" if aid is not None else m.group(0)

    text = re.sub(r"(\[\d+\])(?:\1)+", r"\1", MARKER.sub(renumber, answer.text))
    citations = [_merge(number[aid], members[aid]) for aid in order]
    return replace(answer, text=text, citations=citations, timings_ms=dict(answer.timings_ms))


def _spans_of(c: Citation) -> tuple[list[dict], list[dict]]:
    """(quoted spans, passages) of one ungrouped citation, as ``{"start", "end", "text"}``."""
    if c.quotes:
        quotes = [dict(q) for q in c.quotes]
    elif c.passage and c.highlights:
        quotes = [
            {"start": s, "end": e, "text": c.passage[s - c.passage_start : e - c.passage_start]}
            for s, e in c.highlights
        ]
    else:
        quotes = [{"start": c.start, "end": c.end, "text": c.quote}]
    if c.passages:
        passages = [dict(p) for p in c.passages]
    elif c.passage:
        passages = [{"start": c.passage_start, "end": c.passage_end, "text": c.passage}]
    else:
        passages = []
    return quotes, passages


def _union(spans: list[dict], *, touching: bool) -> list[dict]:
    """Spans (article offsets, each ``text == article[start:end]``) sorted and merged where they
    overlap (and where they touch, with ``touching``); duplicates collapse."""
    out: list[dict] = []
    for s in sorted(spans, key=lambda s: (s["start"], -s["end"])):
        last = out[-1] if out else None
        if last and (s["start"] < last["end"] or (touching and s["start"] == last["end"])):
            if s["end"] > last["end"]:
                last["text"] += s["text"][last["end"] - s["start"] :]
                last["end"] = s["end"]
        else:
            out.append({"start": s["start"], "end": s["end"], "text": s["text"]})
    return out


def _merge(n: int, group: list[Citation]) -> Citation:
    """One citation numbered ``n`` for ``group`` (citations of one article, in answer order)."""
    first = min(group, key=lambda c: c.n)
    quotes: list[dict] = []
    passages: list[dict] = []
    for c in group:
        q, p = _spans_of(c)
        quotes += q
        passages += p
    quotes = _union(quotes, touching=False)
    passages = _union(passages, touching=True)
    whole = [(q["start"], q["end"]) for q in quotes] == [(p["start"], p["end"]) for p in passages]
    joined = quotes[0]["text"]
    for prev, q in zip(quotes, quotes[1:]):
        joined += ("" if q["start"] == prev["end"] else GAP) + q["text"]
    return replace(
        first,
        n=n,
        passage=passages[0]["text"] if passages else first.passage,
        passage_start=passages[0]["start"] if passages else first.passage_start,
        passage_end=passages[0]["end"] if passages else first.passage_end,
        start=quotes[0]["start"],
        end=quotes[-1]["end"],
        quote=joined,
        score=max(c.score for c in group),
        highlights=[] if whole else [[q["start"], q["end"]] for q in quotes],
        quotes=quotes,
        passages=passages,
    )


def answer_lines(text: str) -> list[str]:
    """``text`` cut into the lines it is shown in: after every run of ``[n]`` markers (with
    the ``；`` or ``。`` right after it) that more text follows, so that a speaker's points,
    the items of a list and a factoid's value and its evidence each take a line. Lines are
    stripped; ``"".join`` of the lines equals ``text`` up to whitespace at the cuts. An answer
    without markers (an abstention) is one line."""
    lines, pos = [], 0
    for m in _POINT_END.finditer(text or ""):
        if text[m.end() :].strip():
            lines.append(text[pos : m.end()].strip())
            pos = m.end()
    lines.append((text or "")[pos:].strip())
    return [line for line in lines if line]
