"""Archive lookups the extractive answerer needs beyond the retrieved passages
(``rag.answer.extractive.ArchiveLookup``), answered by Chroma metadata filters.

The batched methods (``leads``, ``chunks_at``, ``article_chunks``) make exactly one Chroma
``get`` whatever the number of articles asked for, so an answer costs a bounded number of
store calls however large the archive is. The single-item methods are built on them.
"""

from __future__ import annotations

from collections.abc import Iterable

from .store import Store
from .types import Chunk


class StoreLookup:
    """Article leads, neighbouring chunks and bylines straight from the store.

    Every method raises StoreError when Chroma is unreachable.
    """

    def __init__(self, store: Store):
        self.store = store

    def leads(self, article_ids: Iterable[str]) -> dict[str, Chunk]:
        """``{article_id: first chunk (index 0)}`` for the articles that exist; one ``get``."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        chunks = self.store.chunks_where({"$and": [_in("article_id", ids), {"index": 0}]})
        return {c.article_id: c for c in chunks}

    def chunks_at(self, pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Chunk]:
        """``{(article_id, index): chunk}`` for the pairs that exist; one ``get`` (articles and
        indexes are matched as two ``$in`` lists, the exact pairs picked here)."""
        want = set(pairs)
        if not want:
            return {}
        aids = sorted({a for a, _ in want})
        idxs = sorted({int(i) for _, i in want})
        chunks = self.store.chunks_where({"$and": [_in("article_id", aids), _in("index", idxs)]})
        return {(c.article_id, c.index): c for c in chunks if (c.article_id, c.index) in want}

    def article_chunks(self, article_ids: Iterable[str]) -> dict[str, list[Chunk]]:
        """``{article_id: its chunks in index order}`` for the articles that exist; one ``get``.
        Meant for a few articles (each is typically 3–10 chunks)."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        out: dict[str, list[Chunk]] = {}
        for c in self.store.chunks_where(_in("article_id", ids)):
            out.setdefault(c.article_id, []).append(c)
        for chunks in out.values():
            chunks.sort(key=lambda c: c.index)
        return out

    def chunk_at(self, article_id: str, index: int) -> Chunk | None:
        """Chunk number ``index`` of an article, or None."""
        return self.chunks_at([(article_id, index)]).get((article_id, index))

    def lead(self, article_id: str) -> Chunk | None:
        """The first chunk (index 0) of an article, or None."""
        return self.leads([article_id]).get(article_id)

    def by_author(self, author: str, limit: int = 50) -> list[Chunk]:
        """First chunks of the articles with this byline, newest first (at most ``limit``)."""
        chunks = self.store.chunks_where({"$and": [{"author": author}, {"index": 0}]}, limit=limit)
        return sorted(chunks, key=lambda c: c.date, reverse=True)


def _in(key: str, values: list) -> dict:
    """A Chroma clause matching any of ``values`` (plain equality for one value)."""
    return {key: values[0]} if len(values) == 1 else {key: {"$in": values}}
