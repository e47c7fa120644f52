"""The one server process: the HTTP API (``rag.api``) with the staff chat (``ui.app``)
mounted at ``/``. This is the only module that imports both; ``rag serve`` runs it (found
through the ``county_rag.server`` entry point, so the library never imports the UI)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from rag.api import create_app
from rag.api.middleware import WriteKeyGuard
from rag.api.security import HostGuard, LoginThrottle, access_log_config, allowed_hosts
from rag.readonly import clean_stale_snapshots
from rag.service import clean_upload_dir
from rag.settings import Settings, build_pipeline, writer_lock

from .app import DELETE_CACHE, UPLOAD_ROUTE, mount_ui
from .render import PAGE_JS


class PageScript:
    """Puts ``script`` first in the ``<head>`` of the chat page (``GET /`` under the root path),
    before Gradio's own code: Gradio reads the browser's language as it starts, earlier than
    anything its ``head`` option adds. The page is asked for uncompressed (its HTML is a few
    kB) so that it can be edited; every other request passes untouched."""

    def __init__(self, app, *, script: str, root_path: str = ""):
        self.app, self.script, self.root_path = app, script.encode("utf-8"), root_path

    def _is_page(self, scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        path = scope["path"]
        for root in {scope.get("root_path", ""), self.root_path}:
            if root and path.startswith(root):
                path = path[len(root) :]
        return path in ("", "/")

    async def __call__(self, scope, receive, send):
        if not self._is_page(scope):
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        scope = {**scope, "headers": headers}
        start: dict = {}
        body = bytearray()

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)  # e.g. the test client's http.response.debug
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            page = bytes(body)
            kind = dict(start.get("headers", [])).get(b"content-type", b"")
            if kind.startswith(b"text/html") and b"<head>" in page:
                page = page.replace(b"<head>", b"<head>" + self.script, 1)
            out = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": out + [(b"content-length", str(len(page)).encode())]})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, capture)


def create_server(
    settings: Settings | None = None,
    pipeline=None,
    *,
    builder: Callable[[Settings], Any] = build_pipeline,
    delete_cache: tuple[int, int] = DELETE_CACHE,
    bind_host: str | None = None,
) -> FastAPI:
    """``rag.api.create_app`` (same arguments) with the chat mounted at ``/`` after the API
    routes, all under ``settings.root_path``. With ``RAG_API_KEY`` set, the chat's upload
    route needs the key like every other write (``WriteKeyGuard``, before Gradio reads the
    file); wrong keys and logins are throttled per client (``app.state.key_attempts``). The chat
    page gets ``ui.render.PAGE_JS`` first in its head (``PageScript``).
    delete_cache: see ``ui.app.DELETE_CACHE``.
    bind_host: the address served (``rag serve --host``): requests must then name an allowed
        host (``rag.api.security.allowed_hosts`` with ``RAG_ALLOWED_HOSTS``); None (in-process
        use, tests) checks no ``Host`` header."""
    app = create_app(settings, pipeline, builder=builder)
    settings = app.state.settings
    attempts = app.state.key_attempts
    mount_ui(app, app.state.holder, settings, path="/", delete_cache=delete_cache)
    app.add_middleware(WriteKeyGuard, settings=settings, paths=[UPLOAD_ROUTE], attempts=attempts)
    app.add_middleware(PageScript, script=PAGE_JS, root_path=settings.root_path)
    if settings.api_key and settings.api_key_all:
        app.add_middleware(LoginThrottle, attempts=attempts, root_path=settings.root_path)
    if bind_host is not None:
        app.add_middleware(HostGuard, patterns=allowed_hosts(settings.allowed_hosts, bind_host))
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
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"http://{shown}:{port}{settings.root_path}"
    # the one writer of an embedded data dir while it runs (uploads, deletions): `rag ingest`
    # into the same data dir is refused with a message pointing at the upload
    lock = writer_lock(settings, f"rag serve {base}/")
    if lock is not None and not settings.chroma_url:
        # leftovers of uploads a killed server never finished, and the chat's upload copies,
        # which live beside them (unless GRADIO_TEMP_DIR is set) so that they are cleaned too
        clean_upload_dir(settings.data_dir)
        os.environ.setdefault("GRADIO_TEMP_DIR", str(settings.data_dir / "uploads" / "gradio"))
    clean_stale_snapshots()
    app = create_server(settings, bind_host=host)
    print(f"聊天界面：{base}/    API 文档：{base}/docs", flush=True)
    names = "、".join(allowed_hosts(settings.allowed_hosts, host))
    print(f"接受的主机名：IP 地址及 {names}（其他名称请加入 RAG_ALLOWED_HOSTS）", flush=True)
    if settings.root_path:
        print(f"路径前缀 {settings.root_path}：反向代理可保留或去掉该前缀后转发到 http://{shown}:{port}/", flush=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=access_log_config(settings.api_key),
        timeout_graceful_shutdown=5,
    )
