"""``GET/POST /api/documents`` and ``DELETE /api/documents/{name}``: list, upload, delete."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ...service import UPLOAD_SUFFIXES, delete_document, disk_error, ingest_upload, parse_year
from ..deps import holder_of, pipeline, read_access, settings_of, write_access
from ..multipart import receive_upload

router = APIRouter(prefix="/api/documents", tags=["文档"])

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "；".join(UPLOAD_SUFFIXES)},
                        "year": {"type": "integer", "description": "导语只有月日时使用的年份，如 2024（可选）"},
                    },
                }
            }
        },
    }
}


@router.get("", dependencies=read_access, summary="已导入的文档")
async def list_documents(request: Request) -> list[dict]:
    """Same JSON as ``rag docs list --json``: ``source``, ``articles``, ``chunks``, ``titles``, and
    ``article_list``: each article's ``id``, ``title``, ``date``, ``author``, ``chunks`` and
    ``corrected`` (fields a user corrected: ``PATCH /api/articles/{id}``)."""
    pipe = await pipeline(request)
    docs = await run_in_threadpool(pipe.documents)
    return [dict(d.__dict__) for d in docs]


@router.post("", dependencies=write_access, summary="上传并导入一个文件", openapi_extra=_UPLOAD_BODY)
async def upload_document(request: Request) -> dict:
    """Multipart upload (one file, optional ``year`` field). The file is saved under a
    generated name in a temp dir inside the data dir, ingested as document ``<file name>``,
    then deleted. Returns the ``IngestReport`` dict plus ``source`` (with ``unreadable``
    parts, ``skipped`` parts, ``headline_only`` articles, ``undated`` articles, ``duplicate_of``);
    the same file again → ``unchanged``.
    409 ``duplicate_content`` when the same content is already stored under another name;
    413 above ``RAG_MAX_UPLOAD_MB``; 415 for an unsupported type; 422 when nothing in the
    file could be imported (the parse error) or the year is not a year."""
    settings = settings_of(request)
    read_only = getattr(getattr(await pipeline(request), "store", None), "read_only", None)
    if read_only is not None:  # a store opened read-only (full or read-only disk): refused before the upload
        raise read_only
    upload_root = settings.data_dir / "uploads"
    try:
        await run_in_threadpool(upload_root.mkdir, parents=True, exist_ok=True)
        tmp_dir = Path(await run_in_threadpool(tempfile.mkdtemp, "", "upload-", str(upload_root)))
    except OSError as exc:
        raise disk_error(exc) from None
    try:
        name, path, fields = await receive_upload(request, tmp_dir, settings.max_upload_mb)
        year = parse_year(fields.get("year"))
        report = await run_in_threadpool(ingest_upload, holder_of(request), path, name, year)
    finally:
        await run_in_threadpool(shutil.rmtree, tmp_dir, True)
    return {"source": name, **report.to_dict()}


@router.delete("/{name:path}", dependencies=write_access, summary="删除一个文档")
async def remove_document(name: str, request: Request) -> dict:
    """Delete every chunk of document ``name`` (URL-encoded source name, or an article id).
    404 when nothing matched."""
    deleted = await run_in_threadpool(delete_document, holder_of(request), name)
    return {"name": name, "deleted": deleted}
