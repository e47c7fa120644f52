"""Server-Sent Events over the blocking answer stream (``rag.stream.ask_stream``)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ..service import make_filters
from ..settings import Settings
from ..stream import ask_stream
from ..timeref import parse_day
from .deps import pipeline, settings_of
from .schemas import AskRequest, history_turns

log = logging.getLogger("rag.api")

END = object()  # sentinel: the blocking stream is exhausted
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(data: Any, event: str | None = None) -> str:
    """One SSE frame: ``event: <event>\\ndata: <json>\\n\\n`` (a str payload is sent as is)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"


def ask_args(body: AskRequest, settings: Settings) -> dict:
    """``Pipeline.ask`` keyword arguments of an ask body. raises RagError(bad_date, 422): a bad
    ``date_from``/``date_to``/``as_of``."""
    return {
        "history": history_turns(body.history),
        "top_k": body.top_k or settings.top_k,
        "filters": make_filters(body.date_from, body.date_to),
        "as_of": parse_day(body.as_of),
    }


async def open_stream(request: Request, body: AskRequest) -> tuple[Iterator, Any]:
    """Start a stream and take its first item, so a bad question or a store outage is an
    ordinary JSON error response, not an error inside an open stream."""
    args = ask_args(body, settings_of(request))
    pipe = await pipeline(request)
    gen = ask_stream(pipe, body.question, args.pop("history"), **args)
    try:
        first = await run_in_threadpool(next, gen, END)
    except BaseException:
        gen.close()
        raise
    return gen, first


async def stream_items(request: Request, gen: Iterator, first: Any) -> AsyncIterator[Any]:
    """Async-iterate a blocking stream: each ``next()`` in a worker thread, ``first`` already
    taken. Stops (and closes the stream, so its work stops) when the client disconnects."""
    item = first
    try:
        while item is not END:
            yield item
            if await request.is_disconnected():
                log.info("client disconnected; stream stopped")
                return
            item = await run_in_threadpool(next, gen, END)
    finally:
        gen.close()
