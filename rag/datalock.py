"""One writer per data dir: an advisory lock file held by the process that writes an embedded
Chroma store (``rag serve``, ``rag ingest``, ``rag docs delete``…).

Embedded Chroma keeps its vector index in the memory of the process that opened it: a second
process writing the same files leaves the first one answering from a stale index (date
filters then fail with Chroma's "Error finding id" until a restart). So a writer takes
``<data dir>/rag.lock`` with ``flock`` (released by the kernel when the process ends, even on
``kill -9``: a lock is never left behind) and writes who it is into the file; a second writer
is refused with a Chinese message naming the holder and what to do instead. A Chroma server
(``RAG_CHROMA_URL``) is itself the one writer: no lock is taken then.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

from .errors import StoreError

LOCK_NAME = "rag.lock"


class DataDirLock:
    """An exclusive lock on a data dir, held until ``release()`` (or the process ends).

    what: a short description of the holder, shown to a refused writer, e.g.
        ``"rag serve http://127.0.0.1:7860/"`` or ``"rag ingest"``.
    raises StoreError(store_locked, 409): another process holds the lock (the message names it:
        its description, process id and start time).
    raises StoreError(store_readonly): the lock file cannot be created (read-only data dir);
        callers that only read may go on without a lock.
    """

    def __init__(self, data_dir: Path, what: str):
        self.path = Path(data_dir) / LOCK_NAME
        self.what = what
        self._fd: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"无法在数据目录创建锁文件（{exc.strerror or exc}），无法写入。", code="store_readonly"
            ) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder()
            self.release()
            raise StoreError(_locked_message(self.path.parent, holder), code="store_locked", status=409) from None
        info = {"pid": os.getpid(), "what": what, "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps(info, ensure_ascii=False).encode("utf-8"), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same, only the holder's description is missing

    def _holder(self) -> dict:
        try:
            return json.loads(os.pread(self._fd, 4096, 0).decode("utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __del__(self) -> None:
        self.release()

    def __enter__(self) -> DataDirLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _locked_message(data_dir: Path, holder: dict) -> str:
    who = holder.get("what") or "另一个进程"
    details = "，".join(
        x
        for x in (
            f"进程号 {holder['pid']}" if holder.get("pid") else "",
            f"自 {holder['since']} 起" if holder.get("since") else "",
        )
        if x
    )
    if str(who).startswith("rag serve"):
        advice = "请在聊天界面的“文档管理”中上传，或用 POST /api/documents 上传；要用命令行导入，请先停止服务。"
    else:
        advice = "请等它结束后再试。"
    return (
        f"数据目录 {data_dir} 正由 {who}{f'（{details}）' if details else ' '}写入：同一数据目录同时只能有一个进程写入。"
        f"{advice}若需多个进程同时写入，请改用 Chroma 服务器（RAG_CHROMA_URL）。"
    )
