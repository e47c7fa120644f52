"""The results of an evaluation run (``EvalRun``) and the formatters that both the runner
(``eval.runner``: CLI summary lines) and the report (``eval.report``) use."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import metrics as M


@dataclass
class ModeResult:
    """Scores of one pass over the questions with one retrieval mode."""

    mode: str
    records: list[dict]
    metrics: dict
    by_kind: dict[str, dict]
    seconds: float


@dataclass
class EvalRun:
    """Everything a report needs. ``main`` is the run with the configured retrieval mode;
    ``ablation`` holds one ``ModeResult`` per mode when ``--ablation`` was given; ``baseline``
    another run's metrics over the same questions (``run_eval``'s ``baseline``)."""

    config: dict
    index: dict
    main: ModeResult
    ablation: dict[str, ModeResult] = field(default_factory=dict)
    ablation_note: str = ""
    timings_s: dict = field(default_factory=dict)
    out_dir: Path | None = None
    baseline: dict | None = None  # {"name", "path", "metrics"}: another answerer's results on the same questions

    @property
    def metrics(self) -> dict:
        return self.main.metrics

    @property
    def by_kind(self) -> dict[str, dict]:
        return self.main.by_kind

    def failed(self) -> list[dict]:
        """Records of the questions that did not pass (main run), in dataset order."""
        return [r for r in self.main.records if not r["scores"].get("passed")]


def fmt(v, name: str = "") -> str:
    """Rates as 0.000, milliseconds and characters as integers, None as "–"."""
    if v is None:
        return "–"
    if name.endswith("_ms") or name.startswith(("answer_chars", "prompt_tokens")) or isinstance(v, int):
        return f"{v:.0f}"
    return f"{v:.3f}"


def summary_line(run: EvalRun) -> str:
    """One line with the headline metrics (for the CLI)."""
    m = run.metrics
    return (
        f"通过 {fmt(m['pass_rate'])}  hit@{run.config['top_k']} {fmt(m['hit_at_k'])}  MRR {fmt(m['mrr'])}  "
        f"答案事实召回 {fmt(m['answer_fact_recall'])}  引用支持 {fmt(m['citation_support'])}  "
        f"拒答准确率 {fmt(m['abstention_accuracy'])}  误拒率 {fmt(m['false_abstention_rate'])}  "
        f"p50 {fmt(m['latency_p50_ms'], 'latency_p50_ms')} ms"
        + (
            f"  大模型 {m['llm_calls']} 次 p50 {fmt(m['llm_p50_ms'], 'llm_p50_ms')} ms  "
            f"提示词 p50 {fmt(m['prompt_tokens_p50'] or m['prompt_tokens_est_p50'], 'prompt_tokens')} token"
            if m.get("llm_calls")
            else ""
        )
    )


def failure_lines(run: EvalRun, limit: int | None = None) -> list[str]:
    """One line per failed question: id, question, missing facts or wrong answer."""
    lines = []
    for r in run.failed()[:limit]:
        s = r["scores"]
        if s.get("answerable"):
            why = (
                "abstained"
                if s.get("abstained")
                else f"missing {s.get('facts_missing')} (need {s.get('facts_needed')})"
            )
        else:
            why = f"answered instead of abstaining: {M.strip_markers(r.get('answer', ''))[:60]}"
        lines.append(f"{r['id']} [{r['kind']}] {r['question']} → {why}")
    return lines
