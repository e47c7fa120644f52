"""Who may use the chat's 文档管理 tab: the upload event takes only files the server's upload
route received (``claim_upload``), and the tab's key box follows the API's key rule with wrong
keys throttled per client (``check_ui_key``, ``unlock_upload``)."""

from __future__ import annotations

import os
import stat

import gradio as gr

from rag.api.deps import throttled_key_error
from rag.errors import RagError
from rag.service import key_matches
from rag.settings import Settings


def client_of(request: gr.Request | None) -> str:
    return request.client.host if request is not None and request.client else ""


def check_ui_key(settings: Settings, key: str | None, attempts=None, client: str = "") -> None:
    """The documents tab's key rule (like an API write), with wrong keys throttled per client
    (``rag.service.KeyAttempts``). raises RagError: 403 ``forbidden``, 429 ``too_many_attempts``."""
    err = throttled_key_error(settings, key or None, write=True, attempts=attempts, client=client)
    if err is not None and err.status == 429:
        raise err
    if err is not None:
        raise RagError("管理密钥不正确：上传、删除和更正文档需要填写 RAG_API_KEY。", code="forbidden", status=403)


UPLOAD_NOT_RECEIVED = "只能导入本页面上传的文件：服务器没有收到过这个文件，未导入。请重新选择文件上传。"


def claim_upload(received: set[str], path: str) -> bool:
    """True, once, when ``path`` is a regular file that this server's own upload route received
    (``received``: Gradio's ``Blocks.upload_file_set``, the paths its ``/gradio_api/upload``
    wrote); the path is then taken out of ``received``. Any other path (one a client names in
    the upload event's ``FileData``, e.g. ``/etc/passwd`` or another user's upload already
    taken) is False and is never opened, ingested or deleted."""
    wanted = os.path.abspath(path)
    match = path if path in received else next((r for r in list(received) if os.path.abspath(r) == wanted), None)
    if match is None:
        return False
    received.discard(match)
    try:
        return stat.S_ISREG(os.lstat(wanted).st_mode)  # never through a symlink
    except OSError:
        return False


def unlock_upload(settings: Settings, key: str | None, attempts=None, client: str = ""):
    """The upload box, usable only once the right key is typed (when ``RAG_API_KEY`` is set), so
    that staff never start an upload the server will refuse. This runs at every keystroke, so
    only a wrong key at least as long as the right one counts as a failed attempt (what staff
    type on the way is a shorter prefix); a throttled client's box stays closed."""
    if not settings.api_key:
        return gr.File(interactive=True)
    if not key or (attempts is not None and attempts.wait(client)):
        return gr.File(interactive=False)
    ok = key_matches(key, settings.api_key)
    if not ok and attempts is not None and len(key) >= len(settings.api_key):
        attempts.failed(client)
    return gr.File(interactive=ok)
