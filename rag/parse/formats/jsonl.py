"""JSON Lines (.jsonl): one article per line, read lazily; a bad line is reported and skipped."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from rag.errors import ParseError
from rag.normalize import normalize
from rag.types import Article

from ..articles import build_article, clean_title, parse_given_date
from ..decode import normalise_newlines


def parse_jsonl(text: str, *, source: str, year: int | None, errors: list[ParseError]) -> list[Article]:
    """One article per line: ``{"text": ..., "title"?, "date"?, "author"?, "url"?}``.

    ``id`` and ``source`` are ignored: the article id is always the hash of its text, and the
    document is named by its file (``source``), never by a field inside it (a line naming
    another document would otherwise replace that document's chunks). Text, title and author
    are normalised (``rag.normalize``). Bad lines are appended to ``errors`` as
    ``bad_jsonl_line`` with "第 N 行：" in the message.
    """
    return list(iter_jsonl_articles(text.split("\n"), source=source, year=year, errors=errors))


def iter_jsonl_articles(
    lines: Iterable[str], *, source: str, year: int | None, errors: list[ParseError]
) -> Iterator[Article]:
    """Articles of JSON Lines, lazily, one per line (see ``_parse_jsonl``): a large archive is
    read line by line, never whole. Duplicates are not removed here. Bad lines go to ``errors``."""
    for no, raw in enumerate(lines, 1):
        if not raw.strip():
            continue

        def bad(reason: str, no: int = no) -> None:
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
        title = clean_title(normalize(title)) if isinstance(title, str) else ""
        author = obj.get("author")
        author = normalize(author).strip() if isinstance(author, str) and author.strip() else None
        url = obj.get("url")
        url = url.strip() if isinstance(url, str) else ""
        art = build_article(
            title,
            normalize(normalise_newlines(body)).split("\n"),
            source=source,
            year=year,
            author=author,
            date=parse_given_date(obj.get("date"), year),
            url=url,
        )
        if art is None:
            bad("text 字段只有空白")
            continue
        yield art
