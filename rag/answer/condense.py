"""Rule-based rewrite of a follow-up question into a standalone one (no LLM needed).

"他强调了什么？" after "李晓军5月份调研了哪些地方？" → "李晓军强调了什么？".
A question that stands alone is returned unchanged.
"""

from __future__ import annotations

import logging
import re

import jieba
import jieba.posseg as pseg

jieba.setLogLevel(logging.WARNING)

PERSON_PRONOUNS = ("他们", "她们", "他", "她", "这位", "那位", "此人")
EVENT_PRONOUNS = ("这次", "那次", "此次", "本次", "上次", "该次", "这场", "那场", "该", "此", "这个", "那个")
OTHER_PRONOUNS = ("这些", "那些", "其", "上述", "这里", "那里", "那儿", "这儿", "它", "当地")
# "该渡槽", "这家企业", "此项目": a thing named in an earlier turn
THING_REF = re.compile(
    r"(?:该|这家|那家|这个|那个|此|这座|那座|这条|那条|这所|那所|这项|这支|那支)([\u4e00-\u9fff]{1,4}?)(?=[的是有在每原最叫去了，。？?]|$)"
)
PLACE_REF = re.compile(r"这里|那里|那儿|这儿|当地")
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
    if THING_REF.search(q) or re.match(r"会上", q):
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
    if m:
        return m.group(1)
    m = re.match(r"([\u4e00-\u9fff]{2,3})(?:是|在|于|为什么|有|的)", text)  # "齐一是哪天去世的" → 齐一
    return m.group(1) if m else None


def _event(text: str) -> str | None:
    """The event phrase of a turn: the Han run ending in 会议/活动/调研…, after its last
    preposition ("县长在招商引资工作推进会议上…" → "招商引资工作推进会议")."""
    m = None
    for m in re.finditer(r"[\u4e00-\u9fff0-9]{0,24}(会议|座谈会|推进会|分析会|活动|调研)", text):  # noqa: B007 (the last match)
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
    m = re.search(r"(这次|那次|此次|本次|上次|该次|这场|那场|该)(会议|会|活动|调研|比赛)?|^会(?=上)", out)
    if m and event:
        out = out[: m.start()] + event + out[m.end() :]
        replaced = True
    things = _things(prev)
    m = THING_REF.search(out)
    if m:
        head = m.group(1)
        named = next((t for t in things if t.endswith(head) or head in t), None)
        if named is None:
            named = _phrase_ending(prev, head)
        if named is None:
            named = next((t for t in things if set(head) & set(t[-2:])), None)  # 这支队伍 → …救援队
        if named or things:
            out = out[: m.start()] + (named or things[0] + head) + out[m.end() :]
            replaced = True
    elif "它" in out and things:
        out = out.replace("它", things[0], 1)
        replaced = True
    if not replaced and PLACE_REF.search(out):
        places = [t for t in things if t[-1:] in "省市县区镇乡村"] or things
        if places:
            out = PLACE_REF.sub(places[0], out, count=1)
            replaced = True
    if not replaced:
        core = re.sub(r"[？?！!。]+$", "", prev)
        rest = re.sub(r"^(那么|那次|这次|此次|那场|这场|那|还有|另外)", "", out)
        out = f"{core}，{rest}"
    return out


def _phrase_ending(text: str, head: str) -> str | None:
    """The noun phrase of ``text`` that ends in ``head`` ("向家坝灌区的圆包山渡槽" → 圆包山渡槽),
    cut after the last 的 or preposition; None when ``head`` is not in ``text``."""
    i = text.find(head)
    if i < 0:
        return None
    start = i
    while (
        start > 0
        and re.match(r"[\u4e00-\u9fffA-Za-z0-9]", text[start - 1])
        and i - start < 10
        and text[start - 1] not in "的在和与及对向从是了把被将由"
    ):
        start -= 1
    return text[start : i + len(head)]


def _things(text: str) -> list[str]:
    """The named things of a turn, in order: quoted names, then the tagger's place,
    organisation and other proper nouns, and noun phrases ending in a common head
    (渡槽, 银行, 大桥…)."""
    out = [m.group(1) for m in re.finditer(r"[“\"《「]([^”\"》」]{2,20})[”\"》」]", text)]
    subject = re.match(
        r"([\u4e00-\u9fffA-Za-z0-9]{2,14}?)(?:是|在|于|的|有|哪|什么|为什么|怎么|如何|现在|最新|今年|去年)", text
    )
    if subject and subject.group(1) not in ("我县", "县里", "全县"):
        out.insert(0, subject.group(1))
    toks = list(pseg.cut(text))
    i = 0
    while i < len(toks):
        w, f = toks[i].word, toks[i].flag
        if f in ("ns", "nt", "nz", "j") and len(w) >= 2:
            j = i + 1
            phrase = w
            while j < len(toks) and toks[j].flag in ("n", "ns", "nt", "nz", "j", "vn", "b") and len(phrase) < 14:
                phrase += toks[j].word
                j += 1
            out.append(phrase)
            i = j
            continue
        i += 1
    return [t for t in dict.fromkeys(out) if t not in ("我县", "县里", "全县")]
