"""HTTP API: every endpoint through FastAPI's TestClient on the real seed pipeline, errors
included; the few tests that need a real socket (client disconnect, Chroma down at
startup, ``rag serve``) run a server on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import unicodedata
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from rag import __version__
from rag.api import create_app
from rag.errors import RagError
from rag.service import normalise_upload_name
from tests.live_server import LiveServer, private_settings_and_pipeline
from ui.server import create_server

Q_INVEST = "县长在招商引资工作推进会议上强调了什么？"
T_INVEST = "我县召开2024年招商引资工作推进会议"
Q_SCHOOLS = "调研组到了哪些学校？"
ARTICLE = "# 测试上传的文章\n\n本报讯 5月20日，测试县召开上传功能验证会议，会议确认上传的文件可以被检索到。\n"


def _no_timings(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "timings_ms"}


def _sse_events(body: str) -> list[tuple[str, str]]:
    """``(event, data)`` pairs of an SSE body (event "message" when unnamed)."""
    out = []
    for block in body.strip().split("\n\n"):
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        out.append((event, "\n".join(data)))
    return out


@pytest.fixture(scope="module")
def client(seed_settings, seed_pipeline):
    """The full app (UI mounted too, so the mount never shadows an API route), read-only use."""
    return TestClient(create_server(seed_settings, seed_pipeline))


@pytest.fixture(scope="module")
def writable(tmp_path_factory, embed_cache):
    """Settings and pipeline of a private store for upload/delete tests (1 KB upload cap)."""
    return private_settings_and_pipeline(tmp_path_factory.mktemp("apiwrite"), embed_cache, max_upload_mb=1 / 1024)


@pytest.fixture(scope="module")
def wclient(writable):
    settings, pipe = writable
    return TestClient(create_app(settings, pipe))


# -- ask --------------------------------------------------------------------------------------------
def test_ask_returns_answer_to_dict(client, seed_pipeline):
    r = client.post("/api/ask", json={"question": Q_INVEST})
    assert r.status_code == 200
    body = r.json()
    assert _no_timings(body) == _no_timings(seed_pipeline.ask(Q_INVEST).to_dict())
    assert not body["abstained"] and body["citations"][0]["title"] == T_INVEST
    assert "[1]" in body["answer"]
    assert r.headers["content-type"].startswith("application/json")


def test_ask_follow_up_with_history_strings_or_messages(client):
    plain = client.post(
        "/api/ask", json={"question": "他强调了什么？", "history": ["李晓军5月份调研了哪些地方？"]}
    ).json()
    assert plain["standalone_question"] == "李晓军5月份强调了什么？"
    msgs = client.post(
        "/api/ask",
        json={
            "question": "他强调了什么？",
            "history": [
                {"role": "user", "content": "李晓军5月份调研了哪些地方？"},
                {"role": "assistant", "content": "（略）"},
            ],
        },
    ).json()
    assert _no_timings(msgs) == _no_timings(plain)


def test_ask_filters_and_top_k(client):
    r = client.post(
        "/api/ask", json={"question": Q_SCHOOLS, "top_k": 1, "date_from": "2024-05-01", "date_to": "2024-05-31"}
    )
    assert r.status_code == 200
    assert all("2024-05-01" <= c["date"] <= "2024-05-31" for c in r.json()["citations"])
    # nothing in the archive before 2020: abstain, no citations
    r = client.post("/api/ask", json={"question": Q_SCHOOLS, "date_to": "2019-12-31"})
    assert r.json()["abstained"] and r.json()["citations"] == []


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"question": "   "}, 422, "empty_question"),
        ({"question": "？？！"}, 422, "empty_question"),
        ({"question": "长" * 501}, 422, "question_too_long"),
        ({}, 422, "bad_request"),
        ({"question": 5}, 422, "bad_request"),
        ({"question": Q_SCHOOLS, "top_k": 0}, 422, "bad_request"),
        ({"question": Q_SCHOOLS, "date_from": "2024/05/01"}, 422, "bad_date"),
    ],
)
def test_ask_errors_are_json(client, body, status, code):
    r = client.post("/api/ask", json=body)
    assert r.status_code == status
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    assert set(r.json()) == {"error"} and set(err) == {"code", "message"}


def test_bad_json_body_is_bad_request(client):
    r = client.post("/api/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_request"
    assert r.json()["error"]["message"] == "请求格式不正确：请求体：不是合法的 JSON"  # no byte offset shown


def test_a_bad_history_item_is_named_by_its_field_not_by_server_types(client):
    r = client.post("/api/ask", json={"question": "他强调了什么？", "history": [1, 2]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_request"
    message = r.json()["error"]["message"]
    assert message.startswith("请求格式不正确：history.0：应为字符串，或") and "history.1" in message, message
    assert "str" not in message and "HistoryMessage" not in message, message


# -- streaming ----------------------------------------------------------------------------------------
def test_ask_stream_sse(client, seed_pipeline):
    with client.stream("POST", "/api/ask/stream", json={"question": Q_INVEST}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
        raw = r.read()
    text = raw.decode("utf-8")
    assert "招商" in text and "\\u" not in text  # raw UTF-8, not ASCII escapes
    events = _sse_events(text)
    deltas = [json.loads(d)["text"] for e, d in events if e == "delta"]
    finals = [json.loads(d) for e, d in events if e == "final"]
    assert len(deltas) > 3 and len(finals) == 1 and events[-1][0] == "final"
    assert "".join(deltas) == finals[0]["answer"]
    assert _no_timings(finals[0]) == _no_timings(seed_pipeline.ask(Q_INVEST).to_dict())


def llm_pipeline(seed_pipeline, draft: str):
    """The seed pipeline (a shallow copy) answering through the LLM answerer with a fake
    chat model that streams ``draft`` (no LLM can run here)."""
    import copy

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    from rag.answer.llm import LLMAnswerer

    pipe = copy.copy(seed_pipeline)
    model = GenericFakeChatModel(messages=iter([AIMessage(draft)]))
    pipe.answerer = LLMAnswerer(
        model,
        fallback=seed_pipeline.extractive,
        tokenize=seed_pipeline.tokenizer.tokenize,
        known_people=seed_pipeline.known_people,
        provider="fake",
        model_name="fake",
    )
    return pipe


DRAFT = "调研组先后到冷口中心校、第三实验小学实地查看。[1] 调研组还参观了北京大学的图书馆。[1]"


def test_ask_stream_with_an_llm_answerer_ends_with_the_verified_answer(seed_settings, seed_pipeline):
    """An LLM answer streams sentence by sentence as each is verified: an unsupported one is
    never streamed; the final event carries the verified answer."""
    c = TestClient(create_app(seed_settings, llm_pipeline(seed_pipeline, DRAFT)))
    with c.stream("POST", "/api/ask/stream", json={"question": Q_SCHOOLS}) as r:
        events = _sse_events(r.read().decode("utf-8"))
    streamed = "".join(json.loads(d)["text"] for e, d in events if e == "delta")
    final = json.loads(events[-1][1])
    assert events[-1][0] == "final" and "北京大学" not in streamed
    assert "北京大学" not in final["answer"] and "冷口中心校" in final["answer"]


def test_ask_stream_bad_question_is_a_plain_json_error(client):
    r = client.post("/api/ask/stream", json={"question": ""})
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_question"


# -- health, docs, routing --------------------------------------------------------------------------
def test_health(client, seed_pipeline):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["version"] == __version__
    assert body["embedder"] == seed_pipeline.embedder.id
    assert body["chunks"] == seed_pipeline.store.count() > 0 and body["articles"] == 5 and body["documents"] == 1
    assert not any("key" in k for k in body)


def test_health_reports_llm_settings_but_never_a_key(seed_settings, seed_pipeline):
    extra = {
        k: v
        for k, v in {
            "llm": "openai",
            "llm_model": "qwen",
            "llm_api_key": "sk-SECRET",
            "llm_base_url": "http://user:pw-SECRET@10.0.0.5:8000/v1",
        }.items()
        if hasattr(seed_settings, k)
    }
    if "llm" not in extra:
        pytest.skip("Settings has no llm fields")
    c = TestClient(create_app(replace(seed_settings, **extra), seed_pipeline))
    r = c.get("/api/health")
    assert r.json()["llm"] == "openai" and "SECRET" not in r.text
    if "llm_base_url" in extra:
        assert r.json()["llm_base_url"] == "http://10.0.0.5:8000/v1"


def test_openapi_docs_and_ui_are_served(client):
    import re

    for page in ("/docs", "/redoc"):  # the intranet has no internet: no CDN assets, no web fonts
        r = client.get(page)
        assert r.status_code == 200 and not re.search(r"(src|href)=[\"']https?://", r.text), page
        for asset in re.findall(r"(?:src|href)=[\"'](/[^\"']+)", r.text):
            assert client.get(asset).status_code == 200, asset
    paths = client.get("/openapi.json").json()["paths"]
    for p in (
        "/api/ask",
        "/api/ask/stream",
        "/api/documents",
        "/api/documents/{name}",
        "/api/health",
        "/v1/chat/completions",
        "/v1/models",
    ):
        assert p in paths, p
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


# -- documents --------------------------------------------------------------------------------------
def test_list_documents(client):
    docs = client.get("/api/documents").json()
    assert [{k: v for k, v in d.items() if k != "article_list"} for d in docs] == [
        {
            "source": "绛县新闻-2024年4-5月.txt",
            "articles": 5,
            "chunks": docs[0]["chunks"],
            "titles": docs[0]["titles"],
            "complete": True,
        }
    ]
    assert T_INVEST in docs[0]["titles"] and len(docs[0]["article_list"]) == 5


def test_upload_ingests_under_the_normalised_name_and_is_idempotent(wclient, writable):
    settings, _ = writable
    name = "../../etc/上传 测试.txt"
    r = wclient.post("/api/documents", files={"file": (name, ARTICLE.encode("utf-8"), "text/plain")})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["source"] == "上传 测试.txt"
    assert first["articles"] == 1 and first["added"] >= 1 and first["errors"] == []
    # nothing left in the upload temp dir, nothing written outside the data dir
    assert list((settings.data_dir / "uploads").iterdir()) == []
    again = wclient.post("/api/documents", files={"file": (name, ARTICLE.encode("utf-8"))}).json()
    assert again["added"] == 0 and again["unchanged"] == first["added"]
    docs = {d["source"]: d for d in wclient.get("/api/documents").json()}
    assert docs["上传 测试.txt"]["chunks"] == first["added"]
    ans = wclient.post("/api/ask", json={"question": "上传功能验证会议确认了什么？"}).json()
    assert any(c["source"] == "上传 测试.txt" for c in ans["citations"])
    # delete by its (URL-encoded, Chinese) name; a second delete finds nothing
    r = wclient.delete("/api/documents/" + quote("上传 测试.txt"))
    assert r.status_code == 200 and r.json() == {"name": "上传 测试.txt", "deleted": first["added"]}
    r = wclient.delete("/api/documents/" + quote("上传 测试.txt"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert "上传 测试.txt" not in {d["source"] for d in wclient.get("/api/documents").json()}


def test_upload_name_is_nfc_normalised(wclient):
    nfd = unicodedata.normalize("NFD", "café公告.md")
    r = wclient.post("/api/documents", files={"file": (nfd, ARTICLE.encode("utf-8"))})
    assert r.status_code == 200 and r.json()["source"] == "café公告.md"
    assert wclient.delete("/api/documents/" + quote(nfd)).json()["deleted"] >= 1  # NFD name finds it too


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("a.txt", "a.txt"),
        ("/abs/path/b.txt", "b.txt"),
        ("..\\..\\win\\c.txt", "c.txt"),
        ("C:\\x\\d.pdf", "d.pdf"),
        ("../.hidden.txt", "hidden.txt"),
        ("新闻\x00稿.txt", "新闻稿.txt"),
    ],
)
def test_normalise_upload_name(raw, expected):
    assert normalise_upload_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "..", "../", "/"])
def test_normalise_upload_name_rejects_empty(raw):
    with pytest.raises(RagError) as e:
        normalise_upload_name(raw)
    assert e.value.status == 400


def test_upload_too_large_is_413(wclient, writable):
    settings, _ = writable
    big = ("本报讯 测试内容。" * 400).encode("utf-8")  # > 1 KB limit of this app
    r = wclient.post("/api/documents", files={"file": ("big.txt", big)})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "file_too_large" and "文件太大" in r.json()["error"]["message"]
    assert list((settings.data_dir / "uploads").iterdir()) == []


def test_upload_limit_is_enforced_while_streaming(wclient):
    """No Content-Length (chunked body): the limit still stops the read."""
    boundary = "b0undary"
    sent = []

    def body():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        for _ in range(200):
            sent.append(1)
            yield ("本报讯 测试内容。" * 20).encode("utf-8")
        yield f"\r\n--{boundary}--\r\n".encode()

    r = wclient.post(
        "/api/documents", content=body(), headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_oversize_upload_is_cut_off_early_on_a_real_socket(writable):
    """A 32 MB chunked upload against a 1 KB limit: the server answers 413 (or drops the
    connection) long before the client could send it all."""
    settings, pipe = writable
    boundary, sent = "b0undary", []

    def body():
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n').encode()
        for _ in range(4000):
            sent.append(1)
            yield b"x" * 8192
        yield f"\r\n--{boundary}--\r\n".encode()

    with LiveServer(create_app(settings, pipe)) as srv:
        try:
            r = httpx.post(
                f"{srv.url}/api/documents",
                content=body(),
                timeout=30,
                headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            )
            assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server closed the connection after refusing: also a cut-off
    assert len(sent) < 2000
    assert list((settings.data_dir / "uploads").iterdir()) == []


@pytest.mark.parametrize(
    "files,status,code",
    [
        ({"file": ("notes.exe", b"MZ....")}, 415, "unsupported_type"),
        ({"file": ("empty.txt", b"")}, 422, "empty_file"),
        ({"file": ("..", b"x")}, 400, "bad_filename"),
        ({"other": (None, "just a field")}, 400, "bad_request"),
    ],
)
def test_upload_errors(wclient, files, status, code):
    r = wclient.post("/api/documents", files=files)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_upload_requires_multipart(wclient):
    r = wclient.post("/api/documents", json={"file": "x"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"


# -- API key ------------------------------------------------------------------------------------------
def test_api_key_protects_writes(writable):
    settings, pipe = writable
    c = TestClient(create_app(replace(settings, api_key="s3cret"), pipe))
    files = {"file": ("key.txt", ARTICLE.encode("utf-8"))}
    r = c.post("/api/documents", files=files)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"
    r = c.post("/api/documents", files=files, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert c.delete("/api/documents/key.txt", headers={"X-API-Key": "wrong"}).status_code == 403
    c2 = c
    assert c2.post("/api/documents", files=files, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert c2.delete("/api/documents/key.txt", headers={"X-API-Key": "s3cret"}).status_code == 200
    # reads stay open unless api_key_all
    assert c2.post("/api/ask", json={"question": Q_SCHOOLS}).status_code == 200
    assert c2.get("/api/documents").status_code == 200


def test_api_key_all_protects_every_endpoint(writable):
    settings, pipe = writable
    c = TestClient(create_app(replace(settings, api_key="s3cret", api_key_all=True), pipe))
    for method, path, kw in [
        ("POST", "/api/ask", {"json": {"question": Q_SCHOOLS}}),
        ("GET", "/api/documents", {}),
        ("GET", "/api/health", {}),
        ("GET", "/v1/models", {}),
        ("POST", "/v1/chat/completions", {"json": {"messages": [{"role": "user", "content": Q_SCHOOLS}]}}),
    ]:
        assert c.request(method, path, **kw).status_code == 401, path
        assert c.request(method, path, headers={"X-API-Key": "nope"}, **kw).status_code == 403, path
        assert c.request(method, path, headers={"Authorization": "Bearer s3cret"}, **kw).status_code == 200, path


def _gradio_uploads(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_the_chats_upload_route_follows_the_key_rule(writable, tmp_path, monkeypatch):
    """Gradio's own upload route (the documents tab posts files there) needs the key like
    every other write: refused uploads are answered before Gradio reads them (nothing is
    kept in its temp folder); the key works as a header or as the tab's cookie."""
    settings, pipe = writable
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    c = TestClient(create_server(replace(settings, api_key="s3cret"), pipe))
    files = {"files": ("anon.txt", ARTICLE.encode("utf-8"), "text/plain")}
    r = c.post("/gradio_api/upload", files=files)
    assert r.status_code == 401 and "管理密钥" in r.text and r.headers["connection"] == "close"
    r = c.post("/gradio_api/upload", files=files, headers={"X-API-Key": "wrong"})
    assert r.status_code == 403 and "管理密钥不正确" in r.text
    c.cookies.set("rag_key", "wrong")
    assert c.post("/gradio_api/upload", files=files).status_code == 403
    assert _gradio_uploads(tmp_path / "gradio") == []
    r = c.post("/gradio_api/upload", files=files, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and len(r.json()) == 1
    c.cookies.set("rag_key", quote("s3cret"))
    assert c.post("/gradio_api/upload", files={"files": ("cookie.txt", b"# cookie\n")}).status_code == 200
    assert len(_gradio_uploads(tmp_path / "gradio")) == 2
    # reading the page and other Gradio routes stays open
    assert TestClient(create_server(replace(settings, api_key="s3cret"), pipe)).get("/config").status_code == 200


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_anonymous_big_uploads_to_the_chat_are_cut_off_and_uploads_expire(writable, tmp_path, monkeypatch):
    """A 15 MB anonymous upload (below the 20 MB limit) is refused before it is sent; an
    accepted upload that nobody ingests is deleted by Gradio's delete_cache (1 s here)."""
    settings, pipe = writable
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    keyed = replace(settings, api_key="s3cret", max_upload_mb=20)
    boundary, sent = "b0undary", []

    def body():
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n').encode()
        for _ in range(1920):  # 15 MB
            sent.append(1)
            yield b"x" * 8192
        yield f"\r\n--{boundary}--\r\n".encode()

    with LiveServer(create_server(keyed, pipe, delete_cache=(1, 1))) as srv:
        try:
            r = httpx.post(
                f"{srv.url}/gradio_api/upload",
                content=body(),
                timeout=30,
                headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            )
            assert r.status_code == 401
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server closed the connection after refusing: also a cut-off
        assert len(sent) < 1920 // 2 and _gradio_uploads(tmp_path / "gradio") == []
        r = httpx.post(
            f"{srv.url}/gradio_api/upload",
            headers={"X-API-Key": "s3cret"},
            files={"files": ("kept.txt", ARTICLE.encode("utf-8"))},
            timeout=30,
        )
        assert r.status_code == 200 and Path(r.json()[0]).exists()
        deadline = time.monotonic() + 20
        while Path(r.json()[0]).exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not Path(r.json()[0]).exists()


# -- OpenAI-compatible ------------------------------------------------------------------------------------
def test_v1_models(client):
    body = client.get("/v1/models").json()
    assert body["object"] == "list" and [m["id"] for m in body["data"]] == ["county-news-rag"]


def test_chat_completions(client):
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "county-news-rag",
            "temperature": 0.3,
            "messages": [{"role": "system", "content": "你是助手"}, {"role": "user", "content": Q_INVEST}],
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["finish_reason"] == "stop"
    content = body["choices"][0]["message"]["content"]
    assert "[1]" in content and f"\n\n参考来源：\n[1] 《{T_INVEST}》 2024-05-10" in content


def test_chat_completions_uses_earlier_user_turns_as_history(client):
    r = client.post(
        "/v1/chat/completions",
        json={
            "messages": [
                {"role": "user", "content": "李晓军5月份调研了哪些地方？"},
                {"role": "assistant", "content": "……"},
                {"role": "user", "content": [{"type": "text", "text": "他强调了什么？"}]},
            ]
        },
    )
    content = r.json()["choices"][0]["message"]["content"]
    assert "李晓军" in content and "参考来源" in content


def test_chat_completions_stream(client):
    with client.stream(
        "POST", "/v1/chat/completions", json={"stream": True, "messages": [{"role": "user", "content": Q_SCHOOLS}]}
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(r.read().decode("utf-8"))
    assert events[-1][1] == "[DONE]"
    chunks = [json.loads(d) for _, d in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and len({c["id"] for c in chunks}) == 1 for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "冷口中心校" in text and "参考来源：\n[1] 《张建元带队到我县调研义务教育优质均衡发展情况》" in text


@pytest.mark.parametrize(
    "body,status",
    [
        ({"messages": [{"role": "system", "content": "x"}]}, 400),
        ({"messages": []}, 422),
        ({"messages": [{"role": "user", "content": ""}]}, 422),
    ],
)
def test_chat_completions_errors(client, body, status):
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == status and "error" in r.json()


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_openai_client_gets_a_cited_answer(seed_settings, seed_pipeline):
    """The official ``openai`` package pointed at ``/v1``, as Open WebUI or Dify would be."""
    from openai import OpenAI

    with LiveServer(create_app(seed_settings, seed_pipeline)) as srv:
        client = OpenAI(base_url=f"{srv.url}/v1", api_key="unused", max_retries=0, timeout=60)
        assert [m.id for m in client.models.list()] == ["county-news-rag"]
        done = client.chat.completions.create(model="county-news-rag", messages=[{"role": "user", "content": Q_INVEST}])
        content = done.choices[0].message.content
        assert "[1]" in content and f"参考来源：\n[1] 《{T_INVEST}》" in content
        stream = client.chat.completions.create(
            model="county-news-rag",
            stream=True,
            messages=[
                {"role": "user", "content": "李晓军5月份调研了哪些地方？"},
                {"role": "assistant", "content": "……"},
                {"role": "user", "content": "他强调了什么？"},
            ],
        )
        pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
        text = "".join(pieces)
        assert len(pieces) > 3 and "李晓军强调" in text and "参考来源：\n[1] 《" in text


# -- faults -------------------------------------------------------------------------------------------
class _Broken:
    """A pipeline whose every call fails with a programming error (fault injection)."""

    embedder = type("E", (), {"id": "x"})()

    def ask(self, *a, **kw):
        raise RuntimeError("secret internal detail /etc/passwd")

    def documents(self):
        raise RuntimeError("secret internal detail")


def test_unexpected_error_is_500_without_traceback(seed_settings):
    c = TestClient(create_app(seed_settings, _Broken()), raise_server_exceptions=False)
    for r in (c.post("/api/ask", json={"question": Q_SCHOOLS}), c.get("/api/documents")):
        assert r.status_code == 500
        assert r.json() == {"error": {"code": "internal_error", "message": "服务器内部错误，请稍后重试。"}}
        assert "secret" not in r.text and "Traceback" not in r.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_store_down_at_startup_is_503_then_recovers(tmp_path, embed_cache):
    """Chroma server not running when the app starts: the app starts anyway, answers 503
    with the JSON error, and works once the server is up, without a restart."""
    from tests.conftest import make_settings

    port = _free_port()
    settings = make_settings(tmp_path / "data", embed_cache, chroma_url=f"http://127.0.0.1:{port}")
    chroma = None
    with TestClient(create_app(settings)) as c:  # runs the startup (lifespan)
        r = c.post("/api/ask", json={"question": Q_SCHOOLS})
        assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable"
        assert "127.0.0.1" in r.json()["error"]["message"]
        assert c.get("/api/health").status_code == 503
        try:
            chroma = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "chroma"),
                    "run",
                    "--path",
                    str(tmp_path / "chroma"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 60
            while True:
                r = c.get("/api/health")
                if r.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert r.status_code == 200, r.text
            assert r.json()["chunks"] == 0
            r = c.post("/api/ask", json={"question": Q_SCHOOLS})
            assert r.status_code == 200 and r.json()["abstained"]  # empty archive: an honest abstention
        finally:
            if chroma is not None:
                chroma.terminate()
                chroma.wait(timeout=20)


class _SlowStream:
    """Wraps the real pipeline with a slow token stream, as an LLM answerer would produce
    (the extractive answer is instant, so a disconnect could not be observed with it)."""

    def __init__(self, pipe, pieces: int = 200, delay: float = 0.02):
        self.pipe, self.pieces, self.delay = pipe, pieces, delay
        self.produced = 0
        self.closed = False

    def __getattr__(self, name):  # everything else: the real pipeline
        return getattr(self.pipe, name)

    def ask_stream(self, question, history, *, top_k, filters):
        answer = self.pipe.ask(question, history, top_k=top_k, filters=filters)
        try:
            for _ in range(self.pieces):
                time.sleep(self.delay)
                self.produced += 1
                yield "字"
            yield answer
        finally:
            self.closed = True


@pytest.mark.allow_hosts(["127.0.0.1"])
def test_stream_stops_when_the_client_disconnects(seed_settings, seed_pipeline):
    slow = _SlowStream(seed_pipeline)
    with LiveServer(create_app(seed_settings, slow)) as srv:
        with httpx.Client(timeout=30) as http:
            with http.stream("POST", f"{srv.url}/api/ask/stream", json={"question": Q_SCHOOLS}) as r:
                lines = r.iter_lines()
                assert next(lines) == "event: delta"
                # the stream's blocking work runs in a worker thread: other requests are served meanwhile
                t0 = time.monotonic()
                assert http.get(f"{srv.url}/api/health").status_code == 200
                assert time.monotonic() - t0 < slow.pieces * slow.delay / 2
                assert slow.produced < slow.pieces
        deadline = time.monotonic() + 5
        while not slow.closed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slow.closed, "the stream was not closed after the client left"
        assert slow.produced < slow.pieces / 2


@pytest.mark.slow
@pytest.mark.allow_hosts(["127.0.0.1"])
def test_rag_serve_starts_on_a_fresh_data_dir(tmp_path, embed_cache):
    """`rag serve` as a user runs it: empty data dir, loopback, UI and API both answer."""
    port = _free_port()
    env = {**os.environ, "RAG_DATA_DIR": str(tmp_path / "data"), "RAG_EMBED_CACHE": str(embed_cache)}
    rag = Path(sys.executable).parent / "rag"
    proc = subprocess.Popen(
        [str(rag), "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "rag serve did not start"
                time.sleep(0.5)
        assert r.status_code == 200 and r.json()["chunks"] == 0
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=10).status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out
    assert "Traceback" not in out


# -- upload identity (#11) -----------------------------------------------------------------------


def _multipart(filename: bytes, data: bytes, fields: dict[str, str] | None = None, star: str | None = None) -> tuple:
    """A raw multipart body whose Content-Disposition carries ``filename`` as raw bytes (as
    older Windows tools send GBK names), optional ``filename*`` and plain fields."""
    boundary = "b0undary11"
    parts = b""
    for k, v in (fields or {}).items():
        parts += (f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n').encode()
    disp = b'form-data; name="file"; filename="' + filename + b'"' + (f"; filename*={star}".encode() if star else b"")
    parts += f"--{boundary}\r\n".encode() + b"Content-Disposition: " + disp + b"\r\nContent-Type: text/plain\r\n\r\n"
    parts += data + f"\r\n--{boundary}--\r\n".encode()
    return parts, {"content-type": f"multipart/form-data; boundary={boundary}"}


LEGACY_NAMES = [
    ("gbk", "税务宣传月.txt"),
    ("gb18030", "𠮷祥村简报.txt"),
    ("big5", "稅務宣傳月.txt"),
    ("utf-8", "税务宣传月.txt"),
]


@pytest.mark.parametrize("encoding,name", LEGACY_NAMES, ids=[e for e, _ in LEGACY_NAMES])
def test_upload_file_name_in_a_legacy_encoding_is_decoded(wclient, encoding, name):
    article = (
        f"# 税务宣传月活动启动\n\n本报讯 2024年4月1日，{encoding}编码文件名测试，税务宣传月活动正式启动。\n".encode()
    )
    body, headers = _multipart(name.encode(encoding), article)
    r = wclient.post("/api/documents", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == name  # not "Ë°ÎñÐû´«ÔÂ.txt"
    again = wclient.post("/api/documents", content=body, headers=headers).json()
    assert again["source"] == name and again["added"] == 0  # stable: the same bytes, the same name
    assert name in {d["source"] for d in wclient.get("/api/documents").json()}
    assert wclient.delete("/api/documents/" + quote(name)).status_code == 200


def test_upload_file_name_star_with_a_legacy_charset(wclient):
    body, headers = _multipart(
        b"fallback.txt", ARTICLE.encode("utf-8"), star="GBK''" + quote("通知公告.txt", encoding="gbk")
    )
    r = wclient.post("/api/documents", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["source"] == "通知公告.txt"
    assert wclient.delete("/api/documents/" + quote("通知公告.txt")).status_code == 200


def test_upload_year_field_dates_a_lead_without_a_year(wclient):
    text = "# 县里召开春季植树动员会\n\n本报讯 3月12日，县里召开春季植树动员会，部署全县植树工作。\n".encode()
    r = wclient.post("/api/documents", files={"file": ("植树.txt", text)}).json()
    assert r["undated"] == 1 and r["undated_articles"] == [{"file": "植树.txt", "title": "县里召开春季植树动员会"}]
    for year in ("2024", " 2024年 ", "２０２４"):
        body, headers = _multipart("植树.txt".encode(), text, fields={"year": year})
        r = wclient.post("/api/documents", content=body, headers=headers)
        assert r.status_code == 200 and r.json()["undated"] == 0, r.text
    ans = wclient.post(
        "/api/ask", json={"question": "春季植树动员会部署了什么？", "date_from": "2024-03-12", "date_to": "2024-03-12"}
    ).json()
    assert not ans["abstained"] and ans["citations"][0]["date"] == "2024-03-12"
    for bad in ("24", "明年", "3024"):
        body, headers = _multipart("植树.txt".encode(), text, fields={"year": bad})
        r = wclient.post("/api/documents", content=body, headers=headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_year"
    assert wclient.delete("/api/documents/" + quote("植树.txt")).status_code == 200


def test_same_content_under_a_new_name_is_a_clear_409(wclient):
    text = "# 县里召开安全生产会议\n\n本报讯 2024年6月3日，县里召开安全生产会议，部署安全生产大检查。\n".encode()
    assert wclient.post("/api/documents", files={"file": ("X.txt", text)}).status_code == 200
    r = wclient.post("/api/documents", files={"file": ("X-副本.txt", text)})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "duplicate_content" and "「X.txt」" in err["message"] and "X-副本.txt" in err["message"]
    sources = {d["source"] for d in wclient.get("/api/documents").json()}
    assert "X.txt" in sources and "X-副本.txt" not in sources  # never listed, so never a 404 surprise
    assert wclient.post("/api/documents", files={"file": ("X.txt", text)}).status_code == 200  # same name: unchanged
    assert wclient.delete("/api/documents/" + quote("X.txt")).status_code == 200
    r = wclient.post("/api/documents", files={"file": ("X-副本.txt", text)})  # the content is free again
    assert r.status_code == 200 and r.json()["articles"] == 1
    assert wclient.delete("/api/documents/" + quote("X-副本.txt")).status_code == 200


def test_chat_documents_tab_uses_the_year_and_never_shows_a_duplicate_as_imported(writable, tmp_path):
    """The 文档管理 tab's upload function (what the page calls): the year input dates the
    article; a copy under a new name is a red message naming the stored document."""
    from rag.service import PipelineHolder
    from ui.app import make_doc_fns

    settings, pipe = writable
    received: set[str] = set()  # Gradio's upload_file_set: what its upload route received
    _refresh, upload, _delete = make_doc_fns(PipelineHolder(settings, pipe), settings, received)
    text = "县里召开春耕备耕会\n本报讯 3月20日，县里召开春耕备耕会，安排部署春耕生产。\n"

    def put(name: str, year: str = "") -> str:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        received.add(str(p))
        return upload(str(p), "", year)[3]

    status = put("春耕.txt")
    assert 'class="rag-ok"' in status and "没有日期" in status and "县里召开春耕备耕会" in status
    status = put("春耕.txt", "2024")
    assert 'class="rag-ok"' in status and "没有日期" not in status
    assert pipe.store.get_chunks(pipe.store.ids_where({"source": "春耕.txt"}))[0].date == "2024-03-20"
    status = put("春耕-副本.txt", "2024")
    assert 'class="rag-error"' in status and 'class="rag-ok"' not in status and "「春耕.txt」" in status
    assert "bad_year" not in put("春耕2.txt", "明年") and "年份" in put("春耕2.txt", "明年")
    assert pipe.delete_document("春耕.txt") > 0
