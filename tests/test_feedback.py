"""Feedback (有用 / 有误): the store in the data dir, its export as evaluation dataset lines
(read back by ``eval.runner.load_dataset``), ``rag feedback export``, and ``POST /api/feedback``
with the key rule. The browser click that starts it all is in ``tests/test_proxy.py``."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from eval.runner import load_dataset
from rag.api import create_app
from rag.cli import app as cli
from rag.errors import RagError
from rag.feedback import FeedbackStore, dataset_line, export_lines, make_feedback
from tests.conftest import make_settings

Q_SCHOOLS = "调研组到了哪些学校？"
T_SCHOOLS = "张建元带队到我县调研义务教育优质均衡发展情况"


@pytest.fixture(scope="module")
def answer(seed_pipeline) -> dict:
    return seed_pipeline.ask(Q_SCHOOLS).to_dict()


def test_store_appends_and_a_second_vote_replaces_the_first(tmp_path, answer):
    store = FeedbackStore(tmp_path / "data" / "feedback.jsonl")  # folder created on the first write
    assert store.records() == []
    first = store.add(make_feedback(answer, "useful", channel="chat"))
    store.add(make_feedback(answer, "wrong", comment="漏了一所学校", channel="chat", id=first.id))
    other = store.add(make_feedback({"question": "另一个问题", "answer": "……"}, "wrong", history=["前一个问题"]))
    records = store.records()
    assert [r.id for r in records] == [first.id, other.id]
    assert records[0].vote == "wrong" and records[0].comment == "漏了一所学校"
    assert records[0].citations[0]["title"] == T_SCHOOLS and records[0].citations[0]["quote"]
    assert records[1].history == ["前一个问题"] and records[1].standalone_question == "另一个问题"
    lines = (tmp_path / "data" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and "漏了一所学校" in lines[1]  # append-only, raw UTF-8


def test_a_torn_line_is_skipped_and_the_next_record_starts_afresh(tmp_path, answer):
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    kept = store.add(make_feedback(answer, "wrong"))
    with open(store.path, "a", encoding="utf-8") as f:
        f.write('{"id": "half a rec')  # a writer killed mid-line
    assert [r.id for r in store.records()] == [kept.id]
    after = store.add(make_feedback(answer, "useful"))
    assert [r.id for r in store.records()] == [kept.id, after.id]


def test_concurrent_writers_lose_nothing(tmp_path, answer):
    store = FeedbackStore(tmp_path / "feedback.jsonl")

    def write(i):
        for j in range(20):
            FeedbackStore(store.path).add(make_feedback({**answer, "question": f"问题{i}-{j}"}, "wrong"))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.question for r in store.records()}) == 80


@pytest.mark.parametrize(
    "kw,message",
    [
        ({"vote": "bad"}, "评价应为"),
        ({"answer": {"answer": "x"}}, "缺少问题"),
        ({"comment": "长" * 2001}, "comment 太长"),
        ({"answer": {"question": "问", "citations": ["not a dict"]}}, "citations"),
    ],
)
def test_bad_feedback_is_refused_in_chinese(answer, kw, message):
    args = {"answer": answer, "vote": "wrong", **kw}
    with pytest.raises(RagError) as e:
        make_feedback(args.pop("answer"), args.pop("vote"), **args)
    assert e.value.code == "bad_feedback" and e.value.status == 422 and message in e.value.message


def test_export_lines_follow_the_evaluation_format(tmp_path, answer):
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    store.add(make_feedback(answer, "wrong", comment="旧的"))
    newer = store.add(make_feedback(answer, "wrong", comment="还漏了第三实验小学"))  # same question: latest wins
    store.add(
        make_feedback(
            {"question": "他强调了什么？", "answer": "……", "abstained": True},
            "wrong",
            history=["李晓军5月份调研了哪些地方？"],
        )
    )
    store.add(make_feedback({**answer, "question": "有用的问题"}, "useful"))
    lines = export_lines(store.records())
    assert [ln["question"] for ln in lines] == [Q_SCHOOLS, "他强调了什么？"]
    first = lines[0]
    assert first["id"] == f"feedback-{newer.id}" and first["facts"] == [] and first["kind"] == "fact"
    assert first["articles"] == [T_SCHOOLS] and "history" not in first
    assert first["feedback"]["comment"] == "还漏了第三实验小学" and first["feedback"]["answer"] == answer["answer"]
    assert first["feedback"]["citations"][0]["quote"] == answer["citations"][0]["quote"]
    follow = lines[1]
    assert follow["kind"] == "followup" and follow["history"] == ["李晓军5月份调研了哪些地方？"]
    assert follow["articles"] == [] and follow["feedback"]["abstained"] is True
    assert [ln["question"] for ln in export_lines(store.records(), vote="useful")] == ["有用的问题"]
    # the lines are a dataset the evaluation runner reads
    path = tmp_path / "from_feedback.jsonl"
    path.write_text("".join(json.dumps(ln, ensure_ascii=False) + "\n" for ln in lines), encoding="utf-8")
    assert [q["id"] for q in load_dataset(path)] == [ln["id"] for ln in lines]


def test_rag_feedback_export_cli(tmp_path, answer):
    settings = make_settings(tmp_path / "data")
    fb = FeedbackStore(settings.feedback_path).add(make_feedback(answer, "wrong", comment="不全"))
    runner = CliRunner()
    r = runner.invoke(cli, ["feedback", "export", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0, r.output
    assert [json.loads(x) for x in r.stdout.splitlines()] == [dataset_line(fb)]
    assert "导出 1 条“有误”评价" in r.stderr
    out = tmp_path / "审核" / "feedback.jsonl"
    r = runner.invoke(cli, ["feedback", "export", "--out", str(out), "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 0 and r.stdout == ""
    assert load_dataset(out)[0]["id"] == f"feedback-{fb.id}"
    r = runner.invoke(cli, ["feedback", "export", "--vote", "meh", "--data-dir", str(settings.data_dir)])
    assert r.exit_code == 2 and "--vote 应为" in r.stderr


# -- POST /api/feedback -----------------------------------------------------------------------------
def test_api_feedback_round_trip_with_the_key_rule(tmp_path, seed_pipeline, answer):
    settings = make_settings(tmp_path / "data", api_key="s3cret")
    c = TestClient(create_app(settings, seed_pipeline))
    asked = c.post("/api/ask", json={"question": Q_SCHOOLS}).json()
    body = {**asked, "vote": "wrong", "comment": "少了一所", "history": [{"role": "user", "content": "之前的问题"}]}
    r = c.post("/api/feedback", json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert c.post("/api/feedback", json=body, headers={"X-API-Key": "nope"}).status_code == 403
    assert not settings.feedback_path.exists()
    r = c.post("/api/feedback", json=body, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 201, r.text
    stored = FeedbackStore(settings.feedback_path).records()
    assert [x.to_dict() for x in stored] == [r.json()]
    assert stored[0].channel == "api" and stored[0].history == ["之前的问题"] and stored[0].comment == "少了一所"
    assert stored[0].citations[0]["title"] == T_SCHOOLS
    # without a key configured, writes are open (as for documents)
    open_client = TestClient(create_app(replace(settings, api_key=None), seed_pipeline))
    assert open_client.post("/api/feedback", json={**body, "vote": "useful"}).status_code == 201


@pytest.mark.parametrize(
    "body,code,text",
    [
        ({"question": Q_SCHOOLS, "answer": "x", "vote": "meh"}, "bad_request", "vote：取值应为以下之一：useful、wrong"),
        ({"question": Q_SCHOOLS, "answer": "x"}, "bad_request", "vote：缺少此字段"),
        ({"question": "  ", "answer": "x", "vote": "wrong"}, "bad_feedback", "缺少问题"),
    ],
)
def test_api_feedback_errors_are_chinese_json(tmp_path, seed_pipeline, body, code, text):
    c = TestClient(create_app(make_settings(tmp_path / "data"), seed_pipeline))
    r = c.post("/api/feedback", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == code and text in r.json()["error"]["message"]
    assert not re.search(r"\b(or|and|Input|should)\b", r.json()["error"]["message"])  # no English words
