"""The persisted keyword index on real parts (embedded Chroma on tmp_path, the seed corpus,
rjieba): a process started after an ingest loads it without tokenizing, a stale one is
updated incrementally, a corrupt or mismatched one is rebuilt with a log line, and the batched
archive look-ups make one Chroma call each."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from tests.conftest import CORPUS, make_settings

QUESTION = "招商引资工作推进会议"
NEW_ARTICLE = """# 我县举办首届山楂文化旅游节

本报讯 6月8日，我县首届山楂文化旅游节在横水镇山楂产业园开幕。副县长郝卫东宣布开幕，来自周边县市的两千余名游客参加活动。

（记者 侯晓峰）
"""


def _pipeline(data_dir, **kw):
    from rag.settings import build_pipeline

    return build_pipeline(make_settings(data_dir, None, retrieval_mode="bm25").with_overrides(**kw))


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """A data dir with the seed corpus ingested keyword-first (the ingest saved the index)."""
    data = tmp_path_factory.mktemp("kwpersist") / "data"
    pipe = _pipeline(data)
    assert pipe.ingest([CORPUS], keyword_first=True).errors == []
    assert pipe.keyword.last_action == "built" and pipe.keyword.tokenized == pipe.store.count() > 0
    return data, [(c.id, round(s, 4)) for c, s in pipe.keyword.search(QUESTION, 10)]


@pytest.fixture
def data_copy(ingested, tmp_path):
    data, _ = ingested
    shutil.copytree(data, tmp_path / "data")
    return tmp_path / "data"


def _spy_tokenize(pipe) -> list[str]:
    calls: list[str] = []
    real = pipe.tokenizer.tokenize
    pipe.tokenizer.tokenize = lambda text: (calls.append(text), real(text))[1]
    return calls


def test_process_started_after_ingest_loads_index_without_tokenizing(ingested, data_copy):
    _, hits_before = ingested
    pipe = _pipeline(data_copy)
    calls = _spy_tokenize(pipe)
    pipe.keyword.refresh()
    assert pipe.keyword.last_action == "loaded" and pipe.keyword.loaded
    assert pipe.keyword.tokenized == 0 and calls == []  # no chunk was tokenized
    assert len(pipe.keyword) == pipe.store.count()
    assert [(c.id, round(s, 4)) for c, s in pipe.keyword.search(QUESTION, 10)] == hits_before
    assert calls == [QUESTION]  # only the question
    # local names gathered by the ingest's build are in the loaded dictionary
    assert "新庄村" in pipe.tokenizer.tokenize("横水镇新庄村")
    ans = pipe.ask("县长在招商引资工作推进会议上强调了什么？")
    assert not ans.abstained and "招商" in ans.text


def test_stale_index_is_updated_incrementally(data_copy, tmp_path):
    from rag.settings import keyword_index_dir

    # another process writes without saving any keyword index of its own
    writer = _pipeline(data_copy, keyword_index="off")
    new = tmp_path / "new" / "绛县新闻-2024年6月.txt"
    new.parent.mkdir()
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    n_before = writer.store.count()
    assert writer.ingest([new], keyword_first=True).articles == 1
    n_new = writer.store.count() - n_before

    pipe = _pipeline(data_copy)
    pipe.keyword.refresh()
    assert pipe.keyword.last_action == "updated"
    assert pipe.keyword.tokenized == n_new  # only the new chunks, not the archive
    hits = pipe.keyword.search("首届山楂文化旅游节在哪里开幕？", 3)
    assert hits and hits[0][0].title == "我县举办首届山楂文化旅游节"

    # a deleted document disappears from keyword search (count check → id listing → tombstones)
    assert pipe.delete_document("绛县新闻-2024年6月.txt") == n_new
    assert pipe.keyword.refresh() and pipe.keyword.last_action == "updated"
    assert not [h for h in pipe.keyword.search("山楂文化旅游节", 5) if h[0].title == "我县举办首届山楂文化旅游节"]
    assert len(pipe.keyword) == pipe.store.count() == n_before

    # the update was saved: the next process loads it and tokenizes nothing
    again = _pipeline(data_copy)
    again.keyword.refresh()
    assert again.keyword.last_action == "loaded" and again.keyword.tokenized == 0
    assert len(again.keyword) == n_before
    names = json.loads((keyword_index_dir(make_settings(data_copy)) / "CURRENT").read_text())
    assert set(names) == {"base", "state"}


def test_corrupt_index_is_rebuilt_with_a_warning(ingested, data_copy, caplog):
    from rag.settings import keyword_index_dir

    _, hits_before = ingested
    d = keyword_index_dir(make_settings(data_copy))
    base = d / json.loads((d / "CURRENT").read_text())["base"]
    docs = base / "docs.npy"
    raw = bytearray(docs.read_bytes())
    raw[-8:] = b"\xff" * 8  # flipped bytes in the postings: same size, wrong content
    docs.write_bytes(bytes(raw))
    pipe = _pipeline(data_copy)
    with caplog.at_level(logging.WARNING, logger="rag.retrieve"):
        pipe.keyword.refresh()
    assert pipe.keyword.last_action == "built" and pipe.keyword.tokenized == pipe.store.count()
    assert any("corrupt" in r.getMessage() and "checksum" in r.getMessage() for r in caplog.records)
    assert [(c.id, round(s, 4)) for c, s in pipe.keyword.search(QUESTION, 10)] == hits_before

    # a truncated state file: the same
    state = d / json.loads((d / "CURRENT").read_text())["state"]
    state.write_bytes(state.read_bytes()[:100])
    caplog.clear()
    pipe = _pipeline(data_copy)
    with caplog.at_level(logging.WARNING, logger="rag.retrieve"):
        pipe.keyword.refresh()
    assert pipe.keyword.last_action == "built"
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    assert [(c.id, round(s, 4)) for c, s in pipe.keyword.search(QUESTION, 10)] == hits_before


def test_changed_user_dictionary_triggers_a_rebuild(data_copy, tmp_path, caplog):
    changed = tmp_path / "dict.txt"
    changed.write_text((CORPUS / "dict.txt").read_text(encoding="utf-8") + "\n山楂产业园 nt\n", encoding="utf-8")
    pipe = _pipeline(data_copy, dict_path=changed)
    with caplog.at_level(logging.WARNING, logger="rag.retrieve"):
        pipe.keyword.refresh()
    assert pipe.keyword.last_action == "built" and pipe.keyword.tokenized == pipe.store.count()
    assert any("tokenizer configuration" in r.getMessage() for r in caplog.records)
    # the rebuilt index is saved under the new signature: the next process with it loads it
    again = _pipeline(data_copy, dict_path=changed)
    again.keyword.refresh()
    assert again.keyword.last_action == "loaded" and again.keyword.tokenized == 0
    # ... and one with the old dictionary rebuilds again (one index per data dir)
    old = _pipeline(data_copy)
    old.keyword.refresh()
    assert old.keyword.last_action == "built"


def test_reindex_keyword_cli(data_copy, monkeypatch):
    from typer.testing import CliRunner

    from rag.cli import app

    monkeypatch.setenv("RAG_DICT", str(CORPUS / "dict.txt"))
    r = CliRunner().invoke(app, ["reindex", "--keyword", "--data-dir", str(data_copy)])
    assert r.exit_code == 0, r.output
    assert "已重建关键词索引" in r.output
    pipe = _pipeline(data_copy)
    pipe.keyword.refresh()
    assert pipe.keyword.last_action == "loaded" and pipe.keyword.tokenized == 0


def test_keyword_filters_use_the_index_columns(data_copy):
    from rag.retrieve import Filters

    pipe = _pipeline(data_copy)
    pipe.keyword.refresh()
    every = pipe.keyword.search("调研", 50)
    assert len({c.date for c, _ in every}) > 1
    day = every[0][0].date
    only = pipe.keyword.search("调研", 50, Filters(date_from=day, date_to=day))
    assert only and {c.date for c, _ in only} == {day}
    assert [c.id for c, _ in only] == [c.id for c, _ in every if c.date == day]
    author = next(c.author for c, _ in every if c.author)
    by = pipe.keyword.search("调研", 50, Filters(author=author))
    assert by and {c.author for c, _ in by} == {author}
    assert pipe.keyword.search("调研", 50, Filters(author="没有这个人")) == []
    assert pipe.keyword.search("调研", 50, Filters(source="no-such-file.txt")) == []


# ------------------------------------------------------------------------- batched look-ups


class _CallCounter:
    """Counts Chroma calls (``get``, ``query``, ``count``) made through a store's collection."""

    def __init__(self, store):
        self.calls: list[str] = []
        col = store.col
        for name in ("get", "query", "count"):
            real = getattr(col, name)
            setattr(col, name, self._wrap(name, real))

    def _wrap(self, name, real):
        def call(*a, **kw):
            self.calls.append(name)
            return real(*a, **kw)

        return call


@pytest.mark.parametrize("with_index", [True, False], ids=["ids-from-keyword-index", "chroma-filters"])
def test_batched_lookups_make_one_get_each(data_copy, with_index):
    from rag.lookup import StoreLookup

    pipe = _pipeline(data_copy)
    pipe.keyword.refresh()
    chunks = list(pipe.store.iter_chunks())
    by_article: dict[str, list] = {}
    for c in chunks:
        by_article.setdefault(c.article_id, []).append(c)
    aids = sorted(by_article)
    lookup = StoreLookup(pipe.store, pipe.keyword if with_index else None)
    counter = _CallCounter(pipe.store)

    leads = lookup.leads(aids + ["no-such-article"])
    assert counter.calls == ["get"]
    assert set(leads) == set(aids) and all(c.index == 0 and c.article_id == a for a, c in leads.items())

    counter.calls.clear()
    pairs = [(a, i) for a in aids for i in (1, 2, 99)]
    got = lookup.chunks_at(pairs)
    assert counter.calls == ["get"]
    want = {(c.article_id, c.index) for c in chunks if c.index in (1, 2)}
    assert set(got) == want and all(got[k].index == k[1] for k in got)

    counter.calls.clear()
    whole = lookup.article_chunks(aids)
    assert counter.calls == ["get"]
    for a in aids:
        assert [c.index for c in whole[a]] == sorted(c.index for c in by_article[a])
        assert [c.id for c in whole[a]] == [c.id for c in sorted(by_article[a], key=lambda c: c.index)]
    assert lookup.leads([]) == {} and lookup.chunks_at([]) == {} and lookup.article_chunks([]) == {}
    assert counter.calls == ["get"]  # empty requests ask nothing

    # the single-item methods are the batched ones
    a = aids[0]
    assert lookup.lead(a).id == leads[a].id and lookup.chunk_at(a, 99) is None
    counter.calls.clear()
    author = next(c.author for c in chunks if c.author)
    mine = lookup.by_author(author)
    assert counter.calls == ["get"] and mine and all(c.author == author and c.index == 0 for c in mine)
    assert {c.article_id for c in mine} == {c.article_id for c in chunks if c.author == author}
    assert [c.date for c in mine] == sorted((c.date for c in mine), reverse=True)
    assert lookup.by_author("没有这个人") == []


def test_store_calls_per_question_are_bounded(data_copy, tmp_path):
    """The same questions on the seed archive and on the seed + 300 news articles make the
    same bounded number of Chroma calls: none of them grows with the archive."""
    import gzip

    from eval.distractors import DEFAULT_DISTRACTORS

    questions = [
        "县长在招商引资工作推进会议上强调了什么？",
        "一季度经济运行分析会是哪天召开的？",
        "李晓军5月份调研了哪些地方？",
        "刘岚涛写了哪些报道？",
    ]
    counts = []
    for extra in (0, 300):
        data = tmp_path / f"d{extra}"
        shutil.copytree(data_copy, data)
        pipe = _pipeline(data)
        if extra:
            if not DEFAULT_DISTRACTORS.exists():
                pytest.skip("news-crud distractors not available")
            news = tmp_path / "news.jsonl"
            with gzip.open(DEFAULT_DISTRACTORS, "rt", encoding="utf-8") as src, news.open("w", encoding="utf-8") as out:
                for i, line in enumerate(src):
                    if i >= extra:
                        break
                    out.write(line)
            pipe.ingest([news], keyword_first=True)
        pipe.keyword.refresh()
        counter = _CallCounter(pipe.store)
        per_q = []
        for q in questions:
            counter.calls.clear()
            pipe.ask(q)
            per_q.append(len(counter.calls))
        counts.append(per_q)
    assert max(max(c) for c in counts) <= 12, counts
