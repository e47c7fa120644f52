"""Guards of the server against the network: the ``Host`` header checked against DNS
rebinding, throttled key guessing on the chat's login form, and no key in the access log.

All are plain ASGI wrappers or logging filters (no ``BaseHTTPMiddleware``), composed by
``ui.server``; the key rule itself is ``deps.key_error``, the throttle ``service.KeyAttempts``.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import logging
import re
import socket
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, urlencode

from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..service import KeyAttempts, client_address

LOOPBACK_BINDS = ("127.0.0.1", "localhost", "::1")
WILDCARD_BINDS = ("0.0.0.0", "::", "")
# query parameters whose values are never written to the access log (a key a client put in the URL)
SECRET_PARAM = re.compile(r"key|token|secret|pass|auth|sig|cred", re.IGNORECASE)


def allowed_hosts(configured: str, bind_host: str) -> list[str]:
    """The host names a request may carry in its ``Host`` header (DNS rebinding defence).

    configured: ``RAG_ALLOWED_HOSTS``, comma-separated names; ``*.example.org`` allows the
        sub-domains; ``*`` turns the check off. Added to the default, never replacing it.
    bind_host: ``rag serve --host``. The default list is what it implies: ``localhost``
        for a loopback bind; for a wildcard bind (``0.0.0.0``) also this machine's host name and
        fully qualified name; for a named host, that name. IP literals are always accepted
        (see ``HostGuard``): a rebinding attack needs a name the attacker controls.
    returns: lower-case names and patterns, without ports.
    """
    names = ["localhost"]
    bind = (bind_host or "").strip().lower()
    if bind in WILDCARD_BINDS:
        for name in (socket.gethostname(), socket.getfqdn()):
            if name:
                names.append(name.lower())
    elif bind not in LOOPBACK_BINDS and not _is_ip(bind):
        names.append(bind)
    names += [h.strip().lower() for h in (configured or "").split(",") if h.strip()]
    return list(dict.fromkeys(names))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The host of a ``Host`` header without its port (``[::1]:7860`` → ``::1``), lower-case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(header: str, patterns: Iterable[str]) -> bool:
    """True when a ``Host`` header names an IP address or a host in ``patterns`` (see
    ``allowed_hosts``); an empty or missing header is refused."""
    host = _host_name(header)
    if not host:
        return False
    if _is_ip(host):
        return True
    for p in patterns:
        if p == "*" or host == p or (p.startswith("*.") and host.endswith(p[1:])):
            return True
    return False


class HostGuard:
    """Refuse HTTP and WebSocket requests whose ``Host`` header is not allowed (``host_allowed``):
    a page on another site whose name was re-pointed at this server (DNS rebinding) cannot
    read answers or use the chat. Answered 400 ``bad_host`` with a Chinese message naming
    ``RAG_ALLOWED_HOSTS``; the app never sees the request. Like Starlette's
    ``TrustedHostMiddleware`` (same pattern syntax), but IP literals pass and the error is ours."""

    def __init__(self, app: ASGIApp, patterns: Iterable[str]):
        self.app = app
        self.patterns = list(patterns)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
            if not host_allowed(header, self.patterns):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                shown = _host_name(header)[:100] or "（空）"
                body = {
                    "error": {
                        "code": "bad_host",
                        "message": f"不接受主机名「{shown}」的访问。如这是本服务的正式地址，"
                        "请管理员把它加入 RAG_ALLOWED_HOSTS（多个用逗号分隔）后重启服务。",
                    }
                }
                await JSONResponse(body, status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class DocsKeyGuard:
    """With ``RAG_API_KEY_ALL``, the API documentation (``/docs``, ``/redoc``, ``/openapi.json``,
    under the root path too) needs the key like every other route. A browser is asked for it
    by its own login box (``WWW-Authenticate: Basic``: any user name, the key as password),
    which it then also sends for ``/openapi.json``; tools may send the usual headers. Wrong
    keys are throttled (``KeyAttempts``)."""

    PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")

    def __init__(self, app: ASGIApp, *, settings, attempts: KeyAttempts | None = None):
        self.app = app
        self.settings = settings
        self.attempts = attempts

    def _guarded(self, scope: Scope) -> bool:
        if scope["type"] != "http":
            return False
        path = scope["path"].rstrip("/") or "/"
        for root in {scope.get("root_path", ""), self.settings.root_path}:
            if root and path.startswith(root + "/"):
                path = path[len(root) :]
        return path in self.PATHS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        from .deps import supplied_key, throttled_key_error

        if self.settings.api_key and self.settings.api_key_all and self._guarded(scope):
            err = throttled_key_error(
                self.settings,
                supplied_key(Request(scope)),
                write=False,
                attempts=self.attempts,
                client=client_address(scope),
            )
            if err is not None:
                headers = {"WWW-Authenticate": 'Basic realm="rag", charset="UTF-8"'} if err.status == 401 else {}
                if err.status == 429:
                    headers["Retry-After"] = str(err.retry_after)
                message = "需要 API 密钥：用户名任意，密码填 RAG_API_KEY。" if err.status == 401 else err.message
                body = {"error": {"code": err.code, "message": message}}
                await JSONResponse(body, status_code=err.status, headers=headers)(scope, receive, send)
                return
        await self.app(scope, receive, send)


MAX_BODY_BYTES = 2 << 20  # a JSON body (question, 20 turns of history, an OpenAI conversation): far less
BODY_DEADLINE_S = 60.0  # a JSON body must arrive whole within this many seconds
IDLE_TIMEOUT_S = 30.0  # an upload may pause this long between two pieces of its body


class BodyGuard:
    """Bounded request bodies. A JSON (any non-upload) body larger than ``max_bytes`` is refused
    with 413 ``body_too_large`` (by its ``Content-Length`` before anything is read, else as soon
    as it passes the limit), and it must arrive whole within ``deadline_s`` seconds; an upload
    (``upload_paths``, size-limited by its own route while it streams) may not pause longer than
    ``idle_s`` seconds between two pieces. A slow, half-sent body is answered 408
    ``body_timeout`` and its connection closed instead of holding a worker without limit."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        upload_paths: Iterable[str] = (),
        root_path: str = "",
        max_bytes: int = MAX_BODY_BYTES,
        deadline_s: float = BODY_DEADLINE_S,
        idle_s: float = IDLE_TIMEOUT_S,
    ):
        self.app = app
        self.uploads = {f"{root}{p}" for root in {"", root_path} for p in upload_paths}
        self.max_bytes, self.deadline_s, self.idle_s = max_bytes, deadline_s, idle_s

    async def _refuse(self, scope, receive, send, status: int, code: str, message: str) -> None:
        body = {"error": {"code": code, "message": message}}
        await JSONResponse(body, status_code=status, headers={"Connection": "close"})(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if scope["path"].rstrip("/") in self.uploads:

            async def paced() -> Message:
                try:
                    return await asyncio.wait_for(receive(), self.idle_s)
                except TimeoutError:
                    return {"type": "http.disconnect"}  # the route stops reading: nothing is stored

            await self.app(scope, paced, send)
            return
        length = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(scope, receive, send, 413, "body_too_large", self._too_large())
            return
        chunks, size, more = [], 0, True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline_s
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    408,
                    "body_timeout",
                    f"请求体没有在 {self.deadline_s:g} 秒内发送完毕，请重试。",
                )
                return
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, 413, "body_too_large", self._too_large())
                return
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: waits for the client to disconnect

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"请求体太大（上限 {self.max_bytes / 1048576:g} MB）：问题请控制在 500 字以内，对话历史只需最近几轮。"


class LoginThrottle:
    """Throttle the chat's login form (Gradio's ``POST /login``, with ``RAG_API_KEY_ALL``): a
    client with too many failed attempts (``KeyAttempts``) is answered 429 before its password
    is checked; a refused login (Gradio answers 400) counts as a failure."""

    def __init__(self, app: ASGIApp, attempts: KeyAttempts, root_path: str = ""):
        self.app = app
        self.attempts = attempts
        self.paths = {f"{root}/login{end}" for root in {"", root_path} for end in ("", "/")}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        client = client_address(scope)
        wait = self.attempts.wait(client)
        if wait:
            err = self.attempts.error(wait)
            headers = {"Retry-After": str(err.retry_after), "Connection": "close"}
            await PlainTextResponse(err.message, status_code=429, headers=headers)(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (400, 401, 403):
                self.attempts.failed(client)
            await send(message)

        await self.app(scope, receive, watch)


class RedactKeys(logging.Filter):
    """Access-log filter: in the logged path, the values of query parameters that look like
    credentials (``SECRET_PARAM``: ``api_key``, ``token``…) and any value equal to one of
    ``secrets`` (the configured API key) become ``***``. Keys are never accepted in a URL, but a
    client may still put one there, and it must not end up in a log file."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def redact(self, path: str) -> str:
        if "?" not in path:
            return path
        base, _, query = path.partition("?")
        pairs = parse_qsl(query, keep_blank_values=True)
        hidden = [(k, "***" if SECRET_PARAM.search(k) or any(s in v for s in self.secrets) else v) for k, v in pairs]
        return f"{base}?{urlencode(hidden, quote_via=quote, safe='*')}"

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], self.redact(args[2]), *args[3:])
        return True


def access_log_config(api_key: str | None) -> dict:
    """uvicorn's default logging configuration with ``RedactKeys`` on the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_keys": {"()": RedactKeys, "secrets": [api_key] if api_key else []}}
    config["handlers"]["access"]["filters"] = ["redact_keys"]
    return config


__all__ = [
    "BodyGuard",
    "DocsKeyGuard",
    "HostGuard",
    "LoginThrottle",
    "RedactKeys",
    "access_log_config",
    "allowed_hosts",
    "host_allowed",
]
