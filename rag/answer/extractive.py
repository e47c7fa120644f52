"""The default answerer: no LLM, every sentence quoted from the archive and cited.

Sentences of the retrieved passages are scored against the question (IDF-weighted term
coverage, question-type cues, retrieval rank), the best few are chosen within a length
budget without redundancy, put back in article order and marked ``[n]``. When the
evidence is weak the answerer abstains with a plain Chinese message and no citations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from ..chunk import split_sentences
from ..types import Answer, Citation, ScoredChunk

ABSTAIN_MESSAGE = "新闻档案中没有找到能回答这个问题的内容。可以换个说法、补充人名或地名，或调整日期范围后再试。"

# Evidence below this abstains. Calibrated on eval/datasets/dev.jsonl (answerable vs
# unanswerable questions, corpus + 300 news-crud distractors) by `python -m eval.calibrate`;
# never tuned per question. See eval/README.md.
ABSTAIN_THRESHOLD = 0.5

PERSON = re.compile(r"(书记|县长|主任|局长|主席|主持|带队|陪同|参加|出席|通报|[\u4e00-\u9fff]{2,3}(?:强调|指出))")
DATE = re.compile(r"\d{1,2}月\d{1,2}日")
NUMBER = re.compile(r"\d+(?:\.\d+)?\s*(?:%|万|亿|元|个|项|人|家|名|次|岁|亩|吨|公里|平方米)?|[一二三四五六七八九十百千万两]+(?:个|项|名|家|次|人|亿|万)")
ENUM = re.compile(r"[、]")
INSTRUCTION = re.compile(r"^(?:[\u4e00-\u9fff]{2,4}(?:强调|指出|要求|表示|希望)|要|切实|坚持|进一步|加强|推动)")

QTYPES = {
    "author": re.compile(r"作者|谁写|记者|撰稿|稿子是谁|供稿|署名"),
    "when": re.compile(r"哪天|哪一天|什么时候|何时|几月几[号日]|几号|日期|什么时间"),
    "count": re.compile(r"多少|几个|几项|几名|几家|几次|几人|比例|增长了"),
    "who": re.compile(r"谁|哪位|什么人|叫什么|哪些人|哪些领导|哪些县领导"),
    "list": re.compile(r"哪些|哪几|有什么|都有|列举"),
    "emphasis": re.compile(r"强调|指出|要求|部署|讲了什么|说了什么|提出了什么|提了什么|讲话|怎么说|表示"),
}


def question_types(q: str) -> set[str]:
    """Question types detected by cue words: author, when, count, who, list, emphasis."""
    return {name for name, rx in QTYPES.items() if rx.search(q)}


@dataclass
class _Cand:
    passage: int  # index into passages (retrieval rank)
    start: int  # offset in the article
    end: int
    text: str
    score: float = 0.0


class ExtractiveAnswerer:
    """Cited extractive answers.

    tokenize: text → content tokens (stopwords removed), the same tokenizer as BM25.
    idf: token → BM25 idf over the archive (unknown tokens get the maximum idf).
    max_chars: answer budget in characters (markers excluded).
    threshold: evidence in [0, 1] below which the answerer abstains (see ``ABSTAIN_THRESHOLD``).
    """

    def __init__(self, tokenize: Callable[[str], list[str]], idf: Callable[[str], float], *,
                 max_chars: int = 360, max_sentences: int = 6, threshold: float = ABSTAIN_THRESHOLD):
        self.tokenize = tokenize
        self.idf = idf
        self.max_chars = max_chars
        self.max_sentences = max_sentences
        self.threshold = threshold

    # -- evidence -----------------------------------------------------------------------------
    def _terms(self, question: str) -> dict[str, float]:
        terms: dict[str, float] = {}
        for t in self.tokenize(question):
            if len(t) == 1 and not t.isdigit():
                w = 0.3 * self.idf(t)  # single Han characters carry little meaning alone
            else:
                w = self.idf(t)
            terms[t] = max(terms.get(t, 0.0), w)
        return terms

    @staticmethod
    def _coverage(terms: dict[str, float], text: str) -> float:
        total = sum(terms.values())
        if total <= 0:
            return 0.0
        return sum(w for t, w in terms.items() if t in text) / total

    def evidence(self, question: str, passages: Sequence[ScoredChunk]) -> float:
        """Strength of the best passage as an answer source, in [0, 1]: IDF-weighted share
        of the question's terms found in the passage (title included). Count questions
        need a number that is not already in the question."""
        terms = self._terms(question)
        if not terms or not passages:
            return 0.0
        best = 0.0
        types = question_types(question)
        for p in passages:
            text = f"{p.chunk.title}\n{p.chunk.text}"
            cov = self._coverage(terms, text)
            if "count" in types:
                q_nums = set(re.findall(r"\d+", question))
                nums = [n for n in re.findall(r"\d+", p.chunk.text) if n not in q_nums]
                if not nums:
                    cov *= 0.5
            if "author" in types and not p.chunk.author:
                cov *= 0.5
            best = max(best, cov)
        return best

    # -- answer ----------------------------------------------------------------------------
    def answer(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Answer:
        """Answer ``standalone`` from ``passages`` (retrieval order, best first).

        Returns an ``Answer`` whose text has ``[n]`` after every sentence, citations numbered
        in order of first use; or an abstention (``abstained=True``, no citations) when
        ``evidence() < threshold``.
        """
        ev = self.evidence(standalone, passages)
        if ev < self.threshold:
            return Answer(question, standalone, ABSTAIN_MESSAGE, True)
        types = question_types(standalone)
        if "author" in types:
            return self._author_answer(question, standalone, passages)
        terms = self._terms(standalone)
        cands = self._candidates(passages)
        for c in cands:
            c.score = self._score(c, terms, types, passages)
        chosen = self._select(cands, types)
        if not chosen:
            return Answer(question, standalone, ABSTAIN_MESSAGE, True)
        return self._compose(question, standalone, chosen, passages)

    def _candidates(self, passages: Sequence[ScoredChunk]) -> list[_Cand]:
        out: list[_Cand] = []
        seen: set[tuple[str, int]] = set()
        for i, p in enumerate(passages):
            c = p.chunk
            for s, e in split_sentences(c.text):
                key = (c.article_id, c.start + s)
                if key in seen:
                    continue
                seen.add(key)
                out.append(_Cand(i, c.start + s, c.start + e, c.text[s:e]))
        return out

    def _score(self, c: _Cand, terms: dict[str, float], types: set[str], passages: Sequence[ScoredChunk]) -> float:
        p = passages[c.passage].chunk
        cov_s = self._coverage(terms, c.text)
        cov_p = self._coverage(terms, f"{p.title}\n{p.text}")
        score = 0.55 * cov_s + 0.35 * cov_p + 0.10 / (1 + c.passage)
        if "when" in types and DATE.search(c.text):
            score += 0.25
        if "count" in types and NUMBER.search(c.text):
            score += 0.15
        if "who" in types and PERSON.search(c.text):
            score += 0.15
        if "list" in types and ENUM.search(c.text):
            score += 0.10
        if "emphasis" in types:
            if INSTRUCTION.search(c.text):
                score += 0.25
            if re.search(r"强调|指出", c.text[:12]):
                score += 0.10
        if c.text.startswith("本报讯") and "when" not in types and "who" not in types:
            score -= 0.05
        return score

    def _select(self, cands: list[_Cand], types: set[str]) -> list[_Cand]:
        if not cands:
            return []
        ranked = sorted(cands, key=lambda c: -c.score)
        floor = ranked[0].score * (0.6 if types & {"list", "emphasis"} else 0.75)
        chosen: list[_Cand] = []
        used = 0
        per_passage: dict[int, int] = {}
        for c in ranked:
            if c.score < floor or len(chosen) >= self.max_sentences:
                break
            text = _trim(c.text, 120 if "emphasis" in types else 160)
            if chosen and used + len(text) > self.max_chars:
                continue
            if any(_similar(text, o.text) > 0.6 for o in chosen):
                continue
            if per_passage.get(c.passage, 0) >= 4:
                continue
            c.text = text
            chosen.append(c)
            used += len(text)
            per_passage[c.passage] = per_passage.get(c.passage, 0) + 1
        return chosen

    def _compose(self, question: str, standalone: str, chosen: list[_Cand], passages: Sequence[ScoredChunk]) -> Answer:
        # article order: passages by their best chosen sentence's rank, sentences by offset
        best_rank: dict[int, int] = {}
        for rank, c in enumerate(chosen):
            best_rank.setdefault(c.passage, rank)
        ordered = sorted(chosen, key=lambda c: (best_rank[c.passage], c.start))
        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        parts: list[str] = []
        for c in ordered:
            if c.passage not in numbers:
                numbers[c.passage] = len(numbers) + 1
                citations.append(make_citation(numbers[c.passage], passages[c.passage]))
            parts.append(f"{c.text}[{numbers[c.passage]}]")
        return Answer(question, standalone, "".join(parts), False, citations)

    def _author_answer(self, question: str, standalone: str, passages: Sequence[ScoredChunk]) -> Answer:
        terms = self._terms(standalone)
        ranked = sorted(range(len(passages)), key=lambda i: -self._coverage(terms, passages[i].chunk.title + passages[i].chunk.text) - 0.01 / (1 + i))
        best = passages[ranked[0]]
        c = best.chunk
        if not c.author:
            text = f"《{c.title}》没有署名作者。[1]"
        else:
            text = f"《{c.title}》的作者是{c.author}。[1]"
        return Answer(question, standalone, text, False, [make_citation(1, best)])


def make_citation(n: int, p: ScoredChunk) -> Citation:
    """Citation ``[n]`` for a retrieved passage (the quote is the passage text)."""
    c = p.chunk
    return Citation(n=n, article_id=c.article_id, title=c.title, date=c.date, author=c.author, source=c.source,
                    chunk_id=c.id, start=c.start, end=c.end, quote=c.text, score=round(p.score, 4))


def _trim(sentence: str, limit: int) -> str:
    """Cut a long sentence after the last clause (，：) that ends within ``limit`` characters,
    ending it with "……"; short sentences are returned unchanged."""
    if len(sentence) <= limit:
        return sentence
    cut = max(sentence.rfind(p, 0, limit) for p in "，：,")
    if cut < limit // 3:
        cut = limit
    return sentence[:cut] + "……"


def _bigrams(s: str) -> set[str]:
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _similar(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams (redundancy check)."""
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0
