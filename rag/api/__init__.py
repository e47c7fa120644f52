"""HTTP API (FastAPI): one small router per resource over the library (``rag.service``,
``rag.pipeline``). The staff chat is mounted next to it by ``ui.server``, which composes the
two; nothing here imports the UI.

- ``POST /api/ask``, ``POST /api/ask/stream``: ``routers/ask.py``
- ``GET/POST /api/documents``, ``DELETE /api/documents/{name}``: ``routers/documents.py``
- ``PATCH /api/articles/{id}``: ``routers/articles.py`` (correct a title, date or author)
- ``POST /api/feedback``: ``routers/feedback.py`` (有用 / 有误 on an answer)
- ``GET /api/health``: ``routers/health.py``
- ``POST /v1/chat/completions``, ``GET /v1/models``: ``routers/openai.py``
- ``/docs``: OpenAPI documentation, served offline

Errors are always ``{"error": {"code", "message"}}`` (``errors.py``); the API-key rule is a
dependency (``deps.py``); blocking work (embedding, Chroma, parsing) runs in worker threads.
Behind a reverse proxy under a path prefix (``RAG_ROOT_PATH``), ``middleware.py`` gives every
request that prefix as its root path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import RagError
from ..service import KeyAttempts, PipelineHolder, make_filters, normalise_upload_name
from ..settings import Settings, build_pipeline
from .errors import install_error_handlers
from .middleware import RootPathMiddleware, check_root_path
from .routers import articles, ask, documents, feedback, health, openai
from .routers.openai import MODEL_ID
from .security import BodyGuard, DocsKeyGuard

# routes whose bodies are uploads (streamed and size-limited by the route itself), not JSON
UPLOAD_PATHS = ("/api/documents", "/gradio_api/upload")

log = logging.getLogger("rag.api")

# unknown /api and /v1 paths get a JSON 404 instead of falling through to a UI mounted at "/"
_fallback = APIRouter(include_in_schema=False)


@_fallback.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@_fallback.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def _unknown(rest: str):
    raise StarletteHTTPException(404)


def create_app(
    settings: Settings | None = None, pipeline=None, *, builder: Callable[[Settings], Any] = build_pipeline
) -> FastAPI:
    """The API app: routes under ``/api`` and ``/v1``, OpenAPI docs at ``/docs``, all under
    ``settings.root_path`` when it is set (see ``RootPathMiddleware``).

    settings: read once by the caller (default ``Settings()`` from ``RAG_*``).
    pipeline: a ready pipeline (tests); default: built at startup with ``builder(settings)``.
        If the store cannot be opened then, the server still starts, answers 503 with the
        JSON error, and retries on later requests.
    returns: the app; ``app.state.holder`` is its ``PipelineHolder``, ``app.state.settings`` its settings.
    raises RagError(bad_root_path): ``settings.root_path`` is not a plain URL path.
    """
    settings = settings or Settings()
    holder = PipelineHolder(settings, pipeline, builder)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not holder.ready:
            try:
                pipe = await run_in_threadpool(holder.get)
                await run_in_threadpool(
                    pipe.embedder.embed_query, "预热"
                )  # load the model now, not on the first question
            except RagError as exc:
                log.warning(
                    "store unavailable at startup (%s: %s); will retry on the next request", exc.code, exc.message
                )
        yield

    # FastAPIOffline serves the /docs and /redoc assets from the package, not from a CDN
    app = FastAPIOffline(
        title="县域新闻档案问答 API",
        version=__version__,
        lifespan=lifespan,
        description='带引用的新闻档案问答。错误统一为 `{"error": {"code", "message"}}`。'
        "聊天界面在 `/`，OpenAI 兼容接口在 `/v1`。",
    )
    app.state.holder = holder
    app.state.settings = settings
    app.state.key_attempts = KeyAttempts()  # wrong keys throttled per client (deps, middleware)
    install_error_handlers(app)
    for router in (
        health.router,
        ask.router,
        documents.router,
        articles.router,
        feedback.router,
        openai.router,
        _fallback,
    ):
        app.include_router(router)
    app.add_middleware(DocsKeyGuard, settings=settings, attempts=app.state.key_attempts)
    app.add_middleware(BodyGuard, upload_paths=UPLOAD_PATHS, root_path=settings.root_path)
    if settings.root_path:
        app.add_middleware(RootPathMiddleware, root_path=check_root_path(settings.root_path))
    return app


__all__ = ["create_app", "PipelineHolder", "make_filters", "normalise_upload_name", "MODEL_ID"]
