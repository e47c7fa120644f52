"""Data and availability faults of issue #20 (items 4–8, 10, 11), produced for real: full disks
are small tmpfs mounts, read-only data dirs read-only bind mounts (both need root with
CAP_SYS_ADMIN, as in this sandbox and CI containers; skipped with the reason elsewhere), a second
writer is a real ``rag ingest`` next to a real ``rag serve``, a hung store a stopped (SIGSTOP)
``chroma run``, a crash a SIGKILL. Every case checks the stable code, a Chinese message, and
that what was stored is still answered.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, ROOT, make_settings

pytestmark = [pytest.mark.allow_hosts(["127.0.0.1"])]

Q_HOST = "招商引资工作推进会议由谁主持？"
HAN = re.compile(r"[\u4e00-\u9fff]")
NEW_ARTICLE = "# 我县召开防汛工作部署会议\n\n本报讯 6月1日，我县召开防汛工作部署会议，要求各乡镇落实防汛责任。\n"


# -- helpers -------------------------------------------------------------------------------------
def _can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def tmpfs(tmp_path):
    """``make(size)``: a tmpfs of ``size`` (e.g. ``"16m"``) mounted at a fresh dir; unmounted after."""
    mounted: list[Path] = []

    def make(size: str) -> Path:
        mnt = tmp_path / f"disk{len(mounted)}"
        mnt.mkdir()
        if not _can_mount() or not _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mnt)):
            pytest.skip("mounting a tmpfs needs root with CAP_SYS_ADMIN")
        mounted.append(mnt)
        return mnt

    yield make
    for m in mounted:
        subprocess.run(["umount", "-l", str(m)], capture_output=True)


@pytest.fixture
def read_only(tmp_path):
    """``make(path)``: ``path`` becomes a read-only bind mount of itself; undone after."""
    mounted: list[Path] = []

    def make(path: Path) -> None:
        if not _can_mount() or not _mount("--bind", str(path), str(path)):
            pytest.skip("a read-only bind mount needs root with CAP_SYS_ADMIN")
        mounted.append(path)
        if not _mount("-o", "remount,ro,bind", str(path)):
            pytest.skip("read-only remounts are not allowed here")

    yield make
    for p in reversed(mounted):
        subprocess.run(["umount", "-l", str(p)], capture_output=True)


def _fill(path: Path, leave: int = 0) -> Path:
    """Fill the file system holding ``path`` to its last byte, then give back ``leave`` bytes."""
    filler = path / "filler.bin"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * (1 << 16))
        except OSError:
            pass
    if leave:
        os.truncate(filler, max(filler.stat().st_size - leave, 0))
    return filler


def _env(data_dir: Path, embed_cache: Path | str, **extra: str) -> dict:
    return {
        **os.environ,
        "RAG_DATA_DIR": str(data_dir),
        "RAG_EMBED_CACHE": str(embed_cache),
        "RAG_DICT": str(CORPUS / "dict.txt"),
        **extra,
    }


def rag(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """The ``rag`` command as an operator runs it, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def _seed(data_dir: Path, embed_cache: Path, **extra: str) -> None:
    r = rag("ingest", str(CORPUS), env=_env(data_dir, embed_cache, **extra))
    assert r.returncode == 0, r.stderr[-2000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RagServe:
    """``rag serve`` in its own process on a free loopback port (stopped on exit)."""

    def __init__(self, env: dict, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(self.port)],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> RagServe:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=5).status_code in (200, 503, 507):
                    return self
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "rag serve did not start"
            time.sleep(0.5)

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError("rag serve ignored SIGTERM") from None

    def ask(self, question: str = Q_HOST, **body) -> httpx.Response:
        return httpx.post(f"{self.url}/api/ask", json={"question": question, **body}, timeout=60)

    def upload(self, name: str, text: str) -> httpx.Response:
        return httpx.post(f"{self.url}/api/documents", files={"file": (name, text.encode("utf-8"))}, timeout=120)


def _answers(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text[:300]
    assert r.json()["answer"].startswith("王辨明"), r.json()["answer"]


def _chinese_error(
    r: httpx.Response | None, code: str, status: int | None = None, text: str | None = None, path_ok: bool = False
) -> str:
    """The error's message, after checking its code (and status), that it is Chinese and leaks
    nothing (``path_ok``: a CLI message may name the operator's own data dir)."""
    if r is not None:
        assert status is None or r.status_code == status, (r.status_code, r.text[:300])
        err = r.json()["error"]
        assert err["code"] == code, err
        message = err["message"]
    else:  # the CLI's error line (log lines for the administrator may precede it)
        assert f"（{code}）" in text, text[-1500:]
        message = next(line for line in text.splitlines() if f"（{code}）" in line)
        message = message[message.index("错误：") :]
    assert HAN.search(message) and "Traceback" not in message
    for leak in ("error returned from database", "sqlite", ".py") + (() if path_ok else ("/tmp/", "/work/")):
        assert leak not in message.replace("RAG_", ""), message
    return message


def _chunk_ids(data_dir: Path) -> list[str]:
    """The stored chunk ids, read straight from the SQLite file (no Chroma process involved)."""
    db = sqlite3.connect(f"file:{data_dir / 'chroma' / 'chroma.sqlite3'}?immutable=1", uri=True)
    try:
        rows = db.execute(
            "SELECT e.embedding_id FROM embeddings e JOIN segments s ON e.segment_id = s.id "
            "JOIN collections c ON s.collection = c.id WHERE c.name = 'county_news'"
        )
        return sorted(r[0] for r in rows)
    finally:
        db.close()


# -- 4. a full disk ------------------------------------------------------------------------------------------
def test_writes_stop_at_the_free_space_watermark_and_resume_without_restart(tmpfs, tmp_path, embed_cache):
    """Below ``RAG_MIN_FREE_MB`` a write is refused before Chroma is touched (``store_full``, 507):
    nothing is written, questions are answered, and once space is freed the same process writes
    again (Chroma never ran out of space, so nothing is left locked)."""
    from fastapi.testclient import TestClient

    from rag.api import create_app
    from rag.errors import StoreError
    from rag.settings import build_pipeline

    disk = tmpfs("24m")
    settings = make_settings(disk / "data", embed_cache, min_free_mb=8)
    pipe = build_pipeline(settings)
    assert pipe.ingest([CORPUS]).errors == []
    before = sorted(pipe.store.all_ids())
    filler = _fill(disk, leave=6 << 20)  # 6 MiB left: under the 8 MiB watermark
    new = tmp_path / "防汛.txt"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    with pytest.raises(StoreError) as exc:
        pipe.ingest([new])
    assert exc.value.code == "store_full" and "RAG_MIN_FREE_MB" in exc.value.message
    c = TestClient(create_app(settings, pipe))
    r = c.post("/api/documents", files={"file": ("防汛.txt", NEW_ARTICLE.encode("utf-8"))})
    _chinese_error(r, "store_full", 507)
    assert sorted(pipe.store.all_ids()) == before and "防汛.txt" not in {d.source for d in pipe.documents()}
    _answers(c.post("/api/ask", json={"question": Q_HOST}))
    assert c.get("/api/health").status_code == 200 and c.get("/api/documents").status_code == 200
    filler.unlink()
    r = c.post("/api/documents", files={"file": ("防汛.txt", NEW_ARTICLE.encode("utf-8"))})
    assert r.status_code == 200 and r.json()["articles"] == 1, r.text
    assert {d.source: d.complete for d in pipe.documents()}["防汛.txt"] is True


@pytest.mark.slow
def test_a_full_disk_is_read_only_not_unreadable(tmpfs, tmp_path, embed_cache):
    """A data dir whose disk is full when a process starts: ``rag ask`` answers and ``rag serve``
    answers every read (ask, health, documents) from a read-only snapshot; writes are refused
    with ``store_full`` saying what to do; nothing changes; SIGTERM stops the server."""
    disk = tmpfs("16m")
    data = disk / "data"
    _seed(data, embed_cache, RAG_MIN_FREE_MB="0")
    before = _chunk_ids(data)
    _fill(disk)
    env = _env(data, embed_cache)
    r = rag("ask", Q_HOST, "--json", env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout)["answer"].startswith("王辨明")
    new = tmp_path / "防汛.txt"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    r = rag("ingest", str(new), env=env)
    assert r.returncode == 2 and "磁盘已满" in _chinese_error(None, "store_full", text=r.stderr)
    with RagServe(env, tmp_path / "serve.log") as srv:
        _answers(srv.ask())
        _answers(srv.ask(date_from="2024-05-01", date_to="2024-05-31"))
        assert httpx.get(f"{srv.url}/api/health").json()["chunks"] == len(before)
        assert [d["source"] for d in httpx.get(f"{srv.url}/api/documents").json()] == ["绛县新闻-2024年4-5月.txt"]
        message = _chinese_error(srv.upload("防汛.txt", NEW_ARTICLE), "store_full", 507)
        assert "腾出磁盘空间" in message
    assert _chunk_ids(data) == before


def test_chroma_running_out_of_space_mid_ingest_never_hangs_the_process(tmpfs, tmp_path, embed_cache):
    """Without the watermark (``RAG_MIN_FREE_MB=0``) Chroma itself hits ENOSPC in the middle of an
    ingest: the ingest stops with ``store_full`` after a batch was written, questions
    are answered while the disk is full and after space is freed (within seconds, never hung),
    writes stay refused until a restart (``重启``), the document is listed as incomplete, and a
    new process finishes it."""
    import gzip
    import threading

    from rag.errors import StoreError
    from rag.settings import build_pipeline

    news = Path(os.environ.get("RAG_EVAL_DISTRACTORS", "/work/shared/data/news-crud/news.jsonl.gz"))
    if not news.exists():
        pytest.skip(f"needs the news-crud archive at {news}")
    disk = tmpfs("64m")
    settings = make_settings(disk / "data", embed_cache, min_free_mb=0)
    pipe = build_pipeline(settings)
    assert pipe.ingest([CORPUS]).errors == []
    big = tmp_path / "新闻合集.jsonl"
    with gzip.open(news, "rt", encoding="utf-8") as f, big.open("w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if i >= 1500:
                break
            out.write(line)
    filler = _fill(disk, leave=14 << 20)  # room for one batch of chunks, not two
    with pytest.raises(StoreError) as exc:
        pipe.ingest([big], keyword_first=True)  # no embedding: the disk fills in seconds
    assert exc.value.code == "store_full"
    written = pipe.store.ids_where({"source": "新闻合集.jsonl"})
    assert written  # the first batch (2,048 chunks) went in, the next one ran out of space
    assert pipe.ask(Q_HOST).text.startswith("王辨明")
    assert {d.source: d.complete for d in pipe.documents()}.get("新闻合集.jsonl", False) is False
    filler.unlink()
    done: list[str] = []
    t = threading.Thread(target=lambda: done.append(pipe.ask(Q_HOST).text), daemon=True)
    t.start()
    t.join(30)
    assert done and done[0].startswith("王辨明"), "a question hung after space was freed"
    with pytest.raises(StoreError) as exc:
        pipe.ingest([big], keyword_first=True)
    assert exc.value.code == "store_full" and "重启" in exc.value.message
    pipe = None  # a restart: another process opens the data dir
    r = rag("docs", "list", env=_env(settings.data_dir, embed_cache))
    assert "新闻合集.jsonl" in r.stdout and "导入未完成" in r.stdout, r.stdout + r.stderr
    env = _env(settings.data_dir, embed_cache, RAG_MIN_FREE_MB="1")
    r = rag("ingest", str(big), "--keyword-first", env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    r = rag("docs", "list", "--json", env=_env(settings.data_dir, embed_cache))
    docs = {d["source"]: d for d in json.loads(r.stdout)}
    assert docs["新闻合集.jsonl"]["complete"] is True and docs["新闻合集.jsonl"]["chunks"] >= len(written)


def test_a_saved_keyword_index_missing_chunks_is_brought_up_to_date(tmp_path, embed_cache):
    """Chunks written without a new generation token (a write cut off before its token bump, as
    on a full disk) are found by the next process: the saved index is current only if it holds
    as many chunks as Chroma."""
    from rag.settings import build_pipeline
    from rag.store import chunk_metadata
    from rag.types import Article

    settings = make_settings(tmp_path / "data", embed_cache, retrieval_mode="bm25")
    pipe = build_pipeline(settings)
    assert pipe.ingest([CORPUS]).errors == []
    pipe.keyword.refresh()
    from rag.chunk import chunk_article

    art = Article(
        id="x" * 16, title="防汛部署", text="本报讯 我县召开蓝藻治理专题部署会议，研究蓝藻治理。", source="裸写.txt"
    )
    chunks = chunk_article(art)
    pipe.store.col.upsert(  # written straight to Chroma: no token bump
        ids=[c.id for c in chunks],
        embeddings=pipe.embedder.embed_documents([c.embed_text for c in chunks]),
        documents=[c.text for c in chunks],
        metadatas=[{**chunk_metadata(c), "dense": 1, "wts": time.time()} for c in chunks],
    )
    fresh = build_pipeline(settings)
    hits = fresh.keyword.search("蓝藻治理", 5) if fresh.keyword.refresh() or True else []
    assert fresh.keyword.last_action in ("updated", "built") and hits and hits[0][0].source == "裸写.txt"


# -- 5. a read-only data dir ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_read_only_data_dir_answers_everything_and_refuses_writes(read_only, tmp_path, embed_cache):
    """A data dir on a read-only mount (closed cleanly before): ``rag ask`` and ``rag serve``
    answer; uploads, ``rag ingest`` and ``rag docs delete`` are refused with ``store_readonly``."""
    data = tmp_path / "data"
    _seed(data, embed_cache)
    before = _chunk_ids(data)
    read_only(data)
    env = _env(data, embed_cache)
    r = rag("ask", Q_HOST, "--json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["answer"].startswith("王辨明"), r.stderr[-2000:]
    new = tmp_path / "防汛.txt"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    for args in (("ingest", str(new)), ("docs", "delete", "绛县新闻-2024年4-5月.txt")):
        r = rag(*args, env=env)
        assert r.returncode == 2 and "只读" in _chinese_error(None, "store_readonly", text=r.stderr), args
    with RagServe(env, tmp_path / "serve.log") as srv:
        _answers(srv.ask())
        _answers(srv.ask(date_from="2024-05-01", date_to="2024-05-31"))
        assert httpx.get(f"{srv.url}/api/health").status_code == 200
        assert httpx.get(f"{srv.url}/api/documents").status_code == 200
        _chinese_error(srv.upload("防汛.txt", NEW_ARTICLE), "store_readonly", 503)
        r = httpx.delete(f"{srv.url}/api/documents/x.txt")
        assert r.status_code in (404, 503)
    assert _chunk_ids(data) == before


# -- 6. one writer per data dir ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_second_writer_is_refused_with_a_clear_message(tmp_path, embed_cache):
    """``rag ingest`` into the data dir of a running ``rag serve`` (the README's "Adding documents"
    suggested it) made date-filtered questions fail until a restart. Now it is refused
    (``store_locked``, naming the server and what to do instead), the server keeps answering date
    filters, and after the server stops the same ingest goes in; ``rag serve`` is refused while
    an ingest writes, and a killed holder leaves no lock behind."""
    from rag.datalock import DataDirLock

    data = tmp_path / "data"
    _seed(data, embed_cache)
    env = _env(data, embed_cache)
    new = tmp_path / "防汛.txt"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    with RagServe(env, tmp_path / "serve.log") as srv:
        r = rag("ingest", str(new), env=env)
        message = _chinese_error(None, "store_locked", text=r.stderr, path_ok=True)
        assert r.returncode == 2 and "rag serve" in message and "文档管理" in message and str(srv.proc.pid) in message
        for args in (("docs", "delete", "绛县新闻-2024年4-5月.txt"), ("embed-pending",)):
            assert rag(*args, env=env).returncode == 2
        _answers(srv.ask(date_from="2024-05-01", date_to="2024-05-31"))
        assert rag("ask", Q_HOST, env=env).returncode == 0  # reading is never locked
        assert srv.upload("防汛.txt", NEW_ARTICLE).status_code == 200  # the server itself writes
        _answers(srv.ask(date_from="2024-05-01", date_to="2024-05-31"))
    assert rag("ingest", str(new), env=env).returncode == 0  # the lock went with the server

    holder = DataDirLock(data, "rag ingest")  # an ingest running in another process
    try:
        r = subprocess.run(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(_free_port())],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 2 and "rag ingest" in _chinese_error(None, "store_locked", text=r.stderr, path_ok=True)
    finally:
        holder.release()
    killed = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from rag.datalock import DataDirLock as L; l = L({str(data)!r}, 'x'); print(1, flush=True); input()",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert killed.stdout.readline().strip() == "1"
    killed.kill()
    killed.wait()
    assert rag("ingest", str(new), env=env).returncode == 0  # no stale lock after kill -9


# -- 7. a damaged embedding cache is rebuilt ------------------------------------------------------------------
@pytest.mark.slow
def test_a_damaged_embedding_cache_is_rebuilt(tmp_path):
    """``embed_cache.sqlite`` is a throw-away cache: garbage in it, or a truncated file, made
    ``rag ask``/``rag ingest`` exit with a traceback and ``rag serve`` fail at start. Now it is
    moved aside and started afresh; everything works."""
    data = tmp_path / "data"
    cache = data / "embed_cache.sqlite"
    env = _env(data, cache)
    _seed(data, cache)
    good = cache.read_bytes()
    for damage in (b"this is no database" * 100, good[: len(good) // 3], good[:100] + b"\xff" * 4000 + good[4100:]):
        cache.write_bytes(damage)
        r = rag("ask", Q_HOST, "--json", env=env)
        assert r.returncode == 0 and json.loads(r.stdout)["answer"].startswith("王辨明"), r.stderr[-1500:]
        assert "Traceback" not in r.stderr
        new = tmp_path / f"防汛{len(damage)}.txt"
        new.write_text(NEW_ARTICLE.replace("6月1日", f"6月{len(damage) % 28 + 1}日"), encoding="utf-8")
        r = rag("ingest", str(new), env=env)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-1500:]
        con = sqlite3.connect(cache)  # a working cache again
        assert con.execute("SELECT count(*) FROM emb").fetchone()[0] >= 1
        con.close()
    assert list(data.glob("embed_cache.sqlite.damaged-*"))
    cache.write_bytes(b"garbage" * 1000)
    with RagServe(env, tmp_path / "serve.log") as srv:
        _answers(srv.ask())


# -- 8. a hung Chroma server --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_hung_chroma_server_is_a_503_within_the_timeout(chroma_server, chroma_url, tmp_path, embed_cache):
    """A ``chroma run`` that is stopped (SIGSTOP: the port accepts, nothing answers) held every
    question without limit. Now each store call gives up after ``RAG_STORE_TIMEOUT`` seconds:
    503 ``store_timeout`` in Chinese; after SIGCONT the same server answers again."""
    from fastapi.testclient import TestClient

    from rag.api import create_app
    from rag.errors import StoreError
    from rag.settings import build_pipeline

    settings = make_settings(tmp_path / "data", embed_cache, chroma_url=chroma_url, collection="hung", store_timeout=3)
    pipe = build_pipeline(settings)
    assert pipe.ingest([CORPUS]).errors == []
    c = TestClient(create_app(settings, pipe))
    _answers(c.post("/api/ask", json={"question": Q_HOST}))
    chroma_server.proc.send_signal(signal.SIGSTOP)
    try:
        for method, path, body in (("POST", "/api/ask", {"question": Q_HOST}), ("GET", "/api/documents", None)):
            t0 = time.monotonic()
            r = c.request(method, path, json=body)
            took = time.monotonic() - t0
            message = _chinese_error(r, "store_timeout", 503)
            assert "秒内没有响应" in message and took < 3 * 4, took
        t0 = time.monotonic()  # a process starting now (opening the store) is not held either
        with pytest.raises(StoreError) as exc:
            build_pipeline(settings)
        assert exc.value.code == "store_timeout" and time.monotonic() - t0 < 15
    finally:
        chroma_server.proc.send_signal(signal.SIGCONT)
    _answers(c.post("/api/ask", json={"question": Q_HOST}))


# -- 10. interrupted ingests, temp files, bodies ------------------------------------------------------------
@pytest.mark.slow
def test_a_killed_ingest_is_listed_as_incomplete_and_resumed(tmp_path, embed_cache):
    """SIGKILL of ``rag ingest`` after its first written batch: the document is listed as
    incomplete (CLI and API), the next ``rag ingest`` of it says so and completes it, and the
    mark is gone."""
    import gzip

    news = Path(os.environ.get("RAG_EVAL_DISTRACTORS", "/work/shared/data/news-crud/news.jsonl.gz"))
    if not news.exists():
        pytest.skip(f"needs the news-crud archive at {news}")
    data = tmp_path / "data"
    env = _env(data, embed_cache)
    _seed(data, embed_cache)
    big = tmp_path / "合集.jsonl"
    with gzip.open(news, "rt", encoding="utf-8") as f, big.open("w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if i >= 300:
                break
            out.write(line)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ingest", str(big), "--keyword-first"],
        env={**env, "RAG_EMBED_CACHE": "off"},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(_chunk_ids(data)) > 21:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    r = rag("docs", "list", env=env)
    assert "合集.jsonl" in r.stdout and "导入未完成" in r.stdout, r.stdout + r.stderr
    r = rag("docs", "list", "--json", env=env)
    assert {d["source"]: d["complete"] for d in json.loads(r.stdout)}["合集.jsonl"] is False
    r = rag("ingest", str(big), "--keyword-first", env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    r = rag("docs", "list", "--json", env=env)
    docs = {d["source"]: d for d in json.loads(r.stdout)}
    assert docs["合集.jsonl"]["complete"] is True and docs["合集.jsonl"]["articles"] >= 250


@pytest.mark.slow
def test_leftover_upload_files_are_removed_at_start(tmp_path, embed_cache):
    """Uploads a killed server never finished (``<data dir>/uploads``, the chat's copies
    included) are removed when the server starts again."""
    data = tmp_path / "data"
    _seed(data, embed_cache)
    left = data / "uploads" / "upload-abc123"
    left.mkdir(parents=True)
    (left / "0f1e.txt").write_bytes(b"x" * 1000)
    (data / "uploads" / "gradio" / "f00").mkdir(parents=True)
    (data / "uploads" / "gradio" / "f00" / "上传.md").write_text("x", encoding="utf-8")
    with RagServe(_env(data, embed_cache), tmp_path / "serve.log") as srv:
        assert not left.exists() and not (data / "uploads" / "gradio" / "f00").exists()
        r = httpx.post(f"{srv.url}/gradio_api/upload", files={"files": ("聊天.md", b"# t\n\nx")})
        assert r.status_code == 200 and r.json()[0].startswith(str(data / "uploads" / "gradio"))


def test_bodies_are_bounded_in_size_and_time(seed_settings, seed_pipeline):
    """A 54 MB history body (answered before, 4 at once took the server from 525 to 931 MiB)
    is refused by its Content-Length before a byte is read; a body that goes over the limit
    without one is cut off; a half-sent JSON body is answered 408 ``body_timeout`` and an
    upload that stalls is dropped, instead of holding a worker without limit."""
    from rag.api.security import BodyGuard
    from tests.live_server import LiveServer
    from ui.server import create_server

    app = create_server(seed_settings, seed_pipeline)
    for m in app.user_middleware:
        if m.cls is BodyGuard:
            m.kwargs.update(deadline_s=2.0, idle_s=2.0)
    with LiveServer(app) as srv:
        big = json.dumps({"question": "他强调了什么？", "history": ["李晓军调研" * 100] * 20_000})
        assert len(big) > 50_000_000 / 3
        t0 = time.monotonic()
        r = httpx.post(f"{srv.url}/api/ask", content=big, headers={"content-type": "application/json"}, timeout=60)
        assert "请求体太大" in _chinese_error(r, "body_too_large", 413) and time.monotonic() - t0 < 10

        def chunks():
            yield b'{"question": "' + "问".encode() * 10
            for _ in range(800):
                yield b"x" * 4096

        r = httpx.post(f"{srv.url}/v1/chat/completions", content=chunks(), headers={"content-type": "application/json"})
        _chinese_error(r, "body_too_large", 413)

        for path, head in (
            ("/api/ask", b"Content-Type: application/json\r\nContent-Length: 100\r\n"),
            ("/api/documents", b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n"),
        ):
            with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as sock:
                t0 = time.monotonic()
                sock.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head + b"\r\n{")
                reply = sock.recv(65536)
                took = time.monotonic() - t0
                assert reply.startswith(b"HTTP/1.1 4") and took < 15, (path, reply[:200], took)
                if path == "/api/ask":
                    assert b"408" in reply.split(b"\r\n")[0] and "body_timeout" in reply.decode("utf-8", "replace")
        _answers(httpx.post(f"{srv.url}/api/ask", json={"question": Q_HOST}, timeout=60))


# -- 11. Chinese, accurate error texts --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client_seed(seed_settings, seed_pipeline):
    from fastapi.testclient import TestClient

    from rag.api import create_app

    return TestClient(create_app(seed_settings, seed_pipeline))


def test_malformed_bodies_get_chinese_errors(client_seed):
    """Invalid UTF-8, GBK-encoded JSON, deeply nested JSON, a broken multipart boundary: each a
    Chinese message that says what is wrong ("There was an error parsing the body" before)."""
    c = client_seed
    for body, ctype in (
        (b'{"question": "' + b"\xff\xfe\xb0" + b'"}', "application/json"),
        ('{"question": "李晓军调研了哪些地方？"}'.encode("gbk"), "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (json.dumps({"question": {"a": [[[[{"b": 1}]]]]}}).encode(), "application/json"),
    ):
        r = c.post("/api/ask", content=body, headers={"content-type": ctype})
        assert r.status_code in (400, 422), (body[:40], r.text[:200])
        err = r.json()["error"]
        assert HAN.search(err["message"]) and "There was an error" not in err["message"], err
    r = c.post(
        "/api/documents",
        content=b'--other\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nx\r\n--oth',
        headers={"content-type": "multipart/form-data; boundary=b0undary"},
    )
    message = _chinese_error(r, "bad_request", 400)
    assert "boundary" in message and "Did not find" not in message


def test_a_damaged_chroma_database_is_reported_as_such(tmp_path, embed_cache):
    """A corrupt ``chroma.sqlite3`` was reported with SQLite's English text, an internal path and
    "请确认 Chroma 服务已启动". Now: ``store_corrupt``, what to do, no path."""
    data = tmp_path / "data"
    _seed(data, embed_cache)
    db = data / "chroma" / "chroma.sqlite3"
    raw = bytearray(db.read_bytes())
    raw[100:4096] = b"\xa5" * (4096 - 100)  # the schema page
    db.write_bytes(bytes(raw))
    r = rag("ask", Q_HOST, env=_env(data, embed_cache))
    message = _chinese_error(None, "store_corrupt", text=r.stderr)
    assert r.returncode == 2 and "损坏" in message and "Chroma 服务已启动" not in message and str(data) not in message
