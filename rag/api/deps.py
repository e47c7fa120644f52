"""Dependencies shared by the routers: the API-key rule and the server's pipeline.

The settings and the ``PipelineHolder`` live on ``app.state`` (set by ``create_app``), so a
router is a few lines over the library and never a closure inside one factory.
"""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ..errors import RagError
from ..service import PipelineHolder, key_matches
from ..settings import Settings


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def holder_of(request: Request) -> PipelineHolder:
    return request.app.state.holder


def supplied_key(request: Request) -> str | None:
    """The key a request carries: ``X-API-Key``, else ``Authorization: Bearer …``; None if neither."""
    supplied = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if supplied is None and auth[:7].lower() == "bearer ":
        supplied = auth[7:].strip()
    return supplied or None


def key_error(settings: Settings, supplied: str | None, *, write: bool) -> RagError | None:
    """The key rule: with ``RAG_API_KEY`` set, writes need the key; with ``RAG_API_KEY_ALL``
    every request does. Returns None when the request may go on, else the error to answer
    with: 401 ``unauthorized`` (no key), 403 ``forbidden`` (wrong key)."""
    if not settings.api_key or not (write or settings.api_key_all):
        return None
    if not supplied:
        return RagError(
            "需要 API 密钥：请在请求头加入 `Authorization: Bearer <密钥>` 或 `X-API-Key: <密钥>`。",
            code="unauthorized",
            status=401,
        )
    if not key_matches(supplied, settings.api_key):
        return RagError("API 密钥不正确。", code="forbidden", status=403)
    return None


def check_key(request: Request, *, write: bool) -> None:
    """``key_error`` for a request's headers. raises RagError: 401 ``unauthorized``, 403 ``forbidden``."""
    err = key_error(settings_of(request), supplied_key(request), write=write)
    if err is not None:
        raise err


def _read(request: Request) -> None:
    check_key(request, write=False)


def _write(request: Request) -> None:
    check_key(request, write=True)


read_access = [Depends(_read)]
write_access = [Depends(_write)]


async def pipeline(request: Request):
    """The server's pipeline, built (or rebuilt after an outage) in a worker thread.
    raises StoreError (503) while the store cannot be opened."""
    return await run_in_threadpool(holder_of(request).get)
