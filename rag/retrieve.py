"""Retrieval: dense (Chroma), keyword (jieba + BM25) and their reciprocal rank fusion.

The keyword index is derived from Chroma (the one source of truth) and saved beside the data:
it follows the collection's generation token, whichever process wrote to it, applying only
what changed (``KeywordIndex``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import threading
import time
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .bm25 import BM25Index, IndexFileError
from .keyword import Tokenizer, _normalize, gather_user_words
from .store import Store
from .types import Chunk, ScoredChunk

RRF_K = 60  # reciprocal rank fusion constant, Cormack, Clarke & Büttcher (SIGIR 2009)

Mode = Literal["hybrid", "dense", "bm25"]

logger = logging.getLogger(__name__)


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


# Re-read chunks stamped up to this long before the last build: a writer stamps ``wts`` when its
# upsert starts (a batch commits within seconds) and clocks of processes sharing a Chroma server
# agree within seconds (NTP). Reading the window costs ~0.4 ms per chunk in it (Chroma returns
# every match), so it is kept short: a new chunk missed anyway is caught by the count check in
# ``_update``; only a metadata rewrite of an existing chunk relies on the window.
CLOCK_SLACK_S = 30.0
INDEX_FORMAT = 2  # of the keyword index's state file (see KeywordIndex); 2: article and index columns
COMPACT_SHARE = 0.1  # fold the tail into the base when it holds this share of the base's rows
COMPACT_MIN = 2000  # ... and at least this many rows
_KEEP_OLD_FILES_S = 600.0  # superseded index files are removed once this old (another process may be loading them)


def _article_code(article_id: str) -> int:
    """An article id as a signed 64-bit integer (ours are 16 hex digits: exact; others hashed)."""
    try:
        v = int(article_id, 16) if len(article_id) == 16 else -1
    except ValueError:
        v = -1
    if v < 0:
        v = int.from_bytes(hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest(), "little")
    return v - (1 << 64) if v >= 1 << 63 else v


def _chunk_hash(c: Chunk) -> int:
    """63-bit hash of what the keyword index derives from a chunk (its embedded text and the
    metadata used by filters): a rewrite that changes any of it is re-indexed."""
    key = "\x00".join((c.embed_text, c.date, c.author, c.source, c.article_id))
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little") >> 1


class KeywordIndex:
    """BM25 over every chunk in the store (title + passage), kept in step with Chroma and
    saved next to the data, so a new process loads it in seconds instead of re-tokenizing.

    store: the Chroma store (the one source of truth; chunk texts stay there and are fetched
        for the hits only). tokenizer: shared with the answerer (same dictionary).
    index_dir: where the index is saved (``<data dir>/keyword/<collection>`` by default, one
        copy per process's data dir); None keeps it in memory only.

    ``refresh()`` compares the store's generation token with the index's:
    - no index in memory: load the saved one if it matches this tokenizer's ``signature`` and
      collection (a missing, unreadable or mismatched index is rebuilt, with a log line saying
      why); nothing is tokenized when it is current.
    - stale: only chunks written since the last build (``wts`` metadata, with ``CLOCK_SLACK_S``
      of slack) are read and compared by a hash of their text and filter metadata; new and
      changed ones are tokenized into the tail, deleted ones become tombstones (all ids are
      listed only when the store's count says something was deleted). Then it is saved.
    - a full build reads every chunk, gathers local names (``gather_user_words``) into the
      tokenizer, tokenizes everything and saves.

    Local names found in chunks added later are not added to the dictionary at once (every
    chunk that contains one would need re-tokenizing, and finding those means scanning the
    whole archive): they are kept as pending and join at the next full build
    (``rag reindex --keyword``, or a changed dictionary). Until then new chunks and questions
    are cut without them, consistently.

    Saved files: ``CURRENT`` (JSON naming the two others), a base directory of ``.npy``
    arrays (``rag.bm25``; memory-mapped, CRC-checked on load) and a small state ``.npz``
    (the tail, tombstones, generation, pending words). Writes go to new files that
    ``CURRENT`` then names (atomic replace), so a reader never sees a half-written index.

    Thread-safe: refresh, search, idf and df hold one lock.
    """

    COLUMNS = ("date", "author", "source", "hash", "wts", "article", "index")

    def __init__(self, store: Store, tokenizer: Tokenizer, index_dir: Path | None = None):
        self.store = store
        self.tokenizer = tokenizer
        self.index_dir = Path(index_dir) if index_dir is not None else None
        self._bm25: BM25Index | None = None
        self._generation: str | None = None
        self._built_at = 0.0
        self._strings: dict[str, dict[str, int]] = {"author": {}, "source": {}}
        self._pending_words: set[str] = set()
        self._wts: dict[str, int] = {}  # write stamps (ms) of the chunks being indexed
        self._base_name: str | None = None  # the saved base directory self._bm25 stands on
        self._lock = threading.RLock()
        self.last_build_ms = 0.0
        self.tokenized = 0  # chunks tokenized by this object (0 after loading a current index)
        self.loaded = False  # the last (re)load came from disk
        self.last_action = ""  # "loaded" | "built" | "updated" | "" (nothing to do)

    # -- refresh ----------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Bring the index in step with Chroma. Returns True if anything was (re)loaded,
        built or updated. raises StoreError: Chroma unreachable (the index in memory stays)."""
        gen = self.store.generation()
        if self._bm25 is not None and gen == self._generation:
            return False
        with self._lock:
            if self._bm25 is not None and gen == self._generation:
                return False
            t0 = time.perf_counter()
            started = time.time()
            # a saved index of the current token is current only if it holds as many chunks as
            # Chroma: a write cut off before its token bump (a full disk, a kill) leaves chunks
            # the token does not announce; _update finds them by their write stamps
            if (
                self._bm25 is None
                and self._load()
                and self._generation == gen
                and len(self._bm25) == self.store.count()
            ):
                self.last_action = "loaded"
            elif self._bm25 is None:
                self._build(gen, started)
                self.last_action = "built"
            else:
                self.last_action = self._update(gen, started)
            self.last_build_ms = (time.perf_counter() - t0) * 1000
            return True

    def rebuild(self) -> None:
        """Build the index from every chunk in the store and save it (``rag reindex --keyword``)."""
        with self._lock:
            t0 = time.perf_counter()
            self._build(self.store.generation(), time.time())
            self.last_action = "built"
            self.last_build_ms = (time.perf_counter() - t0) * 1000

    def _build(self, gen: str, started: float) -> None:
        ids, texts, cols, authors = [], [], {k: [] for k in self.COLUMNS}, []
        self._strings = {"author": {}, "source": {}}
        self._wts = {}
        for c, wts in self.store.iter_stamped_chunks():
            self._wts[c.id] = int(wts * 1000)
            ids.append(c.id)
            texts.append(c.embed_text)
            if c.author:
                authors.append(c.author)
            self._append_cols(cols, c)
        found = gather_user_words(texts, authors, self.tokenizer.word_freq)
        self.tokenizer.add_words(sorted(found | self._pending_words))
        self._pending_words = set()

        def tokens():
            for i, text in enumerate(texts):
                texts[i] = None  # each text is let go once tokenized (the build's peak memory)
                yield self.tokenizer.tokenize(text)

        self._bm25 = BM25Index.build(ids, _Counted(tokens(), self), cols)
        self._generation, self._built_at = gen, started
        self.loaded = False
        self._save()

    def _append_cols(self, cols: dict[str, list[int]], c: Chunk) -> None:
        cols["date"].append(c.date_int)
        cols["author"].append(self._code("author", c.author))
        cols["source"].append(self._code("source", c.source))
        cols["hash"].append(_chunk_hash(c))
        cols["wts"].append(self._wts.get(c.id, 0))
        cols["article"].append(_article_code(c.article_id))
        cols["index"].append(c.index)

    def _code(self, kind: str, value: str) -> int:
        table = self._strings[kind]
        return table.setdefault(value, len(table))

    def _update(self, gen: str, started: float) -> str:
        """Apply what changed in Chroma since the last build (see the class docstring);
        returns ``"updated"`` or ``"built"`` (a full build folded pending names in)."""
        bm = self._bm25
        # ids and write stamps first; texts only for chunks whose stamp differs from the indexed one
        stamps = self.store.written_since(self._built_at - CLOCK_SLACK_S)
        self._wts = {cid: int(w * 1000) for cid, w in stamps.items()}
        indexed = bm.column("wts")
        changed = [cid for cid in stamps if (r := bm.row(cid)) is None or int(indexed[r]) != self._wts[cid]]
        hashes = bm.column("hash")
        fresh: dict[str, Chunk] = {}
        for c in self.store.get_chunks(changed):
            row = bm.row(c.id)
            if row is None or int(hashes[row]) != _chunk_hash(c):
                fresh[c.id] = c
        gone: list[str] = []
        n_new = sum(1 for cid in fresh if bm.row(cid) is None)
        if self.store.count() != len(bm) + n_new:  # something was deleted (or written without wts)
            present = self.store.all_ids()
            present_set = set(present)
            gone = [i for i in bm.live_ids() if i not in present_set]
            missing = [i for i in present if bm.row(i) is None and i not in fresh]
            fresh.update((c.id, c) for c in self.store.get_chunks(missing))
        if fresh or gone:
            chunks = list(fresh.values())
            found = gather_user_words(
                (c.text for c in chunks), (c.author for c in chunks if c.author), self.tokenizer.word_freq
            )
            self._pending_words |= {
                w for w in (_normalize(x).strip() for x in found) if w and w not in self.tokenizer.user_words
            }
            bm.delete(gone)
            cols = {k: [] for k in self.COLUMNS}
            for c in chunks:
                self._append_cols(cols, c)
            bm.add(
                [c.id for c in chunks],
                list(_Counted((self.tokenizer.tokenize(c.embed_text) for c in chunks), self)),
                cols,
            )
            if bm.n_tail + bm.n_dead > max(COMPACT_MIN, COMPACT_SHARE * bm.n_base):
                if self._pending_words:
                    self._build(gen, started)  # folds the pending local names into the dictionary
                    return "built"
                bm.compact()
        self._generation, self._built_at = gen, started
        self._save()
        return "updated"

    # -- persistence ------------------------------------------------------------------------
    def _load(self) -> bool:
        """Load the saved index into memory if it fits this tokenizer and collection."""
        d = self.index_dir
        if d is None:
            return False
        current = d / "CURRENT"
        if not current.exists():
            logger.info("no keyword index at %s yet: building it from the archive", d)
            return False
        try:
            names = json.loads(current.read_text(encoding="utf-8"))
            with np.load(d / names["state"], allow_pickle=False) as z:
                state = {k: z[k] for k in z.files}
            meta = json.loads(str(state.pop("meta")[0]))
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            logger.warning("keyword index at %s is unreadable (%s): rebuilding it", d, exc)
            return False
        if meta.get("format") != INDEX_FORMAT or meta.get("collection") != self.store.name:
            logger.warning("keyword index at %s belongs to another collection or format: rebuilding it", d)
            return False
        if meta.get("signature") != self.tokenizer.signature:
            logger.warning(
                "keyword index at %s was made with another tokenizer configuration (user dictionary, "
                "stopwords or segmenter version changed): rebuilding it",
                d,
            )
            return False
        try:
            bm = BM25Index.load(d / names["base"], state)
            if bm.columns != list(self.COLUMNS):
                raise IndexFileError(f"columns {bm.columns}")
        except IndexFileError as exc:
            logger.warning("keyword index at %s is corrupt (%s): rebuilding it", d, exc)
            return False
        self.tokenizer.restore_words(meta["words"])
        self._bm25, self._base_name = bm, names["base"]
        self._generation, self._built_at = meta["generation"], float(meta["built_at"])
        self._strings = {k: {v: i for i, v in enumerate(meta[k + "s"])} for k in ("author", "source")}
        self._pending_words = set(meta.get("pending_words", []))
        self.loaded = True
        return True

    def _save(self) -> None:
        """Write what changed and point ``CURRENT`` at it. A failure (read-only or full disk) is
        logged and the index stays in memory: answers never depend on the saved copy."""
        d, bm = self.index_dir, self._bm25
        if d is None or bm is None:
            return
        tag = uuid.uuid4().hex[:12]
        try:
            d.mkdir(parents=True, exist_ok=True)
            # the base this object was loaded from or last wrote (another process sharing the data
            # dir may have pointed CURRENT elsewhere since)
            if not bm.base_saved or not self._base_name or not (d / self._base_name).is_dir():
                bm.save_base(d / f"b-{tag}")
                self._base_name = f"b-{tag}"
            names = {"base": self._base_name}
            meta = {
                "format": INDEX_FORMAT,
                "collection": self.store.name,
                "signature": self.tokenizer.signature,
                "generation": self._generation,
                "built_at": self._built_at,
                "authors": list(self._strings["author"]),
                "sources": list(self._strings["source"]),
                "words": self.tokenizer.added_words(),
                "pending_words": sorted(self._pending_words),
            }
            names["state"] = f"s-{tag}.npz"
            with open(d / f"{names['state']}.tmp", "wb") as f:
                np.savez(f, meta=np.asarray([json.dumps(meta, ensure_ascii=False)]), **bm.state_arrays())
            os.replace(d / f"{names['state']}.tmp", d / names["state"])
            (d / f"CURRENT.{tag}.tmp").write_text(json.dumps(names), encoding="utf-8")
            os.replace(d / f"CURRENT.{tag}.tmp", d / "CURRENT")
        except OSError as exc:
            logger.warning("could not save the keyword index to %s (%s); it is kept in memory", d, exc)
            return
        self._remove_old(d, names)

    @staticmethod
    def _remove_old(d: Path, keep: dict) -> None:
        now = time.time()
        for p in d.iterdir():
            if p.name in (keep.get("base"), keep.get("state"), "CURRENT"):
                continue
            try:
                if (
                    now - p.stat().st_mtime > _KEEP_OLD_FILES_S
                    or p.name.endswith(".tmp")
                    and now - p.stat().st_mtime > 60
                ):
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            except OSError:
                pass

    # -- search -----------------------------------------------------------------------------
    def _mask(self, filters: Filters) -> np.ndarray:
        bm = self._bm25
        m = bm.alive.copy()
        date = bm.column("date")
        if filters.date_from:
            m &= (date >= _date_int(filters.date_from)) & (date > 0)
        if filters.date_to:
            m &= (date <= _date_int(filters.date_to)) & (date > 0)
        for kind, value in (("author", filters.author), ("source", filters.source)):
            if value:
                code = self._strings[kind].get(value)
                m &= bm.column(kind) == (-1 if code is None else code)
        return m

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        """Top-k chunks by BM25 score (> 0), best first, filters applied before the cut. The
        chunks are read from Chroma (one ``get`` by id); a chunk deleted meanwhile is skipped.
        raises StoreError: Chroma unreachable."""
        with self._lock:
            if self._bm25 is None:
                return []
            mask = self._mask(filters) if filters is not None and not filters.empty else None
            hits = self._bm25.search(self.tokenizer.tokenize(query), k, mask=mask)
        if not hits:
            return []
        by_id = {c.id: c for c in self.store.get_chunks([cid for cid, _ in hits])}
        return [(by_id[cid], score) for cid, score in hits if cid in by_id]

    def chunk_ids(self, article_ids: Iterable[str]) -> dict[str, list[str]] | None:
        """``{article_id: its chunk ids in index order}`` for the indexed articles, from the
        index's own columns (no Chroma call; a numpy scan, ~1 ms per 200k chunks). None when
        the index is empty or not built yet (the caller then asks Chroma)."""
        with self._lock:
            bm = self._bm25
            if bm is None or len(bm) == 0:
                return None
            want = {_article_code(a): a for a in article_ids}
            col, idx = bm.column("article"), bm.column("index")
            rows = np.flatnonzero(np.isin(col, np.fromiter(want, np.int64, len(want))) & bm.alive)
            out: dict[str, list[str]] = {}
            for r in rows[np.argsort(idx[rows], kind="stable")]:
                out.setdefault(want[int(col[r])], []).append(bm.doc_id(int(r)))
            return out

    def lead_ids_by_author(self, author: str) -> list[str] | None:
        """Ids of the first chunks of every article with this byline (no Chroma call); None when
        the index is empty or not built yet."""
        with self._lock:
            bm = self._bm25
            if bm is None or len(bm) == 0:
                return None
            code = self._strings["author"].get(author)
            if code is None:
                return []
            rows = np.flatnonzero((bm.column("author") == code) & (bm.column("index") == 0) & bm.alive)
            return [bm.doc_id(int(r)) for r in rows]

    def idf(self, token: str) -> float:
        """BM25 idf of a token over the indexed chunks (unknown → the maximum idf; log 2 before
        the index is built, as an empty index gives)."""
        with self._lock:
            return self._bm25.idf(token) if self._bm25 is not None else math.log(2.0)

    def df(self, token: str) -> int:
        """Chunks containing ``token`` (0 when the archive never uses it)."""
        with self._lock:
            return self._bm25.df(token) if self._bm25 is not None else 0

    def __len__(self) -> int:
        return len(self._bm25) if self._bm25 is not None else 0


class _Counted:
    """Iterate token lists while counting them on the index (``KeywordIndex.tokenized``)."""

    def __init__(self, it, owner: KeywordIndex):
        self.it, self.owner = it, owner

    def __iter__(self):
        for tokens in self.it:
            self.owner.tokenized += 1
            yield tokens


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

    def retrieve(
        self, query: str, k: int = 5, filters: Filters | None = None, timings: dict[str, float] | None = None
    ) -> list[ScoredChunk]:
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
    chunk = Chunk(
        id=ca.id,
        article_id=ca.article_id,
        index=ca.index,
        text=text,
        start=ca.start,
        end=end,
        title=ca.title,
        date=ca.date,
        author=ca.author,
        source=ca.source,
    )
    best = a if a.score >= b.score else b
    dense = [s for s in (a.dense_score, b.dense_score) if s is not None]
    bm = [s for s in (a.bm25_score, b.bm25_score) if s is not None]
    return ScoredChunk(
        chunk, best.score, max(dense) if dense else None, max(bm) if bm else None, a.chunk_ids + b.chunk_ids
    )
