"""Follow-up questions → standalone questions, by rules (no LLM needed).

Each question is first classified (``reference``): a question that names its own subject
("县委书记是谁？", "副县长有哪些人？") stands alone and is searched as asked, whatever came
before; only a question that leans on the conversation is rewritten:

- anaphora: a person (他/她/他们/这位/此人), an event (这次/那次/该/此次…会议, 会上), a thing
  (该渡槽, 这家企业, 它), a place (这里/那里/当地), other (其中/这些/上述);
- ellipsis: "那殡仪馆呢？", "那去年呢？", "还有呢？", "王大凤呢？";
- no subject of its own: "是哪天召开的？", "强调了什么？", "主持人是谁？".

The referent comes from the previous turn, its standalone question **and its answer**: "他是
什么职务？" after "县教育局局长是谁？" → "张维华是什么职务？" (the person the answer named),
"他强调了什么？" after "李晓军5月份调研了哪些地方？" → "李晓军5月份强调了什么？" (the question's
person, with its time). An ellipsis replaces the slot of the same kind in the topic question
(time, person, place) or is appended to it once; history is never repeated.

Turns are resolved oldest first, each once, from the last turn that stood alone: linear in the
history's length (no recursion). When a turn's answer is not given and a follow-up needs it,
``answer_of`` (the pipeline) recomputes it, at most ``MAX_RECOMPUTED`` times per question.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

import jieba
import jieba.posseg as pseg

from ..timeref import PATTERN as RELATIVE_TIME

jieba.setLogLevel(logging.WARNING)

PosCut = Callable[[str], list[tuple[str, str]]]
ANSWER_CHARS = 1000  # of an earlier answer read for a follow-up's referent (it comes first: answers lead with it)
MAX_RECOMPUTED = 3  # previous answers recomputed per question at most (each is one retrieval + answer)

PERSON_PRONOUNS = ("他们", "她们", "他", "她", "这位", "那位", "此人", "该同志")
EVENT_REF = re.compile(
    r"(?:这次|那次|此次|本次|上次|该次|这场|那场|该)(?:会议|座谈会|会|活动|调研|比赛)?|^会上|^会议上"
)
# "该渡槽", "这家企业", "此项目": a thing named in an earlier turn
THING_REF = re.compile(
    r"(?:该|这家|那家|这个|那个|此|这座|那座|这条|那条|这所|那所|这项|那项|这支|那支|这篇|那篇)"
    r"([\u4e00-\u9fff]{1,4}?)(?=[的是有在每原最叫去了，。？?]|$)"
)
EVENT_WORDS = ("会议", "会", "活动", "调研", "比赛", "座谈会")
IT = re.compile(r"(?<!其)它(?!们)")  # "那它的…" is one jieba word; 其它 is "other"
PLACE_REF = re.compile(r"这里|那里|那儿|这儿|当地|该地")
OTHER_REF = ("其中", "这些", "那些", "上述", "其余", "它们", "其")
ELLIPSIS_HEAD = re.compile(r"^(?:那么|那|还有|另外|此外|那要是|要是)")
ELLIPSIS_TAIL = re.compile(r"呢[？?！!。]*$")
QUESTION_WORDS = re.compile(
    r"什么|哪些|哪里|哪儿|哪天|哪位|哪个|哪家|哪|多少|几|怎么|怎样|如何|为何|为什么|是否|谁|吗|何时|何地"
)
ASKS_WHO = re.compile(r"谁|哪位|哪几位|哪些人|什么人|何人|叫什么|什么名字|姓名")
ASKS_ENTITY = re.compile(r"谁|哪位|哪个|哪家|哪些|什么(?!时候)|叫什么")
ASKS_WHERE = re.compile(r"哪里|哪儿|在哪|什么地方|哪个(?:镇|乡|村|县|市|区|地方)|哪些地方")
ASKED_NOUN = re.compile(r"(?:哪些|哪个|哪家|哪所|什么)([\u4e00-\u9fff]{1,4})")
ASKS_EVENT = re.compile(r"(?:什么|哪些|哪个|哪次)(?:会议|会|活动)")
ROLES = re.compile(
    r"(县委书记|县委副书记|县委常委|副县长|县长|党委书记|党工委书记|副书记|书记|副主任|主任|副局长|局长|副主席|主席"
    r"|副市长|市长|副镇长|镇长|乡长|村长|部长|厅长|省长|区长|院长|校长|所长|队长|会长|秘书长|董事长|总经理)"
)
# the county's own offices name a person by themselves ("县委书记是谁？"); other roles need an anchor
# ("董事长是谁？", "镇长是谁？": of what?)
OWN_OFFICE = re.compile(r"副?县(?:委|长|政府|人大|政协)[\u4e00-\u9fff]{0,6}")
EVENT_HEAD = re.compile(r"[\u4e00-\u9fff0-9]{0,24}(?:会议|座谈会|推进会|分析会|动员会|发布会|活动|调研)(?![室厅])")
# absolute times ("2025年", "5月份", "5月6日", "2025年一季度") and relative ones (rag.timeref)
TIME = re.compile(
    r"(?:\d{4}年)?\d{1,2}月\d{1,2}[日号]|(?:\d{4}年)?\d{1,2}月份?|\d{4}年(?:上半年|下半年|[一二三四1-4]季度)?"
    r"|" + RELATIVE_TIME.pattern
)
# nouns that never make a subject on their own: they need an anchor ("主持人" of what?)
GENERIC = frozenset(
    "会议 会 活动 人 人员 事 事情 时候 时间 日期 地方 地点 主持人 作者 记者 内容 要求 情况 工作 项目 问题 意见 讲话"
    " 报道 文章 稿子 新闻 消息 职务 职位 名字 姓名 单位 部门 领导 具体 方面 措施 结果 目的 原因 数量 全县 县里 我县"
    " 本县 多长 多大 多高 多远 多久 人次 次 个 位 所 家".split()
)
NOUN_FLAGS = ("n", "nr", "nrfg", "nrt", "ns", "nt", "nz", "nl", "ng", "j", "eng")
NAME_FLAGS = ("nr", "nrfg", "nrt", "ns", "nt", "nz", "j", "eng")
HOME = ("我县", "县里", "全县", "本县")
ABSTENTION = re.compile(r"^(?:档案中有《|档案中没有|新闻档案中没有|在.{2,30}的报道中没有)")


@dataclass
class Turn:
    """One earlier exchange: the user's ``question`` and the assistant's ``answer`` text
    ("" when not given; citation markers may be in it)."""

    question: str
    answer: str = ""


@dataclass
class _Resolved:
    standalone: str  # the turn as searched
    base: str  # the topic question an ellipsis is resolved against (never a glued one)
    answer: str
    extra: str = ""  # the clause this turn glued onto ``base``


def turns_from_history(
    items: Iterable, clean: Callable[[str], str] | None = None, answer_chars: int = ANSWER_CHARS
) -> list[Turn]:
    """Turns of a history given as plain strings (user questions), ``Turn`` objects or
    ``{"role": "user"|"assistant", "content": str}`` messages, oldest first. An assistant
    message is the answer of the user message before it (several are joined); one before any
    question, and messages of other roles, are ignored.
    clean: applied to questions and answers (the pipeline's cleaning and normalisation);
    answer_chars: answers are cut to this many characters first (the referent comes early).
    Turns whose question is empty (after ``clean``) are dropped."""
    out: list[Turn] = []
    for item in items or ():
        if isinstance(item, Turn):
            out.append(Turn(item.question, item.answer))
            continue
        role, text = ("user", item) if isinstance(item, str) else (item.get("role"), item.get("content"))
        text = text if isinstance(text, str) else ""
        if role == "user":
            out.append(Turn(text))
        elif role == "assistant" and out and text.strip():
            out[-1].answer = f"{out[-1].answer}\n{text}".strip()
    fix = clean or str.strip
    out = [Turn(fix(t.question), fix(t.answer[:answer_chars]) if t.answer else "") for t in out]
    return [t for t in out if t.question.strip()]


@lru_cache(maxsize=4096)
def _default_cut(text: str) -> list[tuple[str, str]]:
    return [(t.word, t.flag) for t in pseg.cut(text)]


def reference(question: str, pos_cut: PosCut = _default_cut, known: frozenset[str] = frozenset()) -> str | None:
    """How ``question`` leans on the conversation, or None when it stands alone.

    returns: "person", "event", "thing", "it" (它), "place", "other" (anaphora), "ellipsis"
        ("那…呢", "还有…"), or "bare" (no subject of its own). None: no anaphor, and a name, an
        event or one of the county's offices, or a specific noun in a question that does not
        start with its verb ("栽植了多少株苗木？" leaves out who planted: "bare").
    """
    q = question.strip()
    toks = pos_cut(q)
    words = [w for w, _ in toks]
    starts, pos = set(), 0
    for w in words:
        starts.add(pos)
        pos += len(w)

    def at_token(m: re.Match | None) -> bool:
        return m is not None and m.start() in starts  # "该" of 应该, "此" of 因此 are no anaphors

    if any(w in PERSON_PRONOUNS for w in words):
        return "person"
    thing = THING_REF.search(q)
    if at_token(thing) and thing.group(1) not in EVENT_WORDS:
        return "thing"
    if at_token(EVENT_REF.search(q)):
        return "event"
    if at_token(PLACE_REF.search(q)):
        return "place"
    if IT.search(q):
        return "it"
    if any(w in OTHER_REF for w in words):
        return "other"
    if ELLIPSIS_HEAD.match(q) or (ELLIPSIS_TAIL.search(q) and not QUESTION_WORDS.search(ELLIPSIS_TAIL.sub("", q))):
        return "ellipsis"
    subject = _subject(toks, known, q)
    if subject == "name" or (subject == "noun" and not _verb_first(toks)):
        return None
    return "bare"


def needs_context(question: str) -> bool:
    """True if the question leans on earlier turns (``reference`` is not None)."""
    return reference(question) is not None


def _subject(toks: list[tuple[str, str]], known: frozenset[str], q: str) -> str | None:
    """The question's own subject: "name" (a known or tagged name, an event named with its
    modifier, one of the county's own offices), "noun" (a specific noun that is not the
    asked-for type, the noun after 哪些/什么/多少株…, nor a generic one: 会议, 主持人, 情况…, or
    another role: 董事长 of what?), or None."""
    event = event_phrase(q)
    if (event and len(event) >= 4 and not event.endswith("调研")) or re.search(r"[“《「][^”》」]{2,}[”》」]", q):
        return "name"
    found = None
    asking = False  # after a question word, through its measure words ("多少株苗木": 苗木 is asked)
    for w, f in toks:
        if QUESTION_WORDS.fullmatch(w) or w.startswith(("几", "多少", "哪")):
            asking = True
            continue
        if asking and f in ("m", "q"):
            continue
        asked, asking = asking, False
        if w in known or OWN_OFFICE.fullmatch(w) or (f in NAME_FLAGS and len(w) >= 2 and not asked):
            return "name"
        if f in NOUN_FLAGS and len(w) >= 2 and not asked and w not in GENERIC and not ROLES.fullmatch(w):
            found = found or ("noun" if not TIME.fullmatch(w) else None)
    return found


def _verb_first(toks: list[tuple[str, str]]) -> bool:
    """The question starts with its verb: its subject is left out ("吸引了多少采购商？")."""
    first = next((f for w, f in toks if w.strip() and f != "x"), "")
    return first.startswith("v") and first != "vn"


def condense(
    question: str,
    history: Sequence[str | Turn | dict],
    known_people: set[str] | frozenset[str] = frozenset(),
    *,
    pos_cut: PosCut | None = None,
    answer_of: Callable[[str], str] | None = None,
) -> str:
    """Rewrite ``question`` into a standalone question using the earlier turns.

    history: earlier turns, oldest first: user questions as strings, ``Turn`` objects, or
        role/content messages (see ``turns_from_history``).
    known_people: person names (e.g. from the corpus dictionary) to prefer as referents.
    pos_cut: text → ``[(word, POS)]`` (the answerer's tagger with the archive's names);
        default ``jieba.posseg``.
    answer_of: standalone question → answer text, to recompute the answer of a turn given
        without one when a follow-up needs it (at most ``MAX_RECOMPUTED`` calls).
    Returns the question unchanged when it stands alone or there is no history.
    """
    cut = pos_cut or _default_cut
    known = frozenset(known_people)
    q = question.strip()
    turns = turns_from_history(history)
    if not turns or reference(q, cut, known) is None:
        return q
    # resolve forward from the last turn that stood alone: each turn once, linear in the history
    start = len(turns) - 1
    while start > 0 and reference(turns[start].question.strip(), cut, known) is not None:
        start -= 1
    budget = [MAX_RECOMPUTED if answer_of else 0]
    prev: _Resolved | None = None
    for t in turns[start:]:
        ref = reference(t.question.strip(), cut, known) if prev else None
        prev = _resolve(t.question.strip(), ref, prev, cut, known, partial(_answer, prev, answer_of, budget))
        prev.answer = t.answer
    return _resolve(q, reference(q, cut, known), prev, cut, known, partial(_answer, prev, answer_of, budget)).standalone


def _answer(resolved: _Resolved | None, answer_of, budget: list[int]) -> str:
    """The usable answer of a turn: given, else recomputed once (within the budget)."""
    if resolved is None:
        return ""
    if not resolved.answer and answer_of and budget[0] > 0:
        budget[0] -= 1
        try:
            resolved.answer = answer_of(resolved.standalone) or " "
        except Exception:  # noqa: BLE001 - a failed recompute only means "resolve from the question"
            resolved.answer = " "
    text = re.sub(r"\[\d+\]", "", resolved.answer or "").strip()
    return "" if ABSTENTION.match(text) else text


def _resolve(q: str, ref: str | None, prev: _Resolved | None, cut: PosCut, known, answer) -> _Resolved:
    """One turn given the previous turn's resolution: substitute each referent ("他对这家企业…"
    → 李晓军…对绛山种业…, at most one of each kind), or glue."""
    done: set[str] = set()
    while prev is not None and ref in ANAPHORS and ref not in done:
        got = _resolve_one(q, ref, prev, cut, known, answer)
        if got.extra or got.standalone == q:  # glued, or nothing found: no further substitution
            return got if not done else _Resolved(q, q, "")
        done.add(ref)
        q = got.standalone
        ref = reference(q, cut, known)
    if done:
        q = re.sub(r"^那么?(?=[\u4e00-\u9fff])", "", q)  # "那它的…" → "南京长江大桥的…": the particle goes
        return _Resolved(q, q, "")
    return _resolve_one(q, ref, prev, cut, known, answer)


ANAPHORS = ("person", "event", "thing", "it", "place")


def _resolve_one(q: str, ref: str | None, prev: _Resolved | None, cut: PosCut, known, answer) -> _Resolved:
    """One referent of a turn given the previous turn's resolution: substitute it, or glue."""
    if prev is None or ref is None:
        return _Resolved(q, q, "")
    base = prev.standalone
    out = q
    if ref == "person":
        who = _referent_person(base, cut, known, answer)
        p = next(p for p in PERSON_PRONOUNS if p in out)
        if who and who not in out:
            times = [] if TIME.search(out) else _times(base)
            out = out.replace(p, who + "".join(t for t in times if t not in who), 1)
            return _Resolved(out, out, "")
        if who:
            return _Resolved(out.replace(p, "", 1), out, "")
    elif ref == "event":
        event = event_phrase(base) or (event_phrase(answer()) if ASKS_EVENT.search(base) else None)
        m = EVENT_REF.search(out)
        if event and m:
            out = out[: m.start()] + event + ("上" if m.group(0).endswith("上") else "") + out[m.end() :]
            return _Resolved(out, out, "")
    elif ref == "thing":
        m = THING_REF.search(out)
        head = m.group(1)
        asked = ASKED_NOUN.search(base)
        first, second = (answer, lambda: base) if asked and set(head) & set(asked.group(1)) else (lambda: base, answer)
        named = _named_thing(head, first(), cut) or _named_thing(head, second(), cut)
        if named:
            out = out[: m.start()] + named + out[m.end() :]
            return _Resolved(out, out, "")
    elif ref == "it":  # 它: what a who/which question's answer named, else the question's subject
        if ASKS_ENTITY.search(base):
            head = _answer_head(answer())
            named = head if head and all(f in NOUN_FLAGS or f in ("m", "q") for _, f in cut(head)) else None
        else:
            named = _noun_prefix(base, cut) or next(iter(_things(base, cut)), None)
        if named:
            out = IT.sub(named, out, count=1)
            return _Resolved(out, out, "")
    elif ref == "place":
        places = _places(answer(), cut) if ASKS_WHERE.search(base) else []
        places = places or _places(base, cut)
        if places:
            out = PLACE_REF.sub(places[0], out, count=1)
            return _Resolved(out, out, "")
    elif ref == "ellipsis":
        x = ELLIPSIS_TAIL.sub("", ELLIPSIS_HEAD.sub("", out)).strip().removesuffix("的")
        slot = _replace_slot(x, prev.base, cut, known)
        if slot:
            return _Resolved(slot, slot, "")
    elif ref == "bare":
        event = event_phrase(base)
        topic = event if event and not event.endswith("调研") else _noun_prefix(base, cut) or event
        if topic and topic not in out:
            out = topic + out
            return _Resolved(out, out, "")
    # glue: the topic question once, the clause the previous turn added (not for an ellipsis,
    # which replaces it), then what this turn adds: at most three clauses, none repeated
    rest = ELLIPSIS_HEAD.sub("", out).strip() if ref == "ellipsis" else out
    rest = rest if re.search(r"[\u4e00-\u9fff]", ELLIPSIS_TAIL.sub("", rest)) else out  # "还有呢？" stays whole
    clauses = [re.sub(r"[？?！!。]+$", "", c) for c in (prev.base, "" if ref == "ellipsis" else prev.extra)]
    clauses = [c for c in dict.fromkeys(clauses) if c and c not in rest]
    if any(rest.rstrip("？?！!。") in c for c in clauses):
        return _Resolved(prev.standalone, prev.base, "", prev.extra)
    return _Resolved("，".join([*clauses, rest]), prev.base, "", rest)


def _answer_head(answer: str) -> str | None:
    """The value an answer gives first ("青海省财政厅。[1]…" → 青海省财政厅): answers lead
    with it; None when the answer does not start with a short value."""
    m = re.match(r"([\u4e00-\u9fffA-Za-z0-9]{2,16})[。，,；;]", answer or "")
    return m.group(1) if m else None


def _replace_slot(x: str, base: str, cut: PosCut, known) -> str | None:
    """ "那去年呢" / "那王大凤呢" / "那横水镇呢": ``base`` with its time, person, role or place
    replaced by ``x`` (a time is put in front when ``base`` has none); None when ``x`` is none
    of these or ``base`` has no slot of its kind."""
    if not x:
        return None
    if TIME.fullmatch(x):
        m = TIME.search(base)
        return base[: m.start()] + x + base[m.end() :] if m else x + base
    toks = cut(x)
    kind = _kind(x, toks, known)
    if kind is None:
        return None
    for w, f in cut(base):
        if _kind(w, [(w, f)], known) == kind and w != x:
            return base.replace(w, x, 1)
    return None


def _kind(text: str, toks: list[tuple[str, str]], known) -> str | None:
    if text in known or (len(toks) == 1 and toks[0][1] in ("nr", "nrfg", "nrt")):
        return "person"
    if ROLES.fullmatch(text):
        return "role"
    if len(toks) == 1 and toks[0][1] == "ns":
        return "place"
    return None


def _people(text: str, cut: PosCut, known) -> list[str]:
    """Person names of ``text`` in order of appearance: known names, then tagger ``nr`` words."""
    found = [(text.find(w), w) for w in known if w and w in text]
    found += [(text.find(w), w) for w, f in cut(text) if f in ("nr", "nrfg") and len(w) >= 2 and w not in known]
    return [w for _, w in sorted(found) if not ROLES.fullmatch(w)]


def _referent_person(base: str, cut: PosCut, known, answer) -> str | None:
    """Who 他/她 is: the person a who-question's answer named, else the person (or role) of
    the question, else the answer's first person."""
    asked = _people(base, cut, known)
    if ASKS_WHO.search(base):
        said = answer()
        named = [p for p in _people(said, cut, known) if p not in asked]
        head = _answer_head(said)
        if named or (head and re.fullmatch(r"[\u4e00-\u9fff]{2,4}", head)):
            return named[0] if named else head
    if asked:
        return asked[0]
    role = ROLES.search(base)
    if role and not ASKS_WHO.search(base):
        return role.group(1)
    named = _people(answer(), cut, known)
    return named[0] if named else (role.group(1) if role else None)


def _times(text: str) -> list[str]:
    return [m.group(0) for m in TIME.finditer(text)]


def event_phrase(text: str) -> str | None:
    """The event of a text: the last run ending in 会议/活动/调研…, after its last preposition
    ("县长在招商引资工作推进会议上…" → "招商引资工作推进会议"); None when there is none."""
    found = None
    for m in EVENT_HEAD.finditer(text or ""):
        phrase = re.split(r"(?:在|于|参加|召开|出席|主持|举行|关于|的)了?", m.group(0))[-1] or m.group(0)
        if len(phrase) >= 2 and phrase not in EVENT_WORDS and not QUESTION_WORDS.search(phrase):
            found = phrase  # the last one
    return found


def _noun_prefix(text: str, cut: PosCut) -> str | None:
    """The subject a question starts with: its leading names, nouns and times ("李晓军5月份调研
    了…" → "李晓军5月份"), without a trailing verbal noun; None when it starts otherwise."""
    out: list[tuple[str, str]] = []
    for w, f in cut(text):
        if f in NOUN_FLAGS or f in ("m", "t", "q", "vn") or (f == "x" and w.isdigit()):
            out.append((w, f))
        else:
            break
    while out and out[-1][1] == "vn":
        out.pop()
    # after a name only its time stays: "第31届华交会成交额" → 第31届华交会, "联想集团计划未来三年"
    # → 联想集团 (the attribute asked before is not the subject), "李晓军5月份" stays whole
    first = next((i for i, (_, f) in enumerate(out) if f in NAME_FLAGS), None)
    if first is not None:
        end = first + 1
        while end < len(out) and (
            out[end][1] in NAME_FLAGS or out[end][0] in ("月份", "年", "月", "日") or out[end][0].isdigit()
        ):
            end += 1
        out = out[:end]
    phrase = "".join(w for w, _ in out)
    return phrase if len(phrase) >= 2 and phrase not in GENERIC and phrase not in HOME else None


def _places(text: str, cut: PosCut) -> list[str]:
    return [w for w, f in cut(text) if f == "ns" and len(w) >= 2 and w not in HOME and w != "绛县"] or [
        t for t in _things(text, cut) if t[-1:] in "省市县区镇乡村"
    ]


def _named_thing(head: str, text: str, cut: PosCut) -> str | None:
    """The thing of ``text`` that 该/这家 ``head`` points to ("该渡槽" → "圆包山渡槽")."""
    if not text:
        return None
    things = _things(text, cut)
    named = next((t for t in things if t.endswith(head) or head in t), None)
    named = named or _phrase_ending(text, head)
    return named or next((t for t in things if set(head) & set(t[-2:])), None)  # 这支队伍 → …救援队


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
        and text[start - 1] not in "的在和与及对向从是了把被将由些么哪"
    ):
        start -= 1
    return text[start : i + len(head)]


def _things(text: str, cut: PosCut) -> list[str]:
    """The named things of a turn, in order: quoted names, then the tagger's place,
    organisation and other proper nouns, and the noun phrases they head."""
    out = [m.group(1) for m in re.finditer(r"[“\"《「]([^”\"》」]{2,20})[”\"》」]", text)]
    subject = re.match(
        r"([\u4e00-\u9fffA-Za-z0-9]{2,14}?)(?:是|在|于|的|有|哪|什么|为什么|怎么|如何|现在|最新|今年|去年)", text
    )
    if subject and subject.group(1) not in HOME:
        out.insert(0, subject.group(1))
    toks = cut(text)
    i = 0
    while i < len(toks):
        w, f = toks[i]
        if f in ("ns", "nt", "nz", "j") and len(w) >= 2:
            j = i + 1
            phrase = w
            while j < len(toks) and toks[j][1] in ("n", "ns", "nt", "nz", "j", "vn", "b") and len(phrase) < 14:
                phrase += toks[j][0]
                j += 1
            out.append(phrase)
            i = j
            continue
        i += 1
    return [t for t in dict.fromkeys(out) if t not in HOME]
