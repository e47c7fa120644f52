"""Chroma: the one source of truth for chunks, their metadata and their dense vectors.

Embedded (``chromadb.PersistentClient`` on a data dir) or a server (``chromadb.HttpClient``).
Our embedder is always passed in explicitly; the collection is created with
``embedding_function=None`` so Chroma can never fall back to its default model (which
would download weights).

The collection's metadata records ``embedder`` (id), ``dim`` and ``generation``: a token
replaced on every write, so any process (an API sharing a Chroma server with an ingest job)
can tell cheaply that its keyword index is stale.

Every operation of a ``Store`` raises ``StoreError`` when Chroma fails (a server that went
away, a full disk), never a raw httpx/chromadb exception; the same ``Store`` works again
once the server is back (the HTTP client reconnects on the next call).

Every write stamps its chunks with ``wts`` (writer's clock, epoch seconds), so a reader can
fetch only what changed since its last look (``written_since``).

Keyword-first ingest: chunks may be stored before their dense vector exists, with a
placeholder vector (``placeholder_vector``) and metadata ``dense: 0``; every other chunk
carries ``dense: 1``. Dense search excludes ``dense: 0`` chunks; ``pending_chunks`` and
``set_vectors`` fill them later.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import time
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chroma_client import READ_ONLY_ATTR, _Timed, _write_error, open_client, open_snapshot, versions_compatible
from .errors import ConfigError, EmbedderMismatchError, RagError, StoreError
from .types import Chunk

log = logging.getLogger("rag.store")

DEFAULT_COLLECTION = "county_news"
DEFAULT_TIMEOUT_S = 30.0  # seconds any one call into Chroma may take (RAG_STORE_TIMEOUT)
DEFAULT_MIN_FREE_MB = 100.0  # writes stop while the data dir's disk has less free space (RAG_MIN_FREE_MB)
# Chroma's collection name rule (the stricter, older one, chromadb/api/segment.py: 3–63 of
# [A-Za-z0-9._-], alphanumeric at both ends, no "..", not an IPv4 address)
_CHROMA_NAME_RE = re.compile(r"^(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


def chroma_name(name: str) -> str:
    """The Chroma collection name for a collection name as staff write it (``RAG_COLLECTION``).

    A name Chroma accepts is used as it is (``county_news``); any other (``绛县新闻``, ``county A``)
    maps deterministically to ``c_<ASCII part>_<16 hex of the SHA-1 of the NFC name>``; the name
    as written is kept in the collection's metadata (``display_name``). raises ConfigError: empty.
    """
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise ConfigError("集合名称（RAG_COLLECTION）不能为空，例如 county_news 或 绛县新闻。")
    if _CHROMA_NAME_RE.match(name):
        return name
    ascii_part = re.sub(r"[^A-Za-z0-9]+", "_", unicodedata.normalize("NFKC", name)).strip("_")[:40]
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:16]
    return f"c_{ascii_part}_{digest}" if ascii_part else f"c_{digest}"


def placeholder_vector(chunk_id: str, dim: int) -> list[float]:
    """A deterministic pseudo-random unit vector for a chunk whose dense vector is pending.

    Random (seeded by the chunk id), not zero or constant: a zero vector has no cosine and
    thousands of equal vectors degrade the HNSW graph. Never returned by ``dense_search``
    (chunks with ``dense: 0`` are filtered out).
    """
    seed = int.from_bytes(hashlib.sha1(chunk_id.encode("utf-8")).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return (v / np.linalg.norm(v)).tolist()


def _clean_meta(meta: dict) -> dict:
    """Chroma metadata values must be str/int/float/bool: drop None, keep the rest."""
    return {k: v for k, v in meta.items() if v is not None}


def chunk_metadata(c: Chunk) -> dict:
    return _clean_meta(
        {
            "article_id": c.article_id,
            "index": c.index,
            "start": c.start,
            "end": c.end,
            "title": c.title,
            "date": c.date,
            "date_int": c.date_int,
            "author": c.author,
            "source": c.source,
            "corrected": c.corrected or None,
        }
    )


def chunk_from_record(chunk_id: str, text: str, meta: dict) -> Chunk:
    return Chunk(
        id=chunk_id,
        article_id=meta.get("article_id", ""),
        index=int(meta.get("index", 0)),
        text=text or "",
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        title=meta.get("title", ""),
        date=meta.get("date", ""),
        author=meta.get("author", ""),
        source=meta.get("source", ""),
        corrected=meta.get("corrected", ""),
    )


@dataclass
class DocumentInfo:
    """One source file (document) in the store: its articles and chunk count.

    titles: the articles' titles, sorted.
    article_list: per article ``{"id", "title", "date", "author", "chunks", "corrected"}``
        (``corrected``: the fields a user corrected, a list), undated first, then by date and title.
    complete: False while its ingest has not finished (cut off by a kill, a full disk…: run it again).
    """

    source: str
    articles: int
    chunks: int
    titles: list[str]
    article_list: list[dict] = field(default_factory=list)
    complete: bool = True


def _guard(method):
    """Run a Store method; turn any Chroma/httpx failure into ``StoreError(store_unavailable)``.

    A collection that vanished (deleted and re-created by ``rag reindex``, a server restarted
    on a fresh path) is re-opened by name once and the call retried; so is a call whose failure
    (a full disk) moved the store to a read-only snapshot (``Store._switch_to_snapshot``).
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        client = self.client
        try:
            return method(self, *args, **kwargs)
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001 - any client/transport failure
            retry = _is_missing_collection(exc) and self._reopen()
            err = None if retry else self._unavailable(exc)
            if retry or self.client is not client:
                try:
                    return method(self, *args, **kwargs)
                except RagError:
                    raise
                except Exception as exc2:  # noqa: BLE001
                    raise self._unavailable(exc2) from exc2
            raise err from exc

    return wrapper


def _is_missing_collection(exc: Exception) -> bool:
    text = str(exc).lower()
    return type(exc).__name__ == "NotFoundError" or ("collection" in text and "not exist" in text)


class Store:
    """Chunks in one Chroma collection (cosine space).

    raises EmbedderMismatchError: on open, if the collection was built with another embedder id
        or dimension (message says to run ``rag reindex``).
    raises StoreError(store_unavailable): on open and on every later operation, when Chroma
        cannot be reached or fails (message names the cause; retry once the server is back).
    raises ConfigError(bad_config): on open, when Chroma refuses a setting (not an outage).
    raises StoreError(store_timeout): a call into Chroma took longer than ``timeout_s`` seconds
        (a hung server or disk); the call is given up, the same Store works again afterwards.
    collection: any name (``绛县新闻``), kept as ``display_name``; ``name`` is its :func:`chroma_name`.
    timeout_s: longest a single call into Chroma may take (seconds; None: no limit).
    min_free_mb: an embedded store refuses writes (``store_full``) while its disk has less free
        space (MiB), so that Chroma never runs out of space halfway through a write (its SQLite
        can then be left locked); like the flood-stage disk watermark of Elasticsearch.
    read_only: the ``StoreError`` every write raises (a client opened from a read-only snapshot
        carries it, see ``open_client``).
    """

    def __init__(
        self,
        client,
        embedder,
        collection: str = DEFAULT_COLLECTION,
        *,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        min_free_mb: float = DEFAULT_MIN_FREE_MB,
    ):
        self.read_only: StoreError | None = getattr(client, READ_ONLY_ATTR, None)
        self.timeout_s = timeout_s
        self.min_free_bytes = int(min_free_mb * 1024 * 1024)
        self._local_dir = _local_dir(client)
        client = _Timed(client, timeout_s)
        self.client = client
        self.embedder = embedder
        self.name = chroma_name(collection)
        self.display_name = unicodedata.normalize("NFC", collection.strip())
        self._pending_gen: str | None = None
        self._has_pending = False
        self._gen_seen: tuple[float, str] | None = None
        self._full_latched = False  # see _write_failed
        try:
            self.max_batch = int(client.get_max_batch_size())
            self.col = self._open_collection()
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001
            err = _write_error(exc, self.local_dir)  # a read-only, full or damaged data dir says so
            if err.code in ("store_full", "store_readonly", "store_corrupt"):
                raise err from exc
            if type(exc).__name__ in ("InvalidArgumentError", "ValueError") or "validation error" in str(exc).lower():
                raise ConfigError(f"向量库配置有误（集合「{self.display_name}」）：{exc}") from exc
            raise self._unavailable(exc) from exc
        meta = self.col.metadata or {}
        if meta.get("embedder") != embedder.id or int(meta.get("dim", -1)) != embedder.dim:
            raise EmbedderMismatchError(
                f"该知识库由 {meta.get('embedder')}（{meta.get('dim')} 维）建立，当前配置为 "
                f"{embedder.id}（{embedder.dim} 维）；请运行 `rag reindex` 用当前模型重建索引。"
            )

    def _open_collection(self):
        # an existing collection is only read (get_or_create writes, which fails on a read-only archive)
        try:
            return self.client.get_collection(self.name, embedding_function=None)
        except Exception as exc:  # noqa: BLE001
            if not _is_missing_collection(exc):
                raise
        return self.client.get_or_create_collection(
            self.name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata=self._metadata(),
            embedding_function=None,
        )

    def _metadata(self) -> dict:  # embedder id and dimension, display name, a new generation token
        return {
            "embedder": self.embedder.id,
            "dim": self.embedder.dim,
            "display_name": self.display_name,
            "generation": uuid.uuid4().hex,
        }

    def _reopen(self) -> bool:
        """Re-bind to the collection of this name (never creates one: during `rag reindex` the
        name is briefly free, and creating it then would block the swap)."""
        try:
            self.col = self.client.get_collection(self.name, embedding_function=None)
            return True
        except Exception:  # noqa: BLE001 - still unreachable
            return False

    @property
    def local_dir(self) -> str | None:
        """The data directory of an embedded (persistent) client; None for a server."""
        return self._local_dir

    def _write_failed(self, exc: Exception) -> StoreError:
        """Classify a failed write. After ``store_full`` on an embedded store this process writes
        no more: chromadb can leave its SQLite write lock behind after a failed commit, and the
        next write, once there is space again, then blocks forever while holding the GIL
        (freezing every request of the server). Reads go on; a restart clears it."""
        err = _write_error(exc, self.local_dir)
        if err.code == "store_full" and self.local_dir and self.read_only is None:
            self._full_latched = True
            self._switch_to_snapshot(err)
        return err

    def _switch_to_snapshot(self, err: StoreError) -> None:
        """After Chroma ran out of space this process never calls the embedded client again: its
        SQLite connection may keep the write lock of the failed commit, and a later call that
        needs it waits forever (reads of a collection with unapplied writes do). The store
        moves to a read-only snapshot of the data dir (``rag.readonly``; the copy rolls the cut-off
        commit back), so questions are answered from what was committed and every write is
        refused (restart once space is free). Without a snapshot it stays latched."""
        try:
            client = open_snapshot(Path(self.local_dir), err)
            col = _Timed(client, self.timeout_s).get_collection(self.name, embedding_function=None)
        except Exception as exc:  # noqa: BLE001 - no temp space, or the copy does not open
            log.error("could not move to a read-only snapshot after a full disk: %s", exc)
            return
        self.client, self.col = _Timed(client, self.timeout_s), col
        self.read_only = getattr(client, READ_ONLY_ATTR)

    def _check_writable(self) -> None:
        """raises StoreError before a write: a read-only store, a latched ``store_full``, or an
        embedded store's disk below ``min_free_bytes`` (nothing is written then)."""
        if self.read_only is not None:
            raise self.read_only
        local = self.local_dir
        if local and self.min_free_bytes:
            try:
                st = os.statvfs(local)
                free = st.f_bavail * st.f_frsize
            except OSError:
                free = self.min_free_bytes
            if free < self.min_free_bytes:
                raise StoreError(
                    f"数据目录所在磁盘剩余空间不足（剩 {free / 1048576:.1f} MB，写入至少需要留出 "
                    f"{self.min_free_bytes / 1048576:.0f} MB，见 RAG_MIN_FREE_MB），本次写入没有进行；"
                    "已有数据未受影响，提问不受影响。请腾出磁盘空间后重试。",
                    code="store_full",
                    status=507,
                )
        if self._full_latched:
            raise StoreError(
                "数据目录所在磁盘曾经写满：为避免向量库卡死，本进程已停止写入。请腾出磁盘空间后重启服务"
                "（命令行则重新运行即可）；已有数据未受影响，提问不受影响。",
                code="store_full",
                status=507,
            )

    def _unavailable(self, exc: Exception) -> StoreError:
        # a full, read-only or damaged data dir fails reads-before-writes too (e.g. ``touch``): say so
        err = self._write_failed(exc)
        if err.code in ("store_full", "store_readonly", "store_corrupt"):
            return err
        server = getattr(self.client, "_server", None)  # chromadb's HTTP client keeps its URL here
        url = getattr(server, "_api_url", None)
        log.warning("Chroma call failed (%s): %s", url or self.local_dir, exc)
        if url:
            return StoreError(f"向量库服务不可用（{url}）：请确认 Chroma 服务已启动，恢复后重试即可。")
        return StoreError("读取本地向量库出错，请稍后重试；如一直如此，请管理员查看服务日志。")

    # -- change tracking -------------------------------------------------------------------
    @_guard
    def generation(self) -> str:
        """The collection's current write token (re-read from Chroma; ~1 ms embedded, a few ms
        over HTTP).

        raises StoreError: if Chroma is unreachable.
        """
        meta = self.client.get_collection(self.name, embedding_function=None).metadata or {}
        gen = str(meta.get("generation"))
        self._gen_seen = (time.monotonic(), gen)
        return gen

    def _bump(self) -> None:
        self.col.modify(metadata=self._metadata())

    @_guard
    def touch(self) -> None:
        """Replace the generation token without writing chunks, so every reader rebuilds its
        keyword index. An ingest calls it at its start: a writer killed between a write and
        its token bump would otherwise leave readers stale until the next write."""
        self._check_writable()
        self._bump()

    # -- writes ----------------------------------------------------------------------------
    def upsert(
        self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]] | None, dense: bool | Sequence[bool] = True
    ) -> None:
        """Write chunks with their vectors (same order), in batches of at most the client's
        max batch size. Callers keep one article's chunks in one call so an article is never
        half-written by a batch boundary (unless it alone exceeds the max batch size).

        embeddings: one vector per chunk; ``None`` entries (or ``embeddings=None``) get a
            ``placeholder_vector`` and must come with ``dense`` False.
        dense: per chunk (or for all): True = a real vector (metadata ``dense: 1``), False = a
            placeholder awaiting ``set_vectors`` (``dense: 0``, excluded from dense search).
        raises StoreError(store_full|store_readonly|store_unavailable) on a failed write.
        """
        if not chunks:
            return
        self._check_writable()
        flags = [dense] * len(chunks) if isinstance(dense, bool) else list(dense)
        vecs = list(embeddings) if embeddings is not None else [None] * len(chunks)
        if len(flags) != len(chunks) or len(vecs) != len(chunks):
            raise ValueError("upsert: chunks, embeddings and dense flags differ in length")
        vecs = [list(v) if v is not None else placeholder_vector(c.id, self.embedder.dim) for c, v in zip(chunks, vecs)]
        try:
            for i in range(0, len(chunks), self.max_batch):
                part = chunks[i : i + self.max_batch]
                self.col.upsert(
                    ids=[c.id for c in part],
                    embeddings=vecs[i : i + self.max_batch],
                    documents=[c.text for c in part],
                    metadatas=[
                        {**chunk_metadata(c), "dense": int(f), "wts": time.time()}
                        for c, f in zip(part, flags[i : i + self.max_batch])
                    ],
                )
            self._bump()
        except Exception as exc:  # noqa: BLE001
            raise self._write_failed(exc) from exc

    def set_vectors(self, ids: Sequence[str], embeddings: Sequence[Sequence[float]]) -> None:
        """Give pending chunks their real vectors and mark them ``dense: 1``. Ids that no longer
        exist are ignored (``update``, never ``upsert``: a chunk deleted meanwhile stays deleted).

        raises StoreError on a failed write.
        """
        ids = list(ids)
        if not ids:
            return
        self._check_writable()
        try:
            for i in range(0, len(ids), self.max_batch):
                part = ids[i : i + self.max_batch]
                self.col.update(
                    ids=part,
                    embeddings=[list(v) for v in embeddings[i : i + self.max_batch]],
                    metadatas=[{"dense": 1}] * len(part),
                )
            self._bump()
        except Exception as exc:  # noqa: BLE001
            raise self._write_failed(exc) from exc

    def delete_ids(self, ids: Sequence[str]) -> int:
        """Delete chunks by id; returns how many were asked for and existed."""
        ids = list(ids)
        if not ids:
            return 0
        self._check_writable()
        existing = self.existing_ids(ids)
        try:
            for i in range(0, len(ids), self.max_batch):
                self.col.delete(ids=ids[i : i + self.max_batch])
            self._bump()
        except Exception as exc:  # noqa: BLE001
            raise self._write_failed(exc) from exc
        return len(existing)

    # -- reads -----------------------------------------------------------------------------
    @_guard
    def count(self) -> int:
        """Chunks in the collection (including those whose dense vector is pending)."""
        return self.col.count()

    @_guard
    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(ids)
        for i in range(0, len(ids), self.max_batch):
            found.update(self.col.get(ids=ids[i : i + self.max_batch], include=[])["ids"])
        return found

    @_guard
    def get_metadatas(self, ids: Sequence[str]) -> dict[str, dict]:
        """``{id: metadata}`` for the ids that exist."""
        out: dict[str, dict] = {}
        ids = list(ids)
        for i in range(0, len(ids), self.max_batch):
            res = self.col.get(ids=ids[i : i + self.max_batch], include=["metadatas"])
            out.update(zip(res["ids"], (m or {} for m in res["metadatas"])))
        return out

    @_guard
    def get_embeddings(self, ids: Sequence[str]) -> dict[str, list[float]]:
        """``{id: stored vector}`` for the ids that exist."""
        out: dict[str, list[float]] = {}
        ids = list(ids)
        for i in range(0, len(ids), self.max_batch):
            res = self.col.get(ids=ids[i : i + self.max_batch], include=["embeddings"])
            out.update((cid, list(map(float, v))) for cid, v in zip(res["ids"], res["embeddings"]))
        return out

    @_guard
    def ids_where(self, where: dict) -> list[str]:
        """Chunk ids whose metadata matches a Chroma ``where`` filter."""
        return list(self.col.get(where=where, include=[])["ids"])

    @_guard
    def all_ids(self, page: int = 20000) -> list[str]:
        """Every chunk id (ids only, paged)."""
        out: list[str] = []
        offset = 0
        while True:
            ids = self.col.get(include=[], limit=page, offset=offset)["ids"]
            out.extend(ids)
            if len(ids) < page:
                return out
            offset += page

    @_guard
    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids (those that exist), in no particular order."""
        out: list[Chunk] = []
        ids = list(ids)
        for i in range(0, len(ids), self.max_batch):
            res = self.col.get(ids=ids[i : i + self.max_batch], include=["documents", "metadatas"])
            out.extend(
                chunk_from_record(cid, doc, meta or {})
                for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"])
            )
        return out

    @_guard
    def chunks_where(self, where: dict, limit: int | None = None) -> list[Chunk]:
        """The chunks whose metadata matches a Chroma ``where`` filter (at most ``limit``), in
        one ``get``, in no particular order."""
        res = self.col.get(where=where, include=["documents", "metadatas"], limit=limit)
        return [
            chunk_from_record(cid, doc, meta or {})
            for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"])
        ]

    def iter_chunks(self, where: dict | None = None, page: int = 5000) -> Iterator[Chunk]:
        """Every chunk (optionally filtered), paged so memory stays bounded per page.

        raises StoreError: if Chroma fails while paging.
        """
        for c, _ in self.iter_stamped_chunks(where, page):
            yield c

    def iter_stamped_chunks(self, where: dict | None = None, page: int = 5000) -> Iterator[tuple[Chunk, float]]:
        """``(chunk, wts)`` for every chunk (``wts``: its write stamp, epoch seconds; 0 for chunks
        written before stamps existed), paged. raises StoreError: if Chroma fails while paging."""
        offset = 0
        while True:
            res = self._page(where, page, offset)
            if not res["ids"]:
                return
            for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"]):
                yield chunk_from_record(cid, doc, meta or {}), float((meta or {}).get("wts", 0.0))
            if len(res["ids"]) < page:
                return
            offset += page

    @_guard
    def _page(self, where, limit, offset):
        return self.col.get(where=where, include=["documents", "metadatas"], limit=limit, offset=offset)

    @_guard
    def written_since(self, ts: float, page: int = 20000) -> dict[str, float]:
        """``{chunk id: wts}`` of the chunks (re)written at or after ``ts`` (epoch seconds of the
        writer's clock): metadata only, so a reader can fetch just the texts that changed."""
        out: dict[str, float] = {}
        offset = 0
        while True:
            res = self.col.get(where={"wts": {"$gte": float(ts)}}, include=["metadatas"], limit=page, offset=offset)
            out.update((cid, float((meta or {}).get("wts", 0.0))) for cid, meta in zip(res["ids"], res["metadatas"]))
            if len(res["ids"]) < page:
                return out
            offset += page

    @_guard
    def pending_chunks(self, limit: int = 256) -> list[Chunk]:
        """Up to ``limit`` chunks stored keyword-first (``dense: 0``) whose vector is pending."""
        res = self.col.get(where={"dense": 0}, include=["documents", "metadatas"], limit=limit)
        return [
            chunk_from_record(cid, doc, meta or {})
            for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"])
        ]

    @_guard
    def pending_count(self) -> int:
        """How many chunks still wait for a dense vector."""
        return len(self.col.get(where={"dense": 0}, include=[])["ids"])

    def _dense_where(self, where: dict | None) -> dict | None:
        """``where`` plus ``dense != 0`` when the collection holds pending chunks. Whether it
        does is checked once per generation token (a token read less than 1 s ago is reused)."""
        seen = self._gen_seen
        gen = seen[1] if seen and time.monotonic() - seen[0] < 1.0 else self.generation()
        if gen != self._pending_gen:
            self._has_pending = bool(self.col.get(where={"dense": 0}, include=[], limit=1)["ids"])
            self._pending_gen = gen
        if not self._has_pending:
            return where
        clause = {"dense": {"$ne": 0}}
        return clause if where is None else {"$and": [where, clause]}

    @_guard
    def dense_search(self, vector: Sequence[float], k: int, where: dict | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (1 - Chroma's cosine distance), best first.
        Chunks whose dense vector is pending (keyword-first ingest) are never returned."""
        n = self.col.count()
        if n == 0:
            return []
        res = self.col.query(
            query_embeddings=[list(vector)],
            n_results=min(k, n),
            where=self._dense_where(where),
            include=["documents", "metadatas", "distances"],
        )
        return [
            (chunk_from_record(cid, doc, meta or {}), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0]
            )
        ]

    @_guard
    def documents(self) -> list[DocumentInfo]:
        """Documents (source files) with their articles (title, date, author, chunk count), sorted
        by source; see ``DocumentInfo``."""
        arts: dict[str, dict[str, dict]] = defaultdict(dict)
        offset, page = 0, 5000
        while True:
            res = self.col.get(include=["metadatas"], limit=page, offset=offset)
            for meta in res["metadatas"]:
                aid = meta.get("article_id", "")
                art = arts[meta.get("source", "")].setdefault(
                    aid,
                    {
                        "id": aid,
                        "title": meta.get("title", ""),
                        "date": meta.get("date", ""),
                        "author": meta.get("author", ""),
                        "chunks": 0,
                        "corrected": [f for f in meta.get("corrected", "").split(",") if f],
                    },
                )
                art["chunks"] += 1
            if len(res["ids"]) < page:
                break
            offset += page
        pending = self.incomplete_sources()
        docs = []
        for src in sorted(set(arts) | set(pending)):
            items = sorted(arts[src].values(), key=lambda a: (a["date"], a["title"])) if src in arts else []
            chunks = sum(a["chunks"] for a in items)
            docs.append(
                DocumentInfo(src, len(items), chunks, sorted(a["title"] for a in items), items, src not in pending)
            )
        return docs

    def article_count(self) -> int:
        return sum(d.articles for d in self.documents())

    # -- ingest markers: a document whose ingest has not finished ----------------------------
    # One record per document being written, in a small side collection: it is there from the
    # first write of a file's chunks until its last (stale chunks removed). A kill or a failed
    # write leaves it, so listings show the document as incomplete until an ingest completes it.
    def _marker_collection(self, create: bool):
        name = chroma_name(f"{self.display_name}（导入中）")
        try:
            return self.client.get_collection(name, embedding_function=None)
        except Exception as exc:  # noqa: BLE001
            if not _is_missing_collection(exc):
                raise
        return self.client.get_or_create_collection(name, embedding_function=None) if create else None

    def mark_incomplete(self, source: str) -> None:
        """Mark document ``source`` as being written. raises StoreError: as a write."""
        self._check_writable()
        try:
            self._marker_collection(create=True).upsert(
                ids=[_marker_id(source)],
                embeddings=[[1.0]],
                documents=[""],
                metadatas=[{"source": source, "started": time.strftime("%Y-%m-%d %H:%M:%S")}],
            )
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._write_failed(exc) from exc

    def mark_complete(self, source: str) -> None:
        """Clear the mark of document ``source`` (written whole, or deleted)."""
        try:
            col = self._marker_collection(create=False)
            if col is not None:
                col.delete(ids=[_marker_id(source)])
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._write_failed(exc) from exc

    def incomplete_sources(self) -> dict[str, str]:
        """``{source: started}`` of the documents whose ingest has not finished. On a data dir
        that became read-only or full while this process had it open, reading the marks may
        need a write Chroma cannot make: then none are reported (and none can be resolved).
        raises StoreError: Chroma unreachable."""
        try:
            return self._incomplete_sources()
        except StoreError as exc:
            if exc.code not in ("store_readonly", "store_full"):
                raise
            log.warning("ingest marks unreadable on a %s data dir: not listed", exc.code)
            return {}

    @_guard
    def _incomplete_sources(self) -> dict[str, str]:
        col = self._marker_collection(create=False)
        if col is None:
            return {}
        res = col.get(include=["metadatas"])
        return {m["source"]: m.get("started", "") for m in res["metadatas"] if m and m.get("source")}


def _marker_id(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()


def _local_dir(client) -> str | None:
    try:
        s = client.get_settings()
        return s.persist_directory if s.is_persistent and not getattr(client, "_api_url", None) else None
    except Exception:  # noqa: BLE001 - a client without settings
        return None


__all__ = ["Store", "DocumentInfo", "chroma_name", "open_client", "versions_compatible", "placeholder_vector"]
