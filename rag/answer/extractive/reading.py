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

    def confidence_row(self, top: float, second: float, sent: int) -> dict[str, float | str]:
        """The calibrator's row (``scorer.CONFIDENCE_FEATURES``) for an answer whose main
        sentence is ``sent``, with the kind's best and second-best scores."""
        f = self.frame
        return {
            "kind": f.kind,
            "wh": f.wh,
            "top": top,
            "second": second,
            "top_sentence": self.s_prob[sent] if self.s_prob else 0.0,
            "s_cov": self.s_feature(sent, "s_cov"),
            "a_cov": self.s_feature(sent, "a_cov"),
            "a_names": self.s_feature(sent, "a_names"),
            "a_names_missing": self.s_feature(sent, "a_names_missing"),
            "focus": self.s_feature(sent, "a_focus"),
            "q_unknown": f.unknown_share,
            "n_values": float(len(self.cands)),
        }


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
