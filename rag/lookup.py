"""Archive lookups the extractive answerer needs beyond the retrieved passages
(``rag.answer.extractive.ArchiveLookup``), answered by Chroma metadata filters."""

from __future__ import annotations

from .store import Store, chunk_from_record
from .types import Chunk


class StoreLookup:
    """Article leads and bylines straight from the store (one Chroma ``get`` each, ~1–2 ms)."""

    def __init__(self, store: Store):
        self.store = store

    def chunk_at(self, article_id: str, index: int) -> Chunk | None:
        """Chunk number ``index`` of an article, or None."""
        res = self.store.col.get(where={"$and": [{"article_id": article_id}, {"index": index}]},
                                 include=["documents", "metadatas"], limit=1)
        if not res["ids"]:
            return None
        return chunk_from_record(res["ids"][0], res["documents"][0], res["metadatas"][0] or {})

    def article_chunks(self, article_ids) -> dict[str, list[Chunk]]:
        """Every chunk of each article, in index order: one Chroma ``get`` for all of them."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        where = {"article_id": ids[0]} if len(ids) == 1 else {"article_id": {"$in": ids}}
        res = self.store.col.get(where=where, include=["documents", "metadatas"])
        out: dict[str, list[Chunk]] = {}
        for i, d, m in zip(res["ids"], res["documents"], res["metadatas"]):
            c = chunk_from_record(i, d, m or {})
            out.setdefault(c.article_id, []).append(c)
        for chunks in out.values():
            chunks.sort(key=lambda c: c.index)
        return out

    def lead(self, article_id: str) -> Chunk | None:
        """The first chunk (index 0) of an article, or None."""
        return self.chunk_at(article_id, 0)

    def by_author(self, author: str, limit: int = 50) -> list[Chunk]:
        """First chunks of the articles with this byline, newest first (at most ``limit``)."""
        res = self.store.col.get(where={"$and": [{"author": author}, {"index": 0}]},
                                 include=["documents", "metadatas"], limit=limit)
        chunks = [chunk_from_record(i, d, m or {}) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"])]
        return sorted(chunks, key=lambda c: c.date, reverse=True)
