"""OpenAI-compatible ``/v1`` for chat front ends (Open WebUI, Dify): ``GET /v1/models`` and
``POST /v1/chat/completions`` (plain or streamed)."""

from __future__ import annotations

import re
import time
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ...errors import RagError
from ...types import Answer
from ..deps import pipeline, read_access, settings_of
from ..errors import error_event
from ..markdown import STREAM_HOLD, answer_content, answer_markdown, references_markdown
from ..schemas import AskRequest, ChatCompletionRequest, HistoryMessage, content_text
from ..sse import HEADERS, ask_args, open_stream, sse, stream_items

MODEL_ID = "county-news-rag"  # the one "model" /v1/models lists

router = APIRouter(prefix="/v1", tags=["OpenAI 兼容"], dependencies=read_access)


def _said(content: str) -> str:
    """The answer text of an assistant message this endpoint wrote: before 参考来源, unescaped."""
    return re.sub(r"\\(.)", r"\1", content.split("参考来源：")[0]).strip()


@router.get("/models", summary="模型列表")
async def list_models() -> dict:
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "county-rag"}]}


@router.post("/chat/completions", summary="对话补全")
async def chat_completions(body: ChatCompletionRequest, request: Request):
    """The last user message is the question, the user and assistant messages before it are
    its history (an assistant message is the answer to the question before it: its 参考来源 list
    left out, its Markdown escapes undone). The content is Markdown (``rag.api.markdown``): one
    point per paragraph, then a 参考来源 list (per article its quoted sentences); Markdown and HTML
    from the archive are escaped, so they show as text, never as a link or an image. ``stream:
    true`` gives ``chat.completion.chunk`` events ending with ``data: [DONE]``."""
    msgs = [(m.role, content_text(m.content)) for m in body.messages if m.role in ("user", "assistant")]
    last = max((i for i, (role, _) in enumerate(msgs) if role == "user"), default=None)
    if last is None:
        raise RagError("messages 中没有 user 消息。", code="bad_request", status=400)
    history = [HistoryMessage(role=r, content=_said(t) if r == "assistant" else t) for r, t in msgs[:last]]
    ask_body = AskRequest(question=msgs[last][1], history=history)
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    model = body.model or MODEL_ID
    if not body.stream:
        args = ask_args(ask_body, settings_of(request))
        pipe = await pipeline(request)
        answer = await run_in_threadpool(lambda: pipe.ask(ask_body.question, args.pop("history"), **args))
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": answer_content(answer)},
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": [c.to_dict() for c in answer.citations],
        }

    gen, first = await open_stream(request, ask_body)

    def chunk(delta: dict, finish: str | None = None) -> str:
        return sse(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    async def events():
        # the content rendered so far (``answer_markdown`` of the raw text) is sent but for its
        # last STREAM_HOLD characters, which an escape may still change
        raw = sent = ""
        yield chunk({"role": "assistant", "content": ""})
        try:
            async for item in stream_items(request, gen, first):
                if isinstance(item, Answer):
                    # an LLM's final text may differ from its draft: then the draft stays as sent
                    full = answer_markdown(item.text if item.text.startswith(raw) else raw)
                    rest = full[len(sent) :] if full.startswith(sent) else ""
                    tail = rest + references_markdown(item)
                    if tail:
                        yield chunk({"content": tail})
                    yield chunk({}, "stop")
                    break
                raw += item
                full = answer_markdown(raw)
                upto = len(full) - STREAM_HOLD
                if upto > len(sent) and full.startswith(sent):
                    yield chunk({"content": full[len(sent) : upto]})
                    sent = full[:upto]
        except Exception as exc:  # noqa: BLE001
            full = answer_markdown(raw)  # what was held back of the text before the error
            if full.startswith(sent) and len(full) > len(sent):
                yield chunk({"content": full[len(sent) :]})
            yield sse(error_event(exc))
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers=HEADERS)
