"""A question read against its evidence: everything the answer kinds and the scorer work on."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...types import Answer
from .analysis import Frame
from .candidates import Candidate
from .evidence import Doc, Sentence
from .features import CANDIDATE_FEATURES, SENTENCE_FEATURES, QuestionView

_S = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
_C = {name: i for i, name in enumerate(CANDIDATE_FEATURES)}


@dataclass
class Reading:
    """frame: the question's analysis; docs/sents: the evidence; s_rows/s_prob: each sentence's
    features and P(it states the answer); tagged: the sentences whose values were read (the
    best by ``s_prob``); cands/c_rows/c_prob: the candidate values with features and P(right)."""

    frame: Frame
    view: QuestionView
    docs: list[Doc]
    sents: list[Sentence]
    s_rows: list[list[float]]
    s_prob: list[float] = field(default_factory=list)
    tagged: list[int] = field(default_factory=list)
    cands: list[Candidate] = field(default_factory=list)
    c_rows: list[list[float]] = field(default_factory=list)
    c_prob: list[float] = field(default_factory=list)

    def s_feature(self, i: int, name: str) -> float:
        """Feature ``name`` of sentence ``i``."""
        return self.s_rows[i][_S[name]]

    def c_feature(self, k: int, name: str) -> float:
        """Feature ``name`` of candidate ``k``."""
        return self.c_rows[k][_C[name]]

    def best_sentences(self, n: int | None = None) -> list[int]:
        """Sentence indexes by ``s_prob``, best first (ties: retrieval order)."""
        order = sorted(range(len(self.sents)), key=lambda i: (-self.s_prob[i], i))
        return order if n is None else order[:n]

    def competing(self, sent: int, value: int | None = None) -> int:
        """Names in sentence ``sent`` (its tagged candidates) of a tag the question's names have
        but not among them, the value aside: "和谁搭档" asked of 王伟莹 where the sentence names
        杨凌 (a false premise looks like this)."""
        asked: dict[str, set[str]] = {}
        for n in self.frame.names:
            if n.tag in ("PER", "LOC", "ORG", "TIME"):
                asked.setdefault(n.tag, set()).add(n.text)
        skip = self.cands[value].text if value is not None else None
        seen = set()
        for c in self.cands:
            if c.sent != sent or c.type not in asked or c.text == skip or c.text in seen:
                continue
            if not any(c.text in a or a in c.text for a in asked[c.type]):
                seen.add(c.text)
        return len(seen)

    def window_missing(self, sent: int) -> int:
        """The question's names found in none of sentence ``sent``, the one before it and its
        paragraph's first sentence."""
        s = self.sents[sent]
        ctx = s.text
        if sent > 0 and self.sents[sent - 1].doc == s.doc:
            ctx += self.sents[sent - 1].text
        first = sent - (s.index - s.para_first)
        if 0 <= first < len(self.sents):
            ctx += self.sents[first].text
        return sum(1 for n in self.frame.names if n.text not in ctx)

    def confidence_row(self, sent: int, value: int | None = None) -> dict[str, float | str]:
        """The calibrator's row (``scorer.CONFIDENCE_FEATURES``) for an answer whose main
        sentence is ``sent`` and whose value is candidate ``value`` (None: no value)."""
        f = self.frame
        order = self.best_sentences(2) if self.s_prob else []
        s_top = self.s_prob[order[0]] if order else 0.0
        s_second = self.s_prob[order[1]] if len(order) > 1 else 0.0
        names_in = self.s_feature(sent, "s_names")
        window_in = self.s_feature(sent, "win_names")
        d = self.docs[self.sents[sent].doc]
        article = f"{d.title}\n{d.text}"
        row: dict[str, float | str] = {
            "kind": f.kind,
            "wh": f.wh,
            "has_value": 0.0,
            "value_score": 0.0,
            "value_margin": 0.0,
            "value_window": 0.0,
            "value_in_question": 0.0,
            "value_adjacent": 0.0,
            "sentence_prob": self.s_prob[sent] if self.s_prob else 0.0,
            "sentence_margin": s_top - s_second,
            "s_cov": self.s_feature(sent, "s_cov"),
            "a_cov": self.s_feature(sent, "a_cov"),
            "a_names_missing": self.s_feature(sent, "a_names_missing"),
            "s_names": 1.0 if names_in < 0 else names_in,
            "win_names": 1.0 if window_in < 0 else window_in,
            "focus_missing": float(bool(f.focus) and len(f.focus) >= 2 and f.focus not in article),
            "focus_head_missing": float(bool(f.focus) and f.focus[-1] not in article),
            "measure_missing": float(bool(f.measure) and f.measure not in article),
            "q_unknown": f.unknown_share,
            "n_values": float(len(self.cands)),
            "competing": float(self.competing(sent, value)),
            "window_missing": float(self.window_missing(sent)),
            "value_type": "none",
            "wh_type": f"{f.wh}:none",
            "value_unit": -1.0,
            "value_focus": -1.0,
        }
        if value is not None:
            text = self.cands[value].text
            second = max((p for k, p in enumerate(self.c_prob) if self.cands[k].text != text), default=0.0)
            row.update(
                has_value=1.0,
                value_score=self.c_prob[value],
                value_margin=self.c_prob[value] - second,
                value_window=self.c_feature(value, "c_win_cov"),
                value_in_question=self.c_feature(value, "c_in_q"),
                value_adjacent=max(self.c_feature(value, "c_left_adj"), self.c_feature(value, "c_right_adj")),
                value_type=self.cands[value].type,
                wh_type=f"{f.wh}:{self.cands[value].type}",
                value_unit=self.c_feature(value, "c_unit"),
                value_focus=max(self.c_feature(value, "c_focus_in"), self.c_feature(value, "c_focus_adj")),
            )
        return row


@dataclass
class Piece:
    """A piece of answer text and the article span it comes from: ``docs[doc].text[start:end]``
    (whole sentences) is what its ``[n]`` cites."""

    doc: int
    start: int
    end: int
    text: str


@dataclass
class Draft:
    """A composed answer before the abstention decision.

    pieces: the text in order, each piece followed by its ``[n]``. value: the answer's value for a
    factoid (else ""), at ``span`` = (doc index, article start, article end). confidence: the
    calibrator's input row (``scorer.CONFIDENCE_FEATURES``). prefix: text before the pieces
    (e.g. "X署名的报道有："), without a citation. decided: True when the kind decides alone
    (metadata answers: bylines, events), without the calibrator. answer: a finished answer, for
    a kind that cites beyond the evidence (an author's other articles).
    """

    pieces: list[Piece]
    confidence: dict[str, float | str] = field(default_factory=dict)
    value: str = ""
    span: tuple[int, int, int] | None = None
    prefix: str = ""
    decided: bool = False
    answer: Answer | None = None
