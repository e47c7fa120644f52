"""One citation per article (``rag.answer.citations``), for every answerer: the grouping on
made-up answers, the issue's example on the seed archive (extractive), an LLM answer that
cites two passages of one article (streamed and whole), and one line per point."""

from __future__ import annotations

import re

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from rag.answer.citations import answer_lines, group_citations
from rag.answer.llm import LLMAnswerer
from rag.types import Answer, Citation, ScoredChunk

ARTICLE = "本报讯 4月29日，我县召开分析会。解芳指出，要稳增长。要防风险。\n\n李晓军要求，要抓项目。会议结束。"


def _cit(n: int, article_id: str, start: int, end: int, passage: tuple[int, int], *, hl=None) -> Citation:
    ps, pe = passage
    return Citation(
        n=n,
        article_id=article_id,
        title=f"标题{article_id}",
        date="2024-04-29",
        author="张倩倩",
        source="a.txt",
        chunk_id=f"c{ps}",
        start=start,
        end=end,
        quote=ARTICLE[start:end],
        score=0.01 * n,
        passage=ARTICLE[ps:pe],
        passage_start=ps,
        passage_end=pe,
        highlights=[[s, e] for s, e in (hl or [(start, end)])],
    )


def _span(text: str) -> tuple[int, int]:
    i = ARTICLE.index(text)
    return i, i + len(text)


def test_citations_of_one_article_get_one_number_with_every_quote():
    s1, s2, s3, s4 = (_span(t) for t in ("解芳指出，要稳增长。", "要防风险。", "李晓军要求，要抓项目。", "会议结束。"))
    p1, p2 = (0, s2[1]), (s3[0], len(ARTICLE))
    cits = [
        _cit(1, "A", *s1, p1),
        _cit(2, "B", 0, 5, (0, 5)),
        _cit(3, "A", *s2, p1),
        _cit(4, "A", s3[0], s4[1], p2, hl=[s3, s4]),
    ]
    text = "解芳指出，要稳增长。[1]别的文章。[2]要防风险。[3][1]李晓军要求，要抓项目。[4]会议结束。[4][9]"
    ans = Answer("问", "问", text, False, cits, {"answer_ms": 1.0})
    out = group_citations(ans)
    assert out.text == "解芳指出，要稳增长。[1]别的文章。[2]要防风险。[1]李晓军要求，要抓项目。[1]会议结束。[1][9]"
    assert [(c.n, c.article_id) for c in out.citations] == [(1, "A"), (2, "B")]
    a = out.citations[0]
    assert [(q["start"], q["end"]) for q in a.quotes] == [s1, s2, s3, s4]
    assert all(q["text"] == ARTICLE[q["start"] : q["end"]] for q in a.quotes)
    assert a.quote == "解芳指出，要稳增长。要防风险。……李晓军要求，要抓项目。会议结束。"  # s1/s2 and s3/s4 touch
    assert a.highlights == [list(s) for s in (s1, s2, s3, s4)] and (a.start, a.end) == (s1[0], s4[1])
    assert [(p["start"], p["end"]) for p in a.passages] == [p1, p2]
    assert (a.passage, a.passage_start, a.passage_end) == (ARTICLE[: p1[1]], *p1)
    assert a.score == 0.04 and a.chunk_id == "c0"
    assert ans.text == text and len(ans.citations) == 4  # the input is left as it was
    assert group_citations(out).to_dict() == out.to_dict()  # grouping twice changes nothing


def test_overlapping_passages_and_quotes_merge_and_uncited_articles_follow():
    s1 = _span("解芳指出，要稳增长。")
    cits = [
        _cit(1, "B", 0, 5, (0, 5)),
        _cit(2, "A", *s1, (0, s1[1])),
        _cit(3, "A", s1[0], s1[1] + 3, (s1[0], s1[1] + 5)),
    ]
    out = group_citations(Answer("问", "问", "甲。[2][3]", False, cits))
    assert out.text == "甲。[1]"  # [1][1] side by side after renumbering: one marker
    assert [(c.n, c.article_id) for c in out.citations] == [(1, "A"), (2, "B")]
    a = out.citations[0]
    assert [(q["start"], q["end"]) for q in a.quotes] == [(s1[0], s1[1] + 3)]
    assert a.passages == [{"start": 0, "end": s1[1] + 5, "text": ARTICLE[: s1[1] + 5]}]
    assert group_citations(Answer("问", "问", "没有", True)).citations == []


def test_answer_lines_one_point_per_line():
    assert answer_lines("王辨明。[1]……县政府办主任王辨明主持会议。[1]") == [
        "王辨明。[1]",
        "……县政府办主任王辨明主持会议。[1]",
    ]
    assert answer_lines("报道有：《甲》（2024-05-10）[1]；《乙》（2024-05-07）[2]。") == [
        "报道有：《甲》（2024-05-10）[1]；",
        "《乙》（2024-05-07）[2]。",
    ]
    assert answer_lines("要稳增长。[1][2] 要防风险。[2]") == ["要稳增长。[1][2]", "要防风险。[2]"]
    assert answer_lines("档案中没有找到能回答这个问题的内容。") == ["档案中没有找到能回答这个问题的内容。"]
    assert answer_lines("") == []


def test_the_issue_example_cites_its_article_once(seed_pipeline):
    """Issue #23: "县领导在会上提出了哪些要求？" quoted four passages of one article as [1]–[4].
    Asked here of a speaker's points (the learned answer step answers that question with one
    requirement sentence), which quote several sentences of one article."""
    ans = seed_pipeline.ask("县长在招商引资工作推进会议上强调了什么？")
    titles = [c.title for c in ans.citations]
    assert len(titles) == len(set(titles)) and titles[0] == "我县召开2024年招商引资工作推进会议"
    assert len(ans.citations[0].quotes) >= 3
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", ans.text)]
    assert sorted(set(markers)) == list(range(1, len(ans.citations) + 1)) and markers[0] == 1
    assert len(answer_lines(ans.text)) >= 4  # one line per point
    # the streamed pieces add up to the final, grouped text
    items = list(seed_pipeline.ask_stream("县长在招商引资工作推进会议上强调了什么？"))
    assert "".join(items[:-1]) == items[-1].text == ans.text


def test_an_llm_citing_two_passages_of_one_article_streams_one_number(seed_pipeline, monkeypatch):
    """Two passages of one article (not adjacent, so retrieval keeps them apart) are sources
    [1] and [3] of the prompt; the model cites both: one number, streamed and whole."""
    q = "李晓军调研农业农村工作时强调了什么？"
    farm = sorted(seed_pipeline.store.chunks_where({"title": "李晓军调研农业农村工作"}), key=lambda c: c.index)
    other = seed_pipeline.store.chunks_where({"title": "我县召开一季度经济运行分析会"})[0]
    assert len(farm) >= 3
    ps = [ScoredChunk(farm[0], 0.03), ScoredChunk(other, 0.02), ScoredChunk(farm[-1], 0.01)]
    monkeypatch.setattr(seed_pipeline.retriever, "retrieve", lambda *a, **kw: list(ps))
    first = next(s for s in re.split(r"(?<=[。；])", farm[0].text) if len(s) > 15)
    second = next(s for s in re.split(r"(?<=[。；])", farm[-1].text) if len(s) > 15 and s not in farm[0].text)
    draft = f"{first}[1]\n{second}[3]"

    def answerer():
        model = GenericFakeChatModel(messages=iter([AIMessage(draft)]))
        return LLMAnswerer(
            model, fallback=seed_pipeline.extractive, tokenize=seed_pipeline.tokenizer.tokenize, context_tokens=32768
        )

    monkeypatch.setattr(seed_pipeline, "answerer", answerer())
    whole = seed_pipeline.ask(q)
    assert not whole.notice and not whole.abstained, (whole.notice, whole.text)
    assert whole.text.count("[1]") == 2 and "[2]" not in whole.text and "[3]" not in whole.text
    (c,) = whole.citations
    assert c.title == "李晓军调研农业农村工作" and len(c.passages) == 2 and len(c.quotes) == 2
    monkeypatch.setattr(seed_pipeline, "answerer", answerer())
    items = list(seed_pipeline.ask_stream(q))
    streamed, final = "".join(items[:-1]), items[-1]
    assert len(items) >= 3 and final.text.startswith(streamed) and "[3]" not in streamed
    assert final.text == whole.text
