"""Files → articles.

Every format is turned into one markdown-like text (``#``/``##`` lines start articles,
paragraphs separated by blank lines) and goes through :func:`parse_text`, so dates,
bylines, page-break repair and punctuation normalisation apply the same way to
.txt, .md, .jsonl (per line), .docx, .pdf and .html.

Document text is data: nothing in it is evaluated or rendered here. HTML is parsed
only to extract its text; ``<script>`` in a .txt stays literal text (escaping is the UI's job).

All lengths are in characters (``str`` indices) unless a name says bytes.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import json
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from rag.errors import NotFoundError, ParseError
from rag.types import Article, stable_id

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ParseResult",
    "parse_file",
    "iter_corpus_files",
    "decode_bytes",
    "parse_text",
    "year_from_name",
    "repair_page_breaks",
]

SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl", ".docx", ".pdf", ".html", ".htm")

#: Name of the user dictionary that lives next to the corpus; never ingested.
DICT_FILE_NAME = "dict.txt"

#: Uncompressed size of a .docx (zip bomb guard): at most max(50 × its own size, max_bytes), so a
#: small file never unpacks to more text than a plain file may hold, and never above
#: min(50 × max_bytes, 200 MiB).
DOCX_MAX_UNCOMPRESSED = 200 * 1024 * 1024
DOCX_MAX_RATIO = 50
DOCX_MAX_ENTRIES = 10_000

_MIB = 1024 * 1024

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
_AUTO_TITLE_CHARS = 30
_TITLE_LINE_MAX_CHARS = 60

_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes(list(range(0, 9)) + list(range(14, 32)) + [127])
_BINARY_CONTROL_SHARE = 0.05


# --- public types ------------------------------------------------------------------


@dataclass
class ParseResult:
    """What one file yielded.

    articles: the articles in file order (exact duplicates within the file removed).
    errors: recoverable problems inside the file (a bad .jsonl line, an unreadable PDF page),
        each a ``ParseError`` whose message names the file and the line/page number; the good
        parts are still in ``articles``.
    """

    articles: list[Article] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)


# --- entry points ------------------------------------------------------------------


def parse_file(
    path: Path,
    *,
    root: Path | None = None,
    year: int | None = None,
    max_bytes: int = 20 * _MIB,
    source: str | None = None,
) -> ParseResult:
    """Read one file into articles.

    path: the file; its suffix (case-insensitive) picks the reader, one of ``SUPPORTED_SUFFIXES``.
    root: corpus root; ``Article.source`` is ``path`` relative to it in posix form.
    year: year for dates written without one ("4月29日"); when None it is taken from the
        file name (then its folders) by :func:`year_from_name`.
    max_bytes: largest accepted file size in bytes (a .docx may unpack to at most
        ``max(50 × its size, max_bytes)``, capped at ``min(50 × max_bytes, 200 MiB)``).
    source: the name to record instead (e.g. an upload's file name); default: path relative
        to ``root``, else the file name.
    returns: ``ParseResult``; ``articles`` is never empty.
    raises NotFoundError: the file does not exist.
    raises ParseError: the whole file is unusable, with ``code`` one of ``unsupported_type``,
        ``empty_file``, ``file_too_large``, ``binary_file``, ``decode_error``,
        ``corrupt_document``, ``no_text``; the message is Chinese and names the file.
    """
    path = Path(path)
    if source is None:
        source = _relative_source(path, root)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ParseError(
            f"不支持的文件类型「{suffix or '无扩展名'}」：{source}。"
            f"支持的类型：{'、'.join(SUPPORTED_SUFFIXES)}；请另存为 .docx、.txt 或 .pdf 后再导入。",
            code="unsupported_type",
        )
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotFoundError(f"文件不存在：{source}") from None
    except OSError as e:
        raise ParseError(f"无法读取文件 {source}：{e.strerror or e}", code="corrupt_document") from None
    if size == 0:
        raise ParseError(f"文件 {source} 是空文件（0 字节），没有可导入的内容。", code="empty_file")
    if size > max_bytes:
        raise ParseError(
            f"文件 {source} 太大（{_fmt_size(size)}），上限为 {_fmt_size(max_bytes)}；请拆分后再导入。",
            code="file_too_large",
        )
    if year is None:
        year = year_from_name(source) or year_from_name(path.name)

    result = ParseResult()
    if suffix in (".txt", ".md"):
        text = _read_text(path, source)
        if suffix == ".md":
            text = _strip_markdown(text)
        articles = parse_text(text, source=source, year=year)
    elif suffix == ".jsonl":
        articles = _parse_jsonl(_read_text(path, source), source=source, year=year, errors=result.errors)
    elif suffix == ".docx":
        articles = parse_text(_docx_text(path, source, max_bytes), source=source, year=year)
    elif suffix == ".pdf":
        articles = parse_text(_pdf_text(path, source, result.errors), source=source, year=year)
    else:  # .html / .htm
        text, title = _html_text(_read_text(path, source))
        articles = parse_text(text, source=source, year=year, default_title=title)

    result.articles = _dedupe(articles)
    if not result.articles:
        if result.errors:
            first = result.errors[0].message
            raise ParseError(
                f"文件 {source} 中没有一条可用的文章（共 {len(result.errors)} 处错误，首个：{first}）。",
                code="no_text",
            )
        hint = "；若是扫描件，请先做文字识别（OCR）" if suffix == ".pdf" else ""
        raise ParseError(f"文件 {source} 中没有可导入的文字{hint}。", code="no_text")
    return result


def iter_corpus_files(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """Yield ``(file, root)`` for every file to ingest under the given files and folders.

    Folders are walked recursively; their supported files (``SUPPORTED_SUFFIXES``,
    case-insensitive) are yielded sorted by relative path, with ``root`` the folder.
    Hidden files and folders (name starting with ".") and files named ``dict.txt`` (the user
    dictionary kept in the corpus folder) are skipped; symlinked folders are not followed.
    A file given directly is yielded with ``root`` its parent, whatever its suffix (so
    :func:`parse_file` reports an unsupported type instead of skipping it silently), unless it
    is named ``dict.txt``. Paths are yielded in the order given, each file at most once.
    raises NotFoundError: a given path does not exist.
    """
    seen: set[Path] = set()
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found: list[Path] = []
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for name in filenames:
                    if _is_corpus_file(name):
                        found.append(Path(dirpath) / name)
            found.sort(key=lambda f: f.relative_to(p).as_posix())
            for f in found:
                key = f.resolve()
                if key not in seen:
                    seen.add(key)
                    yield f, p
        elif p.is_file():
            if p.name.lower() == DICT_FILE_NAME:
                continue
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                yield p, p.parent
        else:
            raise NotFoundError(f"路径不存在：{p}")


def decode_bytes(data: bytes, name: str) -> str:
    """Decode a text file's bytes; newlines become ``\\n``, form feeds (page breaks) ``\\n\\n``.

    Order: UTF-32/UTF-16/UTF-8 by BOM, then UTF-8, then GB18030 (a superset of GBK/GB2312),
    then charset-normalizer as a last resort. Stray control characters are dropped.
    name: the file name used in error messages.
    raises ParseError: ``empty_file`` (no bytes), ``binary_file`` (NUL bytes or more than
        5 % control characters), ``decode_error`` (no encoding fits).
    """
    if not data:
        raise ParseError(f"文件 {name} 是空文件（0 字节），没有可导入的内容。", code="empty_file")
    text: str | None = None
    for bom, enc, label in (
        (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                raise ParseError(
                    f"文件 {name} 以 {label} 字节序标记（BOM）开头，但内容无法按 {label} 解码；请另存为 UTF-8 后再导入。",
                    code="decode_error",
                ) from None
            break
    if text is None:
        if b"\x00" in data or _control_share_bytes(data) > _BINARY_CONTROL_SHARE:
            raise _binary_error(name)
        for enc in ("utf-8", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
    if text is None:
        text = _charset_normalizer_decode(data)
        if text is None:
            raise ParseError(
                f"无法识别文件 {name} 的文字编码（已尝试 UTF-8、GB18030 等）；请另存为 UTF-8 后再导入。",
                code="decode_error",
            )
    if "\x00" in text or (text and len(_CONTROL_RE.findall(text)) / len(text) > _BINARY_CONTROL_SHARE):
        raise _binary_error(name)
    return _normalise_newlines(text)


def parse_text(text: str, *, source: str, year: int | None = None, default_title: str = "") -> list[Article]:
    """Split markdown-like text into articles (the shared path of every format).

    Lines ``# 标题`` / ``## 标题`` start articles; blank text before the first heading is
    ignored, and non-blank text there is kept as an article only if it holds a sentence
    (a masthead line such as "绛县新闻 第5期" is dropped). A text with no heading is one
    article titled ``default_title`` if given, else its first line when that line looks like
    a title (at most 60 characters, not ending in "。"; it is then not repeated in the body),
    else the first sentence of the body cut to 30 characters.

    Body: broken sentences joined (:func:`repair_page_breaks` rules), a final byline
    (2–4 Han characters alone on the last line) moved to ``author``, half-width ``,;:?!``
    next to Chinese text made full-width (never inside numbers: "1,000" stays), paragraphs
    stripped and separated by exactly ``"\\n\\n"``. Sub-headings (``###``) stay as their own
    paragraph without the marks.

    Date: the first "M月D日" / "YYYY年M月D日" (or "YYYY-MM-DD") within the first 80 characters
    of the body. Its year: the one written in it; else ``year``; else the first "20xx年" in
    the title, then the body; else the date is ``""``.
    source: recorded as ``Article.source``.
    returns: articles in text order, an exact repeat of an earlier article's body dropped;
        empty when there is no body text. Article ids are ``stable_id(body text)``, so a
        reprint in another file gets the same id.
    """
    text = _normalise_newlines(text.lstrip("\ufeff"))
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
    articles: list[Article] = []
    for title, lines in sections:
        if title is None:
            if not any(ln.strip() for ln in lines):
                continue
            if has_headings and not _SENTENCE_END_RE.search("".join(lines)):
                continue  # masthead / issue line before the first article
            art = _headless_article(lines, source=source, year=year, default_title=default_title)
        else:
            art = _build_article(_clean_title(title), lines, source=source, year=year)
        if art is not None:
            articles.append(art)
    return _dedupe(articles)


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
    return "\n\n".join(_repair_lines(_normalise_newlines(text).split("\n")))


# --- article building --------------------------------------------------------------


def _build_article(
    title: str,
    lines: list[str],
    *,
    source: str,
    year: int | None,
    author: str | None = None,
    date: str | None = None,
    url: str = "",
) -> Article | None:
    """Normalise a body given as raw lines and make the Article (None if the body is empty)."""
    lines, byline = _split_byline(lines, given=author)
    paragraphs = _normalise_paragraphs(_repair_lines(lines))
    body = "\n\n".join(paragraphs)
    if not body:
        return None
    if not title:
        title = _auto_title(body)
    if not date:
        date = _find_date(title, body, year)
    return Article(
        id=stable_id(body),
        title=title,
        text=body,
        date=date,
        author=author or byline,
        source=source,
        url=url,
    )


def _headless_article(lines: list[str], *, source: str, year: int | None, default_title: str) -> Article | None:
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    if not nonblank:
        return None
    first = lines[nonblank[0]].strip()
    if default_title:
        title = _clean_title(default_title)
        if _clean_title(first) == title and len(nonblank) > 1:
            lines = lines[nonblank[0] + 1 :]
        return _build_article(title, lines, source=source, year=year)
    if len(nonblank) > 1 and len(first) <= _TITLE_LINE_MAX_CHARS and not first.endswith("。"):
        return _build_article(_clean_title(first), lines[nonblank[0] + 1 :], source=source, year=year)
    return _build_article("", lines, source=source, year=year)


def _clean_title(title: str) -> str:
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
    if j < 0 or _PROTECTED_RE.match(lines[j]):
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
            cur = _join(cur, line.strip())
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


def _join(left: str, right: str) -> str:
    a, b = left[-1], right[0]
    if b.isascii() and b.isalnum() and (a.isascii() and a.isalpha() or a in ",;:" or (a.isdigit() and b.isalpha())):
        return f"{left} {right}"
    return left + right


def _normalise_paragraphs(paragraphs: list[str]) -> list[str]:
    out = []
    for p in paragraphs:
        m = _SUBHEADING_MARK_RE.match(p)
        if m:
            p = m.group(1) or ""
        p = _normalise_punct(p.strip())
        if p:
            out.append(p)
    return out


def _normalise_punct(s: str) -> str:
    """Half-width ``,;:?!`` → full-width when a Han character or a Chinese closing quote/bracket
    precedes it, or a Han character / Chinese opening quote follows it. "1,000" stays."""
    s = _PUNCT_RE.sub(lambda m: _HALF_TO_FULL[m.group(1) or m.group(2)], s)
    return _SPACE_AFTER_FULL_RE.sub("", s)


def _find_date(title: str, body: str, year: int | None) -> str:
    head = unicodedata.normalize("NFKC", body[:_DATE_WINDOW])
    candidates = []
    for m in _CN_DATE_RE.finditer(head):
        candidates.append((m.start(), m.group(1), m.group(2), m.group(3)))
    for m in _ISO_DATE_RE.finditer(head):
        candidates.append((m.start(), m.group(1), m.group(2), m.group(3)))
    candidates.sort(key=lambda c: c[0])
    for _, y, mo, d in candidates:
        if y is None:
            y = year if year is not None else _year_in_text(title, body)
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


def _parse_given_date(value: object, year: int | None) -> str:
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


def _dedupe(articles: list[Article]) -> list[Article]:
    seen: set[str] = set()
    out = []
    for a in articles:
        if a.id not in seen:
            seen.add(a.id)
            out.append(a)
    return out


# --- readers -----------------------------------------------------------------------


def _read_text(path: Path, source: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ParseError(f"无法读取文件 {source}：{e.strerror or e}", code="corrupt_document") from None
    text = decode_bytes(data, source)
    if not text.strip():
        raise ParseError(f"文件 {source} 只有空白，没有可导入的内容。", code="empty_file")
    return text


def _parse_jsonl(text: str, *, source: str, year: int | None, errors: list[ParseError]) -> list[Article]:
    """One article per line: ``{"text": ..., "title"?, "date"?, "author"?, "source"?, "url"?, "id"?}``.

    ``id`` is ignored (the article id is always the hash of its text). Bad lines are appended
    to ``errors`` as ``bad_jsonl_line`` with "第 N 行：" in the message.
    """
    return list(iter_jsonl_articles(text.split("\n"), source=source, year=year, errors=errors))


def iter_jsonl_articles(lines: Iterable[str], *, source: str, year: int | None,
                        errors: list[ParseError]) -> Iterator[Article]:
    """Articles of JSON Lines, lazily, one per line (see ``_parse_jsonl``): a large archive is
    read line by line, never whole. Duplicates are not removed here. Bad lines go to ``errors``."""
    for no, raw in enumerate(lines, 1):
        if not raw.strip():
            continue

        def bad(reason: str) -> None:
            errors.append(ParseError(f"{source} 第 {no} 行：{reason}，已跳过。", code="bad_jsonl_line"))

        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError) as e:
            bad(f"不是合法的 JSON（{getattr(e, 'msg', '嵌套过深')}）")
            continue
        if not isinstance(obj, dict):
            bad(f"应为 JSON 对象，实际是 {type(obj).__name__}")
            continue
        body = obj.get("text")
        if not isinstance(body, str) or not body.strip():
            bad("缺少非空的 text 字段")
            continue
        title = obj.get("title")
        title = _clean_title(title) if isinstance(title, str) else ""
        author = obj.get("author")
        author = author.strip() if isinstance(author, str) and author.strip() else None
        src = obj.get("source")
        src = src.strip() if isinstance(src, str) and src.strip() else source
        url = obj.get("url")
        url = url.strip() if isinstance(url, str) else ""
        art = _build_article(
            title,
            _normalise_newlines(body).split("\n"),
            source=src,
            year=year,
            author=author,
            date=_parse_given_date(obj.get("date"), year),
            url=url,
        )
        if art is None:
            bad("text 字段只有空白")
            continue
        yield art


def _docx_text(path: Path, source: str, max_bytes: int) -> str:
    """A .docx as markdown-like text: Title/Heading 1/Heading 2 → ``#``/``##``, deeper headings
    → ``###``, table rows → ``| a | b |``, paragraphs separated by blank lines."""
    corrupt = f"文件 {source} 不是有效的 .docx 文档（可能已损坏，或是旧版 .doc 改了扩展名）；请用 Word 另存为 .docx 后再导入。"
    try:
        size = path.stat().st_size
        limit = min(max(DOCX_MAX_RATIO * size, max_bytes), DOCX_MAX_RATIO * max_bytes, DOCX_MAX_UNCOMPRESSED)
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if len(infos) > DOCX_MAX_ENTRIES or total > limit:
                raise ParseError(
                    f"文件 {source} 解压后达 {_fmt_size(total)}（{len(infos)} 个部件），超过上限 {_fmt_size(limit)}，"
                    "疑似压缩炸弹，已拒绝导入。",
                    code="file_too_large",
                )
            if "word/document.xml" not in {i.filename for i in infos}:
                raise ParseError(corrupt, code="corrupt_document")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        raise ParseError(corrupt, code="corrupt_document") from None

    try:
        import docx  # python-docx
        from docx.table import Table

        document = docx.Document(str(path))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    cells: list[str] = []
                    for cell in row.cells:
                        t = re.sub(r"\s+", " ", cell.text).strip()
                        if not cells or cells[-1] != t:  # merged cells repeat
                            cells.append(t)
                    if any(cells):
                        blocks.append("| " + " | ".join(cells) + " |")
                continue
            text = item.text.replace("\r", "")
            if not text.strip():
                continue
            level = _docx_heading_level(item)
            if level:
                blocks.append("#" * level + " " + re.sub(r"\s+", " ", text).strip())
            else:
                blocks.append(text)
    except ParseError:
        raise
    except Exception:  # python-docx raises KeyError, ValueError, lxml errors, … on broken parts
        raise ParseError(corrupt, code="corrupt_document") from None
    return "\n\n".join(blocks)


def _docx_heading_level(paragraph) -> int:
    try:
        name = (paragraph.style.name or "") if paragraph.style is not None else ""
    except Exception:
        return 0
    low = name.lower().strip()
    if low in ("title", "标题", "heading 1", "heading 2", "标题 1", "标题 2"):
        return 2 if low.endswith("2") else 1
    if low.startswith(("heading ", "标题 ")):
        return 3
    return 0


def _pdf_text(path: Path, source: str, errors: list[ParseError]) -> str:
    """Page texts joined by blank lines (so sentences broken across pages get repaired)."""
    corrupt = f"文件 {source} 不是有效的 PDF（可能已损坏或下载不完整）；请重新导出 PDF 后再导入。"
    try:
        import pypdf

        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                raise ParseError(f"文件 {source} 是加密的 PDF，无法读取；请先去除密码后再导入。", code="corrupt_document")
        pages = list(reader.pages)
    except ParseError:
        raise
    except Exception:
        raise ParseError(corrupt, code="corrupt_document") from None
    texts = []
    for n, page in enumerate(pages, 1):
        try:
            texts.append(page.extract_text() or "")
        except Exception:
            errors.append(ParseError(f"{source} 第 {n} 页无法提取文字，已跳过。", code="corrupt_document"))
    return "\n\n".join(texts)


_HTML_DROP = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
              "nav", "aside", "form", "footer", "button", "select", "textarea", "input")
_HTML_BLOCKS = ("p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd",
                "table", "tr", "blockquote", "pre", "h3", "h4", "h5", "h6", "figure", "figcaption",
                "address", "hr", "center", "details", "summary", "body")
_PARA_MARK, _LINE_MARK = "\ue000", "\ue001"
_CJK_CHARS = f"{_HAN}\u3000-\u303f\uff00-\uffef“”‘’"


def _html_text(html: str) -> tuple[str, str]:
    """An HTML page as (markdown-like text, page title). h1/h2 become ``#`` headings."""
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, PreformattedString

    soup = BeautifulSoup(html.replace(_PARA_MARK, "").replace(_LINE_MARK, ""), "lxml")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(list(_HTML_DROP)):
        tag.decompose()
    if soup.head:
        soup.head.decompose()
    roots = soup.find_all("article") or soup.find_all("main") or [soup.body or soup]
    ids = {id(r) for r in roots}
    roots = [r for r in roots if not any(id(p) in ids for p in r.parents)]  # outermost only

    for root in roots:
        for h in root.find_all(["h1", "h2"]):
            text = re.sub(r"\s+", " ", h.get_text(" ")).strip()
            h.replace_with(NavigableString(f"{_PARA_MARK}# {text}{_PARA_MARK}" if text else ""))
        for br in root.find_all("br"):
            br.replace_with(NavigableString(_LINE_MARK))
        for tag in root.find_all(list(_HTML_BLOCKS)):
            tag.insert(0, NavigableString(_PARA_MARK))
            tag.append(NavigableString(_PARA_MARK))
        for cell in root.find_all(["td", "th"]):
            cell.append(NavigableString(" "))

    parts = []
    for root in roots:
        parts.append(_PARA_MARK)
        for s in root.find_all(string=True):
            if isinstance(s, PreformattedString):  # comments, CDATA, doctype, processing instructions
                continue
            parts.append(str(s))
        parts.append(_PARA_MARK)
    text = "".join(parts)
    # Source-code line breaks between Chinese characters are not spaces.
    text = re.sub(rf"(?<=[{_CJK_CHARS}])[ \t\r\f\v]*\n\s*(?=[{_CJK_CHARS}])", "", text)
    text = re.sub(r"\s+", " ", text)
    text = text.replace(_LINE_MARK, "\n")
    text = re.sub(rf" *{_PARA_MARK}[ {_PARA_MARK}]*", "\n\n", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    if not re.search(r"(?m)^#{1,2} ", text):
        return text, title
    return text, ""


_MD_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:[^)]*)\)")
_MD_EMPH_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_QUOTE_RE = re.compile(r"(?m)^[ \t]{0,3}>[ \t]?")


def _strip_markdown(text: str) -> str:
    """Light .md clean-up: images dropped, links → their text, **bold** → bold, "> " removed."""
    text = _MD_IMAGE_RE.sub("", text)
    text = _MD_LINK_RE.sub(r"\1", text)
    text = _MD_EMPH_RE.sub(r"\2", text)
    return _MD_QUOTE_RE.sub("", text)


# --- helpers -----------------------------------------------------------------------


def _relative_source(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            try:
                return path.resolve().relative_to(Path(root).resolve()).as_posix()
            except ValueError:
                pass
    return path.name


def _is_corpus_file(name: str) -> bool:
    return (
        not name.startswith(".")
        and name.lower() != DICT_FILE_NAME
        and os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES
    )


def _normalise_newlines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = text.replace("\f", "\n\n").replace("\v", "\n")
    return _CONTROL_RE.sub("", text)


def _control_share_bytes(data: bytes) -> float:
    sample = data[: 64 * 1024]
    return (len(sample) - len(sample.translate(None, _CONTROL_BYTES))) / len(sample)


def _charset_normalizer_decode(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:
        return None
    return str(best) if best is not None else None


def _binary_error(name: str) -> ParseError:
    return ParseError(
        f"文件 {name} 看起来是二进制文件而不是文本（含有 NUL 或大量控制字符）；请确认文件类型或扩展名是否正确。",
        code="binary_file",
    )


def _fmt_size(n: int) -> str:
    if n >= _MIB:
        return f"{n / _MIB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} 字节"
