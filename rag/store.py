"""Chroma: the one source of truth for chunks, their metadata and their dense vectors.

Embedded (``chromadb.PersistentClient`` on a data dir) or a server (``chromadb.HttpClient``).
Our embedder is always passed in explicitly; the collection is created with
``embedding_function=None`` so Chroma can never fall back to its default model (which
would download weights).

The collection's metadata records ``embedder`` (id), ``dim`` and ``generation``: a token
replaced on every write, so any process (an API sharing a Chroma server with an ingest job)
can tell cheaply that its keyword index is stale.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .errors import EmbedderMismatchError, StoreError
from .types import Chunk

DEFAULT_COLLECTION = "county_news"


def open_client(data_dir: Path | None = None, chroma_url: str | None = None):
    """Return a Chroma client: ``HttpClient`` when ``chroma_url`` (``http://host:port``) is given,
    else ``PersistentClient(data_dir / "chroma")``. Telemetry is off.

    raises StoreError(store_unavailable): server unreachable (Chinese message with the URL).
    raises StoreError(store_version_mismatch): server major.minor differs from the client's.
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        from urllib.parse import urlparse

        u = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        try:
            client = chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or 8000,
                                         ssl=u.scheme == "https", settings=settings)
            server_version = client.get_version()
        except Exception as exc:  # noqa: BLE001 - any connection failure
            raise StoreError(f"无法连接 Chroma 服务器 {chroma_url}，请确认服务已启动。({exc})") from exc
        if server_version.split(".")[:2] != chromadb.__version__.split(".")[:2]:
            raise StoreError(
                f"Chroma 服务器版本 {server_version} 与客户端版本 {chromadb.__version__} 不一致，请使用相同的大版本。",
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


def _clean_meta(meta: dict) -> dict:
    """Chroma metadata values must be str/int/float/bool: drop None, keep the rest."""
    return {k: v for k, v in meta.items() if v is not None}


def chunk_metadata(c: Chunk) -> dict:
    return _clean_meta({
        "article_id": c.article_id, "index": c.index, "start": c.start, "end": c.end,
        "title": c.title, "date": c.date, "date_int": c.date_int, "author": c.author, "source": c.source,
    })


def chunk_from_record(chunk_id: str, text: str, meta: dict) -> Chunk:
    return Chunk(
        id=chunk_id, article_id=meta.get("article_id", ""), index=int(meta.get("index", 0)), text=text or "",
        start=int(meta.get("start", 0)), end=int(meta.get("end", 0)), title=meta.get("title", ""),
        date=meta.get("date", ""), author=meta.get("author", ""), source=meta.get("source", ""),
    )


@dataclass
class DocumentInfo:
    """One source file (document) in the store: its articles and chunk count."""

    source: str
    articles: int
    chunks: int
    titles: list[str]


class Store:
    """Chunks in one Chroma collection (cosine space).

    raises EmbedderMismatchError: on open, if the collection was built with another embedder id
        or dimension (message says to run ``rag reindex``).
    """

    def __init__(self, client, embedder, collection: str = DEFAULT_COLLECTION):
        self.client = client
        self.embedder = embedder
        self.name = collection
        try:
            self.max_batch = int(client.get_max_batch_size())
            self.col = client.get_or_create_collection(
                collection,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedder": embedder.id, "dim": embedder.dim, "generation": uuid.uuid4().hex},
                embedding_function=None,
            )
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"无法打开向量库：{exc}") from exc
        meta = self.col.metadata or {}
        if meta.get("embedder") != embedder.id or int(meta.get("dim", -1)) != embedder.dim:
            raise EmbedderMismatchError(
                f"该知识库由 {meta.get('embedder')}（{meta.get('dim')} 维）建立，当前配置为 "
                f"{embedder.id}（{embedder.dim} 维）；请运行 `rag reindex` 用当前模型重建索引。"
            )

    # -- change tracking -------------------------------------------------------------------
    def generation(self) -> str:
        """The collection's current write token (re-read from Chroma; ~1 ms embedded).

        raises StoreError: if Chroma is unreachable.
        """
        try:
            return str(self.client.get_collection(self.name, embedding_function=None).metadata.get("generation"))
        except Exception as exc:  # noqa: BLE001
            raise StoreError(f"向量库不可用：{exc}") from exc

    def _bump(self) -> None:
        self.col.modify(metadata={"embedder": self.embedder.id, "dim": self.embedder.dim,
                                  "generation": uuid.uuid4().hex})

    # -- writes ----------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> None:
        """Write chunks with their vectors (same order), in batches of at most the client's
        max batch size. Callers keep one article's chunks in one call so an article is never
        half-written by a batch boundary (unless it alone exceeds the max batch size).

        raises StoreError(store_full|store_readonly|store_unavailable) on a failed write.
        """
        if not chunks:
            return
        try:
            for i in range(0, len(chunks), self.max_batch):
                part = chunks[i : i + self.max_batch]
                self.col.upsert(
                    ids=[c.id for c in part],
                    embeddings=[list(v) for v in embeddings[i : i + self.max_batch]],
                    documents=[c.text for c in part],
                    metadatas=[chunk_metadata(c) for c in part],
                )
            self._bump()
        except Exception as exc:  # noqa: BLE001
            raise _write_error(exc) from exc

    def delete_ids(self, ids: Sequence[str]) -> int:
        """Delete chunks by id; returns how many were asked for and existed."""
        ids = list(ids)
        if not ids:
            return 0
        existing = self.existing_ids(ids)
        try:
            for i in range(0, len(ids), self.max_batch):
                self.col.delete(ids=ids[i : i + self.max_batch])
            self._bump()
        except Exception as exc:  # noqa: BLE001
            raise _write_error(exc) from exc
        return len(existing)

    # -- reads -----------------------------------------------------------------------------
    def count(self) -> int:
        return self.col.count()

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(ids)
        for i in range(0, len(ids), self.max_batch):
            found.update(self.col.get(ids=ids[i : i + self.max_batch], include=[])["ids"])
        return found

    def ids_where(self, where: dict) -> list[str]:
        """Chunk ids whose metadata matches a Chroma ``where`` filter."""
        return list(self.col.get(where=where, include=[])["ids"])

    def iter_chunks(self, where: dict | None = None, page: int = 5000) -> Iterator[Chunk]:
        """Every chunk (optionally filtered), paged so memory stays bounded per page."""
        offset = 0
        while True:
            res = self.col.get(where=where, include=["documents", "metadatas"], limit=page, offset=offset)
            if not res["ids"]:
                return
            for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"]):
                yield chunk_from_record(cid, doc, meta or {})
            if len(res["ids"]) < page:
                return
            offset += page

    def dense_search(self, vector: Sequence[float], k: int, where: dict | None = None) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (1 - Chroma's cosine distance), best first."""
        n = self.count()
        if n == 0:
            return []
        res = self.col.query(query_embeddings=[list(vector)], n_results=min(k, n), where=where,
                             include=["documents", "metadatas", "distances"])
        return [
            (chunk_from_record(cid, doc, meta or {}), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
        ]

    def documents(self) -> list[DocumentInfo]:
        """Documents (source files) with article and chunk counts, sorted by source."""
        arts: dict[str, set[str]] = defaultdict(set)
        chunks: dict[str, int] = defaultdict(int)
        titles: dict[str, dict[str, str]] = defaultdict(dict)
        offset, page = 0, 5000
        while True:
            res = self.col.get(include=["metadatas"], limit=page, offset=offset)
            for meta in res["metadatas"]:
                src = meta.get("source", "")
                arts[src].add(meta.get("article_id", ""))
                titles[src][meta.get("article_id", "")] = meta.get("title", "")
                chunks[src] += 1
            if len(res["ids"]) < page:
                break
            offset += page
        return [DocumentInfo(s, len(arts[s]), chunks[s], sorted(titles[s].values())) for s in sorted(arts)]

    def article_count(self) -> int:
        return sum(d.articles for d in self.documents())


def _write_error(exc: Exception) -> StoreError:
    text = str(exc).lower()
    if "no space" in text or "disk is full" in text or "database or disk is full" in text:
        return StoreError("数据目录所在磁盘已满，本次写入未完成，已有数据未受影响。", code="store_full", status=507)
    if "readonly" in text or "read-only" in text or "permission denied" in text:
        return StoreError("数据目录为只读，无法写入；已有数据未受影响。", code="store_readonly")
    return StoreError(f"写入向量库失败：{exc}")


def batched(items: Iterable, n: int) -> Iterator[list]:
    batch: list = []
    for it in items:
        batch.append(it)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def reindex_collection(client, name: str, embedder, batch: int = 256) -> int:
    """Re-embed every chunk of collection ``name`` with ``embedder`` (after a model change).

    The old collection is read whatever embedder built it; a new one is filled beside it
    and then takes its name, so an interrupted reindex leaves the old one intact.
    Returns the number of chunks written.
    """
    try:
        old = client.get_collection(name, embedding_function=None)
    except Exception:  # noqa: BLE001 - nothing to reindex
        return 0
    tmp_name = f"{name}__reindex"
    try:
        client.delete_collection(tmp_name)
    except Exception:  # noqa: BLE001 - no leftover from an earlier attempt
        pass
    tmp = client.create_collection(tmp_name, configuration={"hnsw": {"space": "cosine"}},
                                   metadata={"embedder": embedder.id, "dim": embedder.dim,
                                             "generation": uuid.uuid4().hex},
                                   embedding_function=None)
    n, offset = 0, 0
    while True:
        res = old.get(include=["documents", "metadatas"], limit=batch, offset=offset)
        if not res["ids"]:
            break
        texts = [f"{m.get('title', '')}\n{d}" if m.get("title") else d for d, m in zip(res["documents"], res["metadatas"])]
        tmp.upsert(ids=res["ids"], documents=res["documents"], metadatas=res["metadatas"],
                   embeddings=embedder.embed_documents(texts))
        n += len(res["ids"])
        offset += batch
    client.delete_collection(name)
    tmp.modify(name=name)
    return n
