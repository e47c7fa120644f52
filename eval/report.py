"""Evaluation report: ``report.md`` (tables, charts, failed questions for triage),
``report.json`` (the same numbers, machine-readable) and PNG charts drawn with matplotlib
(Agg backend: no display needed). Chart labels are English so no CJK font is required.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import metrics as M
from .results import EvalRun, fmt

SUMMARY_ROWS = (
    "pass_rate",
    "answer_pass_rate",
    "hit_at_1",
    "hit_at_3",
    "hit_at_k",
    "mrr",
    "article_recall",
    "context_fact_recall",
    "context_pass_rate",
    "answer_fact_recall",
    "answer_context_ratio",
    "answer_precision",
    "answer_first_rate",
    "citation_precision",
    "citation_support",
    "abstention_accuracy",
    "abstention_false_premise",
    "abstention_unstated_attribute",
    "abstention_outside_archive",
    "false_abstention_rate",
    "coverage",
    "risk",
    "answer_chars_mean",
    "answer_chars_p50",
    "factoid_chars_p50",
    "latency_p50_ms",
    "latency_p95_ms",
)
BASELINE_ROWS = (
    "pass_rate",
    "answer_fact_recall",
    "answer_first_rate",
    "abstention_accuracy",
    "false_abstention_rate",
    "coverage",
    "risk",
)
KIND_COLS = (
    ("pass_rate", "pass"),
    ("answer_fact_recall", "answer facts"),
    ("context_fact_recall", "context facts"),
    ("hit_at_1", "hit@1"),
    ("hit_at_k", "hit@k"),
    ("mrr", "MRR"),
    ("citation_precision", "cit. precision"),
    ("citation_support", "cit. support"),
    ("answer_precision", "ans. precision"),
    ("answer_first_rate", "ans. first"),
    ("false_abstention_rate", "false abst."),
    ("abstention_accuracy", "abst. acc."),
    ("answer_chars_p50", "chars p50"),
    ("latency_p50_ms", "p50 ms"),
)
ABLATION_COLS = (
    ("pass_rate", "pass"),
    ("hit_at_1", "hit@1"),
    ("hit_at_k", "hit@k"),
    ("mrr", "MRR"),
    ("context_fact_recall", "context facts"),
    ("answer_fact_recall", "answer facts"),
    ("citation_precision", "cit. precision"),
    ("citation_support", "cit. support"),
    ("abstention_accuracy", "abst. acc."),
    ("false_abstention_rate", "false abst."),
    ("latency_p50_ms", "p50 ms"),
    ("latency_p95_ms", "p95 ms"),
)
CHART_LABELS = {
    "pass_rate": "pass\nrate",
    "answer_fact_recall": "answer\nfact recall",
    "context_fact_recall": "context\nfact recall",
    "citation_precision": "citation\nprecision",
    "citation_support": "citation\nsupport",
    "abstention_accuracy": "abstention\naccuracy",
    "false_abstention_rate": "false\nabstention",
    "hit_at_1": "hit@1",
    "hit_at_k": "hit@k",
    "mrr": "MRR",
}


def write_report(run: EvalRun, out: Path, *, charts: bool = True) -> dict:
    """Write report.md, report.json and (when ``charts``) the PNGs into ``out``.
    returns: the report.json object."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pngs = draw_charts(run, out) if charts else {}
    data = report_json(run, pngs)
    (out / "report.json").write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "report.md").write_text(report_markdown(run, pngs), encoding="utf-8")
    return data


# -- json -----------------------------------------------------------------------------------
def _round(obj):
    if isinstance(obj, float):
        return round(obj, 4)
    if isinstance(obj, dict):
        return {k: _round(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round(v) for v in obj]
    return obj


def failed_entry(r: dict) -> dict:
    """What a triager needs about one failed question."""
    s = r["scores"]
    return {
        "id": r["id"],
        "kind": r["kind"],
        "question": r["question"],
        "history": r.get("history") or [],
        "standalone_question": r.get("standalone_question"),
        "expected_facts": r.get("facts") or [],
        "facts_needed": s.get("facts_needed", 0),
        "missing_facts": s.get("facts_missing", []),
        "abstained": s.get("abstained"),
        "gold_articles": r.get("articles") or [],
        "gold_rank": s.get("gold_rank"),
        "retrieved_titles": [p["title"] for p in r.get("retrieved", [])],
        "answer_excerpt": excerpt(r.get("answer", "")),
        "cited_titles": s.get("cited_titles", []),
        "unsupported_sentences": s.get("unsupported_sentences", []),
        **({"error": r["error"]} if r.get("error") else {}),
    }


def report_json(run: EvalRun, pngs: dict[str, str]) -> dict:
    return _round(
        {
            "config": run.config,
            "index": run.index,
            "timings_s": run.timings_s,
            "metrics": run.metrics,
            "by_kind": run.by_kind,
            "ablation": {
                m: {"metrics": r.metrics, "by_kind": r.by_kind, "seconds": r.seconds} for m, r in run.ablation.items()
            },
            "ablation_note": run.ablation_note,
            "failed": [failed_entry(r) for r in run.failed()],
            "metric_descriptions": {k: {"better": d, "meaning": t} for k, (d, t) in M.METRICS.items()},
            "charts": pngs,
        }
    )


def excerpt(text: str, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- markdown -------------------------------------------------------------------------------
def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def report_markdown(run: EvalRun, pngs: dict[str, str]) -> str:
    c, ix, m = run.config, run.index, run.metrics
    dist = (
        (
            f" + {ix['distractor_articles']} distractor articles from `{c['distractors']}` "
            f"({ix['distractor_chunks']} chunks)"
        )
        if c.get("n_distractors")
        else " (no distractors)"
    )
    lines = [
        "# Evaluation report",
        "",
        f"- Dataset: `{c['dataset']}` ({c['questions']} questions, sha1 {c['dataset_sha1']})",
        f"- Index: `{c['corpus']}` ({ix['corpus_articles']} articles, {ix['corpus_chunks']} chunks){dist}; "
        f"{ix['chunks']} chunks in all",
        f"- Pipeline: retrieval `{c['retrieval_mode']}`, top_k {c['top_k']}, embedder `{c['embedder']}`, "
        f"answerer `{c['answerer']}` (abstain threshold {c['abstain_threshold']}), "
        f"chunks {c['chunk_chars']} chars / overlap {c['chunk_overlap']}",
        f"- Code: commit `{c['git_commit']}`{' with local changes' if c['git_dirty'] else ''}; run {c['started']}",
        f"- Runtime: index {run.timings_s.get('index')} s (embedding cache: {ix.get('cache_hits')} hits, "
        f"{ix.get('cache_misses')} chunks embedded), questions {run.timings_s.get('questions')} s, "
        f"ablation {run.timings_s.get('ablation')} s, total {run.timings_s.get('total')} s",
        "",
        "Scores are deterministic (no LLM judge). Text matches are made after NFKC normalisation with "
        "punctuation and whitespace removed. Retrieval metrics are measured on "
        "`retriever.retrieve(standalone_question, top_k)` and use the answerable questions; "
        "a question passes when its answer holds at least `min_facts` gold facts (all when unset) and "
        "it did not abstain, or, if it is unanswerable, when it abstained.",
        "",
        "## Summary",
        "",
    ]
    lines += _table(
        ["metric", "value", "better", "meaning"],
        [[k, fmt(m.get(k), k), M.METRICS[k][0], M.METRICS[k][1]] for k in SUMMARY_ROWS],
    )
    if m.get("llm_calls") is not None:
        llm = c.get("llm") or {}
        lines += [
            "",
            f"LLM answerer: `{llm.get('provider')}` model `{llm.get('model')}`, context "
            f"{llm.get('context_tokens')} tokens; figures over the questions that called the model:",
            "",
        ]
        lines += _table(["metric", "value", "meaning"], [[k, fmt(m.get(k), k), M.METRICS[k][1]] for k in M.LLM_METRICS])
    lines += [
        "",
        f"Questions: {m['n']} ({m['n_answerable']} answerable, {m['n_unanswerable']} unanswerable); "
        f"passed {sum(1 for r in run.main.records if r['scores'].get('passed'))}.",
        "",
    ]
    if run.baseline:
        b = run.baseline["metrics"]
        lines += [f"Compared with `{run.baseline['name']}` on the same questions ({run.baseline['path']}):", ""]
        lines += _table(
            ["metric", "this run", "baseline"],
            [[k, fmt(m.get(k), k), fmt(b.get(k), k)] for k in BASELINE_ROWS],
        )
        lines += [""]
    for key in ("risk_coverage", "quality", "fact_recall_by_kind", "retrieval_by_kind", "latency"):
        if key in pngs:
            lines += [f"![{key}]({pngs[key]})", ""]
    lines += ["## By kind", ""]
    lines += _table(
        ["kind", "n"] + [h for _, h in KIND_COLS],
        [[k, str(v["n"])] + [fmt(v.get(n), n) for n, _ in KIND_COLS] for k, v in run.by_kind.items()],
    )
    lines += [""]
    lines += ["## Ablation: retrieval modes on the same index", ""]
    if run.ablation:
        lines += _table(
            ["mode"] + [h for _, h in ABLATION_COLS],
            [[mode] + [fmt(r.metrics.get(n), n) for n, _ in ABLATION_COLS] for mode, r in run.ablation.items()],
        )
        lines += ["", run.ablation_note, ""]
        lines += ["Pass rate by kind and mode:", ""]
        kinds = list(run.main.by_kind)
        lines += _table(
            ["kind"] + list(run.ablation),
            [[k] + [fmt(r.by_kind.get(k, {}).get("pass_rate")) for r in run.ablation.values()] for k in kinds],
        )
        lines += [""]
        if "ablation" in pngs:
            lines += [f"![ablation]({pngs['ablation']})", ""]
    else:
        lines += ["Not run (use `--ablation`).", ""]
    failed = run.failed()
    lines += [f"## Failed questions ({len(failed)})", ""]
    if not failed:
        lines += ["None.", ""]
    for r in failed:
        e = failed_entry(r)
        lines += [f"### {e['id']} ({e['kind']}): {_md_cell(e['question'])}", ""]
        if e["history"]:
            lines.append(f"- history: {' / '.join(e['history'])}")
        if e["standalone_question"] and e["standalone_question"] != e["question"]:
            lines.append(f"- standalone: {e['standalone_question']}")
        if e["gold_articles"]:
            lines.append(f"- expected facts (need {e['facts_needed']}): {'、'.join(e['expected_facts'])}")
            lines.append(f"- missing facts: {'、'.join(e['missing_facts']) or '–'}")
            rank = e["gold_rank"]
            lines.append(
                f"- gold article rank: {rank if rank else 'not retrieved'} "
                f"(gold: {'；'.join('《' + t + '》' for t in e['gold_articles'])})"
            )
        else:
            lines.append("- expected: abstention (unanswerable)")
        lines.append(f"- answer{' (abstained)' if e['abstained'] else ''}: {_md_cell(e['answer_excerpt'])}")
        lines.append(f"- cited: {'；'.join('《' + t + '》' for t in e['cited_titles']) or '–'}")
        if e["unsupported_sentences"]:
            lines.append(f"- unsupported cited sentences: {len(e['unsupported_sentences'])}")
        if e.get("error"):
            lines.append(f"- error: {e['error']}")
        lines.append("")
    unsupported = [
        r for r in run.main.records if r["scores"].get("unsupported_sentences") and r["scores"].get("passed")
    ]
    if unsupported:
        lines += ["## Passed questions with unsupported cited sentences", ""]
        for r in unsupported:
            lines.append(f"- {r['id']}: " + " / ".join(excerpt(s, 60) for s in r["scores"]["unsupported_sentences"]))
        lines.append("")
    return "\n".join(lines)


# -- charts ---------------------------------------------------------------------------------
def draw_charts(run: EvalRun, out: Path) -> dict[str, str]:
    """Draw the PNGs; returns ``{chart name: file name}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pngs: dict[str, str] = {}

    def save(fig, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=110)
        plt.close(fig)
        pngs[name] = f"{name}.png"

    m = run.metrics
    # overall answer quality
    names = [
        "pass_rate",
        "answer_fact_recall",
        "context_fact_recall",
        "citation_precision",
        "citation_support",
        "abstention_accuracy",
        "false_abstention_rate",
    ]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    vals = [m.get(n) or 0.0 for n in names]
    bars = ax.bar(range(len(names)), vals, color=["#4472c4"] * 6 + ["#c0504d"])
    ax.bar_label(bars, labels=[fmt(m.get(n)) for n in names], fontsize=8)
    ax.set_xticks(range(len(names)), [CHART_LABELS[n] for n in names], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_title(f"Overall ({m['n']} questions, top_k {run.config['top_k']}, {run.config['retrieval_mode']})")
    save(fig, "quality")

    kinds = list(run.by_kind)
    answerable = [k for k in kinds if run.by_kind[k]["n_answerable"]]

    def grouped(keys: list[str], labels: list[str], cats: list[str], table: dict, title: str, name: str):
        fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(cats) + 2), 3.8))
        w = 0.8 / len(keys)
        for j, (key, label) in enumerate(zip(keys, labels)):
            xs = [i + (j - (len(keys) - 1) / 2) * w for i in range(len(cats))]
            ax.bar(xs, [table[c].get(key) or 0.0 for c in cats], w, label=label)
        ax.set_xticks(range(len(cats)), cats, fontsize=9)
        ax.set_ylim(0, 1.1)
        ax.legend(fontsize=8, ncol=len(keys), loc="upper center", bbox_to_anchor=(0.5, -0.12))
        ax.set_title(title)
        save(fig, name)

    table = dict(run.by_kind)
    table["all"] = m
    grouped(
        ["context_fact_recall", "answer_fact_recall", "pass_rate"],
        ["context fact recall", "answer fact recall", "pass rate"],
        kinds + ["all"],
        table,
        "Fact recall and pass rate by kind (unanswerable: pass = abstained)",
        "fact_recall_by_kind",
    )
    grouped(
        ["hit_at_1", "hit_at_k", "mrr"],
        ["hit@1", f"hit@{run.config['top_k']}", "MRR"],
        answerable + ["all"],
        table,
        "Retrieval by kind (gold article among retrieved passages)",
        "retrieval_by_kind",
    )

    lat = [r["scores"].get("latency_ms") for r in run.main.records if r["scores"].get("latency_ms") is not None]
    if lat:
        fig, ax = plt.subplots(figsize=(6.5, 3.4))
        ax.hist(lat, bins=min(30, max(5, len(lat) // 3)), color="#4472c4")
        for q, style in ((50, "--"), (95, ":")):
            v = M.percentile(lat, q)
            ax.axvline(v, color="k", linestyle=style, label=f"p{q} {v:.0f} ms")
        ax.set_xlabel("latency of ask() (ms)")
        ax.set_ylabel("questions")
        ax.legend(fontsize=8)
        ax.set_title("Latency")
        save(fig, "latency")

    if run.ablation:
        keys = [
            "hit_at_1",
            "hit_at_k",
            "mrr",
            "context_fact_recall",
            "answer_fact_recall",
            "pass_rate",
            "abstention_accuracy",
        ]
        modes = list(run.ablation)
        fig, ax = plt.subplots(figsize=(9, 3.8))
        w = 0.8 / len(modes)
        for j, mode in enumerate(modes):
            xs = [i + (j - (len(modes) - 1) / 2) * w for i in range(len(keys))]
            ax.bar(xs, [run.ablation[mode].metrics.get(k) or 0.0 for k in keys], w, label=mode)
        ax.set_xticks(range(len(keys)), [CHART_LABELS[k] for k in keys], fontsize=8)
        ax.set_ylim(0, 1.1)
        ax.legend(fontsize=8, ncol=len(modes))
        ax.set_title("Ablation: retrieval mode (same index, same questions)")
        save(fig, "ablation")
    pts = M.risk_coverage([r["scores"] for r in run.main.records])
    if pts or run.baseline:
        fig, ax = plt.subplots(figsize=(5.5, 4))
        if pts:
            ax.plot([p[1] for p in pts], [p[2] for p in pts], label=f"this run ({run.config.get('answerer')})")
            m = run.metrics
            ax.scatter([m["coverage"]], [m["risk"]], color="red", zorder=3, label="its operating point")
        if run.baseline:
            b = run.baseline["metrics"]
            ax.scatter(
                [b["coverage"]],
                [b["risk"]],
                color="black",
                marker="s",
                zorder=3,
                label=f"baseline: {run.baseline['name']}",
            )
        ax.set_xlabel("coverage (share of questions answered)")
        ax.set_ylabel("risk (wrong among answered)")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, max([0.5] + [p[2] for p in pts]))
        ax.set_title("Risk vs coverage (answers ranked by confidence)")
        ax.legend(fontsize=8)
        save(fig, "risk_coverage")
    return pngs
