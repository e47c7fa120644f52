"""The shapes of an answer: a factoid value first, a list of items, what a speaker said, the
lines of several events, a description. Each builds the pieces an ``Answer`` quotes."""

from __future__ import annotations

import re
from dataclasses import replace

from ...types import Answer
from . import instances as I
from .analysis import (
    DATE,
    EVENT_HEADS,
    HOME,
    INSTANCE,
    ORG,
    PERSON,
    PLACE,
    QUANTITY,
    ROLE,
    SPEECH_VERBS,
    YEAR,
    Frame,
    measure_compatible,
)
from .sentences import (
    ABSTAIN_MESSAGE,
    INSTRUCTION,
    QUESTION_BIGRAMS,
    SCAFFOLD,
    SPEAKER_LEAD,
    Doc,
    Sentence,
    clipped,
    coverage,
    similar,
    window,
)

FACTOID_SUPPORT_CHARS = 32  # the clause quoted after a factoid answer, at most (characters)
LIST_CLAUSE_CHARS = 120
STATEMENT_CLAUSE_CHARS = 80
SPEECH_RUN = 8  # sentences after "X强调" still counted as X's words
# someone speaking: a name (or 他/她, or 会议) then a reporting verb within the clause
SPEECH = re.compile(
    r"(?P<who>[\u4e00-\u9fff]{2,4}?|他|她|其)(?:[^，。；：:]{0,16}?)(?P<verb>强调|指出|要求|表示|提出|建议|希望|说|介绍|认为|部署|在安排)"
)
# list items that are things done or said, not named things ("下一步要做哪些工作"): when no
# sentence enumerates them, the answer is the sentences that describe them
ABSTRACT_ITEMS = frozenset(
    {
        "工作",
        "措施",
        "举措",
        "任务",
        "做法",
        "办法",
        "政策",
        "方面",
        "内容",
        "事情",
        "事项",
        "成效",
        "成果",
        "变化",
        "特点",
        "亮点",
        "问题",
        "困难",
        "安排",
        "计划",
        "打算",
    }
)
CHANGE_FROM = re.compile(r"(?:由|从)[^，。；、为到至]{0,8}$")
CHANGE_TO = re.compile(r"(?:调整|扩大|增加|提高|提升|降低|下降|上升|减少|增长|上调|下调|变更|升|降|增|减)?(?:为|到|至)")
ROLE_AFTER = re.compile(r"(?:党委|党工委|党组)?(?:副)?(?:书记|镇长|乡长|县长|市长|主任|局长|村长|主席|部长|常委|委员)")


class AnswerShapes:
    """Answer shapes of ``ExtractiveAnswerer`` (uses its POS tagger, tokenizer and evidence checks)."""

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
            anchors = [
                c.text for c in frame.constraints if c.kind in ("person", "org", "name", "place") and c.text in s.text
            ]
            for span, bonus in self._instances(frame, s, docs):
                value = s.text[span[0] : span[1]]
                if value in frame.text or all(ch in frame.text for ch in value):
                    continue  # the question's own words are no answer
                if anchors:  # "卫庄镇党委书记李彩霞": the value next to what the question names
                    d = min(
                        abs(m.start() - span[1]) if m.start() >= span[1] else abs(span[0] - m.end())
                        for a in anchors
                        for m in re.finditer(re.escape(a), s.text)
                    )
                    bonus += 0.2 * max(0.0, 1 - d / 30)
                cands.append((base + bonus, s, span))
        if not cands and frame.atype == PERSON and frame.focus_kind != PERSON and "谁" in frame.text:
            # "资金是谁出的", "由谁承建": 谁 may be an organisation
            return self._factoid(question, standalone, replace(frame, atype=ORG, focus=""), terms, docs, sents)
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

    def _instances(self, frame: Frame, s: Sentence, docs: list[Doc]) -> list[tuple[tuple[int, int], float]]:
        """Spans of ``s`` that are instances of the answer type, each with a bonus for how
        closely it is tied to the question's verb/focus/attribute; [] when none qualifies."""
        text = s.text
        given = {c.text for c in frame.constraints}
        t = frame.atype
        out: list[tuple[tuple[int, int], float]] = (
            []
            if t in (DATE, YEAR, QUANTITY, ROLE)
            else [(sp, 0.45) for sp in self._stated_as(frame, text) if text[sp[0] : sp[1]] not in given]
        )
        if t == DATE:
            if frame.attribute and not any(v in text for v in frame.attribute):
                return []
            for span in I.dates(text) or I.months(text):
                if text[span[0] : span[1]] not in given and not _dateline(text, span):
                    out.append((span, 0.3))
        elif t == YEAR:
            if frame.attribute and not any(v in text for v in frame.attribute):
                return []
            out = [(sp, 0.3) for sp in I.years(text) if text[sp[0] : sp[1]] not in given]
        elif t == QUANTITY:
            words = self._attribute_words(frame)
            verbs = [v for v in frame.verbs if v not in given]
            for a, b, unit in I.quantities(text):
                if text[a:b] in given or (
                    "“" in text[max(0, a - 3) : a]
                    and "”" in text[b : b + 8]
                    and re.match(r"[\u4e00-\u9fff]", text[b : b + 1])
                ):
                    continue  # a number in a short quoted phrase names a slogan ("“两个确立”"), it counts nothing
                named_after = any(text[b : b + 6].startswith(w) for ws in words for w in ws)  # "36枚金牌"
                if not (measure_compatible(frame.measure, unit) or named_after):
                    continue
                # a measure alone ("多少人次") ties a number to the question only beside its verb
                exact = (
                    not words
                    and frame.measure not in ("个", "")
                    and measure_compatible(frame.measure, unit)
                    and (not frame.verbs or any(_same_verb(v, text) for v in frame.verbs))
                )
                # an attribute that only names the measure ("人数") says what is counted through
                # the question's verb ("报名人数": 报名), which must then be written too
                if (
                    frame.attribute
                    and all(a in IMPLIED_UNITS for a in frame.attribute)
                    and verbs
                    and not any(_same_verb(v, text) for v in verbs)
                ):
                    continue
                if not (
                    named_after
                    or exact
                    or _implied(frame.attribute, unit, text)
                    or all(any(w in text for w in ws) for ws in words)
                ):
                    continue  # a number, but not of what is asked ("开盘价" for 收盘价)
                # the attribute is written before its value ("成交额达到21.8亿美元"); one written
                # after a value names that value only through 的 ("21.8亿美元的成交额")
                near = min(
                    (
                        a - m.end() if m.end() <= a else 0 if text[b : m.start()] in ("", "的") else 3 * (m.start() - b)
                        for ws in words
                        for w in ws
                        for m in re.finditer(re.escape(w), text)
                    ),
                    default=40,
                )
                if any(v in text[max(0, a - 8) : a] for v in verbs):
                    near = min(near, 10)  # "救出了61人": the question's verb right before the value
                # "由原来的150元调整为300元": the value a change starts from is not what it became
                before = (
                    0.1 if CHANGE_FROM.search(text[max(0, a - 8) : a]) and CHANGE_TO.search(text[b : b + 24]) else 0.0
                )
                out.append(
                    (
                        (a, b),
                        (0.3 if (frame.measure and unit) or named_after else 0.2)
                        + 0.25 * max(0.0, 1 - near / 20)
                        - before,
                    )
                )
        elif t in (PERSON, ROLE):
            titles = (
                tuple(t for t in {frame.focus, *(w for w, _ in self.pos_fast(frame.focus))} if len(t) >= 2)
                if frame.focus
                else ()
            )
            names = [sp for sp in I.people(text, self.people, self.pos_cut, titles) if text[sp[0] : sp[1]] not in given]
            if t == ROLE:
                persons = [p.text for p in frame.of_kind("person")]
                if not persons:  # "…是谁主持的，他是什么职务": the one the question's verb names
                    persons = [
                        text[a:b]
                        for a, b in names
                        if frame.verbs
                        and self._tie(frame, text, (a, b), need_verb=True, doc_text=docs[s.doc].text) is not None
                    ]
                for p in persons:
                    for m in re.finditer(re.escape(p), text):
                        r = I.role_before(text, m.start())
                        if r:
                            out.append((r, 0.3))
                return out
            if frame.focus and 2 <= len(frame.focus) <= 3 and frame.focus_kind == PERSON:
                from ...keyword import _SURNAMES  # "哪位老师" → "杨老师": a surname with the asked title

                for m in re.finditer(re.escape(frame.focus), text):
                    a = m.start() - 1
                    if (
                        a >= 0
                        and text[a] in _SURNAMES
                        and (
                            a == 0
                            or not re.match(r"[\u4e00-\u9fff]", text[a - 1])
                            or text[a - 1] in "的是了位名由和与被让请向给把对"
                        )
                    ):
                        names.append((a, m.end()))
            for sp in names:
                bonus = self._tie(frame, text, sp, doc_text=docs[s.doc].text)
                if bonus is not None:
                    out.append((sp, bonus))
        else:  # ORG, PLACE, INSTANCE
            if t == PLACE and frame.attribute and not self._attribute_near(frame, text):
                return []
            kind = t if t in (ORG, PLACE) else INSTANCE
            spans = I.named(text, kind, frame.focus, self.pos_fast)
            if kind == INSTANCE and frame.focus in EVENT_HEADS:
                spans = spans + self._event_names(text)  # "一季度经济运行分析会" for 什么会议
            for sp in spans:
                val = text[sp[0] : sp[1]]
                tail = next((g for g in given if val.endswith(g) and len(val) - len(g) >= 2), "")
                if tail:  # "安峪镇下柏村" asked as 下柏村属于哪个镇: the value is 安峪镇
                    sp, val = (sp[0], sp[1] - len(tail)), val[: -len(tail)]
                verb_at = max((val.rfind(v) + len(v) for v in frame.verbs if v in val), default=0)
                if verb_at:  # "县长李晓军主持会议" for 主持了什么会议: the value follows the verb
                    sp, val = (sp[0] + verb_at, sp[1]), val[verb_at:]
                    if len(val) < 2 or val == frame.focus:
                        continue
                if val in given or any(val in g for g in given) or val == frame.focus or _is_home(val, self.home):
                    continue
                if frame.focus in EVENT_HEADS and any(p in val for p in self.people):
                    continue  # "县委书记解芳出席会议" names no meeting
                if _titled(text, sp[1]) and not any(r.text in text[sp[1] : sp[1] + 8] for r in frame.of_kind("role")):
                    continue  # "横水镇党委书记": a post, unless the question asks whose post it is
                if (
                    kind == INSTANCE
                    and frame.focus
                    and not val.endswith((frame.focus, frame.focus[-1]))
                    and not (frame.focus in EVENT_HEADS and val.endswith(EVENT_HEADS))
                ):
                    continue
                # a value written in one clause with a name the question gives ("横水镇党委书记荣亿",
                # "安峪镇下柏村") is tied to it without the question's verb
                anchored = any(g in _clause(text, sp) for g in given if len(g) >= 2)
                if frame.focus in EVENT_HEADS and not anchored:  # "…分析会。…李晓军主持会议": the verb comes after
                    after = docs[s.doc].text[s.end : s.end + 80]
                    who = [re.escape(c.text) + r"[^。；]{0,12}?" for c in frame.of_kind("person")] or [""]
                    anchored = any(
                        re.search(w + re.escape(v + h), after)
                        for w in who
                        for v in frame.verbs
                        for h in ("会议", "活动", frame.focus)
                    )
                bonus = self._tie(frame, text, sp, need_verb=bool(frame.verbs) and not anchored)
                if bonus is not None:
                    if frame.focus and (val.endswith(frame.focus) or val.endswith(frame.focus[-1:])):
                        bonus += 0.15
                    out.append((sp, bonus))
        return out

    def _event_names(self, text: str) -> list[tuple[int, int]]:
        """Names of meetings and events in ``text``: the noun phrase ending in an event head
        (会议, 分析会, 推进会…), verbs sandwiched between nouns included ("招商引资工作推进会议"),
        no person in it ("县委书记解芳出席会议" names no meeting)."""
        from .analysis import _phrase_before

        toks = self.pos_fast(text)
        out = []
        for head in EVENT_HEADS:
            for m in re.finditer(re.escape(head), text):
                phrase = max(_phrase_before(text, m.end(), toks), _phrase_before(text, m.start(), toks) + head, key=len)
                start = m.end() - len(phrase)
                if (
                    len(phrase) > len(head) + 1
                    and not any(f.startswith("nr") for w, f in self.pos_fast(phrase))
                    and not any(p in phrase for p in self.people)
                ):
                    out.append((start, m.end()))
        return out

    def _stated_as(self, frame: Frame, text: str) -> list[tuple[int, int]]:
        """Values written as the focus noun's own value: "提交地址为福田区桂花路1号", "会长单位是
        X", "账号——“NiceFengxian”", "一本通“才聚长征”", "“建功号”盾构": the focus (or its last
        word) followed by 为/是/：/——/叫/名为 and a noun phrase running to the next clause mark
        (2–30 characters), or a quoted name written right after or right before it."""
        marks = {a for a in frame.attribute if len(a) >= 2} if frame.atype == PLACE else set()  # "地址在哪里"
        words: list[str] = []
        if frame.focus:
            words = [w for w, _ in self.pos_fast(frame.focus) if len(w) >= 2]
            marks |= {frame.focus} | ({words[-1]} if words else set())
        if not marks:
            return []
        out = []
        quoted = r"[“\"‘「《]([^”\"’」》]{2,30})[”\"’」》]"
        # a quoted name before the focus or one of its words, a few characters on
        # ("“干净家园”环境卫生整治" for 整治活动)
        for w in words + [frame.focus] * bool(frame.focus):
            for m in re.finditer(quoted + r"([^，。；、“”\"]{0,8}?)" + re.escape(w), text):
                gap = self.pos_fast(m.group(2)) if m.group(2) else []
                if not any(f.startswith(("v", "p", "d", "r", "u", "c")) and f != "vn" for _, f in gap):
                    out.append(m.span(1))  # not "“两办”督查室要围绕会议": a verb between is no name
        for mark in marks:
            for m in re.finditer(re.escape(mark) + r"(?:——|—)?" + quoted, text):
                out.append(m.span(1))
            for m in re.finditer(re.escape(mark) + r"(?:为|是|：|:|——|叫做|叫|名为|称为)(?![“\"‘「])", text):
                end = re.search(r"[，。；;,、（(”\"’」！？]|$", text[m.end() :]).start() + m.end()
                if frame.atype == PERSON and end - m.end() > 6:
                    continue  # a person is a name, not the post written after "失联人员——"
                first = self.pos_fast(text[m.end() : end])[:1]
                if (
                    2 <= end - m.end() <= 30
                    and first
                    and not first[0][1].startswith(("v", "d", "p", "c", "r", "m", "u"))
                ):
                    out.append((m.end(), end))  # a noun phrase, not "预警信号：预计未来6小时…"
        return out

    def _tie(
        self, frame: Frame, text: str, sp: tuple[int, int], need_verb: bool = False, doc_text: str = ""
    ) -> float | None:
        """How a candidate value is tied to the question: its focus noun written next to it
        ("副县长郭晓伟" anywhere in the article, "专家李四") and the question's verb next to it
        ("王辨明主持"). A person focus must be next to the name; a verb must be in its clause."""
        a, b = sp
        clause_s = max(text.rfind(ch, 0, a) for ch in "，。；：,;") + 1
        ends = [i for i in (text.find(ch, b) for ch in "，。；：,;") if i >= 0]
        clause = text[clause_s : min(ends) if ends else len(text)]
        bonus = 0.1
        generic = re.fullmatch(r"(?:县|市|区|镇)?(?:领导|干部|人员|同志|人|官员|代表|嘉宾)", frame.focus or "")
        if frame.focus and (frame.focus_kind == PERSON or frame.atype == PERSON) and not generic:
            name = text[a:b]
            words = [w for w, _ in self.pos_fast(frame.focus)]
            marks = {
                frame.focus,
                words[-1] if words else frame.focus,
                re.sub(r"(领导|干部|人员|同志|负责人)$", "", frame.focus),
            } - {""}
            hay = [text[max(0, a - 14) : a] + text[b : b + 4]]
            if re.match(r"为|任|担任|出任", text[b : b + 2]):
                hay.append(text[b : b + 16])  # "王成名为蓝箭电子董事长"
            for mark in marks:  # apposition: "失联人员——舒兰市…科员张郅昭" names the one person after the dash
                m = re.search(re.escape(mark) + r"(?:——|—|：|:)", text[clause_s:a])
                if m and a - (clause_s + m.end()) <= 40:
                    hay.append(mark)
            hay += [doc_text[max(0, m.start() - 14) : m.start()] for m in re.finditer(re.escape(name), doc_text)]
            vice = "副" in frame.focus
            if not any(_titled_as(mark, h, vice) for mark in marks for h in hay):
                return None
            bonus += 0.25
        verbs = [v for v in frame.verbs if v not in {c.text for c in frame.constraints}]
        if verbs:
            hit = [v for v in verbs if v in clause]
            if hit:
                dist = min(abs(clause.find(v) + clause_s - b) for v in hit)
                bonus += 0.25 if dist <= 4 else 0.15
            elif any(_same_verb(v, clause) for v in verbs):
                bonus += 0.1
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
            sents = self._said(sents, speakers) or sents
        scored = []
        given = {c.text for c in frame.constraints}
        for s in sents:
            base = self._score(s, frame, terms, docs)
            text = s.text
            if kind == PERSON:
                spans = [sp for sp in I.people(text, self.people, self.pos_cut) if text[sp[0] : sp[1]] not in given]
            elif frame.focus:
                spans = [
                    sp
                    for sp in I.named(text, kind if kind in (ORG, PLACE) else INSTANCE, frame.focus, self.pos_fast)
                    if text[sp[0] : sp[1]] not in given
                    and not _titled(text, sp[1])
                    and not _is_home(text[sp[0] : sp[1]], self.home)
                ]
            else:
                spans = []
            if kind not in (PERSON, ORG, PLACE):  # works named by their titles: 《孽债》《夺子战争》
                spans += [m.span() for m in re.finditer(r"《[^》]{1,20}》", text) if m.group(0)[1:-1] not in given]
            # an enumeration counts when it names the focus right next to it ("…等3个小区", "储备得好、管理得好")
            enums = [
                n
                for a, b, n in I.enumerations(text)
                if any(a <= x < b for x, _ in spans) or (len(frame.focus) >= 2 and frame.focus in text[b : b + 6])
            ]
            items = len(spans) + max(enums, default=0)
            if items < 1 or (items < 2 and not any(v in text for v in frame.verbs)):
                continue
            scored.append((0.5 * base + 0.1 * min(items, 6), s))
        if not scored and keep and kind not in (PERSON,):
            # abstract items ("哪些方面", "哪几个'好'"): the enumerations of the best sentences
            for s in sents:
                enum = max((n for _, _, n in I.enumerations(s.text)), default=0)
                if enum >= 2 and (len(frame.focus) != 1 or frame.focus in s.text):  # "哪几个'好'"
                    scored.append((self._score(s, frame, terms, docs) + 0.03 * min(enum, 5), s))
            if scored and max(sc for sc, _ in scored) < 0.3:
                scored = []
        if not scored and frame.focus in ABSTRACT_ITEMS:
            return self._description(question, standalone, frame, terms, docs, sents)
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
        if not f or f in GENERIC_FOCUS or f in ABSTRACT_ITEMS or frame.focus_kind == PERSON:
            return True
        marks = [f, *SUBCLASS_HEADS.get(f, ())] + ([f[-1]] if len(f) >= 2 else [])
        marks += [t for t in self.tokenize(f) if len(t) > 1]
        return any(m in d.text for m in marks)

    def _said(self, sents: list[Sentence], speakers: set[str]) -> list[Sentence]:
        """The sentences that report what ``speakers`` said (any speaker when empty): from a
        sentence where the speaker speaks ("赵龙强调，…", "王春明就下半年工作提出三点建议。",
        "他强调，…" continuing) over the next sentences, until someone else speaks, a new
        paragraph starts with another subject, or ``SPEECH_RUN`` sentences have passed."""
        out: list[Sentence] = []
        known = set(speakers) | set(self.people) | {"会议", "会上"}
        current, run, last_doc, para = None, 0, -1, ""
        for s in sents:
            if s.doc != last_doc:
                current, last_doc = None, s.doc
            who = None
            for m in SPEECH.finditer(s.text[:40]):
                before = s.text[: m.start("verb")]
                if m.group("who") in ("他", "她", "其") and current is not None:
                    who = current
                else:
                    who = next((p for p in sorted(known, key=len, reverse=True) if p in before), None)
                if who is not None:
                    break
            if who is None and speakers and any(p in s.text for p in speakers) and SPEECH.search(s.text):
                if (not speakers or any(p in s.text for p in speakers)) and current not in speakers:
                    out.append(s)  # "…，希望绛山种业要加强…": the speaker's words inside a longer sentence
            new_para = s.para_head == s.text
            if who is not None:
                current, run, para = who, 0, s.para_head
            elif new_para and not INSTRUCTION.match(s.text):
                current = None  # a new paragraph about something else
            run += 1
            same_para = s.para_head == para
            if current is not None and (same_para or run <= SPEECH_RUN) and (not speakers or current in speakers):
                out.append(s)
        return out

    # -- statements -------------------------------------------------------------------------------
    def _statements(self, question, standalone, frame: Frame, terms, docs, sents) -> Answer:
        speakers = self._speakers(frame, docs)
        paras = self._said(sents, speakers)
        if not paras:
            if speakers:
                return self._abstain_attribute(
                    question, standalone, frame, terms, docs, sents, missing=f"{'、'.join(sorted(speakers))}的讲话内容"
                )
            return self._description(question, standalone, frame, terms, docs, sents)
        asked = next((v for v in SPEECH_VERBS if v in frame.text), "")
        topic = {
            t: w
            for t, w in terms.items()
            if t not in speakers and t not in SPEECH_VERBS and not any(t in c.text for c in frame.constraints)
        }
        for s in paras:
            # what was said, not who said it: the speaker's name and the verb do not score
            m = SPEAKER_LEAD.match(s.para_head)
            s.score = 0.3 + 0.1 / (1 + docs[s.doc].rank)
            if m and asked and m.group(2) == asked:
                s.score += 0.15
            if INSTRUCTION.match(s.text) or (speakers and any(s.text.startswith(p) for p in speakers)):
                s.score += 0.05
            if topic:
                s.score += 0.4 * coverage(topic, s.text) + 0.2 * coverage(
                    topic, docs[s.doc].text[s.start - 200 if s.start > 200 else 0 : s.end + 200]
                )
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
            span = (
                window(s.text, topic, STATEMENT_CLAUSE_CHARS)
                if hit
                else window(s.text, terms, STATEMENT_CLAUSE_CHARS, keep=(0, 1))
            )
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
                for m in re.finditer(
                    re.escape(c.text)
                    + r"([\u4e00-\u9fff]{2,3}?)(?=[，、。；,\s]|主持|出席|参加|陪同|带队|调研|强调|指出)",
                    d.text,
                ):
                    if c.text.startswith("副") or d.text[m.start() - 1 : m.start()] != "副":  # 县长 is not 副县长
                        out.add(m.group(1))
        return out

    # -- events and descriptions ------------------------------------------------------------------
    def _events(self, question, standalone, frame: Frame, terms, docs, sents) -> Answer:
        """ "X参加了哪些活动？": one line per article that satisfies the constraints: its lead
        sentence, plus the sentence naming X."""
        pieces = []
        names = [c.text for c in frame.constraints if c.kind in ("person", "place", "org", "name")]
        for i, _d in enumerate(docs):
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
        if frame.topic:
            sents = [s for s in sents if frame.topic in s.text] or sents
        for s in sents:
            s.score = self._score(s, frame, terms, docs)
            if frame.topic and s.text.startswith(frame.topic):
                s.score += 0.2  # "殡仪馆提升改造要科学规划…": a sentence about the topic
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


def _dateline(text: str, sp: tuple[int, int]) -> bool:
    """The date of the report, not of what it reports: "记者7月24日获悉", "北京7月28日电"."""
    return bool(
        re.match(r"[^，。；]{0,3}?(?:获悉|了解到|报道|电[（(：:\s]|讯)", text[sp[1] :])
        or re.search(r"(?:记者|通讯员)[\u4e00-\u9fff]{0,4}$", text[: sp[0]])
    )


def _clause(text: str, sp: tuple[int, int]) -> str:
    """The clause of ``text`` (between ，。；： marks) that holds the span ``sp``."""
    a = max(text.rfind(ch, 0, sp[0]) for ch in "，。；：,;") + 1
    ends = [i for i in (text.find(ch, sp[1]) for ch in "，。；：,;") if i >= 0]
    return text[a : min(ends) if ends else len(text)]


def _titled(text: str, end: int) -> bool:
    """True when a place/organisation ends right before an official title: "横水镇党委书记荣亿"
    names a post, not a place visited."""
    return bool(ROLE_AFTER.match(text, end))


def _titled_as(mark: str, near: str, vice: bool = False) -> bool:
    """``mark`` (a title) is written in ``near`` as that title: "局长" is not "副局长" (unless
    the question asks for a deputy, ``vice``)."""
    for m in re.finditer(re.escape(mark), near):
        if vice or mark.startswith("副") or near[m.start() - 1 : m.start()] != "副":
            return True
    return False


def _same_verb(verb: str, text: str) -> bool:
    """The question's verb, or a two-character verb sharing a character with it in the same
    place ("举办"/"举行", "揭牌"/"揭幕", "承建"/"修建"), is written in ``text``."""
    if verb in text:
        return True
    if len(verb) != 2:
        return False
    return bool(re.search(re.escape(verb[0]) + r"[\u4e00-\u9fff]|[\u4e00-\u9fff]" + re.escape(verb[1]), text)) and any(
        w in text for w in (verb[0] + c for c in "办行开展建设立幕牌") if w != verb
    )


# attributes that only say which kind of unit is asked for (人数 → 人/名/人次 …)
# (what is measured — 投资, 收入, 产量 — must be written; these words only name the measure)
IMPLIED_UNITS = {
    "人数": "人",
    "人次": "人",
    "数量": "",
    "面积": "平方米",
    "金额": "元",
    "价格": "元",
    "价钱": "元",
    "长度": "米",
    "距离": "米",
    "里程": "米",
    "重量": "吨",
}


def _implied(attribute: list[str], unit: str, text: str) -> bool:
    """True when the attribute only names the kind of measure and ``unit`` is of that kind;
    what it says beyond that must be written ("报名人数": 报名)."""
    for a in attribute:
        for key, u in IMPLIED_UNITS.items():
            if a.endswith(key) and (not u or (unit and measure_compatible(u, unit))) and a[: -len(key)] in text:
                return True
    return False


def _plain(text: str) -> str:
    return re.sub(r"[^\w]", "", text)


def _bigrams(q: str) -> set[str]:
    han = re.sub(r"[^\u4e00-\u9fff]", "", SCAFFOLD.sub(" ", q))
    return {han[i : i + 2] for i in range(len(han) - 1)} - QUESTION_BIGRAMS


def _is_home(value: str, home: tuple[str, ...]) -> bool:
    return value in HOME or value in home
