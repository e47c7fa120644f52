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

from .errors import ConfigError, EmbedderMismatchError, RagError, StoreError
from .types import Chunk

DEFAULT_COLLECTION = "county_news"
_URL_RE = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[^/:\[\]@\s]+)(:\d{1,5})?/?$")  # a Chroma server URL
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


def open_client(data_dir: Path | None = None, chroma_url: str | None = None):
    """Return a Chroma client: ``HttpClient`` when ``chroma_url`` (``http://host:port``) is given,
    else ``PersistentClient(data_dir / "chroma")``. Telemetry is off.

    raises ConfigError(bad_config): ``chroma_url`` is not ``http(s)://host[:port]``.
    raises StoreError(store_unavailable): server unreachable (Chinese message with the URL).
    raises StoreError(store_version_mismatch): the server speaks another API generation than
        the client (its major version differs: a 0.x server and this 1.x client do not talk;
        every 1.x ``chroma run`` reports ``1.0.0`` whatever its package version).
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        from urllib.parse import urlparse

        u = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        if not _URL_RE.match(u.geturl()):
            raise ConfigError(
                f"Chroma 服务器地址（RAG_CHROMA_URL / --chroma-url）「{chroma_url}」格式不对，"
                "应为 http://主机:端口，如 http://127.0.0.1:8000。"
            )
        try:
            client = chromadb.HttpClient(
                host=u.hostname or "127.0.0.1", port=u.port or 8000, ssl=u.scheme == "https", settings=settings
            )
            server_version = client.get_version()
        except Exception as exc:  # noqa: BLE001 - any connection failure
            raise StoreError(f"无法连接 Chroma 服务器 {chroma_url}，请确认服务已启动。({exc})") from exc
        if not versions_compatible(server_version, chromadb.__version__):
            raise StoreError(
                f"Chroma 服务器 {chroma_url} 的版本 {server_version} 与本机客户端 chromadb {chromadb.__version__} "
                f"不兼容（主版本号不同）；请把服务器升级到 chromadb {chromadb.__version__.split('.')[0]}.x "
                f"（`pip install chromadb=={chromadb.__version__}` 后用 `chroma run` 启动）。",
                code="store_version_mismatch",
            )
        return client
    if data_dir is None:
        raise ValueError("data_dir or chroma_url is required")
    path = Path(data_dir) / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except OSError as exc:
        raise StoreError(f"无法打开数据目录 {path}：{exc}", code="store_readonly") from exc
    except Exception as exc:  # noqa: BLE001 - chromadb's InternalError on a full or read-only disk
        err = _write_error(exc, str(path))
        if err.code in ("store_full", "store_readonly"):
            raise err from exc
        raise StoreError(f"无法打开数据目录 {path}：{exc}") from exc


def versions_compatible(server: str, client: str) -> bool:
    """True when a Chroma server of version ``server`` serves a client of version ``client``:
    same major version (the HTTP API changed from v1 to v2 between 0.x and 1.x)."""
    return str(server).split(".")[0] == str(client).split(".")[0]


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
    """

    source: str
    articles: int
    chunks: int
    titles: list[str]
    article_list: list[dict] = field(default_factory=list)


def _guard(method):
    """Run a Store method; turn any Chroma/httpx failure into ``StoreError(store_unavailable)``.

    A collection that vanished (deleted and re-created by ``rag reindex``, a server restarted
    on a fresh path) is re-opened by name once and the call retried.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except RagError:
            raise
        except Exception as exc:  # noqa: BLE001 - any client/transport failure
            if _is_missing_collection(exc) and self._reopen():
                try:
                    return method(self, *args, **kwargs)
                except RagError:
                    raise
                except Exception as exc2:  # noqa: BLE001
                    raise self._unavailable(exc2) from exc2
            raise self._unavailable(exc) from exc

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
    collection: any name (``绛县新闻``), kept as ``display_name``; ``name`` is its :func:`chroma_name`.
    """

    def __init__(self, client, embedder, collection: str = DEFAULT_COLLECTION):
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
        except Exception as exc:  # noqa: BLE001
            err = _write_error(exc, self.local_dir)  # a read-only or full data dir says so
            if err.code in ("store_full", "store_readonly"):
                raise err from exc
            if type(exc).__name__ in ("InvalidArgumentError", "ValueError") or "validation error" in str(exc).lower():
                raise ConfigError(f"向量库配置有误（集合「{self.display_name}」）：{exc}") from exc
            raise StoreError(f"无法打开向量库：{exc}") from exc
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
        try:
            s = self.client.get_settings()
            return s.persist_directory if s.is_persistent and not getattr(self.client, "_api_url", None) else None
        except Exception:  # noqa: BLE001 - a client without settings
            return None

    def _write_failed(self, exc: Exception) -> StoreError:
        """Classify a failed write. After ``store_full`` on an embedded store this process writes
        no more: chromadb can leave its SQLite write lock behind after a failed commit, and the
        next write, once there is space again, then blocks forever while holding the GIL
        (freezing every request of the server). Reads go on; a restart clears it."""
        err = _write_error(exc, self.local_dir)
        if err.code == "store_full" and self.local_dir:
            self._full_latched = True
        return err

    def _check_writable(self) -> None:
        if self._full_latched:
            raise StoreError(
                "数据目录所在磁盘曾经写满：为避免向量库卡死，本进程已停止写入。请腾出磁盘空间后重启服务"
                "（命令行则重新运行即可）；已有数据未受影响，提问不受影响。",
                code="store_full",
                status=507,
            )

    def _unavailable(self, exc: Exception) -> StoreError:
        # a full or read-only data dir fails reads-before-writes too (e.g. ``touch``): say so
        err = self._write_failed(exc)
        if err.code in ("store_full", "store_readonly"):
            return err
        server = getattr(self.client, "_server", None)  # chromadb's HTTP client keeps its URL here
        where = getattr(server, "_api_url", None) or "本地数据目录"
        return StoreError(f"向量库不可用（{where}）：{exc}；请确认 Chroma 服务已启动，恢复后重试即可。")

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
        docs = []
        for src in sorted(arts):
            items = sorted(arts[src].values(), key=lambda a: (a["date"], a["title"]))
            docs.append(
                DocumentInfo(src, len(items), sum(a["chunks"] for a in items), sorted(a["title"] for a in items), items)
            )
        return docs

    def article_count(self) -> int:
        return sum(d.articles for d in self.documents())


def _write_error(exc: Exception, local_dir: str | None = None) -> StoreError:
    """Classify a failed write: ``store_full`` / ``store_readonly`` by the error text, else (an
    embedded store whose error says only "unable to open database file", SQLite's answer on a
    read-only mount) by the state of the filesystem holding ``local_dir``."""
    text = str(exc).lower()
    state = None
    if (
        not (
            "no space" in text
            or "disk is full" in text
            or "readonly" in text
            or "read-only" in text
            or "permission denied" in text
        )
        and local_dir
    ):
        try:
            st = os.statvfs(local_dir)
            state = "readonly" if st.f_flag & os.ST_RDONLY else "full" if st.f_bavail * st.f_frsize < 1 << 20 else None
        except OSError:
            pass
    if "no space" in text or "disk is full" in text or "database or disk is full" in text or state == "full":
        return StoreError("数据目录所在磁盘已满，本次写入未完成，已有数据未受影响。", code="store_full", status=507)
    if "readonly" in text or "read-only" in text or "permission denied" in text or state == "readonly":
        return StoreError("数据目录为只读，无法写入；已有数据未受影响。", code="store_readonly")
    return StoreError(f"写入向量库失败：{exc}")
