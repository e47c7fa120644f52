"""HTTP API (FastAPI) with the staff chat (Gradio, ``ui/app.py``) mounted at ``/``: one server.

A thin layer over ``rag.pipeline.Pipeline``, like the CLI. Routes:

- ``POST /api/ask``: ``Answer.to_dict()`` (the JSON of ``rag ask --json``)
- ``POST /api/ask/stream``: Server-Sent Events, ``delta`` pieces then one ``final`` Answer
- ``GET/POST /api/documents``, ``DELETE /api/documents/{name}``: list, upload, delete
- ``GET /api/health``: version, embedder, counts
- ``POST /v1/chat/completions``, ``GET /v1/models``: OpenAI-compatible, for chat front ends
- ``/docs``: OpenAPI documentation

Errors are always ``{"error": {"code", "message"}}`` with the HTTP status of the
``RagError`` (see ``rag.errors``); a request that fails validation is 422 ``bad_request``;
anything unexpected is 500 ``internal_error`` with no traceback in the body (it is logged).
Blocking work (embedding, Chroma, parsing) runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import uuid
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import Any, AsyncIterator, Callable, Iterator
from urllib.parse import unquote

from fastapi import Depends, FastAPI, Request
from fastapi_offline import FastAPIOffline
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .errors import RagError, StoreError
from .settings import Settings, build_pipeline
from .stream import ask_stream
from .types import Answer

log = logging.getLogger("rag.api")

MODEL_ID = "county-news-rag"  # the one "model" /v1/models lists
INTERNAL_ERROR_MESSAGE = "服务器内部错误，请稍后重试。"
UPLOAD_SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm", ".jsonl")
_MULTIPART_SLACK = 64 * 1024  # bytes of multipart framing allowed on top of the file size limit
_STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "file_too_large", 415: "unsupported_type",
                 422: "bad_request", 429: "too_many_requests"}


# -- shared by the API and the chat UI ------------------------------------------------------------
class PipelineHolder:
    """The server's one pipeline, built once, lazily retried while the store is unavailable.

    builder: ``Settings -> Pipeline`` (default ``build_pipeline``).
    ``get()`` returns the pipeline, building it on first use; when building fails (Chroma
    server down, embedder mismatch) the ``RagError`` is raised to the caller (API: 503/409)
    and the next ``get()`` tries again, so the server recovers without a restart.
    write_lock: held around ingests and deletions so two writers never interleave.
    """

    def __init__(self, settings: Settings, pipeline=None, builder: Callable[[Settings], Any] = build_pipeline):
        self.settings = settings
        self._pipeline = pipeline
        self._builder = builder
        self._lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.last_error: RagError | None = None

    @property
    def ready(self) -> bool:
        return self._pipeline is not None

    def get(self):
        """The pipeline. Blocking (may load the embedder): call from a worker thread.

        raises StoreError / EmbedderMismatchError: the store cannot be opened right now.
        """
        if self._pipeline is not None:
            return self._pipeline
        with self._lock:
            if self._pipeline is None:
                try:
                    self._pipeline = self._builder(self.settings)
                except RagError as exc:
                    self.last_error = exc
                    raise
                self.last_error = None
                log.info("pipeline ready (embedder %s)", self._pipeline.embedder.id)
        return self._pipeline


def make_filters(date_from: str | None = None, date_to: str | None = None):
    """``Filters`` for a date range (ISO ``YYYY-MM-DD``, inclusive; blank = open), or None.

    raises RagError(bad_date, 422): a date that is not ``YYYY-MM-DD``.
    """
    from .retrieve import Filters

    date_from = (date_from or "").strip() or None
    date_to = (date_to or "").strip() or None
    if not date_from and not date_to:
        return None
    filters = Filters(date_from=date_from, date_to=date_to)
    try:
        filters.where()
    except ValueError as exc:
        raise RagError(str(exc), code="bad_date", status=422) from None
    return filters


def normalise_upload_name(name: str) -> str:
    """The ``source`` name of an upload: the client's file name without any directory part
    (``/``, ``\\``, ``..``, drive letters stripped), NFC-normalised, control characters
    removed, at most 200 characters (the suffix kept).

    raises RagError(bad_filename, 400): nothing usable is left (e.g. ``".."`` or ``""``).
    """
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    name = PurePosixPath(name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".").strip()
    if not name or name in (".", ".."):
        raise RagError("文件名无效，请重命名后再上传。", code="bad_filename", status=400)
    if len(name) > 200:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: 200 - len(suffix)] + suffix
    return name


def check_upload_suffix(name: str) -> str:
    """The lower-case suffix of an upload name. raises RagError(unsupported_type, 415)."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise RagError(f"不支持的文件类型「{suffix or '无扩展名'}」：{name}。支持的类型：{'、'.join(UPLOAD_SUFFIXES)}。",
                       code="unsupported_type", status=415)
    return suffix


def key_matches(supplied: str | None, expected: str) -> bool:
    """Constant-time comparison of an API key (``hmac.compare_digest`` on UTF-8 bytes)."""
    return supplied is not None and hmac.compare_digest(supplied.encode("utf-8"), expected.encode("utf-8"))


def too_large_error(max_mb: float) -> RagError:
    return RagError(f"文件太大：上传上限为 {max_mb:g} MB，请拆分后再上传。", code="file_too_large", status=413)


def disk_error(exc: OSError) -> RagError:
    """An upload that could not be saved in the data dir: a full disk is 507 ``store_full``, a
    read-only one 503 ``store_readonly`` (the codes an ingest reports), anything else 500
    ``upload_failed`` (the OS reason only, never a path)."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError("数据目录所在磁盘已满，无法保存上传的文件；已有数据未受影响。", code="store_full", status=507)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError("数据目录为只读，无法保存上传的文件；已有数据未受影响。", code="store_readonly")
    return RagError(f"无法保存上传的文件（{exc.strerror or '系统错误'}），请稍后重试。", code="upload_failed", status=500)


def ingest_upload(holder: PipelineHolder, path: Path, name: str):
    """Ingest one uploaded file as document ``name`` (a normalised upload name), under the
    holder's write lock. Blocking. Returns the ``IngestReport``."""
    pipe = holder.get()
    with holder.write_lock:
        return pipe.ingest_file(Path(path), source=name)


def delete_document(holder: PipelineHolder, name: str) -> int:
    """Delete a document by source name (or an article by id). Blocking.
    raises NotFoundError (404): nothing matched."""
    pipe = holder.get()
    with holder.write_lock:
        return pipe.delete_document(unicodedata.normalize("NFC", name))


def citation_lines(answer: Answer) -> str:
    """The reference list appended to OpenAI-style answers ("" when there are no citations):
    ``\\n\\n参考来源：\\n[1] 《title》 date author``."""
    if not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        meta = " ".join(x for x in (c.date, c.author) if x)
        lines.append(f"[{c.n}] 《{c.title}》 {meta}".rstrip())
    return "\n\n参考来源：\n" + "\n".join(lines)


def _without_credentials(value: str) -> str:
    """A URL with any ``user:password@`` part removed (other strings unchanged)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(value)
    if parts.scheme and "@" in parts.netloc:
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return value


# -- request bodies -----------------------------------------------------------------------------
class HistoryMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = None


class AskRequest(BaseModel):
    """Body of ``POST /api/ask`` and ``/api/ask/stream``."""

    question: str = Field(description="问题（1–500 字）")
    history: list[str | HistoryMessage] = Field(
        default_factory=list,
        description="之前的提问，按先后顺序；字符串或 OpenAI 形式的 {role, content}（只用 user 的内容）")
    top_k: int | None = Field(default=None, ge=1, le=20, description="检索的段落数（默认 RAG_TOP_K）")
    date_from: str | None = Field(default=None, description="起始日期 YYYY-MM-DD（含）")
    date_to: str | None = Field(default=None, description="截止日期 YYYY-MM-DD（含）")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI ``/v1/chat/completions`` body; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def _content_text(content: str | list[dict[str, Any]] | None) -> str:
    """Text of an OpenAI/Gradio message content: a string, or the text parts of a list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type", "text") == "text")


def _history_texts(items: list[str | HistoryMessage]) -> list[str]:
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif item.role == "user":
            out.append(_content_text(item.content))
    return out


_VALIDATION_TEXT = {
    "missing": "缺少此字段", "string_type": "应为字符串", "int_type": "应为整数", "int_parsing": "应为整数",
    "bool_type": "应为 true 或 false", "bool_parsing": "应为 true 或 false", "list_type": "应为列表",
    "dict_type": "应为对象", "model_type": "应为对象", "json_invalid": "不是合法的 JSON",
    "too_short": "不能为空", "less_than_equal": "不能大于 {le}", "greater_than_equal": "不能小于 {ge}",
    "model_attributes_type": "应为 JSON 对象",
    "float_type": "应为数字", "float_parsing": "应为数字", "string_too_long": "太长（最多 {max_length} 字）",
    "literal_error": "取值应为 {expected}", "extra_forbidden": "不认识此字段",
}


def _validation_text(err: dict) -> str:
    """A Chinese phrase for a pydantic validation error (never pydantic's English text)."""
    template = _VALIDATION_TEXT.get(err.get("type", ""), "取值不合法")
    try:
        return template.format(**(err.get("ctx") or {}))
    except (KeyError, IndexError):
        return "取值不合法"


# -- SSE helpers ----------------------------------------------------------------------------------
def _sse(data: Any, event: str | None = None) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"


_END = object()


async def _stream_items(request: Request, gen: Iterator, first: Any) -> AsyncIterator[Any]:
    """Async-iterate a blocking stream: each ``next()`` in a worker thread, ``first`` already
    taken. Stops (and closes the stream, so its work stops) when the client disconnects."""
    item = first
    try:
        while item is not _END:
            yield item
            if await request.is_disconnected():
                log.info("client disconnected; stream stopped")
                return
            item = await run_in_threadpool(next, gen, _END)
    finally:
        gen.close()


def _sse_headers() -> dict[str, str]:
    return {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _error_event(exc: BaseException) -> dict:
    if isinstance(exc, RagError):
        return exc.to_dict()
    log.exception("error while streaming", exc_info=exc)
    return {"error": {"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE}}


# -- the app ------------------------------------------------------------------------------------
def create_app(settings: Settings | None = None, pipeline=None, *, ui: bool = True,
               builder: Callable[[Settings], Any] = build_pipeline) -> FastAPI:
    """The server: API routes, OpenAPI docs at ``/docs``, the chat UI at ``/`` (``ui=True``).

    settings: read once by the caller (default ``Settings()`` from ``RAG_*``).
    pipeline: a ready pipeline (tests); default: built at startup with ``builder(settings)``.
        If the store cannot be opened then, the server still starts, answers 503 with the
        JSON error, and retries on later requests.
    """
    settings = settings or Settings()
    holder = PipelineHolder(settings, pipeline, builder)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if not holder.ready:
            try:
                pipe = await run_in_threadpool(holder.get)
                await run_in_threadpool(pipe.embedder.embed_query, "预热")  # load the model now, not on the first question
            except RagError as exc:
                log.warning("store unavailable at startup (%s: %s); will retry on the next request",
                            exc.code, exc.message)
        yield

    # FastAPIOffline serves the /docs and /redoc assets from the package, not from a CDN:
    # the intranet has no internet
    app = FastAPIOffline(
        title="县域新闻档案问答 API",
        version=__version__,
        description="带引用的新闻档案问答。错误统一为 `{\"error\": {\"code\", \"message\"}}`。"
                    "聊天界面在 `/`，OpenAI 兼容接口在 `/v1`。",
        lifespan=lifespan,
    )
    app.state.holder = holder
    app.state.settings = settings

    # -- errors -----------------------------------------------------------------------------
    @app.exception_handler(RagError)
    async def _rag_error(request: Request, exc: RagError):
        headers = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if exc.status == 413:  # stop the upload: without it the server would drain the rest of the body
            headers["Connection"] = "close"
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "请求体"
            text = _validation_text(err)
            if tuple(err.get("loc", ())) == ("body",) and err.get("type") == "model_attributes_type":
                text += "（请求头需带 Content-Type: application/json）"
            parts.append(f"{loc}：{text}")
        message = "请求格式不正确：" + "；".join(parts)
        return JSONResponse({"error": {"code": "bad_request", "message": message}}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        message = {404: "接口不存在。", 405: "不支持该请求方法。"}.get(exc.status_code, str(exc.detail))
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": {"code": "internal_error", "message": INTERNAL_ERROR_MESSAGE}}, status_code=500)

    # -- API key ----------------------------------------------------------------------------
    def require_key(write: bool) -> Callable[[Request], None]:
        def check(request: Request) -> None:
            if not settings.api_key or not (write or settings.api_key_all):
                return
            supplied = request.headers.get("x-api-key")
            auth = request.headers.get("authorization", "")
            if supplied is None and auth[:7].lower() == "bearer ":
                supplied = auth[7:].strip()
            if not supplied:
                raise RagError("需要 API 密钥：请在请求头加入 `Authorization: Bearer <密钥>` 或 `X-API-Key: <密钥>`。",
                               code="unauthorized", status=401)
            if not key_matches(supplied, settings.api_key):
                raise RagError("API 密钥不正确。", code="forbidden", status=403)

        return check

    read_access = [Depends(require_key(write=False))]
    write_access = [Depends(require_key(write=True))]

    async def _pipeline():
        return await run_in_threadpool(holder.get)

    # -- health -----------------------------------------------------------------------------
    @app.get("/api/health", dependencies=read_access, tags=["系统"], summary="服务状态")
    async def health():
        pipe = await _pipeline()

        def counts():
            return pipe.store.count(), pipe.store.article_count(), len(pipe.documents())

        chunks, articles, documents = await run_in_threadpool(counts)
        body = {"status": "ok", "version": __version__, "embedder": pipe.embedder.id,
                "chunks": chunks, "articles": articles, "documents": documents}
        for name in ("llm", "llm_model", "llm_base_url"):  # whatever LLM settings exist; never a key
            value = getattr(settings, name, None)
            if value and str(value).lower() not in ("none", "off"):
                body[name] = _without_credentials(str(value))
        return body

    # -- ask --------------------------------------------------------------------------------
    def _ask_args(body: AskRequest) -> dict:
        return {"history": _history_texts(body.history), "top_k": body.top_k or settings.top_k,
                "filters": make_filters(body.date_from, body.date_to)}

    @app.post("/api/ask", dependencies=read_access, tags=["问答"], summary="提问（带引用的答案）")
    async def ask(body: AskRequest) -> dict:
        """Returns exactly ``Answer.to_dict()``: the same JSON as ``rag ask --json``."""
        args = _ask_args(body)
        pipe = await _pipeline()
        answer = await run_in_threadpool(lambda: pipe.ask(body.question, args["history"], top_k=args["top_k"],
                                                          filters=args["filters"]))
        return answer.to_dict()

    async def _open_stream(body: AskRequest) -> tuple[Iterator, Any]:
        """Start a stream and take its first item, so a bad question or a store outage is
        an ordinary JSON error response, not an error inside an open stream."""
        args = _ask_args(body)
        pipe = await _pipeline()
        gen = ask_stream(pipe, body.question, args["history"], top_k=args["top_k"], filters=args["filters"])
        try:
            first = await run_in_threadpool(next, gen, _END)
        except BaseException:
            gen.close()
            raise
        return gen, first

    @app.post("/api/ask/stream", dependencies=read_access, tags=["问答"], summary="提问（SSE 流式）",
              response_class=StreamingResponse,
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "`event: delta` / `data: {\"text\"}` 若干，最后 `event: final` / 完整答案"}})
    async def ask_stream_route(body: AskRequest, request: Request):
        """Server-Sent Events: ``delta`` events ``{"text": piece}``, then one ``final`` event
        with ``Answer.to_dict()`` (authoritative); ``error`` ``{"error": …}`` if it fails midway."""
        gen, first = await _open_stream(body)

        async def events():
            try:
                async for item in _stream_items(request, gen, first):
                    if isinstance(item, Answer):
                        yield _sse(item.to_dict(), "final")
                        return
                    yield _sse({"text": item}, "delta")
            except Exception as exc:  # noqa: BLE001 - reported to the client as an SSE error
                yield _sse(_error_event(exc), "error")

        return StreamingResponse(events(), media_type="text/event-stream", headers=_sse_headers())

    # -- documents --------------------------------------------------------------------------
    @app.get("/api/documents", dependencies=read_access, tags=["文档"], summary="已导入的文档")
    async def list_documents() -> list[dict]:
        """Same JSON as ``rag docs list --json``: ``source``, ``articles``, ``chunks``, ``titles``."""
        pipe = await _pipeline()
        docs = await run_in_threadpool(pipe.documents)
        return [dict(d.__dict__) for d in docs]

    @app.post("/api/documents", dependencies=write_access, tags=["文档"], summary="上传并导入一个文件",
              openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                  "type": "object", "required": ["file"],
                  "properties": {"file": {"type": "string", "format": "binary",
                                          "description": "；".join(UPLOAD_SUFFIXES)}}}}}}})
    async def upload_document(request: Request) -> dict:
        """Multipart upload (one file). The file is saved under a generated name in a temp
        dir inside the data dir, ingested as document ``<file name>``, then deleted.
        Returns the ``IngestReport`` dict plus ``source``; the same file again → ``unchanged``.
        413 above ``RAG_MAX_UPLOAD_MB``; 415 for an unsupported type; 422 when nothing in
        the file could be imported (the parse error)."""
        upload_root = settings.data_dir / "uploads"
        try:
            await run_in_threadpool(upload_root.mkdir, parents=True, exist_ok=True)
            tmp_dir = Path(await run_in_threadpool(tempfile.mkdtemp, "", "upload-", str(upload_root)))
        except OSError as exc:
            raise disk_error(exc) from None
        try:
            name, path = await receive_upload(request, tmp_dir, settings.max_upload_mb)
            report = await run_in_threadpool(ingest_upload, holder, path, name)
        finally:
            await run_in_threadpool(shutil.rmtree, tmp_dir, True)
        stored = report.articles + report.duplicates
        if report.errors and not stored:
            first = report.errors[0]
            status = 404 if first["code"] == "not_found" else 422
            raise RagError(first["message"], code=first["code"], status=status)
        return {"source": name, **report.to_dict()}

    @app.delete("/api/documents/{name:path}", dependencies=write_access, tags=["文档"], summary="删除一个文档")
    async def remove_document(name: str) -> dict:
        """Delete every chunk of document ``name`` (URL-encoded source name, or an article id).
        404 when nothing matched."""
        deleted = await run_in_threadpool(delete_document, holder, name)
        return {"name": name, "deleted": deleted}

    # -- OpenAI-compatible ------------------------------------------------------------------
    @app.get("/v1/models", dependencies=read_access, tags=["OpenAI 兼容"], summary="模型列表")
    async def list_models() -> dict:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "county-rag"}]}

    @app.post("/v1/chat/completions", dependencies=read_access, tags=["OpenAI 兼容"], summary="对话补全")
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        """The last user message is the question, earlier user messages are its history;
        citations are appended to the content as a 参考来源 list. ``stream: true`` gives
        ``chat.completion.chunk`` events ending with ``data: [DONE]``."""
        users = [_content_text(m.content) for m in body.messages if m.role == "user"]
        if not users:
            raise RagError("messages 中没有 user 消息。", code="bad_request", status=400)
        ask_body = AskRequest(question=users[-1], history=users[:-1])
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        model = body.model or MODEL_ID
        if not body.stream:
            args = _ask_args(ask_body)
            pipe = await _pipeline()
            answer = await run_in_threadpool(lambda: pipe.ask(ask_body.question, args["history"],
                                                              top_k=args["top_k"], filters=args["filters"]))
            return {
                "id": completion_id, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer.text + citation_lines(answer)}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "citations": [c.to_dict() for c in answer.citations],
            }

        gen, first = await _open_stream(ask_body)

        def chunk(delta: dict, finish: str | None = None) -> str:
            return _sse({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        async def events():
            streamed = ""
            yield chunk({"role": "assistant", "content": ""})
            try:
                async for item in _stream_items(request, gen, first):
                    if isinstance(item, Answer):
                        rest = item.text[len(streamed):] if item.text.startswith(streamed) else ""
                        tail = rest + citation_lines(item)
                        if tail:
                            yield chunk({"content": tail})
                        yield chunk({}, "stop")
                        break
                    streamed += item
                    yield chunk({"content": item})
            except Exception as exc:  # noqa: BLE001
                yield _sse(_error_event(exc))
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream", headers=_sse_headers())

    # unknown /api and /v1 paths get a JSON 404 here instead of falling through to the UI
    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def _unknown(rest: str):
        raise StarletteHTTPException(404)

    if ui:
        from ui.app import mount_ui

        mount_ui(app, holder, settings, path="/")
    return app


# -- multipart upload, size-limited while reading --------------------------------------------------
async def receive_upload(request: Request, dest_dir: Path, max_mb: float) -> tuple[str, Path]:
    """Stream the first file part of a multipart request into ``dest_dir`` under a generated
    name (the client's name is never used as a path). Returns ``(normalised name, path)``.

    The size limit is enforced while the body is read: reading stops as soon as the file
    passes ``max_mb`` megabytes (MiB), or at once when Content-Length already says so.
    raises RagError: 400 (not multipart / no file / bad name), 413 (too large), 415 (type).
    """
    from python_multipart import MultipartParser
    from python_multipart.multipart import parse_options_header

    max_bytes = int(max_mb * 1024 * 1024)
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise RagError("请用 multipart/form-data 上传文件（字段名 file）。", code="bad_request", status=400)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + _MULTIPART_SLACK:
        raise too_large_error(max_mb)

    state: dict[str, Any] = {"headers": {}, "field": b"", "value": b"", "file": None, "size": 0,
                             "name": None, "path": None, "done": False, "in_file": False}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        disposition = state["headers"].get(b"content-disposition", b"")
        state["headers"] = {}
        raw_name = _upload_filename(disposition)
        if raw_name is None or state["done"]:  # a plain form field, or a second file: skipped
            return
        name = normalise_upload_name(raw_name)
        suffix = check_upload_suffix(name)
        state["name"] = name
        state["path"] = dest_dir / f"{uuid.uuid4().hex}{suffix}"
        state["file"] = open(state["path"], "wb")  # noqa: SIM115 - closed in on_part_end / finally
        state["in_file"] = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if not state["in_file"]:
            return
        state["size"] += end - start
        if state["size"] > max_bytes:
            raise too_large_error(max_mb)
        state["file"].write(data[start:end])

    def on_part_end() -> None:
        if state["in_file"]:
            state["file"].close()
            state["in_file"] = False
            state["done"] = True

    parser = MultipartParser(params[b"boundary"], {
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)  # file writes are small (one network chunk) and go to local disk
        parser.finalize()
    except RagError:
        raise
    except OSError as exc:  # saving the part failed: a full or read-only data dir
        raise disk_error(exc) from None
    except Exception as exc:  # noqa: BLE001 - a malformed body
        raise RagError(f"上传内容格式不正确：{exc}", code="bad_request", status=400) from None
    finally:
        if state["file"] is not None and not state["file"].closed:
            state["file"].close()
    if not state["done"]:
        raise RagError("请求中没有文件：请用字段名 file 上传一个文件。", code="bad_request", status=400)
    return state["name"], state["path"]


def _upload_filename(disposition: bytes) -> str | None:
    """The client's file name from a Content-Disposition header (``filename*`` preferred), or
    None when the part is not a file."""
    from python_multipart.multipart import parse_options_header

    m = re.search(rb"filename\*\s*=\s*([^;]+)", disposition)
    if m:
        value = m.group(1).strip().strip(b'"').decode("latin-1")
        charset, _, encoded = value.partition("'")
        _lang, _, encoded = encoded.partition("'")
        try:
            return unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass
    _, options = parse_options_header(disposition)
    raw = options.get(b"filename")
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# -- running it -------------------------------------------------------------------------------------
def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860, log_level: str = "info") -> None:
    """Run the server (API + chat UI) with uvicorn until interrupted. Binds to ``host``
    (loopback by default; pass ``0.0.0.0`` to serve the network)."""
    import uvicorn

    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"聊天界面：http://{shown}:{port}/    API 文档：http://{shown}:{port}/docs", flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)


__all__ = ["create_app", "serve", "PipelineHolder", "make_filters", "normalise_upload_name", "MODEL_ID"]
