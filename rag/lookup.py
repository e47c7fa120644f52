"""Archive lookups the extractive answerer needs beyond the retrieved passages
(``rag.answer.extractive.ArchiveLookup``), answered by Chroma metadata filters.

The batched methods (``leads``, ``chunks_at``, ``article_chunks``) make exactly one Chroma
``get`` whatever the number of articles asked for, so an answer costs a bounded number of
store calls however large the archive is. The single-item methods are built on them.

Chunk ids come from the keyword index's columns (article, chunk index, author of every chunk),
so the one ``get`` is by id: a few milliseconds at any archive size. A Chroma metadata filter
(``article_id``, ``author``) is the fallback before the keyword index is built; it costs time
in proportion to the collection (about 160 ms per call at 210,000 chunks), and a ``$and`` with
``index == 0`` far more (Chroma resolves each clause over the whole collection).
"""

from __future__ import annotations

from collections.abc import Iterable

from .store import Store
from .types import Chunk


class StoreLookup:
    """Article leads, neighbouring chunks and bylines straight from the store.

    Every method raises StoreError when Chroma is unreachable.
    """

    def __init__(self, store: Store, index=None):
        """index: a ``rag.retrieve.KeywordIndex`` (its ``chunk_ids``/``lead_ids_by_author``)."""
        self.store = store
        self.index = index

    def leads(self, article_ids: Iterable[str]) -> dict[str, Chunk]:
        """``{article_id: first chunk (index 0)}`` for the articles that exist; one ``get``."""
        return {a: chunks[0] for a, chunks in self.article_chunks(article_ids).items() if chunks[0].index == 0}

    def chunks_at(self, pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Chunk]:
        """``{(article_id, index): chunk}`` for the pairs that exist; one ``get`` (the chunks
        of the articles named, the pairs picked here)."""
        want = {(a, int(i)) for a, i in pairs}
        by_article = self.article_chunks(a for a, _ in want)
        return {
            (c.article_id, c.index): c
            for chunks in by_article.values()
            for c in chunks
            if (c.article_id, c.index) in want
        }

    def article_chunks(self, article_ids: Iterable[str]) -> dict[str, list[Chunk]]:
        """``{article_id: its chunks in index order}`` for the articles that exist; one ``get``.
        Meant for a few articles (each is typically 3–10 chunks)."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        known = self.index.chunk_ids(ids) if self.index is not None else None
        if known is None:
            chunks = self.store.chunks_where(_in("article_id", ids))
        else:
            chunks = self.store.get_chunks([cid for cids in known.values() for cid in cids]) if known else []
        wanted = set(ids)
        out: dict[str, list[Chunk]] = {}
        for c in chunks:
            if c.article_id in wanted:
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
        """First chunks of the articles with this byline, newest first (at most ``limit``); one
        ``get`` of the author's chunks."""
        ids = self.index.lead_ids_by_author(author) if self.index is not None else None
        if ids is None:
            leads = [c for c in self.store.chunks_where({"author": author}) if c.index == 0]
        else:
            leads = [c for c in self.store.get_chunks(ids) if c.author == author and c.index == 0] if ids else []
        return sorted(leads, key=lambda c: (c.date, c.article_id), reverse=True)[:limit]


def _in(key: str, values: list) -> dict:
    """A Chroma clause matching any of ``values`` (plain equality for one value)."""
    return {key: values[0]} if len(values) == 1 else {key: {"$in": values}}
