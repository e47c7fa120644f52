"""Multi-turn evaluation: conversations asked turn by turn through ``Pipeline.ask``, scored per turn.

A conversation is asked as staff would ask it, each turn with the history before it. Two
history modes, each a full pass:

- ``answers``: the questions and the system's own answers, as the chat and ``/v1`` send them;
- ``questions``: the questions only (an API client); the pipeline recomputes a previous answer
  when a follow-up needs it.

Per turn (``score_turn``):

- **rewrite**: the searched (standalone) question is right: equal to the gold ``standalone``
  after ``metrics.normalize`` (punctuation and spaces ignored), or holding every ``require``
  word and no ``forbid`` word; None when the turn gives neither;
- **answer**: ``metrics.score_question`` passes it (answerable: not abstained and enough gold
  facts; ``unanswerable``: abstained), and the answer holds every ``answer_contains`` string
  (e.g. the period searched, the latest report named);
- **passed**: both.

Aggregates (``aggregate``): ``rewrite_accuracy``, ``answer_pass_rate``, ``turn_pass_rate``
(turn-level accuracy), ``conversation_pass_rate`` (every turn of the conversation passed: the
joint accuracy of dialogue-state tracking), overall and per turn ``kind``.

The format of the dataset is in eval/README.md ("Multi-turn set").
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rag.errors import RagError
from rag.settings import PROJECT_DIR, Settings

from . import metrics as M

MODES = ("answers", "questions")
TURN_KINDS = ("first", "topic_switch", "pronoun", "reference", "ellipsis", "bare", "relative_date")
DEFAULT_CORPORA = (
    PROJECT_DIR / "corpus",
    PROJECT_DIR / "eval" / "datasets" / "news_dev_corpus.jsonl",
    PROJECT_DIR / "eval" / "datasets" / "multiturn_dev_corpus.txt",
)


def is_multiturn(path: Path | str) -> bool:
    """True when the first line of a JSON Lines file is a conversation (has ``turns``)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                try:
                    return isinstance(json.loads(line).get("turns"), list)
                except (json.JSONDecodeError, AttributeError):
                    return False
    return False


def load_conversations(path: Path | str) -> list[dict]:
    """Conversations from a JSON Lines file.

    raises ValueError: a line that is not a conversation (``id`` and a non-empty ``turns``
        list of objects with ``question``), an unknown turn ``kind``, or a repeated id.
    """
    out, seen = [], set()
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            conv = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{i}: not JSON ({exc})") from None
        turns = conv.get("turns") if isinstance(conv, dict) else None
        if (
            not isinstance(conv.get("id"), str)
            or not turns
            or not all(isinstance(t.get("question"), str) for t in turns)
        ):
            raise ValueError(f"{path}:{i}: each line needs an id and turns with a question")
        if conv["id"] in seen:
            raise ValueError(f"{path}:{i}: repeated id {conv['id']!r}")
        for t in turns:
            if t.get("kind", "first") not in TURN_KINDS:
                raise ValueError(f"{path}:{i}: unknown turn kind {t.get('kind')!r} (one of {', '.join(TURN_KINDS)})")
        seen.add(conv["id"])
        out.append(conv)
    return out


def rewrite_ok(turn: dict, standalone: str) -> bool | None:
    """Is the searched question right (see the module docstring)? None: nothing to check."""
    if turn.get("standalone"):
        return M.normalize(standalone) == M.normalize(turn["standalone"])
    if not turn.get("require") and not turn.get("forbid"):
        return None
    got = M.normalize(standalone)
    return all(M.normalize(w) in got for w in turn.get("require", [])) and not any(
        M.normalize(w) in got for w in turn.get("forbid", [])
    )


def score_turn(turn: dict, answer: dict) -> dict:
    """Scores of one turn: ``rewrite_ok``, ``answer_passed``, ``passed`` and the single-turn
    scores of ``metrics.score_question`` (retrieval metrics are not measured here)."""
    gold = {
        "kind": "unanswerable" if turn.get("unanswerable") else turn.get("kind", "first"),
        "facts": turn.get("facts", []),
        "min_facts": turn.get("min_facts"),
        "articles": turn.get("articles", []),
    }
    s = M.score_question(gold, answer, [], k=0)
    text = M.normalize(M.strip_markers(answer.get("answer", "")))
    contains = all(M.normalize(w) in text for w in turn.get("answer_contains", []))
    rw = rewrite_ok(turn, answer.get("standalone_question", ""))
    answer_passed = bool(s.get("passed")) and contains
    return {
        "rewrite_ok": rw,
        "answer_passed": answer_passed,
        "passed": answer_passed and rw is not False,
        "abstained": s["abstained"],
        "answerable": s["answerable"],
        "facts_found": s.get("facts_found", []),
        "facts_missing": s.get("facts_missing", []),
        "latency_ms": s.get("latency_ms"),
    }


def ask_conversation(pipe, conv: dict, *, top_k: int, mode: str = "answers") -> list[dict]:
    """Ask every turn of ``conv`` in order; returns one record per turn (the answer's
    ``to_dict()``, the gold turn, ``history_sent`` and ``scores``). A turn that raises a
    ``RagError`` is recorded as an abstention with ``error``."""
    history: list = []
    records = []
    for i, turn in enumerate(conv["turns"]):
        try:
            ans = pipe.ask(turn["question"], list(history), top_k=top_k, as_of=conv.get("as_of")).to_dict()
            error = None
        except RagError as exc:
            ans = {"question": turn["question"], "standalone_question": "", "answer": "", "abstained": True}
            ans.update({"citations": [], "timings_ms": {}})
            error = exc.to_dict()
        rec = {
            "conversation": conv["id"],
            "turn": i + 1,
            **ans,
            "kind": turn.get("kind", "first"),  # the turn's kind (the answer's own: answer_kind)
            "answer_kind": ans.get("kind"),
            "gold": turn,
            "history_sent": len(history),
            "scores": score_turn(turn, ans),
        }
        if error:
            rec["error"] = error
        records.append(rec)
        if mode == "answers":
            history += [{"role": "user", "content": turn["question"]}, {"role": "assistant", "content": ans["answer"]}]
        else:
            history.append(turn["question"])
    return records


def aggregate(records: Sequence[dict]) -> dict:
    """Metrics of a list of turn records (see the module docstring); counts ``turns``,
    ``conversations``, ``rewrites_checked``."""
    scores = [r["scores"] for r in records]
    by_conv: dict[str, bool] = {}
    for r in records:
        by_conv[r["conversation"]] = by_conv.get(r["conversation"], True) and bool(r["scores"]["passed"])
    lat = [s["latency_ms"] for s in scores if s.get("latency_ms") is not None]
    return {
        "turns": len(scores),
        "conversations": len(by_conv),
        "rewrites_checked": sum(s["rewrite_ok"] is not None for s in scores),
        "rewrite_accuracy": M.mean(float(s["rewrite_ok"]) for s in scores if s["rewrite_ok"] is not None),
        "answer_pass_rate": M.mean(float(s["answer_passed"]) for s in scores),
        "turn_pass_rate": M.mean(float(s["passed"]) for s in scores),
        "conversation_pass_rate": M.mean(float(v) for v in by_conv.values()) if by_conv else None,
        "false_abstention_rate": M.mean(float(s["abstained"]) for s in scores if s["answerable"]),
        "abstention_accuracy": M.mean(float(s["abstained"]) for s in scores if not s["answerable"]),
        "latency_p50_ms": M.percentile(lat, 50),
    }


def evaluate_conversations(pipe, conversations: Sequence[dict], *, top_k: int = 5, mode: str = "answers") -> dict:
    """One pass: ``{"mode", "records", "metrics", "by_kind", "seconds"}``."""
    t0 = time.perf_counter()
    records = [r for conv in conversations for r in ask_conversation(pipe, conv, top_k=top_k, mode=mode)]
    kinds = [k for k in TURN_KINDS if any(r["kind"] == k for r in records)]
    by_kind = {k: aggregate([r for r in records if r["kind"] == k]) for k in kinds}
    for k in by_kind.values():
        k.pop("conversation_pass_rate")  # a conversation is not of one kind
    return {
        "mode": mode,
        "records": records,
        "metrics": aggregate(records),
        "by_kind": by_kind,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def run_multiturn(
    settings: Settings | None = None,
    *,
    dataset: Path | str,
    corpora: Sequence[Path] | None = None,
    distractors: Path | None = None,
    n_distractors: int = 0,
    top_k: int | None = None,
    out_dir: Path | None = None,
    write: bool = True,
) -> dict:
    """Build a fresh index in a temporary data dir (``eval.runner.build_index`` on
    ``corpora``, default ``DEFAULT_CORPORA``, plus ``n_distractors``) and evaluate the
    conversations in both history modes. Returns ``{"config", "index", "runs": {mode: pass}}``
    and writes results-<mode>.jsonl, report.md and report.json to ``out_dir`` (default
    ``eval/runs/<timestamp>-multiturn/``) unless ``write`` is False.
    raises FileNotFoundError / ValueError: missing or malformed files.
    """
    from .runner import DEFAULT_RUNS, _rel, build_index, resolve_cache

    base = settings or Settings()
    conversations = load_conversations(dataset)
    corpora = [Path(c) for c in (corpora or DEFAULT_CORPORA)]
    top_k = int(top_k or base.top_k)
    tmp = Path(tempfile.mkdtemp(prefix="rag-eval-mt-"))
    try:
        s = base.with_overrides(data_dir=tmp / "data", embed_cache=resolve_cache(base))
        pipe, index = build_index(s, corpora, distractors=distractors, n_distractors=n_distractors)
        runs = {mode: evaluate_conversations(pipe, conversations, top_k=top_k, mode=mode) for mode in MODES}
        del pipe
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "config": {
            "dataset": _rel(Path(dataset)),
            "conversations": len(conversations),
            "turns": sum(len(c["turns"]) for c in conversations),
            "corpora": [_rel(c) for c in corpora],
            "n_distractors": n_distractors,
            "top_k": top_k,
            "started": datetime.now().isoformat(timespec="seconds"),
        },
        "index": index,
        "runs": runs,
    }
    if write:
        out = Path(out_dir) if out_dir else DEFAULT_RUNS / (datetime.now().strftime("%Y%m%d-%H%M%S") + "-multiturn")
        write_outputs(result, out)
    return result


METRIC_NAMES = (
    ("turn_pass_rate", "turns passed (rewrite right and answer passed)"),
    ("conversation_pass_rate", "conversations with every turn passed"),
    ("rewrite_accuracy", "standalone question right (turns with a gold rewrite)"),
    ("answer_pass_rate", "answer passed"),
    ("abstention_accuracy", "unanswerable turns abstained"),
    ("false_abstention_rate", "answerable turns abstained"),
    ("latency_p50_ms", "median latency of ask(), ms"),
)


def summary_line(result: dict) -> str:
    """One line per history mode with the headline metrics (for the CLI)."""
    return "\n".join(
        f"[{mode}] 轮次通过 {_fmt(r['metrics']['turn_pass_rate'])}  整段对话通过 "
        f"{_fmt(r['metrics']['conversation_pass_rate'])}  改写正确 {_fmt(r['metrics']['rewrite_accuracy'])}  "
        f"答案通过 {_fmt(r['metrics']['answer_pass_rate'])}"
        for mode, r in result["runs"].items()
    )


def write_outputs(result: dict, out: Path) -> None:
    """results-<mode>.jsonl (one record per turn), report.json and report.md."""
    out.mkdir(parents=True, exist_ok=True)
    result["out_dir"] = str(out)
    for mode, run in result["runs"].items():
        with (out / f"results-{mode}.jsonl").open("w", encoding="utf-8") as f:
            for rec in run["records"]:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    slim = {**result, "runs": {m: {k: v for k, v in r.items() if k != "records"} for m, r in result["runs"].items()}}
    (out / "report.json").write_text(json.dumps(slim, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "report.md").write_text(report_md(result), encoding="utf-8")


def report_md(result: dict) -> str:
    """The Markdown report: metrics per history mode, per turn kind, and the failed turns."""
    c = result["config"]
    runs = result["runs"]
    lines = [
        "# Multi-turn evaluation",
        "",
        f"`{c['dataset']}`: {c['conversations']} conversations, {c['turns']} turns; corpora "
        + ", ".join(f"`{p}`" for p in c["corpora"])
        + f"; {c['n_distractors']} distractors; top_k {c['top_k']}.",
        "",
        "| metric | " + " | ".join(f"history: {m}" for m in runs) + " | meaning |",
        "|---|" + "---|" * len(runs) + "---|",
    ]
    for name, meaning in METRIC_NAMES:
        vals = " | ".join(_fmt(r["metrics"].get(name), name) for r in runs.values())
        lines.append(f"| {name} | {vals} | {meaning} |")
    for mode, run in runs.items():
        lines += ["", f"## By turn kind (history: {mode})", "", "| kind | turns | rewrite | answer | turn passed |"]
        lines.append("|---|---|---|---|---|")
        for kind, m in run["by_kind"].items():
            lines.append(
                f"| {kind} | {m['turns']} | {_fmt(m['rewrite_accuracy'])} | {_fmt(m['answer_pass_rate'])} | "
                f"{_fmt(m['turn_pass_rate'])} |"
            )
        failed = [r for r in run["records"] if not r["scores"]["passed"]]
        lines += ["", f"### Failed turns (history: {mode}, {len(failed)})", ""]
        for r in failed:
            s = r["scores"]
            why = []
            if s["rewrite_ok"] is False:
                why.append(f"searched “{r['standalone_question']}”")
            if not s["answer_passed"]:
                why.append(f"answer “{M.strip_markers(r.get('answer', ''))[:60]}”")
            lines.append(f"- {r['conversation']}#{r['turn']} [{r['kind']}] {r['question']} → {'; '.join(why)}")
    return "\n".join(lines) + "\n"


def _fmt(v, name: str = "") -> str:
    if v is None:
        return "–"
    return f"{v:.0f}" if name.endswith("_ms") else f"{v:.3f}"
