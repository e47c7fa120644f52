"""Fit the answer step's models on the training part of the gold sets and report the validation
part: ``python -m eval.train_scorer`` (after ``python -m eval.answer_data`` built the items).

Rows (the answer step's own ``read``/``read_values`` on each question's cached evidence):

- sentence rows: every sentence of the evidence articles; label 1 when it is in a gold article
  and holds a gold fact (after ``eval.metrics.normalize``);
- candidate rows: every candidate value of the ``VALUE_SENTENCES`` best sentences (by the
  sentence model: out-of-fold for training questions); label 1 when it is a gold fact or nearly
  (``value_matches``) and comes from a gold article;
- answer rows: the answer each kind composes from those scores (out-of-fold for training
  questions); label 1 when it passes as ``rag eval`` scores it (enough gold facts for an
  answerable question; never for an unanswerable one).

The sentence and candidate models are LightGBM binary classifiers (gradient-boosted trees, Ke
et al. 2017), seeded and deterministic; out-of-fold scores come from ``FOLDS``-fold
cross-validation grouped by article (``sklearn.model_selection.GroupKFold``), so that the
calibrator learns from scores the models produce on questions they were not fitted on. The
calibrator is a logistic regression on the answer rows (Platt 1999). The abstention threshold is
chosen on the validation part: the lowest confidence at which the validation answers' error
rate (wrong answers among answered questions, unanswerable ones answered counting as wrong) is
at most ``TARGET_RISK`` (selective question answering, Kamath et al. 2020).

Writes ``rag/answer/extractive/model/`` (``sentence.txt``, ``candidate.txt``,
``calibrator.json``) and the report ``eval/reports/answer_step/`` (``report.md``,
``report.json``, ``risk_coverage.png``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.answer.extractive.answerer import CHECK_SENTENCES, VALUE_SENTENCES, ExtractiveAnswerer
from rag.answer.extractive.features import CANDIDATE_FEATURES, CATEGORICAL, SENTENCE_FEATURES
from rag.answer.extractive.kinds import kind_of
from rag.answer.extractive.reading import Reading
from rag.answer.extractive.scorer import CONFIDENCE_CATEGORICAL, CONFIDENCE_FEATURES, MODEL_DIR, Calibrator
from rag.settings import PROJECT_DIR

from . import metrics as M
from .answer_data import SETS, Item, load_set, lookup_for, open_group
from .split import split_key

SEED = 20261202
FOLDS = 5
TARGET_RISK = 0.30
MIN_CATEGORY_ROWS = 10  # a category rarer than this in training gets no column of its own
REPORT_DIR = PROJECT_DIR / "eval" / "reports" / "answer_step"
LGB_PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}
ROUNDS = 300


# -- labels ---------------------------------------------------------------------------------------
def value_matches(value: str, facts: Sequence[str]) -> bool:
    """A candidate value is right when it holds a gold fact with little else (at most half as
    long again, plus two characters) or is most of one (at least 60 % of it); compared after
    ``metrics.normalize``."""
    v = M.normalize(value)
    if not v:
        return False
    for f in facts:
        nf = M.normalize(f)
        if not nf:
            continue
        if nf in v and len(v) <= 1.5 * len(nf) + 2:
            return True
        if v in nf and len(v) >= 0.6 * len(nf):
            return True
    return False


def _gold_docs(r: Reading, gold: dict) -> set[int]:
    titles = {M.normalize(t) for t in gold.get("articles") or []}
    return {i for i, d in enumerate(r.docs) if M.normalize(d.title) in titles}


def sentence_labels(r: Reading, gold: dict) -> list[int]:
    """1 for a sentence of a gold article holding a gold fact."""
    facts = [M.normalize(f) for f in gold.get("facts") or [] if M.normalize(f)]
    if not facts or gold.get("kind") == "unanswerable":
        return [0] * len(r.sents)
    docs = _gold_docs(r, gold)
    return [int(s.doc in docs and any(f in M.normalize(s.text) for f in facts)) for s in r.sents]


def candidate_labels(r: Reading, gold: dict) -> list[int]:
    """1 for a candidate of a gold article that matches a gold fact (``value_matches``)."""
    facts = gold.get("facts") or []
    if not facts or gold.get("kind") == "unanswerable":
        return [0] * len(r.cands)
    docs = _gold_docs(r, gold)
    return [int(r.sents[c.sent].doc in docs and value_matches(c.text, facts)) for c in r.cands]


def answer_passes(text: str, gold: dict) -> bool:
    """Pass as ``rag eval`` scores an answered question (never for an unanswerable one)."""
    facts = gold.get("facts") or []
    if gold.get("kind") == "unanswerable" or not facts:
        return False
    return len(M.facts_found(facts, text)) >= M.required_facts(facts, gold.get("min_facts"))


# -- data -----------------------------------------------------------------------------------------
@dataclass
class Row:
    """One question as the trainer sees it."""

    item: Item
    reading: Reading
    s_labels: list[int]
    key: str
    c_labels: list[int] = field(default_factory=list)
    draft_row: dict | None = None
    draft_pass: bool = False
    draft_text: str = ""


def read_items(names: Sequence[str], progress: bool = True):
    """Each set's items read by the answerer of its own index (no models): ``(rows, tagger)``."""
    rows: list[Row] = []
    by_group: dict[str, list[str]] = {}
    for n in names:
        by_group.setdefault(SETS[n][1], []).append(n)
    for group, members in by_group.items():
        pipe = open_group(group, progress=False)
        pipe.keyword.refresh()  # idf and df come from the keyword index, loaded at first search
        ans = pipe.extractive  # the pipeline's own answerer: its tokenizer, idf and tagger
        for n in members:
            t0 = time.perf_counter()
            for it in load_set(n) + _false_premises(n):
                if it.gold.get("subkind") == "unverified":
                    continue  # crud-dev's "无法推断" questions: noisy, to look at, never a target
                ans.lookup = lookup_for(it)
                r = ans.read(it.standalone, it.passages)
                rows.append(Row(it, r, sentence_labels(r, it.gold), f"{n}:{split_key(it.gold)}"))
            if progress:
                print(f"   read {n} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        tagger = ans.tagger
        del pipe
    return rows, tagger


def _false_premises(name: str) -> list[Item]:
    """The set's synthetic unanswerable questions (``answer_data.build_false_premises`` and
    ``build_unstated``), those that were built."""
    out = []
    for suffix in ("_fp", "_ua"):
        try:
            out += load_set(name + suffix)
        except FileNotFoundError:
            pass
    return out


# -- models ---------------------------------------------------------------------------------------
def _fit(x, y, names: Sequence[str], sizes: Sequence[int], objective: str):
    """A LightGBM model; ``objective`` "binary" (log loss) or "lambdarank" (LambdaMART, Burges
    2010: the order within each question, ``sizes`` rows per question)."""
    import lightgbm as lgb
    import numpy as np

    cats = [i for i, n in enumerate(names) if n in CATEGORICAL]
    data = lgb.Dataset(np.asarray(x, float), np.asarray(y, float), feature_name=list(names), categorical_feature=cats)
    params = dict(LGB_PARAMS, objective=objective)
    if objective == "lambdarank":
        data.set_group([n for n in sizes if n])
        params.update(metric="ndcg", lambdarank_truncation_level=10)
    return lgb.train(params, data, num_boost_round=ROUNDS)


def _oof(rows: list[Row], get_x, get_y, names, groups, objective: str = "binary"):
    """Out-of-fold predictions per row (grouped folds) and the model fitted on all rows."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    def fit(idx):
        rs = [rows[i] for i in idx if get_x(rows[i])]
        x = [v for r in rs for v in get_x(r)]
        y = [v for r in rs for v in get_y(r)]
        return _fit(x, y, names, [len(get_x(r)) for r in rs], objective) if x and sum(y) else None

    preds: list[list[float]] = [[] for _ in rows]
    for tr, te in GroupKFold(n_splits=FOLDS).split(list(range(len(rows))), groups=groups):
        model = fit(tr)
        for i in te:
            xi = get_x(rows[i])
            preds[i] = model.predict(np.asarray(xi, float)).tolist() if (xi and model is not None) else []
    return preds, fit(range(len(rows)))


def _values(ans: ExtractiveAnswerer, row: Row) -> None:
    r = row.reading
    ans.read_values(r, r.best_sentences(VALUE_SENTENCES if kind_of(r.frame.kind).values else CHECK_SENTENCES))
    row.c_labels = candidate_labels(r, row.item.gold)


def _draft(ans: ExtractiveAnswerer, row: Row) -> None:
    r = row.reading
    ans.lookup = lookup_for(row.item)
    draft = kind_of(r.frame.kind).compose(r, ans) if r.sents else None
    row.draft_row = draft.confidence if (draft is not None and not draft.decided) else None
    if draft is not None and draft.decided:
        row.draft_row = None
    if draft is not None:
        from rag.answer.extractive.compose import cite

        text = (
            draft.answer.text
            if draft.answer is not None
            else cite(row.item.question, row.item.standalone, draft.pieces, r.docs, draft.prefix).text
        )
        row.draft_text = text
        row.draft_pass = answer_passes(text, row.item.gold)


def fit_calibrator(rows: list[Row]) -> Calibrator:
    """Logistic regression on the answer rows (one-hot ``CONFIDENCE_CATEGORICAL`` values seen at
    least ``MIN_CATEGORY_ROWS`` times, standardised numbers)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    data = [r for r in rows if r.draft_row is not None]
    counts = {c: Counter(str(r.draft_row[c]) for r in data) for c in CONFIDENCE_CATEGORICAL}
    cats = {c: sorted(v for v, n in counts[c].items() if n >= MIN_CATEGORY_ROWS) for c in CONFIDENCE_CATEGORICAL}
    names = [f"{c}={v}" for c in CONFIDENCE_CATEGORICAL for v in cats[c]] + [
        n for n in CONFIDENCE_FEATURES if n not in CONFIDENCE_CATEGORICAL
    ]
    cal = Calibrator(names, [0.0] * len(names), [1.0] * len(names), [0.0] * len(names), 0.0, 0.5)
    x = np.asarray([cal.vector(r.draft_row) for r in data], float)
    y = np.asarray([int(r.draft_pass) for r in data])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0  # a constant column (sklearn's StandardScaler does the same)
    lr = LogisticRegression(C=1.0, max_iter=2000, random_state=SEED).fit((x - mean) / scale, y)
    return Calibrator(names, mean.tolist(), scale.tolist(), lr.coef_[0].tolist(), float(lr.intercept_[0]), 0.5)


def _compare_calibrators(train: list[Row], val: list[Row], cal: Calibrator) -> None:
    """Print validation AUROC of the logistic calibrator and of small boosted trees (experiment)."""
    import lightgbm as lgb
    import numpy as np
    from sklearn.metrics import roc_auc_score

    tr = [r for r in train if r.draft_row is not None]
    va = [r for r in val if r.draft_row is not None]
    xt = np.asarray([cal.vector(r.draft_row) for r in tr], float)
    yt = np.asarray([int(r.draft_pass) for r in tr])
    xv = np.asarray([cal.vector(r.draft_row) for r in va], float)
    yv = np.asarray([int(r.draft_pass) for r in va])
    lr = np.asarray([cal.prob(r.draft_row) for r in va])
    params = dict(LGB_PARAMS, num_leaves=7, min_data_in_leaf=30, learning_rate=0.05)
    gbt = lgb.train(params, lgb.Dataset(xt, yt), num_boost_round=150).predict(xv)
    print(
        f"calibrator AUROC on validation: logistic {roc_auc_score(yv, lr):.3f}, trees {roc_auc_score(yv, gbt):.3f}",
        file=sys.stderr,
    )


# -- selective answering ------------------------------------------------------------------------
def outcomes(rows: list[Row], cal: Calibrator) -> list[tuple[float, bool, bool]]:
    """Per question: (confidence, answerable, right if answered); no draft → confidence 0."""
    out = []
    for r in rows:
        answerable = r.item.gold.get("kind") != "unanswerable"
        conf = cal.prob(r.draft_row) if r.draft_row is not None else (1.0 if r.draft_text else 0.0)
        out.append((conf, answerable, r.draft_pass))
    return out


def risk_coverage(outs: list[tuple[float, bool, bool]]) -> list[dict]:
    """For each threshold in 0.00–0.99 (step 0.01): coverage (share answered), risk (wrong among
    answered), false abstention (answerable not answered), abstention (unanswerable not
    answered), pass rate."""
    pts = []
    n_ans = sum(1 for _, a, _ in outs if a) or 1
    n_una = sum(1 for _, a, _ in outs if not a) or 1
    for k in range(100):
        t = k / 100
        answered = [(a, ok) for c, a, ok in outs if c >= t]
        wrong = sum(1 for a, ok in answered if not (a and ok))
        passed = sum(1 for c, a, ok in outs if (c >= t and a and ok) or (c < t and not a))
        pts.append(
            {
                "threshold": t,
                "coverage": len(answered) / len(outs) if outs else 0.0,
                "risk": wrong / len(answered) if answered else 0.0,
                "false_abstention": sum(1 for c, a, _ in outs if a and c < t) / n_ans,
                "abstention": sum(1 for c, a, _ in outs if not a and c < t) / n_una,
                "pass_rate": passed / len(outs) if outs else 0.0,
            }
        )
    return pts


def choose_threshold(pts: list[dict], target: float = TARGET_RISK) -> float:
    """The lowest threshold whose risk is at most ``target`` (the highest coverage at that risk);
    the threshold of least risk when none reaches it."""
    ok = [p for p in pts if p["risk"] <= target and p["coverage"] > 0]
    if ok:
        return min(ok, key=lambda p: p["threshold"])["threshold"]
    return min(pts, key=lambda p: (p["risk"], p["threshold"]))["threshold"]


# -- main -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="*", default=list(SETS))
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    ap.add_argument("--report", type=Path, default=REPORT_DIR)
    ap.add_argument("--target-risk", type=float, default=TARGET_RISK)
    ap.add_argument(
        "--objective",
        choices=("binary", "lambdarank"),
        default="lambdarank",
        help="the candidate model's objective (the sentence model is always binary)",
    )
    ap.add_argument("--dump", type=Path, help="write every question's scores and answer here (JSON Lines)")
    args = ap.parse_args(argv)
    random.seed(SEED)
    t0 = time.perf_counter()
    rows, tagger = read_items(args.sets)
    train = [r for r in rows if r.item.split == "train"]
    val = [r for r in rows if r.item.split == "val"]
    print(f"{len(train)} training / {len(val)} validation questions", file=sys.stderr)
    ans = ExtractiveAnswerer(lambda t: [], lambda t: 1.0, tagger=tagger, threshold=0.5)
    import numpy as np

    # 1. sentence model
    s_oof, s_model = _oof(
        train, lambda r: r.reading.s_rows, lambda r: r.s_labels, SENTENCE_FEATURES, [r.key for r in train], "binary"
    )
    for r, p in zip(train, s_oof):
        r.reading.s_prob = p or [0.0] * len(r.reading.sents)
    for r in val:
        r.reading.s_prob = s_model.predict(np.asarray(r.reading.s_rows, float)).tolist() if r.reading.s_rows else []
    # 2. candidates of the best sentences, candidate model
    for r in train + val:
        _values(ans, r)
    c_oof, c_model = _oof(
        train,
        lambda r: r.reading.c_rows,
        lambda r: r.c_labels,
        CANDIDATE_FEATURES,
        [r.key for r in train],
        args.objective,
    )
    for r, p in zip(train, c_oof):
        r.reading.c_prob = p or [0.0] * len(r.reading.cands)
    for r in val:
        r.reading.c_prob = c_model.predict(np.asarray(r.reading.c_rows, float)).tolist() if r.reading.c_rows else []
    # 3. composed answers, calibrator, threshold on validation
    for r in train + val:
        _draft(ans, r)
    cal = fit_calibrator(train)
    _compare_calibrators(train, val, cal)
    pts = risk_coverage(outcomes(val, cal))
    cal.threshold = choose_threshold(pts, args.target_risk)
    args.out.mkdir(parents=True, exist_ok=True)
    s_model.save_model(str(args.out / "sentence.txt"))
    c_model.save_model(str(args.out / "candidate.txt"))
    (args.out / "calibrator.json").write_text(cal.to_json() + "\n", encoding="utf-8")
    if args.dump:
        dump(train + val, cal, args.dump)
    report = summarize(train, val, cal, pts)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    write_report(report, pts, args.report)
    print(json.dumps(report["validation"], ensure_ascii=False, indent=1))


def dump(rows: list[Row], cal: Calibrator, path: Path) -> None:
    """Per question: the analysis, the best sentences and candidates with their scores and
    labels, the composed answer, its confidence and whether it passes (for error analysis)."""
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            r = row.reading
            fr = r.frame
            best_s = r.best_sentences(3) if r.s_prob else []
            order = sorted(range(len(r.cands)), key=lambda k: -r.c_prob[k])[:6] if r.c_prob else []
            rec = {
                "set": row.item.set,
                "id": row.item.gold["id"],
                "split": row.item.split,
                "question": row.item.question,
                "standalone": row.item.standalone,
                "gold_kind": row.item.gold.get("kind"),
                "facts": row.item.gold.get("facts"),
                "kind": fr.kind,
                "wh": fr.wh,
                "focus": fr.focus,
                "measure": fr.measure,
                "sentences": [[round(r.s_prob[i], 3), row.s_labels[i], r.sents[i].text[:80]] for i in best_s],
                "gold_sentences": sum(row.s_labels),
                "candidates": [
                    [round(r.c_prob[k], 3), row.c_labels[k], r.cands[k].type, r.cands[k].text] for k in order
                ],
                "gold_candidates": sum(row.c_labels),
                "answer": row.draft_text,
                "passes": row.draft_pass,
                "confidence": round(cal.prob(row.draft_row), 3) if row.draft_row is not None else None,
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def summarize(train: list[Row], val: list[Row], cal: Calibrator, pts: list[dict]) -> dict:
    """Sizes, per-model top-1 accuracy and the operating point, for training and validation."""

    def part(rows: list[Row]) -> dict:
        ans = [r for r in rows if r.item.gold.get("kind") != "unanswerable"]
        s_hit = [
            int(
                max(range(len(r.reading.sents)), key=lambda i: r.reading.s_prob[i])
                in {i for i, y in enumerate(r.s_labels) if y}
            )
            for r in ans
            if r.reading.sents and any(r.s_labels)
        ]
        c_hit = [
            int(r.c_labels[max(range(len(r.reading.cands)), key=lambda k: r.reading.c_prob[k])] == 1)
            for r in ans
            if r.reading.cands and any(r.c_labels) and r.reading.frame.kind == "factoid"
        ]
        outs = outcomes(rows, cal)
        t = cal.threshold
        n_a = len(ans) or 1
        n_u = (len(rows) - len(ans)) or 1
        by_set: dict[str, int] = {}
        for r in rows:
            by_set[r.item.set] = by_set.get(r.item.set, 0) + 1
        return {
            "questions": len(rows),
            "unanswerable": len(rows) - len(ans),
            "by_set": by_set,
            "sentence_top1": M.mean(s_hit),
            "candidate_top1": M.mean(c_hit),
            "draft_pass": M.mean(float(r.draft_pass) for r in ans),
            "pass_rate": M.mean(float((c >= t and a and ok) or (c < t and not a)) for c, a, ok in outs),
            "false_abstention": sum(1 for c, a, _ in outs if a and c < t) / n_a,
            "abstention": sum(1 for c, a, _ in outs if not a and c < t) / n_u,
            "risk": (lambda ans_: sum(1 for a, ok in ans_ if not (a and ok)) / len(ans_) if ans_ else None)(
                [(a, ok) for c, a, ok in outs if c >= t]
            ),
        }

    return {"threshold": cal.threshold, "training": part(train), "validation": part(val)}


def _cell(x) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


def write_report(report: dict, pts: list[dict], out: Path) -> None:
    """report.json, report.md and risk_coverage.png in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({**report, "risk_coverage": pts}, ensure_ascii=False, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([p["coverage"] for p in pts], [p["risk"] for p in pts], label="learned answer step")
    t = report["threshold"]
    op = min(pts, key=lambda p: abs(p["threshold"] - t))
    ax.scatter([op["coverage"]], [op["risk"]], color="red", zorder=3, label=f"threshold {t:.2f}")
    ax.set_xlabel("coverage (share of questions answered)")
    ax.set_ylabel("risk (wrong among answered)")
    ax.set_title("Validation: risk vs coverage")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "risk_coverage.png", dpi=120)
    plt.close(fig)
    v, tr = report["validation"], report["training"]
    lines = [
        "# Answer step: training and validation",
        "",
        f"Threshold {report['threshold']:.2f} (lowest with validation risk ≤ target). ",
        "",
        "| | training (out-of-fold) | validation |",
        "|---|---|---|",
    ]
    for k in (
        "questions",
        "unanswerable",
        "sentence_top1",
        "candidate_top1",
        "draft_pass",
        "pass_rate",
        "false_abstention",
        "abstention",
        "risk",
    ):
        lines.append(f"| {k} | {_cell(tr[k])} | {_cell(v[k])} |")
    lines += ["", "![risk–coverage](risk_coverage.png)", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
