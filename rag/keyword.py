"""Keyword retrieval: a Chinese tokenizer (jieba) and a BM25 index (bm25s).

``Tokenizer`` turns text into search tokens; ``BM25Index`` ranks pre-tokenized documents
(chunk ``embed_text``) against a tokenized query. Index and query must go through the
same ``Tokenizer`` (same user dictionary), or tokens will not match.

Nothing happens at import time: jieba's dictionary (~1 s on first use, cached in the
system temp dir as ``jieba.cache`` by jieba itself) is loaded by the first ``Tokenizer``
or ``gather_user_words`` call, and bm25s is imported by the first ``BM25Index.build``.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

STOPWORDS_PATH = Path(__file__).with_name("stopwords.txt")

# Lucene's BM25 defaults; Robertson & Zaragoza 2009, "The Probabilistic Relevance
# Framework: BM25 and Beyond" (k1 in [1.2, 2.0], b = 0.75).
BM25_K1 = 1.5
BM25_B = 0.75

# jieba user-dictionary line: "word [freq] [pos]" (same pattern as jieba.re_userdict).
_DICT_LINE = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")


# --------------------------------------------------------------------------- tokenizer


@functools.lru_cache(maxsize=1)
def _default_jieba_dict() -> tuple[dict[str, int], int]:
    """jieba's default prefix dictionary ``(FREQ, total)``, loaded once per process.

    Loaded through a private ``jieba.Tokenizer`` (the global ``jieba.dt`` is never touched).
    Callers must copy ``FREQ`` before adding words to it.
    """
    import jieba

    # "Building prefix dict from the default dictionary ..." goes to jieba's own logger.
    logging.getLogger("jieba").setLevel(logging.WARNING)
    base = jieba.Tokenizer()
    base.initialize()
    return base.FREQ, base.total


def _normalize(text: str) -> str:
    """NFKC (full-width ASCII → half-width, e.g. ``Ｆｕｌｌ２０２４`` → ``Full2024``) and lower-case."""
    return unicodedata.normalize("NFKC", text).lower()


def _read_dict_entries(path: Path) -> list[tuple[str, int | None, str | None]]:
    """``(word, freq or None, pos or None)`` for each entry of a jieba user dictionary.

    Missing file → ``[]``. Blank lines and lines starting with ``#`` are skipped.
    raises ValueError: on a line that is not ``word [freq] [pos]`` (with its line number).
    """
    path = Path(path)
    if not path.is_file():
        return []
    entries = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _DICT_LINE.match(line)
        word = m.group(1).strip() if m else ""
        if not word or " " in word:
            raise ValueError(f"{path}:{lineno}: 词典行格式应为“词 [词频] [词性]”，实际为 {raw!r}")
        freq = int(m.group(2)) if m.group(2) else None
        pos = m.group(3).strip() if m.group(3) else None
        entries.append((word, freq, pos))
    return entries


def load_user_dict(path: Path) -> list[str]:
    """Words of a jieba user dictionary (``word [freq] [pos]`` per line), in file order.

    Missing file → ``[]``; blank lines and ``#`` comment lines are ignored.
    raises ValueError: on a malformed line.
    """
    return [word for word, _, _ in _read_dict_entries(path)]


@functools.lru_cache(maxsize=8)
def _load_stopwords(path: Path = STOPWORDS_PATH) -> frozenset[str]:
    words = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.add(_normalize(line))
    return frozenset(words)


def _is_content(token: str) -> bool:
    """True if the token has a letter, digit or Han character (i.e. is not punctuation/space)."""
    return any(ch.isalnum() for ch in token)


class Tokenizer:
    """jieba search-mode tokenizer for BM25 (index and query side).

    Pipeline: NFKC (full-width ASCII → half-width) and lower-case → ``jieba.cut`` (HMM on,
    so unseen names are still joined) with a private ``jieba.Tokenizer`` (the global jieba
    dictionary is never mutated) plus the user words → search mode: after each word, its
    sub-words of 2 or more characters that are in the dictionary, as
    ``jieba.cut_for_search`` does → stopwords (``rag/stopwords.txt``) and punctuation/space
    tokens removed. Numbers stay tokens (``2024``, ``3.5``).

    Search mode differs from ``jieba.cut_for_search`` only for words of 5+ characters:
    jieba emits just their 2- and 3-character dictionary parts, this also emits the longer
    ones, so ``县零工市场`` yields ``零工市场`` and ``陈村烈士陵园`` yields ``烈士陵园``
    (identical output for words of up to 4 characters).

    user_words: extra words kept whole (e.g. from ``gather_user_words``).
    dict_path: a jieba user dictionary (``word [freq] [pos]``, ``#`` comments), e.g.
        ``corpus/dict.txt``; a missing file is ignored. Its frequencies win over ``user_words``.
    raises ValueError: if the dictionary has a malformed line.

    The first Tokenizer in a process loads jieba's dictionary (~1 s); later ones copy it
    (~20 ms). ``tokenize`` is thread-safe once constructed.
    """

    def __init__(self, user_words: Iterable[str] = (), dict_path: Path | None = None):
        import jieba

        freq, total = _default_jieba_dict()
        jt = jieba.Tokenizer()
        # A private copy of the already-loaded default dictionary (what jt.initialize()
        # would load from jieba.cache, without the ~1 s unmarshal per instance).
        jt.FREQ, jt.total, jt.initialized = dict(freq), total, True
        self._jieba = jt
        self._stopwords = _load_stopwords()

        entries: dict[str, int | None] = {}
        for w in user_words:
            w = _normalize(w).strip()
            if w and " " not in w:
                entries.setdefault(w, None)
        if dict_path is not None:
            for w, f, _pos in _read_dict_entries(Path(dict_path)):
                entries[_normalize(w)] = f
        for w, f in entries.items():
            if f == 0:
                # jieba's add_word(w, 0) also edits the global HMM (finalseg.add_force_split).
                logger.warning("ignoring user word %r with frequency 0", w)
                continue
            jt.add_word(w, f)  # f=None: jieba picks a frequency that keeps the word whole
        self._user_words = frozenset(w for w, f in entries.items() if f != 0)

    def add_words(self, words: Iterable[str]) -> set[str]:
        """Add words (kept whole) to this tokenizer's dictionary; returns the ones that were new.
        Words already in the user dictionary keep their entry (``dict.txt`` wins)."""
        new = set()
        for w in words:
            w = _normalize(w).strip()
            if w and " " not in w and w not in self._user_words:
                self._jieba.add_word(w)
                new.add(w)
        if new:
            self._user_words = self._user_words | new
        return new

    @property
    def user_words(self) -> frozenset[str]:
        """Normalised words added on top of jieba's dictionary (user_words + dict_path)."""
        return self._user_words

    def _search_cut(self, text: str) -> Iterable[str]:
        freq = self._jieba.FREQ
        for w in self._jieba.cut(text, HMM=True):
            n = len(w)
            if n > 2:
                for size in range(2, n):
                    for i in range(n - size + 1):
                        gram = w[i : i + size]
                        if freq.get(gram):
                            yield gram
            yield w

    def tokenize(self, text: str) -> list[str]:
        """Search tokens of ``text`` in text order (a word is followed by its sub-words'
        tokens first, e.g. ``招商引资`` → ``招商 引资 招商引资``); duplicates kept (BM25 term
        frequency). Empty or stopword-only text → ``[]``."""
        if not text:
            return []
        stop = self._stopwords
        out = []
        for tok in self._search_cut(_normalize(text)):
            tok = tok.strip()
            if tok and tok not in stop and _is_content(tok):
                out.append(tok)
        return out

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        """``[self.tokenize(t) for t in texts]``."""
        return [self.tokenize(t) for t in texts]


# ------------------------------------------------------------------ user-word gathering

# Official titles after which a person's name follows ("县委书记解芳", "副县长王大凤").
_TITLES = sorted(
    """县委书记 县委副书记 党委书记 党工委书记 党工委副书记 支部书记 书记 副书记 县长 副县长 市长 副市长
    镇长 副镇长 乡长 副乡长 主任 副主任 局长 副局长 主席 副主席 常委 委员 部长 副部长 秘书长
    主持人 校长 副校长 院长 副院长 所长 站长 队长 董事长 总经理 经理 会长 理事长 调研员 检察长
    庭长 处长 科长 县领导 市领导 省领导 领导""".split(),
    key=len,
    reverse=True,
)
_TITLE_RE = re.compile("|".join(map(re.escape, _TITLES)))

# What may follow a name: punctuation, or a verb/particle that starts the rest of the clause.
_AFTER_NAME = re.compile(
    r"(?:$|[、，,。.；;：:！!？?（）()“”\"'\s]|出席|主持|参加|陪同|带队|率队|一行|等|调研|强调|指出|"
    r"讲话|表示|要求|介绍|通报|汇报|宣读|致辞|部署|在|到|赴|前往|深入|同志|作|说|就|对|与|和|及|参观|"
    r"看望|慰问|检查|督导|听取|出任|任|为|代表|发表|提出|坚持|希望)"
)

# Common Chinese surnames (single-character; covers the great majority of names).
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)

# Place-name suffixes and the characters that may sit right before a place name.
_PLACE_SUFFIX = "镇乡村"
_PLACE_BOUNDARY = set("、，,。.；;：:！!？?（）()“”\"' \n\t　镇乡村县市省区在和与及到赴至从对于为是由同往经向以暨入进抵")
# Generic words ending in 镇/乡/村 that are not place names.
_PLACE_DENY = frozenset(
    """农村 乡村 山区村 空村 城乡 城镇 乡镇 村镇 集镇 重镇 名镇 小镇 古镇 全镇 各镇 本镇 该镇 两镇 全村 各村 本村 该村 入村
    进村 驻村 包村 到村 行政村 自然村 贫困村 示范村 重点村 试点村 美丽乡村 新农村 村村 每村 各乡 全乡 本乡 该乡 家乡 故乡
    下乡 返乡 老乡 异乡 他乡 城中村 中心村 新村 大村 小村 山村 渔村 旧村 移民村 特色村 文明村 先进村 产业村 边村""".split()
)
# A multi-character name part this frequent in jieba's dictionary is a common word
# ("山区" 2809, "示范" 981), not a place name ("横水" 8, "新庄" 7).
_COMMON_WORD_FREQ = 200

_HAN = re.compile(r"^[\u4e00-\u9fff]+$")


def _name_at(text: str, pos: int) -> tuple[str, int] | None:
    """A 2–3 Han-character person name starting at ``pos`` (surname first, then a
    delimiter or a clause verb), as ``(name, end)``; prefers 3 characters, then 2."""
    for size in (3, 2):
        cand = text[pos : pos + size]
        if len(cand) == size and _HAN.match(cand) and cand[0] in _SURNAMES:
            if _AFTER_NAME.match(text, pos + size):
                return cand, pos + size
    return None


def _names_after_titles(text: str) -> set[str]:
    found = set()
    for m in _TITLE_RE.finditer(text):
        pos = m.end()
        # "县人大常委会副主任李彩霞、卫文静" / "县领导葛凯、荣亿、孙飞等": a list of names.
        while (hit := _name_at(text, pos)) is not None:
            name, pos = hit
            found.add(name)
            if pos < len(text) and text[pos] == "、":
                pos += 1
            else:
                break
    return found


def _places(text: str, freq: dict[str, int]) -> set[str]:
    found = set()
    for m in re.finditer(f"[{_PLACE_SUFFIX}]", text):
        end = m.end()
        # shortest candidate (2–4 characters) whose preceding character is a boundary
        for size in (2, 3, 4):
            start = end - size
            if start < 0:
                break
            cand = text[start:end]
            if not _HAN.match(cand):
                break
            if start > 0 and text[start - 1] not in _PLACE_BOUNDARY:
                continue
            head = cand[:-1]
            if cand in _PLACE_DENY or head[0] in _PLACE_BOUNDARY:
                break
            if len(head) == 1:
                ok = head in _SURNAMES  # 陈村 史村 张村: surname villages
            else:
                # the head and, for 3-character heads, its two halves must be rare words
                parts = {head, head[:2], head[1:]} if len(head) == 3 else {head}
                ok = all(freq.get(p, 0) < _COMMON_WORD_FREQ for p in parts) and not any(
                    ch in _PLACE_SUFFIX for ch in head
                )
            if ok:
                found.add(cand)
            break
    return found


def gather_user_words(texts: Iterable[str], authors: Iterable[str] = ()) -> set[str]:
    """Local names found in the corpus, to add to the tokenizer as whole words.

    This is a heuristic, tuned on county news prose; ``corpus/dict.txt`` is the editable
    override (add missed names there; its entries always win).

    - bylines: each of ``authors`` split on spaces, ``、``, ``,`` and ``，``; parts of
      2–4 Han characters are kept (``张倩倩``).
    - people: a 2–3 Han-character name with a common surname right after an official
      title (县委书记 县长 副县长 主任 局长 主席 书记 常委 主持人 县领导 …) and followed by
      punctuation or a clause verb (出席 主持 参加 陪同 带队 等 …):
      ``县委书记解芳出席`` → 解芳, ``县政府副县长王大凤参加`` → 王大凤, lists joined by ``、``
      (``县领导葛凯、荣亿、孙飞等``) give every name.
    - places: 2–4 Han characters ending in 镇/乡/村 and starting after punctuation, a
      function word (在 和 到 …) or another place (``横水镇新庄村`` → 横水镇, 新庄村). Rejected:
      a deny list of generic words (农村 乡村 山区村 空村 乡镇 …), a one-character head that
      is not a surname (陈村 yes, 空村 no), and a head that is a common word in jieba's
      dictionary (山区村, 示范村).

    returns: the set of words (may be empty). Loads jieba's dictionary on first call (~1 s).
    """
    freq, _ = _default_jieba_dict()
    words: set[str] = set()
    for author in authors:
        for part in re.split(r"[\s、,，]+", author or ""):
            if 2 <= len(part) <= 4 and _HAN.match(part):
                words.add(part)
    for text in texts:
        if not text:
            continue
        text = unicodedata.normalize("NFKC", text)
        words |= _names_after_titles(text)
        words |= _places(text, freq)
    return words


# -------------------------------------------------------------------------------- BM25


class BM25Index:
    """BM25 over pre-tokenized documents, with bm25s (``method="lucene"``, k1=1.5, b=0.75:
    Lucene's defaults, Robertson & Zaragoza 2009).

    Scores: ``sum over query tokens t of idf(t) * tf / (tf + k1 * (1 - b + b * len/avglen))``
    with the Lucene idf ``log(1 + (N - df + 0.5) / (df + 0.5))`` (always > 0). A query token
    repeated n times counts n times. Scores are raw BM25 (unbounded, not comparable across
    indexes); build with ``BM25Index.build``.
    """

    def __init__(self, ids: list[str], model, df: dict[str, int]):
        self._ids = ids
        self._pos = {doc_id: i for i, doc_id in enumerate(ids)}
        self._model = model  # bm25s.BM25, or None when no document has a token
        self._df = df

    @classmethod
    def build(cls, ids: Sequence[str], token_lists: Sequence[list[str]]) -> "BM25Index":
        """Index ``token_lists[i]`` under ``ids[i]``.

        Works with 0 documents and with documents that have no tokens (never returned).
        raises ValueError: if the lengths differ or an id repeats.
        """
        ids = list(ids)
        if len(ids) != len(token_lists):
            raise ValueError(f"BM25Index.build: {len(ids)} ids but {len(token_lists)} token lists")
        if len(set(ids)) != len(ids):
            raise ValueError("BM25Index.build: ids must be unique")
        if not any(token_lists):
            return cls(ids, None, {})

        import bm25s

        model = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
        corpus = [list(tokens) for tokens in token_lists]
        model.index(corpus, create_empty_token=False, show_progress=False)
        # Column t of the CSC score matrix holds one (positive) entry per document with t.
        df_arr = np.diff(model.scores["indptr"])
        df = {tok: int(df_arr[col]) for tok, col in model.vocab_dict.items()}
        return cls(ids, model, df)

    def __len__(self) -> int:
        return len(self._ids)

    def df(self, token: str) -> int:
        """Number of indexed documents containing ``token`` (0 when unknown)."""
        return self._df.get(token, 0)

    def idf(self, token: str) -> float:
        """Lucene BM25 idf ``log(1 + (N - df + 0.5) / (df + 0.5))`` of an (already tokenized)
        token; a token not in the index gets the maximum, ``log(1 + (N + 0.5) / 0.5)``."""
        n = len(self._ids)
        df = self._df.get(token, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))

    def search(
        self, query_tokens: list[str], k: int, allowed: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """Top ``k`` documents as ``(id, score)``, score descending (ties: index order).

        Only documents with score > 0 (sharing at least one token with the query).
        allowed: when given, only these ids are ranked; the filter is applied to the scores
            of every document before the top k are taken, so it never loses a match
            (unknown ids are ignored).
        Empty query, empty index or k <= 0 → ``[]``.
        """
        if k <= 0 or self._model is None or not query_tokens:
            return []
        vocab = self._model.vocab_dict
        token_ids = [vocab[t] for t in query_tokens if t in vocab]
        if not token_ids:
            return []
        scores = self._model.get_scores_from_ids(token_ids)
        if allowed is None:
            cand = np.flatnonzero(scores > 0)
        else:
            pos = np.fromiter(
                (self._pos[i] for i in allowed if i in self._pos), dtype=np.int64
            )
            cand = pos[scores[pos] > 0]
        if cand.size == 0:
            return []
        cand_scores = scores[cand]
        if cand.size > k:
            part = np.argpartition(-cand_scores, k - 1)[:k]
            # argpartition may cut through a tie at the k-th score: take the whole tie
            kth = cand_scores[part].min()
            part = np.flatnonzero(cand_scores >= kth)
            cand, cand_scores = cand[part], cand_scores[part]
        order = np.lexsort((cand, -cand_scores))[:k]
        return [(self._ids[cand[i]], float(cand_scores[i])) for i in order]
