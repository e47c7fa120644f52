"""The one server process: the HTTP API (``rag.api``) with the staff chat (``ui.app``)
mounted at ``/``. This is the only module that imports both; ``rag serve`` runs it (found
through the ``county_rag.server`` entry point, so the library never imports the UI)."""

from __future__ import annotations

import logging
from typing import Any, Callable

from fastapi import FastAPI

from rag.api import create_app
from rag.settings import Settings, build_pipeline

from .app import mount_ui


def create_server(settings: Settings | None = None, pipeline=None, *,
                  builder: Callable[[Settings], Any] = build_pipeline) -> FastAPI:
    """``rag.api.create_app`` (same arguments) with the chat mounted at ``/`` after the API routes."""
    app = create_app(settings, pipeline, builder=builder)
    mount_ui(app, app.state.holder, app.state.settings, path="/")
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, log_level: str = "info") -> None:
    """Run the server (API + chat UI) with uvicorn until interrupted. Binds to ``host``
    (loopback by default; pass ``0.0.0.0`` to serve the network)."""
    import uvicorn

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_server(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"聊天界面：http://{shown}:{port}/    API 文档：http://{shown}:{port}/docs", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)
