"""Evidence checks: does an article satisfy every constraint of a question, and is a value
written where those constraints hold (its sentence and the few before it)?"""

from __future__ import annotations

import re

from .analysis import EVENT_HEADS, HOME, Constraint, Frame
from .sentences import Doc, Sentence

# how a county bulletin speaks of its own county ("我县召开…"): a question about 县里 / 我县
# needs an article in that voice
HOME_VOICE = ("我县", "本县", "全县", "县委", "县政府", "县长")
LOCAL_SENTENCES = 3  # sentences before a value in which the question's names may be written


class EvidenceChecks:
    """Constraint checks of ``ExtractiveAnswerer`` (needs its ``tokenize``, ``pos_fast``, ``people``
    and ``home``)."""

    def unsatisfied(self, frame: Frame, doc: Doc) -> list[Constraint]:
        """The constraints of the question that ``doc`` does not satisfy (same article)."""
        ctx = doc.context
        missing = []
        months = frame.of_kind("month")
        for c in frame.constraints:
            if c.kind in ("person", "place", "org", "name"):
                ok = c.text in ctx or (
                    c.kind != "person" and (self._tokens_in(c.text, ctx) or _abbreviates(c.text, ctx))
                )
                if not ok and c.kind == "place" and len(c.text) >= 3 and c.text[-1] in "省市县区镇乡":
                    ok = c.text[:-1] in ctx  # "福建省长" is 福建's governor
                if not ok and c.kind in ("org", "name"):
                    ok = self._place_left_out(c.text, ctx)
            elif c.kind == "role":
                ok = self._role_ok(frame, c, ctx)
            elif c.kind == "event":
                ok = self._event_in(c, ctx)
            elif c.kind == "date":
                mo, d, y = c.core
                ok = _date_parts(doc.date) in ((y or _date_parts(doc.date)[0], mo, d),) or bool(
                    re.search(rf"(?<!\d){mo}月{d}[日号]", ctx)
                )
            elif c.kind == "month":
                ok = any(_date_parts(doc.date)[1] == m.core[0] for m in months) or any(
                    re.search(rf"(?<![\d.]){m.core[0]}月", ctx) for m in months
                )
            elif c.kind == "year":
                ok = _date_parts(doc.date)[0] == c.core[0] or f"{c.core[0]}年" in ctx or str(c.core[0]) in ctx
            else:
                ok = True
            if not ok:
                missing.append(c)
        if (any(h in frame.text for h in HOME) or any(h in frame.text for h in self.home)) and self.home_voice(
            ctx
        ) is False:
            missing.append(Constraint(next((h for h in self.home), "本县"), "home"))
        return missing

    def _place_left_out(self, name: str, ctx: str, near: str | None = None) -> bool:
        """A body named with its place ("四川省委统战部") that the article writes without it
        ("省委统战部", in ``near`` when given) after naming the place somewhere in ``ctx``
        ("四川在线…")."""
        first = self.pos_fast(name)[:1]
        if not first or not first[0][1].startswith(("ns", "nt")):
            return False
        for k in (2, 3):
            place, rest = name[:k], name[k:]
            if len(rest) >= 3 and rest in (ctx if near is None else near) and (place in ctx or place[:2] in ctx):
                return True
        return False

    def home_voice(self, text: str) -> bool:
        """True when an article speaks of the county as its own ("我县", "县委"… or its name)."""
        return any(h in text for h in HOME_VOICE + self.home)

    def _event_in(self, c: Constraint, ctx: str) -> bool:
        """An event named in the question ("普陀区医疗机构污水管理专题会议") is the article's
        when at least 70 % of its distinctive words are written there (names of meetings vary
        in wording: "污水处理管理专题会"), and always when all are."""
        hits = sum(1 for w in c.core if self._word_in(w, ctx))
        return hits == len(c.core) or (len(c.core) >= 3 and hits >= 0.7 * len(c.core))

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
        after = frame.text[frame.text.find(c.text) + len(c.text) :]
        person = next((p.text for p in frame.of_kind("person") if after.startswith(p.text)), None)
        if person is None:
            return c.text in ctx
        return any(c.text in ctx[max(0, m.start() - 14) : m.start()] for m in re.finditer(re.escape(person), ctx))

    def _competitor(self, name: str, text: str) -> bool:
        """``text`` names another thing of ``name``'s kind: its last two characters (the head:
        大桥, 公园) written after a proper-noun modifier that is not ``name``'s ("青龙洲大桥"
        for 香炉洲大桥). The modifier is the noun tokens right before the head (at most 4
        characters, one of them a proper noun): "香炉洲大桥的主墩", "大冶市召开政府…" and
        "专业教授" have none."""
        head = name[-2:]
        toks = self.pos_fast(text)
        ends, pos = {}, 0
        for i, (w, _f) in enumerate(toks):
            pos += len(w)
            ends[pos] = i
        for m in re.finditer(re.escape(head), text):
            i = ends.get(m.start())
            mod, proper = "", False
            while i is not None and i >= 0 and toks[i][1].startswith(("n", "j")) and len(mod + toks[i][0]) <= 4:
                mod = toks[i][0] + mod
                proper = proper or toks[i][1].startswith(("nr", "ns", "nt", "nz"))
                i -= 1
            if mod and proper and mod not in name:  # "专业教授" names no other 教授
                return True
        return False

    def _local(self, frame: Frame, s: Sentence, d: Doc) -> bool:
        """The constraints hold where the value is written, not only somewhere in the article:
        the people, places, organisations, names and events the question names are in the
        value's sentence or the ``LOCAL_SENTENCES`` before it (or the title and lead), and the
        sentence does not name another thing of the same kind instead ("香炉洲大桥的总投资" is
        not the 青龙洲大桥 sentence's figure)."""
        start = d.text.rfind("\n", 0, s.start) + 1
        cut = s.start
        for _ in range(LOCAL_SENTENCES):  # the value's sentence and the few before it
            if cut <= start:
                break
            cut = max([d.text.rfind(p, start, cut - 1) for p in "。！？"] + [start - 1]) + 1
        prev = d.text[cut : s.start]
        para = d.title + "\n" + _lead(d.text) + "\n" + prev + s.text
        for c in frame.constraints:  # "香炉洲大桥" asked, "青龙洲大桥" written: another one of its kind
            if (
                c.kind in ("place", "org", "name")
                and len(c.text) >= 3
                and c.text not in s.text
                and self._competitor(c.text, s.text)
            ):
                return False
        for c in frame.constraints:
            # a person the archive knows must be in the value's sentence or just before it; a
            # word the tagger alone calls a name ("黄石承办…") is checked like a place
            if (
                c.kind == "person"
                and c.text in self.people
                and c.text not in s.text
                and c.text not in prev
                and not re.match(r"(?:他|她|其)", s.text)
                and c.text not in d.text[start : start + 12]
                and not (frame.focus in EVENT_HEADS and c.text in _after(d.text, s.end, 2))
            ):
                return False  # (a paragraph that opens with the person is the person's: "解芳强调，…")
            if c.kind == "person" and c.text not in self.people and c.text not in para:
                return False
            if (
                c.kind == "person"
                and c.text not in s.text
                and frame.atype not in ("person", "role")
                and frame.focus_kind != "person"
                and any(v in s.text for v in frame.verbs)
                and any(p in s.text for p in self.people if p != c.text and p not in c.text)
            ):
                return False  # "王辨明主持会议" is not what 李晓军 主持-ed
            if c.kind in ("place", "org", "name") and not (
                c.text in para
                or self._tokens_in(c.text, para)
                or _abbreviates(c.text, para)
                or self._place_left_out(c.text, d.text, para)
            ):
                return False
            if c.kind == "event" and not self._event_in(c, para):
                return False
        return True


def _after(text: str, end: int, sentences: int) -> str:
    """The ``sentences`` sentences after offset ``end`` in the same paragraph ("我县召开…分析会。
    县委书记解芳出席…。县长李晓军主持会议": the meeting is the one 李晓军 chaired)."""
    stop = text.find("\n", end)
    stop = len(text) if stop < 0 else stop
    cut = end
    for _ in range(sentences):
        nxt = min((j for j in (text.find(p, cut, stop) for p in "。！？") if j >= 0), default=-1)
        if nxt < 0:
            return text[end:stop]
        cut = nxt + 1
    return text[end:cut]


def _lead(text: str, sentences: int = 2) -> str:
    """The first ``sentences`` sentences of an article (a photo caption often comes first)."""
    end = 0
    for _ in range(sentences):
        i = min((j for j in (text.find(p, end) for p in "。！？") if j >= 0), default=-1)
        if i < 0:
            break
        end = i + 1
    return text[:end]


def _abbreviates(short: str, text: str) -> bool:
    """True when ``short`` is a Chinese abbreviation of a name in ``text``: its characters
    occur in order, at most 6 apart, within a span of at most four times its length ("中纪委"
    in "中央纪委", "卫健委" in "卫生健康委员会"). Names of 3+ characters only."""
    if len(short) < 3:
        return False
    pattern = "".join(re.escape(ch) + r"[^，。；、\s]{0,6}?" for ch in short[:-1]) + re.escape(short[-1])
    return any(m.end() - m.start() <= 4 * len(short) for m in re.finditer(pattern, text))


def _date_parts(date: str) -> tuple[int, int, int]:
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", date or "")
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (0, 0, 0)
