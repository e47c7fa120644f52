"""Chat models behind LangChain's ``BaseChatModel`` interface, chosen by provider name.

``"openai"`` is any OpenAI-compatible ``/v1/chat/completions`` server: vLLM, Xinference,
LM Studio, one-api, DeepSeek or Qwen's hosted APIs, OpenAI itself. ``"ollama"`` is an
Ollama server's native API. Nothing is imported or contacted until ``make_chat_model``
is called; building a model does not open a connection either.
"""

from __future__ import annotations

import re

from langchain_core import exceptions as lc
from langchain_core.language_models import BaseChatModel

from .errors import LLMError

LLM_PROVIDERS = ("none", "openai", "ollama")

# vLLM / Xinference / Ollama's OpenAI route accept any key, but the OpenAI client refuses to
# start without one; this placeholder is sent when none is configured.
PLACEHOLDER_API_KEY = "not-needed"


def make_chat_model(
    provider: str,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    temperature: float = 0.1,
    timeout: float = 60.0,
    max_retries: int = 1,
    context_tokens: int | None = None,
    max_tokens: int | None = None,
) -> BaseChatModel:
    """Build a chat model by provider name (see ``LLM_PROVIDERS``; ``"none"`` is not a model).

    provider: ``"openai"`` (``langchain_openai.ChatOpenAI`` against ``base_url``, e.g.
        ``http://10.0.0.5:8000/v1``; ``None`` means api.openai.com) or ``"ollama"``
        (``langchain_ollama.ChatOllama``; ``base_url`` e.g. ``http://127.0.0.1:11434``,
        ``None`` means Ollama's default).
    model: model name as the server knows it (``Qwen2.5-7B-Instruct``, ``qwen2.5:7b``).
    api_key: bearer key for ``"openai"``; ignored by ``"ollama"``. Without one a placeholder
        is sent (local servers do not check it).
    temperature: sampling temperature, 0–2.
    timeout: seconds for one HTTP request (connect + read), not for the whole answer.
    max_retries: extra attempts after a failed request (0 = try once). ``"openai"``: the
        OpenAI client's own retries (connection errors, 408/429/5xx). ``"ollama"``: the
        client has none, so the value is ignored.
    context_tokens: the context window to ask for, in tokens. ``"ollama"``: sent as
        ``num_ctx`` (Ollama would otherwise use its own default and silently cut an over-long
        prompt from the front, dropping the rules). ``"openai"``: the server's context is
        fixed when it starts, so nothing is sent (the prompt budget keeps within it).
    max_tokens: most tokens the answer may take (``max_tokens`` for ``"openai"``, sent as
        the classic field that vLLM, llama.cpp, Ollama and LM Studio all read; ``num_predict``
        for ``"ollama"``). None: the server's default.
    raises ValueError: unknown provider, or no model name.
    """
    if provider not in ("openai", "ollama"):
        raise ValueError(
            f"unknown LLM provider {provider!r}; expected one of {', '.join(LLM_PROVIDERS[1:])} "
            "(set RAG_LLM or pass --llm)"
        )
    if not model:
        raise ValueError(f"LLM provider {provider!r} needs a model name (set RAG_LLM_MODEL or pass --llm-model)")
    if provider == "openai":
        from langchain_openai import ChatOpenAI

        # ChatOpenAI's own max_tokens is sent as max_completion_tokens, which local servers
        # (llama-cpp-python, older vLLM/Ollama) ignore; extra_body is sent as given.
        return ChatOpenAI(
            model=model,
            base_url=base_url or None,
            api_key=api_key or PLACEHOLDER_API_KEY,
            temperature=temperature,
            timeout=timeout,
            max_retries=max(0, int(max_retries)),
            stream_usage=True,
            extra_body={"max_tokens": int(max_tokens)} if max_tokens else None,
        )
    from langchain_ollama import ChatOllama

    kw = {"base_url": base_url} if base_url else {}
    if context_tokens:
        kw["num_ctx"] = int(context_tokens)
    if max_tokens:
        kw["num_predict"] = int(max_tokens)
    return ChatOllama(model=model, temperature=temperature, client_kwargs={"timeout": timeout}, **kw)


# Servers word a context overflow differently: OpenAI "context_length_exceeded", vLLM and
# llama-cpp-python "This model's maximum context length is N tokens", llama.cpp's server
# "exceed_context_size_error" / "exceeds the available context size", LM Studio "context
# length", llama-cpp-python's Llama "Requested tokens (N) exceed context window of M".
_CONTEXT = re.compile(r"context[_ ]?(?:length|window|size)|maximum context|prompt is too long|too many tokens", re.I)
_MODEL_NOT_FOUND = re.compile(r"model\b.*\b(?:not found|does not exist|not exist)|no such model|unknown model", re.I)


def _chain(exc: BaseException):
    """``exc`` and its causes/contexts (the OpenAI client wraps httpx errors)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def classify_error(exc: BaseException, *, model: str = "") -> LLMError:
    """What went wrong with a chat-model call, as an ``LLMError`` whose code and Chinese
    message say it (see ``rag.errors.LLMError`` for the codes).

    Uses LangChain's provider-neutral error classes first (``ContextOverflowError``,
    ``ModelNotFoundError``…; ChatOpenAI raises them), then the OpenAI/httpx/Ollama exception
    types and HTTP statuses, then the server's wording (see ``_CONTEXT``).
    model: the configured model name, shown in the model-not-found message.
    """
    import httpx

    timeouts: tuple = (lc.ModelTimeoutError, httpx.TimeoutException, TimeoutError)
    unreachable: tuple = (lc.ModelConnectionError, httpx.ConnectError, ConnectionError)
    try:  # what the OpenAI client raises when LangChain has not wrapped it
        import openai

        timeouts += (openai.APITimeoutError,)
        unreachable += (openai.APIConnectionError,)
    except ImportError:
        pass
    if isinstance(exc, LLMError):
        return exc
    chain = list(_chain(exc))
    text = " ".join(str(e) for e in chain)
    status = next((s for e in chain for s in [getattr(e, "status_code", None)] if isinstance(s, int)), None)
    if any(isinstance(e, lc.ContextOverflowError) for e in chain) or (
        status in (400, 413, 500, None) and _CONTEXT.search(text)
    ):
        return LLMError("llm_context_too_long")
    if any(isinstance(e, lc.ModelNotFoundError) for e in chain) or status == 404 or _MODEL_NOT_FOUND.search(text):
        return LLMError("llm_model_not_found", model=model)
    if any(isinstance(e, (lc.ModelAuthenticationError, lc.ModelPermissionDeniedError)) for e in chain) or status in (
        401,
        403,
    ):
        return LLMError("llm_auth_failed")
    if any(isinstance(e, timeouts) for e in chain):
        return LLMError("llm_timeout")
    # the server went away after the answer had started (killed, restarted, a proxy cut it)
    if any(isinstance(e, (httpx.RemoteProtocolError, httpx.ReadError)) for e in chain):
        return LLMError("llm_interrupted")
    if any(isinstance(e, unreachable) for e in chain):
        return LLMError("llm_unreachable")
    detail = f"HTTP {status}" if status else type(exc).__name__
    return LLMError("llm_error", detail=detail)
