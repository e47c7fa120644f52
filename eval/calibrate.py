"""Calibrate the extractive answerer's abstention threshold on a gold set.

For every question the evidence score ``pipeline.extractive.evidence(standalone, passages)``
is computed once (passages: the same retrieval as ``Pipeline.ask``); then thresholds are
swept and the one with the best balanced accuracy is reported:

    balanced accuracy = ½ · (abstention rate on unanswerable + answer rate on answerable)

(Brodersen et al., "The balanced accuracy and its posterior distribution", ICPR 2010.)
The answerer abstains when ``evidence < threshold``. Ties are broken towards the middle of
the best interval, which leaves the widest margin on both sides.

Usage: ``python -m eval.calibrate [--dataset FILE] [--n-distractors N] [--top-k K]``.
The result goes into ``ABSTAIN_THRESHOLD`` in ``rag/answer/extractive.py`` by hand.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from rag.answer.condense import condense
from rag.pipeline import clean_question, clean_question_soft
from rag.settings import PROJECT_DIR, Settings

from .distractors import DEFAULT_DISTRACTORS
from .runner import build_index, load_dataset, resolve_cache


def standalone_question(pipe, question: str, history: Sequence[str] = ()) -> str:
    """The standalone form ``Pipeline.ask`` retrieves with (same cleaning and rewrite)."""
    hist = [h for h in (clean_question_soft(h) for h in history) if h]
    return condense(clean_question(question), hist, pipe.known_people)


def evidence_scores(pipe, questions: Sequence[dict], top_k: int = 5) -> list[dict]:
    """``{"id", "kind", "answerable", "evidence", "standalone"}`` per question. Passages are
    those ``ask()`` would give the answerer (its ``_prepare`` step when the pipeline has one)."""
    out = []
    prepare = getattr(pipe, "_prepare", None)  # ask()'s own clean → condense → retrieve step
    for q in questions:
        if callable(prepare):
            _q, sq, passages, _t = prepare(q["question"], q.get("history") or [], top_k, None)
        else:
            sq = standalone_question(pipe, q["question"], q.get("history") or [])
            passages = pipe.retriever.retrieve(sq, k=top_k)
        out.append({"id": q["id"], "kind": q["kind"], "answerable": q["kind"] != "unanswerable" and bool(q.get("articles")),
                    "evidence": round(pipe.extractive.evidence(sq, passages), 4), "standalone": sq})
    return out


def sweep(scores: Sequence[dict], thresholds: Sequence[float] | None = None) -> list[dict]:
    """Abstention accuracy, answer rate and balanced accuracy for each threshold
    (default: 0.00 to 1.00 in steps of 0.02). Pure function of the evidence scores."""
    if thresholds is None:
        thresholds = [round(i * 0.02, 2) for i in range(51)]
    ans = [s["evidence"] for s in scores if s["answerable"]]
    una = [s["evidence"] for s in scores if not s["answerable"]]
    rows = []
    for t in thresholds:
        abst = sum(1 for e in una if e < t) / len(una) if una else None
        rate = sum(1 for e in ans if e >= t) / len(ans) if ans else None
        parts = [v for v in (abst, rate) if v is not None]
        rows.append({"threshold": t, "abstention_accuracy": abst, "answer_rate": rate,
                     "balanced_accuracy": sum(parts) / len(parts) if parts else None})
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
        pipe, info = build_index(s, args.corpus or s.corpus_dir, distractors=args.distractors,
                                 n_distractors=args.n_distractors, progress=True)
        scores = evidence_scores(pipe, questions, top_k)
        current = pipe.extractive.threshold
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = sweep(scores)
    thr, bacc, lo, hi = best_threshold(rows)

    print(f"{len(questions)} questions ({sum(s['answerable'] for s in scores)} answerable), "
          f"{info['chunks']} chunks ({args.n_distractors} distractors), top_k {top_k}")
    print(f"{'threshold':>9}  {'abst.acc':>8}  {'ans.rate':>8}  {'bal.acc':>7}")
    for r in rows:
        mark = " ←" if lo <= r["threshold"] <= hi else ""
        cur = " (current)" if abs(r["threshold"] - current) < 1e-9 else ""
        print(f"{r['threshold']:>9.2f}  {r['abstention_accuracy']:>8.3f}  {r['answer_rate']:>8.3f}  "
              f"{r['balanced_accuracy']:>7.3f}{mark}{cur}")
    print(f"\nbest balanced accuracy {bacc:.3f} for thresholds {lo:.2f}–{hi:.2f}; recommended "
          f"ABSTAIN_THRESHOLD = {thr} (current {current})")
    wrong = [s for s in scores if (s["evidence"] >= thr) != s["answerable"]]
    if wrong:
        print("\nmisclassified at the recommended threshold:")
        for s in sorted(wrong, key=lambda s: s["evidence"]):
            print(f"  {s['id']:<16} evidence {s['evidence']:.3f}  {'answerable' if s['answerable'] else 'unanswerable'}"
                  f"  {s['standalone']}")
    if args.json:
        args.json.write_text(json.dumps({"scores": scores, "sweep": rows, "recommended": thr,
                                         "balanced_accuracy": bacc, "interval": [lo, hi]},
                                        ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
