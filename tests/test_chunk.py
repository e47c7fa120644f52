"""Tests for rag.chunk on the real seed corpus and on random Chinese-like text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunk import NO_START, chunk_article, chunk_articles, split_sentences
from rag.types import Article, Chunk, stable_id

SEED = Path(__file__).resolve().parents[1] / "corpus" / "绛县新闻-2024年4-5月.txt"


def seed_articles() -> list[Article]:
    """Articles of the seed file, one per ``#`` heading (a stand-in independent of rag.parse)."""
    parts = re.split(r"^#+ (.+)$", SEED.read_text(encoding="utf-8"), flags=re.M)
    pairs = zip(parts[1::2], parts[2::2])
    return [
        Article(id=stable_id(body.strip()), title=title.strip(), text=body.strip(), source=SEED.name)
        for title, body in pairs
    ]


def make_article(text: str) -> Article:
    return Article(id=stable_id(text), title="标题", text=text, date="2024-05-01", author="记者", source="t.txt")


def check_chunks(article: Article, chunks: list[Chunk], max_chars: int, overlap: int) -> None:
    """The properties every chunking must have."""
    text = article.text
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert 0 < len(c.text) <= max_chars
        assert text[c.start : c.end] == c.text
        assert c.text[0] not in NO_START and not c.text[0].isspace() and not c.text[-1].isspace()
        assert (c.article_id, c.title, c.date, c.author, c.source) == (
            article.id,
            article.title,
            article.date,
            article.author,
            article.source,
        )
        assert c.id == stable_id(article.id, str(c.start), str(c.end))
    for a, b in zip(chunks, chunks[1:]):
        assert a.start < b.start and a.end < b.end  # in order, no duplicates
        if overlap == 0:
            assert a.end <= b.start
    assert len({c.id for c in chunks}) == len(chunks)

    # coverage: only NO_START marks that could start no piece may be left out
    covered = [False] * len(text)
    for c in chunks:
        covered[c.start : c.end] = [True] * (c.end - c.start)
    missed = {ch for ch, cov in zip(text, covered) if not cov and not ch.isspace()}
    assert missed <= set(NO_START)
    first = text.strip()[:1]
    long_run = re.search(f"[{re.escape(NO_START)}\\s]{{{max_chars - 1},}}", text)
    if first not in NO_START and not long_run:
        assert not missed

    # a sentence is cut only when it alone is longer than max_chars
    for s, e in split_sentences(text):
        if e - s <= max_chars:
            assert any(c.start <= s and e <= c.end for c in chunks), text[s:e]


# ---- split_sentences -------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_closing_quote_stays_with_its_sentence():
    assert sentences("他说：“好。”然后") == ["他说：“好。”", "然后"]
    assert sentences("「走吧！」（他笑了。）《完》") == ["「走吧！」", "（他笑了。）", "《完》"]


def test_runs_of_final_marks_stay_together():
    assert sentences("等等……真的？！是的。") == ["等等……", "真的？！", "是的。"]


def test_line_breaks_split_and_whitespace_is_trimmed():
    text = "  第一行没有句号\n\n  第二行。 \n \n"
    assert sentences(text) == ["第一行没有句号", "第二行。"]
    assert split_sentences("") == [] and split_sentences(" \n\u3000\n") == []


def test_leading_marks_go_to_the_previous_sentence():
    assert sentences("要加强工作\n\n，统筹发力。”好") == ["要加强工作\n\n，", "统筹发力。”", "好"]
    assert sentences("。，开头的标点不成句。") == ["开头的标点不成句。"]


def test_web_addresses_are_never_cut():
    """A "?" or ";" inside a URL ends no sentence (it used to give "u=staff)负责运营维护。" as a
    sentence of its own); one at the end of an address still ends its sentence."""
    link = "[县医保中心信息科](http://ybj.example.cn/page.html?u=staff&id=3)"
    assert sentences(f"平台由{link}负责运营维护。其他内容。") == [f"平台由{link}负责运营维护。", "其他内容。"]
    assert sentences("详见www.example.cn/a;b?c=1！下一句") == ["详见www.example.cn/a;b?c=1！", "下一句"]
    assert sentences("网址是http://a.cn?对吗？是的") == ["网址是http://a.cn?", "对吗？", "是的"]
    image = "![二维码](http://a.cn/qr.png)"  # the "!" of a Markdown image ends nothing
    assert sentences(f"群众扫描{image}即可办理。好！") == [f"群众扫描{image}即可办理。", "好！"]
    assert sentences(f"群众扫描！{image[1:]}即可办理。") == [f"群众扫描！{image[1:]}即可办理。"]
    # a sentence too long for a chunk is cut at commas, never at the comma inside an address
    url = "https://x.cn/q?a=1,2,3,4,5"
    text = "一" * 15 + "，" + url + "一" * 15 + "。"
    pieces = [c.text for c in chunk_article(make_article(text), max_chars=50, overlap_sentences=0)]
    assert any(url in p for p in pieces), pieces


def test_seed_sentences_cover_the_text():
    text = SEED.read_text(encoding="utf-8")
    spans = split_sentences(text)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    joined = "".join(text[s:e] for s, e in spans)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", text)


# ---- chunk_article on the seed corpus --------------------------------------------


@pytest.mark.parametrize("max_chars,overlap", [(300, 1), (120, 1), (60, 0), (20, 2), (1000, 3)])
def test_seed_corpus_properties(max_chars, overlap):
    articles = seed_articles()
    assert len(articles) >= 5
    for article in articles:
        chunks = chunk_article(article, max_chars=max_chars, overlap_sentences=overlap)
        assert chunks
        check_chunks(article, chunks, max_chars, overlap)
        assert all(c.text.strip() for c in chunks)


def test_seed_chunks_keep_paragraph_breaks_and_cover_everything():
    article = seed_articles()[0]
    chunks = chunk_article(article, max_chars=300, overlap_sentences=1)
    assert any("\n\n" in c.text for c in chunks)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(article.text) if not ch.isspace())


def test_ids_are_stable_across_runs_and_distinct():
    articles = seed_articles()
    first = [c.id for c in chunk_articles(articles, max_chars=120)]
    again = [c.id for c in chunk_articles(seed_articles(), max_chars=120)]
    assert first == again
    assert len(set(first)) == len(first)


def test_chunk_articles_chains_articles_in_order():
    articles = seed_articles()[:3]
    chunks = list(chunk_articles(articles, max_chars=200, overlap_sentences=0))
    expected = [c for a in articles for c in chunk_article(a, max_chars=200, overlap_sentences=0)]
    assert chunks == expected


# ---- overlap -----------------------------------------------------------------------


def test_short_sentences_overlap_by_one_sentence():
    text = "".join(f"第{i}句话很短。" for i in range(40))  # each sentence is 6 or 7 characters
    chunks = chunk_article(make_article(text), max_chars=50, overlap_sentences=1)
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:]):
        last = sentences(a.text)[-1]
        assert b.text.startswith(last) and b.start == a.end - len(last)
    check_chunks(make_article(text), chunks, 50, 1)


def test_overlap_zero_and_two():
    text = "".join(f"第{i}句话很短。" for i in range(40))
    no_overlap = chunk_article(make_article(text), max_chars=50, overlap_sentences=0)
    assert "".join(c.text for c in no_overlap) == text
    two = chunk_article(make_article(text), max_chars=50, overlap_sentences=2)
    for a, b in zip(two, two[1:]):
        assert b.text.startswith("".join(sentences(a.text)[-2:]))


def test_overlap_larger_than_a_chunk_still_terminates():
    text = "".join(f"第{i}句话。" for i in range(100))
    chunks = chunk_article(make_article(text), max_chars=20, overlap_sentences=50)
    check_chunks(make_article(text), chunks, 20, 50)
    assert chunks[-1].end == len(text)


def test_overlap_shrinks_when_no_room_for_a_new_sentence():
    a, b, c = "甲" * 14 + "。", "乙" * 14 + "。", "丙" * 5 + "。"
    chunks = chunk_article(make_article(a + b + c), max_chars=25, overlap_sentences=1)
    assert [ch.text for ch in chunks] == [a, b + c]


# ---- long sentences --------------------------------------------------------------


def test_900_character_sentence_is_cut_at_commas():
    clauses = [f"第{i:02d}项工作要" + "抓" * 17 + "," for i in range(36)]  # 25 characters each
    sentence = "".join(clauses)[:-1] + "。"
    assert len(sentence) == 900
    text = "开头一句。" + sentence + "结尾一句。"
    chunks = chunk_article(make_article(text), max_chars=100, overlap_sentences=0)
    check_chunks(make_article(text), chunks, 100, 0)
    pieces = [c.text for c in chunks if c.text not in ("开头一句。", "结尾一句。")]
    for piece in pieces:
        assert piece.endswith((",", "。")), piece  # never cut mid-clause
        assert len(piece) == 100  # as many clauses as fit: exactly 4
    assert "".join(c.text for c in chunks) == text


def test_chinese_commas_and_closers_stay_at_the_end_of_a_piece():
    clause = "要坚持“两个毫不动摇”，"  # 12 characters
    sentence = clause * 10 + "促进“两个健康”。"
    chunks = chunk_article(make_article(sentence), max_chars=40, overlap_sentences=0)
    assert [c.text for c in chunks[:-1]] == [clause * 3] * 3
    check_chunks(make_article(sentence), chunks, 40, 0)


def test_clause_longer_than_max_chars_is_hard_cut():
    text = "短句，" + "长" * 50 + "，" + "尾" * 5 + "。"
    chunks = chunk_article(make_article(text), max_chars=20, overlap_sentences=0)
    # the short clause is not glued to a fragment; the remainder of the long clause packs with the next one
    assert [c.text for c in chunks] == ["短句，", "长" * 20, "长" * 20, "长" * 10 + "，" + "尾" * 5 + "。"]


def test_hard_cut_moves_back_so_no_piece_starts_with_a_mark():
    text = "长" * 19 + "，，，" + "尾" * 30
    chunks = chunk_article(make_article(text), max_chars=20, overlap_sentences=0)
    check_chunks(make_article(text), chunks, 20, 0)
    assert [c.text for c in chunks] == ["长" * 18, "长，，，", "尾" * 20, "尾" * 10]


def test_a_run_of_marks_longer_than_max_chars_is_dropped_where_it_would_start_a_chunk():
    text = "长" + "，" * 30 + "尾。"
    chunks = chunk_article(make_article(text), max_chars=20, overlap_sentences=0)
    assert [c.text for c in chunks] == ["长" + "，" * 19, "尾。"]
    check_chunks(make_article(text), chunks, 20, 0)


def test_empty_and_blank_articles_give_no_chunks():
    assert chunk_article(make_article("")) == []
    assert chunk_article(make_article(" \n\n\u3000 ")) == []
    assert chunk_article(make_article("。，\n")) == []


@pytest.mark.parametrize("kw", [{"max_chars": 19}, {"max_chars": 0}, {"overlap_sentences": -1}])
def test_bad_arguments_raise_value_error(kw):
    with pytest.raises(ValueError):
        chunk_article(make_article("一句话。"), **kw)
    with pytest.raises(ValueError):
        chunk_articles([make_article("一句话。")], **kw)


# ---- properties on random Chinese-like text -----------------------------------------

HAN = "县委书记解芳出席会议并讲话经济运行分析"
MARKS = "。！？；…，、“”「」（）：,;!?"
SEPARATORS = [*MARKS, "……", "？！", "。”", "，“", "\n", "\n\n", " ", "\u3000"]
# runs of Han characters (up to 40) between marks, so sentences and clauses are often longer than max_chars
chinese_like = st.lists(
    st.one_of(st.text(alphabet=HAN, min_size=1, max_size=40), st.sampled_from(SEPARATORS)), max_size=40
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=chinese_like, max_chars=st.integers(20, 80), overlap=st.integers(0, 3))
def test_chunk_properties_on_random_text(text, max_chars, overlap):
    article = make_article(text)
    chunks = chunk_article(article, max_chars=max_chars, overlap_sentences=overlap)
    check_chunks(article, chunks, max_chars, overlap)
    assert chunk_article(article, max_chars=max_chars, overlap_sentences=overlap) == chunks


@settings(max_examples=300, deadline=None)
@given(text=chinese_like)
def test_sentence_properties_on_random_text(text):
    spans = split_sentences(text)
    for (s, e), nxt in zip(spans, spans[1:] + [(len(text), len(text))]):
        assert s < e <= nxt[0]
        sentence = text[s:e]
        assert sentence == sentence.strip() and sentence[0] not in NO_START
        # "……" and closing quotes after a final mark are never split off
        assert not (text[e - 1] == "…" and e < len(text) and text[e] == "…")
        if e < len(text) and text[e - 1] in "。！？；…":
            assert text[e] not in "”）」"
