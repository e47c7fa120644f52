"""``POST /api/ask`` and ``POST /api/ask/stream`` (Server-Sent Events)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ...types import Answer
from ..deps import pipeline, read_access, settings_of
from ..errors import error_event
from ..schemas import AskRequest
from ..sse import HEADERS, ask_args, open_stream, sse, stream_items

router = APIRouter(prefix="/api", tags=["问答"], dependencies=read_access)


@router.post("/ask", summary="提问（带引用的答案）")
async def ask(body: AskRequest, request: Request) -> dict:
    """Returns exactly ``Answer.to_dict()``: the same JSON as ``rag ask --json``."""
    args = ask_args(body, settings_of(request))
    pipe = await pipeline(request)
    answer = await run_in_threadpool(lambda: pipe.ask(body.question, args.pop("history"), **args))
    return answer.to_dict()


@router.post(
    "/ask/stream",
    summary="提问（SSE 流式）",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": '`event: delta` / `data: {"text"}` 若干，最后 `event: final` / 完整答案',
        }
    },
)
async def ask_stream_route(body: AskRequest, request: Request):
    """Server-Sent Events: ``delta`` events ``{"text": piece}``, then one ``final`` event
    with ``Answer.to_dict()`` (authoritative); ``error`` ``{"error": …}`` if it fails midway."""
    gen, first = await open_stream(request, body)

    async def events():
        try:
            async for item in stream_items(request, gen, first):
                if isinstance(item, Answer):
                    yield sse(item.to_dict(), "final")
                    return
                yield sse({"text": item}, "delta")
        except Exception as exc:  # noqa: BLE001 - reported to the client as an SSE error
            yield sse(error_event(exc), "error")

    return StreamingResponse(events(), media_type="text/event-stream", headers=HEADERS)
