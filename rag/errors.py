"""Errors with a stable machine code (for tools) and a Chinese message (for staff).

Every error the library raises on bad input or a fault is a ``RagError``; entry points
turn it into ``{"error": {"code", "message"}}`` (API), a red line (CLI) or a chat notice
(UI). Codes are part of the public contract: never rename one.
"""

from __future__ import annotations


class RagError(Exception):
    """Base error. ``code``: stable snake_case id; ``message``: Chinese text for staff;
    ``status``: the HTTP status an API should answer with."""

    code = "rag_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class ParseError(RagError):
    """A file could not be read into articles (empty, binary, undecodable, corrupt, unsupported).

    Codes: ``empty_file``, ``binary_file``, ``decode_error``, ``unsupported_type``,
    ``corrupt_document``, ``file_too_large``, ``bad_jsonl_line``, ``no_text``.
    """

    code = "parse_error"
    status = 422


class QuestionError(RagError):
    """The question cannot be answered as asked. Codes: ``empty_question``, ``question_too_long``."""

    code = "bad_question"
    status = 422


class EmbedderMismatchError(RagError):
    """The collection was built with another embedder (different id or dimension)."""

    code = "embedder_mismatch"
    status = 409


class StoreError(RagError):
    """The vector store is unavailable or cannot be written (server down, disk full, read-only).

    Codes: ``store_unavailable``, ``store_version_mismatch``, ``store_readonly``, ``store_full``.
    """

    code = "store_unavailable"
    status = 503


class ConfigError(RagError):
    """A setting cannot be used as given (``RAG_*`` variable or CLI option): a malformed
    number or URL, a collection name Chroma refuses. Code ``bad_config``; the message names
    the setting and what it should look like. Not a store outage (``store_unavailable``)."""

    code = "bad_config"
    status = 500


class NotFoundError(RagError):
    """A document or article id matched nothing."""

    code = "not_found"
    status = 404


# Why an LLM answer was not (wholly) used, as staff read it; the notice adds what they get instead.
LLM_REASONS = {
    "llm_context_too_long": "资料超出了大模型服务能接收的长度（请管理员把 RAG_LLM_CONTEXT_TOKENS 设为不大于服务端的上下文长度）",
    "llm_model_not_found": "大模型服务上没有模型“{model}”（请管理员检查 RAG_LLM_MODEL）",
    "llm_timeout": "大模型没有在规定时间内答完（RAG_LLM_TIMEOUT）",
    "llm_unreachable": "连不上大模型服务（RAG_LLM_BASE_URL）",
    "llm_interrupted": "大模型服务在回答途中断开",
    "llm_auth_failed": "大模型服务拒绝了访问密钥（请管理员检查 RAG_LLM_API_KEY）",
    "llm_error": "大模型服务出错（{detail}）",
    "llm_empty": "大模型没有给出回答",
    "llm_unverified": "大模型的回答无法在引用的原文中核实，未予采用",
    "llm_abstained": "大模型认为资料不足以回答",
}
FALLBACK_SUFFIX = "以下为原文摘录答案。"  # the extractive answer follows
PARTIAL_SUFFIX = "回答没有写完，以上句子均已在引用的原文中核实。"  # the verified part of a cut-off answer
LLM_NOTICES = {code: f"{reason}。{FALLBACK_SUFFIX}" for code, reason in LLM_REASONS.items()}


class LLMError(RagError):
    """Why the LLM's answer was not used. Never reaches a caller of ``Pipeline.ask``: the LLM
    answerer catches it and returns the extractive answer with ``notice`` = ``message`` and
    ``notice_code`` = ``code`` (or, when a stream broke after verified sentences were shown,
    those sentences with ``partial_notice()``).

    Codes (reasons in ``LLM_REASONS``): ``llm_context_too_long`` (the prompt exceeds the
    server's context window), ``llm_model_not_found``, ``llm_timeout``, ``llm_unreachable``
    (connection refused, DNS), ``llm_interrupted`` (the connection broke mid-answer),
    ``llm_auth_failed`` (HTTP 401/403), ``llm_error`` (any other failure), ``llm_empty`` (no
    text), ``llm_unverified`` (no sentence survived citation checks), ``llm_abstained`` (the
    model said the sources hold no answer while the extractive answerer found one).
    """

    code = "llm_error"
    status = 502

    def __init__(self, code: str, **fields):
        self.reason = LLM_REASONS[code].format(**{"model": "", "detail": "", **fields})
        super().__init__(f"{self.reason}。{FALLBACK_SUFFIX}", code=code)

    def partial_notice(self) -> str:
        """The notice for an answer cut off by this error after verified sentences were shown."""
        return f"{self.reason}。{PARTIAL_SUFFIX}"
