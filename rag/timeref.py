"""Relative dates in questions (今年, 去年, 上半年, 上个月, 本周, 近期…) resolved against "today".

``resolve(question, today)`` finds the first relative time expression of a (normalised,
standalone) question and returns a ``Period``: the date range it names, used by the pipeline as
a retrieval filter for the question without the expression (``searched``: "一季度经济运行分析会由
谁主持？"); a label for staff ("2025年"); and the question with the period written out
(``shown``: "2025年一季度经济运行分析会由谁主持？", the answer's ``standalone_question``). The
year is not searched as a word: it would match any article that names it.

What each expression means (``today`` = 2026-12-02, a Wednesday):

==========================================  =========================================  ===========
expression                                  range                                      shown as
==========================================  =========================================  ===========
今年 / 去年 / 前年 / 大前年                     that calendar year                          2026年 / 2025年…
(今年/去年…)上半年 · 下半年; 上半年 alone          January–June · July–December of that year     2026年上半年
(去年)一季度…四季度                              the whole year: a quarter's review meeting
                                            is held, and reported, after the quarter     2025年一季度
上个月 / 上月 · 本月 / 这个月                      that calendar month                         2026年11月
上周 / 上星期 · 本周 / 这周                        Monday–Sunday of that week                   (removed)
今天 · 昨天 · 前天                                that day                                    2026年12月2日
近期 / 最近 / 近来 / 近日 / 这段时间                 the last ``RECENT_DAYS`` days                 (removed)
近三个月 / 最近两周 / 过去一年 / 近10天              the last N months / weeks / years / days       (removed)
==========================================  =========================================  ===========

A range never ends after ``today`` (an archive re-asked "as of" an old day holds nothing
later). Not periods: comparisons ("比去年", "去年同期"), ages ("今年多大"), "最近一次/一期" (the
most recent one, whatever its date).

Reports about a past period are often published after it ("去年村集体经济收入" in this year's
report): ``Period.since`` widens the range to ``[date_from, today]`` for a second search when
the strict range holds no answer.

Date arithmetic is the standard library's ``datetime`` plus ``dateutil.relativedelta``
(calendar months); Chinese numerals ("近三个月") go through ``cn2an``. jionlp's ``parse_time``
was measured as the alternative and not used: 0.9 s to import (and a banner on stdout), 160 ms
for its first call, and it rejects 上个月, 本月, 这个月, 近期 and 最近, the words staff use most.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from dateutil.relativedelta import relativedelta

from .errors import QuestionError

RECENT_DAYS = 90  # 近期/最近: about three months, how county bulletins use "近期工作"

_YEAR_WORDS = {"大前年": -3, "前年": -2, "去年": -1, "今年": 0}
_NUM = r"[0-9一二两三四五六七八九十]{1,3}"
_UNIT_DAYS = {"天": 1, "日": 1, "周": 7, "个星期": 7, "星期": 7}
_MONTHS = {"个月": 1, "月": 1, "年": 12}

# one alternation, longest forms first; the named group says which kind matched
PATTERN = re.compile(
    r"(?P<ago>(?:最近|近|过去)(?P<n>" + _NUM + r")(?P<unit>个星期|星期|个月|天|日|周|月|年))"
    r"|(?P<year>大前年|前年|去年|今年)(?P<half>上半年|下半年)?(?:以来)?"
    r"|(?<![年\d])(?P<bare_half>上半年|下半年)"
    r"|(?P<prev_month>上个月|上月)|(?P<this_month>本月|这个月|这月|当月)"
    r"|(?P<prev_week>上周|上星期|上个星期|上礼拜)|(?P<this_week>本周|这周|这个星期|这星期|本星期)"
    r"|(?P<day>今天|昨天|前天)"
    r"|(?P<recent>近期|最近|近来|近日|近段时间|这段时间)"
)
_KINDS = ("ago", "year", "bare_half", "prev_month", "this_month", "prev_week", "this_week", "day", "recent")
# matches that are not periods: comparisons, the same period of another year, ages, "the latest one"
_NOT_PERIOD_BEFORE = re.compile(r"[比较与同跟和]$")
_NOT_PERIOD_AFTER = re.compile(r"^(?:同期|同比|相比|比|多大|几岁|\d+岁|的?一[次期场届个篇]|一段)")


@dataclass(frozen=True)
class Period:
    """A date range named by a relative expression of a question.

    text: the question it was found in; expression: the words as written ("去年"); start / end:
        their character offsets in ``text``.
    date_from / date_to: the range, inclusive (``date_to`` is never after ``as_of``).
    label: how staff read it ("2025年", "2026年11月", "2026年11月23日至29日" for weeks and recent
        windows).
    written: the expression written out ("2025年", "2026年2月"; "" for weeks and recent windows,
        which no article writes as such).
    as_of: the day the expression was resolved against.
    since: a past period: reports published after it may be about it (see ``widened``).
    """

    text: str
    expression: str
    start: int
    end: int
    date_from: dt.date
    date_to: dt.date
    label: str
    written: str
    as_of: dt.date
    since: bool = False

    @property
    def shown(self) -> str:
        """The question with the period written out ("2025年一季度经济运行分析会由谁主持？"):
        ``Answer.standalone_question``, and what a search among later reports asks (the year is
        then checked in the text)."""
        return self._with(self.written)

    @property
    def searched(self) -> str:
        """The question without the period ("一季度经济运行分析会由谁主持？"), searched within the
        range: a written-out year would match any article naming that year ("2024年招商引资…")."""
        return self._with("")

    def _with(self, middle: str) -> str:
        head, tail = self.text[: self.start], self.text[self.end :]
        if not middle:  # a dangling "的" or comma goes too
            tail = tail.removeprefix("的") if not head or head[-1] in "，," else tail
            head = head.rstrip("，, ")
        return head + middle + tail

    def widened(self) -> Period:
        """The same period with ``date_to`` moved to ``as_of`` (reports published since)."""
        return replace(self, date_to=self.as_of, since=False)

    def to_dict(self) -> dict:
        """``{"expression", "label", "date_from", "date_to", "as_of"}`` (ISO dates), as in
        ``Answer.period``."""
        return {
            "expression": self.expression,
            "label": self.label,
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "as_of": self.as_of.isoformat(),
        }


def parse_day(value: str | dt.date | None) -> dt.date | None:
    """``"2026-03-18"`` → a date; a date is returned as is; None or "" → None.

    raises QuestionError(bad_date, 422): not a real ``YYYY-MM-DD`` day (Chinese message).
    """
    if value is None or isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise QuestionError(f"日期格式应为 YYYY-MM-DD 且是真实日期：{text!r}", code="bad_date") from None


def day_label(d: dt.date) -> str:
    """``2025-04-28`` → "2025年4月28日"."""
    return f"{d.year}年{d.month}月{d.day}日"


def range_label(a: dt.date, b: dt.date) -> str:
    """ "2026年11月23日至29日", "2026年11月30日至12月6日", "2025年12月1日至2026年1月6日"."""
    if a == b:
        return day_label(a)
    if a.year != b.year:
        return f"{day_label(a)}至{day_label(b)}"
    return f"{day_label(a)}至{b.day}日" if a.month == b.month else f"{day_label(a)}至{b.month}月{b.day}日"


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    import cn2an

    try:
        return int(cn2an.cn2an(text.replace("两", "二"), "smart"))
    except (ValueError, KeyError):
        return None


def resolve(text: str, today: dt.date) -> Period | None:
    """The first relative time expression of ``text`` as a ``Period`` against ``today``, or
    None when the text has none (see the module docstring for what each expression means)."""
    for m in PATTERN.finditer(text):
        if _NOT_PERIOD_BEFORE.search(text[: m.start()]) or _NOT_PERIOD_AFTER.match(text[m.end() :]):
            continue
        p = _period(m, today)
        if p is not None:
            return p
    return None


def _period(m: re.Match, today: dt.date) -> Period | None:
    kind = next(k for k in _KINDS if m.group(k))
    y = today.year
    since = False
    if kind in ("year", "bare_half"):
        year = y + _YEAR_WORDS[m.group("year")] if kind == "year" else y
        half = m.group("half") if kind == "year" else m.group("bare_half")
        a, b = dt.date(year, 1, 1), dt.date(year, 12, 31)
        if half == "上半年":
            b = dt.date(year, 6, 30)
        elif half == "下半年":
            a = dt.date(year, 7, 1)
        label = f"{year}年{half or ''}"
        written = label + ("以来" if m.group(0).endswith("以来") else "")
        since = b < today
    elif kind in ("prev_month", "this_month"):
        first = today.replace(day=1) - relativedelta(months=1 if kind == "prev_month" else 0)
        a, b = first, first + relativedelta(months=1, days=-1)
        label = written = f"{a.year}年{a.month}月"
        since = kind == "prev_month"
    elif kind in ("prev_week", "this_week"):
        a = today - dt.timedelta(days=today.weekday() + (7 if kind == "prev_week" else 0))
        b = a + dt.timedelta(days=6)
        label, written = range_label(a, min(b, today)), ""
        since = kind == "prev_week"
    elif kind == "day":
        a = b = today - dt.timedelta(days={"今天": 0, "昨天": 1, "前天": 2}[m.group("day")])
        label = written = day_label(a)
        since = a < today
    else:
        if kind == "ago":
            n = _number(m.group("n"))
            if not n:
                return None
            unit = m.group("unit")
            a = (
                today - relativedelta(months=n * _MONTHS[unit]) + dt.timedelta(days=1)
                if unit in _MONTHS
                else today - dt.timedelta(days=n * _UNIT_DAYS[unit] - 1)
            )
        else:
            a = today - dt.timedelta(days=RECENT_DAYS - 1)
        b = today
        label, written = range_label(a, b), ""
    return Period(m.string, m.group(0), m.start(), m.end(), a, min(b, today), label, written, today, since)


# -- the period in a question's answer -----------------------------------------------------------
NOTE = "（按{label}检索）"
SINCE_NOTE = "（按{label}及以后的报道检索）"


def within(filters, period: Period):
    """``filters`` (a ``rag.retrieve.Filters`` or None) narrowed to ``period``: the
    intersection of their date ranges, author and source kept. Returns None when the two
    ranges do not meet (nothing can match)."""
    from .retrieve import Filters

    f = filters or Filters()
    lo = max(period.date_from.isoformat(), f.date_from or "")
    hi = min(period.date_to.isoformat(), f.date_to or "9999-12-31")
    return Filters(date_from=lo, date_to=hi, author=f.author, source=f.source) if lo <= hi else None


def settle(answer, period: Period, question: str, filters, search, answerer, checker, event_phrase):
    """The answer to a question about ``period``, saying which period was searched.

    answer: the answerer's ``Answer`` to ``period.searched`` on the passages within the period.
    question: the question as asked. filters: the request's own filters (without the period).
    search: ``(query, filters or None) → passages`` (``HybridRetriever.retrieve`` at the
        request's depth); answerer: the pipeline's answerer; checker: the extractive answerer,
        asked about single articles; event_phrase: text → the event it names, or None
        (``rag.answer.condense.event_phrase``).
    Returns, in this order: the answer with ``NOTE`` appended when it answers, or cites an
    article within the period about the event asked (an event named in the question must be in
    the cited title or quote); for a past period that is not an event's ("会上谁通报了去年的招商
    情况？": figures about a period are reported after it, events when they happen), the answer
    to ``period.shown`` (its year checked in the text), else to ``period.searched`` (a later
    report writes 去年…), from the reports published since (``SINCE_NOTE``); else an abstention
    naming the period and, when the archive holds one, the most recent matching report outside
    it, cited: "档案中没有2026年一季度经济运行分析会的报道；最近一次是2025年4月28日。[1]" for an event,
    "在2026年3月的报道中没有找到能回答这个问题的内容；最近的相关报道是…的《…》。[1]" otherwise (the
    period may hold reports the answerer could not answer from).
    ``standalone_question`` is ``period.shown`` and ``period`` is set in every case.
    """
    answer.period = period.to_dict()
    answer.standalone_question = period.shown
    named = event_phrase(period.searched)
    # an abstention citing an article of the period counts only if that article is about the event asked
    if not answer.abstained or any(not named or named in c.title + c.quote for c in answer.citations):
        return _noted(answer, NOTE.format(label=period.label))
    topic = event_phrase(period.shown)
    of_event = bool(period.written and topic and period.written in topic)
    of_event = of_event or bool(re.search(r"(?:哪些|什么|哪次|几次)(?:会议|活动|会)", period.searched))
    wide = within(filters, period.widened()) if period.since and not of_event else None
    # the year written in ("2023年的招商情况" in a 2024 report), then as the later report may say it (去年…)
    for asked in (period.shown, period.searched) if wide is not None else ():
        again = answerer.answer(question, asked, search(asked, wide))
        if not again.abstained:
            again.timings_ms = {**answer.timings_ms, **again.timings_ms}
            again.period, again.standalone_question = answer.period, period.shown
            return _noted(again, SINCE_NOTE.format(label=period.label))
    latest = _latest_outside(question, period, search(period.searched, filters), checker)
    if topic and period.label not in topic:
        topic = period.label + topic
    if latest is None:
        text = f"档案中没有{topic}的报道。" if topic else f"在{period.label}的报道中没有找到能回答这个问题的内容。"
        return replace(answer, text=text, citations=[])
    cite = replace(latest, n=1)
    when = day_label(parse_day(cite.date))
    if topic:
        text = f"档案中没有{topic}的报道；最近一次是{when}。[1]"
    else:
        text = f"在{period.label}的报道中没有找到能回答这个问题的内容；最近的相关报道是{when}的《{cite.title}》。[1]"
    return replace(answer, text=text, citations=[cite])


def _noted(answer, note: str):
    answer.text = answer.text.rstrip() + note
    return answer


def _latest_outside(question: str, period: Period, passages, checker):
    """The first citation of the most recent article outside ``period`` (dated no later than
    its ``as_of``) that the checker answers ``period.searched`` from, or cites as holding the
    subject; None when no retrieved article does."""
    lo, hi, now = period.date_from.isoformat(), period.date_to.isoformat(), period.as_of.isoformat()
    by_article: dict[str, list] = {}
    for p in passages:
        d = p.chunk.date
        if d and not (lo <= d <= hi) and d <= now:
            by_article.setdefault(p.chunk.article_id, []).append(p)
    for group in sorted(by_article.values(), key=lambda g: g[0].chunk.date, reverse=True):
        got = checker.answer(question, period.searched, group)
        if got.citations:
            return got.citations[0]
    return None
