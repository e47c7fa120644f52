"""Corrections of an article's title, date or author by a user (a bad file gave a wrong date).

A correction is written into the article's chunks in Chroma (the one source of truth): their
``title``/``date``/``author`` metadata (so date filters, citations and listings use it at once)
and ``corrected``, the names of the corrected fields. An ingest of the same file again keeps
them (``keep_corrections``, called by the pipeline before it compares a chunk with the stored
one), so a re-upload never undoes a correction; deleting the document deletes it too.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import replace

from .errors import NotFoundError, RagError
from .types import Chunk

FIELDS = ("title", "date", "author")
MAX_TITLE_CHARS = 200
MAX_AUTHOR_CHARS = 50


def keep_corrections(chunks: Sequence[Chunk], stored: dict[str, dict]) -> list[Chunk]:
    """``chunks`` of one article as parsed, with the corrections found in the stored metadata
    of any of them (``stored``: chunk id → metadata) applied; unchanged when there are none."""
    old = next((stored[c.id] for c in chunks if stored.get(c.id, {}).get("corrected")), None)
    if old is None:
        return list(chunks)
    fields = [f for f in old["corrected"].split(",") if f in FIELDS]
    fix = {f: old.get(f, "") for f in fields}
    return [replace(c, corrected=",".join(fields), **fix) for c in chunks]


def check_changes(title: str | None = None, date: str | None = None, author: str | None = None) -> dict[str, str]:
    """The fields to change, cleaned: ``title`` (not empty, at most 200 characters), ``date``
    (``YYYY-MM-DD``, a real day, or ``""`` for unknown), ``author`` (``""`` for none, at most 50
    characters); None = leave the field as it is.

    raises RagError(bad_request, 422): nothing to change, an empty or too long title or author.
    raises RagError(bad_date, 422): a date that is not ``YYYY-MM-DD``.
    """
    changes: dict[str, str] = {}
    if title is not None:
        title = " ".join(title.split())
        if not title or len(title) > MAX_TITLE_CHARS:
            raise RagError(f"标题不能为空，最多 {MAX_TITLE_CHARS} 字。", code="bad_request", status=422)
        changes["title"] = title
    if date is not None:
        date = date.strip()
        if date:
            try:
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
                    raise ValueError(date)
                datetime.date.fromisoformat(date)
            except ValueError:
                raise RagError(
                    f"日期「{date}」无效：请按 YYYY-MM-DD 填写，如 2024-05-10；不知道日期时留空。",
                    code="bad_date",
                    status=422,
                ) from None
        changes["date"] = date
    if author is not None:
        author = " ".join(author.split())
        if len(author) > MAX_AUTHOR_CHARS:
            raise RagError(f"作者最多 {MAX_AUTHOR_CHARS} 字。", code="bad_request", status=422)
        changes["author"] = author
    if not changes:
        raise RagError("请填写要更正的标题、日期或作者。", code="bad_request", status=422)
    return changes


def correct_article(store, embedder, article_id: str, changes: dict[str, str]) -> dict:
    """Write ``changes`` (from ``check_changes``) into every chunk of article ``article_id``.

    Vectors: kept as stored unless the title changed (the title is embedded with each chunk:
    ``Chunk.embed_text``), then embedded again (a chunk still waiting for its vector keeps
    waiting). returns: the article as ``DocumentInfo.article_list`` lists it, plus ``source``.
    raises NotFoundError(404): no such article. raises StoreError: the store cannot be written.
    """
    chunks = sorted(store.chunks_where({"article_id": article_id}), key=lambda c: c.index)
    if not chunks:
        raise NotFoundError(f"没有找到文章：{article_id}（文章编号见 rag docs list 或文档管理）")
    meta = store.get_metadatas([c.id for c in chunks])
    done = {f for c in chunks for f in c.corrected.split(",") if f}
    done |= {f for f, v in changes.items() if v != getattr(chunks[0], f)}
    new = [replace(c, corrected=",".join(f for f in FIELDS if f in done), **changes) for c in chunks]
    dense = [meta.get(c.id, {}).get("dense", 1) != 0 for c in chunks]
    if new[0].title != chunks[0].title:
        todo = [i for i, d in enumerate(dense) if d]
        fresh = embedder.embed_documents([new[i].embed_text for i in todo]) if todo else []
        vectors: list = [None] * len(new)
        for i, v in zip(todo, fresh):
            vectors[i] = v
    else:
        stored = store.get_embeddings([c.id for c in chunks])
        vectors = [stored.get(c.id) if d else None for c, d in zip(chunks, dense)]
    store.upsert(new, vectors, dense=dense)
    c = new[0]
    return {
        "id": article_id,
        "title": c.title,
        "date": c.date,
        "author": c.author,
        "source": c.source,
        "chunks": len(new),
        "corrected": [f for f in FIELDS if f in done],
    }
