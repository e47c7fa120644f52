"""Quality gate: each development set, in-process, with the configuration recorded in its
thresholds file ([run]: dataset, corpus, 30 news-crud distractors, top_k 5, hybrid):
``eval/thresholds.toml`` (dev.jsonl on the county corpus) and ``eval/thresholds_news.toml``
(news_dev.jsonl on its news-crud corpus). Fails, listing the failed metrics and questions,
when a metric falls below its minimum or above its maximum.

The distractors' embeddings go to the session's embedding cache, so they are computed once
per test session (~100 chunks). The report is written to the test's tmp dir (path printed).
"""

from __future__ import annotations

import pytest

from eval.distractors import DEFAULT_DISTRACTORS
from eval.results import failure_lines
from eval.runner import DEFAULT_THRESHOLDS, check, config_mismatch, load_thresholds, run_eval
from tests.conftest import CORPUS, ROOT, make_settings


@pytest.mark.parametrize("table", [DEFAULT_THRESHOLDS, ROOT / "eval" / "thresholds_news.toml"], ids=["dev", "news_dev"])
def test_quality_gate(tmp_path, embed_cache, table):
    thresholds = load_thresholds(table)
    want = thresholds["run"]
    if want.get("n_distractors", 0) and not DEFAULT_DISTRACTORS.exists():
        pytest.fail(
            f"the quality gate needs the news-crud distractors at {DEFAULT_DISTRACTORS}; "
            "set RAG_EVAL_DISTRACTORS to a copy of news.jsonl.gz"
        )
    settings = make_settings(tmp_path / "data", embed_cache, retrieval_mode=want.get("retrieval_mode"))
    corpus = ROOT / want["corpus"] if want.get("corpus") else CORPUS
    run = run_eval(
        settings,
        dataset=ROOT / want["dataset"],
        corpus=corpus,
        distractors=DEFAULT_DISTRACTORS,
        n_distractors=want["n_distractors"],
        top_k=want["top_k"],
        out_dir=tmp_path / "report",
    )
    assert config_mismatch(run, thresholds) == []
    failures = check(run, thresholds)
    summary = ", ".join(f"{k} {v:.3f}" for k, v in run.metrics.items() if isinstance(v, float))
    print(f"\nquality gate: {summary}\nreport: {run.out_dir / 'report.md'}")
    if failures:
        pytest.fail(
            "quality below eval/thresholds.toml:\n  "
            + "\n  ".join(failures)
            + "\nfailed questions:\n  "
            + "\n  ".join(failure_lines(run))
            + f"\nreport: {run.out_dir / 'report.md'}",
            pytrace=False,
        )
