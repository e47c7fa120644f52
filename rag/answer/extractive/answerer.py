"""The default answerer: no LLM, every answer a verbatim span of the archive, cited.

1. Question analysis (``analysis.analyze``): the expected answer type (person, organisation,
   place, date, year, quantity, role, an instance of a focus noun, a list, someone's
   statements, a description) and the constraints (people, places, organisations, events,
   dates) the question takes as given.
2. Evidence: the retrieved passages' articles, read whole (one store call), that satisfy
   *every* constraint. None → abstain, saying what the archive does hold when an article
   satisfies all constraints but one ("档案中有《…》的报道，但其中没有提到王大凤。[1]").
3. Answer first: a factoid answer starts with the value (a verbatim span: 王辨明 / 5月10日 /
   1200册) in one short sentence, then the clause it comes from; a list enumerates the
   clauses that name the items; statements list the speaker's points. No instance of the
   answer type in the evidence → abstain ("…但没有提到会议室。[1]").
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Iterator, Protocol, Sequence

from ...types import Answer, Chunk, ScoredChunk
from . import instances as I
from .analysis import (AUTHOR, DATE, EVENTS, HOME, INSTANCE, LIST, ORG, PERSON, PLACE, QUANTITY, ROLE,
                       SPEECH_VERBS, STATEMENTS, YEAR, Constraint, Frame, analyze, measure_compatible)
from .sentences import (INSTRUCTION, QUESTION_BIGRAMS, SCAFFOLD, SPEAKER_LEAD, Doc, Sentence, clipped, coverage, doc_sentences,
                        make_citation, rebuild_text, similar, window)

ABSTAIN_MESSAGE = "新闻档案中没有找到能回答这个问题的内容。可以换个说法、补充人名或地名，或调整日期范围后再试。"

# Evidence below this abstains (IDF-weighted share of the question's terms in the best article
# that satisfies every constraint). Calibrated on eval/datasets/dev.jsonl + news_dev.jsonl with
# `python -m eval.calibrate`, maximising balanced accuracy; never tuned per question.
ABSTAIN_THRESHOLD = 0.38

# A token the archive never uses cannot be checked against it: it counts this much of the
# largest idf (a known token that is absent from a passage counts its full idf).
UNKNOWN_TERM_WEIGHT = 0.25
# how a county bulletin speaks of its own county ("我县召开…"): a question about 县里 / 我县
# needs an article in that voice
HOME_VOICE = ("我县", "本县", "全县", "县委", "县政府", "县长")
MAX_DOCS = 8  # articles read whole per question (one store call)
FACTOID_SUPPORT_CHARS = 60  # the clause quoted after a factoid answer, at most (characters)
LIST_CLAUSE_CHARS = 120
STATEMENT_CLAUSE_CHARS = 100

class ArchiveLookup(Protocol):
    """What the answerer may ask the archive beyond the retrieved passages."""

    def article_chunks(self, article_ids: Sequence[str]) -> dict[str, list[Chunk]]:
        """Every chunk of each article, in index order (one store call)."""

    def by_author(self, author: str) -> list[Chunk]:
        """The first chunk of every article with this byline, newest first."""


def question_types(q: str) -> set[str]:
    """Coarse question types by cue words (for the pipeline: event-list questions read more
    passages): "events", "list", "author"… ; the answerer itself uses ``analysis.analyze``."""
    from .analysis import AUTHOR_Q, EVENTS_Q

    out = set()
    if EVENTS_Q.search(q):
        out.add("events")
    if AUTHOR_Q.search(q):
        out.add("author")
    if re.search(r"哪些|哪几|有什么|都有|分别", q):
        out.add("list")
    return out


class ExtractiveAnswerer:
    """Cited extractive answers (see the module docstring).

    tokenize: text → content tokens (stopwords removed), the same tokenizer as BM25.
    idf / df: token → BM25 idf / document frequency over the archive's chunks.
    entities: known names → POS tag (``nr`` person, ``ns`` place, ``nt`` organisation), e.g.
        the user dictionary; an iterable of names is taken as untagged.
    lookup: whole articles and bylines from the store (see ``ArchiveLookup``); without it only
        the retrieved passages are read.
    pos_cut: text → ``[(word, POS), …]``; default ``jieba.posseg`` with ``entities`` added.
    known_words: the names the keyword tokenizer gathered from the archive (officials after
        their titles, bylines, villages: ``rag.keyword.gather_user_words``); the ones not ending
        in 镇/乡/村 are taken as people.
    home: the county's own name(s) ("绛县"): a question about it needs an article in its voice.
    max_chars: answer budget in characters (markers excluded).
    threshold: evidence in [0, 1] below which the answerer abstains (``ABSTAIN_THRESHOLD``).
    """

    def __init__(self, tokenize: Callable[[str], list[str]], idf: Callable[[str], float],
                 df: Callable[[str], int] | None = None, *, entities: Iterable[str] | dict[str, str] = (),
                 lookup: ArchiveLookup | None = None, pos_cut: Callable[[str], list[tuple[str, str]]] | None = None,
                 known_words: Callable[[], frozenset[str]] | None = None,
                 home: Iterable[str] = (), max_chars: int = 420, threshold: float = ABSTAIN_THRESHOLD):
        self.tokenize = tokenize
        self.idf = idf
        self.df = df or (lambda t: 1)
        tagged = dict(entities) if isinstance(entities, dict) else {e: "" for e in entities}
        self.entities = {k: v for k, v in tagged.items() if k and k not in HOME}
        self.people = frozenset(k for k, v in self.entities.items() if v == "nr")
        self.lookup = lookup
        self.known_words = known_words
        self._known_seen: frozenset[str] = frozenset()
        self.home = tuple(home)
        self.max_chars = max_chars
        self.threshold = threshold
        self._pos_cut = pos_cut
        self._pos_cache: dict[str, list[tuple[str, str]]] = {}

    # -- analysis -------------------------------------------------------------------------------
    def pos_cut(self, text: str) -> list[tuple[str, str]]:
        """POS-tagged words of ``text`` (cached; ``jieba.posseg`` with the known names added)."""
        hit = self._pos_cache.get(text)
        if hit is not None:
            return hit
        if self._pos_cut is None:
            self._pos_cut = _jieba_pos(self.entities)
        out = self._pos_cut(text)
        if len(self._pos_cache) > 20000:
            self._pos_cache.clear()
        self._pos_cache[text] = out
        return out

    def pos_fast(self, text: str) -> list[tuple[str, str]]:
        """POS-tagged words without jieba's HMM for unknown words (about 5× faster; enough for
        the noun phrases of named things, whose heads are dictionary words)."""
        key = "\x00" + text
        hit = self._pos_cache.get(key)
        if hit is None:
            if self._pos_cut is None:
                self._pos_cut = _jieba_pos(self.entities)
            import jieba.posseg as pseg

            hit = [(p.word, p.flag) for p in pseg.cut(text, HMM=False)]
            self._pos_cache[key] = hit
        return hit

    def _sync_names(self) -> None:
        """Take in names the tokenizer gathered since the last question (people tagged nr)."""
        if self.known_words is None:
            return
        words = self.known_words()
        if words is self._known_seen:
            return
        new = {w for w in words - self._known_seen if 2 <= len(w) <= 4 and w not in self.entities}
        self._known_seen = words
        from ...keyword import _SURNAMES  # the surnames the name gatherer itself uses

        people = {w for w in new if not w.endswith(("镇", "乡", "村")) and w[0] in _SURNAMES
                  and re.fullmatch(r"[\u4e00-\u9fff]{2,4}", w)}
        if people:
            self.people = self.people | people
            self.entities = {**self.entities, **{w: "nr" for w in people}}
            if self._pos_cut is not None:
                _add_words({w: "nr" for w in people})
            self._pos_cache.clear()

    def analyze(self, question: str) -> tuple[Frame, dict[str, float]]:
        """The question's ``Frame`` and its weighted terms (idf; single characters 0.3×;
        tokens the archive never uses ``UNKNOWN_TERM_WEIGHT`` of the largest idf)."""
        self._sync_names()
        frame = analyze(question, self.pos_cut, entities=self.entities)
        max_idf = self.idf("\x00never-a-token\x00")
        terms: dict[str, float] = {}
        bare = SCAFFOLD.sub(" ", re.sub(r"(\d{1,2})月份", r"\1月", question))
        for t in self.tokenize(bare):
            if t in HOME or t in self.home:
                continue
            w = self.idf(t) if self.df(t) > 0 else UNKNOWN_TERM_WEIGHT * max_idf
            if len(t) == 1 and not t.isdigit():
                w *= 0.3
            terms[t] = max(terms.get(t, 0.0), w)
        return frame, terms

    # -- evidence -------------------------------------------------------------------------------
    def docs(self, passages: Sequence[ScoredChunk]) -> list[Doc]:
        """The articles of the passages (rank order, at most ``MAX_DOCS``), read whole with
        one ``lookup.article_chunks`` call (the passages alone without a lookup)."""
        order: dict[str, int] = {}
        for rank, p in enumerate(passages):
            order.setdefault(p.chunk.article_id, rank)
        ids = list(order)[:MAX_DOCS]
        chunks: dict[str, list[Chunk]] = {}
        if self.lookup is not None and ids:
            chunks = self.lookup.article_chunks(ids)
        out = []
        for aid in ids:
            mine = [p for p in passages if p.chunk.article_id == aid]
            got = list(chunks.get(aid) or [])
            if not got:
                got = [p.chunk for p in mine]
            first = mine[0].chunk
            retrieved = {cid for p in mine for cid in (p.chunk_ids or [p.chunk.id])}
            out.append(Doc(aid, first.title, first.date, first.author, first.source, rebuild_text(got),
                           sorted(got, key=lambda c: c.start), order[aid], max(p.score for p in mine), retrieved))
        return out

    def unsatisfied(self, frame: Frame, doc: Doc) -> list[Constraint]:
        """The constraints of the question that ``doc`` does not satisfy (same article)."""
        ctx = doc.context
        missing = []
        months = frame.of_kind("month")
        for c in frame.constraints:
            if c.kind in ("person", "place", "org"):
                ok = c.text in ctx or (c.kind != "person" and self._tokens_in(c.text, ctx))
            elif c.kind == "name":
                ok = c.text in ctx or self._tokens_in(c.text, ctx)
            elif c.kind == "role":
                ok = self._role_ok(frame, c, ctx)
            elif c.kind == "event":
                ok = all(self._word_in(w, ctx) for w in c.core)
            elif c.kind == "date":
                mo, d, y = c.core
                ok = _date_parts(doc.date) in ((y or _date_parts(doc.date)[0], mo, d),) or \
                    bool(re.search(rf"(?<!\d){mo}月{d}[日号]", ctx))
            elif c.kind == "month":
                ok = any(_date_parts(doc.date)[1] == m.core[0] for m in months) or \
                    any(re.search(rf"(?<![\d.]){m.core[0]}月", ctx) for m in months)
            elif c.kind == "year":
                ok = _date_parts(doc.date)[0] == c.core[0] or f"{c.core[0]}年" in ctx or str(c.core[0]) in ctx
            else:
                ok = True
            if not ok:
                missing.append(c)
        if (any(h in frame.text for h in HOME) or any(h in frame.text for h in self.home)) and self.home_voice(ctx) is False:
            missing.append(Constraint(next((h for h in self.home), "本县"), "home"))
        return missing

    def home_voice(self, text: str) -> bool:
        """True when an article speaks of the county as its own ("我县", "县委"… or its name)."""
        return any(h in text for h in HOME_VOICE + self.home)

    def _word_in(self, word: str, ctx: str) -> bool:
        """``word`` is in ``ctx``, or every one of its sub-words that says something is
        ("招商会" → 招商: the 会 of a meeting name is generic)."""
        if word in ctx:
            return True
        from .analysis import GENERIC_EVENT_WORDS

        subs = [t for t in self.tokenize(word) if t != word and len(t) > 1 and t not in GENERIC_EVENT_WORDS]
        return bool(subs) and all(t in ctx for t in subs)

    def _tokens_in(self, text: str, ctx: str) -> bool:
        toks = [t for t in self.tokenize(text) if len(t) > 1]
        return bool(toks) and all(t in ctx for t in toks)

    def _role_ok(self, frame: Frame, c: Constraint, ctx: str) -> bool:
        """A role written before a name in the question ("县长李晓军") must be written before
        that name in the article too; a role alone must occur."""
        after = frame.text[frame.text.find(c.text) + len(c.text):]
        person = next((p.text for p in frame.of_kind("person") if after.startswith(p.text)), None)
        if person is None:
            return c.text in ctx
        return any(c.text in ctx[max(0, m.start() - 14):m.start()] for m in re.finditer(re.escape(person), ctx))

    def evidence(self, question: str, passages: Sequence[ScoredChunk]) -> float:
        """Strength of the evidence, in [0, 1]: the IDF-weighted share of the question's terms
        in the best article that satisfies every constraint (0 when none does)."""
        frame, terms = self.analyze(question)
        if not terms or not passages:
            return 0.0
        docs = [d for d in self.docs(passages) if not self.unsatisfied(frame, d)]
        return max((coverage(terms, d.context) for d in docs), default=0.0)

    # -- answer -----------------------------------------------------------------------------------
    def answer(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Answer:
        """Answer ``standalone`` from ``passages`` (retrieval order, best first).

        Returns an ``Answer`` whose sentences each end with ``[n]``, citations numbered in
        order of first use, each quoting the cited sentences; or an abstention
        (``abstained=True``) whose text may say what the archive does hold, with that citation.
        """
        frame, terms = self.analyze(standalone)
        if frame.atype == AUTHOR:
            ans = self._author_answer(question, standalone, frame, terms, passages)
            if ans is not None:
                return ans
        docs = self.docs(passages)
        if not docs or not terms:
            return Answer(question, standalone, ABSTAIN_MESSAGE, True)
        checks = [(d, self.unsatisfied(frame, d)) for d in docs]
        valid = [d for d, miss in checks if not miss]
        if not valid:
            return self._abstain_close(question, standalone, frame, terms, checks)
        cov = {d.article_id: coverage(terms, d.context) for d in valid}
        if max(cov.values()) < self.threshold and frame.atype not in (EVENTS,):
            return Answer(question, standalone, ABSTAIN_MESSAGE, True)
        best_cov = max(cov.values())
        valid = [d for d in valid if cov[d.article_id] >= 0.5 * best_cov]
        sents = doc_sentences(valid)
        if frame.atype == EVENTS:
            return self._events(question, standalone, frame, terms, valid, sents)
        if frame.atype == STATEMENTS:
            return self._statements(question, standalone, frame, terms, valid, sents)
        if frame.atype == LIST:
            return self._list(question, standalone, frame, terms, valid, sents)
        if frame.atype in (PERSON, ORG, PLACE, DATE, YEAR, QUANTITY, ROLE, INSTANCE):
            return self._factoid(question, standalone, frame, terms, valid, sents)
        return self._description(question, standalone, frame, terms, valid, sents)

    def answer_stream(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Iterator[str | Answer]:
        """``answer`` in the streaming shape of ``rag.answer.llm.LLMAnswerer.answer_stream``:
        the whole text as one piece, then the ``Answer``."""
        ans = self.answer(question, standalone, passages)
        yield ans.text
        yield ans

    # -- scoring ----------------------------------------------------------------------------------
    def _score(self, s: Sentence, frame: Frame, terms: dict[str, float], docs: list[Doc]) -> float:
        d = docs[s.doc]
        focus = {t: w for t, w in terms.items() if t not in d.title} or terms
        big = _bigrams(frame.text)
        bg = len({b for b in big if b in s.text}) / len(big) if big else 0.0
        score = 0.45 * coverage(focus, s.text) + 0.2 * coverage(terms, s.text) + 0.15 * bg + 0.1 / (1 + d.rank)
        if any(c.id in d.retrieved and c.start <= s.start < c.end for c in d.chunks):
            score += 0.05
        if frame.verbs and any(v in s.text for v in frame.verbs):
            score += 0.1
        return score

    # -- factoids ---------------------------------------------------------------------------------
    def _factoid(self, question, standalone, frame: Frame, terms, docs, sents) -> Answer:
        cands = []  # (score, sentence, span)
        for s in sents:
            if not self._local(frame, s, docs[s.doc]):
                continue
            base = self._score(s, frame, terms, docs)
            for span, bonus in self._instances(frame, s, docs):
                value = s.text[span[0]:span[1]]
                if value in frame.text or all(ch in frame.text for ch in value):
                    continue  # the question's own words are no answer
                cands.append((base + bonus, s, span))
        if not cands:
            return self._abstain_attribute(question, standalone, frame, terms, docs, sents)
        cands.sort(key=lambda x: (-x[0], x[1].doc, x[1].start))
        score, s, (a, b) = cands[0]
        value = s.text[a:b]
        ws, we = window(s.text, terms, FACTOID_SUPPORT_CHARS, keep=(a, b))
        support = clipped(s.text, (ws, we))
        pieces = [(s.doc, s.start, s.end, value.rstrip("，、；：,") + "。")]
        if _plain(support) != _plain(value):
            pieces.append((s.doc, s.start, s.end, support))
        return self._compose(question, standalone, pieces, docs)

    def _local(self, frame: Frame, s: Sentence, d: Doc) -> bool:
        """The constraints hold where the value is written, not only somewhere in the article:
        a person the question names is in the sentence; places, organisations, names and
        events are in its paragraph (or the title). "香炉洲大桥的总投资" is not the 青龙洲大桥
        paragraph's figure."""
        start = d.text.rfind("\n", 0, s.start) + 1
        end = d.text.find("\n", s.end)
        para = d.title + "\n" + d.text[start:end if end >= 0 else len(d.text)]
        for c in frame.constraints:
            if c.kind == "person" and c.text not in s.text and not re.match(r"(?:他|她|其)", s.text):
                return False
            if c.kind in ("place", "org", "name") and not (c.text in para or self._tokens_in(c.text, para)):
                return False
            if c.kind == "event" and not all(self._word_in(w, para) for w in c.core):
                return False
        return True

    def _instances(self, frame: Frame, s: Sentence, docs: list[Doc]) -> list[tuple[tuple[int, int], float]]:
        """Spans of ``s`` that are instances of the answer type, each with a bonus for how
        closely it is tied to the question's verb/focus/attribute; [] when none qualifies."""
        text = s.text
        given = {c.text for c in frame.constraints}
        out: list[tuple[tuple[int, int], float]] = []
        t = frame.atype
        if t == DATE:
            if frame.attribute and not any(v in text for v in frame.attribute):
                return []
            for span in I.dates(text) or I.months(text):
                if text[span[0]:span[1]] not in given:
                    out.append((span, 0.3))
        elif t == YEAR:
            if frame.attribute and not any(v in text for v in frame.attribute):
                return []
            out = [(sp, 0.3) for sp in I.years(text) if text[sp[0]:sp[1]] not in given]
        elif t == QUANTITY:
            words = self._attribute_words(frame)
            for a, b, unit in I.quantities(text):
                if text[a:b] in given:
                    continue
                named_after = any(text[b:b + 6].startswith(w) for ws in words for w in ws)  # "36枚金牌"
                if not (measure_compatible(frame.measure, unit) or named_after):
                    continue
                if not (named_after or _implied(frame.attribute, unit) or all(
                        any(w in text for w in ws) for ws in words)):
                    continue  # a number, but not of what is asked ("开盘价" for 收盘价)
                out.append(((a, b), 0.3 if (frame.measure and unit) or named_after else 0.2))
        elif t in (PERSON, ROLE):
            names = [sp for sp in I.people(text, self.people, self.pos_cut) if text[sp[0]:sp[1]] not in given]
            if t == ROLE:
                persons = [p.text for p in frame.of_kind("person")]
                for p in persons:
                    for m in re.finditer(re.escape(p), text):
                        r = I.role_before(text, m.start())
                        if r:
                            out.append((r, 0.3))
                return out
            for sp in names:
                bonus = self._tie(frame, text, sp, doc_text=docs[s.doc].text)
                if bonus is not None:
                    out.append((sp, bonus))
        else:  # ORG, PLACE, INSTANCE
            if t == PLACE and frame.attribute and not self._attribute_near(frame, text):
                return []
            kind = t if t in (ORG, PLACE) else INSTANCE
            for sp in I.named(text, kind, frame.focus, self.pos_fast):
                val = text[sp[0]:sp[1]]
                if val in given or any(val in g for g in given) or val == frame.focus or _is_home(val, self.home):
                    continue
                if _titled(text, sp[1]) and not any(r.text in text[sp[1]:sp[1] + 8] for r in frame.of_kind("role")):
                    continue  # "横水镇党委书记": a post, unless the question asks whose post it is
                if kind == INSTANCE and frame.focus and not val.endswith((frame.focus, frame.focus[-1])):
                    continue
                bonus = self._tie(frame, text, sp, need_verb=bool(frame.verbs))
                if bonus is not None:
                    if frame.focus and (val.endswith(frame.focus) or val.endswith(frame.focus[-1:])):
                        bonus += 0.15
                    out.append((sp, bonus))
        return out

    def _tie(self, frame: Frame, text: str, sp: tuple[int, int], need_verb: bool = False,
             doc_text: str = "") -> float | None:
        """How a candidate value is tied to the question: its focus noun written next to it
        ("副县长郭晓伟" anywhere in the article, "专家李四") and the question's verb next to it
        ("王辨明主持"). A person focus must be next to the name; a verb must be in its clause."""
        a, b = sp
        clause_s = max(text.rfind(ch, 0, a) for ch in "，。；：,;") + 1
        ends = [i for i in (text.find(ch, b) for ch in "，。；：,;") if i >= 0]
        clause = text[clause_s:min(ends) if ends else len(text)]
        bonus = 0.1
        generic = re.fullmatch(r"(?:县|市|区|镇)?(?:领导|干部|人员|同志|人|官员|代表|嘉宾)", frame.focus or "")
        if frame.focus and (frame.focus_kind == PERSON or frame.atype == PERSON) and not generic:
            name = text[a:b]
            words = [w for w, _ in self.pos_fast(frame.focus)]
            marks = {frame.focus, words[-1] if words else frame.focus,
                     re.sub(r"(领导|干部|人员|同志|负责人)$", "", frame.focus)} - {""}
            hay = [text[max(0, a - 14):a] + text[b:b + 4]]
            hay += [doc_text[max(0, m.start() - 14):m.start()] for m in re.finditer(re.escape(name), doc_text)]
            if not any(mark in h for mark in marks for h in hay):
                return None
            bonus += 0.25
        verbs = [v for v in frame.verbs if v not in {c.text for c in frame.constraints}]
        if verbs:
            hit = [v for v in verbs if v in clause]
            if hit:
                dist = min(abs(clause.find(v) + clause_s - b) for v in hit)
                bonus += 0.25 if dist <= 4 else 0.15
            elif need_verb or not frame.focus:
                return None
        return bonus

    def _attribute_words(self, frame: Frame) -> list[list[str]]:
        """Per word of the asked attribute, the forms that count as writing it with the value:
        its sub-words of 2+ characters ("收盘价" → 收盘, 收盘价), a single character only when
        it has nothing longer ("多少雨" → 雨). Every word needs one of its forms."""
        out = []
        for a in frame.attribute:
            subs = [t for t in (self.tokenize(a) or [a]) if len(t) > 1]
            out.append(subs or [a])
        return out

    def _attribute_near(self, frame: Frame, text: str) -> bool:
        """The quantity's attribute ("收盘价", "图书") is written in the sentence: its most
        specific word (highest idf) must be there."""
        words = [w for a in frame.attribute for w in (self.tokenize(a) or [a])]
        if not words:
            return True
        key = max(words, key=lambda w: (len(w) > 1, self.idf(w)))
        return key in text

    # -- lists ----------------------------------------------------------------------------------
    def _list(self, question, standalone, frame: Frame, terms, docs, sents) -> Answer:
        kind = frame.focus_kind or INSTANCE
        keep = [i for i, d in enumerate(docs) if self._holds_focus(frame, d)]
        verbs = [v for v in frame.verbs if v not in SPEECH_VERBS]
        with_verb = [i for i in keep if not verbs or any(v in docs[i].context for v in verbs)]
        keep = set(with_verb or keep)
        sents = [s for s in sents if s.doc in keep]
        if any(v in frame.text for v in SPEECH_VERBS):  # "县长要求在哪些领域…": what the speaker said
            speakers = self._speakers(frame, docs)
            said = [s for s in sents if self._said_by(s, speakers)]
            sents = said or sents
        scored = []
        given = {c.text for c in frame.constraints}
        for s in sents:
            base = self._score(s, frame, terms, docs)
            text = s.text
            if kind == PERSON:
                spans = [sp for sp in I.people(text, self.people, self.pos_cut) if text[sp[0]:sp[1]] not in given]
            elif frame.focus:
                spans = [sp for sp in I.named(text, kind if kind in (ORG, PLACE) else INSTANCE, frame.focus, self.pos_fast)
                         if text[sp[0]:sp[1]] not in given and not _titled(text, sp[1])
                         and not _is_home(text[sp[0]:sp[1]], self.home)]
            else:
                spans = []
            # an enumeration counts when it names the focus right next to it ("…等3个小区", "储备得好、管理得好")
            enums = [n for a, b, n in I.enumerations(text)
                     if any(a <= x < b for x, _ in spans)
                     or (len(frame.focus) >= 2 and frame.focus in text[b:b + 6])]
            items = len(spans) + max(enums, default=0)
            if items < 1 or (items < 2 and not any(v in text for v in frame.verbs)):
                continue
            scored.append((0.5 * base + 0.1 * min(items, 6), s))
        if not scored and keep and kind not in (PERSON,):
            # abstract items ("哪些方面", "哪几个'好'"): the enumerations of the best sentences
            for s in sents:
                enum = max((n for _, _, n in I.enumerations(s.text)), default=0)
                if enum >= 2:
                    scored.append((self._score(s, frame, terms, docs) + 0.03 * min(enum, 5), s))
            if scored and max(sc for sc, _ in scored) < 0.3:
                scored = []
        if not scored:
            return self._abstain_attribute(question, standalone, frame, terms, docs, sents)
        scored.sort(key=lambda x: -x[0])
        top = scored[0][0]
        chosen: list[Sentence] = []
        used = 0
        for sc, s in scored:
            if sc < 0.45 * top or len(chosen) >= 5:
                break
            span = window(s.text, terms, LIST_CLAUSE_CHARS)
            piece = clipped(s.text, span)
            if any(similar(piece, c.text) > 0.5 for c in chosen) or (chosen and used + len(piece) > self.max_chars):
                continue
            chosen.append(Sentence(s.doc, s.start, s.end, piece, s.para_head))
            used += len(piece)
        pieces = [(c.doc, c.start, c.end, c.text) for c in sorted(chosen, key=lambda c: (docs[c.doc].rank, c.start))]
        return self._compose(question, standalone, pieces, docs)

    def _holds_focus(self, frame: Frame, d: Doc) -> bool:
        """A specific focus noun ("学校", "会议室"), one of its words ("产业项目" → 产业) or its
        head character occurs in the article (a generic one, "地方", "单位", always holds)."""
        from .instances import GENERIC_FOCUS, SUBCLASS_HEADS

        f = frame.focus
        if not f or f in GENERIC_FOCUS or frame.focus_kind == PERSON:
            return True
        marks = [f, *SUBCLASS_HEADS.get(f, ())] + ([f[-1]] if len(f) >= 2 else [])
        marks += [t for t in self.tokenize(f) if len(t) > 1]
        return any(m in d.text for m in marks)

    @staticmethod
    def _said_by(s: Sentence, speakers: set[str]) -> bool:
        """The sentence is in a paragraph opened by one of ``speakers`` speaking, or names the
        speaker with a reporting verb ("希望绛山种业…" after "李晓军还前往…")."""
        m = SPEAKER_LEAD.match(s.para_head)
        if m and (not speakers or m.group(1) in speakers):
            return True
        return any(p in s.text for p in speakers) and any(v in s.text for v in ("强调", "指出", "要求", "希望", "表示"))

    # -- statements -------------------------------------------------------------------------------
    def _statements(self, question, standalone, frame: Frame, terms, docs, sents) -> Answer:
        speakers = self._speakers(frame, docs)
        paras = [s for s in sents if self._said_by(s, speakers)]
        if not paras:
            if speakers:
                return self._abstain_attribute(question, standalone, frame, terms, docs, sents,
                                               missing=f"{'、'.join(sorted(speakers))}的讲话内容")
            return self._description(question, standalone, frame, terms, docs, sents)
        asked = next((v for v in SPEECH_VERBS if v in frame.text), "")
        topic = {t: w for t, w in terms.items() if t not in speakers and t not in SPEECH_VERBS
                 and not any(t in c.text for c in frame.constraints)}
        for s in paras:
            # what was said, not who said it: the speaker's name and the verb do not score
            m = SPEAKER_LEAD.match(s.para_head)
            s.score = 0.3 + 0.1 / (1 + docs[s.doc].rank)
            if m and asked and m.group(2) == asked:
                s.score += 0.15
            if INSTRUCTION.match(s.text):
                s.score += 0.05
            if topic:
                s.score += 0.4 * coverage(topic, s.text) + 0.2 * coverage(topic, docs[s.doc].text[s.start - 200 if s.start > 200 else 0:s.end + 200])
        ranked = sorted(paras, key=lambda s: -s.score)
        top = ranked[0].score
        ranked = [s for s in ranked if s.score >= 0.6 * top]
        if not topic:  # "X强调了什么" over several articles: take from each in turn
            per_doc: dict[int, list[Sentence]] = {}
            for s in ranked:
                per_doc.setdefault(s.doc, []).append(s)
            queues = [per_doc[d] for d in sorted(per_doc, key=lambda d: docs[d].rank)]
            ranked = [q[i] for i in range(max(len(q) for q in queues)) for q in queues if i < len(q)]
        chosen: list[tuple[int, int, int, str]] = []
        used = 0
        for s in ranked:
            if len(chosen) >= 6:
                break
            hit = topic and any(t in s.text for t in topic)
            span = window(s.text, topic, STATEMENT_CLAUSE_CHARS) if hit else \
                window(s.text, terms, STATEMENT_CLAUSE_CHARS, keep=(0, 1))
            piece = clipped(s.text, span)
            if chosen and used + len(piece) > self.max_chars:
                continue
            if any(similar(piece, c[3]) > 0.5 for c in chosen):
                continue
            chosen.append((s.doc, s.start, s.end, piece))
            used += len(piece)
        chosen.sort(key=lambda c: (docs[c[0]].rank, c[1]))
        return self._compose(question, standalone, chosen, docs)

    def _speakers(self, frame: Frame, docs: list[Doc]) -> set[str]:
        """Whose words are asked for: the question's person, or the person an asked role
        names in the evidence ("县长" → "县长李晓军" → 李晓军)."""
        people = {c.text for c in frame.of_kind("person")}
        if people:
            return people
        out = set()
        for c in frame.of_kind("role"):
            for d in docs:
                for m in re.finditer(re.escape(c.text) + r"([\u4e00-\u9fff]{2,3}?)(?=[，、。；,\s]|主持|出席|参加|陪同|带队|调研|强调|指出)",
                                     d.text):
                    out.add(m.group(1))
        return out

    # -- events and descriptions ------------------------------------------------------------------
    def _events(self, question, standalone, frame: Frame, terms, docs, sents) -> Answer:
        """"X参加了哪些活动？": one line per article that satisfies the constraints: its lead
        sentence, plus the sentence naming X."""
        pieces = []
        names = [c.text for c in frame.constraints if c.kind in ("person", "place", "org", "name")]
        for i, d in enumerate(docs):
            mine = [s for s in sents if s.doc == i]
            if not mine:
                continue
            lead = mine[0]
            ws = window(lead.text, terms, 150)
            pieces.append((i, lead.start, lead.end, clipped(lead.text, ws)))
            for name in names:
                s = next((s for s in mine if name in s.text), None)
                if s is not None and s is not lead and not any(s.text[:20] in p[3] for p in pieces):
                    pieces.append((i, s.start, s.end, clipped(s.text, window(s.text, terms, 100))))
                    break
        return self._compose(question, standalone, pieces, docs)

    def _description(self, question, standalone, frame: Frame, terms, docs, sents) -> Answer:
        for s in sents:
            s.score = self._score(s, frame, terms, docs)
        ranked = sorted(sents, key=lambda s: -s.score)
        if not ranked:
            return Answer(question, standalone, ABSTAIN_MESSAGE, True)
        top = ranked[0].score
        chosen: list[tuple[int, int, int, str]] = []
        used = 0
        for s in ranked:
            if s.score < 0.75 * top or len(chosen) >= 3:
                break
            piece = clipped(s.text, window(s.text, terms, 150))
            if any(similar(piece, c[3]) > 0.5 for c in chosen) or (chosen and used + len(piece) > self.max_chars):
                continue
            chosen.append((s.doc, s.start, s.end, piece))
            used += len(piece)
        chosen.sort(key=lambda c: (docs[c[0]].rank, c[1]))
        return self._compose(question, standalone, chosen, docs)

    # -- abstentions ----------------------------------------------------------------------------
    def _abstain_close(self, question, standalone, frame: Frame, terms, checks) -> Answer:
        """No article satisfies every constraint. When one satisfies all but one (and shares
        enough of the question), say what the archive holds and what it lacks, with that citation."""
        close = [(d, miss) for d, miss in checks if len(miss) == 1 and len(frame.constraints) > 1
                 and miss[0].kind != "home" and coverage(terms, d.context) >= self.threshold]
        if not close:
            return Answer(question, standalone, ABSTAIN_MESSAGE, True)
        d, miss = close[0]
        what = miss[0].text
        return self._abstain_holding(question, standalone, d, [d], f"其中没有提到{what}")

    def _abstain_attribute(self, question, standalone, frame: Frame, terms, docs, sents, missing: str = "") -> Answer:
        """The evidence satisfies the question but holds no value of the asked type."""
        d = docs[0]
        if not missing:
            missing = _missing_text(frame)
        return self._abstain_holding(question, standalone, d, docs, f"但没有提到{missing}")

    def _abstain_holding(self, question, standalone, d: Doc, docs: list[Doc], lack: str) -> Answer:
        date = f"（{d.date}）" if d.date else ""
        lead = doc_sentences([d])[:1]
        spans = [(lead[0].start, lead[0].end)] if lead else [(0, min(len(d.text), 80))]
        p = d.passage_for(*spans[0])
        lack = lack if lack.startswith("但") else f"但{lack}"
        text = f"档案中有《{d.title}》{date}的报道，{lack}。[1]"
        return Answer(question, standalone, text, True, [make_citation(1, p, spans)])

    # -- author ---------------------------------------------------------------------------------
    def _author_answer(self, question, standalone, frame: Frame, terms, passages) -> Answer | None:
        people = [c.text for c in frame.of_kind("person") if self.lookup and self.lookup.by_author(c.text)]
        if people and re.search(r"写了|写过|写的|哪几篇|哪些", frame.text):
            leads = self.lookup.by_author(people[0])
            pool = [ScoredChunk(c, 0.0, chunk_ids=[c.id]) for c in leads]
            cits = [make_citation(i + 1, p) for i, p in enumerate(pool)]
            text = f"{people[0]}署名的报道有：" + "；".join(
                f"《{c.title}》（{c.date}）[{i + 1}]" for i, c in enumerate(leads)) + "。"
            return Answer(question, standalone, text, False, cits)
        if not passages:
            return None
        ranked = sorted(range(len(passages)), key=lambda i: (
            -coverage(terms, passages[i].chunk.title + passages[i].chunk.text), i))
        best = passages[ranked[0]]
        if coverage(terms, best.chunk.title + best.chunk.text) < self.threshold:
            return None
        c = best.chunk
        text = f"《{c.title}》的作者是{c.author}。[1]" if c.author else f"《{c.title}》没有署名作者。[1]"
        return Answer(question, standalone, text, False, [make_citation(1, best)])

    # -- composing --------------------------------------------------------------------------------
    def _compose(self, question: str, standalone: str, pieces: list[tuple[int, int, int, str]],
                 docs: list[Doc]) -> Answer:
        """pieces: (doc index, sentence start, sentence end, text shown). ``[n]`` follows every
        piece; n numbers the passages (chunks) in order of first use, each citation quoting
        the sentences its pieces come from."""
        if not pieces:
            return Answer(question, standalone, ABSTAIN_MESSAGE, True)
        numbers: dict[str, int] = {}
        passages: dict[str, ScoredChunk] = {}
        spans: dict[str, list[tuple[int, int]]] = {}
        parts = []
        for di, s, e, text in pieces:
            p = docs[di].passage_for(s, e)
            key = p.chunk.id
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                passages[key] = p
            spans.setdefault(key, []).append((s, e))
            parts.append(f"{text}[{numbers[key]}]")
        citations = [make_citation(n, passages[k], spans[k]) for k, n in numbers.items()]
        return Answer(question, standalone, "".join(parts), False, citations)


def _missing_text(frame: Frame) -> str:
    t = frame.atype
    if t == QUANTITY:
        what = "".join(frame.attribute[-2:]) if frame.attribute else ""
        return f"{what}的具体数字" if what else "具体数字"
    if t == DATE:
        return "具体日期"
    if t == YEAR:
        return "年份"
    if t == ROLE:
        return "职务"
    if t == PERSON:
        return f"{frame.focus}的名字" if frame.focus else "相关人员的名字"
    if t == PLACE:
        return frame.focus or "地点"
    return frame.focus or "相关内容"


ROLE_AFTER = re.compile(r"(?:党委|党工委|党组)?(?:副)?(?:书记|镇长|乡长|县长|市长|主任|局长|村长|主席|部长|常委|委员)")


def _titled(text: str, end: int) -> bool:
    """True when a place/organisation ends right before an official title: "横水镇党委书记荣亿"
    names a post, not a place visited."""
    return bool(ROLE_AFTER.match(text, end))


def _is_home(value: str, home: tuple[str, ...]) -> bool:
    return value in HOME or value in home


# attributes that only say which kind of unit is asked for (人数 → 人/名/人次 …)
IMPLIED_UNITS = {"人数": "人", "人次": "人", "数量": "", "面积": "平方米", "金额": "元", "价格": "元", "价钱": "元",
                 "投资": "元", "收入": "元", "长度": "米", "距离": "米", "里程": "米", "重量": "吨", "产量": "吨"}


def _implied(attribute: list[str], unit: str) -> bool:
    """True when the attribute only names the kind of measure and ``unit`` is of that kind."""
    for a in attribute:
        for key, u in IMPLIED_UNITS.items():
            if a.endswith(key) and (not u or measure_compatible(u, unit)):
                return True
    return False


def _date_parts(date: str) -> tuple[int, int, int]:
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", date or "")
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)


def _plain(text: str) -> str:
    return re.sub(r"[^\w]", "", text)


def _bigrams(q: str) -> set[str]:
    han = re.sub(r"[^\u4e00-\u9fff]", "", SCAFFOLD.sub(" ", q))
    return {han[i : i + 2] for i in range(len(han) - 1)} - QUESTION_BIGRAMS


def _add_words(tagged: dict[str, str]) -> None:
    """Add names to the process-wide jieba dictionary, kept whole and tagged (only ever adds)."""
    import jieba

    for word, tag in tagged.items():
        if word and " " not in word:
            jieba.add_word(word, tag=tag or "nz")


def _jieba_pos(entities: dict[str, str]) -> Callable[[str], list[tuple[str, str]]]:
    """``jieba.posseg`` (the process-wide tagger) with the known names added whole, tagged."""
    import logging

    import jieba.posseg as pseg

    logging.getLogger("jieba").setLevel(logging.WARNING)
    _add_words(entities)

    def cut(text: str) -> list[tuple[str, str]]:
        return [(p.word, p.flag) for p in pseg.cut(text)]

    return cut
