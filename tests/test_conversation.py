"""Conversation and time (issue 21), on the real pipeline: follow-ups that know when the topic
changed and resolve pronouns against the previous answer, and 今年/去年/上个月… resolved against
"today" (``RAG_TODAY``, ``as_of``) as a date range. Every example of the issue is a test here;
the chat's own path is in ``tests/test_browser.py``.

The relative-date cases need an article from another year than the seed bulletin's 2024: the
issue's 2025 article is ingested beside the seed corpus into a private store (never into
``corpus/``)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rag.answer.condense import Turn, condense, reference, turns_from_history
from rag.api import create_app
from rag.cli import app
from rag.errors import ConfigError
from rag.settings import Settings
from rag.timeref import resolve
from tests.conftest import make_settings
from tests.live_server import private_settings_and_pipeline

ARTICLE_2025 = (
    "# 我县召开2025年一季度经济运行分析会\n\n"
    "本报讯 2025年4月28日，我县召开2025年一季度经济运行分析会。县委副书记孙飞主持会议，"
    "县发改局、县统计局负责同志通报了一季度全县经济运行情况，各乡镇、各部门作了表态发言。\n\n"
    "孙飞强调，各级各部门要紧盯全年目标任务，抓项目、促投资、稳增长，确保二季度各项指标实现“双过半”。\n"
)
AS_OF = "2026-03-18"  # "asked in 2026"
NO_2026 = "档案中没有2026年一季度经济运行分析会的报道；最近一次是2025年4月28日。[1]"


@pytest.fixture(scope="module")
def dated(tmp_path_factory, embed_cache):
    """Settings (``RAG_TODAY`` = ``AS_OF``) and a pipeline: the seed corpus plus the 2025 article."""
    base = tmp_path_factory.mktemp("conversation")
    settings, pipe = private_settings_and_pipeline(base / "data", embed_cache, today=AS_OF)
    extra = base / "绛县新闻-2025年4月.txt"
    extra.write_text(ARTICLE_2025, encoding="utf-8")
    report = pipe.ingest([extra])
    assert report.articles == 1 and not report.errors
    return settings, pipe


# -- a question that names its own subject is never merged -------------------------------------
@pytest.mark.parametrize(
    "history,question,value",
    [
        (["春季义务植树活动栽植了多少株苗木？"], "县委书记是谁？", "解芳"),
        (["春季义务植树活动栽植了多少株苗木？", "县委书记是谁？", "县委书记是谁？"], "县委书记是谁？", "解芳"),
        (["五一期间全县接待游客多少人次？"], "谁是县委书记？", "解芳"),
        (["五一期间全县接待游客多少人次？"], "副县长有哪些人？", "王大凤"),
    ],
)
def test_a_question_naming_its_subject_is_searched_as_asked(seed_pipeline, history, question, value):
    ans = seed_pipeline.ask(question, history)
    alone = seed_pipeline.ask(question)
    assert ans.standalone_question == question
    assert not ans.abstained and value in ans.text
    assert ans.text == alone.text  # the history changed nothing


def test_pronoun_is_resolved_against_the_previous_answer(seed_pipeline):
    # the answer given (the chat and /v1 send it) ...
    given = [{"role": "user", "content": "县教育局局长是谁？"}, {"role": "assistant", "content": "张维华。[1]"}]
    ans = seed_pipeline.ask("他是什么职务？", given)
    assert ans.standalone_question == "张维华是什么职务？"
    assert not ans.abstained and "县教育局局长" in ans.text
    # ... or recomputed when only the questions are given
    assert seed_pipeline.ask("他是什么职务？", ["县教育局局长是谁？"]).standalone_question == "张维华是什么职务？"
    # a wrong answer in the history is what the user saw: it is followed, not recomputed
    other = [{"role": "user", "content": "县教育局局长是谁？"}, {"role": "assistant", "content": "王辨明。[1]"}]
    assert seed_pipeline.ask("他是什么职务？", other).standalone_question == "王辨明是什么职务？"


def test_follow_up_keeps_the_time_of_the_question_it_follows(seed_pipeline):
    ans = seed_pipeline.ask("他强调了什么？", ["李晓军5月份调研了哪些地方？"])
    assert ans.standalone_question == "李晓军5月份强调了什么？"
    assert not ans.abstained and "李晓军强调" in ans.text
    assert ans.citations and all(c.date.startswith("2024-05") for c in ans.citations)  # no April meeting quoted


def test_ellipsis_takes_the_topic_once(seed_pipeline):
    history = ["李晓军5月6日调研了哪些民生项目？", "那殡仪馆呢？", "那公交公司呢？"]
    q = condense("那零工市场呢？", history, seed_pipeline.known_people)
    assert q == "李晓军5月6日调研了哪些民生项目，零工市场呢？"  # the topic once, never the earlier ellipses
    assert condense("那王大凤呢？", ["李晓军5月份调研了哪些地方？"]) == "王大凤5月份调研了哪些地方？"
    assert condense("那去年呢？", ["今年一季度经济运行分析会由谁主持？"]) == "去年一季度经济运行分析会由谁主持？"
    assert condense("还有呢？", ["张建元调研组到了哪些学校？"]) == "张建元调研组到了哪些学校，还有呢？"


def test_it_and_a_left_out_subject_take_the_previous_topic():
    said = [
        {"role": "user", "content": "青海银行的第一大股东是谁？"},
        {"role": "assistant", "content": "青海省财政厅。[1]"},
    ]
    assert condense("它的持股比例是多少？", said) == "青海省财政厅的持股比例是多少？"  # what the answer named
    junk = [said[0], {"role": "assistant", "content": "司不再。[1]"}]  # not a name: the question is kept whole
    assert condense("它的持股比例是多少？", junk) == "青海银行的第一大股东是谁，它的持股比例是多少？"
    assert condense("它的AI硬件基础设施业务排名全球第几？", ["联想集团计划未来三年追加多少研发投资？"]) == (
        "联想集团的AI硬件基础设施业务排名全球第几？"
    )
    # a question that starts with its verb left its subject out; one with a name has its own
    assert condense("吸引了来自多少个国家和地区的采购商？", ["第31届华交会成交额是多少？"]) == (
        "第31届华交会吸引了来自多少个国家和地区的采购商？"
    )
    assert condense("栽植了多少株苗木？", ["上周县里开展了什么活动？"]) == "上周县里栽植了多少株苗木？"
    assert condense("殡仪馆要怎么改造？", ["荣亿是什么职务？"]) == "殡仪馆要怎么改造？"


def test_glued_follow_ups_stay_bounded():
    history = ["张建元调研组到了哪些地方？", "其中有几所学校？", "这些学校在哪？", "其中哪所最大？"]
    q = condense("那些老师呢？", history)
    assert q.startswith("张建元调研组到了哪些地方，") and q.count("，") <= 2  # the topic, one earlier clause, this one
    assert len(set(q.split("，"))) == len(q.split("，"))  # nothing twice


def test_a_long_history_is_resolved_linearly_without_recursion(seed_pipeline):
    chain = ["李晓军5月份调研了哪些地方？"] + ["他强调了什么？"] * 999
    assert condense("他强调了什么？", chain, seed_pipeline.known_people) == "李晓军5月份强调了什么？"
    calls = []
    recompute = lambda s: calls.append(s) or "张维华。"  # noqa: E731
    got = condense("他是什么职务？", ["县教育局局长是谁？"] * 1000, answer_of=recompute)
    assert got == "张维华是什么职务？" and calls == ["县教育局局长是谁？"]  # one recompute: the previous turn


@pytest.mark.parametrize(
    "question,kind",
    [
        ("县委书记是谁？", None),
        ("副县长有哪些人？", None),
        ("春季义务植树活动栽植了多少株苗木？", None),
        ("应该怎么办？", "bare"),  # 该 of 应该 is no anaphor
        ("他是什么职务？", "person"),
        ("这次会议由谁主持？", "event"),
        ("会上谁讲话了？", "event"),
        ("该渡槽有多长？", "thing"),
        ("那里有什么特产？", "place"),
        ("其中有几所学校？", "other"),
        ("那殡仪馆呢？", "ellipsis"),
        ("王大凤呢？", "ellipsis"),
        ("还有呢？", "ellipsis"),
        ("是哪天召开的？", "bare"),
        ("主持人是谁？", "bare"),
    ],
)
def test_reference_decides_whether_a_question_continues(question, kind):
    assert reference(question) == kind


def test_history_shapes():
    turns = turns_from_history(
        [
            {"role": "assistant", "content": "欢迎"},  # before any question: ignored
            "县教育局局长是谁？",
            {"role": "assistant", "content": "张维华。[1]"},
            {"role": "system", "content": "x"},
            {"role": "user", "content": "他是什么职务？"},
            Turn("q3", "a3"),
        ]
    )
    assert turns == [Turn("县教育局局长是谁？", "张维华。[1]"), Turn("他是什么职务？"), Turn("q3", "a3")]


# -- relative dates ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question,today,span,written",
    [
        ("去年一季度经济运行分析会由谁主持？", "2026-03-18", ("2025-01-01", "2025-12-31"), "2025年一季度"),
        ("今年一季度经济运行分析会由谁主持？", "2026-03-18", ("2026-01-01", "2026-03-18"), "2026年一季度"),
        ("前年有哪些会议？", "2026-03-18", ("2024-01-01", "2024-12-31"), "2024年有"),
        ("去年上半年有哪些活动？", "2026-03-18", ("2025-01-01", "2025-06-30"), "2025年上半年"),
        ("下半年有哪些活动？", "2026-10-01", ("2026-07-01", "2026-10-01"), "2026年下半年"),
        ("上个月县里开了什么会？", "2026-01-15", ("2025-12-01", "2025-12-31"), "2025年12月县里"),
        ("本月有哪些活动？", "2026-03-18", ("2026-03-01", "2026-03-18"), "2026年3月有"),
        ("这个月有哪些活动？", "2026-03-18", ("2026-03-01", "2026-03-18"), "2026年3月有"),
        ("上周召开了哪些会议？", "2026-03-18", ("2026-03-09", "2026-03-15"), "召开了"),
        ("本周县长去了哪里？", "2026-03-18", ("2026-03-16", "2026-03-18"), "县长去了"),
        ("近期县里有哪些活动？", "2026-03-18", ("2025-12-19", "2026-03-18"), "县里有"),
        ("最近县长调研了哪些地方？", "2026-03-18", ("2025-12-19", "2026-03-18"), "县长调研"),
        ("近三个月开了哪些会？", "2026-03-18", ("2025-12-19", "2026-03-18"), "开了哪些会"),
        ("昨天开了什么会？", "2026-03-18", ("2026-03-17", "2026-03-17"), "2026年3月17日开了"),
    ],
)
def test_relative_dates_resolve_against_today(question, today, span, written):
    p = resolve(question, dt.date.fromisoformat(today))
    assert (p.date_from.isoformat(), p.date_to.isoformat()) == span
    assert written in p.shown and resolve(p.shown, p.as_of) is None  # nothing relative left
    assert p.expression not in p.searched and resolve(p.searched, p.as_of) is None


@pytest.mark.parametrize(
    "question", ["比去年增长了多少？", "与去年同期相比如何？", "陈某今年多大？", "最近一次经济运行分析会是哪天？"]
)
def test_not_periods(question):
    assert resolve(question, dt.date(2026, 3, 18)) is None


def test_last_years_meeting_is_answered_with_its_year(dated):
    _, pipe = dated
    ans = pipe.ask("去年一季度经济运行分析会由谁主持？")  # RAG_TODAY = 2026-03-18
    assert ans.standalone_question == "2025年一季度经济运行分析会由谁主持？"
    assert not ans.abstained and ans.text.startswith("孙飞") and "2025年" in ans.text  # "（按2025年检索）"
    assert [c.date for c in ans.citations] == ["2025-04-28"]
    assert ans.period == {
        "expression": "去年",
        "label": "2025年",
        "date_from": "2025-01-01",
        "date_to": "2025-12-31",
        "as_of": AS_OF,
    }
    # the year before: the seed bulletin's meeting, chaired by 李晓军
    older = pipe.ask("前年一季度经济运行分析会由谁主持？")
    assert older.text.startswith("李晓军") and [c.date for c in older.citations] == ["2024-04-29"]


def test_this_years_meeting_is_missing_and_the_latest_is_named(dated):
    _, pipe = dated
    ans = pipe.ask("今年一季度经济运行分析会由谁主持？")
    assert ans.abstained and ans.text == NO_2026
    assert [(c.n, c.date, c.title) for c in ans.citations] == [(1, "2025-04-28", "我县召开2025年一季度经济运行分析会")]
    # the same through the follow-up, and through the stream (whose pieces add up to the answer)
    follow = pipe.ask("那今年呢？", ["去年一季度经济运行分析会由谁主持？"])
    assert follow.standalone_question == "2026年一季度经济运行分析会由谁主持？" and follow.text == NO_2026
    items = list(pipe.ask_stream("今年一季度经济运行分析会由谁主持？"))
    assert "".join(items[:-1]) == items[-1].text == NO_2026


def test_as_of_per_request_wins_over_rag_today(dated):
    _, pipe = dated
    ans = pipe.ask("今年一季度经济运行分析会由谁主持？", as_of="2025-06-30")
    assert not ans.abstained and ans.text.startswith("孙飞") and ans.period["label"] == "2025年"
    ans = pipe.ask("今年一季度经济运行分析会由谁主持？", as_of=dt.date(2024, 5, 31))
    assert ans.text.startswith("李晓军") and ans.period["date_to"] == "2024-05-31"
    # combined with an explicit filter: the period within it
    ans = pipe.ask("去年一季度经济运行分析会由谁主持？", filters=_filters("2025-05-01", None))
    assert ans.abstained and ans.text == "档案中没有2025年一季度经济运行分析会的报道。" and ans.citations == []


def _filters(a, b):
    from rag.retrieve import Filters

    return Filters(date_from=a, date_to=b)


def test_rag_today_is_read_in_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_TODAY", "2026-03-18")
    assert Settings().today_date == dt.date(2026, 3, 18)
    monkeypatch.setenv("RAG_TODAY", "2026-02-30")
    with pytest.raises(ConfigError) as e:
        Settings()
    assert e.value.code == "bad_config" and "RAG_TODAY" in e.value.message
    monkeypatch.delenv("RAG_TODAY")
    assert make_settings(tmp_path).today_date is None  # the server's date at each question


# -- entry points --------------------------------------------------------------------------------
def test_api_takes_assistant_turns_and_as_of(dated):
    settings, pipe = dated
    client = TestClient(create_app(settings, pipe))
    body = {
        "question": "他是什么职务？",
        "history": [{"role": "user", "content": "县教育局局长是谁？"}, {"role": "assistant", "content": "张维华。[1]"}],
    }
    r = client.post("/api/ask", json=body).json()
    assert r["standalone_question"] == "张维华是什么职务？" and "县教育局局长" in r["answer"]
    r = client.post("/api/ask", json={"question": "今年一季度经济运行分析会由谁主持？"}).json()
    assert r["abstained"] and r["answer"] == NO_2026 and r["period"]["label"] == "2026年"
    r = client.post("/api/ask", json={"question": "今年一季度经济运行分析会由谁主持？", "as_of": "2025-12-31"}).json()
    assert r["answer"].startswith("孙飞") and r["period"]["as_of"] == "2025-12-31"
    bad = client.post("/api/ask", json={"question": "今年开了哪些会？", "as_of": "2025-13-01"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad_date"
    events = client.post("/api/ask/stream", json={"question": "今年一季度经济运行分析会由谁主持？"}).text
    assert "event: final" in events and "最近一次是2025年4月28日" in events
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "as_of" in schema["AskRequest"]["properties"] and "assistant" in json.dumps(schema, ensure_ascii=False)


def test_v1_uses_the_assistant_messages(dated):
    settings, pipe = dated
    client = TestClient(create_app(settings, pipe))
    first = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "县教育局局长是谁？"}]})
    said = first.json()["choices"][0]["message"]["content"]
    assert said.startswith("张维华") and "参考来源" in said
    messages = [
        {"role": "system", "content": "你是助手"},
        {"role": "user", "content": "县教育局局长是谁？"},
        {"role": "assistant", "content": said},
        {"role": "user", "content": "他是什么职务？"},
    ]
    content = client.post("/v1/chat/completions", json={"messages": messages}).json()["choices"][0]["message"]
    assert content["content"].startswith("县教育局局长")


def test_cli_history_answers_and_as_of(dated):
    settings, _ = dated
    args = ["--data-dir", str(settings.data_dir), "--json"]
    runner = CliRunner()
    r = runner.invoke(
        app, ["ask", "他是什么职务？", "--history", "县教育局局长是谁？", "--history", "答：王辨明。", *args]
    )
    assert json.loads(r.stdout)["standalone_question"] == "王辨明是什么职务？"
    r = runner.invoke(app, ["ask", "今年一季度经济运行分析会由谁主持？", "--as-of", "2026-03-18", *args])
    assert json.loads(r.stdout)["answer"] == NO_2026
    r = runner.invoke(app, ["ask", "今年一季度经济运行分析会由谁主持？", "--as-of", "2025-07-01", *args])
    assert json.loads(r.stdout)["answer"].startswith("孙飞")
    r = runner.invoke(app, ["ask", "今年呢？", "--as-of", "明天", *args])
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "bad_date"
    plain = runner.invoke(app, ["ask", "去年一季度经济运行分析会由谁主持？", "--data-dir", str(settings.data_dir)])
    assert "（按“2025年一季度经济运行分析会由谁主持？”检索）" in plain.stdout and "（按2025年检索）" in plain.stdout
