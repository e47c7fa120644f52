"""Archive lookups the extractive answerer needs beyond the retrieved passages
(``rag.answer.extractive.ArchiveLookup``), answered by Chroma metadata filters.

The batched methods (``leads``, ``chunks_at``, ``article_chunks``) make exactly one Chroma
``get`` whatever the number of articles asked for, so an answer costs a bounded number of
store calls however large the archive is. The single-item methods are built on them.

Every ``get`` filters on one metadata key only (``article_id`` or ``author``) and picks chunk
indexes here: Chroma resolves each clause of a ``$and`` on its own, and ``index == 0`` matches
every article's lead (63,000 rows in the news-crud archive), which made one lead look-up take
hundreds of milliseconds; ``article_id $in [...]`` matches only the few chunks wanted.
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
        return {a: chunks[0] for a, chunks in self.article_chunks(article_ids).items() if chunks[0].index == 0}

    def chunks_at(self, pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Chunk]:
        """``{(article_id, index): chunk}`` for the pairs that exist; one ``get`` (the chunks
        of the articles named, the pairs picked here)."""
        want = {(a, int(i)) for a, i in pairs}
        by_article = self.article_chunks(a for a, _ in want)
        return {(c.article_id, c.index): c for chunks in by_article.values() for c in chunks
                if (c.article_id, c.index) in want}

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
        """First chunks of the articles with this byline, newest first (at most ``limit``); one
        ``get`` of the author's chunks."""
        leads = [c for c in self.store.chunks_where({"author": author}) if c.index == 0]
        return sorted(leads, key=lambda c: (c.date, c.article_id), reverse=True)[:limit]


def _in(key: str, values: list) -> dict:
    """A Chroma clause matching any of ``values`` (plain equality for one value)."""
    return {key: values[0]} if len(values) == 1 else {key: {"$in": values}}
