"""sentence-transformers: any model already on disk (path) or in the local HF cache (id)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from langchain_core.embeddings import Embeddings


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model loaded offline (``local_files_only``; nothing is downloaded).

    model: a directory (e.g. ``/models/bge-small-zh-v1.5``) or a model id already in the local
        Hugging Face cache.
    query_prefix / passage_prefix: prepended to queries / passages (models differ: e5 wants
        ``"query: "``/``"passage: "``, bge-zh wants an instruction on queries only).
    raises RuntimeError: if the model is not on disk (message says where it looked).
    """

    batch_size = 32

    def __init__(self, model: str, *, query_prefix: str = "", passage_prefix: str = "", device: str = "cpu"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model_name = model
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        try:
            self._model = SentenceTransformer(model, device=device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loader failure means "not on disk"
            raise RuntimeError(
                f"无法加载本地向量模型 {model!r}：请给出模型目录的路径（本机不能联网下载）。({exc})"
            ) from exc
        self.dim = int(self._model.get_embedding_dimension())
        name = Path(model).name if os.path.isdir(model) else model
        self.id = f"sentence-transformers:{name}|q={query_prefix}|p={passage_prefix}"
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            vecs = self._model.encode(
                texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return vecs.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Passages → list of ``dim``-float lists (L2-normalised)."""
        return self._encode([self.passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        """Query → ``dim`` floats (L2-normalised)."""
        return self._encode([self.query_prefix + text])[0]
