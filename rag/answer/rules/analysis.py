"""Question analysis: the expected answer type and the constraints an answer must satisfy.

Classic factoid QA (before LLMs) maps a question to an expected answer type and a set of
constraints, then accepts only evidence that holds both (Moldovan et al. 2000, "The
structure and performance of an open-domain question answering system", ACL; Hovy et al.
2001, "Toward semantics-based answer pinpointing"). In Chinese the building blocks are the
closed class of question words (谁 / 哪位 / 哪天 / 多少 + measure word / 哪些 X …), a POS
tagger (``jieba.posseg`` with the user dictionary: nr person, ns place, nt organisation,
nz other proper noun, m numeral, q measure word, t time) and a date/number normaliser.

Nothing here knows the archive: the rules are about how Chinese questions are built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# -- answer types ------------------------------------------------------------------------------
PERSON, ORG, PLACE, DATE, YEAR, QUANTITY, ROLE = "person", "org", "place", "date", "year", "quantity", "role"
INSTANCE, LIST, STATEMENTS, EVENTS, AUTHOR, DESCRIPTION = (
    "instance",
    "list",
    "statements",
    "events",
    "author",
    "description",
)
FACTOID_TYPES = frozenset({PERSON, ORG, PLACE, DATE, YEAR, QUANTITY, ROLE, INSTANCE})

# reporting verbs of Chinese news prose ("X强调，…"): what someone said, stressed, required
SPEECH_VERBS = (
    "强调",
    "指出",
    "要求",
    "提出",
    "表示",
    "讲话",
    "讲了",
    "说了",
    "部署",
    "提到",
    "希望",
    "介绍",
    "说",
    "讲",
    "安排",
)
SPEECH_Q = re.compile(
    r"(强调|指出|要求|提出|表示|讲话|部署|提到|希望|说|讲)(了|过|的)?(什么|哪些|哪几|些什么|哪几点)"
    r"|(讲话|发言)(的)?(内容|要点|重点)|(怎么|如何)(说|讲|要求|部署)|有(什么|哪些)(要求|希望|部署)"
)
AUTHOR_Q = re.compile(r"作者|谁写|写的|记者是谁|撰稿|稿子是谁|供稿|署名|写了哪|写过")
EVENTS_Q = re.compile(
    r"(?:哪些|哪几[个场次项篇]?)(?:活动|会议|会|调研|报道|稿子|文章)|出现在哪些|参加了哪些|出席了哪些"
)
DATE_Q = re.compile(r"哪天|哪一天|什么时候|何时|几月几[号日]|(?<!第)几号|日期|什么时间|什么日子|哪个月|几月份?")
YEAR_Q = re.compile(r"哪一?年|什么年份|何年|几几年")
QUANTITY_Q = re.compile(
    r"多少|(?<!哪)几(?=[^\s，。？?、月号日]{0,1})|多大|多长|多高|多重|多远|多久|多深|多宽|多快|比例|百分之几|占比|几成"
)
REASON_Q = re.compile(r"为什么|为何|因为什么|什么原因|原因是什么|怎么回事")  # a reason is described, not named
PERSON_Q = re.compile(r"谁|哪位|哪几位|什么人|叫什么名字|叫什么|姓名|哪些人|哪位领导|哪些领导")
ROLE_Q = re.compile(r"什么职务|什么职位|担任什么|任什么职|是什么官|什么身份|职务是|职位是")
PLACE_Q = re.compile(r"哪里|哪儿|什么地方|何地|何处|在哪|去哪|到哪|地点|地址|位置|哪些地方|哪个地方")
LIST_Q = re.compile(r"哪些|哪几|有什么|都有|分别|包括什么|包括哪")
# "哪个/哪家/哪所/哪条/什么 + X": X is the focus noun, the kind of thing the answer names
WHICH = re.compile(
    r"(?:哪(?:一|两|三|四|五|几)?(?:个|家|所|条|座|位|项|种|类|部|支|只|批|款|些|名|间|处|届|次|场|本|篇|门)?"
    r"|什么|何种|几(?:个|家|所|条|座|位|项|种|类|支|只|批|款|名|间|处|届|次|场|本|篇|门))"
    r"[“\"「]?([\u4e00-\u9fffA-Za-z0-9]{1,8}?)[”\"」]?(?=[？?，。！、的是有在了呢吗和与及]|$)"
)
WHICH_WORD = re.compile(
    r"哪(?:一|两|三|四|五|几)?(?:个|家|所|条|座|位|项|种|类|部|支|只|批|款|些|名|间|处|届|次|场|本|篇|门)?|什么|何种"
)

# person nouns: a focus ending in one of these asks for people ("哪位专家", "哪些领导")
PERSON_HEADS = (
    "人",
    "员",
    "者",
    "家",
    "长",
    "师",
    "手",
    "官",
    "生",
    "领导",
    "干部",
    "书记",
    "支书",
    "主任",
    "代表",
    "委员",
    "主席",
    "嘉宾",
    "选手",
    "冠军",
    "教授",
    "院士",
    "专家",
    "大使",
    "负责人",
    "老板",
    "同志",
    "队员",
    "经理",
    "总监",
    "董事",
    "主管",
    "会计",
)
# place nouns: a focus ending in one of these asks for a place
PLACE_HEADS = (
    "地方",
    "城市",
    "省",
    "省份",
    "国家",
    "地区",
    "县",
    "区",
    "镇",
    "乡",
    "村",
    "街道",
    "地点",
    "场地",
    "场所",
    "地",
    "国",
)
# organisation nouns
ORG_HEADS = (
    "企业",
    "公司",
    "单位",
    "机构",
    "部门",
    "学校",
    "高校",
    "医院",
    "银行",
    "集团",
    "厂",
    "组织",
    "协会",
    "媒体",
    "平台",
    "大学",
    "院校",
    "机关",
    "团队",
    "队伍",
    "球队",
    "品牌",
    "商家",
    "酒店",
    "社区",
)
# measure-word classes: a question's measure word accepts any unit of its class
MEASURE_CLASSES = (
    frozenset({"人", "名", "位", "人次", "余人", "多人", "个人"}),
    frozenset({"元", "万元", "亿元", "千元", "美元", "万美元", "亿美元", "欧元", "块", "块钱", "钱"}),
    frozenset({"米", "公里", "千米", "里", "厘米", "毫米", "英里"}),
    frozenset({"平方米", "平米", "亩", "公顷", "平方公里", "万平方米"}),
    frozenset({"吨", "公斤", "千克", "斤", "克", "万吨"}),
    frozenset({"%", "％", "百分点", "成", "倍"}),
    frozenset({"块", "枚", "面"}),
    frozenset({"天", "日", "小时", "个小时", "分钟", "个月", "年", "周", "秒"}),
)
GENERIC_MEASURES = frozenset({"个", "些", ""})
# measure words (量词) a number takes
MEASURE_CHARS = (
    "个项名家位人次辆台套件本册份条座所场期批届枚块头只株棵亩吨元户间处米天年月周幅篇部支起宗例张道幢栋层艘架岁倍度秒升"
)

HOME = frozenset({"我县", "全县", "县里", "本县", "咱县", "我们县"})  # the archive's own county: not a constraint
EVENT_HEADS = (
    "会议",
    "大会",
    "推进会",
    "分析会",
    "座谈会",
    "论坛",
    "峰会",
    "博览会",
    "展销会",
    "交易会",
    "发布会",
    "运动会",
    "仪式",
    "活动",
    "会",
)
# words of an event name that say nothing about which event ("防汛工作会议" is about 防汛)
GENERIC_EVENT_WORDS = frozenset(
    {
        "工作",
        "会议",
        "大会",
        "会",
        "活动",
        "全县",
        "全市",
        "专题",
        "有关",
        "相关",
        "召开",
        "举行",
        "举办",
        "开展",
        "仪式",
        "年度",
        "第一次",
        "一次",
    }
)
# adverbs the tagger sometimes takes for nouns ("一共/j"): a name never extends over them
ADVERBS = frozenset(
    {"一共", "总共", "共", "都", "还", "仍", "已", "已经", "也", "均", "再", "又", "曾", "先后", "分别", "目前", "现在"}
)
PLACE_SUFFIX = "省市县区镇乡村州"
ORG_SUFFIX = "委局厅署办院校会社部所"
# time nouns ("2022年度净利润"): when, not what is measured
TIME_NOUNS = frozenset(
    {"年度", "年底", "年初", "全年", "上半年", "下半年", "季度", "一季度", "月份", "当年", "同期", "今年", "去年"}
)
STOP_CONSTRAINTS = frozenset({"县里", "我县", "全县", "本县", "会上", "今年", "去年", "现场", "期间", "情况", "工作"})

DATE_RE = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号]")
MONTH_RE = re.compile(r"(?<![\d年])(?:(\d{4})年)?(\d{1,2})月份?(?![\d日号])")
YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})年(?!\d{1,2}月)")
NUMBERED = re.compile(
    r"第[一二三四五六七八九十百\d]+[次届期批个轮]|(?<![\d.])\d+(?:\.\d+)?(?:号线|号|米|届|期|标段|标)(?![\d月日])"
)
QUOTED = re.compile(r"[“\"「《]([^”\"」》]{2,20})[”\"」》]")


@dataclass
class Constraint:
    """Something the question takes as given, that evidence must hold.

    text: as written in the question. kind: person | place | org | name | event | role |
    date | month | year. core: for events, the words that identify the event (all must
    occur); for dates ``(month, day, year or 0)``.
    """

    text: str
    kind: str
    core: tuple = ()


@dataclass
class Frame:
    """A question as the answerer sees it.

    atype: expected answer type (one of the constants above).
    focus: the noun the answer is an instance of ("会议室", "专家", "学校"), or "".
    measure: the measure word of a quantity question ("册", "份", "钱"), or "".
    attribute: content words of what a quantity/date is about ("收盘价", "图书"): they must
        occur next to the value.
    verbs: the question's predicate verbs ("主持", "通报", "承建"): the answer is their
        argument.
    constraints: what evidence must hold (same article).
    speaker: for statements, the person or role whose words are asked for.
    """

    text: str
    atype: str
    focus: str = ""
    measure: str = ""
    attribute: list[str] = field(default_factory=list)
    verbs: list[str] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    speaker: str = ""
    count: int | None = None
    focus_kind: str = ""
    topic: str = ""  # "…，X呢？": the thing the answer must be about

    @property
    def factoid(self) -> bool:
        return self.atype in FACTOID_TYPES

    def of_kind(self, *kinds: str) -> list[Constraint]:
        return [c for c in self.constraints if c.kind in kinds]


def measure_compatible(asked: str, unit: str) -> bool:
    """True when a value's ``unit`` answers a question asking for ``asked`` (a measure word):
    the same word, a unit that ends in it ("万册" for "册"), or a unit of the same class
    (``MEASURE_CLASSES``: 名/人/位, 元/万元/钱 …). A generic "个" or no measure accepts any unit."""
    if asked in GENERIC_MEASURES:
        return True
    if unit == asked or unit.endswith(asked) or asked.endswith(unit):
        return True
    return any(asked in cls and (unit in cls or unit[-1:] in cls or unit[-2:] in cls) for cls in MEASURE_CLASSES)


def _focus_kind(focus: str) -> str:
    if not focus:
        return ""
    if focus.endswith(PERSON_HEADS):
        return PERSON
    if focus.endswith(PLACE_HEADS):
        return PLACE
    if focus.endswith(ORG_HEADS):
        return ORG
    return INSTANCE


def analyze(question: str, pos_cut, *, entities: dict[str, str] | None = None) -> Frame:
    """The answer type, focus, measure word, attribute, verbs and constraints of ``question``.

    pos_cut: text → ``[(word, flag), …]`` (``jieba.posseg`` with the user dictionary).
    entities: known names → their POS (``nr``/``ns``/``nt``) from the user dictionary and the
        names gathered from the archive; they win over the tagger.
    """
    q = re.sub(r"(\d{1,2})月份", r"\1月", question)
    entities = entities or {}
    toks = [(w, f) for w, f in pos_cut(q) if w.strip()]
    # "A，B？" (a follow-up joined to its context): the last clause asks, the rest is context
    asked = re.split(r"[，,]", q)[-1] if re.search(r"[，,]", q) else q
    if asked != q and not re.search(r"谁|哪|什么|多少|几|如何|怎么|吗|呢", asked):
        asked = q
    atype = _answer_type(asked)
    atoks = [(w, f) for w, f in pos_cut(asked) if w.strip()] if asked != q else toks
    focus = _focus(asked, atoks)
    if atype == INSTANCE or (atype == PLACE and focus and WHICH.search(q)):
        atype = _focus_kind(focus) or INSTANCE
    elif atype == PERSON and not re.search(r"谁|哪位|哪几位|什么人|哪些人|领导|姓名", asked):
        # "…叫什么(名字)": a person's name only when a person is what is named ("盾构叫什么")
        before = re.split(r"叫什么|名字", asked)[0]
        head = _focus(before + "是谁", atoks) if not focus else focus
        if head and _focus_kind(head) != PERSON:
            atype, focus = _focus_kind(head) or INSTANCE, head
    if atype in (LIST, INSTANCE) and focus in SPEECH_NOUNS:
        atype = STATEMENTS  # "提了哪些要求" asks for what was said
    elif atype == STATEMENTS and focus and focus not in SPEECH_NOUNS and re.search(r"哪些|哪几", q):
        atype = LIST  # "提到了哪些招商方法": a list of things named in the speech
    frame = Frame(text=question, atype=atype, focus=focus)
    m = re.search(r"[，,]([^，,？?]{2,12})呢[？?]?$", q)
    if m:  # "…，殡仪馆呢？": what the context says about 殡仪馆
        frame.atype, frame.focus, frame.topic = DESCRIPTION, "", m.group(1)
    frame.constraints = _constraints(q, toks, entities, focus)
    # "哪/天开的": the tagger glued the measure of the question word to the verb
    toks_v = [
        (w[1:], f)
        if k and toks[k - 1][0] in ("哪", "几") and f.startswith("v") and len(w) >= 2 and w[0] in "天年月日个位家种条次"
        else (w, f)
        for k, (w, f) in enumerate(toks)
    ]
    frame.verbs = [
        w
        for k, (w, f) in enumerate(toks_v)
        if (f in ("v", "vd", "vi") or (f in ("n", "vn") and k + 1 < len(toks) and toks[k + 1][1] in ("ul", "uz")))
        and len(w) >= 2
        and w not in ("进行", "还有", "没有")
        and not _WH_TOKEN.match(w)
        and w not in focus
    ]
    inside = [c.text for c in frame.constraints] if frame.constraints else []
    frame.verbs = [v for v in frame.verbs if not any(v in t for t in inside)]
    if re.search(r"哪几位|哪些人|谁|哪位", q) and atype in (LIST, PERSON) and not focus:
        frame.focus_kind = PERSON
    else:
        frame.focus_kind = _focus_kind(focus)
    if atype == QUANTITY:
        frame.measure, frame.attribute = _measure_and_attribute(q, toks)
    elif atype in (DATE, YEAR):
        # the predicate dated: its verbs, or an adjective ("樱桃什么时候成熟")
        frame.attribute = [w for w in frame.verbs] or [w for w, f in toks if f == "a" and len(w) >= 2]
    elif atype == PLACE:
        # "X的地址在哪里": the address of X is asked; the word must be next to the answer
        m = re.search(r"的([\u4e00-\u9fff]{2,4}?)(?:是|在)?(?:哪里|哪儿|什么地方|何处|在哪)", q) or re.search(
            r"(地址|住址|位置|地点|场所|会场)(?:是|在)?(?:哪里|哪儿|什么地方|何处|在哪)", q
        )
        if m and m.group(1) not in HOME:
            frame.attribute = [m.group(1)]
    if atype == STATEMENTS:
        people = frame.of_kind("person")
        roles = frame.of_kind("role")
        frame.speaker = people[0].text if people else (roles[0].text if roles else "")
    m = re.search(r"哪([两三四五六七八九十])", q)
    if m:
        frame.count = "两三四五六七八九十".index(m.group(1)) + 2
    return frame


# question-word rules in order: the first that matches gives the expected answer type
_TYPE_RULES = (
    (AUTHOR_Q, AUTHOR),
    (REASON_Q, DESCRIPTION),
    (SPEECH_Q, STATEMENTS),
    (EVENTS_Q, EVENTS),
    (ROLE_Q, ROLE),
    (YEAR_Q, YEAR),
    (DATE_Q, DATE),
    (re.compile(r"^(?!.*多少).*(?:哪几|哪些|有什么|都有|分别|有谁|哪[两三四五六七八九十])"), LIST),
    (QUANTITY_Q, QUANTITY),
    (PERSON_Q, PERSON),
    (PLACE_Q, PLACE),
    (re.compile(rf"(?=.*(?:哪|什么))(?:{WHICH.pattern})"), INSTANCE),
)


def _answer_type(q: str) -> str:
    """The expected answer type of a question by its question words (``_TYPE_RULES``)."""
    return next((atype for rx, atype in _TYPE_RULES if rx.search(q)), DESCRIPTION)


NOUNISH = ("n", "vn", "nz", "nt", "ns", "nr", "j", "l", "eng", "an", "ng")
SPEECH_NOUNS = frozenset({"要求", "希望", "部署", "指示", "意见", "建议", "讲话", "发言", "表态", "安排", "强调"})
_WH_TOKEN = re.compile(
    r"^(?:哪(?:一|两|三|四|五|几)?(?:个|家|所|条|座|位|项|种|类|部|支|只|批|款|些|名|间|处|届|次|场|本|篇|门)?"
    r"|什么|何种|多少|几(?:个|家|所|条|座|位|项|种|类|支|只|批|款|名|间|处|届|次|场|本|篇|门))"
)


def _focus(q: str, toks: list[tuple[str, str]]) -> str:
    """The noun after the question word: "哪个会议室" → 会议室, "什么会议" → 会议, "哪两条地铁线路"
    → 地铁线路; else the noun the question asks about ("镇长是谁" → 镇长, "县领导有哪些" →
    县领导); "" when there is none."""
    for i, (w, _f) in enumerate(toks):
        m = _WH_TOKEN.match(w)
        if not m or w in ("什么时候", "哪里", "哪儿"):
            continue
        rest = w[m.end() :]
        if rest and rest not in ("些", "里", "儿"):
            return rest  # "哪些地方" as one token
        nouns = []
        after = toks[i + 1 :]
        if after and after[0][0] in SPEECH_NOUNS:
            return after[0][0]  # "提了哪些要求" (要求 may be tagged as a verb)
        for j, (w2, f2) in enumerate(after):
            if f2 in ("m", "q", "x") and not nouns and not re.search(r"[\u4e00-\u9fff]", w2):
                continue  # 哪/两条: the numeral and measure word are not the focus
            if f2 in ("m",) and not nouns:
                continue
            if not nouns and len(w2) == 1 and w2 in "个家所条座位项种类部支只批款名间处届次场本篇门":
                continue  # 哪/所/高校: the measure word tagged apart
            if (
                f2.startswith(NOUNISH)
                and not f2.startswith("v")
                or f2 == "vn"
                or (not nouns and len(w2) == 1 and f2 in ("a", "zg", "ng", "q", "n"))
            ):
                if nouns and j + 1 < len(after) and after[j + 1][1] in ("ul", "uz", "ug"):
                    break  # "副县长通报了": the second word is the verb
                nouns.append(w2)
                if len(nouns) == 2:
                    break
                continue
            break
        if nouns and "".join(nouns) not in ("名字", "姓名", "名称", "名"):
            return "".join(nouns)
    m = re.search(
        r"([\u4e00-\u9fff]{2,8}?)(?:分别|都|还|一共|共)?(?:是谁|叫什么|是哪位|是哪些|有哪些|有谁|是哪几位|有哪几位|姓什么)",
        q,
    )
    if m is None:
        return ""
    # the nouns (whole tokens) right before the cue: "专家组组长是谁" → 专家组组长; a verb there
    # ("去洞口县开展对口支援是谁带队的") leaves no focus
    nouns, pos = [], 0
    for w, f in toks:
        if pos >= m.end(1):
            break
        if pos + len(w) > m.end(1):
            nouns = []
            break
        nouns = (
            nouns + [w]
            if w not in ("时", "时候", "期间", "时间")
            and (
                (f.startswith(NOUNISH) or f == "b")
                and (not f.startswith("v") or f == "vn")
                or (len(w) >= 2 and w.endswith(PERSON_HEADS))
            )
            and f not in ("nr", "ns", "nt")
            else []
        )  # b: 副/专职 in "副部长"; "组长/v" is a post
        pos += len(w)
    noun = "".join(nouns[-2:])
    return noun if len(noun) >= 2 else ""


def _measure_and_attribute(q: str, toks: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """("册", ["图书"]) for "赠送图书多少册": the measure word after 多少/几 and the nouns
    around it (what is counted or measured)."""
    m = re.search(r"(?:多少|几)([\u4e00-\u9fff%％]?)", q)
    measure = ""
    after_noun = ""
    if m:
        rest = q[m.end(1) :] if m.group(1) else q[m.end() :]
        measure = m.group(1)
        if measure in ("钱",):
            measure = "元"
        elif measure and measure in "万亿千百":  # "多少亿元": the unit after the multiplier
            unit = re.match(r"[\u4e00-\u9fff]?", rest[1:] if rest.startswith(measure) else rest).group(0)
            measure = unit or measure
        elif (
            measure
            and measure not in MEASURE_CHARS
            and not any(measure in cls for cls in MEASURE_CLASSES)
            and not any(f == "q" and w.startswith(measure) for w, f in toks)
        ):
            after_noun, measure = (
                measure + re.match(r"[\u4e00-\u9fff]{0,5}", rest).group(0),
                "",
            )  # "多少雨": not a measure word
            rest = ""
        # the counted noun right after the measure word: "多少名专家" → 专家
        nm = re.match(r"([\u4e00-\u9fff]{2,6}?)(?=[？?，。的是在去到了和]|$)", rest)
        if nm and not after_noun:
            after_noun = nm.group(1)
        if measure and not re.fullmatch(r"[\u4e00-\u9fff%％]", measure):
            measure = ""
    if re.search(r"多大|面积", q) and not measure:
        measure = "平方米"
    for cue, unit in (("多长时间|多久", "小时"), ("多长|多高|多远|多宽|多深", "米"), ("多重", "吨")):
        if re.search(cue, q) and not measure:
            measure = unit  # a length is in 米/公里…, a weight in 吨/公斤… (``MEASURE_CLASSES``)
    if re.search(r"比例|占比|百分之|增长了多少|下降了多少|增幅|降幅", q):
        measure = "%"
    attribute: list[str] = []
    # nouns just before 是/有/为/达 + 多少 (or before 多少): "收盘价是多少" → 收盘价
    head = re.split(r"多少|几|多大|多长|多高|多重|多远|多久", q, maxsplit=1)[0]
    pos = 0
    before: list[tuple[str, str]] = []
    for w, f in toks:
        if pos >= len(head):
            break
        before.append((w, f))
        pos += len(w)
    verb_before = False
    while before and (
        before[-1][0] in ("是", "有", "为", "达", "约", "共", "一共", "总共", "了", "达到", "大约", "约为")
        or before[-1][1] in ("x", "uj", "ul", "d", "p", "r")
    ):
        verb_before = verb_before or before[-1][0] == "了"
        before.pop()
    if verb_before:
        before = []  # "一共用了多少天": what precedes 了 is a verb, not the thing measured
    nouns = []
    # only nouns right before "(是/有) 多少": "收盘价是多少" → 收盘价; "招募多少名志愿者" has a verb there
    for w, f in reversed(before):
        if w in TIME_NOUNS:
            continue
        if (f.startswith(("n", "an")) or f in ("vn", "nz", "j", "eng")) and f not in ("nr", "ns", "nt"):
            nouns.append(w)
            if len(nouns) == 2:
                break
        else:
            break
    attribute = list(reversed(nouns))
    if after_noun:
        attribute.append(after_noun)
    return measure, [a for a in attribute if a not in HOME and a not in STOP_CONSTRAINTS]


def _constraints(q: str, toks: list[tuple[str, str]], entities: dict[str, str], focus: str) -> list[Constraint]:
    out: list[Constraint] = []
    taken: list[tuple[int, int]] = []

    def add(text: str, kind: str, core: tuple = ()) -> None:
        if not text or text in HOME or text in STOP_CONSTRAINTS or (focus and text == focus):
            return
        start = q.find(text)
        if start >= 0 and any(s <= start and start + len(text) <= e for s, e in taken):
            return  # inside a longer constraint already taken
        if start >= 0:
            taken.append((start, start + len(text)))
        out.append(Constraint(text, kind, core))

    for m in DATE_RE.finditer(q):
        add(m.group(0), "date", (int(m.group(2)), int(m.group(3)), int(m.group(1) or 0)))
    for m in MONTH_RE.finditer(q):
        if 1 <= int(m.group(2)) <= 12:
            add(m.group(0), "month", (int(m.group(2)), int(m.group(1) or 0)))
    for m in YEAR_RE.finditer(q):
        add(m.group(0), "year", (int(m.group(1)),))
    for m in NUMBERED.finditer(q):  # "2号线", "第31届", "200米", "第四次": which one is asked about
        if not DATE_RE.fullmatch(m.group(0)):
            add(m.group(0), "name")
    for m in QUOTED.finditer(q):
        if not re.fullmatch(r"[好快]", m.group(1)):
            add(m.group(1), "name")
    # known names first (longest first), then the tagger's proper nouns
    for name in sorted((e for e in entities if e in q), key=len, reverse=True):
        add(name, {"nr": "person", "ns": "place", "nt": "org"}.get(entities[name], "name"))
    # events: a noun phrase ending in an event head ("防汛工作会议", "招商引资工作推进会议")
    for head in EVENT_HEADS:
        for m in re.finditer(re.escape(head), q):
            phrase = _phrase_before(q, m.end(), toks)
            if phrase and phrase != head and len(phrase) > len(head):
                words = tuple(
                    w.removesuffix("会上")
                    for w, _ in _cut_span(phrase, toks)
                    if w not in GENERIC_EVENT_WORDS and len(w.removesuffix("会上")) >= 2
                )
                if words:
                    add(phrase, "event", words)
    for i, (w, f) in enumerate(toks):
        if w in HOME:
            continue
        if f in ("ns", "nt", "nz") and not WHICH_WORD.fullmatch(w):
            # the whole name: nouns written around the tagged word ("香炉洲大桥", "青浦区人大代表团")
            j, k = i, i + 1
            while (
                j > 0
                and toks[j - 1][1] in ("n", "nr", "ng", "j", "nz", "ns", "nt")
                and len(toks[j - 1][0]) <= 3
                and toks[j - 1][0] not in HOME
                and sum(len(t[0]) for t in toks[j - 1 : k]) <= 10
            ):
                j -= 1
            while (
                k < len(toks)
                and toks[k][1] in ("n", "ng", "j", "nz", "ns", "nt")
                and sum(len(t[0]) for t in toks[j : k + 1]) <= 10
                and not (focus and toks[k][0] in focus)
                and toks[k][0] not in ADVERBS
                and not (k + 1 < len(toks) and toks[k + 1][1] in ("ul", "uz", "ug"))
            ):
                k += 1  # not into a verb the tagger took for a noun: "青浦区|一共选派了"
            name = "".join(t[0] for t in toks[j:k])
            if len(name) >= 2:
                add(name, {"ns": "place", "nt": "org"}.get(f, "name"))
        elif f in ("nr", "nrfg") and len(w) >= 2:
            # the dictionary tags some places and bodies nr ("徐汇区", "卫健委"): the suffix tells
            add(w, "place" if w[-1] in PLACE_SUFFIX else "org" if w[-1] in ORG_SUFFIX else "person")
    # the possessor of the asked attribute ("蓝箭电子的董事长"): the tagger may split an unseen
    # name into pieces, but the thing whose attribute is asked must be in the article
    if focus:
        pos = 0
        for k, (w, _f) in enumerate(toks):
            if w == "的" and q[pos + 1 :].startswith(focus):
                j, size = k, 0
                while (
                    j > 0
                    and toks[j - 1][1].startswith(("n", "j", "eng", "b"))
                    and toks[j - 1][0] not in HOME
                    and size + len(toks[j - 1][0]) <= 10
                ):
                    j -= 1
                    size += len(toks[j][0])
                phrase = "".join(t[0] for t in toks[j:k])
                if len(phrase) >= 3 and not any(phrase in c.text or c.text in phrase for c in out):
                    add(phrase, "name")
            pos += len(w)
    # an official title written before a name or alone ("县长李晓军", "县长在…强调"): a role
    for m in re.finditer(
        r"(县委书记|县委副书记|副县长|县长|市长|副市长|书记|镇长|乡长|村支书|主任|局长|部长|主席|院长|校长|董事长|总经理)",
        q,
    ):
        if focus and m.group(1) == focus:
            continue
        out.append(Constraint(m.group(1), "role"))
    return out


def _cut_span(text: str, toks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The tokens of ``toks`` that make up ``text`` (a substring of the tokenised question)."""
    joined = "".join(w for w, _ in toks)
    start = joined.find(text)
    if start < 0:
        return [(text, "n")]
    out, pos = [], 0
    for w, f in toks:
        if pos + len(w) > start and pos < start + len(text):
            out.append((w, f))
        pos += len(w)
    return out


def _phrase_before(q: str, end: int, toks: list[tuple[str, str]]) -> str:
    """The noun phrase that ends at ``end``: tokens going left while they are nouns, verbal
    nouns or numerals, and verbs sandwiched between nouns ("招商引资工作推进会议"); it stops at
    a verb that starts the phrase ("参加…会议"), a preposition, 的 and punctuation."""
    spans = []
    pos = 0
    for w, f in toks:
        spans.append((pos, pos + len(w), w, f))
        pos += len(w)
    left = [sp for sp in spans if sp[0] < end]
    phrase = ""
    for i in range(len(left) - 1, -1, -1):
        s, e, w, f = left[i]
        if e > end:  # the head is inside a token ("推进会议")
            phrase = q[s:end]
            continue
        if w in HOME or f in ("p", "uj", "ul", "r", "x", "c", "d", "f") or w in ("在", "的", "上", "了"):
            break
        nounish = f.startswith(("n", "m", "t", "j", "l", "b", "a")) or f in ("vn", "eng")
        if not nounish:
            prev = left[i - 1] if i > 0 else None
            if not (
                f.startswith("v")
                and len(w) >= 2
                and phrase
                and prev
                and (prev[3].startswith(("n", "j", "l")) or prev[3] == "vn")
            ):
                break
        phrase = w + phrase
    return phrase
