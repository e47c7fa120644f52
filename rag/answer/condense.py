"""Rule-based rewrite of a follow-up question into a standalone one (no LLM needed).

"他强调了什么？" after "李晓军5月份调研了哪些地方？" → "李晓军强调了什么？".
A question that stands alone is returned unchanged.
"""

from __future__ import annotations

import re

import logging

import jieba
import jieba.posseg as pseg

jieba.setLogLevel(logging.WARNING)

PERSON_PRONOUNS = ("他们", "她们", "他", "她", "这位", "那位", "此人")
EVENT_PRONOUNS = ("这次", "那次", "此次", "本次", "上次", "该次", "这场", "那场", "该", "此", "这个", "那个")
OTHER_PRONOUNS = ("这些", "那些", "其", "上述", "这里", "那里", "那儿", "这儿")
QUESTION_WORDS = re.compile(r"(什么|哪些|哪里|哪儿|哪天|哪位|哪个|多少|怎么|如何|为何|为什么|是否|谁|吗|呢|吧|了)")
ROLES = re.compile(r"(县委书记|县委副书记|副县长|县长|书记|主任|副主任|局长|主席|副主席|市长|镇长|村长)")
EVENT_NOUN = re.compile(r"(会议|会|活动|调研|讲话|检查|座谈)")
MIN_STANDALONE = 6  # Han characters of content; fewer means the question leans on context


def _content(text: str) -> str:
    han = "".join(re.findall(r"[\u4e00-\u9fffA-Za-z0-9]", text))
    return QUESTION_WORDS.sub("", han)


def needs_context(question: str) -> bool:
    """True if the question leans on earlier turns: a pronoun (他/她/该/这次/那次…) or too
    little content to stand alone (fewer than ``MIN_STANDALONE`` content characters)."""
    q = question.strip()
    if any(p in q for p in PERSON_PRONOUNS + OTHER_PRONOUNS):
        return True
    if re.search(r"(这次|那次|此次|本次|上次|该次|这场|那场|该)(会议|会|活动|调研|文章|报道|项目|工作)?", q):
        return True
    return len(_content(q)) < MIN_STANDALONE


def _person(text: str, known_people: set[str] | frozenset[str] = frozenset()) -> str | None:
    """First person named in text: a known name, a jieba ``nr`` token, or an official role."""
    for w in known_people:
        if w in text:
            idx = text.index(w)
            best = (idx, w)
            for w2 in known_people:
                if w2 in text and text.index(w2) < best[0]:
                    best = (text.index(w2), w2)
            return best[1]
    for tok in pseg.cut(text):
        if tok.flag == "nr" and len(tok.word) >= 2:
            return tok.word
    m = ROLES.search(text)
    return m.group(1) if m else None


def _event(text: str) -> str | None:
    """The event phrase of a turn: the Han run ending in 会议/活动/调研…, after its last
    preposition ("县长在招商引资工作推进会议上…" → "招商引资工作推进会议")."""
    m = None
    for m in re.finditer(r"[\u4e00-\u9fff0-9]{0,24}(会议|座谈会|推进会|分析会|活动|调研)", text):
        pass
    if not m:
        return None
    phrase = m.group(0)
    phrase = re.split(r"(?:在|于|参加|召开|出席|主持|举行|关于|的)了?", phrase)[-1] or phrase
    return phrase if len(phrase) >= 2 else None


def condense(question: str, history: list[str], known_people: set[str] | frozenset[str] = frozenset()) -> str:
    """Rewrite ``question`` into a standalone question using earlier user turns.

    history: earlier user turns, oldest first. Earlier follow-ups are resolved first, so
        a chain of follow-ups keeps its referent.
    known_people: person names (e.g. from the corpus dictionary) to prefer as referents.
    Returns the question unchanged when it stands alone or there is no history.
    """
    q = question.strip()
    turns = [t.strip() for t in history if t and t.strip()]
    if not turns or not needs_context(q):
        return q
    prev = condense(turns[-1], turns[:-1], known_people)
    out = q
    person = _person(prev, known_people)
    event = _event(prev)
    replaced = False
    for p in PERSON_PRONOUNS:
        if p in out and person:
            out = out.replace(p, person, 1)
            replaced = True
            break
    m = re.search(r"(这次|那次|此次|本次|上次|该次|这场|那场|该)(会议|会|活动|调研)?", out)
    if m and event:
        out = out[: m.start()] + event + out[m.end():]
        replaced = True
    if not replaced:
        core = re.sub(r"[？?！!。]+$", "", prev)
        rest = re.sub(r"^(那么|那|还有|另外)", "", out)
        out = f"{core}，{rest}"
    return out
