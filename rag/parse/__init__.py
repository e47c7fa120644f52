"""Files → articles.

Every format is turned into one markdown-like text (``#``/``##`` lines start articles,
paragraphs separated by blank lines) and goes through :func:`parse_text`, so dates,
bylines, page-break repair and punctuation normalisation apply the same way to
.txt, .md, .jsonl (per line), .docx, .pdf and .html.

Layout: ``decode.py`` (bytes → text, encodings), ``formats/`` (one reader per file type),
``articles.py`` (the article rules: headings, leads and dates, bylines, page breaks).

Document text is data: nothing in it is evaluated or rendered here. HTML is parsed
only to extract its text; ``<script>`` in a .txt stays literal text (escaping is the UI's job).

All lengths are in characters (``str`` indices) unless a name says bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import NotFoundError, ParseError
from rag.types import Article

from .articles import Skipped, article_date, dedupe, parse_text, repair_page_breaks, year_from_name
from .decode import decode_bytes, decode_name, fmt_size, read_text
from .formats.docx import docx_text
from .formats.html import html_text
from .formats.jsonl import iter_jsonl_articles, parse_jsonl
from .formats.pdf import pdf_text
from .formats.text import strip_markdown

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ParseResult",
    "Skipped",
    "article_date",
    "parse_file",
    "iter_corpus_files",
    "iter_jsonl_articles",
    "decode_bytes",
    "decode_name",
    "parse_text",
    "relative_source",
    "year_from_name",
    "repair_page_breaks",
]

SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl", ".docx", ".pdf", ".html", ".htm")

#: Name of the user dictionary that lives next to the corpus; never ingested.
DICT_FILE_NAME = "dict.txt"

_MIB = 1024 * 1024


@dataclass
class ParseResult:
    """What one file yielded.

    articles: the articles in file order (exact duplicates within the file removed).
    errors: recoverable problems inside the file (a bad .jsonl line), each a ``ParseError``
        whose message names the file and the line number; the good parts are still in
        ``articles``.
    unreadable: parts of the file whose content could not be read (a PDF page without a text
        layer, pictures, a Word chart or embedded object), each a ``ParseError`` whose message
        names the file, the part and what to do; the rest of the file is in ``articles``.
    skipped: parts left out on purpose because they are not article text (``Skipped``: a
        masthead, a section name without a body, a PDF's running header or footer), each with
        its text.
    """

    articles: list[Article] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    unreadable: list[ParseError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


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
    returns: ``ParseResult``; ``articles`` is never empty. Text is normalised
        (``rag.normalize``) before it is split into articles.
    raises NotFoundError: the file does not exist.
    raises ParseError: the whole file is unusable, with ``code`` one of ``unsupported_type``,
        ``empty_file``, ``file_too_large``, ``binary_file``, ``decode_error``,
        ``corrupt_document``, ``no_text``; the message is Chinese and names the file.
    """
    path = Path(path)
    if source is None:
        source = relative_source(path, root)
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
            f"文件 {source} 太大（{fmt_size(size)}），上限为 {fmt_size(max_bytes)}；请拆分后再导入。",
            code="file_too_large",
        )
    if year is None:
        year = year_from_name(source)  # an upload's name, never its temp file name (random hex may hold "2019")

    result = ParseResult()
    kw = {"source": source, "year": year, "skipped": result.skipped}
    if suffix in (".txt", ".md"):
        text = read_text(path, source)
        if suffix == ".md":
            text = strip_markdown(text)
        articles = parse_text(text, **kw)
    elif suffix == ".jsonl":
        articles = parse_jsonl(read_text(path, source), source=source, year=year, errors=result.errors)
    elif suffix == ".docx":
        articles = parse_text(docx_text(path, source, max_bytes, result.unreadable), **kw)
    elif suffix == ".pdf":
        text, running = pdf_text(path, source, result.unreadable, result.skipped)
        articles = parse_text(text, masthead=running, **kw)
    else:  # .html / .htm
        text, title = html_text(read_text(path, source))
        articles = parse_text(text, default_title=title, **kw)

    result.articles = dedupe(articles)
    if not result.articles:
        if result.errors:
            first = result.errors[0].message
            raise ParseError(
                f"文件 {source} 中没有一条可用的文章（共 {len(result.errors)} 处错误，首个：{first}）。",
                code="no_text",
            )
        hint = "；若是扫描件，请先做文字识别（OCR）" if suffix == ".pdf" else ""
        unread = "".join(f"（{e.message}）" for e in result.unreadable[:3])
        raise ParseError(f"文件 {source} 中没有可导入的文字{hint}。{unread}", code="no_text")
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


def relative_source(path: Path, root: Path | None) -> str:
    """``path`` relative to the corpus ``root`` in posix form, else the file name; a name that
    is not UTF-8 on disk (GBK from a Windows share) is decoded like file contents
    (:func:`decode_name`)."""
    if root is not None:
        try:
            return decode_name(path.relative_to(root).as_posix())
        except ValueError:
            try:
                return decode_name(path.resolve().relative_to(Path(root).resolve()).as_posix())
            except ValueError:
                pass
    return decode_name(path.name)


def _is_corpus_file(name: str) -> bool:
    return (
        not name.startswith(".")
        and name.lower() != DICT_FILE_NAME
        and os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES
    )
