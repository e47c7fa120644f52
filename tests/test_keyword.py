"""rag.keyword and rag.bm25 on the seed corpus, with real rjieba/jieba and bm25s as the reference
(offline, no fakes)."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
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


# ------------------------------------------------------- rag.bm25: reference, updates, files


QUERIES = ["招商引资", "李晓军 调研", "绛山种业", "殡仪馆 冷口中心校", "县长 强调 招商引资 招商引资", "从未出现的词"]


def test_scores_match_bm25s_reference(tok, index, paras):
    """rag.bm25 scores at query time what bm25s (method="lucene") precomputes: same numbers."""
    import bm25s
    import numpy as np

    tokens = tok.tokenize_many([p for _, p in paras])
    ref = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    ref.index(tokens, create_empty_token=False, show_progress=False)
    for q in QUERIES:
        qt = tok.tokenize(q)
        ids = [ref.vocab_dict[t] for t in qt if t in ref.vocab_dict]
        want = ref.get_scores_from_ids(ids) if ids else np.zeros(len(paras))
        assert np.allclose(index.scores(qt), want, rtol=1e-5, atol=1e-6), q


def _same(a, b, queries, tok):
    for q in queries:
        qt = tok.tokenize(q)
        ha, hb = a.search(qt, 1000), b.search(qt, 1000)
        assert [i for i, _ in ha] == [i for i, _ in hb], q
        assert [s for _, s in ha] == pytest.approx([s for _, s in hb], rel=1e-5), q
        for t in qt:
            assert a.df(t) == b.df(t) and a.idf(t) == pytest.approx(b.idf(t))
    assert len(a) == len(b)


def test_incremental_updates_equal_a_rebuild(tok, paras, tmp_path):
    """Adding, replacing and deleting rows (tail + tombstones), compacting and a save/load
    round trip (memory-mapped) all rank and score exactly as an index built from scratch."""
    texts = {f"p{i}": p for i, (_, p) in enumerate(paras)}
    ids = list(texts)
    half = len(ids) // 2
    inc = BM25Index.build(ids[:half], tok.tokenize_many([texts[i] for i in ids[:half]]), {"n": range(half)})
    inc.add(ids[half:], tok.tokenize_many([texts[i] for i in ids[half:]]), {"n": range(half, len(ids))})
    gone = set(ids[::5])
    assert inc.delete(gone) == len(gone) and inc.delete(["no-such-id"]) == 0
    texts[ids[1]] = "绛山种业 招商引资 重新写过的段落"  # a rewritten chunk (ids[1] is alive)
    inc.add([ids[1]], [tok.tokenize(texts[ids[1]])], {"n": [1]})
    final = [i for i in ids if i not in gone]
    ref = BM25Index.build(final, tok.tokenize_many([texts[i] for i in final]))
    _same(inc, ref, QUERIES, tok)
    assert inc.n_dead == len(gone) + 1 and inc.n_tail == len(ids) - half + 1

    inc.save_base(tmp_path / "before-compact")  # a base with tombstones and a tail beside it
    loaded = BM25Index.load(tmp_path / "before-compact", inc.state_arrays())
    _same(loaded, ref, QUERIES, tok)
    assert isinstance(loaded._docs, np.memmap)

    inc.compact()
    assert inc.n_dead == 0 and inc.n_tail == 0 and len(inc) == len(final)
    _same(inc, ref, QUERIES, tok)
    assert int(inc.column("n")[inc.row(ids[1])]) == 1

    inc.save_base(tmp_path / "after-compact")
    again = BM25Index.load(tmp_path / "after-compact", inc.state_arrays())
    _same(again, ref, QUERIES, tok)
    again.add(["extra"], [tok.tokenize("殡仪馆 新增")], {"n": [7]})  # a loaded (read-only) base grows a tail
    assert again.search(tok.tokenize("殡仪馆 新增"), 1)[0][0] == "extra"


def test_load_rejects_damaged_files(tok, paras, tmp_path):
    from rag.bm25 import IndexFileError

    idx = BM25Index.build([f"p{i}" for i in range(len(paras))], tok.tokenize_many([p for _, p in paras]))
    idx.save_base(tmp_path / "ok")
    BM25Index.load(tmp_path / "ok")
    for name, damage in [
        ("docs.npy", lambda b: b[:-4] + b"\x00\x01\x02\x03"),
        ("tfs.npy", lambda b: b[: len(b) // 2]),
        ("vocab.json", lambda b: b"[]"),
        ("manifest.json", lambda b: b"{"),
    ]:
        bad = tmp_path / f"bad-{name}"
        shutil.copytree(tmp_path / "ok", bad)
        (bad / name).write_bytes(damage((bad / name).read_bytes()))
        with pytest.raises(IndexFileError):
            BM25Index.load(bad)
    state = idx.state_arrays()
    state["dead"] = np.asarray([10**6])
    with pytest.raises(IndexFileError):
        BM25Index.load(tmp_path / "ok", state)


def test_engines_agree_on_the_seed(paras):
    """rjieba (the default) and Python jieba cut the seed corpus into the same tokens."""
    words = gather_user_words([p for _, p in paras], authors=BYLINES)
    a, b = Tokenizer(words, dict_path=DICT, engine="rjieba"), Tokenizer(words, dict_path=DICT, engine="jieba")
    assert a.signature != b.signature
    same = sum(a.tokenize(p) == b.tokenize(p) for _, p in paras)
    assert same >= 0.98 * len(paras), (same, len(paras))
    assert a.added_words() == [] and a.tokenize("1.2.0.13版 risc-v") == b.tokenize("1.2.0.13版 risc-v")
    with pytest.raises(ValueError):
        Tokenizer(engine="nope")


def test_added_words_restore_the_same_dictionary():
    t = Tokenizer(dict_path=DICT)
    t.add_words(["东岭村", "赵德柱"])
    pairs = t.added_words()
    assert [w for w, _ in pairs] == ["东岭村", "赵德柱"] and all(f > 0 for _, f in pairs)
    u = Tokenizer(dict_path=DICT)
    assert "东岭村" not in u.tokenize("副县长赵德柱到东岭村查看")
    u.restore_words(pairs)
    assert u.tokenize("副县长赵德柱到东岭村查看") == t.tokenize("副县长赵德柱到东岭村查看")
    assert u.added_words() == pairs
    import jieba.posseg

    pos = jieba.posseg.POSTokenizer(t.jieba_tokenizer())
    assert "东岭村" in [w.word for w in pos.cut("副县长赵德柱到东岭村查看")]
