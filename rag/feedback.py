"""Staff feedback on answers (有用 / 有误), kept in the data dir, and exported as evaluation
dataset lines (``eval/README.md``): the questions staff really ask and got a wrong answer to
become regression tests once a person adds their gold facts.

Storage: one JSON Lines file, ``<data dir>/feedback.jsonl`` (``Settings.feedback_path``),
UTF-8, one record per line, only ever appended to. A record written again with the same
``id`` (the vote changed, a comment added) replaces the earlier one when the file is read.
Both the chat (``ui.app``) and ``POST /api/feedback`` write through ``FeedbackStore``;
``rag feedback export`` reads it.
"""

from __future__ import annotations

import errno
import json
import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import RagError, StoreError
from .types import Citation

log = logging.getLogger("rag.feedback")

VOTES = {"useful": "有用", "wrong": "有误"}  # stable codes → the labels staff click
MAX_QUESTION_CHARS = 500  # the pipeline refuses longer questions (rag.pipeline.MAX_QUESTION_CHARS)
MAX_ANSWER_CHARS = 20_000
MAX_COMMENT_CHARS = 2_000
MAX_CITATIONS = 50
MAX_HISTORY = 50
_CITATION_FIELDS = tuple(f.name for f in fields(Citation))
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass
class Feedback:
    """One vote on one answer.

    id: 16 hex characters; the same id written again replaces the record.
    time: when it was given, ISO 8601 local time with UTC offset, to the second.
    vote: ``"useful"`` (有用) or ``"wrong"`` (有误).
    question / history / standalone_question / answer / abstained / citations: the question
        as asked, the earlier user questions (oldest first), and the answer as shown
        (``Answer.to_dict()`` fields; citations keep only ``Citation`` fields).
    comment: what the person added (at most 2,000 characters), or "".
    channel: ``"chat"`` (the staff chat) or ``"api"`` (``POST /api/feedback``).
    """

    id: str
    time: str
    vote: str
    question: str
    answer: str
    standalone_question: str = ""
    history: list[str] = field(default_factory=list)
    abstained: bool = False
    citations: list[dict] = field(default_factory=list)
    comment: str = ""
    channel: str = "api"

    def to_dict(self) -> dict:
        return asdict(self)


def _bad(message: str) -> RagError:
    return RagError(message, code="bad_feedback", status=422)


def make_feedback(
    answer: dict,
    vote: str,
    *,
    comment: str = "",
    history: Iterable[str] = (),
    channel: str = "api",
    id: str | None = None,
    now: datetime | None = None,
) -> Feedback:
    """A checked ``Feedback`` record.

    answer: the answer as ``Answer.to_dict()`` gives it (``question``, ``answer``, and
        optionally ``standalone_question``, ``abstained``, ``citations``; other keys ignored).
    vote: ``"useful"`` or ``"wrong"``. history: earlier user questions, oldest first.
    id: reuse an earlier record's id to replace it (default: a new id).
    raises RagError(bad_feedback, 422): unknown vote, empty question, or a field too long.
    """
    if vote not in VOTES:
        raise _bad(f"评价应为 {' 或 '.join(VOTES)}（{'、'.join(VOTES.values())}）。")
    question = str(answer.get("question") or "").strip()
    text = str(answer.get("answer") or "")
    if not question:
        raise _bad("评价缺少问题（question）。")
    comment = (comment or "").strip()
    history = [str(h) for h in history]
    citations = answer.get("citations") or []
    for name, value, limit in (
        ("question", question, MAX_QUESTION_CHARS),
        ("answer", text, MAX_ANSWER_CHARS),
        ("comment", comment, MAX_COMMENT_CHARS),
    ):
        if len(value) > limit:
            raise _bad(f"{name} 太长（{len(value)} 字，最多 {limit} 字）。")
    if len(history) > MAX_HISTORY or len(citations) > MAX_CITATIONS:
        raise _bad(f"history 最多 {MAX_HISTORY} 条，citations 最多 {MAX_CITATIONS} 条。")
    if not all(isinstance(c, dict) for c in citations):
        raise _bad("citations 应为对象列表（与 /api/ask 返回的 citations 相同）。")
    return Feedback(
        id=id or uuid.uuid4().hex[:16],
        time=(now or datetime.now().astimezone()).isoformat(timespec="seconds"),
        vote=vote,
        question=question,
        answer=text,
        standalone_question=str(answer.get("standalone_question") or question),
        history=history,
        abstained=bool(answer.get("abstained")),
        citations=[{k: c[k] for k in _CITATION_FIELDS if k in c} for c in citations],
        comment=comment,
        channel=channel,
    )


def _write_error(exc: OSError) -> RagError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError("数据目录所在磁盘已满，评价未能保存。", code="store_full", status=507)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreError("数据目录为只读，评价未能保存。", code="store_readonly")
    return RagError(f"评价未能保存（{exc.strerror or '系统错误'}），请稍后重试。", code="feedback_failed", status=500)


class FeedbackStore:
    """The feedback file at ``path`` (created with its folder on the first write).

    Writes from threads of one process are serialised by a lock per path, and each record
    is appended with one ``write`` under an exclusive ``flock``, so a CLI export reading the
    file while the server writes never sees half a record (a torn last line is skipped).
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        with _locks_guard:
            self._lock = _locks.setdefault(self.path.resolve(), threading.Lock())

    def add(self, feedback: Feedback) -> Feedback:
        """Append ``feedback``. Blocking (local disk). Returns it.

        raises StoreError: ``store_full`` (507), ``store_readonly`` (503); RagError(feedback_failed, 500).
        """
        line = (json.dumps(feedback.to_dict(), ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a+b") as f:  # appends always go to the end
                    _flock(f)
                    if f.seek(0, 2) and (f.seek(-1, 2), f.read(1))[1] != b"\n":
                        line = b"\n" + line  # after a torn line (a writer killed mid-write), start afresh
                    f.write(line)
            except OSError as exc:
                raise _write_error(exc) from None
        return feedback

    def records(self) -> list[Feedback]:
        """Every record, the latest version of each id, in the order ids first appeared.
        An empty list when the file does not exist; lines that are not a record are skipped."""
        if not self.path.exists():
            return []
        latest: dict[str, Feedback] = {}
        names = {f.name for f in fields(Feedback)}
        skipped = 0
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                d = json.loads(line)
                fb = Feedback(**{k: v for k, v in d.items() if k in names})
            except (ValueError, TypeError):
                skipped += line.strip() != ""
                continue
            latest[fb.id] = fb
        if skipped:
            log.warning("%s: %d unreadable line(s) skipped", self.path, skipped)
        return list(latest.values())


def _flock(f) -> None:
    try:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # released when the file is closed
    except (ImportError, OSError):  # no flock (Windows, some network file systems): the thread lock remains
        pass


def dataset_line(fb: Feedback) -> dict[str, Any]:
    """``fb`` as a line of the evaluation dataset (format: ``eval/README.md``), for a person to
    complete: ``facts`` is empty (the person writes the gold facts from the article text),
    ``articles`` lists the titles the answer cited (check them), ``kind`` is a first guess
    (``followup`` when there is history, else ``fact``). ``id`` is ``feedback-<record id>``;
    ``feedback`` carries the vote, comment, time, the answer and its citations (title, date,
    author, source, quote) for the person writing the facts; ``eval.runner`` ignores it."""
    line: dict[str, Any] = {"id": f"feedback-{fb.id}", "question": fb.question}
    if fb.history:
        line["history"] = list(fb.history)
    line.update(
        {
            "facts": [],
            "articles": list(dict.fromkeys(c["title"] for c in fb.citations if c.get("title"))),
            "kind": "followup" if fb.history else "fact",
            "feedback": {
                "vote": fb.vote,
                "comment": fb.comment,
                "time": fb.time,
                "channel": fb.channel,
                "standalone_question": fb.standalone_question,
                "answer": fb.answer,
                "abstained": fb.abstained,
                "citations": [
                    {k: c.get(k, "") for k in ("n", "title", "date", "author", "source", "quote")} for c in fb.citations
                ],
            },
        }
    )
    return line


def export_lines(records: Iterable[Feedback], vote: str = "wrong") -> list[dict[str, Any]]:
    """Dataset lines (``dataset_line``) of the records with ``vote``, oldest first. A question
    (with the same history) voted on several times gives one line, from its latest record
    with that vote. (A person who changes a vote replaces their record, see ``FeedbackStore``.)"""
    chosen: dict[tuple, Feedback] = {}
    for fb in records:
        if fb.vote == vote:
            key = (tuple(fb.history), fb.question)
            chosen.pop(key, None)
            chosen[key] = fb
    return [dataset_line(fb) for fb in chosen.values()]
