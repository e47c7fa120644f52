"""Calibrate the extractive answerer's abstention threshold on a gold set.

The answerer abstains for several reasons (no article satisfies the question's constraints, no
value of the asked type, or too little of the question found: evidence below the threshold).
This sweep therefore measures the whole decision: every question is retrieved once (the same
``_prepare`` step as ``Pipeline.ask``), then answered by ``pipeline.extractive`` at each
threshold, and each threshold gets

    balanced accuracy = ½ · (abstention rate on unanswerable + answer rate on answerable)

(Brodersen et al., "The balanced accuracy and its posterior distribution", ICPR 2010).
Ties are broken towards the middle of the best interval, which leaves the widest margin on
both sides. ``evidence`` (the score the threshold is compared with) is reported per question.

Usage: ``python -m eval.calibrate [--dataset FILE] [--corpus PATH] [--n-distractors N] [--top-k K]``;
run it on every development set (dev.jsonl with corpus/, news_dev.jsonl with
news_dev_corpus.jsonl) and take a threshold in the best interval of all of them. The result
goes into ``ABSTAIN_THRESHOLD`` in ``rag/answer/extractive/answerer.py`` by hand.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rag.answer.condense import condense
from rag.pipeline import clean_question, clean_question_soft
from rag.settings import PROJECT_DIR, Settings

from .distractors import DEFAULT_DISTRACTORS
from .runner import build_index, load_dataset, resolve_cache


def standalone_question(pipe, question: str, history: Sequence[str] = ()) -> str:
    """The standalone form ``Pipeline.ask`` retrieves with (same cleaning and rewrite)."""
    hist = [h for h in (clean_question_soft(h) for h in history) if h]
    return condense(clean_question(question), hist, pipe.known_people)


THRESHOLDS = tuple(round(i * 0.04, 2) for i in range(21))  # 0.00 … 0.80


def evidence_scores(
    pipe, questions: Sequence[dict], top_k: int = 5, thresholds: Sequence[float] = THRESHOLDS, as_of=None
) -> list[dict]:
    """``{"id", "kind", "answerable", "evidence", "standalone", "abstained": {threshold: bool}}``
    per question: the answerer's decision at every threshold on the passages ``ask()`` would
    give it (its ``_prepare`` step when the pipeline has one). The threshold is restored."""
    out = []
    prepare = getattr(pipe, "_prepare", None)  # ask()'s own clean → condense → retrieve step
    ex = pipe.extractive
    current = ex.threshold
    try:
        for q in questions:
            if callable(prepare):
                qq, sq, passages, *_ = prepare(q["question"], q.get("history") or [], top_k, None, as_of=as_of)
            else:
                qq, sq = q["question"], standalone_question(pipe, q["question"], q.get("history") or [])
                passages = pipe.retriever.retrieve(sq, k=top_k)
            decided = {}
            for t in thresholds:
                ex.threshold = t
                decided[t] = ex.answer(qq, sq, passages).abstained
            out.append(
                {
                    "id": q["id"],
                    "kind": q["kind"],
                    "answerable": q["kind"] != "unanswerable" and bool(q.get("articles")),
                    "evidence": round(ex.evidence(sq, passages), 4),
                    "standalone": sq,
                    "abstained": decided,
                }
            )
    finally:
        ex.threshold = current
    return out


def sweep(scores: Sequence[dict], thresholds: Sequence[float] = THRESHOLDS) -> list[dict]:
    """Abstention accuracy, answer rate and balanced accuracy for each threshold of the
    decisions in ``scores``. Pure function."""
    rows = []
    for t in thresholds:
        una = [s["abstained"][t] for s in scores if not s["answerable"]]
        ans = [not s["abstained"][t] for s in scores if s["answerable"]]
        abst = sum(una) / len(una) if una else None
        rate = sum(ans) / len(ans) if ans else None
        parts = [v for v in (abst, rate) if v is not None]
        rows.append(
            {
                "threshold": t,
                "abstention_accuracy": abst,
                "answer_rate": rate,
                "balanced_accuracy": sum(parts) / len(parts) if parts else None,
            }
        )
    return rows


def best_threshold(rows: Sequence[dict]) -> tuple[float, float, float, float]:
    """(recommended threshold, best balanced accuracy, interval low, interval high): the
    middle of the widest run of consecutive sweep rows that reach the best value."""
    best = max(r["balanced_accuracy"] or 0.0 for r in rows)
    runs: list[list[float]] = []
    cur: list[float] = []
    for r in rows:
        if (r["balanced_accuracy"] or 0.0) >= best - 1e-12:
            cur.append(r["threshold"])
        elif cur:
            runs.append(cur)
            cur = []
    if cur:
        runs.append(cur)
    widest = max(runs, key=len)
    mid = round((widest[0] + widest[-1]) / 2, 3)
    return mid, best, widest[0], widest[-1]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=PROJECT_DIR / "eval" / "datasets" / "dev.jsonl")
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument("--distractors", type=Path, default=DEFAULT_DISTRACTORS)
    ap.add_argument("--n-distractors", type=int, default=300)
    ap.add_argument("--top-k", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the scores and the sweep to this file")
    args = ap.parse_args(argv)

    base = Settings()
    top_k = args.top_k or base.top_k
    questions = load_dataset(args.dataset)
    tmp = Path(tempfile.mkdtemp(prefix="rag-calibrate-"))
    try:
        s = base.with_overrides(data_dir=tmp / "data", embed_cache=resolve_cache(base))
        pipe, info = build_index(
            s,
            args.corpus or s.corpus_dir,
            distractors=args.distractors,
            n_distractors=args.n_distractors,
            progress=True,
        )
        scores = evidence_scores(pipe, questions, top_k, as_of=info["as_of"])
        current = pipe.extractive.threshold
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = sweep(scores)
    thr, bacc, lo, hi = best_threshold(rows)

    print(
        f"{len(questions)} questions ({sum(s['answerable'] for s in scores)} answerable), "
        f"{info['chunks']} chunks ({args.n_distractors} distractors), top_k {top_k}"
    )
    print(f"{'threshold':>9}  {'abst.acc':>8}  {'ans.rate':>8}  {'bal.acc':>7}")
    for r in rows:
        mark = " ←" if lo <= r["threshold"] <= hi else ""
        cur = " (current)" if abs(r["threshold"] - current) < 1e-9 else ""
        print(
            f"{r['threshold']:>9.2f}  {r['abstention_accuracy']:>8.3f}  {r['answer_rate']:>8.3f}  "
            f"{r['balanced_accuracy']:>7.3f}{mark}{cur}"
        )
    print(
        f"\nbest balanced accuracy {bacc:.3f} for thresholds {lo:.2f}–{hi:.2f}; recommended "
        f"ABSTAIN_THRESHOLD = {thr} (current {current})"
    )
    at = min(THRESHOLDS, key=lambda t: abs(t - thr))
    wrong = [s for s in scores if (not s["abstained"][at]) != s["answerable"]]
    if wrong:
        print("\nmisclassified at the recommended threshold:")
        for s in sorted(wrong, key=lambda s: s["evidence"]):
            print(
                f"  {s['id']:<16} evidence {s['evidence']:.3f}  {'answerable' if s['answerable'] else 'unanswerable'}"
                f"  {s['standalone']}"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "scores": [{**x, "abstained": {str(k): v for k, v in x["abstained"].items()}} for x in scores],
                    "sweep": rows,
                    "recommended": thr,
                    "balanced_accuracy": bacc,
                    "interval": [lo, hi],
                },
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
