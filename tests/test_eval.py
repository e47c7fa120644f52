"""Evaluation suite: metric functions on hand-made cases, distractor sampling, and a small
end-to-end run of the runner (real pipeline, seed corpus, a few questions)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval import metrics as M
from eval.distractors import load_distractors, make_title
from eval.train_scorer import choose_threshold, risk_coverage
from tests.conftest import CORPUS, ROOT, make_settings

DEV = ROOT / "eval" / "datasets" / "dev.jsonl"


# -- normalisation --------------------------------------------------------------------------------
def test_normalize_width_punctuation_whitespace():
    assert M.normalize("５月９日，") == "5月9日"
    assert M.normalize("抓招商、强支撑。") == "抓招商强支撑"
    assert M.normalize("《李晓军调研农业农村工作》") == "李晓军调研农业农村工作"
    assert M.normalize(" Ａ Ｂ\u3000c\n") == "ABc"
    assert M.normalize("“两个确立”") == "两个确立"


def test_facts_found_ignores_markers_width_and_punctuation():
    answer = "县长李晓军主持会议，[1]要抓招商、强支撑。[2]时间是５月９日。[1]"
    assert M.facts_found(["李晓军", "抓招商强支撑", "5月9日", "王辨明"], answer) == ["李晓军", "抓招商强支撑", "5月9日"]
    assert M.fact_recall(["李晓军", "王辨明"], answer) == 0.5
    assert M.fact_recall([], answer) is None
    # a marker between two characters does not hide a fact
    assert M.facts_found(["主持会议"], "主持[1]会议") == ["主持会议"]


def test_required_facts():
    assert M.required_facts(["a", "b", "c"], None) == 3
    assert M.required_facts(["a", "b", "c"], 2) == 2
    assert M.required_facts(["a"], 3) == 1


# -- retrieval ------------------------------------------------------------------------------------
def test_hit_and_mrr_on_known_rankings():
    ranked = ["x", "gold", "y", "gold2"]
    assert M.first_relevant_rank(ranked, {"gold", "gold2"}) == 2
    assert M.hit_at_k(ranked, {"gold"}, 1) == 0.0
    assert M.hit_at_k(ranked, {"gold"}, 2) == 1.0
    assert M.reciprocal_rank(ranked, {"gold"}) == 0.5
    assert M.reciprocal_rank(ranked, {"gold2"}) == 0.25
    assert M.reciprocal_rank(ranked, {"nope"}) == 0.0
    assert M.reciprocal_rank(["gold"], {"gold"}) == 1.0
    assert M.article_recall(ranked, ["gold", "gold2", "gold3"]) == pytest.approx(2 / 3)
    # MRR over three questions ranked 1, 2 and not at all: (1 + 1/2 + 0) / 3
    assert M.mean([M.reciprocal_rank(r, {"g"}) for r in (["g"], ["a", "g"], ["a"])]) == pytest.approx(0.5)


# -- citations ------------------------------------------------------------------------------------
QUOTE = "本报讯 4月29日,我县召开一季度经济运行分析会。县委书记解芳出席会议并讲话。县委副书记、县长李晓军主持会议，并对二季度经济运行工作作具体安排。"


def test_cited_sentences_split_on_markers():
    assert M.cited_sentences("甲。[1]乙。[2][3]丙") == [("甲。", [1]), ("乙。", [2, 3])]
    assert M.cited_sentences("没有引用") == []


def test_citation_support_true_false():
    cits = [{"n": 1, "quote": QUOTE, "author": "张倩倩", "title": "我县召开一季度经济运行分析会"}]
    ok = "县委书记解芳出席会议并讲话。[1]"
    assert M.citation_support(ok, cits) == (1, 1, [])
    # half-width comma in the source vs full-width in the answer, and a trimmed sentence
    trimmed = "本报讯 4月29日，我县召开一季度经济运行分析会。[1]县委副书记、县长李晓军主持会议，……[1]"
    assert M.citation_support(trimmed, cits)[:2] == (2, 2)
    bad = "县委书记解芳主持会议。[1]"
    sup, total, unsupported = M.citation_support(bad, cits)
    assert (sup, total) == (0, 1) and unsupported == ["县委书记解芳主持会议。"]
    # a marker with no citation supports nothing
    assert M.citation_support("县委书记解芳出席会议并讲话。[2]", cits)[:2] == (0, 1)


def test_citation_support_with_one_citation_per_article():
    """A grouped citation holds every quoted span: a sentence is found in one of them, or in
    spans that touch; never across two spans that do not touch."""
    s1, s2, s3 = "县委书记解芳出席会议并讲话。", "县委副书记、县长李晓军主持会议。", "会议要求抓好安全稳定。"
    quotes = [{"start": 10, "end": 24, "text": s1}, {"start": 24, "end": 40, "text": s2}]
    quotes.append({"start": 90, "end": 101, "text": s3})
    cits = [{"n": 1, "quote": s1 + s2 + "……" + s3, "quotes": quotes, "author": "", "title": "T"}]
    assert M.citation_support(f"{s1}[1]{s3}[1]", cits)[:2] == (2, 2)
    assert M.citation_support(f"{s1}{s2}[1]", cits)[:2] == (1, 1)  # touching spans: one run
    assert M.citation_support("李晓军主持会议。会议要求抓好安全稳定。[1]", cits)[:2] == (0, 1)  # across a gap
    assert M.quoted_runs({"quote": "旧格式"}) == ["旧格式"]


def test_citation_support_author_answers():
    """Byline answers are checked with their structured fields (kind ``author``, value = the
    author stated), never by parsing their wording."""
    cits = [{"n": 1, "quote": "……正文……", "author": "刘岚涛", "title": "李晓军调研农业农村工作"}]
    text = "《李晓军调研农业农村工作》的作者是刘岚涛。[1]"
    assert M.citation_support(text, cits, kind="author", value="刘岚涛")[:2] == (1, 1)
    assert M.citation_support(text, cits, kind="author", value="张倩倩")[:2] == (0, 1)
    assert M.citation_support(text, cits)[:2] == (0, 1)  # not a byline answer: the quote must hold it
    anon = [{"n": 1, "quote": "……", "author": "", "title": "李晓军调研部分重点民生项目建设情况"}]
    assert M.citation_support("《李晓军调研部分重点民生项目建设情况》没有署名作者。[1]", anon, kind="author")[:2] == (
        1,
        1,
    )
    assert M.citation_support("《李晓军调研农业农村工作》没有署名作者。[1]", cits, kind="author")[:2] == (0, 1)


def test_citation_support_byline_lists():
    cits = [
        {
            "n": 1,
            "quote": "……",
            "author": "刘岚涛",
            "title": "我县召开2024年招商引资工作推进会议",
            "date": "2024-05-10",
        },
        {"n": 2, "quote": "……", "author": "刘岚涛", "title": "李晓军调研农业农村工作", "date": "2024-05-07"},
    ]
    ok = "刘岚涛署名的报道有：《我县召开2024年招商引资工作推进会议》（2024-05-10）[1]；《李晓军调研农业农村工作》（2024-05-07）[2]。"
    assert M.citation_support(ok, cits, kind="author", value="刘岚涛")[:2] == (2, 2)
    wrong_date = ok.replace("2024-05-07", "2024-05-08")
    assert M.citation_support(wrong_date, cits, kind="author", value="刘岚涛")[:2] == (1, 2)
    assert M.citation_support(ok, cits, kind="author", value="张倩倩")[:2] == (0, 2)
    swapped = ok.replace("[1]", "[x]").replace("[2]", "[1]").replace("[x]", "[2]")
    assert M.citation_support(swapped, cits, kind="author", value="刘岚涛")[:2] == (0, 2)


def test_citation_precision():
    assert M.citation_precision(["a", "b", "a"], {"a"}) == pytest.approx(2 / 3)
    assert M.citation_precision([], {"a"}) is None


# -- statistics -----------------------------------------------------------------------------------
def test_percentiles():
    xs = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert M.percentile(xs, 50) == pytest.approx(55.0)
    assert M.percentile(xs, 95) == pytest.approx(95.5)
    assert M.percentile(xs, 0) == 10 and M.percentile(xs, 100) == 100
    assert M.percentile([7], 95) == 7
    assert M.percentile([], 50) is None
    assert M.percentile([3, 1, 2], 50) == 2  # order of input does not matter
    with pytest.raises(ValueError):
        M.percentile(xs, 101)


# -- per question and aggregate -------------------------------------------------------------------
def _answer(text, titles, abstained=False, total_ms=100.0):
    cits = [{"n": i + 1, "title": t, "quote": QUOTE, "author": ""} for i, t in enumerate(titles)]
    return {"answer": text, "abstained": abstained, "citations": cits, "timings_ms": {"total_ms": total_ms}}


def test_score_question_and_aggregate():
    gold_t = "我县召开一季度经济运行分析会"
    fact = {"kind": "fact", "facts": ["解芳", "4月29日"], "articles": [gold_t]}
    retrieved = [{"title": "别的", "text": "无关", "author": ""}, {"title": gold_t, "text": QUOTE, "author": "张倩倩"}]
    s = M.score_question(fact, _answer("县委书记解芳出席会议并讲话。[1]", [gold_t, "别的"]), retrieved, k=5)
    assert s["hit_at_1"] == 0.0 and s["hit_at_k"] == 1.0 and s["rr"] == 0.5 and s["gold_rank"] == 2
    assert s["context_fact_recall"] == 1.0 and s["answer_fact_recall"] == 0.5
    assert s["facts_missing"] == ["4月29日"] and not s["passed"]
    assert s["citation_precision"] == 0.5 and s["citation_support"] == 1.0
    lst = {"kind": "list", "facts": ["解芳", "4月29日", "王辨明"], "min_facts": 2, "articles": [gold_t]}
    s2 = M.score_question(lst, _answer(QUOTE[:40] + "[1]", [gold_t], total_ms=300), retrieved[::-1], k=5)
    assert s2["passed"] and s2["rr"] == 1.0
    una = {"kind": "unanswerable", "facts": [], "articles": []}
    s3 = M.score_question(una, _answer("新闻档案中没有找到……", [], abstained=True, total_ms=50), retrieved, k=5)
    s4 = M.score_question(una, _answer("乱答。[1]", ["别的"], total_ms=200), retrieved, k=5)
    assert s3["passed"] and not s4["passed"]
    # an abstention on an answerable question fails and counts as a false abstention
    s5 = M.score_question(fact, _answer("新闻档案中没有找到……", [], abstained=True, total_ms=400), retrieved, k=5)
    assert not s5["passed"] and s5["answer_fact_recall"] == 0.0

    agg = M.aggregate([s, s2, s3, s4, s5])
    assert agg["n"] == 5 and agg["n_answerable"] == 3 and agg["n_unanswerable"] == 2
    assert agg["pass_rate"] == pytest.approx(2 / 5)
    assert agg["abstention_accuracy"] == 0.5
    assert agg["false_abstention_rate"] == pytest.approx(1 / 3)
    assert agg["mrr"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert agg["latency_p50_ms"] == 200
    by_kind = M.aggregate_by_kind([s, s2, s3, s4, s5], ["fact", "list", "unanswerable", "unanswerable", "fact"])
    assert list(by_kind) == ["fact", "list", "unanswerable"]
    assert by_kind["unanswerable"]["abstention_accuracy"] == 0.5 and by_kind["fact"]["abstention_accuracy"] is None


def test_check_thresholds():
    metrics = {"pass_rate": 0.8, "false_abstention_rate": 0.2, "mrr": None}
    assert M.check_thresholds(metrics, {"min": {"pass_rate": 0.7}, "max": {"false_abstention_rate": 0.3}}) == []
    fails = M.check_thresholds(
        metrics,
        {
            "min": {"pass_rate": 0.9, "mrr": 0.5},
            "max": {"false_abstention_rate": 0.1},
            "kind": {"fact": {"min": {"pass_rate": 0.9}}, "multi": {"min": {}}},
        },
        {"fact": {"pass_rate": 0.5}},
    )
    assert any(f.startswith("pass_rate = 0.800 < minimum 0.9") for f in fails)
    assert any(f.startswith("mrr: not measured") for f in fails)
    assert any(f.startswith("false_abstention_rate = 0.200 > maximum 0.1") for f in fails)
    assert any(f.startswith("[fact] pass_rate = 0.500") for f in fails)
    assert any(f.startswith("[multi] no questions") for f in fails)


def test_thresholds_file_is_valid():
    from eval.runner import DEFAULT_THRESHOLDS, load_thresholds

    t = load_thresholds(DEFAULT_THRESHOLDS)
    assert set(t["min"]) | set(t["max"]) <= set(M.METRICS)
    for kind, table in t.get("kind", {}).items():
        assert set(table.get("min", {})) | set(table.get("max", {})) <= set(M.METRICS), kind
    assert {"dataset", "n_distractors", "top_k"} <= set(t["run"])


# -- calibration ----------------------------------------------------------------------------------
def test_risk_coverage_and_the_threshold_for_a_target_risk():
    # (confidence, answerable, the answer passes): two right answers, one wrong, two unanswerable
    outs = [(0.9, True, True), (0.7, True, True), (0.5, True, False), (0.4, False, False), (0.1, False, False)]
    pts = {round(p["threshold"], 2): p for p in risk_coverage(outs)}
    assert pts[0.0]["coverage"] == 1.0 and pts[0.0]["risk"] == 3 / 5 and pts[0.0]["pass_rate"] == 2 / 5
    assert pts[0.45]["risk"] == 1 / 3 and pts[0.45]["abstention"] == 1.0 and pts[0.45]["false_abstention"] == 0.0
    assert pts[0.6]["risk"] == 0.0 and pts[0.6]["false_abstention"] == 1 / 3 and pts[0.6]["pass_rate"] == 4 / 5
    assert choose_threshold(list(pts.values()), 0.34) == 0.41  # the lowest threshold with risk ≤ 0.34
    assert choose_threshold(list(pts.values()), 0.0) == 0.51
    assert choose_threshold([{"threshold": 0.2, "risk": 0.5, "coverage": 1.0}], 0.1) == 0.2  # none reaches it


# -- distractors ----------------------------------------------------------------------------------
def test_make_title():
    assert make_title("原标题：宁乡5人落网。正文……") == "原标题：宁乡5人落网"
    long = "深圳新闻网2023年8月17日讯（记者 张金）8月16日下午，深圳市召开了一个很长很长的会议。"
    t = make_title(long)
    assert len(t) <= 30 and t.endswith("…")
    assert make_title("") == ""


def _fake_news(path: Path, n: int) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            text = f"第{i}条新闻。" + "某市举行了一次与本县无关的活动，到场群众很多。" * 3
            f.write(
                json.dumps(
                    {"id": f"crud-{i}", "date": f"2023-08-0{i % 9 + 1}" if i % 5 else None, "text": text},
                    ensure_ascii=False,
                )
                + "\n"
            )
        f.write("not json\n")
        f.write(json.dumps({"id": "crud-short", "date": None, "text": "太短"}, ensure_ascii=False) + "\n")
        f.write(
            json.dumps({"id": "crud-county", "date": None, "text": "绛县召开会议。" * 20}, ensure_ascii=False) + "\n"
        )
    return path


def test_distractors_deterministic_nested_and_clean(tmp_path):
    src = _fake_news(tmp_path / "news.jsonl.gz", 40)
    a = load_distractors(src, 10)
    assert [x.source for x in a] == [x.source for x in load_distractors(src, 10)]
    assert len(a) == 10 and all(x.source.startswith("news-crud/crud-") for x in a)
    assert {x.id for x in load_distractors(src, 3)} <= {x.id for x in a}  # a smaller draw is a subset
    assert all(len(x.title) <= 30 and x.title and x.author == "" for x in a)
    assert all(x.date == "" or len(x.date) == 10 for x in a)
    everything = load_distractors(src, 1000)
    assert len(everything) == 40  # bad JSON, too short and county-mentioning lines skipped
    assert load_distractors(src, 0) == []
    with pytest.raises(FileNotFoundError, match="--distractors"):
        load_distractors(tmp_path / "missing.jsonl.gz", 5)


# -- end to end -----------------------------------------------------------------------------------
E2E_IDS = ["fact-02", "fact-12", "list-01", "followup-02", "unanswerable-03"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, embed_cache):
    from eval.runner import run_eval

    tmp = tmp_path_factory.mktemp("evalrun")
    src = _fake_news(tmp / "news.jsonl.gz", 12)
    settings = make_settings(tmp / "unused-data", embed_cache)
    run = run_eval(
        settings,
        dataset=DEV,
        corpus=CORPUS,
        distractors=src,
        n_distractors=3,
        top_k=5,
        ablation=True,
        out_dir=tmp / "out",
        question_ids=E2E_IDS,
    )
    return run, tmp / "out"


def test_runner_writes_results_report_and_charts(small_run):
    run, out = small_run
    assert {
        "results.jsonl",
        "report.md",
        "report.json",
        "quality.png",
        "fact_recall_by_kind.png",
        "retrieval_by_kind.png",
        "latency.png",
        "ablation.png",
    } <= {p.name for p in out.iterdir()}
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == E2E_IDS
    for r in rows:  # the `rag ask --json` object + gold fields + scores
        assert {"question", "standalone_question", "answer", "abstained", "citations", "timings_ms"} <= set(r)
        assert {"kind", "facts", "articles", "history", "scores", "retrieved"} <= set(r)
    fu = next(r for r in rows if r["id"] == "followup-02")
    assert fu["history"] and fu["standalone_question"] != fu["question"]  # history reached ask()
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["config"]["n_distractors"] == 3 and data["index"]["distractor_articles"] == 3
    assert set(data["ablation"]) == {"bm25", "dense", "hybrid"}
    for key in (
        "hit_at_k",
        "mrr",
        "context_fact_recall",
        "answer_fact_recall",
        "citation_precision",
        "citation_support",
        "abstention_accuracy",
        "false_abstention_rate",
        "latency_p95_ms",
    ):
        assert key in data["metrics"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## By kind" in md and "![ablation](ablation.png)" in md and "No reranker" in md
    assert run.metrics["n"] == 5 and run.metrics["hit_at_k"] is not None


def test_runner_scores_are_sane(small_run):
    run, _ = small_run
    by_id = {r["id"]: r["scores"] for r in run.main.records}
    assert by_id["fact-02"]["gold_rank"] is not None  # the seed article is retrieved among distractors
    assert by_id["fact-12"]["hit_at_k"] == 1.0
    for r in run.main.records:
        assert 0.0 <= (r["scores"].get("citation_support") or 0.0) <= 1.0
        assert r["scores"]["latency_ms"] > 0


def test_cli_eval_check_fails_below_thresholds(tmp_path, embed_cache):
    from rag.cli import app

    data = tmp_path / "two.jsonl"
    lines = DEV.read_text(encoding="utf-8").splitlines()
    data.write_text("\n".join(lines[1:2] + lines[-2:-1]) + "\n", encoding="utf-8")  # fact-02, unanswerable-17
    strict = tmp_path / "strict.toml"
    strict.write_text("[min]\npass_rate = 1.01\n[max]\nfalse_abstention_rate = 0.0\n", encoding="utf-8")
    lax = tmp_path / "lax.toml"
    lax.write_text("[min]\nhit_at_k = 0.0\n", encoding="utf-8")
    args = [
        "eval",
        "--dataset",
        str(data),
        "--corpus",
        str(CORPUS),
        "--n-distractors",
        "0",
        "--embed-cache",
        str(embed_cache),
    ]
    res = CliRunner().invoke(app, args + ["--out", str(tmp_path / "a"), "--check", str(strict)])
    assert res.exit_code == 1, res.output
    assert "pass_rate = " in res.output and "1.01" in res.output
    res = CliRunner().invoke(app, args + ["--out", str(tmp_path / "b"), "--check", str(lax)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b" / "report.md").exists()
