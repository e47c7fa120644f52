"""The default answerer: no LLM, every answer a verbatim span of the archive, cited, with a
calibrated probability of being right.

::

    question, passages
      └─ analysis.analyze        Frame: kind, interrogative, focus, measure, terms, names
      └─ evidence.read_docs      the passages' articles, read whole (one store call), sentences
      └─ features + scorer       P(sentence states the answer)          sentence model
      └─ candidates + scorer     values of the best sentences, P(right)  candidate model
      └─ kinds/<kind>.compose    Draft: value first, its clause; or sentences; or a paragraph
      └─ scorer.confidence       P(answer right) < threshold → abstain (saying what the archive
                                 holds when an article has everything but the asked thing)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from ...types import Answer, ScoredChunk
from .analysis import Frame, analyze
from .candidates import value_candidates
from .compose import ABSTAIN_MESSAGE, cite
from .evidence import ArchiveLookup, read_docs, sentences_of
from .features import QuestionView, candidate_features, sentence_features
from .kinds import kind_of
from .lexicon import Lexicon, load_lexicon
from .reading import Draft, Piece, Reading
from .scorer import Scorer
from .tagger import LacTagger, Tagger, TagStore

VALUE_SENTENCES = 20  # the best sentences (by the sentence model) whose values are read
_JIEBA_TAGS = {"PER": "nr", "LOC": "ns", "ORG": "nt", "TIME": "t"}
CHECK_SENTENCES = 3  # sentences read for the names they hold when the answer is not a value


class ExtractiveAnswerer:
    """Cited extractive answers with calibrated abstention (see the module docstring).

    tokenize: text → content tokens (stopwords removed), the keyword tokenizer of BM25.
    idf / df: token → BM25 idf / document frequency over the archive's chunks.
    entities: known names → jieba POS (``nr`` person, ``ns`` place, ``nt`` organisation), e.g.
        the user dictionary: the tagger keeps them whole.
    lookup: whole articles and bylines from the store (see ``ArchiveLookup``); without it only
        the retrieved passages are read.
    tagger: the tagger (default ``LacTagger(entities)``); scorer: the learned models (default
        ``Scorer()`` from ``model/``); threshold: abstain below this confidence (default the
        scorer's, chosen on validation).
    home: the county's own name(s) ("绛县"): never taken as a question's term.
    tag_cache: a sqlite file keeping the tagger's output across processes (``tagger.TagStore``),
        e.g. ``<data dir>/tag_cache.sqlite``; None keeps tags in memory only.
    """

    def __init__(
        self,
        tokenize: Callable[[str], list[str]],
        idf: Callable[[str], float],
        df: Callable[[str], int] | None = None,
        *,
        entities: Iterable[str] | dict[str, str] = (),
        lookup: ArchiveLookup | None = None,
        tagger: Tagger | None = None,
        scorer: Scorer | None = None,
        threshold: float | None = None,
        lexicon: Lexicon | None = None,
        home: Iterable[str] = (),
        known_words: Callable[[], frozenset[str]] | None = None,
        tag_cache: Path | None = None,
    ):
        tagged = dict(entities) if isinstance(entities, dict) else {e: "" for e in entities}
        self.tokenize = tokenize
        self.idf = idf
        self.df = df or (lambda t: 1)
        self.lookup = lookup
        self.home = frozenset(home)
        self.people = frozenset(k for k, v in tagged.items() if v == "nr")
        if tagger is None:
            tagger = LacTagger({k: v for k, v in tagged.items() if v})
            if tag_cache is not None:
                tagger.store = TagStore(tag_cache, tagger.signature)
        self.tagger = tagger
        self.lex = lexicon or load_lexicon()
        self._scorer = scorer
        self._threshold = threshold
        self.known_words = known_words

    @property
    def scorer(self) -> Scorer:
        """The learned models (loaded at first use)."""
        if self._scorer is None:
            self._scorer = Scorer()
        return self._scorer

    @property
    def threshold(self) -> float:
        """Abstain when P(answer right) is below this."""
        return self._threshold if self._threshold is not None else self.scorer.threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = value

    def pos_cut(self, text: str) -> list[tuple[str, str]]:
        """``[(word, jieba-style tag)]`` of ``text`` from the tagger, for the follow-up rewrite
        (``rag.answer.condense``): ``PER`` → ``nr``, ``LOC`` → ``ns``, ``ORG`` → ``nt``, ``TIME``
        → ``t``; the POS tags are jieba's already."""
        return [(w, _JIEBA_TAGS.get(t, t)) for w, t in self.tagger.tag([text])[0]]

    # -- reading --------------------------------------------------------------------------------
    def analyze(self, question: str) -> Frame:
        """The question's ``Frame`` (its terms weighed by the archive's idf)."""
        tokenize = self.tokenize
        if self.home:
            home = self.home

            def tokenize(text: str) -> list[str]:
                return [t for t in self.tokenize(text) if t not in home]

        return analyze(question, self.lex, self.tagger.tag([question])[0], tokenize, self.idf, self.df)

    def read(self, question: str, passages: Sequence[ScoredChunk]) -> Reading:
        """The question against the passages' articles, with sentence features (no model yet)."""
        frame = self.analyze(question)
        view = QuestionView.of(frame, self.lex)
        docs = read_docs(passages, self.lookup)
        sents = sentences_of(docs)
        return Reading(frame, view, docs, sents, sentence_features(view, sents, docs))

    def read_values(self, r: Reading, sentences: Sequence[int]) -> None:
        """Tag ``sentences`` (indexes into ``r.sents``) and add their candidate values and
        features to ``r`` (``r.tagged``, ``r.cands``, ``r.c_rows``); needs ``r.s_prob``."""
        r.tagged = list(sentences)
        tags = self.tagger.tag([r.sents[i].text for i in r.tagged])
        r.cands = [c for i, t in zip(r.tagged, tags) for c in value_candidates(i, r.sents[i].text, t, self.lex)]
        r.c_rows = candidate_features(r.view, r.cands, r.sents, r.docs, r.s_rows, r.s_prob)

    def score(self, question: str, passages: Sequence[ScoredChunk]) -> Reading:
        """``read`` + both models: sentence probabilities, then the values of the best
        ``VALUE_SENTENCES`` sentences with their probabilities (``CHECK_SENTENCES`` when the
        kind's answer is not a value: their names still tell the calibrator about competitors)."""
        r = self.read(question, passages)
        r.s_prob = self.scorer.sentences(r.s_rows)
        self.read_values(r, r.best_sentences(VALUE_SENTENCES if kind_of(r.frame.kind).values else CHECK_SENTENCES))
        r.c_prob = self.scorer.candidates(r.c_rows)
        return r

    # -- answering ------------------------------------------------------------------------------
    def answer(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Answer:
        """Answer ``standalone`` from ``passages`` (retrieval order, best first).

        Returns an ``Answer`` whose pieces each end with ``[n]`` (citations numbered in order of
        first use, each quoting the cited sentences), with ``value``/``span`` (a factoid's value
        and its article offsets), ``kind`` and ``confidence`` = P(right) from the calibrator; or
        an abstention (``abstained=True``) when the confidence is below ``threshold`` or nothing
        can be composed, which may say what the archive does hold (with that citation).
        """
        r = self.score(standalone, passages)
        draft = kind_of(r.frame.kind).compose(r, self) if r.sents or r.frame.kind == "author" else None
        return self.decide(question, standalone, r, draft)

    def decide(self, question: str, standalone: str, r: Reading, draft: Draft | None) -> Answer:
        """The answer of ``draft``, or the abstention when its confidence is too low."""
        kind = r.frame.kind
        if draft is None:
            return self._abstain(question, standalone, r, 0.0)
        conf = 1.0 if draft.decided else self.scorer.confidence(draft.confidence)
        if conf < self.threshold:
            return self._abstain(question, standalone, r, conf)
        if draft.answer is not None:
            ans = draft.answer
            ans.question, ans.standalone_question = question, standalone
        else:
            ans = cite(question, standalone, draft.pieces, r.docs, draft.prefix)
        ans.kind, ans.confidence, ans.value = kind, round(conf, 4), draft.value
        if draft.span is not None:
            d = r.docs[draft.span[0]]
            ans.span = {"article_id": d.article_id, "start": draft.span[1], "end": draft.span[2]}
        return ans

    def answer_stream(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Iterator[str | Answer]:
        """``answer`` in the streaming shape of ``rag.answer.llm.LLMAnswerer.answer_stream``:
        the whole text as one piece, then the ``Answer``."""
        ans = self.answer(question, standalone, passages)
        yield ans.text
        yield ans

    # -- abstaining -----------------------------------------------------------------------------
    def _abstain(self, question: str, standalone: str, r: Reading, conf: float) -> Answer:
        """The plain abstention, or a close one: when the best article holds every name of the
        question and the question's focus is a real word of it that the article never uses,
        "档案中有《T》（日期）的报道，但没有提到X。[1]"."""
        ans = Answer(question, standalone, ABSTAIN_MESSAGE, True, kind=r.frame.kind, confidence=round(conf, 4))
        if not r.sents or not r.s_prob:
            return ans
        top = r.best_sentences(1)[0]
        s = r.sents[top]
        d = r.docs[s.doc]
        focus = r.frame.focus
        ctx = f"{d.title}\n{d.text}"
        if (
            focus
            and len(focus) >= 2
            and focus in r.frame.text
            and focus not in self.lex.generic
            and focus not in ctx
            and r.s_feature(top, "a_names_missing") == 0
            and r.frame.names
        ):
            lead = next(x for x in r.sents if x.doc == s.doc)
            date = f"（{d.date}）" if d.date else ""
            held = cite(
                question,
                standalone,
                [_piece(lead, f"档案中有《{d.title}》{date}的报道，但没有提到{focus}。")],
                r.docs,
            )
            held.abstained, held.kind, held.confidence = True, r.frame.kind, round(conf, 4)
            return held
        return ans


def _piece(sentence, text: str) -> Piece:
    return Piece(sentence.doc, sentence.start, sentence.end, text)
