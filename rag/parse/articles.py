"""The article rules, applied once to the text of every format: the text is normalised
(``rag.normalize``), ``#``/``##`` headings start articles, so do "本报讯 M月D日" leads when a
text holds several (the short line just before a lead is its title), leads give the date, a
final byline becomes the author, sentences broken across page breaks are joined, half-width
punctuation next to Chinese is made full-width.

All lengths are in characters (``str`` indices).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.normalize import normalize
from rag.types import Article, stable_id

from .decode import normalise_newlines
from .layout import join_text
from .tables import is_table_row, table_sentences

# --- character classes -------------------------------------------------------------

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Chinese closing quotes / brackets after which half-width punctuation is converted.
_CN_CLOSERS = "”’」』）》】〕〉〗"
# Sentence-final punctuation (a line ending with one of these ends a paragraph).
_FINAL = "。！？!?…；;．"
# Closing quotes/brackets that may follow the final punctuation ("发展。”").
_TRAILING_CLOSERS = "”’\"'」』）)》】〕〉〗"

_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_PUNCT_RE = re.compile(rf"(?<=[{_HAN}{_CN_CLOSERS}])([,;:?!])|([,;:?!])(?=[{_HAN}“‘「『（《【])")
_SPACE_AFTER_FULL_RE = re.compile(rf"(?<=[，；：？！])[ \t]+(?=[{_HAN}“‘「『（《【\d])")

# ``#`` or ``##`` (not ``###``) followed by whitespace: an article heading.
_HEADING_RE = re.compile(r"^[ \t]{0,3}(#{1,2})(?!#)[ \t\u3000]+(.*?)[ \t\u3000#]*$")
# Lines never joined to anything: any markdown heading, a table row.
_PROTECTED_RE = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t\u3000]|\|)")
_SUBHEADING_MARK_RE = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t\u3000]+(.*?))?[ \t\u3000#]*$")
# A short enumerated line ("一、总体要求", "（二）加强领导", "3. 进度") is a sub-heading, not a broken sentence.
_ENUM_RE = re.compile(
    r"^(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百\d]+[）)]|\d{1,2}[、.．]"
    r"|第[一二三四五六七八九十百\d]+[章节部分条篇])"
)
_SUBHEADING_MAX_CHARS = 25

_BYLINE_RE = re.compile(rf"[{_HAN}]{{2,4}}")
_NOT_BYLINES = frozenset({"特此通知", "特此公告", "谢谢", "谢谢大家", "全文完", "未完待续", "待续", "完毕"})

_CN_DATE_RE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_ISO_DATE_RE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_YEAR_IN_TEXT_RE = re.compile(r"(?<!\d)(20\d{2})\s*年")
_YEAR_IN_NAME_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_YMD_IN_NAME_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)")
_DATE_WINDOW = 80

_DATELINE_RE = re.compile(
    r"^(?:本报讯|本报[^\s，,。]{0,8}讯|[（(]?记者[^）)]{0,12}[）)]?)?\s*"
    r"(?:(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*[日号])?\s*[，,：:\s]*"
)
_SENTENCE_END_RE = re.compile(r"[。！？!?；;]")
# A news lead: "本报讯 5月9日，" / "本报讯（记者 张三）5月9日，" / "本报5月9日讯" at the start of a line,
# with its date within the first _LEAD_DATE_WINDOW characters of the line.
_LEAD_RE = re.compile(r"^[ \t\u3000]*[【\[〔]?(?:本报讯|本报[^\s，,。]{0,10}讯|本台讯)")
_LEAD_DATE_RE = re.compile(r"\d{1,2}月\d{1,2}日")
_LEAD_DATE_WINDOW = 50
_AUTO_TITLE_CHARS = 30
_TITLE_LINE_MAX_CHARS = 60
#: a heading without a body is kept as a headline-only article when it has at least this many
#: letters and digits ("县城区新增公共停车位800个"); shorter ones are section names ("图片新闻", "简讯")
HEADLINE_MIN_CHARS = 8


@dataclass(frozen=True)
class Skipped:
    """A part of a file left out on purpose (not an article): ``code`` (stable, snake_case),
    ``message`` (Chinese, names the file), ``text`` (what was left out).

    Codes: ``masthead`` (a title line such as "绛县新闻 2024年第5期" before the first article),
    ``empty_section`` (a heading without a body that is a section name, e.g. "图片新闻"),
    ``running_header`` / ``running_footer`` (lines repeated on every PDF page)."""

    code: str
    message: str
    text: str


def parse_text(
    text: str,
    *,
    source: str,
    year: int | None = None,
    default_title: str = "",
    masthead: str = "",
    skipped: list[Skipped] | None = None,
) -> list[Article]:
    """Split markdown-like text into articles (the shared path of every format).

    The text is first normalised (:func:`rag.normalize.normalize`: invisible characters,
    width variants, traditional characters, date spellings), so the stored article text is
    the normalised text.

    Lines ``# 标题`` / ``## 标题`` start articles; blank text before the first heading is
    ignored, and non-blank text there is kept as an article only if it holds a sentence
    (a masthead line such as "绛县新闻 第5期" is dropped). A text with no heading is one
    article titled ``default_title`` if given, else its first line when that line looks like
    a title (at most 60 characters, not ending in "。"; it is then not repeated in the body),
    else the first sentence of the body cut to 30 characters.

    Leads: when a heading's text (or a text without headings) holds two or more lines that
    start with a news lead ("本报讯 M月D日…", "本报讯（记者 …）M月D日…", "本报M月D日讯"), each lead
    starts an article (:func:`split_at_leads`), whatever the file format: two articles side by
    side on a PDF page, or a bulletin without ``#`` headings. The short line just before a
    lead is its title; the first article keeps the heading as its title when it has no such
    line; text before the first lead is an article if it holds a sentence, else a masthead.

    Body: broken sentences joined (:func:`repair_page_breaks` rules), table rows written as
    sentences (``rag.parse.tables``: "乡镇：南樊镇，项目：…，完成投资（万元）：1450。"), a final byline
    (2–4 Han characters alone on the last line) moved to ``author``, half-width ``,;:?!``
    next to Chinese text made full-width (never inside numbers: "1,000" stays), paragraphs
    stripped and separated by exactly ``"\\n\\n"``. Sub-headings (``###``) stay as their own
    paragraph without the marks.

    Headline-only items: a heading with no body (a 简讯 headline such as "## 县城区新增公共停车位800个")
    is an article whose text is its title, so it can be found and cited; a heading with no body
    and fewer than ``HEADLINE_MIN_CHARS`` letters and digits is a section name ("## 图片新闻") and
    is skipped.

    Date: the first "M月D日" / "YYYY年M月D日" (or "YYYY-MM-DD") within the first 80 characters
    of the body. Its year: the one written in it; else ``year``; else the first "20xx年" in
    the title, then the body; else the first "20xx年" of a masthead (text dropped before the
    first article, or ``masthead``: a PDF's running header); else the date is ``""``.
    source: recorded as ``Article.source``.
    skipped: receives a ``Skipped`` for each masthead and section name left out.
    returns: articles in text order, an exact repeat of an earlier article's body dropped;
        empty when there is no body text. Article ids are ``stable_id(body text)``, so a
        reprint in another file gets the same id.
    """
    text = normalize(normalise_newlines(text))
    default_title = normalize(default_title)
    sections: list[tuple[str | None, list[str]]] = []
    title: str | None = None
    lines: list[str] = []
    for line in text.split("\n"):
        m = _HEADING_RE.match(line)
        if m and m.group(2).strip():
            sections.append((title, lines))
            title, lines = m.group(2).strip(), []
        else:
            lines.append(line)
    sections.append((title, lines))

    has_headings = len(sections) > 1
    pieces: list[tuple[str | None, list[str], bool]] = []  # (title, lines, is a heading's text)
    mastheads: list[str] = []
    for title, lines in sections:
        split = split_at_leads(lines)
        if split is None:
            pieces.append((title, lines, title is not None))
            continue
        pre, parts = split
        if _SENTENCE_END_RE.search("".join(pre)):
            pieces.append((title, pre, title is not None))
            title = None
        elif any(ln.strip() for ln in pre):
            mastheads.append("\n".join(pre))
        for k, (own, body) in enumerate(parts):
            if own is None and k == 0 and title is not None:
                own = title
            pieces.append((own or "", body, True))

    kept: list[tuple[str | None, list[str], bool]] = []
    for title, lines, titled in pieces:
        if not titled and not any(ln.strip() for ln in lines):
            continue
        if not titled and has_headings and not _SENTENCE_END_RE.search("".join(lines)):
            mastheads.append("\n".join(lines))  # masthead / issue line before the first article
            continue
        kept.append((title, lines, titled))
    notes = skipped if skipped is not None else []
    for m in mastheads:
        m = " ".join(ln.strip() for ln in m.split("\n") if ln.strip())
        notes.append(Skipped("masthead", f"{source} 开头的「{m}」是报头或刊期，不是文章，未导入。", m))
    fallback_year = _year_in_text("", "\n".join([*mastheads, normalize(masthead)]))
    articles: list[Article] = []
    for title, lines, titled in kept:
        if titled:
            title = clean_title(title or "")
            art = build_article(title, lines, source=source, year=year, fallback_year=fallback_year)
            if art is None and title:
                art = _headline_article(title, source=source, year=year, fallback_year=fallback_year, skipped=notes)
        else:
            art = _headless_article(
                lines, source=source, year=year, default_title=default_title, fallback_year=fallback_year
            )
        if art is not None:
            articles.append(art)
    return dedupe(articles)


def split_at_leads(lines: list[str]) -> tuple[list[str], list[tuple[str | None, list[str]]]] | None:
    """Split raw lines at news leads; None when fewer than two lines start with a lead.

    A lead is a line starting with "本报讯" / "本报…讯" / "本台讯" with an "M月D日" date within its
    first 50 characters. The line just before a lead (blank lines aside) is the lead's title
    when it is short (at most 60 characters), does not end a sentence, is not a 2–4 character
    byline, and itself follows the start, a blank line, a sentence end or a byline.
    returns: ``(lines before the first article, [(title or None, body lines), ...])``.
    """
    leads = [i for i, ln in enumerate(lines) if _LEAD_RE.match(ln) and _LEAD_DATE_RE.search(ln[:_LEAD_DATE_WINDOW])]
    if len(leads) < 2:
        return None
    starts: list[tuple[int, str | None, int]] = []  # (first line of the article, title, first body line)
    floor = 0
    for i in leads:
        j = _prev_nonblank(lines, i, floor)
        title = None
        if j is not None and _is_title_line(lines[j]):
            k = _prev_nonblank(lines, j, floor)
            blank_between = k is not None and k < j - 1
            if k is None or blank_between or _ends_sentence(lines[k]) or _BYLINE_RE.fullmatch(lines[k].strip()):
                title = lines[j].strip()
        starts.append((j if title is not None else i, title, i))
        floor = i + 1
    parts = []
    for n, (_start, title, body_start) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        parts.append((title, lines[body_start:end]))
    return lines[: starts[0][0]], parts


def _prev_nonblank(lines: list[str], i: int, floor: int) -> int | None:
    j = i - 1
    while j >= floor and not lines[j].strip():
        j -= 1
    return j if j >= floor else None


def _is_title_line(line: str) -> bool:
    s = line.strip()
    return (
        0 < len(s) <= _TITLE_LINE_MAX_CHARS
        and not _ends_sentence(s)
        and not _PROTECTED_RE.match(line)
        and not _BYLINE_RE.fullmatch(s)
        and not (_LEAD_RE.match(s))
    )


def year_from_name(name: str) -> int | None:
    """The 4-digit year (19xx or 20xx) written in a file name or relative path, or None.

    "绛县新闻-2024年4-5月.txt" → 2024; "20240510.txt" → 2024; "2024/会议.txt" → 2024.
    The file name wins over folder names; digits that are part of a longer number are ignored.
    """
    parts = list(reversed(Path(str(name).replace("\\", "/")).parts))
    for part in parts:
        m = _YEAR_IN_NAME_RE.search(part) or _YMD_IN_NAME_RE.search(part)
        if m:
            return int(m.group(1))
    return None


def repair_page_breaks(text: str) -> str:
    """Join sentences broken across page breaks and line wraps; return paragraphs joined by ``"\\n\\n"``.

    A line that does not end a sentence (last character, before any closing quotes or
    brackets, not one of ``。！？!?…；;．`` or a "." not after a digit), followed by zero or more
    blank lines and a continuation line, is one sentence: ``"新要\\n\\n求"`` → ``"新要求"``.
    Never joined: markdown headings and table rows (either side), a short enumerated
    sub-heading ("一、总体要求"), a continuation line indented with a full-width space, a tab
    or two spaces (a new paragraph), and a line ending in two spaces followed by a single
    newline (a markdown hard break). Latin words are joined with one space, Chinese with none.
    Each paragraph is stripped; blank-line runs collapse to one blank line.
    """
    return "\n\n".join(_repair_lines(normalise_newlines(text).split("\n")))


# --- article building --------------------------------------------------------------


def build_article(
    title: str,
    lines: list[str],
    *,
    source: str,
    year: int | None,
    author: str | None = None,
    date: str | None = None,
    url: str = "",
    fallback_year: int | None = None,
) -> Article | None:
    """Normalise a body given as raw lines and make the Article (None if the body is empty).

    The lines are expected already normalised (:func:`rag.normalize.normalize`).
    fallback_year: year for a date without one when neither ``year`` nor the article names one.
    """
    lines, byline = _split_byline(lines, given=author)
    paragraphs = _normalise_paragraphs(table_sentences(_repair_lines(lines)))
    body = "\n\n".join(p for p, _ in paragraphs)
    if not body:
        return None
    rows, pos = [], 0
    for p, is_row in paragraphs:
        if is_row:
            rows.append((pos, pos + len(p)))
        pos += len(p) + 2
    if not title:
        title = _auto_title(body)
    if not date:
        date = _find_date(title, body, year, fallback_year)
    return Article(
        id=stable_id(body),
        title=title,
        text=body,
        date=date,
        author=author or byline,
        source=source,
        url=url,
        table_rows=tuple(rows),
    )


def _headline_article(
    title: str, *, source: str, year: int | None, fallback_year: int | None, skipped: list[Skipped]
) -> Article | None:
    """A heading without a body: a headline-only article (its text is the title), or None for a
    section name (recorded in ``skipped`` as ``empty_section``)."""
    if sum(ch.isalnum() for ch in title) < HEADLINE_MIN_CHARS:
        skipped.append(
            Skipped(
                "empty_section",
                f"{source} 中的标题「{title}」下没有正文（栏目名或图片），未作为文章导入。",
                title,
            )
        )
        return None
    date = _find_date(title, title, year, fallback_year)
    return Article(id=stable_id(title), title=title, text=title, date=date, source=source)


def _headless_article(
    lines: list[str], *, source: str, year: int | None, default_title: str, fallback_year: int | None = None
) -> Article | None:
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    if not nonblank:
        return None
    first = lines[nonblank[0]].strip()
    kw = {"source": source, "year": year, "fallback_year": fallback_year}
    if default_title:
        title = clean_title(default_title)
        if clean_title(first) == title and len(nonblank) > 1:
            lines = lines[nonblank[0] + 1 :]
        return build_article(title, lines, **kw)
    if (
        len(nonblank) > 1
        and len(first) <= _TITLE_LINE_MAX_CHARS
        and not first.endswith("。")
        and not _PROTECTED_RE.match(lines[nonblank[0]])
    ):
        return build_article(clean_title(first), lines[nonblank[0] + 1 :], **kw)
    return build_article("", lines, **kw)


def clean_title(title: str) -> str:
    """A heading as a title: whitespace collapsed, ``#`` marks stripped, punctuation normalised."""
    title = re.sub(r"\s+", " ", title.replace("\u3000", " ")).strip().strip("#").strip()
    return _normalise_punct(title)


def _auto_title(body: str) -> str:
    """First sentence of the body (dateline "本报讯 4月29日，" removed), cut to 30 characters."""
    first = body.split("\n\n", 1)[0]
    rest = _DATELINE_RE.sub("", first, count=1) or first
    m = _SENTENCE_END_RE.search(rest)
    sentence = rest[: m.start()] if m else rest
    sentence = sentence.strip(" ，,：:、")
    return sentence[:_AUTO_TITLE_CHARS].rstrip(" ，,：:、")


def _split_byline(lines: list[str], given: str | None = None) -> tuple[list[str], str]:
    """Remove a final byline line; return (remaining lines, byline or "").

    The last non-blank line is a byline when it is 2–4 Han characters alone and it follows a
    blank line, a line with trailing spaces, or a line that ends a sentence. When ``given``
    (an author field) is set, only a byline equal to it is removed.
    """
    idx = len(lines) - 1
    while idx >= 0 and not lines[idx].strip():
        idx -= 1
    if idx <= 0:
        return lines, ""
    cand = lines[idx].strip()
    if not _BYLINE_RE.fullmatch(cand) or cand in _NOT_BYLINES:
        return lines, ""
    if given and cand != given:
        return lines, ""
    j, blank = idx - 1, False
    while j >= 0 and not lines[j].strip():
        j, blank = j - 1, True
    if j < 0 or (_PROTECTED_RE.match(lines[j]) and not (blank and is_table_row(lines[j]))):
        return lines, ""
    prev = lines[j]
    if blank or prev != prev.rstrip() or _ends_sentence(prev):
        return lines[:idx], cand
    return lines, ""


def _ends_sentence(line: str) -> bool:
    s = line.rstrip().rstrip(_TRAILING_CLOSERS).rstrip()
    if not s:
        return False
    c = s[-1]
    if c in _FINAL:
        return True
    return c == "." and (len(s) < 2 or not s[-2].isdigit())


def _is_subheading(s: str) -> bool:
    return len(s) <= _SUBHEADING_MAX_CHARS and bool(_ENUM_RE.match(s))


def _starts_new_paragraph(line: str) -> bool:
    return line.startswith(("\u3000", "\t", "  "))


def _repair_lines(lines: list[str]) -> list[str]:
    """Lines → paragraphs, joining broken sentences (rules in :func:`repair_page_breaks`)."""
    paragraphs: list[str] = []
    cur: str | None = None
    cur_open = False  # may the current paragraph be continued by the next line?
    blanks = 0
    hard_break = False
    for raw in lines:
        if not raw.strip():
            blanks += 1
            continue
        line = raw.rstrip()
        protected = bool(_PROTECTED_RE.match(raw))
        joinable = (
            cur is not None
            and cur_open
            and not protected
            and not _starts_new_paragraph(raw)
            and not (hard_break and blanks == 0)
        )
        if joinable:
            cur = join_text(cur, line.strip())
        else:
            if cur is not None:
                paragraphs.append(cur)
            cur = line.strip() if not protected else line.rstrip()
        cur_open = not protected and not _ends_sentence(cur) and not _is_subheading(cur)
        hard_break = raw.endswith(("  ", "\t"))
        blanks = 0
    if cur is not None:
        paragraphs.append(cur)
    return paragraphs


def _normalise_paragraphs(paragraphs: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """``(paragraph, is a table row)`` pairs: sub-heading marks removed, punctuation normalised,
    empty ones dropped."""
    out = []
    for p, is_row in paragraphs:
        m = _SUBHEADING_MARK_RE.match(p)
        if m:
            p = m.group(1) or ""
        p = _normalise_punct(p.strip())
        if p:
            out.append((p, is_row))
    return out


def _normalise_punct(s: str) -> str:
    """Half-width ``,;:?!`` → full-width when a Han character or a Chinese closing quote/bracket
    precedes it, or a Han character / Chinese opening quote follows it. "1,000" stays."""
    s = _PUNCT_RE.sub(lambda m: _HALF_TO_FULL[m.group(1) or m.group(2)], s)
    return _SPACE_AFTER_FULL_RE.sub("", s)


def article_date(title: str, text: str, year: int | None) -> str:
    """An article's date by the rule of :func:`parse_text` (the first date within the first 80
    characters of ``text``; ``year`` for one written without a year): ISO ``YYYY-MM-DD`` or ``""``."""
    return _find_date(title, text, year)


def _find_date(title: str, body: str, year: int | None, fallback_year: int | None = None) -> str:
    head = unicodedata.normalize("NFKC", body[:_DATE_WINDOW])
    candidates = []
    for m in _CN_DATE_RE.finditer(head):
        candidates.append((m.start(), m.group(1), m.group(2), m.group(3)))
    for m in _ISO_DATE_RE.finditer(head):
        candidates.append((m.start(), m.group(1), m.group(2), m.group(3)))
    candidates.sort(key=lambda c: c[0])
    for _, y, mo, d in candidates:
        if y is None:
            y = year if year is not None else _year_in_text(title, body) or fallback_year
            if y is None:
                continue
        iso = _iso_date(int(y), int(mo), int(d))
        if iso:
            return iso
    return ""


def _year_in_text(title: str, body: str) -> int | None:
    for s in (title, body):
        m = _YEAR_IN_TEXT_RE.search(unicodedata.normalize("NFKC", s))
        if m:
            return int(m.group(1))
    return None


def _iso_date(y: int, m: int, d: int) -> str:
    try:
        return _dt.date(y, m, d).isoformat()
    except ValueError:
        return ""


def parse_given_date(value: object, year: int | None) -> str:
    """A .jsonl ``date``: "YYYY-MM-DD", "YYYY年M月D日" (or "M月D日" with ``year``); "" if unusable."""
    if not isinstance(value, str) or not value.strip():
        return ""
    v = unicodedata.normalize("NFKC", value.strip())
    m = _ISO_DATE_RE.fullmatch(v) or re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})[T ].*", v)
    if m:
        return _iso_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _CN_DATE_RE.fullmatch(v)
    if m:
        y = int(m.group(1)) if m.group(1) else year
        return _iso_date(y, int(m.group(2)), int(m.group(3))) if y else ""
    return ""


def dedupe(articles: list[Article]) -> list[Article]:
    """Articles in order, a repeat of an earlier article id (same body text) dropped."""
    seen: set[str] = set()
    out = []
    for a in articles:
        if a.id not in seen:
            seen.add(a.id)
            out.append(a)
    return out
