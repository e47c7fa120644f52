"""Opening Chroma: an embedded data dir (``PersistentClient``), a server (``HttpClient``) or, when
the data dir cannot be written, a read-only snapshot of it (``rag.readonly``); every call given
a time limit (``_Timed``); Chroma's failures classified into our ``StoreError`` codes with
Chinese messages (``_write_error``). ``rag.store.Store`` works on what this opens.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from pathlib import Path

import httpx

from .errors import ConfigError, StoreError

log = logging.getLogger("rag.store")

_URL_RE = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[^/:\[\]@\s]+)(:\d{1,5})?/?$")  # a Chroma server URL


def open_client(data_dir: Path | None = None, chroma_url: str | None = None, timeout_s: float | None = None):
    """Return a Chroma client: ``HttpClient`` when ``chroma_url`` (``http://host:port``) is given,
    else ``PersistentClient(data_dir / "chroma")``. Telemetry is off.

    An embedded data dir that cannot be written (read-only mount or permissions, full disk) is
    opened from a read-only snapshot (``rag.readonly``): questions are answered, and the
    ``Store`` on it refuses every write with the reason (``READ_ONLY_ATTR`` on the client).
    timeout_s: longest the opening may take (seconds), also the server's HTTP timeout (None: none).

    raises ConfigError(bad_config): ``chroma_url`` is not ``http(s)://host[:port]``.
    raises StoreError(store_unavailable): server unreachable (Chinese message with the URL).
    raises StoreError(store_version_mismatch): the server speaks another API generation than
        the client (its major version differs: a 0.x server and this 1.x client do not talk;
        every 1.x ``chroma run`` reports ``1.0.0`` whatever its package version).
    raises StoreError(store_corrupt): the data dir's database is damaged.
    raises StoreError(store_timeout): no answer within ``timeout_s`` (a hung server or disk).
    raises StoreError(store_full|store_readonly): the data dir cannot be written and no
        snapshot could be made (no temp space), or it does not exist yet.
    """
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        from urllib.parse import urlparse

        u = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        if not _URL_RE.match(u.geturl()):
            raise ConfigError(
                f"Chroma 服务器地址（RAG_CHROMA_URL / --chroma-url）「{chroma_url}」格式不对，"
                "应为 http://主机:端口，如 http://127.0.0.1:8000。"
            )
        try:
            client = within(
                timeout_s,
                chromadb.HttpClient,
                host=u.hostname or "127.0.0.1",
                port=u.port or 8000,
                ssl=u.scheme == "https",
                settings=settings,
            )
            session = getattr(getattr(client, "_server", None), "_session", None)
            if session is not None and timeout_s:  # chromadb's own HTTP client never times out
                session.timeout = httpx.Timeout(timeout_s + 5.0)
            server_version = within(timeout_s, client.get_version)
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - any connection failure
            log.warning("Chroma server %s unreachable: %s", chroma_url, exc)
            raise StoreError(f"无法连接 Chroma 服务器 {chroma_url}，请确认服务已启动；恢复后重试即可。") from exc
        if not versions_compatible(server_version, chromadb.__version__):
            raise StoreError(
                f"Chroma 服务器 {chroma_url} 的版本 {server_version} 与本机客户端 chromadb {chromadb.__version__} "
                f"不兼容（主版本号不同）；请把服务器升级到 chromadb {chromadb.__version__.split('.')[0]}.x "
                f"（`pip install chromadb=={chromadb.__version__}` 后用 `chroma run` 启动）。",
                code="store_version_mismatch",
            )
        return client
    if data_dir is None:
        raise ValueError("data_dir or chroma_url is required")
    path = Path(data_dir) / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return within(timeout_s, chromadb.PersistentClient, path=str(path), settings=settings)
    except OSError as exc:
        raise StoreError(
            f"无法打开数据目录（{exc.strerror or exc}），请检查 RAG_DATA_DIR 是否存在且可读。", code="store_readonly"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - chromadb's InternalError on a full, read-only or damaged disk
        err = _write_error(exc, str(path))
        if err.code not in ("store_full", "store_readonly", "store_corrupt", "store_timeout"):
            log.error("cannot open the Chroma data dir %s: %s", path, exc)
            err = StoreError("无法打开本地向量库，请管理员查看服务日志。")
        if err.code not in ("store_full", "store_readonly"):
            raise err from exc
    return open_snapshot(path, err)  # writing is impossible: read from a private copy


def open_snapshot(chroma_dir: Path, reason: StoreError):
    """A ``PersistentClient`` on a read-only snapshot of ``chroma_dir`` (``rag.readonly.snapshot``),
    carrying the ``StoreError`` every write must raise (``READ_ONLY_ATTR``).
    raises StoreError: ``reason``, when no snapshot can be made or opened."""
    import chromadb
    from chromadb.config import Settings

    from .readonly import snapshot

    copy = snapshot(chroma_dir, reason)
    try:
        client = chromadb.PersistentClient(path=str(copy), settings=Settings(anonymized_telemetry=False))
    except Exception as exc:  # noqa: BLE001
        log.error("cannot open the read-only snapshot %s: %s", copy, exc)
        raise reason from exc
    setattr(client, READ_ONLY_ATTR, _read_only_error(reason))
    return client


READ_ONLY_ATTR = "_rag_read_only"  # on a client opened from a snapshot: the StoreError every write raises


def _read_only_error(err: StoreError) -> StoreError:
    why = "所在磁盘已满" if err.code == "store_full" else "为只读"
    return StoreError(
        f"数据目录{why}：本服务以只读方式打开了向量库，可以提问，不能导入或删除文档。"
        f"请{'腾出磁盘空间' if err.code == 'store_full' else '让数据目录可写'}后重启服务（命令行重新运行即可）；已有数据未受影响。",
        code=err.code,
        status=err.status,
    )


def versions_compatible(server: str, client: str) -> bool:
    """True when a Chroma server of version ``server`` serves a client of version ``client``:
    same major version (the HTTP API changed from v1 to v2 between 0.x and 1.x)."""
    return str(server).split(".")[0] == str(client).split(".")[0]


def _write_error(exc: Exception, local_dir: str | None = None) -> StoreError:
    """Classify a failed write: ``store_corrupt`` / ``store_full`` / ``store_readonly`` by the
    error text, else (an embedded store whose error says only "unable to open database file",
    SQLite's answer on a read-only mount) by the state of the filesystem holding ``local_dir``."""
    text = str(exc).lower()
    if isinstance(exc, StoreError):
        return exc
    if "malformed" in text or "not a database" in text or "(code: 11)" in text or "(code: 26)" in text:
        log.error("the Chroma database in %s is damaged: %s", local_dir, exc)
        return StoreError(
            "数据目录中的向量库文件已损坏，无法读取。请管理员从备份恢复数据目录，"
            "或移走数据目录中的 chroma 文件夹后重新导入（rag ingest）。",
            code="store_corrupt",
        )
    state = None
    if (
        not (
            "no space" in text
            or "disk is full" in text
            or "readonly" in text
            or "read-only" in text
            or "permission denied" in text
        )
        and local_dir
    ):
        try:
            st = os.statvfs(local_dir)
            state = "readonly" if st.f_flag & os.ST_RDONLY else "full" if st.f_bavail * st.f_frsize < 1 << 20 else None
        except OSError:
            pass
    if "no space" in text or "disk is full" in text or "database or disk is full" in text or state == "full":
        return StoreError("数据目录所在磁盘已满，本次写入未完成，已有数据未受影响。", code="store_full", status=507)
    if "readonly" in text or "read-only" in text or "permission denied" in text or state == "readonly":
        return StoreError("数据目录为只读，无法写入；已有数据未受影响。", code="store_readonly")
    log.error("Chroma write failed (%s): %s", local_dir or "server", exc)
    return StoreError("写入向量库失败，本次写入未完成，请稍后重试；如一直如此，请管理员查看服务日志。")


class _Timed:
    """A Chroma client or collection whose method calls run in a worker thread and are given up
    after ``timeout_s`` seconds: ``StoreError(store_timeout)`` (503), so a hung Chroma server
    (stopped, not dead) or a stuck disk never holds a request without limit. A call given up
    before it started is cancelled; one already running ends in the background (a server's
    HTTP client is given its own timeout too, ``open_client``). Collections returned by the
    client are wrapped the same way; everything else passes through."""

    def __init__(self, target, timeout_s: float | None):
        self._target = target
        self._timeout_s = timeout_s

    def __getattr__(self, name):
        attr = getattr(self._target, name)
        if not callable(attr) or not self._timeout_s:
            return attr

        def call(*args, **kwargs):
            result = within(self._timeout_s, attr, *args, **kwargs)
            return _Timed(result, self._timeout_s) if type(result).__name__ == "Collection" else result

        return call


def within(timeout_s: float | None, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` run by a worker thread, given up after ``timeout_s`` seconds (None:
    called here, without limit). Workers are daemon threads kept for reuse (~20 µs a call; a new
    thread per call costs ~0.05–4 ms on a busy machine); one stuck inside Chroma is simply not
    reused, and none keeps the process from exiting, as a thread pool's would (they are joined
    at exit).
    raises StoreError(store_timeout, 503): no answer in time; else whatever ``fn`` raised."""
    if not timeout_s:
        return fn(*args, **kwargs)
    done, box = threading.Event(), []
    _WORKERS.submit((fn, args, kwargs, done, box))
    if not done.wait(timeout_s):
        log.warning("Chroma call %s gave no answer within %.0f s", getattr(fn, "__name__", fn), timeout_s)
        raise StoreError(
            f"向量库在 {timeout_s:g} 秒内没有响应，请稍后重试；如一直如此，请管理员检查 Chroma 服务"
            "（RAG_CHROMA_URL）或数据目录所在的磁盘。",
            code="store_timeout",
        )
    ok, result = box[0]
    if not ok:
        raise result
    return result


class _Workers:
    """Daemon worker threads fed from one queue; a new one starts whenever none is idle (so a
    worker stuck in a hung call never delays the next call)."""

    def __init__(self):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, task) -> None:
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1
        if spawn:
            threading.Thread(target=self._work, name="chroma-call", daemon=True).start()
        self._tasks.put(task)

    def _work(self) -> None:
        while True:
            fn, args, kwargs, done, box = self._tasks.get()
            try:
                box.append((True, fn(*args, **kwargs)))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                box.append((False, exc))
            finally:
                done.set()
            with self._lock:
                self._idle += 1


_WORKERS = _Workers()
