"""Chat models behind LangChain's ``BaseChatModel`` interface, chosen by provider name.

``"openai"`` is any OpenAI-compatible ``/v1/chat/completions`` server: vLLM, Xinference,
LM Studio, one-api, DeepSeek or Qwen's hosted APIs, OpenAI itself. ``"ollama"`` is an
Ollama server's native API. Nothing is imported or contacted until ``make_chat_model``
is called; building a model does not open a connection either.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

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

        return ChatOpenAI(
            model=model,
            base_url=base_url or None,
            api_key=api_key or PLACEHOLDER_API_KEY,
            temperature=temperature,
            timeout=timeout,
            max_retries=max(0, int(max_retries)),
        )
    from langchain_ollama import ChatOllama

    kw = {"base_url": base_url} if base_url else {}
    return ChatOllama(model=model, temperature=temperature, client_kwargs={"timeout": timeout}, **kw)
