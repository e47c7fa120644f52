"""Page layout → text in reading order: columns, running heads, paragraphs.

Works on the positioned text lines of PDF pages (:class:`TextLine`, from any PDF library; the
reader in ``formats/pdf.py`` takes them from pdfminer.six), independently of the library:

- :func:`running_lines` finds running headers and footers: a line among the top or bottom two
  rows of a page that comes back, digits aside ("第1版" / "第2版", "— 1 —" / "— 2 —"), at the same
  height on at least half of the pages (two at least). They are page furniture, not text: removing
  them lets a sentence broken across a page break be joined again.
- :func:`reading_order` orders a page's lines column by column, by recursive cuts along white
  space in the manner of the X-Y cut (Nagy & Seth, 1984): a *gutter* is a vertical strip at least
  0.8 character wide, inside the text, that no line crosses, or only a few (a masthead or a headline
  spanning the columns). Lines crossing it are read where they stand, and the lines between two
  of them are a band read column by column (left column top to bottom, then the right one), each
  column cut again the same way. Both sides of a gutter must hold text lines (two of at least six
  characters' width), so a table's short cells are read row by row, not as columns.
- :func:`paragraphs` groups a column's lines into paragraphs: a new paragraph starts at a change
  of font size, a wider gap, a first-line indent (the paragraph is then written with a leading
  "\\u3000\\u3000", the indent a Chinese text file would have) or after a short line.

Coordinates are PDF user space (points, y upwards). All text lengths are in characters.
"""

from __future__ import annotations

import bisect
import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass

#: a gutter is at least this wide, in character sizes (the median line height)
MIN_GUTTER = 0.8
#: a column holds at least this many lines at least ``COLUMN_LINE_CHARS`` character sizes wide
COLUMN_LINES, COLUMN_LINE_CHARS = 2, 6.0
#: lines that may cross a gutter: at most this share of the region's lines
MAX_CROSSING_SHARE = 0.2
#: rows at the top and at the bottom of a page looked at for running heads
RUNNING_ROWS = 2
INDENT = "\u3000\u3000"

_DIGITS_RE = re.compile(r"\d+")
_BYLINE_RE = re.compile(r"[\u4e00-\u9fff]{2,4}")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class TextLine:
    """A line (or a piece of one) of text on a page: its bounding box in points, y upwards."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def size(self) -> float:
        """The line's height in points (about its font size)."""
        return max(self.y1 - self.y0, 0.1)

    @property
    def ymid(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class Running:
    """A running header or footer: ``where`` is "header" or "footer", ``text`` its first
    occurrence, ``pages`` how many pages carry it."""

    where: str
    text: str
    pages: int


# --- rows ------------------------------------------------------------------------------


def rows(lines: list[TextLine]) -> list[list[TextLine]]:
    """Lines grouped into rows (their vertical extents overlap by half the smaller height),
    top to bottom, each row left to right."""
    out: list[list[TextLine]] = []
    for ln in sorted(lines, key=lambda ln: (-ln.ymid, ln.x0)):
        if out:
            ref = out[-1][0]
            overlap = min(ref.y1, ln.y1) - max(ref.y0, ln.y0)
            if overlap >= 0.5 * min(ref.size, ln.size):
                out[-1].append(ln)
                continue
        out.append([ln])
    return [sorted(r, key=lambda ln: ln.x0) for r in out]


def row_text(row: list[TextLine]) -> str:
    """The pieces of a row joined: with a space when they are half a character or more apart
    (table cells, words), else as one text."""
    text = ""
    prev: TextLine | None = None
    for ln in row:
        t = ln.text.strip()
        if not t:
            continue
        if prev is not None and text:
            gap = ln.x0 - prev.x1
            text = f"{text} {t}" if gap >= 0.5 * min(ln.size, prev.size) else join_text(text, t)
        else:
            text = t
        prev = ln
    return text


def join_text(left: str, right: str) -> str:
    """Two pieces of one line or paragraph: Latin words (and a digit before a letter) with one
    space, Chinese with none."""
    if not left or not right:
        return left + right
    a, b = left[-1], right[0]
    if b.isascii() and b.isalnum() and (a.isascii() and a.isalpha() or a in ",;:" or (a.isdigit() and b.isalpha())):
        return f"{left} {right}"
    return left + right


# --- running heads ------------------------------------------------------------------------


def _key(text: str) -> str:
    return _DIGITS_RE.sub("#", _SPACE_RE.sub("", text))


def running_lines(pages: list[list[TextLine]]) -> tuple[list[list[TextLine]], list[Running]]:
    """Remove running headers and footers from every page.

    pages: the lines of each page. A row among the top (bottom) ``RUNNING_ROWS`` rows of a page
    is a running header (footer) when the same text — every run of digits read as one, white
    space removed — stands among the top (bottom) rows of at least ``max(2, ⌈pages / 2⌉)`` pages
    at the same height (within half a line of the median). A row of two to four Han characters
    alone (a byline ending the page) is never one.
    returns: ``(pages without those rows, what was removed in order of first occurrence)``.
    """
    if len(pages) < 2:
        return pages, []
    need = max(2, math.ceil(len(pages) / 2))
    page_rows = [rows(p) for p in pages]
    seen: dict[tuple[str, str], list[tuple[int, float, float]]] = defaultdict(list)  # (page, y, size)
    first: dict[tuple[str, str], str] = {}
    for n, rs in enumerate(page_rows):
        for where, part in (("header", rs[:RUNNING_ROWS]), ("footer", rs[-RUNNING_ROWS:])):
            for r in part:
                text = row_text(r)
                k = (where, _key(text))
                if k[1] and not _BYLINE_RE.fullmatch(k[1]):
                    seen[k].append((n, r[0].ymid, r[0].size))
                    first.setdefault(k, text)
    running: dict[tuple[str, str], set[int]] = {}
    for k, places in seen.items():
        y = statistics.median(p[1] for p in places)
        at = {n for n, py, size in places if abs(py - y) <= 0.5 * size}
        if len(at) >= need:
            running[k] = at
    if not running:
        return pages, []
    out: list[list[TextLine]] = []
    for n, rs in enumerate(page_rows):
        drop = set()
        for where, part in (("header", rs[:RUNNING_ROWS]), ("footer", rs[-RUNNING_ROWS:])):
            for r in part:
                if n in running.get((where, _key(row_text(r))), ()):
                    drop |= {id(ln) for ln in r}
        out.append([ln for r in rs for ln in r if id(ln) not in drop])
    found = [
        Running(where, first[(where, key)], len(running[(where, key)]))
        for where, key in first
        if (where, key) in running
    ]
    return out, found


# --- reading order --------------------------------------------------------------------------


def reading_order(lines: list[TextLine]) -> list[list[TextLine]]:
    """A page's lines as columns in reading order: a list of regions, each a list of lines of one
    column (or one line spanning columns) top to bottom (see the module docstring)."""
    if not lines:
        return []
    size = statistics.median(ln.size for ln in lines)
    return _order(lines, size)


def _order(lines: list[TextLine], size: float) -> list[list[TextLine]]:
    gutter = _gutter(lines, size)
    if gutter is None:
        return [[ln for r in rows(lines) for ln in r]]
    g0, g1 = gutter
    crossing = sorted((ln for ln in lines if ln.x0 < g1 and ln.x1 > g0), key=lambda ln: -ln.ymid)
    if not crossing:
        left = [ln for ln in lines if ln.x1 <= g0]
        right = [ln for ln in lines if ln.x0 >= g1]
        return _order(left, size) + _order(right, size)
    bands: list[list[TextLine]] = [[] for _ in range(len(crossing) + 1)]
    for ln in lines:
        if ln.x0 < g1 and ln.x1 > g0:
            continue
        bands[sum(1 for c in crossing if c.ymid > ln.ymid)].append(ln)
    out: list[list[TextLine]] = []
    for i, band in enumerate(bands):
        if band:
            out += _order(band, size)
        if i < len(crossing):
            out.append([crossing[i]])
    return out


def _gutter(lines: list[TextLine], size: float) -> tuple[float, float] | None:
    """The best gutter of a region: the widest strip crossed by the fewest lines (at most
    ``MAX_CROSSING_SHARE`` of them), with a text column on either side (``COLUMN_LINES`` lines at
    least ``COLUMN_LINE_CHARS`` characters wide); None when there is none. O(n log n) in lines."""
    if len(lines) < 2 * COLUMN_LINES:
        return None
    x0s = sorted(ln.x0 for ln in lines)
    x1s = sorted(ln.x1 for ln in lines)
    wide = [ln for ln in lines if ln.x1 - ln.x0 >= COLUMN_LINE_CHARS * size]
    wide_x0s = sorted(ln.x0 for ln in wide)
    wide_x1s = sorted(ln.x1 for ln in wide)
    left_edge, right_edge = x0s[0], x1s[-1]
    xs = sorted(set(x0s) | set(x1s))
    max_cross = int(MAX_CROSSING_SHARE * len(lines))
    best: tuple[int, float, float, float] | None = None  # (crossing, -width, g0, g1)
    for a, b in zip(xs, xs[1:]):
        if a <= left_edge or b >= right_edge:
            continue
        mid = (a + b) / 2
        # lines crossing mid: those starting before it, less those also ending before it
        cross = bisect.bisect_left(x0s, mid) - bisect.bisect_right(x1s, mid)
        if cross > max_cross:
            continue
        # the strip between the lines ending left of it and those starting right of it
        k = bisect.bisect_right(x1s, mid)
        g0 = x1s[k - 1] if k else left_edge
        k = bisect.bisect_left(x0s, mid)
        g1 = x0s[k] if k < len(x0s) else right_edge
        if g1 - g0 < MIN_GUTTER * size:
            continue
        left = bisect.bisect_right(wide_x1s, g0)
        right = len(wide_x0s) - bisect.bisect_left(wide_x0s, g1)
        if left < COLUMN_LINES or right < COLUMN_LINES:
            continue
        cand = (cross, -(g1 - g0), g0, g1)
        if best is None or cand < best:
            best = cand
    return None if best is None else (best[2], best[3])


# --- paragraphs -----------------------------------------------------------------------------


def paragraphs(column: list[TextLine]) -> list[str]:
    """The lines of one column (top to bottom) as paragraphs, each its lines joined by "\\n" (the
    article rules join a sentence broken over lines, and see a byline on a line of its own); a
    paragraph that starts with a first-line indent begins with :data:`INDENT`.

    A new paragraph starts at a row whose height differs from the previous row's by more than
    15 %, after a gap above 1.5 times the column's median gap (and half a character more than
    it), at a row indented by a character or more from the column's left edge, and after a row
    that ends three characters or more before the column's right edge; but rows in a font 15 %
    larger than the column's body text, of one size and at most a line apart, are one headline
    (wrapped and centred).
    """
    rs = [r for r in rows(column) if row_text(r)]
    if not rs:
        return []
    left = min(r[0].x0 for r in rs)
    right = max(r[-1].x1 for r in rs)
    gaps = [a[0].y0 - b[0].y1 for a, b in zip(rs, rs[1:])]
    med_gap = statistics.median(gaps) if gaps else 0.0
    body = statistics.median(max(ln.size for ln in r) for r in rs)
    out: list[str] = []
    cur = ""
    prev: list[TextLine] | None = None
    for r, gap in zip(rs, [0.0, *gaps]):
        size = max(ln.size for ln in r)
        text = row_text(r)
        indented = r[0].x0 - left >= size
        if prev is not None:
            psize = max(ln.size for ln in prev)
            if abs(size - psize) <= 0.15 * size and size > 1.15 * body and gap <= size:
                cur = join_text(cur, text)  # a headline wrapped over two lines (centred: not an indent)
                prev = r
                continue
            new = (
                abs(size - psize) > 0.15 * max(size, psize)
                or gap > max(1.5 * med_gap, med_gap + 0.5 * size)
                or indented
                or right - prev[-1].x1 >= 3 * psize
            )
            if not new:
                cur = f"{cur}\n{text}"  # lines kept: the article rules join broken sentences
                prev = r
                continue
            out.append(cur)
        cur = (INDENT if indented else "") + text
        prev = r
    out.append(cur)
    return out


def page_text(lines: list[TextLine]) -> str:
    """A page's text in reading order: columns one after the other, paragraphs separated by a
    blank line."""
    return "\n\n".join(p for col in reading_order(lines) for p in paragraphs(col))
