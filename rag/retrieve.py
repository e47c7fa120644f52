"""Retrieval: dense (Chroma), keyword (jieba + BM25) and their reciprocal rank fusion.

The keyword index is derived from Chroma (the one source of truth): it is rebuilt when
the collection's generation token changes, whichever process wrote to it.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Literal

from .keyword import BM25Index, Tokenizer, _normalize, gather_user_words
from .store import Store
from .types import Chunk, ScoredChunk

RRF_K = 60  # reciprocal rank fusion constant, Cormack, Clarke & Büttcher (SIGIR 2009)

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval. Dates are ISO ``YYYY-MM-DD`` (inclusive); an article with an
    unknown date never matches a date filter. ``author``/``source`` match exactly."""

    date_from: str | None = None
    date_to: str | None = None
    author: str | None = None
    source: str | None = None

    def _clauses(self) -> list[dict]:
        out: list[dict] = []
        if self.date_from:
            out.append({"date_int": {"$gte": _date_int(self.date_from)}})
        if self.date_to:
            out.append({"date_int": {"$lte": _date_int(self.date_to)}})
        if self.date_from and not self.date_to:
            out.append({"date_int": {"$gt": 0}})
        if self.author:
            out.append({"author": self.author})
        if self.source:
            out.append({"source": self.source})
        return out

    def where(self) -> dict | None:
        """Chroma ``where`` clause, or None when unfiltered.

        raises ValueError: a date that is not a real ``YYYY-MM-DD`` day, or ``date_from``
            after ``date_to`` (Chinese messages).
        """
        if self.date_from and self.date_to and _date_int(self.date_from) > _date_int(self.date_to):
            raise ValueError(f"起始日期 {self.date_from} 晚于截止日期 {self.date_to}，请检查日期范围。")
        c = self._clauses()
        if not c:
            return None
        return c[0] if len(c) == 1 else {"$and": c}

    def match(self, chunk: Chunk) -> bool:
        """The same filter applied to a chunk in memory (for the keyword index)."""
        d = chunk.date_int
        if self.date_from and not (d and d >= _date_int(self.date_from)):
            return False
        if self.date_to and not (d and d <= _date_int(self.date_to)):
            return False
        if self.author and chunk.author != self.author:
            return False
        return not (self.source and chunk.source != self.source)

    @property
    def empty(self) -> bool:
        return not self._clauses()


def _date_int(iso: str) -> int:
    """``"2024-05-09"`` → 20240509. raises ValueError with a Chinese message on bad input."""
    import datetime

    try:
        d = datetime.date.fromisoformat(iso.strip())  # rejects 2024-02-30 and 2024-13-01
    except (ValueError, AttributeError):
        raise ValueError(f"日期格式应为 YYYY-MM-DD 且是真实日期：{iso!r}") from None
    return d.year * 10000 + d.month * 100 + d.day


CLOCK_SLACK_S = 300.0  # re-read chunks written up to 5 min before the last build (clock skew, slow writes)


def _contains_any(text: str, words: set[str]) -> bool:
    return any(w in text for w in words)


class KeywordIndex:
    """BM25 over every chunk in the store (title + passage), kept in step with Chroma.

    ``refresh()`` compares the store's generation token and rebuilds when it changed;
    token lists are cached per chunk id, so a rebuild tokenizes only new chunks.
    """

    def __init__(self, store: Store, tokenizer: Tokenizer):
        self.store = store
        self.tokenizer = tokenizer
        self.chunks: dict[str, Chunk] = {}
        self._tokens: dict[str, list[str]] = {}
        self._bm25 = BM25Index.build([], [])
        self._generation: str | None = None
        self._built_at = 0.0
        self._lock = threading.Lock()
        self.last_build_ms = 0.0

    def refresh(self) -> bool:
        """Rebuild if Chroma changed since the last build. Returns True if rebuilt.

        Incremental: after the first build only new and rewritten chunks are read and
        tokenized (see ``_fetch``); the BM25 statistics are recomputed over all chunks."""
        gen = self.store.generation()
        if gen == self._generation:
            return False
        with self._lock:
            if gen == self._generation:
                return False
            t0 = time.perf_counter()
            started = time.time()
            chunks, fresh = self._fetch()
            # local names (officials, townships, villages) gathered from new articles join the
            # tokenizer's dictionary; chunks containing a new word are re-tokenized so index and
            # queries agree (a new word only changes the cut of text that contains it)
            found = gather_user_words((c.text for c in fresh), (c.author for c in fresh if c.author))
            new_words = self.tokenizer.add_words(found)
            stale = {c.id for c in fresh}
            tokens = {cid: t for cid, t in self._tokens.items() if cid in chunks and cid not in stale}
            if new_words:
                tokens = {cid: t for cid, t in tokens.items()
                          if not _contains_any(_normalize(chunks[cid].embed_text), new_words)}
            intern = sys.intern  # one str object per distinct token: ~8 bytes per occurrence, not ~60
            for cid, c in chunks.items():
                if cid not in tokens:
                    tokens[cid] = [intern(t) for t in self.tokenizer.tokenize(c.embed_text)]
            ids = list(chunks)
            self._bm25 = BM25Index.build(ids, [tokens[i] for i in ids])
            self.chunks, self._tokens, self._generation = chunks, tokens, gen
            self._built_at = started
            self.last_build_ms = (time.perf_counter() - t0) * 1000
            return True

    def _fetch(self) -> tuple[dict[str, Chunk], list[Chunk]]:
        """Every chunk now in the store (in the store's order) and those that are new or whose
        embedded text changed since the last build. The first build reads everything; later ones
        list ids only and read the text of new chunks and of chunks written since the last build
        (``wts`` metadata, minus ``CLOCK_SLACK_S`` for writers whose clock lags or whose write
        landed late), so a write of a few articles into a large archive costs little."""
        if not self.chunks:
            chunks = {c.id: c for c in self.store.iter_chunks()}
            return chunks, list(chunks.values())
        ids = self.store.all_ids()
        present = set(ids)
        known = {cid: c for cid, c in self.chunks.items() if cid in present}
        fetched = self.store.get_chunks([i for i in ids if i not in known])
        fetched += self.store.chunks_written_since(self._built_at - CLOCK_SLACK_S)
        fresh: dict[str, Chunk] = {}
        for c in fetched:
            if c.id in present:
                old = known.get(c.id)
                known[c.id] = c
                if old is None or old.embed_text != c.embed_text:
                    fresh[c.id] = c
        return {i: known[i] for i in ids if i in known}, list(fresh.values())

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Top-k chunks by BM25 score (> 0), best first, filters applied before the cut."""
        allowed = None
        if filters is not None and not filters.empty:
            allowed = {cid for cid, c in self.chunks.items() if filters.match(c)}
        hits = self._bm25.search(self.tokenizer.tokenize(query), k, allowed=allowed)
        return [(self.chunks[cid], score) for cid, score in hits]

    def idf(self, token: str) -> float:
        """BM25 idf of a token over the indexed chunks (unknown → the maximum idf)."""
        return self._bm25.idf(token)

    def df(self, token: str) -> int:
        """Chunks containing ``token`` (0 when the archive never uses it)."""
        return self._bm25.df(token)


class HybridRetriever:
    """Dense + BM25 candidates fused by reciprocal rank fusion, adjacent chunks merged.

    candidates: how many hits each retriever contributes before fusion.
    mode: ``"hybrid"`` (default), ``"dense"`` or ``"bm25"`` (for ablations).
    """

    def __init__(self, store: Store, embedder, keyword: KeywordIndex, *, candidates: int = 30, mode: Mode = "hybrid"):
        self.store = store
        self.embedder = embedder
        self.keyword = keyword
        self.candidates = candidates
        self.mode = mode

    def retrieve(self, query: str, k: int = 5, filters: Filters | None = None,
                 timings: dict[str, float] | None = None) -> list[ScoredChunk]:
        """Return at most ``k`` results sorted by fused score, descending.

        Adjacent or overlapping chunks of one article are merged into one result whose
        text spans them all (so ``k`` counts passages, not raw chunks).
        timings: if given, ``embed_ms``, ``dense_ms``, ``bm25_ms`` are added to it (milliseconds).
        raises StoreError: if Chroma is unreachable.
        """
        timings = timings if timings is not None else {}
        dense: list[tuple[Chunk, float]] = []
        kw: list[tuple[Chunk, float]] = []
        n = max(self.candidates, k * 3)
        if self.mode in ("hybrid", "bm25"):
            t0 = time.perf_counter()
            self.keyword.refresh()
            kw = self.keyword.search(query, n, filters)
            timings["bm25_ms"] = (time.perf_counter() - t0) * 1000
        if self.mode in ("hybrid", "dense"):
            t0 = time.perf_counter()
            vec = self.embedder.embed_query(query)
            t1 = time.perf_counter()
            dense = self.store.dense_search(vec, n, filters.where() if filters else None)
            timings["embed_ms"] = (t1 - t0) * 1000
            timings["dense_ms"] = (time.perf_counter() - t1) * 1000
        fused = rrf_fuse(dense, kw)
        return merge_adjacent(fused)[:k]


def rrf_fuse(dense: list[tuple[Chunk, float]], keyword: list[tuple[Chunk, float]], k: int = RRF_K) -> list[ScoredChunk]:
    """Reciprocal rank fusion: score(d) = Σ_r 1 / (k + rank_r(d)), ranks from 1.

    Source: Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and
    individual Rank Learning Methods", SIGIR 2009 (k = 60). Returns best first.
    """
    out: dict[str, ScoredChunk] = {}
    for rank, (c, s) in enumerate(dense, 1):
        sc = out.setdefault(c.id, ScoredChunk(c, 0.0, chunk_ids=[c.id]))
        sc.score += 1.0 / (k + rank)
        sc.dense_score = s
    for rank, (c, s) in enumerate(keyword, 1):
        sc = out.setdefault(c.id, ScoredChunk(c, 0.0, chunk_ids=[c.id]))
        sc.score += 1.0 / (k + rank)
        sc.bm25_score = s
    return sorted(out.values(), key=lambda s: -s.score)


def merge_adjacent(results: list[ScoredChunk]) -> list[ScoredChunk]:
    """Merge results of one article whose spans overlap or touch (chunk index differs by 1)
    into one passage: text covers the union, score = best member's score. Order is kept by
    the best member's position."""
    groups: dict[str, list[ScoredChunk]] = {}
    for r in results:
        groups.setdefault(r.chunk.article_id, []).append(r)
    merged: list[ScoredChunk] = []
    for members in groups.values():
        members.sort(key=lambda r: r.chunk.start)
        cur = members[0]
        for nxt in members[1:]:
            if nxt.chunk.start <= cur.chunk.end or nxt.chunk.index == cur.chunk.index + 1:
                cur = _join(cur, nxt)
            else:
                merged.append(cur)
                cur = nxt
        merged.append(cur)
    return sorted(merged, key=lambda r: -r.score)


def _join(a: ScoredChunk, b: ScoredChunk) -> ScoredChunk:
    ca, cb = a.chunk, b.chunk
    if cb.start <= ca.end:
        text = ca.text + cb.text[ca.end - cb.start :] if cb.end > ca.end else ca.text
    else:  # a whitespace gap between paragraphs (chunks cover every non-space character)
        text = ca.text + "\n" * (cb.start - ca.end) + cb.text
    end = max(ca.end, cb.end)
    chunk = Chunk(id=ca.id, article_id=ca.article_id, index=ca.index, text=text, start=ca.start, end=end,
                  title=ca.title, date=ca.date, author=ca.author, source=ca.source)
    best = a if a.score >= b.score else b
    dense = [s for s in (a.dense_score, b.dense_score) if s is not None]
    bm = [s for s in (a.bm25_score, b.bm25_score) if s is not None]
    return ScoredChunk(chunk, best.score, max(dense) if dense else None, max(bm) if bm else None,
                       a.chunk_ids + b.chunk_ids)
