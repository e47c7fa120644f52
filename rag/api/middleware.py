"""ASGI middleware of the server: serving under a path prefix behind a reverse proxy, and the
API-key rule for write routes that no router of ours serves (the chat's upload route).

Both are plain ASGI wrappers (no ``BaseHTTPMiddleware``): they never read the request body,
so a refused upload is answered before any of it is received.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import RagError
from ..service import client_address
from .deps import supplied_key, throttled_key_error

KEY_COOKIE = "rag_key"  # set by the chat's documents tab when the key is typed (see ui/app.py)
UPLOAD_KEY_MISSING = "上传需要管理密钥：请先在“管理密钥”框中填写 RAG_API_KEY，再上传。"
UPLOAD_KEY_WRONG = "管理密钥不正确，文件未上传。"
_SEGMENT = r"/[A-Za-z0-9._~!$&'()*+,;=:@%-]+"


def check_root_path(root_path: str) -> str:
    """``root_path`` (already normalised by ``Settings``: ``""`` or ``/a/b``) if it is a plain URL
    path. raises RagError(bad_root_path): anything else (a scheme, ``?``, spaces…)."""
    if root_path and not re.fullmatch(f"(?:{_SEGMENT})+", root_path):
        raise RagError(
            f"路径前缀 {root_path!r} 不合法：应为 /rag 这样的路径（RAG_ROOT_PATH 或 --root-path）。",
            code="bad_root_path",
            status=400,
        )
    return root_path


class RootPathMiddleware:
    """Serve the app under ``root_path`` (e.g. ``/rag``) behind a reverse proxy that either
    strips the prefix (``/rag/api/ask`` arrives as ``/api/ask``) or keeps it (arrives as
    ``/rag/api/ask``); direct requests without the prefix keep working too.

    Every request gets the ASGI form the spec describes: ``scope["root_path"] = root_path`` and
    ``scope["path"]`` starting with it (the prefix is added when the proxy stripped it). Routing
    then ignores the prefix, and every URL the app builds (``/docs`` assets, the chat's
    config, redirects) carries it. The public host comes from the ``Host`` header (or
    ``X-Forwarded-Host``), so the proxy must pass it on.

    raises RagError(bad_root_path): ``root_path`` is not a plain URL path.
    """

    def __init__(self, app: ASGIApp, root_path: str):
        self.app = app
        self.root_path = check_root_path(root_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = self.root_path
        if root and scope["type"] in ("http", "websocket"):
            scope = dict(scope)
            path = scope["path"]
            if not (path == root or path.startswith(root + "/")):
                scope["path"] = root + path
                if scope.get("raw_path") is not None:
                    scope["raw_path"] = root.encode("ascii") + scope["raw_path"]
            scope["root_path"] = root
        await self.app(scope, receive, send)


class WriteKeyGuard:
    """The API-key rule (``deps.check_key``, as for a write) on ``paths`` that are not served by
    our routers, e.g. Gradio's ``/gradio_api/upload``, checked before the body is read.

    With ``settings.api_key`` set, a ``POST``/``PUT``/``PATCH``/``DELETE`` on one of ``paths``
    (relative to the root path) needs the key in ``X-API-Key``, ``Authorization: Bearer`` or
    the ``rag_key`` cookie (URL-encoded; the chat's documents tab sets it when the key is
    typed); otherwise it is answered 401 (no key) / 403 (wrong key) with ``Connection: close``
    and the app never sees it. The body is the Chinese message as plain text, the form of
    Gradio's own errors on that route (its page shows the body to the user as it is).
    """

    def __init__(self, app: ASGIApp, *, settings, paths: Iterable[str], attempts=None):
        self.app = app
        self.settings = settings
        self.paths = {p.rstrip("/") for p in paths}
        self.attempts = attempts  # rag.service.KeyAttempts: wrong keys are throttled (429)

    def _guarded(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            return False
        path = scope["path"]
        for root in {scope.get("root_path", ""), self.settings.root_path}:
            if root and (path == root or path.startswith(root + "/")):
                path = path[len(root) :]
        return path.rstrip("/") in self.paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.settings.api_key and self._guarded(scope):
            request = Request(scope)
            supplied = supplied_key(request) or unquote(request.cookies.get(KEY_COOKIE, "")) or None
            client = client_address(scope)
            err = throttled_key_error(self.settings, supplied, write=True, attempts=self.attempts, client=client)
            if err is not None:
                headers = {"Connection": "close"}
                if err.status == 401:
                    headers["WWW-Authenticate"] = "Bearer"
                if err.status == 429:
                    headers["Retry-After"] = str(err.retry_after)
                message = {401: UPLOAD_KEY_MISSING, 403: UPLOAD_KEY_WRONG}.get(err.status, err.message)
                await PlainTextResponse(message, status_code=err.status, headers=headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)
