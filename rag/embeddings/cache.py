"""An embedding cache keyed by embedder id and passage text (sqlite, one file).

The cache only saves time: it can always be rebuilt by embedding again, so it never stops an
ingest or a question. A damaged file (not a database, a malformed page, a wrong schema) is
moved aside as ``<name>.damaged-<time>`` and a new one started, with a log line saying why;
a cache that cannot be written (read-only or full disk) is used for reading only, or not at
all when it cannot even be opened.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

log = logging.getLogger("rag.embeddings")


class CachedEmbeddings(Embeddings):
    """Wraps an embedder; passages already embedded by the same embedder id are read back.

    Key: sha1(embedder id + NUL + passage text). So re-ingesting after a chunking or metadata
    change re-embeds only chunks whose embedded text changed. Queries are not cached.
    Values: float32 bytes (a value of the wrong size counts as a miss). ``hits`` / ``misses``
    count passages since creation; ``rebuilt`` counts damaged files replaced.
    """

    def __init__(self, inner: Embeddings, path: Path):
        self.inner = inner
        self.id = inner.id
        self.dim = inner.dim
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.writable = False
        self.hits = 0
        self.misses = 0
        self.rebuilt = 0
        self._open()

    # -- opening and rebuilding -------------------------------------------------------------
    def _open(self) -> None:
        """Open (or create) the cache; a damaged file is replaced, an unwritable one read only."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS emb (k TEXT PRIMARY KEY, v BLOB)")
            db.execute("SELECT k, v FROM emb LIMIT 1").fetchall()
            self._db, self.writable = db, True
            return
        except sqlite3.DatabaseError as exc:
            if _damaged(exc):
                self._replace(exc)
                return
            reason = exc
        except OSError as exc:
            reason = exc
        self._open_read_only(reason)

    def _open_read_only(self, reason: Exception) -> None:
        # a WAL database opens read-only only if its -shm file can be made; "immutable" (no
        # locking) is the way on a read-only filesystem, where nobody can change it meanwhile
        error: Exception = reason
        for query in ("mode=ro", "immutable=1"):
            try:
                db = sqlite3.connect(f"file:{self.path}?{query}", uri=True, check_same_thread=False)
                db.execute("SELECT k, v FROM emb LIMIT 1").fetchall()
                self._db, self.writable = db, False
                log.warning("embedding cache %s cannot be written (%s): read only", self.path, reason)
                return
            except sqlite3.Error as exc:
                error = exc
        self._db, self.writable = None, False
        log.warning("embedding cache %s cannot be used (%s; %s): passages are embedded anew", self.path, reason, error)

    def _replace(self, exc: Exception) -> None:
        """Move a damaged cache file aside and start an empty one."""
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
        aside = self.path.with_name(f"{self.path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        log.warning("embedding cache %s is damaged (%s): moved to %s and started afresh", self.path, exc, aside.name)
        self.rebuilt += 1
        try:
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        except OSError as err:
            self._open_read_only(err)
            return
        self._open()

    # -- use ----------------------------------------------------------------------------------
    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.id}\x00{text}".encode()).hexdigest()

    def _lookup(self, keys: list[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        with self._lock:
            if self._db is None:
                return found
            try:
                for i in range(0, len(keys), 500):
                    part = keys[i : i + 500]
                    q = f"SELECT k, v FROM emb WHERE k IN ({','.join('?' * len(part))})"
                    for k, v in self._db.execute(q, part):
                        if isinstance(v, bytes) and len(v) == 4 * self.dim:
                            found[k] = np.frombuffer(v, dtype=np.float32).tolist()
            except sqlite3.DatabaseError as exc:
                found = {}
                if _damaged(exc):
                    self._replace(exc)
                else:
                    log.warning("embedding cache %s unreadable (%s): embedding anew", self.path, exc)
        return found

    def _store(self, rows: list[tuple[str, bytes]]) -> None:
        with self._lock:
            if self._db is None or not self.writable:
                return
            try:
                self._db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)
                self._db.commit()
            except sqlite3.DatabaseError as exc:
                try:
                    self._db.rollback()
                except sqlite3.Error:
                    pass
                if _damaged(exc):
                    self._replace(exc)
                else:  # a full or read-only disk: stop writing, keep reading
                    self.writable = False
                    log.warning("embedding cache %s cannot be written (%s): read only from now on", self.path, exc)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        found = self._lookup(keys)
        todo = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(texts) - len(todo)
        self.misses += len(todo)
        if todo:
            vecs = self.inner.embed_documents([texts[i] for i in todo])
            rows = [(keys[i], np.asarray(v, dtype=np.float32).tobytes()) for i, v in zip(todo, vecs)]
            self._store(rows)
            for (k, _), v in zip(rows, vecs):
                found[k] = list(v)
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _damaged(exc: sqlite3.Error) -> bool:
    """A file that is not a usable cache database (as opposed to a locked, full or read-only one)."""
    text = str(exc).lower()
    return any(s in text for s in ("malformed", "not a database", "no such table", "no such column", "corrupt"))
