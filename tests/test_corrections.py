"""Articles listed with their metadata, and a user's corrections of a title, date or author
(``rag.corrections``): through the pipeline, ``PATCH /api/articles/{id}`` (key rule included)
and ``rag docs edit``; used by date filters and citations at once, kept when the same file is
ingested again, listed by ``GET /api/documents`` and ``rag docs list``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag.api import create_app
from rag.cli import app as cli
from rag.retrieve import Filters
from tests.live_server import private_settings_and_pipeline

WRONG = "# 县图书馆开展读书月活动\n\n本报讯 3月2日，县图书馆开展读书月活动，赠送图书1200册。（记者 王五）\n"
QUESTION = "县图书馆读书月活动赠送图书多少册？"


@pytest.fixture(scope="module")
def store(tmp_path_factory, embed_cache):
    """A private pipeline with the seed and one article dated wrongly (a year given by mistake)."""
    settings, pipe = private_settings_and_pipeline(tmp_path_factory.mktemp("fix"), embed_cache)
    path = tmp_path_factory.mktemp("fixsrc") / "读书月.txt"
    path.write_text(WRONG, encoding="utf-8")
    report = pipe.ingest_file(path, source="读书月.txt", year=2019)
    assert report.articles == 1
    return settings, pipe, path


def _article(pipe, source="读书月.txt") -> dict:
    (doc,) = [d for d in pipe.documents() if d.source == source]
    (art,) = doc.article_list
    return art


def test_articles_are_listed_with_title_date_author_and_chunks(store):
    settings, pipe, _ = store
    seed = next(d for d in pipe.documents() if d.source.startswith("绛县新闻"))
    assert len(seed.article_list) == seed.articles == 5
    first = seed.article_list[0]
    assert set(first) == {"id", "title", "date", "author", "chunks", "corrected"}
    assert (first["title"], first["date"], first["author"]) == ("我县召开一季度经济运行分析会", "2024-04-29", "张倩倩")
    assert sum(a["chunks"] for a in seed.article_list) == seed.chunks and first["corrected"] == []
    body = TestClient(create_app(settings, pipe)).get("/api/documents").json()
    listed = next(d for d in body if d["source"] == seed.source)["article_list"]
    assert listed == seed.article_list
    out = CliRunner().invoke(cli, ["docs", "list", "--data-dir", str(settings.data_dir)]).stdout
    assert f"  2024-04-29\t《我县召开一季度经济运行分析会》\t张倩倩\t文本块 {first['chunks']}\t{first['id']}" in out
    assert "无署名" in out  # an article without a byline says so


def test_a_corrected_date_is_used_by_filters_and_citations_and_kept_on_reingest(store):
    settings, pipe, path = store
    art = _article(pipe)
    assert art["date"] == "2019-03-02"
    in_2024 = Filters(date_from="2024-01-01", date_to="2024-12-31")
    assert pipe.ask(QUESTION, filters=in_2024).abstained  # the wrong date hides it from 2024
    client = TestClient(create_app(settings, pipe))
    r = client.patch(f"/api/articles/{art['id']}", json={"date": "2024-03-02", "author": "王五"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        **art,
        "date": "2024-03-02",
        "author": "王五",
        "source": "读书月.txt",
        "corrected": ["date", "author"],
    }
    ans = pipe.ask(QUESTION, filters=in_2024)
    assert not ans.abstained and "1200" in ans.text
    assert (ans.citations[0].date, ans.citations[0].author) == ("2024-03-02", "王五")
    # the same file again (with the same wrong year) changes nothing and keeps the correction
    report = pipe.ingest_file(path, source="读书月.txt", year=2019)
    assert (report.unchanged, report.updated, report.undated) == (1, 0, 0)
    assert _article(pipe)["date"] == "2024-03-02" and _article(pipe)["corrected"] == ["date", "author"]
    assert not pipe.ask(QUESTION, filters=in_2024).abstained


def test_a_corrected_title_is_searched_and_cited(store):
    settings, pipe, _ = store
    art = _article(pipe)
    out = CliRunner().invoke(
        cli, ["docs", "edit", art["id"], "--title", "县图书馆读书月赠书活动", "--data-dir", str(settings.data_dir)]
    )
    assert out.exit_code == 0 and "已更正：" in out.stdout and "《县图书馆读书月赠书活动》" in out.stdout
    pipe.keyword.refresh()  # the CLI wrote through another pipeline: this one sees the new generation
    ans = pipe.ask(QUESTION)
    assert ans.citations[0].title == "县图书馆读书月赠书活动"
    assert "title" in _article(pipe)["corrected"]


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"date": "2024-02-30"}, 422, "bad_date"),
        ({"date": "5月1日"}, 422, "bad_date"),
        ({"title": "  "}, 422, "bad_request"),
        ({}, 422, "bad_request"),
    ],
)
def test_bad_corrections_are_refused_in_chinese(store, body, status, code):
    settings, pipe, _ = store
    r = TestClient(create_app(settings, pipe)).patch(f"/api/articles/{_article(pipe)['id']}", json=body)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["error"]["message"])


def test_unknown_article_is_404_and_the_key_rule_applies(store):
    settings, pipe, _ = store
    assert TestClient(create_app(settings, pipe)).patch("/api/articles/nosuch", json={"date": ""}).status_code == 404
    keyed = TestClient(create_app(replace(settings, api_key="k3y"), pipe))
    url = f"/api/articles/{_article(pipe)['id']}"
    assert keyed.patch(url, json={"author": "赵六"}).status_code == 401
    assert keyed.patch(url, json={"author": "赵六"}, headers={"X-API-Key": "bad"}).status_code == 403
    r = keyed.patch(url, json={"author": "赵六"}, headers={"X-API-Key": "k3y"})
    assert r.status_code == 200 and r.json()["author"] == "赵六"
