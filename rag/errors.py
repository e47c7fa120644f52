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
