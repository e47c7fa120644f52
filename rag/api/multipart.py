"""The multipart upload receiver: streams one file part to disk, enforcing the size limit
while the body is read (Starlette's form parser would buffer the whole body first)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from fastapi import Request

from ..errors import RagError
from ..parse import decode_name
from ..service import check_upload_suffix, disk_error, normalise_upload_name, too_large_error

MULTIPART_SLACK = 64 * 1024  # bytes of multipart framing allowed on top of the file size limit
FIELD_MAX_BYTES = 64  # a plain form field (``year``) longer than this is cut off
FORM_FIELDS = ("year",)


async def receive_upload(request: Request, dest_dir: Path, max_mb: float) -> tuple[str, Path, dict[str, str]]:
    """Stream the first file part of a multipart request into ``dest_dir`` under a generated
    name (the client's name is never used as a path). Returns ``(normalised name, path, fields)``
    where ``fields`` holds the plain form fields named in ``FORM_FIELDS`` (``year``), decoded
    as UTF-8, at most ``FIELD_MAX_BYTES`` bytes each, before or after the file part.

    The client's file name is decoded like file contents (``rag.parse.decode_name``: UTF-8,
    then GB18030/Big5, as older Windows tools send GBK), ``filename*`` (RFC 5987) preferred.
    The size limit is enforced while the body is read: reading stops as soon as the file
    passes ``max_mb`` megabytes (MiB), or at once when Content-Length already says so.
    raises RagError: 400 (not multipart / no file / bad name), 413 (too large), 415 (type).
    """
    from python_multipart import MultipartParser
    from python_multipart.multipart import parse_options_header

    max_bytes = int(max_mb * 1024 * 1024)
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise RagError("请用 multipart/form-data 上传文件（字段名 file）。", code="bad_request", status=400)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + MULTIPART_SLACK:
        raise too_large_error(max_mb)

    state: dict[str, Any] = {
        "headers": {},
        "field": b"",
        "value": b"",
        "file": None,
        "size": 0,
        "name": None,
        "path": None,
        "done": False,
        "in_file": False,
        "form": None,
        "fields": {},
    }

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        disposition = state["headers"].get(b"content-disposition", b"")
        state["headers"] = {}
        raw_name = _upload_filename(disposition)
        if raw_name is None:  # a plain form field: kept when it is one we read
            field = _field_name(disposition)
            if field in FORM_FIELDS and field not in state["fields"]:
                state["form"], state["fields"][field] = field, b""
            return
        if state["done"]:  # a second file: skipped
            return
        name = normalise_upload_name(raw_name)
        suffix = check_upload_suffix(name)
        state["name"] = name
        state["path"] = dest_dir / f"{uuid.uuid4().hex}{suffix}"
        state["file"] = open(state["path"], "wb")  # noqa: SIM115 - closed in on_part_end / finally
        state["in_file"] = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["form"] is not None:
            field = state["form"]
            state["fields"][field] = (state["fields"][field] + data[start:end])[:FIELD_MAX_BYTES]
            return
        if not state["in_file"]:
            return
        state["size"] += end - start
        if state["size"] > max_bytes:
            raise too_large_error(max_mb)
        state["file"].write(data[start:end])

    def on_part_end() -> None:
        state["form"] = None
        if state["in_file"]:
            state["file"].close()
            state["in_file"] = False
            state["done"] = True

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)  # file writes are small (one network chunk) and go to local disk
        parser.finalize()
    except RagError:
        raise
    except OSError as exc:  # saving the part failed: a full or read-only data dir
        raise disk_error(exc) from None
    except Exception:  # noqa: BLE001 - a malformed body (the parser's reason is English)
        raise RagError(
            "上传内容格式不正确：multipart 请求体不完整，或其中的分隔符与请求头 Content-Type 的 boundary 不一致；"
            "请用 multipart/form-data 重新上传（字段名 file）。",
            code="bad_request",
            status=400,
        ) from None
    finally:
        if state["file"] is not None and not state["file"].closed:
            state["file"].close()
    if not state["done"]:
        raise RagError("请求中没有文件：请用字段名 file 上传一个文件。", code="bad_request", status=400)
    fields = {k: v.decode("utf-8", "replace").strip() for k, v in state["fields"].items()}
    return state["name"], state["path"], fields


def _field_name(disposition: bytes) -> str:
    from python_multipart.multipart import parse_options_header

    _, options = parse_options_header(disposition)
    return (options.get(b"name") or b"").decode("latin-1")


def _upload_filename(disposition: bytes) -> str | None:
    """The client's file name from a Content-Disposition header (``filename*`` preferred), or
    None when the part is not a file. Raw bytes are decoded by ``decode_name`` (UTF-8, then
    GB18030/Big5); a ``filename*`` with a charset (``GBK''%CB%B0…``) is decoded with it."""
    from python_multipart.multipart import parse_options_header

    m = re.search(rb"filename\*\s*=\s*([^;]+)", disposition)
    if m:
        value = m.group(1).strip().strip(b'"').decode("latin-1")
        charset, _, encoded = value.partition("'")
        _lang, _, encoded = encoded.partition("'")
        try:
            return unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            return decode_name(unquote_to_bytes(encoded))
    _, options = parse_options_header(disposition)
    raw = options.get(b"filename")
    if raw is None:
        return None
    return decode_name(raw)
