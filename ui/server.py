"""The one server process: the HTTP API (``rag.api``) with the staff chat (``ui.app``)
mounted at ``/``. This is the only module that imports both; ``rag serve`` runs it (found
through the ``county_rag.server`` entry point, so the library never imports the UI)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from rag.api import create_app
from rag.api.middleware import WriteKeyGuard
from rag.settings import Settings, build_pipeline

from .app import DELETE_CACHE, UPLOAD_ROUTE, mount_ui


def create_server(
    settings: Settings | None = None,
    pipeline=None,
    *,
    builder: Callable[[Settings], Any] = build_pipeline,
    delete_cache: tuple[int, int] = DELETE_CACHE,
) -> FastAPI:
    """``rag.api.create_app`` (same arguments) with the chat mounted at ``/`` after the API
    routes, all under ``settings.root_path``. With ``RAG_API_KEY`` set, the chat's upload
    route needs the key like every other write (``WriteKeyGuard``, before Gradio reads the
    file). delete_cache: see ``ui.app.DELETE_CACHE``."""
    app = create_app(settings, pipeline, builder=builder)
    settings = app.state.settings
    mount_ui(app, app.state.holder, settings, path="/", delete_cache=delete_cache)
    app.add_middleware(WriteKeyGuard, settings=settings, paths=[UPLOAD_ROUTE])
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, log_level: str = "info") -> None:
    """Run the server (API + chat UI) with uvicorn until interrupted. Binds to ``host``
    (loopback by default; pass ``0.0.0.0`` to serve the network). With ``settings.root_path``
    (``--root-path /rag``) every page and route also answers under that prefix, for a reverse
    proxy that keeps or strips it. raises RagError(bad_root_path)."""
    import uvicorn

    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = create_server(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}{settings.root_path}"
    print(f"聊天界面：{base}/    API 文档：{base}/docs", flush=True)
    if settings.root_path:
        print(f"路径前缀 {settings.root_path}：反向代理可保留或去掉该前缀后转发到 http://{shown}:{port}/", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)
