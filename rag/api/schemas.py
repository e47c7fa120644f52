"""Request bodies of the API (pydantic models) and helpers to read message contents."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def usv(value: Any) -> Any:
    """``value`` (parsed JSON) with every lone surrogate in its strings replaced by U+FFFD, as
    the WHATWG Infra standard converts a string to a scalar value string (USVString). JSON may
    carry ``"\\ud800"`` escapes that are no Unicode text: they could not be written to a file or
    sent back as UTF-8."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [usv(v) for v in value]
    if isinstance(value, dict):
        return {usv(k): usv(v) for k, v in value.items()}
    return value


class Body(BaseModel):
    """A request body: strings are scalar value strings (``usv``) before validation."""

    @model_validator(mode="before")
    @classmethod
    def _scalar_values(cls, data: Any) -> Any:
        return usv(data)


class HistoryMessage(BaseModel):
    """One earlier message: ``user`` (a question) or ``assistant`` (the answer to the question
    before it, as returned in ``answer``; citation markers may stay). Other roles are ignored."""

    role: str = Field(description="user 或 assistant")
    content: str | list[dict[str, Any]] | None = None


class AskRequest(Body):
    """Body of ``POST /api/ask`` and ``/api/ask/stream``."""

    question: str = Field(description="问题（1–500 字）")
    history: list[str | HistoryMessage] = Field(
        default_factory=list,
        description=(
            "之前的对话，按先后顺序：字符串为用户的提问；或 OpenAI 形式的 {role, content}，"
            "role 为 user（提问）或 assistant（对上一个提问的回答，用于解析“他”“那里”等指代）"
        ),
        examples=[
            ["县教育局局长是谁？"],
            [{"role": "user", "content": "县教育局局长是谁？"}, {"role": "assistant", "content": "张维华。[1]"}],
        ],
    )
    top_k: int | None = Field(default=None, ge=1, le=20, description="检索的段落数（默认 RAG_TOP_K）")
    date_from: str | None = Field(default=None, description="起始日期 YYYY-MM-DD（含）")
    date_to: str | None = Field(default=None, description="截止日期 YYYY-MM-DD（含）")
    as_of: str | None = Field(
        default=None,
        description="“今天”是哪一天 YYYY-MM-DD：今年、去年、上个月等按此推算（默认服务器日期或 RAG_TODAY）",
    )


class FeedbackRequest(Body):
    """Body of ``POST /api/feedback``: the answer ``POST /api/ask`` returned, plus the vote."""

    model_config = ConfigDict(extra="ignore")
    vote: Literal["useful", "wrong"] = Field(description="useful（有用）或 wrong（有误）")
    question: str = Field(description="问题（原样）")
    answer: str = Field(default="", description="显示给用户的答案文本")
    standalone_question: str | None = Field(
        default=None, description="实际检索的问题（/api/ask 返回的 standalone_question）"
    )
    abstained: bool = False
    citations: list[dict[str, Any]] = Field(default_factory=list, description="/api/ask 返回的 citations")
    history: list[str | HistoryMessage] = Field(default_factory=list, description="之前的提问，同 /api/ask")
    comment: str = Field(default="", description="补充说明（可选，最多 2000 字）")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(Body):
    """OpenAI ``/v1/chat/completions`` body; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


def content_text(content: str | list[dict[str, Any]] | None) -> str:
    """Text of an OpenAI/Gradio message content: a string, or the text parts of a list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type", "text") == "text")


def history_texts(items: list[str | HistoryMessage]) -> list[str]:
    """The earlier user questions of a ``history`` list, oldest first."""
    out = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif item.role == "user":
            out.append(content_text(item.content))
    return out


def history_turns(items: list[str | HistoryMessage]) -> list[str | dict]:
    """A ``history`` list for ``Pipeline.ask``: strings (user questions) as they are, messages
    as ``{"role", "content": str}`` (user and assistant; other roles dropped)."""
    return [
        item if isinstance(item, str) else {"role": item.role, "content": content_text(item.content)}
        for item in items
        if isinstance(item, str) or item.role in ("user", "assistant")
    ]
