"""``/v1`` content as Markdown with everything from the archive shown as text: an article
holding a Markdown link, a Markdown image, an HTML link and bare web addresses comes back
(plain and streamed) with no live link or image once rendered by a CommonMark renderer
(markdown-it-py), no address a GFM autolink would catch, one point per paragraph and each
article's quoted sentences under it."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt

from rag.api import create_app
from rag.api.markdown import STREAM_HOLD, answer_markdown, md_text
from tests.live_server import private_settings_and_pipeline

LINK = "[县医保中心信息科](http://ybj.example.cn/staff?u=staff)"
IMAGE = "![二维码](http://ybj.example.cn/qr.png)"
HTML = '<a href="http://evil.example">这里</a><img src=x>'
ARTICLE = (
    "# 县医保中心开通线上服务平台\n\n"
    f"本报讯 2024年5月21日，县医保中心线上服务平台正式开通。平台由{LINK}负责运营维护。"
    f"群众扫描{IMAGE}即可在线办理医保业务，详情见www.example.cn或{HTML}。\n"
)
QUESTION = "群众怎样在线办理医保业务？"


@pytest.fixture(scope="module")
def client(tmp_path_factory, embed_cache):
    settings, pipe = private_settings_and_pipeline(tmp_path_factory.mktemp("v1md"), embed_cache)
    path = tmp_path_factory.mktemp("v1src") / "医保.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    report = pipe.ingest_file(path, source="医保.txt")
    assert report.articles == 1, report
    return TestClient(create_app(settings, pipe))


def _assert_shown_as_text(content: str) -> None:
    html = MarkdownIt("commonmark").render(content)
    assert "<a " not in html and "<img" not in html and "<script" not in html, html
    # nothing a GitHub Flavored Markdown autolink would catch (http://, www.) is left whole
    assert "://" not in content and not re.search(r"(?i)www\.", content), content


def test_v1_returns_archive_markdown_as_text(client):
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
    content = r.json()["choices"][0]["message"]["content"]
    answer, refs = content.split("\n\n参考来源：\n")
    assert "二维码" in answer and "[1]" in answer
    _assert_shown_as_text(content)
    rendered = MarkdownIt("commonmark").render(content)
    assert f"扫描！{IMAGE[1:]}即可" in rendered  # once rendered, the text exactly as written
    assert "&lt;a href=&quot;http:" in rendered  # the HTML shows as text
    assert refs.startswith("[1] 《县医保中心开通线上服务平台》 2024-05-21")
    assert "\n> " in refs and "二维码" in refs.split("\n> ", 1)[1]  # the quoted sentence under its article


def test_v1_stream_returns_the_same_escaped_content(client):
    plain = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
    with client.stream(
        "POST", "/v1/chat/completions", json={"stream": True, "messages": [{"role": "user", "content": QUESTION}]}
    ) as r:
        body = r.read().decode("utf-8")
    pieces = [
        json.loads(line[6:])["choices"][0]["delta"].get("content", "")
        for line in body.splitlines()
        if line.startswith("data: {")
    ]
    assert "".join(pieces) == plain.json()["choices"][0]["message"]["content"]
    _assert_shown_as_text("".join(pieces))


def test_markdown_escapes_and_one_point_per_paragraph():
    assert md_text("[a](http://x) ![b](y) <b>") == r"\[a\](http:\/\/x) !\[b\](y) \<b\>"
    assert md_text("# 标题\n> 引用\n- 项") == "\\# 标题\n\\> 引用\n\\- 项"
    assert md_text("WWW.a.cn 5.3 2024-05-10") == r"WWW\.a.cn 5.3 2024-05-10"
    assert answer_markdown("王辨明。[1]……县政府办主任王辨明主持会议。[1](注)") == (
        "王辨明。[1]\n\n……县政府办主任王辨明主持会议。[1]\n\n(注)"
    )


def test_streamed_prefixes_never_change_once_sent():
    """What ``/v1`` sends while streaming (all but the last STREAM_HOLD characters of the
    rendered prefix) is always a prefix of the final rendering, wherever the text is cut."""
    text = f"平台由{LINK}负责。[1]群众扫描{IMAGE}即可，详情见www.example.cn或{HTML}。[1][2]；下一项。[2]"
    final = answer_markdown(text)
    for cut in range(len(text)):
        sent = answer_markdown(text[:cut])[: max(0, len(answer_markdown(text[:cut])) - STREAM_HOLD)]
        assert final.startswith(sent), (cut, sent)
