"""The default answerer: no LLM, every sentence quoted from the archive and cited.

Sentences of the retrieved passages are scored against the question (IDF-weighted term
coverage, character-bigram overlap for paraphrases, question-type cues, retrieval rank),
the best few are chosen within a length budget without redundancy, put back in article
order and marked ``[n]``. The answerer abstains (a plain Chinese message, no citations)
when the evidence is weak: too little of the question is found in any passage that
names all of the question's entities, or a "how many" question has no quantity to quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol, Sequence

from ..chunk import split_sentences
from ..types import Answer, Chunk, Citation, ScoredChunk

ABSTAIN_MESSAGE = "新闻档案中没有找到能回答这个问题的内容。可以换个说法、补充人名或地名，或调整日期范围后再试。"

# Evidence below this abstains. Calibrated on eval/datasets/dev.jsonl (answerable vs
# unanswerable questions, corpus + 300 news-crud distractors) with `python -m eval.calibrate`,
# maximising balanced accuracy; never tuned per question. See eval/README.md.
ABSTAIN_THRESHOLD = 0.38

# A token the archive never uses cannot be checked against it: it counts this much of the
# largest idf (a known token that is absent from a passage counts its full idf).
UNKNOWN_TERM_WEIGHT = 0.25

HOME = frozenset({"绛县", "我县", "全县", "县里", "本县"})  # the archive's own county: not a constraint
# how the bulletin names its own county (other places' news says 全县 too, so that is no proof)
COUNTY_CONTEXT = ("绛县", "我县", "县委", "县长", "县政府")

DATE = re.compile(r"\d{1,2}月\d{1,2}日")
QUANTITY = re.compile(
    r"(?<![\d.])(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千万亿]+)\s*"
    r"(?:%|％|万|亿|元|个|项|人|名|家|次|辆|位|亩|吨|斤|公里|千米|米|平方米|户|所|座|条|台|套|批|倍|场|期|批次|余)"
)
YEAR = re.compile(r"(?:19|20)\d\d年")
ROLE = re.compile(r"(县委书记|县委副书记|副县长|县长|书记|主任|副主任|局长|主席|副主席|市长|镇长|村长|组长)")
PERSON_CUE = re.compile(r"书记|县长|主任|局长|主席|主持|带队|陪同|参加|出席|通报|[\u4e00-\u9fff]{2,3}(?:强调|指出)")
PLACE = re.compile(r"[\u4e00-\u9fff]{1,8}(?:镇|乡|村|馆|场|库|司|园|校|学|局|中心|市场|陵园|公司|种业)")
ENUM = re.compile(r"[、]")
SPEAKER_LEAD = re.compile(r"^([\u4e00-\u9fff]{2,4})(强调|指出|要求|表示|希望|在安排)")
INSTRUCTION = re.compile(r"^(?:要|切实|坚持|进一步|加强|推动|各级各部门要|各乡镇要)")

QTYPES = {
    "author": re.compile(r"作者|谁写|写的|记者|撰稿|稿子是谁|供稿|署名|写了哪|写过"),
    "when": re.compile(r"哪天|哪一天|什么时候|何时|几月几[号日]|几号|日期|什么时间"),
    "count": re.compile(r"多少|(?<!哪)几(?:个|项|名|家|次|人|位|辆|所)|比例|增长了|百分之"),
    "who": re.compile(r"谁|哪位|哪几位|什么人|叫什么|哪些人|哪些领导|哪些县领导|什么职务|职务"),
    "where": re.compile(r"哪里|哪儿|哪些地方|什么地方|地点|去了哪|(?<!提)到了哪|哪些村|哪些学校|哪个镇"),
    "list": re.compile(r"哪些|哪几|有什么|都有|列举|分别"),
    "emphasis": re.compile(r"强调|着重|重点讲|讲了哪|指出|要求|部署|讲了|说了什么|提出了|提了|讲话|怎么说|表示|怎么安排|安排|说要"),
    "events": re.compile(r"(?:哪些|哪几[个场次项篇]?)(?:活动|会议|会|调研|报道|稿子|文章)|出现在哪些"),
}


def question_types(q: str) -> set[str]:
    """Question types detected by cue words: author, when, count, who, where, list, emphasis, events."""
    return {name for name, rx in QTYPES.items() if rx.search(q)}


class ArchiveLookup(Protocol):
    """What the answerer may ask the archive beyond the retrieved passages."""

    def lead(self, article_id: str) -> Chunk | None:
        """The first chunk of an article (its lead paragraph), or None."""

    def by_author(self, author: str) -> list[Chunk]:
        """The first chunk of every article with this byline, newest first."""

    def chunk_at(self, article_id: str, index: int) -> Chunk | None:
        """Chunk number ``index`` of an article, or None."""


@dataclass
class Question:
    """A question as the answerer sees it: weighted terms, entities, types, month."""

    text: str
    types: set[str]
    terms: dict[str, float]
    entities: list[str]
    bigrams: set[str]
    months: set[int] = field(default_factory=set)
    days: set[tuple[int, int]] = field(default_factory=set)
    target: str = ""  # what a list question asks for: "哪些村" → "村"
    speaker: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class _Cand:
    passage: int  # index into passages (retrieval rank)
    start: int  # offset in the article
    end: int
    text: str
    para_head: str = ""  # first sentence of the paragraph this sentence is in
    score: float = 0.0
    focus: dict | None = None  # the question terms its article's title does not already hold


class ExtractiveAnswerer:
    """Cited extractive answers.

    tokenize: text → content tokens (stopwords removed), the same tokenizer as BM25.
    idf / df: token → BM25 idf / document frequency over the archive's chunks.
    entities: names of people, places and organisations (the user dictionary); a passage
        must contain every entity of the question to count as evidence.
    lookup: optional access to article leads and bylines (see ``ArchiveLookup``).
    max_chars: answer budget in characters (markers excluded).
    threshold: evidence in [0, 1] below which the answerer abstains (``ABSTAIN_THRESHOLD``).
    """

    def __init__(self, tokenize: Callable[[str], list[str]], idf: Callable[[str], float],
                 df: Callable[[str], int] | None = None, *, entities: Iterable[str] = (),
                 lookup: ArchiveLookup | None = None, max_chars: int = 420, threshold: float = ABSTAIN_THRESHOLD):
        self.tokenize = tokenize
        self.idf = idf
        self.df = df or (lambda t: 1)
        self.entities = frozenset(e for e in entities if e not in HOME)
        self.lookup = lookup
        self.max_chars = max_chars
        self.threshold = threshold

    # -- question analysis ---------------------------------------------------------------------
    def analyze(self, question: str) -> Question:
        """Weighted terms (idf; single characters 0.3×; unknown tokens ``UNKNOWN_TERM_WEIGHT``
        of the largest idf), entities named, question types, month ("5月份" → 5)."""
        max_idf = self.idf("\x00never-a-token\x00")
        terms: dict[str, float] = {}
        bare = SCAFFOLD.sub(" ", re.sub(r"(\d{1,2})月份", r"\1月", question))
        for t in self.tokenize(bare):
            if t in HOME:
                continue
            w = self.idf(t) if self.df(t) > 0 else UNKNOWN_TERM_WEIGHT * max_idf
            if len(t) == 1 and not t.isdigit():
                w *= 0.3
            terms[t] = max(terms.get(t, 0.0), w)
        ents = sorted({t for t in terms if t in self.entities}, key=len, reverse=True)
        ents = [e for e in ents if not any(e != o and e in o for o in ents)]  # 横水 ⊂ 横水镇
        months = {int(m) for m in re.findall(r"(?<!\d)(\d{1,2})月", question) if 1 <= int(m) <= 12}
        han = re.sub(r"[^\u4e00-\u9fff]", "", bare)
        bigrams = {han[i : i + 2] for i in range(len(han) - 1)} - _QUESTION_BIGRAMS
        days = {(int(m), int(d)) for m, d in re.findall(r"(\d{1,2})月(\d{1,2})[日号]", question)}
        tm = re.search(r"(?:哪些|哪几[个位家所项篇]?|哪个)([\u4e00-\u9fff]{1,4}?)(?:[？?，。的有是]|$)", question)
        target = re.sub(r"(?<=.)子$", "", tm.group(1)) if tm else ""  # 村子 → 村
        return Question(question, question_types(question), terms, ents, bigrams, months=months, days=days,
                        target=target)

    @staticmethod
    def _coverage(terms: dict[str, float], text: str) -> float:
        total = sum(terms.values())
        return sum(w for t, w in terms.items() if t in text) / total if total > 0 else 0.0

    def _has_entities(self, q: Question, text: str) -> bool:
        """Every entity of the question is named in ``text``; a question about the county
        itself by name ("绛县的人口…") needs a passage in the county's own voice ("绛县", "我县",
        "县委"…), not another place's news."""
        if any(h in q.text for h in ("绛县", "全县", "我县", "本县")) and not any(h in text for h in COUNTY_CONTEXT):
            return False
        return all(e in text for e in q.entities)

    def evidence(self, question: str, passages: Sequence[ScoredChunk]) -> float:
        """Strength of the best passage as an answer source, in [0, 1].

        Per passage (title included): 0 unless it names every entity of the question;
        else the IDF-weighted share of the question's terms it contains. A "how many"
        question also needs a quantity (not a date or a year) in a sentence that shares a
        term with the question, else its evidence is cut to 30%.
        """
        q = question if isinstance(question, Question) else self.analyze(question)
        if not q.terms or not passages:
            return 0.0
        best = 0.0
        for p in passages:
            text = f"{p.chunk.title}\n{p.chunk.text}"
            if not self._has_entities(q, text):
                continue
            cov = self._coverage(q.terms, text)
            if "count" in q.types and not self._quantity_sentence(q, p.chunk.text):
                cov *= 0.3
            best = max(best, cov)
        return best

    def _quantity_sentence(self, q: Question, text: str) -> bool:
        """True if some clause holds a quantity (dates and years aside) and a whole question
        term (not a part of a longer one: "季度" of "一季度" does not count)."""
        whole = [t for t in q.terms if len(t) > 1 and not t.isdigit() and not any(t != o and t in o for o in q.terms)]
        for clause in re.split(r"[，；。！？,;]", YEAR.sub("", DATE.sub("", text))):
            if QUANTITY.search(clause) and any(t in clause for t in whole):
                return True
        return False

    # -- answer ----------------------------------------------------------------------------
    def answer(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Answer:
        """Answer ``standalone`` from ``passages`` (retrieval order, best first).

        Returns an ``Answer`` whose text has ``[n]`` after every sentence, citations numbered
        in order of first use; or an abstention (``abstained=True``, no citations) when the
        evidence is below the threshold.
        """
        q = self.analyze(standalone)
        if "author" in q.types:
            ans = self._author_answer(question, standalone, q, passages)
            if ans is not None:
                return ans
        listing = "events" in q.types and q.entities and any(
            self._has_entities(q, f"{p.chunk.title}\n{p.chunk.text}") for p in passages)
        if not listing and self.evidence(q, passages) < self.threshold:
            return Answer(question, standalone, ABSTAIN_MESSAGE, True)
        q.speaker = self._speaker(q, passages)
        if q.speaker:
            q.terms[q.speaker] = max(q.terms.values())
        if "events" in q.types:
            ans = self._events_answer(question, standalone, q, passages)
            if ans is not None:
                return ans
        # answer only from passages that name every entity of the question (when some do):
        # "韩庄村的书记" must not be answered from another village's news
        named = [p for p in passages if self._has_entities(q, f"{p.chunk.title}\n{p.chunk.text}")]
        if named and len(named) < len(passages):
            passages = named
        if q.types & {"list", "emphasis", "where"}:
            passages = self._expand(passages)
        cands = self._candidates(passages)
        for c in cands:
            c.score = self._score(c, q, passages)
        if any(_target_hits(q, c.text) for c in cands):  # "哪些村": sentences naming no 村 step back
            for c in cands:
                if not _target_hits(q, c.text):
                    c.score *= 0.7
        cov = [self._coverage(q.terms, f"{p.chunk.title}\n{p.chunk.text}") for p in passages]
        top_cov = max(cov) or 1.0
        for c in cands:  # a passage that holds less of the question weighs less
            c.score *= 0.5 + 0.5 * cov[c.passage] / top_cov
        if "emphasis" in q.types and any(_speaker_para(c, q) for c in cands):
            for c in cands:  # "X强调了什么": what X said, not the sentences that merely name X
                if not _speaker_para(c, q):
                    c.score *= 0.6
        chosen = self._select(cands, q)
        if not chosen:
            return Answer(question, standalone, ABSTAIN_MESSAGE, True)
        return self._compose(question, standalone, [(c.passage, c.start, c.end, c.text) for c in chosen],
                             list(passages))

    def answer_stream(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Iterator[str | Answer]:
        """``answer`` in the streaming shape of ``rag.answer.llm.LLMAnswerer.answer_stream``:
        the whole text as one piece, then the ``Answer``."""
        ans = self.answer(question, standalone, passages)
        yield ans.text
        yield ans

    def _expand(self, passages: Sequence[ScoredChunk], top: int = 3) -> list[ScoredChunk]:
        """Small-to-big: widen the best passages by the chunk before and after them, so a
        paragraph cut by a chunk boundary ("X强调，…" in one chunk, its items in the next)
        is read whole. Needs ``lookup``; returns passages unchanged without it."""
        if self.lookup is None:
            return list(passages)
        from ..retrieve import _join

        have = {(p.chunk.article_id, i) for p in passages for i in range(p.chunk.index, p.chunk.index + len(p.chunk_ids))}
        out = []
        for rank, p in enumerate(passages):
            if rank < top:
                last = p.chunk.index + len(p.chunk_ids) - 1
                for idx, before in ((p.chunk.index - 1, True), (last + 1, False)):
                    if idx < 0 or (p.chunk.article_id, idx) in have:
                        continue
                    nb = self.lookup.chunk_at(p.chunk.article_id, idx)
                    if nb is None:
                        continue
                    side = ScoredChunk(nb, p.score, chunk_ids=[nb.id])
                    merged = _join(side, p) if before else _join(p, side)
                    merged.score = p.score
                    p = merged
            out.append(p)
        return out

    def _speaker(self, q: Question, passages: Sequence[ScoredChunk]) -> str | None:
        """Who the question is about when it names a role ("县长" → "李晓军", read from the
        passages: "县长李晓军"), else the first person entity."""
        if q.entities:
            return None
        m = ROLE.search(q.text)
        if not m:
            return None
        role = m.group(1)
        for p in passages:
            hit = re.search(re.escape(role) + r"([\u4e00-\u9fff]{2,3}?)(?=[，、。；,\s]|主持|出席|参加|陪同|带队|调研|强调)", p.chunk.text)
            if hit:
                return hit.group(1)
        return None

    def _candidates(self, passages: Sequence[ScoredChunk]) -> list[_Cand]:
        out: list[_Cand] = []
        seen: set[tuple[str, int]] = set()
        for i, p in enumerate(passages):
            c = p.chunk
            head = ""
            prev_end = 0
            for s, e in split_sentences(c.text):
                if s == 0 or "\n" in c.text[prev_end:s]:
                    head = c.text[s:e]
                prev_end = e
                key = (c.article_id, c.start + s)
                if key in seen:
                    continue
                seen.add(key)
                out.append(_Cand(i, c.start + s, c.start + e, c.text[s:e], head))
        return out

    def _score(self, c: _Cand, q: Question, passages: Sequence[ScoredChunk]) -> float:
        p = passages[c.passage].chunk
        context = f"{p.title}\n{p.text}"
        # focus: the question's terms the title does not already answer ("由谁主持" of a
        # meeting whose title names the meeting): the sentence must supply those
        focus = {t: w for t, w in q.terms.items() if t not in p.title}
        if p.date and (int(p.date[5:7]), int(p.date[8:10])) in q.days:  # the date names the article
            focus = {t: w for t, w in focus.items() if not (t.isdigit() or t in ("月", "日", "号"))}
        focus = focus or q.terms
        c.focus = focus
        cov_f = self._coverage(focus, c.text)
        cov_s = self._coverage(q.terms, c.text)
        cov_p = self._coverage(q.terms, context)
        big = len({b for b in q.bigrams if b in c.text}) / len(q.bigrams) if q.bigrams else 0.0
        score = 0.4 * cov_f + 0.2 * cov_s + 0.15 * cov_p + 0.15 * big + 0.1 / (1 + c.passage)
        t = q.types
        if "when" in t and DATE.search(c.text):
            score += 0.2
        if "count" in t and QUANTITY.search(YEAR.sub("", DATE.sub("", c.text))):
            score += 0.2
        if "who" in t and PERSON_CUE.search(c.text):
            score += 0.1
        if "where" in t and len(PLACE.findall(c.text)) >= 1:
            score += 0.1 + 0.05 * min(len(ENUM.findall(c.text)), 3)
        if "list" in t and ENUM.search(c.text):
            score += 0.05
        hits = _target_hits(q, c.text)
        score += 0.08 * min(hits, 3)
        if "emphasis" in t:
            if _speaker_para(c, q):
                score += 0.2
            elif SPEAKER_LEAD.match(c.para_head) and not q.speaker and not q.entities:
                score += 0.05
            if INSTRUCTION.search(c.text):
                score += 0.05
        if q.months and any(re.search(rf"(?<!\d){m}月", c.text) for m in q.months):
            score += 0.1
        if not self._has_entities(q, context):
            score *= 0.5
        if c.text.startswith("本报讯") and not t & {"when", "who", "where"}:
            score -= 0.05
        return score

    def _select(self, cands: list[_Cand], q: Question) -> list[_Cand]:
        if not cands:
            return []
        t = q.types
        if t & {"list", "where", "events"} and "emphasis" not in t:
            max_n, floor, limit = 5, 0.6, 150
        elif "emphasis" in t:
            max_n, floor, limit = 6, 0.55, 90
        elif t & {"who", "when", "count"}:
            max_n, floor, limit = 2, 0.8, 150
        else:
            max_n, floor, limit = 3, 0.7, 150
        ranked = sorted(cands, key=lambda c: -c.score)
        if t & {"list", "emphasis"}:
            top = ranked[0]
            bonus = 0.25 if SPEAKER_LEAD.match(top.text) else 0.1
            for c in cands:  # the items that follow a "X强调，…" head belong to the answer
                if c is not top and c.passage == top.passage and c.para_head == top.para_head and c.start > top.start:
                    c.score += bonus
            ranked = sorted(cands, key=lambda c: -c.score)
        floor *= ranked[0].score
        chosen: list[_Cand] = []
        used = 0
        for c in ranked:
            if c.score < floor or len(chosen) >= max_n:
                break
            text = _window(c.text, q, limit, c.focus)
            if chosen and used + len(text) > self.max_chars:
                continue
            if any(_similar(text, o.text) > 0.5 for o in chosen):
                continue
            c.text = text
            chosen.append(c)
            used += len(text)
        return chosen

    def _compose(self, question: str, standalone: str, pieces: list[tuple[int, int, int, str]],
                 passages: list[ScoredChunk]) -> Answer:
        """pieces: (passage index, article start, article end, text). Passages are ordered by
        their first piece's rank, pieces within a passage by offset; ``[n]`` follows every
        piece; each citation quotes the sentences its pieces come from."""
        first: dict[int, int] = {}
        for rank, (pi, _, _, _) in enumerate(pieces):
            first.setdefault(pi, rank)
        ordered = sorted(pieces, key=lambda x: (first[x[0]], x[1]))
        numbers: dict[int, int] = {}
        parts: list[str] = []
        for pi, _, _, text in ordered:
            numbers.setdefault(pi, len(numbers) + 1)
            parts.append(f"{text}[{numbers[pi]}]")
        citations = [make_citation(n, passages[pi], [(s, e) for p, s, e, _ in pieces if p == pi])
                     for pi, n in numbers.items()]
        return Answer(question, standalone, "".join(parts), False, citations)

    # -- special question shapes ---------------------------------------------------------------
    def _events_answer(self, question: str, standalone: str, q: Question,
                       passages: Sequence[ScoredChunk]) -> Answer | None:
        """"X参加了哪些活动？": one line per article that names every entity of the question
        (and the month, if asked): its lead sentence, plus the sentence naming X."""
        best_cov = max(self._coverage(q.terms, f"{p.chunk.title}\n{p.chunk.text}") for p in passages)
        pool = list(passages)
        pieces: list[tuple[int, int, str]] = []
        seen_articles: set[str] = set()
        for i, p in enumerate(passages):
            c = p.chunk
            ctx = f"{c.title}\n{c.text}"
            if c.article_id in seen_articles or not self._has_entities(q, ctx):
                continue
            if not q.entities and self._coverage(q.terms, ctx) < 0.5 * best_cov:
                continue
            if q.months and c.date and int(c.date[5:7]) not in q.months:
                continue
            seen_articles.add(c.article_id)
            lead = c if c.index == 0 else (self.lookup.lead(c.article_id) if self.lookup else None)
            if lead is not None and lead.id != c.id:
                pool.append(ScoredChunk(lead, p.score, chunk_ids=[lead.id]))
                li = len(pool) - 1
            else:
                li, lead = i, c
            spans = split_sentences(lead.text)
            if spans:
                s, e = spans[0]
                pieces.append((li, lead.start + s, lead.start + e, _window(lead.text[s:e], q, 150)))
            for ent in q.entities:
                for s, e in split_sentences(c.text):
                    sent = c.text[s:e]
                    if ent in sent and not any(sent[:20] in pc[3] for pc in pieces):
                        pieces.append((i, c.start + s, c.start + e, _window(sent, q, 100)))
                        break
        if not pieces:
            return None
        return self._compose(question, standalone, pieces, pool)

    def _author_answer(self, question: str, standalone: str, q: Question,
                       passages: Sequence[ScoredChunk]) -> Answer | None:
        people = [e for e in q.entities if self.lookup and self.lookup.by_author(e)]
        if people and re.search(r"写了|写过|写的|哪几篇|哪些", q.text):
            leads = self.lookup.by_author(people[0])
            pool = [ScoredChunk(c, 0.0, chunk_ids=[c.id]) for c in leads]
            pieces = [(i, c.start, c.end, f"《{c.title}》（{c.date}）") for i, c in enumerate(leads)]
            ans = self._compose(question, standalone, pieces, pool)
            ans.text = f"{people[0]}署名的报道有：" + "；".join(
                f"{text}[{i + 1}]" for i, (_, _, _, text) in enumerate(pieces)) + "。"
            return ans
        if not passages:
            return None
        ranked = sorted(range(len(passages)), key=lambda i: (
            -self._coverage(q.terms, passages[i].chunk.title + passages[i].chunk.text), i))
        best = passages[ranked[0]]
        if self._coverage(q.terms, best.chunk.title + best.chunk.text) < self.threshold:
            return None
        c = best.chunk
        text = f"《{c.title}》的作者是{c.author}。[1]" if c.author else f"《{c.title}》没有署名作者。[1]"
        return Answer(question, standalone, text, False, [make_citation(1, best)])


SCAFFOLD = re.compile(r"哪些地方|什么地方|哪些方面|哪几个方面|什么时候|哪一天|哪些|哪几|哪里|哪儿|什么|怎么样|怎么|如何|"
                      r"是谁|有谁|都有|分别|有没有|是不是|是否|讲了些|讲了|说了|提了|多少|会议上|会上|什么职务|职务|叫什么名字|名字")

_QUESTION_BIGRAMS = {"什么", "哪些", "哪里", "哪天", "多少", "怎么", "如何", "是否", "有什", "么要", "了什", "是什",
                     "哪几", "县里", "我县", "绛县", "要求", "强调"}


def make_citation(n: int, p: ScoredChunk, spans: Sequence[tuple[int, int]] = ()) -> Citation:
    """Citation ``[n]`` for a retrieved passage.

    spans: ``(start, end)`` article offsets of the cited sentences inside the passage; the
        quote then runs from the first to the last of them and ``highlights`` lists each.
        Without spans (or with none inside the passage) the whole passage is the quote.
    """
    c = p.chunk
    inside = sorted({(max(s, c.start), min(e, c.end)) for s, e in spans if s < c.end and e > c.start and s < e})
    start, end = (inside[0][0], max(e for _, e in inside)) if inside else (c.start, c.end)
    return Citation(n=n, article_id=c.article_id, title=c.title, date=c.date, author=c.author, source=c.source,
                    chunk_id=c.id, start=start, end=end, quote=c.text[start - c.start : end - c.start],
                    score=round(p.score, 4), passage=c.text, passage_start=c.start, passage_end=c.end,
                    highlights=[[s, e] for s, e in inside])


def _window(sentence: str, q: Question, limit: int, terms: dict[str, float] | None = None) -> str:
    """The part of a long sentence that matters: the run of clauses (split after ，；：)
    around the clause with the most question terms, at most ``limit`` characters, with
    "……" where it was cut. Short sentences are returned unchanged."""
    if len(sentence) <= limit:
        return sentence
    clauses = re.findall(r"[^，；：,]+[，；：,]?", sentence)
    if len(clauses) < 2:
        return sentence[:limit] + "……"
    weights = [sum(w for t, w in (terms or q.terms).items() if t in cl) for cl in clauses]
    best = max(range(len(clauses)), key=lambda i: (weights[i], -i))
    if weights[best] == 0:
        best = 0
    lo = hi = best
    size = len(clauses[best])
    while True:
        grow = []
        if lo > 0 and size + len(clauses[lo - 1]) <= limit:
            grow.append((weights[lo - 1], 1, lo - 1))
        if hi < len(clauses) - 1 and size + len(clauses[hi + 1]) <= limit:
            grow.append((weights[hi + 1], 0, hi + 1))
        if not grow:
            break
        _, left, idx = max(grow)
        if left:
            lo = idx
        else:
            hi = idx
        size += len(clauses[idx])
    text = "".join(clauses[lo : hi + 1])
    if hi < len(clauses) - 1:
        text = text.rstrip("，；：,") + "……"
    if lo > 0:
        text = "……" + text
    return text


def _speaker_para(c: _Cand, q: Question) -> bool:
    """True if the sentence is in a paragraph opened by the asked-about person speaking
    ("李晓军强调，…" for "县长/李晓军强调了什么")."""
    head = SPEAKER_LEAD.match(c.para_head)
    if not head:
        return False
    who = head.group(1)
    return who == q.speaker or who in q.entities or (not q.speaker and who in q.text)


def _target_hits(q: Question, text: str) -> int:
    """How often the thing a list question asks for occurs in ``text`` ("哪些村" → "新庄村和…韩庄村" = 2);
    a one-character target counts only at a word end."""
    if not q.target or q.target in ("人", "位", "些", "个"):
        return 0
    tail = r"(?=[，、。和及与；,]|$)" if len(q.target) == 1 else ""
    return len(re.findall(re.escape(q.target) + tail, text))


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _similar(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams (redundancy check)."""
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0
