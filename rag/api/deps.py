"""Dependencies shared by the routers: the API-key rule and the server's pipeline.

The settings and the ``PipelineHolder`` live on ``app.state`` (set by ``create_app``), so a
router is a few lines over the library and never a closure inside one factory.
"""

from __future__ import annotations

import base64

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from ..errors import RagError
from ..service import KeyAttempts, PipelineHolder, client_address, key_matches
from ..settings import Settings


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def holder_of(request: Request) -> PipelineHolder:
    return request.app.state.holder


def supplied_key(request: Request) -> str | None:
    """The key a request carries: ``X-API-Key``, else ``Authorization: Bearer …``, else the
    password of ``Authorization: Basic …`` (any user name: how a browser sends it for ``/docs``);
    None if none."""
    supplied = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if supplied is None and auth[:7].lower() == "bearer ":
        supplied = auth[7:].strip()
    elif supplied is None and auth[:6].lower() == "basic ":
        try:
            supplied = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            supplied = None
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


def throttled_key_error(
    settings: Settings, supplied: str | None, *, write: bool, attempts: KeyAttempts | None, client: str
) -> RagError | None:
    """``key_error`` with guessing throttled: a client with too many failed attempts
    (``attempts``) gets 429 ``too_many_attempts`` before its key is compared, and every wrong
    key (403) counts as a failure."""
    needed = settings.api_key and (write or settings.api_key_all)
    if needed and supplied and attempts is not None and (wait := attempts.wait(client)):
        return attempts.error(wait)
    err = key_error(settings, supplied, write=write)
    if err is not None and err.status == 403 and attempts is not None:
        attempts.failed(client)
    return err


def check_key(request: Request, *, write: bool) -> None:
    """``throttled_key_error`` for a request's headers. raises RagError: 401 ``unauthorized``,
    403 ``forbidden``, 429 ``too_many_attempts``."""
    err = throttled_key_error(
        settings_of(request),
        supplied_key(request),
        write=write,
        attempts=getattr(request.app.state, "key_attempts", None),
        client=client_address(request.scope),
    )
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
