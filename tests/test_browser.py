"""End to end in a real browser: Playwright driving Debian's Chromium against the server on
loopback. Asks, follows up, checks sources, uploads an article full of markup through the
documents tab and checks it is shown as text and never runs; no request leaves loopback.

Chromium: ``/usr/bin/chromium`` (``make browser`` installs it; never ``playwright install``).
Screenshot: saved under the test's tmp dir; with ``RAG_SCREENSHOT_DIR`` set (``make screenshot``)
a small palette PNG of the chat is also written there for the README.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ui.server import create_server
from tests.live_server import LiveServer, private_settings_and_pipeline

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium missing: run `make browser` (apt-get install chromium)"),
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]

Q_INVEST = "县长在招商引资工作推进会议上强调了什么？"
T_INVEST = "我县召开2024年招商引资工作推进会议"
SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=2">'
EVIL_ARTICLE = (f"# 网页安全测试{SCRIPT}专题\n\n"
                f"本报讯 5月22日，县信息中心开展网页安全测试，测试文本包含{SCRIPT}和{IMG}两段代码。"
                "网页安全测试要求所有代码按原文显示，不得执行。\n")

# Records, in the page, every text the newest answer showed before its sources appeared.
WATCH_STREAM = """() => {
  window.__partials = new Set();
  new MutationObserver(() => {
    const bots = document.querySelectorAll('#chat .rag-answer, #chat .rag-pending');
    const last = bots[bots.length - 1];
    if (last && !last.closest('.message, [data-testid="bot"]')?.querySelector('.rag-sources')) {
      window.__partials.add(last.textContent);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, embed_cache):
    settings, pipe = private_settings_and_pipeline(tmp_path_factory.mktemp("browser"), embed_cache)
    with LiveServer(create_server(settings, pipe)) as srv:
        yield srv


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        context.set_default_timeout(90_000)  # the 2-core CI box is shared; normal runs take seconds
        external: list[str] = []

        def guard(route):
            host = urlparse(route.request.url).hostname
            if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        pg = context.new_page()
        pg.external_requests = external
        pg.goto(server.url + "/")
        pg.wait_for_selector("#question textarea")
        yield pg
        browser.close()


def _ask(page, question: str, n_answers: int) -> None:
    """Type a question, send it, wait until the n-th final answer (or abstention) is shown."""
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat .rag-sources, #chat .rag-abstain, #chat .rag-error').length >= n",
        arg=n_answers)


def _last_bot_text(page) -> str:
    return page.locator("#chat .rag-answer, #chat .rag-abstain, #chat .rag-error").last.inner_text()


def test_chat_follow_up_and_sources(page, tmp_path):
    page.evaluate(WATCH_STREAM)
    _ask(page, Q_INVEST, 1)
    partials = page.evaluate("[...window.__partials]")
    assert len(partials) >= 3, partials  # the answer was shown growing before its sources came
    assert "[1]" in _last_bot_text(page)
    first = page.locator("#chat details.rag-source summary").first
    assert first.inner_text().startswith(f"[1] 《{T_INVEST}》")
    first.click()
    assert page.locator("#chat details.rag-source .rag-quote").first.is_visible()

    _ask(page, "李晓军5月份调研了哪些地方？", 2)
    _ask(page, "他强调了什么？", 3)
    assert page.locator("#chat .rag-standalone").last.inner_text() == "按“李晓军强调了什么？”检索"
    answer = _last_bot_text(page)
    assert "李晓军" in answer and "[1]" in answer
    sources = page.locator("#chat .rag-sources").last.locator("summary").all_inner_texts()
    assert sources and sources[0].startswith("[1] 《") and any("李晓军" in s for s in sources)

    shot = tmp_path / "chat.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    _publish(shot)

    page.click("#new-chat")
    page.wait_for_function("document.querySelectorAll('#chat .rag-sources, #chat .rag-abstain').length === 0")
    assert page.external_requests == []


def test_markup_in_an_article_is_shown_as_text_and_never_runs(page, tmp_path):
    upload = tmp_path / "安全测试.txt"
    upload.write_text(EVIL_ARTICLE, encoding="utf-8")
    page.get_by_role("tab", name="文档管理").click()
    page.locator("#upload input[type=file]").set_input_files(str(upload))
    page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('已导入')")
    assert "已导入 安全测试.txt" in page.inner_text("#doc-status")
    table = page.inner_text("#doc-table")
    assert "安全测试.txt" in table and SCRIPT in table  # the title, as text

    page.get_by_role("tab", name="问答").click()
    n = page.locator("#chat .rag-sources, #chat .rag-abstain, #chat .rag-error").count()
    _ask(page, "网页安全测试要求什么？", n + 1)
    summary = page.locator("#chat .rag-sources").last.locator("summary").first
    assert f"网页安全测试{SCRIPT}专题" in summary.inner_text()
    summary.click()
    quote = page.locator("#chat .rag-sources").last.locator(".rag-quote").first.inner_text()
    assert SCRIPT in quote and IMG in quote
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#chat img[src='x']").count() == 0
    assert page.locator("#chat script").count() == 0
    assert page.external_requests == []


def _publish(shot: Path) -> None:
    """Copy the screenshot to ``RAG_SCREENSHOT_DIR`` (if set) as a small palette PNG."""
    target = os.environ.get("RAG_SCREENSHOT_DIR")
    if not target:
        return
    out = Path(target) / "chat.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        from PIL import Image

        Image.open(shot).convert("RGB").quantize(colors=64).save(out, optimize=True)
    except ImportError:
        shutil.copyfile(shot, out)
