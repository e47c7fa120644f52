"""``GET /api/health``: version, embedder, counts, LLM settings (never a key)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ... import __version__
from ..deps import pipeline, read_access, settings_of

router = APIRouter(prefix="/api", tags=["系统"], dependencies=read_access)


def without_credentials(value: str) -> str:
    """A URL with any ``user:password@`` part removed (other strings unchanged)."""
    parts = urlsplit(value)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return value


@router.get("/health", summary="服务状态")
async def health(request: Request) -> dict:
    pipe = await pipeline(request)

    def counts():
        return pipe.store.count(), pipe.store.article_count(), len(pipe.documents())

    chunks, articles, documents = await run_in_threadpool(counts)
    body = {
        "status": "ok",
        "version": __version__,
        "embedder": pipe.embedder.id,
        "chunks": chunks,
        "articles": articles,
        "documents": documents,
    }
    settings = settings_of(request)
    for name in ("llm", "llm_model", "llm_base_url"):  # whatever LLM settings exist; never a key
        value = getattr(settings, name, None)
        if value and str(value).lower() not in ("none", "off"):
            body[name] = without_credentials(str(value))
    return body
