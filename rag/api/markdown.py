"""Answers as Markdown for chat front ends (``/v1``: Open WebUI, Dify render the content as
Markdown), with everything from the archive shown as text.

Archive text may hold Markdown or HTML (``![二维码](http://…/qr.png)``, ``[科室](http://…)``,
``<img …>``) and web addresses that GitHub Flavored Markdown turns into links by itself. Every
piece of it goes through ``md_text``, which backslash-escapes what could start a link, an image,
an HTML tag, code or emphasis, and breaks the ``://`` and ``www.`` that autolinks start with
(CommonMark 0.31 §2.4: any ASCII punctuation may be escaped; a renderer shows ``\\[`` as ``[``).
Our own ``[n]`` markers are the only brackets left as they are: ``[1]`` alone is no link (no
reference definition is ever written), and a line always ends after the markers that close a
point (``answer_lines``), so no ``(`` follows one.
"""

from __future__ import annotations

import re

from ..answer.citations import answer_lines
from ..types import Answer

_MARKER = re.compile(r"\[\d+\]")
_SPECIAL = re.compile(r"[\\`*_\[\]<>~|]|(?<=[A-Za-z])://|(?i:www)\.")
_LINE_START = re.compile(r"^(\s*)([#>+\-=])", re.M)  # headings, block quotes, list items
STREAM_HOLD = 8  # rendered characters kept back while streaming: escapes change only the last few


def md_text(text: str) -> str:
    """``text`` (from the archive) escaped so that a Markdown renderer shows it as written:
    ``[a](u)`` → ``\\[a\\](u)``, ``<img>`` → ``\\<img\\>``, ``http://x`` → ``http:\\/\\/x``,
    ``www.x`` → ``www\\.x``, and a ``#``, ``>``, ``-`` or ``+`` that opens a line. Local: the
    escape of a character depends on at most the 4 characters around it (see ``STREAM_HOLD``)."""

    def esc(m: re.Match) -> str:
        s = m.group(0)
        if s == "://":
            return r":\/\/"
        if s.lower() == "www.":
            return s[:3] + r"\."
        return "\\" + s

    text = _SPECIAL.sub(esc, text or "")
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def answer_markdown(text: str) -> str:
    """The answer text as Markdown: one point per paragraph (``answer_lines``, joined by a
    blank line, which every renderer and a plain-text reader show as a break), archive text
    escaped, our ``[n]`` markers kept.

    Prefix-stable up to the last ``STREAM_HOLD`` characters: for a prefix ``p`` of ``text``,
    ``answer_markdown(p)[:-STREAM_HOLD]`` is a prefix of ``answer_markdown(text)``, so a
    stream can send it as the text grows."""
    out = []
    for line in answer_lines(text):
        pieces, pos = [], 0
        for m in _MARKER.finditer(line):
            pieces.append(md_text(line[pos : m.start()]) + m.group(0))
            pos = m.end()
        pieces.append(md_text(line[pos:]))
        out.append("".join(pieces))
    return "\n\n".join(out)


def references_markdown(answer: Answer) -> str:
    """The 参考来源 list appended to an OpenAI-style answer ("" without citations): per article
    ``[n] 《title》 date author`` and its quoted sentences under it as a block quote, articles
    separated by a blank line; every archive text escaped (``md_text``)."""
    if not answer.citations:
        return ""
    blocks = []
    for c in answer.citations:
        meta = " ".join(md_text(x) for x in (c.date, c.author) if x)
        lines = [f"[{c.n}] 《{md_text(c.title)}》 {meta}".rstrip()]
        lines += ["> " + md_text(" ".join(q["text"].split())) for q in c.quotes]
        blocks.append("\n".join(lines))
    return "\n\n参考来源：\n" + "\n\n".join(blocks)


def answer_content(answer: Answer) -> str:
    """The whole ``/v1`` message content: ``answer_markdown`` then ``references_markdown``."""
    return answer_markdown(answer.text) + references_markdown(answer)
