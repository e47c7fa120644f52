"""Chroma server mode against a real ``chroma run`` (started by the ``chroma_server`` fixture):
an ingest in one process is answerable in another without a restart (dense and BM25), an
outage raises StoreError from every operation, and the same objects work again after a restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CORPUS, ROOT, make_settings

pytestmark = [pytest.mark.allow_hosts(["127.0.0.1"]), pytest.mark.network, pytest.mark.slow]

NEW_TITLE = "我县举办首届山楂文化旅游节"
NEW_ARTICLE = f"""# {NEW_TITLE}

本报讯 6月8日，我县首届山楂文化旅游节在横水镇山楂产业园开幕。副县长郝卫东宣布开幕，来自周边县市的两千余名游客参加活动。

旅游节期间举办山楂采摘体验、山楂美食评比和非遗剪纸展览，现场签约山楂深加工项目三个，总投资一点二亿元。

（记者 侯晓峰）
"""
QUESTION = "首届山楂文化旅游节在哪里开幕？"


def _rag(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the ``rag`` CLI in its own process (as an ingest job next to a serving API would)."""
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def _env(url: str, collection: str, embed_cache, tmp_path) -> dict:
    env = {
        **os.environ,
        "RAG_CHROMA_URL": url,
        "RAG_COLLECTION": collection,
        "RAG_EMBED_CACHE": str(embed_cache),
        "RAG_DATA_DIR": str(tmp_path / "cli-data"),
        "RAG_DICT": str(CORPUS / "dict.txt"),
    }
    return env


def test_ingest_in_one_process_is_answerable_in_another(chroma_url, embed_cache, tmp_path):
    from rag.settings import build_pipeline

    s = make_settings(tmp_path / "data", embed_cache, chroma_url=chroma_url, collection="srv_cross")
    serving = build_pipeline(s)  # the "API": built before the ingest job runs
    assert serving.ingest([CORPUS]).errors == []
    serving.keyword.refresh()
    assert not [h for h in serving.keyword.search(QUESTION, 5) if h[0].title == NEW_TITLE]

    new = tmp_path / "new" / "绛县新闻-2024年6月.txt"
    new.parent.mkdir()
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    r = _rag(["ingest", str(new), "--json"], _env(chroma_url, "srv_cross", embed_cache, tmp_path))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["articles"] == 1

    # BM25: the generation token written by the other process makes this one rebuild
    assert serving.keyword.refresh() is True
    assert serving.keyword.search(QUESTION, 3)[0][0].title == NEW_TITLE
    # dense: the vectors written over HTTP are searchable here
    dense = serving.store.dense_search(serving.embedder.embed_query(QUESTION), 3)
    assert dense[0][0].title == NEW_TITLE
    answer = serving.ask(QUESTION)
    assert not answer.abstained
    assert answer.citations[0].title == NEW_TITLE
    assert "横水镇" in answer.text


def test_outage_raises_store_error_everywhere_and_recovers(chroma_server, chroma_url, embed_cache, tmp_path):
    from rag.errors import StoreError
    from rag.settings import build_pipeline

    s = make_settings(tmp_path / "data", embed_cache, chroma_url=chroma_url, collection="srv_outage")
    pipe = build_pipeline(s)
    assert pipe.ingest([CORPUS]).errors == []
    before = pipe.ask("一季度经济运行分析会是哪天召开的？")
    assert not before.abstained
    vec = pipe.embedder.embed_query("招商引资")

    chroma_server.stop()
    operations = {
        "ask": lambda: pipe.ask("一季度经济运行分析会是哪天召开的？"),
        "count": pipe.store.count,
        "documents": pipe.documents,
        "generation": pipe.store.generation,
        "dense_search": lambda: pipe.store.dense_search(vec, 3),
        "delete": lambda: pipe.delete_document("不存在.txt"),
        "ingest": lambda: pipe.ingest([CORPUS]),
        "embed_pending": pipe.embed_pending,
        "open": lambda: build_pipeline(s),
    }
    for name, op in operations.items():
        with pytest.raises(StoreError) as exc:
            op()
        assert exc.value.code == "store_unavailable", name
        assert exc.value.status == 503
        assert chroma_url in exc.value.message, name  # the message names the server

    chroma_server.start()  # same path and port
    again = pipe.ask("一季度经济运行分析会是哪天召开的？")
    assert again.text == before.text
    assert pipe.store.count() > 0
    assert pipe.ingest([CORPUS]).unchanged > 0


def test_unreachable_server_and_version_mismatch(chroma_url, monkeypatch):
    import socket

    import chromadb

    from rag.errors import StoreError
    from rag.store import open_client, versions_compatible

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(StoreError) as exc:
        open_client(None, dead)
    assert exc.value.code == "store_unavailable"
    assert dead in exc.value.message

    assert open_client(None, chroma_url).get_version().startswith("1.")
    monkeypatch.setattr(chromadb, "__version__", "0.6.3")  # a client of the older API generation
    with pytest.raises(StoreError) as exc:
        open_client(None, chroma_url)
    assert exc.value.code == "store_version_mismatch"
    assert "0.6.3" in exc.value.message
    assert versions_compatible("1.0.0", "1.5.9") and not versions_compatible("0.6.3", "1.5.9")


def test_keyword_first_over_http_then_embed_pending(chroma_url, embed_cache, tmp_path):
    """Keyword-first chunks are found by BM25 at once and by dense search only after
    ``rag embed-pending`` (run in another process)."""
    from rag.settings import build_pipeline

    s = make_settings(tmp_path / "data", embed_cache, chroma_url=chroma_url, collection="srv_kwfirst")
    pipe = build_pipeline(s)
    new = tmp_path / "new" / "绛县新闻-2024年6月.txt"
    new.parent.mkdir()
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    report = pipe.ingest([CORPUS, new], keyword_first=True)
    assert report.pending == report.added > 0 and report.embedded == 0
    pipe.keyword.refresh()
    assert pipe.keyword.search(QUESTION, 3)[0][0].title == NEW_TITLE
    assert pipe.store.dense_search(pipe.embedder.embed_query(QUESTION), 5) == []

    r = _rag(["embed-pending", "--batch", "8"], _env(chroma_url, "srv_kwfirst", embed_cache, tmp_path))
    assert r.returncode == 0, r.stderr
    assert pipe.store.pending_count() == 0
    assert pipe.store.dense_search(pipe.embedder.embed_query(QUESTION), 3)[0][0].title == NEW_TITLE
