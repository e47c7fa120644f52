"""Error responses of the API: every error is ``{"error": {"code", "message"}}`` with the
HTTP status of the ``RagError`` (``rag.errors``); a request that fails validation is 422
``bad_request`` with a Chinese description; anything unexpected is 500 ``internal_error``
with no traceback in the body (it is logged)."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import RagError
from ..service import INTERNAL_ERROR_MESSAGE

log = logging.getLogger("rag.api")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "file_too_large",
    415: "unsupported_type",
    422: "bad_request",
    429: "too_many_requests",
}

_VALIDATION_TEXT = {
    "missing": "缺少此字段",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "json_invalid": "不是合法的 JSON",
    "too_short": "不能为空",
    "less_than_equal": "不能大于 {le}",
    "greater_than_equal": "不能小于 {ge}",
    "model_attributes_type": "应为 JSON 对象",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "string_too_long": "太长（最多 {max_length} 字）",
    "literal_error": "取值应为以下之一：{expected}",
    "extra_forbidden": "不认识此字段",
}


def validation_text(err: dict) -> str:
    """A Chinese phrase for a pydantic validation error (never pydantic's English text)."""
    template = _VALIDATION_TEXT.get(err.get("type", ""), "取值不合法")
    ctx = dict(err.get("ctx") or {})
    if "expected" in ctx:  # pydantic writes "'useful' or 'wrong'"
        ctx["expected"] = "、".join(re.findall(r"'([^']*)'", str(ctx["expected"]))) or ctx["expected"]
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return "取值不合法"


def error_event(exc: BaseException) -> dict:
    """The ``{"error": …}`` body for an error raised inside an open stream (logged when unexpected)."""
    if isinstance(exc, RagError):
        return exc.to_dict()
    log.exception("error while streaming", exc_info=exc)
    return {"error": {"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE}}


async def rag_error(request: Request, exc: RagError) -> JSONResponse:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if exc.status == 413:  # stop the upload: without it the server would drain the rest of the body
        headers["Connection"] = "close"
    if getattr(exc, "retry_after", None):  # 429 too_many_attempts
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers or None)


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    texts: dict[str, list[str]] = {}
    for err in exc.errors()[:6]:
        loc = "请求体" if err.get("type") == "json_invalid" else _field_path(err.get("loc", ()))
        text = validation_text(err)  # json_invalid's loc is a byte offset: not shown
        if tuple(err.get("loc", ())) == ("body",) and err.get("type") == "model_attributes_type":
            text += "（请求头需带 Content-Type: application/json）"
        if text not in texts.setdefault(loc, []):
            texts[loc].append(text)
    parts = [f"{loc}：{'，或'.join(t)}" for loc, t in list(texts.items())[:3]]
    message = "请求格式不正确：" + "；".join(parts)
    return JSONResponse({"error": {"code": "bad_request", "message": message}}, status_code=422)


def _field_path(loc) -> str:
    """A validation error's location as the field path a client wrote (``history.0``), without
    "body" and without the names pydantic gives the members of a union (``str``,
    ``HistoryMessage``), which are the server's type names, not fields."""
    keep = [
        str(x)
        for x in loc
        if x != "body" and not (isinstance(x, str) and (x in _TYPE_NAMES or x[:1].isupper() or "[" in x))
    ]
    return ".".join(keep) or "请求体"


_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "list", "dict", "none", "bytes"})


# what staff read for the framework's own errors (their ``detail`` is English: "There was an
# error parsing the body" for a body that is not UTF-8 or nests too deep, "Not Found"…)
HTTP_MESSAGES = {
    400: "请求体无法解析：请发送 UTF-8 编码的 JSON（对象和列表不要嵌套过深）。",
    401: "需要登录或 API 密钥。",
    403: "没有权限。",
    404: "接口不存在。",
    405: "不支持该请求方法。",
    413: "请求体太大。",
    415: "不支持该请求类型。",
    429: "请求过于频繁，请稍后再试。",
}


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = STATUS_CODES.get(exc.status_code, "http_error")
    message = HTTP_MESSAGES.get(exc.status_code, f"请求无法处理（HTTP {exc.status_code}）。")
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": {"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE}}, status_code=500)


class InternalErrorGuard:
    """Answer an unexpected exception with the 500 ``internal_error`` JSON (logged once) and keep
    the connection open. Starlette's outermost error middleware would answer the same but then
    re-raise, and uvicorn closes a connection whose application raised, so a keep-alive client
    would find its connection reset. An exception after the response began is left to
    propagate (the response cannot be replaced then)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            log.error("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            body = {"error": {"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE}}
            await JSONResponse(body, status_code=500)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers above on ``app`` (and ``InternalErrorGuard``, innermost
    of the middleware added by us)."""
    app.add_middleware(InternalErrorGuard)
    app.add_exception_handler(RagError, rag_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)
