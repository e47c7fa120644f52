"""rag.keyword on the seed corpus, with real jieba and real bm25s (offline, no fakes)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from rag.keyword import (
    STOPWORDS_PATH,
    BM25Index,
    Tokenizer,
    _load_stopwords,
    gather_user_words,
    load_user_dict,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "绛县新闻-2024年4-5月.txt"
DICT = ROOT / "corpus" / "dict.txt"
BYLINES = ["张倩倩", "秦佳凤", "刘岚涛"]


def _paragraphs() -> list[tuple[str, str]]:
    """(article title, paragraph) for every non-empty paragraph of the seed file."""
    out, title = [], ""
    for para in re.split(r"\n\s*\n", SEED.read_text(encoding="utf-8")):
        para = para.strip()
        if not para:
            continue
        if para.startswith("#"):
            title = para.lstrip("# ").strip()
        out.append((title, para))
    return out


@pytest.fixture(scope="module")
def paras() -> list[tuple[str, str]]:
    return _paragraphs()


@pytest.fixture(scope="module")
def tok(paras) -> Tokenizer:
    words = gather_user_words([p for _, p in paras], authors=BYLINES)
    return Tokenizer(words, dict_path=DICT)


@pytest.fixture(scope="module")
def index(paras, tok) -> BM25Index:
    ids = [f"p{i}" for i in range(len(paras))]
    return BM25Index.build(ids, tok.tokenize_many([p for _, p in paras]))


def _text(paras, doc_id: str) -> str:
    return paras[int(doc_id[1:])][1]


def _title(paras, doc_id: str) -> str:
    return paras[int(doc_id[1:])][0]


def _search(tok, index, query, k=5, allowed=None):
    return index.search(tok.tokenize(query), k, allowed=allowed)


# ----------------------------------------------------------------------------- ranking


def test_zhaoshang_query_ranks_the_2024_meeting_first(tok, index, paras):
    hits = _search(tok, index, "招商引资")
    assert hits, "no hit for 招商引资"
    assert _title(paras, hits[0][0]) == "我县召开2024年招商引资工作推进会议"
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_person_and_verb_query_hits(tok, index, paras):
    hits = _search(tok, index, "李晓军 调研")
    assert hits
    top = _text(paras, hits[0][0])
    assert "李晓军" in top and "调研" in top


def test_local_company_is_one_token_and_found(tok, index, paras):
    assert "绛山种业" in tok.tokenize("绛山种业")
    assert "绛山种业" in tok.tokenize("李晓军还前往绛山种业参观了生产车间")
    hits = _search(tok, index, "绛山种业")
    assert hits and "绛山种业" in _text(paras, hits[0][0])


def test_town_and_village_are_split(tok):
    tokens = tok.tokenize("横水镇新庄村")
    assert "横水镇" in tokens and "新庄村" in tokens


def test_funeral_home_found(tok, index, paras):
    hits = _search(tok, index, "殡仪馆")
    assert hits and "殡仪馆" in _text(paras, hits[0][0])


def test_question_words_do_not_count(tok, index):
    """A question and its content words retrieve the same documents in the same order."""
    q = _search(tok, index, "李晓军什么时候调研了殡仪馆？", k=10)
    plain = _search(tok, index, "李晓军 调研 殡仪馆", k=10)
    assert [i for i, _ in q] == [i for i, _ in plain]


# --------------------------------------------------------------------------- tokenizer


def test_no_stopword_or_punctuation_tokens(tok, paras):
    stop = _load_stopwords()
    for _, para in paras:
        for t in tok.tokenize(para):
            assert t not in stop, t
            assert t.strip() == t and any(ch.isalnum() for ch in t), repr(t)


def test_stopword_only_query_returns_nothing(tok, index):
    assert tok.tokenize("什么时候？哪些是谁的呢，如何，是否有？") == []
    assert tok.tokenize("") == []
    assert index.search([], 5) == []
    assert _search(tok, index, "是谁？哪里？") == []


def test_fullwidth_lowercase_and_numbers(tok):
    tokens = tok.tokenize("Ｆｕｌｌ ２０２４年ABC投资3.5亿元")
    assert "full" in tokens and "2024" in tokens and "abc" in tokens and "3.5" in tokens


def test_search_mode_keeps_parts_of_long_words(tok):
    assert {"零工", "市场", "零工市场"} <= set(tok.tokenize("县零工市场"))
    assert {"招商", "引资", "招商引资"} <= set(tok.tokenize("招商引资"))


def test_private_dictionary_leaves_global_jieba_alone():
    import jieba

    t = Tokenizer(["葛凯荣亿孙飞"])
    assert "葛凯荣亿孙飞" in t.user_words and "葛凯荣亿孙飞" in t.tokenize("葛凯荣亿孙飞")
    assert "葛凯荣亿孙飞" not in jieba.dt.FREQ
    assert "葛凯荣亿孙飞" not in Tokenizer().tokenize("葛凯荣亿孙飞")


def test_user_words_are_normalised(tok):
    t = Tokenizer(["ＡＢＣ公司"])
    assert "abc公司" in t.user_words and "abc公司" in t.tokenize("ABC公司")
    assert {"解芳", "横水镇", "绛山种业"} <= tok.user_words


# ----------------------------------------------------------------------------- filters


def test_allowed_returns_best_allowed_doc_even_below_k(tok, index, paras):
    query = tok.tokenize("李晓军")
    full = index.search(query, len(index))
    assert len(full) > 3
    low_id = full[-1][0]  # ranked below every other match
    hits = index.search(query, 1, allowed={low_id, "no-such-id"})
    assert hits == [(low_id, full[-1][1])]
    allowed = {i for i, _ in full[2:]}
    assert index.search(query, 2, allowed=allowed) == full[2:4]
    assert index.search(query, 5, allowed=set()) == []


def test_k_limits_and_ties_are_stable(tok, index):
    query = tok.tokenize("李晓军 调研")
    full = index.search(query, 1000)
    assert index.search(query, 3) == full[:3]
    assert index.search(query, 0) == []


# --------------------------------------------------------------------------------- idf


def test_idf(tok, index):
    n = len(index)
    assert index.idf("从未出现的词") == pytest.approx(math.log(1 + (n + 0.5) / 0.5))
    assert index.idf("从未出现的词") >= index.idf("李晓军") > 0
    assert index.idf("绛山种业") > index.idf("李晓军")


# ------------------------------------------------------------------------- edge cases


def test_empty_index():
    empty = BM25Index.build([], [])
    assert len(empty) == 0 and empty.search(["招商"], 5) == []
    assert empty.idf("招商") == pytest.approx(math.log(2))


def test_documents_without_tokens():
    idx = BM25Index.build(["a", "b", "c"], [[], ["招商", "引资"], []])
    assert len(idx) == 3
    assert idx.search(["招商"], 5) == [("b", pytest.approx(idx.search(["招商"], 1)[0][1]))]
    assert BM25Index.build(["a", "b"], [[], []]).search(["招商"], 5) == []


def test_build_rejects_bad_input():
    with pytest.raises(ValueError):
        BM25Index.build(["a"], [])
    with pytest.raises(ValueError):
        BM25Index.build(["a", "a"], [["x"], ["y"]])


# ----------------------------------------------------------- user dictionary, stopwords


def test_gather_user_words_from_seed(paras):
    words = gather_user_words([p for _, p in paras], authors=BYLINES)
    assert {"解芳", "李晓军", "王大凤", "横水镇", "新庄村"} <= words
    assert {"葛凯", "荣亿", "张栖源", "卫文静", "史村", "陈村", "张倩倩"} <= words
    assert not {"农村", "乡村", "山区村", "空村", "乡镇", "各乡"} & words
    assert gather_user_words([]) == set()


def test_gather_user_words_titles_and_places():
    text = "县委书记解芳出席。县政府副县长王大凤、张三丰等参加。市长在会上讲话。深入美丽乡村和示范村。"
    words = gather_user_words([text])
    assert {"解芳", "王大凤", "张三丰"} <= words
    assert not {"美丽乡村", "乡村", "示范村"} & words


def test_load_user_dict(tmp_path):
    assert load_user_dict(tmp_path / "missing.txt") == []
    p = tmp_path / "dict.txt"
    p.write_text("# header\n\n解芳 nr\n绛山种业 100 nt\n千万工程\n", encoding="utf-8")
    assert load_user_dict(p) == ["解芳", "绛山种业", "千万工程"]
    assert Tokenizer(dict_path=p).user_words == {"解芳", "绛山种业", "千万工程"}
    assert Tokenizer(dict_path=tmp_path / "missing.txt").user_words == frozenset()


def test_shipped_dictionary_and_stopwords():
    words = set(load_user_dict(DICT))
    assert DICT.read_text(encoding="utf-8").startswith("#")
    assert {"解芳", "刘岚涛", "绛县", "冷口", "陈村", "绛山种业", "县零工市场", "双减"} <= words
    stop = _load_stopwords(STOPWORDS_PATH)
    assert {"的", "什么", "哪些", "谁", "多少", "什么时候", "是否", "了吗"} <= stop
