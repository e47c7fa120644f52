"""Articles -> chunks, Chinese-aware.

Text is split into sentences at Chinese and ASCII sentence-final punctuation and
at line breaks, then consecutive sentences are packed into chunks of at most
``max_chars`` characters (Python ``str`` characters, not tokens or bytes).
A sentence is cut only when it alone is longer than ``max_chars``: first at clause
punctuation (，、：,), and a clause that alone is too long is cut at ``max_chars``. A table row
written as a sentence (``Article.table_rows``, see ``rag.parse.tables``) is one unit, never cut.

Every chunk is a contiguous slice ``article.text[start:end]``, so citations can
point back into the article. No chunk (and no sentence) starts with punctuation
that belongs to the end of the text before it (``NO_START``): such characters are
moved to the end of the previous piece.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator

from rag.types import Article, Chunk, stable_id

SENTENCE_END = "。！？；…!?;"
"""A sentence ends after a run of these (``……`` and ``？！`` stay together), and at line breaks."""
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
"""The characters ``str.splitlines`` breaks at."""
CLOSERS = "”’」』）)》】\"'"
"""Closing quotes and brackets that stay with the sentence or clause they close."""
CLAUSE_END = "，、：,"
"""Where a sentence longer than ``max_chars`` is cut; the mark stays at the end of its piece."""
NO_START = "。！？；，、”）：,.;:!?)"
"""No sentence or chunk starts with one of these."""

_CJK_CLOSERS = "”’」』）)》】"  # closers that cannot open a sentence (ASCII quotes can)

URL_PATTERN = r"(?:(?:https?|ftp)://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*[A-Za-z0-9\-_~/#\]@$&'()*+=%]"
"""A web address: ``http(s)://``, ``ftp://`` or ``www.`` and the URL characters after it (RFC 3986),
without the ``? ! . , : ;`` that end it (GitHub Flavored Markdown's autolink rule): a ``?`` or
``;`` inside an address ends no sentence and cuts no clause."""
# kept whole by the splitter: a Markdown link or image ("![二维码](…)": its "!" ends nothing, nor the
# "！" that parsing makes of it after a Han character), a web address
_URL = re.compile(rf"[!！]?\[[^\[\]\n]{{0,200}}\]\([^()\s]{{0,2000}}\)|{URL_PATTERN}")

MIN_MAX_CHARS = 20

Span = tuple[int, int]


def split_sentences(text: str) -> list[Span]:
    """Split ``text`` into sentences.

    returns: ``(start, end)`` character offsets into ``text``, in order, so that
        ``text[start:end]`` is a sentence with no leading or trailing whitespace.
        A sentence ends after a run of ``SENTENCE_END`` marks together with the
        closing quotes/brackets that follow it (``他说：“好。”然后`` ->
        ``他说：“好。”`` | ``然后``), and at a line break. Whitespace-only spans are
        dropped. If the next sentence would start with a ``NO_START`` mark (e.g. a
        line that begins with ``，``), the marks go to the end of the previous
        sentence instead; such marks at the very start of ``text`` belong to no
        sentence and are left out. A web address (``URL_PATTERN``) or a Markdown link
        or image is never cut: ``http://x.cn/a?u=1`` and ``![图](a.png)`` stay in their sentence.
    """
    spans: list[Span] = []
    n = len(text)
    urls = _url_ends(text)
    start = i = _skip(text, 0, n, NO_START)
    while i < n:
        ch = text[i]
        if i in urls:
            i = urls[i]
            continue
        if ch in SENTENCE_END:
            cut = _skip(text, i + 1, n, SENTENCE_END + CLOSERS, spaces=False)
        elif ch in LINE_BREAKS:
            cut = i
        else:
            i += 1
            continue
        # > i: it skips at least ch itself; a closing bracket/quote never opens a sentence
        nxt = _skip(text, cut, n, NO_START + _CJK_CLOSERS)
        _append_trimmed(spans, text, start, nxt)
        start = i = nxt
    _append_trimmed(spans, text, start, n)
    return spans


def chunk_article(article: Article, *, max_chars: int = 300, overlap_sentences: int = 1) -> list[Chunk]:
    """Pack the sentences of ``article.text`` into chunks.

    max_chars: maximum characters per chunk (not tokens); at least 20.
    overlap_sentences: how many sentences at the end of a chunk are repeated at the
        start of the next one; the overlap shrinks when it would leave no room for
        a new sentence. The pieces of a cut sentence count as sentences.
    Table rows (``article.table_rows``) are units like sentences but never cut: a row longer
    than ``max_chars`` is a chunk of its own, longer than ``max_chars``.
    returns: chunks in article order, ``index`` 0..n-1, each with
        ``article.text[start:end] == text`` (a contiguous slice, so it may contain
        the line breaks between paragraphs), ``id = stable_id(article.id, str(start),
        str(end))`` and title/date/author/source copied from the article. Every
        non-whitespace character is in some chunk, except ``NO_START`` marks that
        could start no piece: those at the start of the text, and a run of them
        longer than ``max_chars`` inside a sentence.
    raises ValueError: if ``max_chars < 20`` or ``overlap_sentences < 0``.
    """
    _check_args(max_chars, overlap_sentences)
    text = article.text
    rows = sorted(article.table_rows)
    row_starts = [r[0] for r in rows]
    units: list[Span] = []
    for s, e in split_sentences(text):
        k = bisect.bisect_right(row_starts, s) - 1
        if k >= 0 and rows[k][0] <= s < rows[k][1]:  # inside a table row: the row is one unit
            if not units or units[-1] != rows[k]:
                units.append(rows[k])
            continue
        units.extend([(s, e)] if e - s <= max_chars else _cut_sentence(text, s, e, max_chars))

    spans: list[Span] = []
    i = 0
    while i < len(units):
        j = i + 1  # units[i:j] go into this chunk
        while j < len(units) and units[j][1] - units[i][0] <= max_chars:
            j += 1
        spans.append((units[i][0], units[j - 1][1]))
        if j == len(units):
            break
        i = max(j - overlap_sentences, i + 1)
        while i < j and units[j][1] - units[i][0] > max_chars:
            i += 1  # drop overlap until the new sentence units[j] fits

    chunks = []
    for index, (start, end) in enumerate(spans):
        assert 0 < end - start and text[start] not in NO_START, (start, end)
        assert end - start <= max_chars or (start, end) in article.table_rows, (start, end)
        chunks.append(
            Chunk(
                id=stable_id(article.id, str(start), str(end)),
                article_id=article.id,
                index=index,
                text=text[start:end],
                start=start,
                end=end,
                title=article.title,
                date=article.date,
                author=article.author,
                source=article.source,
            )
        )
    return chunks


def chunk_articles(articles: Iterable[Article], *, max_chars: int = 300, overlap_sentences: int = 1) -> Iterator[Chunk]:
    """Chunk each article in turn (see ``chunk_article``); yields chunks lazily.

    raises ValueError: at the call, if ``max_chars < 20`` or ``overlap_sentences < 0``.
    """
    _check_args(max_chars, overlap_sentences)
    return (c for a in articles for c in chunk_article(a, max_chars=max_chars, overlap_sentences=overlap_sentences))


def _check_args(max_chars: int, overlap_sentences: int) -> None:
    if max_chars < MIN_MAX_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_MAX_CHARS} characters, got {max_chars}")
    if overlap_sentences < 0:
        raise ValueError(f"overlap_sentences must be 0 or more, got {overlap_sentences}")


def _cut_sentence(text: str, s: int, e: int, max_chars: int) -> list[Span]:
    """Cut the sentence ``text[s:e]`` (longer than ``max_chars``) into pieces of at most
    ``max_chars`` characters: as many whole clauses per piece as fit, and a clause that
    alone is too long is cut at ``max_chars`` (moved back if the rest would start with
    a ``NO_START`` mark)."""
    # (end of piece, start of next piece) after each clause mark and the marks/closers after it
    clause_cuts = []
    in_url = {k for a, b in _url_ends(text[s:e]).items() for k in range(s + a, s + b)}
    for k in range(s, e):
        if text[k] in CLAUSE_END and k not in in_url and (not clause_cuts or k >= clause_cuts[-1][1]):
            nxt = _skip(text, k + 1, e, CLAUSE_END + NO_START + CLOSERS)
            if nxt < e:
                clause_cuts.append((_rstrip(text, s, nxt), nxt))

    pieces: list[Span] = []
    start = s
    while e - start > max_chars:
        limit = start + max_chars
        fits = [c for c in clause_cuts if start < c[0] <= limit]
        if fits:
            end, nxt = fits[-1]
        else:
            end, nxt = _hard_cut(text, start, limit, e)
        pieces.append((start, end))
        start = nxt
    if start < e:
        pieces.append((start, e))
    return pieces


def _hard_cut(text: str, start: int, limit: int, e: int) -> Span:
    """Cut ``text[start:e]`` at or before ``limit`` so the rest does not start with a
    ``NO_START`` mark; if every cut would, cut at ``limit`` and drop the marks."""
    for p in range(limit, start, -1):
        nxt = _skip(text, p, e, "")
        if nxt == e or text[nxt] not in NO_START:
            return _rstrip(text, start, p), nxt
    return _rstrip(text, start, limit), _skip(text, limit, e, NO_START)


def _url_ends(text: str) -> dict[int, int]:
    """Start offset -> end offset of every web address (``URL_PATTERN``) and Markdown link in ``text``."""
    if "://" not in text and "www." not in text and "](" not in text:
        return {}
    return {m.start(): m.end() for m in _URL.finditer(text)}


def _skip(text: str, i: int, end: int, chars: str, *, spaces: bool = True) -> int:
    """First index >= i (at most ``end``) whose character is not in ``chars`` (nor whitespace)."""
    while i < end and (text[i] in chars or (spaces and text[i].isspace())):
        i += 1
    return i


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _append_trimmed(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    end = _rstrip(text, start, end)
    if start < end:
        spans.append((start, end))
