"""The multi-turn development set and its scoring (eval/multiturn.py), and ``rag eval`` on
conversations end to end (real pipeline, real Chroma in a temp dir)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from eval.metrics import normalize
from eval.multiturn import TURN_KINDS, aggregate, is_multiturn, load_conversations, rewrite_ok, score_turn
from rag.parse import parse_file
from tests.conftest import CORPUS, ROOT

DATASET = ROOT / "eval" / "datasets" / "multiturn_dev.jsonl"
CORPORA = (CORPUS / "绛县新闻-2024年4-5月.txt", ROOT / "eval/datasets/multiturn_dev_corpus.txt")
NEWS = ROOT / "eval" / "datasets" / "news_dev_corpus.jsonl"


def test_the_development_set_is_well_formed():
    convs = load_conversations(DATASET)
    assert is_multiturn(DATASET) and not is_multiturn(ROOT / "eval/datasets/dev.jsonl")
    assert len(convs) >= 40 and all(2 <= len(c["turns"]) <= 4 for c in convs)
    texts = {normalize(a.title): normalize(a.text + a.author) for p in (*CORPORA, NEWS) for a in parse_file(p).articles}
    kinds = set()
    for c in convs:
        dt.date.fromisoformat(c["as_of"])
        for t in c["turns"]:
            kinds.add(t["kind"])
            if t.get("unanswerable"):
                assert not t.get("facts") and not t.get("articles"), c["id"]
                continue
            assert t["facts"] and t["articles"], c["id"]
            assert all(normalize(a) in texts for a in t["articles"]), (c["id"], t["articles"])
            for fact in t["facts"]:  # every fact is written in one of its articles
                assert any(normalize(fact) in texts[normalize(a)] for a in t["articles"]), (c["id"], fact)
    assert kinds == set(TURN_KINDS)  # every kind of turn is in the set


def test_turn_scores():
    turn = {"question": "那今年呢？", "kind": "relative_date", "unanswerable": True, "require": ["2026年"]}
    turn["answer_contains"] = ["最近一次是2025年4月28日"]
    said = {"standalone_question": "2026年一季度经济运行分析会由谁主持？", "abstained": True, "citations": []}
    ok = score_turn(
        turn, {**said, "answer": "档案中没有2026年一季度经济运行分析会的报道；最近一次是2025年4月28日。[1]"}
    )
    assert ok["rewrite_ok"] and ok["answer_passed"] and ok["passed"]
    vague = score_turn(turn, {**said, "answer": "新闻档案中没有找到能回答这个问题的内容。"})
    assert vague["rewrite_ok"] and not vague["passed"]  # abstained, but without the latest report
    assert rewrite_ok({"standalone": "县委书记是谁？"}, "县委书记是谁") is True  # punctuation ignored
    assert rewrite_ok({"standalone": "县委书记是谁？"}, "春季义务植树活动栽植了多少株苗木，县委书记是谁？") is False
    assert rewrite_ok({"require": ["殡仪馆"], "forbid": ["零工"]}, "零工市场和殡仪馆") is False
    assert rewrite_ok({}, "随便") is None
    recs = [
        {"conversation": "a", "scores": ok},
        {"conversation": "a", "scores": vague},
        {"conversation": "b", "scores": ok},
    ]
    m = aggregate(recs)
    assert (m["turns"], m["conversations"], m["turn_pass_rate"], m["conversation_pass_rate"]) == (3, 2, 2 / 3, 0.5)


def test_rag_eval_runs_conversations(tmp_path, embed_cache):
    from rag.cli import app

    wanted = {"mt-date-01", "mt-county-03", "mt-county-01"}
    lines = [ln for ln in DATASET.read_text(encoding="utf-8").splitlines() if json.loads(ln)["id"] in wanted]
    subset = tmp_path / "three.jsonl"
    subset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["eval", "--dataset", str(subset), "--n-distractors", "0", "--embed-cache", str(embed_cache)]
    args += [x for p in CORPORA for x in ("--corpus", str(p))] + ["--out", str(tmp_path / "out")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "[answers] 轮次通过" in res.output and "[questions] 轮次通过" in res.output
    out = tmp_path / "out"
    assert {"report.md", "report.json", "results-answers.jsonl", "results-questions.jsonl"} <= {
        p.name for p in out.iterdir()
    }
    rows = [json.loads(x) for x in (out / "results-answers.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 9 and [r["history_sent"] for r in rows[:3]] == [0, 2, 4]  # questions and answers
    by_turn = {(r["conversation"], r["turn"]): r for r in rows}
    assert by_turn[("mt-county-01", 2)]["standalone_question"] == "县委书记是谁？"
    assert by_turn[("mt-county-03", 2)]["standalone_question"] == "张维华是什么职务？"
    assert all(by_turn[("mt-date-01", i)]["scores"]["passed"] for i in (1, 2, 3))
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report["runs"]) == {"answers", "questions"}
    assert report["runs"]["answers"]["metrics"]["turns"] == 9
    assert "## By turn kind" in (out / "report.md").read_text(encoding="utf-8")
    assert Path(report["out_dir"]) == out
