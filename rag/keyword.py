"""Keyword retrieval: a Chinese tokenizer (jieba, through rjieba by default) and the local
names gathered from the archive; ``BM25Index`` (``rag.bm25``) ranks the tokens.

``Tokenizer`` turns text into search tokens; ``BM25Index`` ranks pre-tokenized documents
(chunk ``embed_text``) against a tokenized query. Index and query must go through the
same ``Tokenizer`` (same engine and user dictionary), or tokens will not match.

Nothing happens at import time: the segmenter's dictionary is loaded by the first
``Tokenizer`` (rjieba ~0.1 s; jieba ~1 s, cached in the system temp dir as ``jieba.cache``
by jieba itself); ``gather_user_words`` loads jieba's dictionary for word frequencies.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .bm25 import BM25_B, BM25_K1, BM25Index  # noqa: F401 - re-exported: BM25 over these tokens

logger = logging.getLogger(__name__)

STOPWORDS_PATH = Path(__file__).with_name("stopwords.txt")

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


# What NFKC does to most Chinese news text: full-width ASCII (U+FF01–FF5E) and the ideographic
# space become ASCII. Mapped first (a regex substitution: 2x faster than str.translate here);
# full NFKC only runs when something else is left to normalise (unicodedata.is_normalized):
# about 5x faster than NFKC on news-crud, same result.
_FULLWIDTH = {chr(cp): chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
_FULLWIDTH_RE = re.compile("[\uff01-\uff5e\u3000]")


def _nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, fast for text whose only compatibility
    characters are full-width ASCII: those decompose to plain ASCII one by one, so mapping them
    first gives the same result (NFKC(x) = NFKC(mapped x) = mapped x when that is normalised)."""
    t = _FULLWIDTH_RE.sub(lambda m: _FULLWIDTH[m.group()], text)
    return t if unicodedata.is_normalized("NFKC", t) else unicodedata.normalize("NFKC", t)


def _normalize(text: str) -> str:
    """NFKC (full-width ASCII → half-width, e.g. ``Ｆｕｌｌ２０２４`` → ``Full2024``) and lower-case."""
    return _nfkc(text).lower()


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


# Bump when ``Tokenizer.tokenize`` changes its output for the same dictionary: a persisted
# keyword index made by another version is then rebuilt (``Tokenizer.signature``).
TOKENIZER_VERSION = 2
ENGINES = ("rjieba", "jieba")

# rjieba keeps runs such as ``1.2.0.13``, ``07-21`` or ``risc-v`` whole; jieba's HMM step
# (``jieba.finalseg``) cuts them into ``[a-z0-9]+(\.\d+)?%?`` pieces and single other
# characters. Non-Han tokens of rjieba are cut the same way, so both engines agree.
_HAN_CHAR = re.compile(r"[\u4e00-\u9fff]")
_ALNUM_PIECE = re.compile(r"[a-z0-9]+(?:\.\d+)?%?|[^a-z0-9]")
_ALNUM_WORD = re.compile(r"[a-z0-9]+(?:\.\d+)?%?")
_MEMO_MAX = 200_000  # words whose search tokens are remembered (bounded: ~40 MB at most)


class Tokenizer:
    """jieba search-mode tokenizer for BM25 (index and query side).

    Pipeline: NFKC (full-width ASCII → half-width) and lower-case → jieba's cut (HMM on, so
    unseen names are still joined) with a private dictionary: jieba's default dictionary plus
    the user words → search mode: after each word, its sub-words of 2 or more characters that
    are in the dictionary, as ``jieba.cut_for_search`` does → stopwords (``rag/stopwords.txt``)
    and punctuation/space tokens removed. Numbers stay tokens (``2024``, ``3.5``).

    engine: ``"rjieba"`` (default; jieba-rs, the Rust port of jieba, with the same default
        dictionary and HMM: about 6x less CPU on news-crud, and 99.9 % of chunks get identical
        tokens, see ``eval/reports/bench.md``) or ``"jieba"`` (the Python original). Index and
        questions must use the same engine; it is part of ``signature``.

    Search mode differs from ``jieba.cut_for_search`` only for words of 5+ characters:
    jieba emits just their 2- and 3-character dictionary parts, this also emits the longer
    ones, so ``县零工市场`` yields ``零工市场`` and ``陈村烈士陵园`` yields ``烈士陵园``
    (identical output for words of up to 4 characters).

    user_words: extra words kept whole (e.g. from ``gather_user_words``).
    dict_path: a jieba user dictionary (``word [freq] [pos]``, ``#`` comments), e.g.
        ``corpus/dict.txt``; a missing file is ignored. Its frequencies win over ``user_words``.
    raises ValueError: if the dictionary has a malformed line, or for an unknown engine.

    ``signature`` (hex) identifies what decides the tokens before any ``add_words``: engine and
    its version, ``TOKENIZER_VERSION``, the user dictionary's bytes, the stopwords and
    ``user_words``. A persisted keyword index is reused only under the same signature.

    The first jieba-engine Tokenizer in a process loads jieba's dictionary (~1 s); rjieba
    loads its own in ~0.1 s. ``tokenize`` and ``add_words`` are thread-safe (one lock: the
    segmenter is never read while a word is being added).
    """

    def __init__(self, user_words: Iterable[str] = (), dict_path: Path | None = None, engine: str = "rjieba"):
        if engine not in ENGINES:
            raise ValueError(f"unknown tokenizer engine {engine!r}; expected one of {', '.join(ENGINES)}")
        self.engine = engine
        self._lock = threading.Lock()
        self._memo: dict[str, tuple[str, ...]] = {}
        self._stopwords = _load_stopwords()
        self._seg = self._new_segmenter()
        self._py_jieba = None  # built on demand by jieba_tokenizer()
        self._added: dict[str, tuple[int, str | None]] = {}  # word -> (frequency given, tag), in order

        entries: dict[str, tuple[int | None, str | None]] = {}
        for w in user_words:
            w = _normalize(w).strip()
            if w and " " not in w:
                entries.setdefault(w, (None, None))
        extra = sorted(entries)
        dict_bytes = b""
        if dict_path is not None:
            path = Path(dict_path)
            dict_bytes = path.read_bytes() if path.is_file() else b""
            for w, f, pos in _read_dict_entries(path):
                entries[_normalize(w)] = (f, pos)
        for w, (f, pos) in entries.items():
            if f == 0:
                # jieba's add_word(w, 0) also edits the global HMM (finalseg.add_force_split).
                logger.warning("ignoring user word %r with frequency 0", w)
                continue
            self._add(w, f, pos)  # f=None: jieba picks a frequency that keeps the word whole
        self._user_words = frozenset(self._added)
        self._base_words = len(self._added)
        h = hashlib.sha1(f"{engine} {_engine_version(engine)} v{TOKENIZER_VERSION}\n".encode())
        for part in (dict_bytes, STOPWORDS_PATH.read_bytes(), "\n".join(extra).encode()):
            h.update(hashlib.sha1(part).digest())
        self.signature = h.hexdigest()

    def _new_segmenter(self):
        if self.engine == "rjieba":
            import rjieba

            return rjieba.Jieba()
        import jieba

        freq, total = _default_jieba_dict()
        jt = jieba.Tokenizer()
        # A private copy of the already-loaded default dictionary (what jt.initialize()
        # would load from jieba.cache, without the ~1 s unmarshal per instance).
        jt.FREQ, jt.total, jt.initialized = dict(freq), total, True
        return jt

    def _add(self, word: str, freq: int | None, tag: str | None) -> None:
        """Add one word to the segmenter (caller holds the lock or owns the object) and record
        the frequency it got, so ``restore_words`` can rebuild the same dictionary."""
        if self.engine == "rjieba":
            got = self._seg.add_word(word, freq, tag)
        else:
            self._seg.add_word(word, freq, tag)
            got = self._seg.FREQ[word]
        if self._py_jieba is not None:
            self._py_jieba.add_word(word, got, tag)
        self._added[word] = (int(got), tag)

    def word_freq(self, word: str) -> int:
        """Frequency of ``word`` in this tokenizer's dictionary, 0 when it is not a word (for
        ``gather_user_words``). rjieba has no frequency lookup: ``suggest_freq`` of a dictionary
        word that cuts to itself is its frequency + 1."""
        with self._lock:
            if self.engine == "rjieba":
                return max(self._seg.suggest_freq(word) - 1, 0) if self._seg.has_word(word) else 0
            return self._seg.FREQ.get(word, 0)

    def _has_word(self, word: str) -> bool:
        if self.engine == "rjieba":
            return self._seg.has_word(word)
        return bool(self._seg.FREQ.get(word))

    def add_words(self, words: Iterable[str]) -> set[str]:
        """Add words (kept whole) to this tokenizer's dictionary; returns the ones that were new.
        Words already in the user dictionary keep their entry (``dict.txt`` wins)."""
        new = set()
        with self._lock:
            for w in words:
                w = _normalize(w).strip()
                if w and " " not in w and w not in self._added:
                    self._add(w, None, None)
                    new.add(w)
            if new:
                self._user_words = self._user_words | new
                self._memo = {}
        return new

    def added_words(self) -> list[tuple[str, int]]:
        """``(word, frequency)`` of every word added by ``add_words`` since construction, in
        order (what a persisted keyword index stores to rebuild this dictionary)."""
        return [(w, f) for w, (f, _) in list(self._added.items())[self._base_words :]]

    def restore_words(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Re-add words saved from ``added_words`` with the frequencies they had, so the
        dictionary (and therefore every token) is the one the index was built with."""
        with self._lock:
            new = set()
            for w, f in pairs:
                if w not in self._added:
                    self._add(w, int(f), None)
                    new.add(w)
            if new:
                self._user_words = self._user_words | new
                self._memo = {}

    @property
    def user_words(self) -> frozenset[str]:
        """Normalised words added on top of jieba's dictionary (user_words + dict_path)."""
        return self._user_words

    def jieba_tokenizer(self):
        """A private ``jieba.Tokenizer`` holding the same words, frequencies and tags as this
        tokenizer (for ``jieba.posseg.POSTokenizer``); built on first call (~1 s), then kept in
        step by ``add_words``. With the jieba engine it is the segmenter itself."""
        if self.engine == "jieba":
            return self._seg
        with self._lock:
            if self._py_jieba is None:
                import jieba

                freq, total = _default_jieba_dict()
                jt = jieba.Tokenizer()
                jt.FREQ, jt.total, jt.initialized = dict(freq), total, True
                for w, (f, tag) in self._added.items():
                    jt.add_word(w, f, tag)
                self._py_jieba = jt
            return self._py_jieba

    def _pieces(self, word: str) -> list[str]:
        if self.engine == "rjieba" and not _HAN_CHAR.search(word) and not _ALNUM_WORD.fullmatch(word):
            return _ALNUM_PIECE.findall(word)
        return [word]

    def _search_tokens(self, word: str) -> tuple[str, ...]:
        """Search tokens of one cut word: its dictionary sub-words of 2+ characters, then the
        word, without stopwords and punctuation."""
        stop, out = self._stopwords, []
        for w in self._pieces(word):
            n = len(w)
            if n > 2:
                for size in range(2, n):
                    for i in range(n - size + 1):
                        gram = w[i : i + size]
                        if self._has_word(gram):
                            out.append(gram)
            out.append(w)
        return tuple(t for t in (t.strip() for t in out) if t and t not in stop and _is_content(t))

    def tokenize(self, text: str) -> list[str]:
        """Search tokens of ``text`` in text order (a word is followed by its sub-words'
        tokens first, e.g. ``招商引资`` → ``招商 引资 招商引资``); duplicates kept (BM25 term
        frequency). Empty or stopword-only text → ``[]``."""
        if not text:
            return []
        text = _normalize(text)
        out: list[str] = []
        with self._lock:
            words = self._seg.cut(text, True) if self.engine == "rjieba" else self._seg.cut(text, HMM=True)
            memo = self._memo
            for w in words:
                toks = memo.get(w)
                if toks is None:
                    if len(memo) >= _MEMO_MAX:
                        memo.clear()
                    toks = memo[w] = self._search_tokens(w)
                out.extend(toks)
        return out

    def tokenize_many(self, texts: Sequence[str]) -> list[list[str]]:
        """``[self.tokenize(t) for t in texts]``."""
        return [self.tokenize(t) for t in texts]


def _engine_version(engine: str) -> str:
    from importlib.metadata import version

    return version(engine)


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
_PLACE_BOUNDARY = set(
    "、，,。.；;：:！!？?（）()“”\"' \n\t　镇乡村县市省区在和与及到赴至从对于为是由同往经向以暨入进抵"
)
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


def _places(text: str, freq: Callable[[str], int]) -> set[str]:
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
                ok = all(freq(p) < _COMMON_WORD_FREQ for p in parts) and not any(ch in _PLACE_SUFFIX for ch in head)
            if ok:
                found.add(cand)
            break
    return found


def gather_user_words(
    texts: Iterable[str], authors: Iterable[str] = (), freq: Callable[[str], int] | None = None
) -> set[str]:
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

    freq: word → its frequency in the segmenter's dictionary (0 if not a word), for the
        "common word" test; default: jieba's default dictionary, loaded on first call (~1 s and
        ~100 MB). ``Tokenizer.word_freq`` avoids that load with the rjieba engine.
    returns: the set of words (may be empty).
    """
    if freq is None:
        table, _ = _default_jieba_dict()
        freq = lambda w: table.get(w, 0)  # noqa: E731
    words: set[str] = set()
    for author in authors:
        for part in re.split(r"[\s、,，]+", author or ""):
            if 2 <= len(part) <= 4 and _HAN.match(part):
                words.add(part)
    for text in texts:
        if not text:
            continue
        text = _nfkc(text)
        words |= _names_after_titles(text)
        words |= _places(text, freq)
    return words
