"""The service layer shared by every server-side entry point (HTTP API, staff chat).

What both the API (``rag.api``) and the chat (``ui.app``) need lives here, in the library:
the server's one pipeline (``PipelineHolder``), request checks (date filters, upload names
and types, API keys), upload ingest and deletion under one write lock, and the texts of the
errors they show. Neither entry point imports the other; ``ui.server`` composes them.
"""

from __future__ import annotations

import errno
import hmac
import logging
import math
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import RagError, StoreError
from .settings import Settings, build_pipeline

log = logging.getLogger("rag.service")

INTERNAL_ERROR_MESSAGE = "服务器内部错误，请稍后重试。"
UPLOAD_SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm", ".jsonl")


class PipelineHolder:
    """The server's one pipeline, built once, lazily retried while the store is unavailable.

    builder: ``Settings -> Pipeline`` (default ``build_pipeline``).
    ``get()`` returns the pipeline, building it on first use; when building fails (Chroma
    server down, embedder mismatch) the ``RagError`` is raised to the caller (API: 503/409)
    and the next ``get()`` tries again, so the server recovers without a restart.
    write_lock: held around ingests and deletions so two writers never interleave.
    """

    def __init__(self, settings: Settings, pipeline=None, builder: Callable[[Settings], Any] = build_pipeline):
        self.settings = settings
        self._pipeline = pipeline
        self._builder = builder
        self._lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.last_error: RagError | None = None

    @property
    def ready(self) -> bool:
        return self._pipeline is not None

    def get(self):
        """The pipeline. Blocking (may load the embedder): call from a worker thread.

        raises StoreError / EmbedderMismatchError: the store cannot be opened right now.
        """
        if self._pipeline is not None:
            return self._pipeline
        with self._lock:
            if self._pipeline is None:
                try:
                    self._pipeline = self._builder(self.settings)
                except RagError as exc:
                    self.last_error = exc
                    raise
                self.last_error = None
                log.info("pipeline ready (embedder %s)", self._pipeline.embedder.id)
        return self._pipeline


def make_filters(date_from: str | None = None, date_to: str | None = None):
    """``Filters`` for a date range (ISO ``YYYY-MM-DD``, inclusive; blank = open), or None.

    raises RagError(bad_date, 422): a date that is not ``YYYY-MM-DD``.
    """
    from .retrieve import Filters

    date_from = (date_from or "").strip() or None
    date_to = (date_to or "").strip() or None
    if not date_from and not date_to:
        return None
    filters = Filters(date_from=date_from, date_to=date_to)
    try:
        filters.where()
    except ValueError as exc:
        raise RagError(str(exc), code="bad_date", status=422) from None
    return filters


def normalise_upload_name(name: str) -> str:
    """The ``source`` name of an upload: the client's file name without any directory part
    (``/``, ``\\``, ``..``, drive letters stripped), NFC-normalised, control characters
    removed, at most 200 characters (the suffix kept).

    raises RagError(bad_filename, 400): nothing usable is left (e.g. ``".."`` or ``""``).
    """
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    name = PurePosixPath(name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".").strip()
    if not name or name in (".", ".."):
        raise RagError("文件名无效，请重命名后再上传。", code="bad_filename", status=400)
    if len(name) > 200:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: 200 - len(suffix)] + suffix
    return name


def check_upload_suffix(name: str) -> str:
    """The lower-case suffix of an upload name. raises RagError(unsupported_type, 415)."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise RagError(
            f"不支持的文件类型「{suffix or '无扩展名'}」：{name}。支持的类型：{'、'.join(UPLOAD_SUFFIXES)}。",
            code="unsupported_type",
            status=415,
        )
    return suffix


class KeyAttempts:
    """Failed key attempts (API key, the chat's login and key box) per client address, in a
    sliding window: after ``max_failures`` failures within ``window_s`` seconds the client is
    refused (429 ``too_many_attempts``, before its key is compared) until the oldest of them is
    ``window_s`` old. Throttling per source as the OWASP Authentication Cheat Sheet advises
    ("protect against automated attacks"); 10 per minute leaves staff who mistype room and
    makes guessing a key hopeless. At most ``max_clients`` addresses are remembered (the
    oldest forgotten first). Thread-safe.
    """

    def __init__(self, max_failures: int = 10, window_s: float = 60.0, max_clients: int = 10_000, clock=time.monotonic):
        self.max_failures, self.window_s, self.max_clients, self.clock = max_failures, window_s, max_clients, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds until ``client`` may try a key again (0.0: now)."""
        with self._lock:
            times = self._recent(client)
            if len(times) < self.max_failures:
                return 0.0
            return max(times[-self.max_failures] + self.window_s - self.clock(), 0.001)

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        with self._lock:
            times = self._recent(client)
            times.append(self.clock())
            self._failures[client] = times
            while len(self._failures) > self.max_clients:
                self._failures.pop(next(iter(self._failures)))

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.pop(client, deque())
        cutoff = self.clock() - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        if times:
            self._failures[client] = times  # re-inserted: most recently seen last
        return times

    def error(self, wait_s: float) -> RagError:
        """The 429 ``too_many_attempts`` error; ``retry_after`` (whole seconds) on it."""
        seconds = max(1, math.ceil(wait_s))
        err = RagError(f"密钥错误次数过多，请 {seconds} 秒后再试。", code="too_many_attempts", status=429)
        err.retry_after = seconds
        return err


def client_address(scope) -> str:
    """The client's address of an ASGI scope (behind a reverse proxy on this machine, uvicorn
    has already put the ``X-Forwarded-For`` address there); ``""`` when unknown."""
    client = scope.get("client") if isinstance(scope, dict) else None
    return client[0] if client else ""


def key_matches(supplied: str | None, expected: str) -> bool:
    """Constant-time comparison of an API key (``hmac.compare_digest`` on UTF-8 bytes)."""
    return supplied is not None and hmac.compare_digest(supplied.encode("utf-8"), expected.encode("utf-8"))


def too_large_error(max_mb: float) -> RagError:
    """The 413 ``file_too_large`` error for an upload above ``max_mb`` megabytes (MiB)."""
    return RagError(f"文件太大：上传上限为 {max_mb:g} MB，请拆分后再上传。", code="file_too_large", status=413)


def clean_upload_dir(data_dir: Path) -> int:
    """Remove everything under ``<data dir>/uploads`` (API uploads being saved, the chat's copies
    of uploads): left there only by a process that was killed mid-upload. Called by the server at
    start, while it holds the data dir's writer lock (so no other server uses it). Returns how
    many entries were removed; a read-only data dir is left alone."""
    import shutil

    root = Path(data_dir) / "uploads"
    removed = 0
    try:
        entries = list(root.iterdir())
    except OSError:
        return 0
    for p in entries:
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            removed += 1
        except OSError:
            pass
    if removed:
        log.info("removed %d upload leftovers from %s", removed, root)
    return removed


def disk_error(exc: OSError) -> RagError:
    """An upload that could not be saved in the data dir: a full disk is 507 ``store_full``, a
    read-only one 503 ``store_readonly`` (the codes an ingest reports), anything else 500
    ``upload_failed`` (the OS reason only, never a path)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(
            "数据目录所在磁盘已满，无法保存上传的文件；已有数据未受影响。请腾出磁盘空间后重试。",
            code="store_full",
            status=507,
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError("数据目录为只读，无法保存上传的文件；已有数据未受影响。", code="store_readonly")
    return RagError(
        f"无法保存上传的文件（{exc.strerror or '系统错误'}），请稍后重试。", code="upload_failed", status=500
    )


def parse_year(value: str | int | None) -> int | None:
    """The ``year`` of an upload (API form field, chat input): None when blank, else a year
    from 1900 to 2099, used for leads that give only 月日 (like ``rag ingest --year``).

    raises RagError(bad_year, 422): anything else.
    """
    text = str(value if value is not None else "").strip().removesuffix("年").strip()
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text)
    if text.isdigit() and 1900 <= int(text) <= 2099:
        return int(text)
    raise RagError(f"年份「{value}」无效：请填写四位数字的年份，如 2024。", code="bad_year", status=422)


def ingest_upload(holder: PipelineHolder, path: Path, name: str, year: int | None = None):
    """Ingest one uploaded file as document ``name`` (a normalised upload name), under the
    holder's write lock, and check the outcome (:func:`check_ingest`). Blocking.

    year: for leads with only 月日 (None: the year in the text or the file name).
    returns: the ``IngestReport`` (it may list unreadable parts, undated articles and articles
        already stored under other documents).
    raises RagError: as :func:`check_ingest` (nothing imported; a copy of a stored document).
    """
    pipe = holder.get()
    with holder.write_lock:
        report = pipe.ingest_file(Path(path), source=name, year=year)
    check_ingest(report, name)
    return report


def check_ingest(report, name: str) -> None:
    """Raise when an upload stored nothing, so that no entry point reports a silent success.

    raises RagError: the file's own error (422, or 404) when nothing in it could be read;
        ``duplicate_content`` (409) when every article of it is already stored under other
        document names: the message names them (the upload is not stored a second time, so
        it is not listed and deleting the other document removes the content).
    """
    if report.errors and not (report.articles + report.duplicates):
        first = report.errors[0]
        raise RagError(first["message"], code=first["code"], status=404 if first["code"] == "not_found" else 422)
    if report.articles == 0 and report.duplicate_of:
        existing = "」「".join(sorted({d["existing"] for d in report.duplicate_of}))
        raise RagError(
            f"「{name}」的内容与已导入的文档「{existing}」相同，没有重复导入，也不会以「{name}」列出。"
            f"如需改用新文件名，请先删除「{existing}」再上传。",
            code="duplicate_content",
            status=409,
        )


def report_notes(report) -> list[str]:
    """Chinese lines about what an ingest could not do fully: unreadable parts, parts left out
    (mastheads, section names, running heads), headline-only articles, articles stored under
    another document, undated articles (with how to give them a date)."""
    notes = [e["message"] for e in report.unreadable] + [e["message"] for e in report.skipped]
    for h in report.headline_only:
        notes.append(f"{h['file']} 中的《{h['title']}》只有标题、没有正文，已按标题作为一篇文章导入。")
    for d in report.duplicate_of:
        notes.append(f"{d['file']} 中有 {d['articles']} 篇文章已在文档「{d['existing']}」中，没有重复导入。")
    if report.undated:
        titles = "、".join(f"《{a['title']}》" for a in report.undated_articles[:5])
        more = " 等" if report.undated > 5 else ""
        notes.append(
            f"{report.undated} 篇文章没有日期（导语只有月日，文件名中也没有年份）：{titles}{more}；"
            "请填写年份后重新导入，否则按日期筛选时找不到它们。"
        )
    return notes


def delete_document(holder: PipelineHolder, name: str) -> int:
    """Delete a document by source name (or an article by id). Blocking. Returns the number
    of chunks deleted. raises NotFoundError (404): nothing matched."""
    pipe = holder.get()
    with holder.write_lock:
        return pipe.delete_document(unicodedata.normalize("NFC", name))


def correct_article(holder: PipelineHolder, article_id: str, **changes: str | None) -> dict:
    """Correct an article's ``title``, ``date`` or ``author`` (``Pipeline.correct_article``)
    under the write lock. Blocking. raises NotFoundError (404), RagError (422), StoreError."""
    pipe = holder.get()
    with holder.write_lock:
        return pipe.correct_article(article_id.strip(), **changes)
