"""Quality gate: the whole gold set, in-process, with the configuration recorded in
``eval/thresholds.toml`` ([run]: 30 news-crud distractors, top_k 5, hybrid). Fails, listing
the failed metrics and questions, when a metric falls below its threshold.

The distractors' embeddings go to the session's embedding cache, so they are computed once
per test session (~100 chunks). The report is written to the test's tmp dir (path printed).
"""

from __future__ import annotations

import pytest

from eval.distractors import DEFAULT_DISTRACTORS
from eval.results import failure_lines
from eval.runner import DEFAULT_THRESHOLDS, check, config_mismatch, load_thresholds, run_eval
from tests.conftest import CORPUS, ROOT, make_settings


def test_quality_gate(tmp_path, embed_cache):
    thresholds = load_thresholds(DEFAULT_THRESHOLDS)
    want = thresholds["run"]
    if want.get("n_distractors", 0) and not DEFAULT_DISTRACTORS.exists():
        pytest.fail(f"the quality gate needs the news-crud distractors at {DEFAULT_DISTRACTORS}; "
                    "set RAG_EVAL_DISTRACTORS to a copy of news.jsonl.gz")
    settings = make_settings(tmp_path / "data", embed_cache, retrieval_mode=want.get("retrieval_mode"))
    run = run_eval(settings, dataset=ROOT / want["dataset"], corpus=CORPUS, distractors=DEFAULT_DISTRACTORS,
                   n_distractors=want["n_distractors"], top_k=want["top_k"], out_dir=tmp_path / "report")
    assert config_mismatch(run, thresholds) == []
    failures = check(run, thresholds)
    summary = ", ".join(f"{k} {v:.3f}" for k, v in run.metrics.items() if isinstance(v, float))
    print(f"\nquality gate: {summary}\nreport: {run.out_dir / 'report.md'}")
    if failures:
        pytest.fail("quality below eval/thresholds.toml:\n  " + "\n  ".join(failures)
                    + "\nfailed questions:\n  " + "\n  ".join(failure_lines(run))
                    + f"\nreport: {run.out_dir / 'report.md'}", pytrace=False)
