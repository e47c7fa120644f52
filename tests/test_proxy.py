"""Serving under a path prefix behind a reverse proxy (``rag serve --root-path /rag``).

In-process first (TestClient): every route answers with the prefix (a proxy that keeps it)
and without it (a proxy that strips it), and every URL the app builds carries it. Then the
real thing: ``rag serve --root-path /rag`` behind two real nginx (Debian's package, started
here as the test user with a temp prefix on free loopback ports; ``make test`` installs it),
one stripping the prefix and one keeping it: pages, assets, ``/docs``, the API, SSE and the
Gradio client through each; then Chromium once through the stripping one, from a click on an
example question to the 有误 button and the line ``rag feedback export`` writes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from eval.runner import load_dataset
from rag.api import create_app
from rag.cli import app as cli
from rag.errors import RagError
from rag.settings import Settings
from tests.conftest import stop_process
from tests.live_server import private_settings_and_pipeline
from ui.server import create_server

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ROOT = "/rag"
Q_SCHOOLS = "调研组到了哪些学校？"
T_SCHOOLS = "张建元带队到我县调研义务教育优质均衡发展情况"

pytestmark = [
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assets(html: str) -> list[str]:
    """Script and stylesheet URLs of a page (``src=``/``href=`` of its tags, and swagger's openapi url)."""
    return re.findall(r"""(?:src|href)=["']([^"'#]+\.(?:js|css|png))["']""", html)


# -- in process -------------------------------------------------------------------------------------
@pytest.mark.parametrize("raw,expected", [("/rag", "/rag"), ("rag/", "/rag"), (" /a/b/ ", "/a/b"), ("/", ""), ("", "")])
def test_settings_normalise_the_root_path(raw, expected):
    assert Settings(root_path=raw).root_path == expected


@pytest.mark.parametrize("bad", ["/a b", "/rag?x=1", "http://oa.example/rag"])
def test_a_root_path_that_is_not_a_url_path_is_refused(seed_settings, bad):
    with pytest.raises(RagError) as e:
        create_app(replace(seed_settings, root_path=bad))
    assert e.value.code == "bad_root_path" and "路径前缀" in e.value.message


def test_rag_serve_refuses_a_bad_root_path_in_chinese(tmp_path):
    r = CliRunner().invoke(
        cli, ["serve", "--root-path", "/a b", "--port", str(_free_port()), "--data-dir", str(tmp_path / "data")]
    )
    assert r.exit_code == 2 and "路径前缀" in r.stderr and "bad_root_path" in r.stderr


@pytest.fixture(scope="module")
def rooted(seed_settings, seed_pipeline):
    return TestClient(create_server(replace(seed_settings, root_path="rag/"), seed_pipeline))


@pytest.mark.parametrize("prefix", [ROOT, ""], ids=["prefix-kept", "prefix-stripped"])
def test_every_route_answers_with_or_without_the_prefix(rooted, prefix):
    assert rooted.get(f"{prefix}/api/health").json()["articles"] == 5
    answer = rooted.post(f"{prefix}/api/ask", json={"question": Q_SCHOOLS}).json()
    assert answer["citations"][0]["title"] == T_SCHOOLS
    assert rooted.get(f"{prefix}/api/nope").json()["error"]["code"] == "not_found"
    # the URLs the app builds carry the prefix, however the request came
    docs = rooted.get(f"{prefix}/docs").text
    assets = _assets(docs)
    assert assets and all(a.startswith(f"{ROOT}/") for a in assets), assets
    assert f"'{ROOT}/openapi.json'" in docs
    for asset in assets:
        assert rooted.get(asset).status_code == 200, asset
    assert rooted.get(f"{prefix}/openapi.json").json()["servers"] == [{"url": ROOT}]
    assert rooted.get(f"{prefix}/").status_code == 200
    assert rooted.get(f"{prefix}/config").json()["root"] == f"http://testserver{ROOT}"


# -- behind nginx -----------------------------------------------------------------------------------
NGINX_CONF = """\
daemon off;
master_process off;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 25m;
    location = {root} {{ return 301 {root}/; }}
    location {root}/ {{
      proxy_pass http://127.0.0.1:{upstream}{upstream_path};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_read_timeout 300s;
    }}
  }}
}}
"""


class Nginx:
    """A real nginx on a free loopback port in front of ``upstream``: ``strip`` passes
    ``/rag/x`` on as ``/x`` (``proxy_pass http://up/;``), otherwise as ``/rag/x``."""

    def __init__(self, directory: Path, upstream: int, strip: bool):
        self.dir, self.port = Path(directory), _free_port()
        self.base = f"http://127.0.0.1:{self.port}{ROOT}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(
            NGINX_CONF.format(
                dir=self.dir, port=self.port, root=ROOT, upstream=upstream, upstream_path="/" if strip else ""
            ),
            encoding="utf-8",
        )
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.dir), "-c", str(self.conf), "-e", str(self.dir / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "stderr.log").open("wb"),
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"nginx did not start: {(self.dir / 'stderr.log').read_text(errors='replace')}"
                        f"{(self.dir / 'error.log').read_text(errors='replace') if (self.dir / 'error.log').exists() else ''}"
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture(scope="module")
def served(tmp_path_factory, embed_cache):
    """``rag serve --root-path /rag`` (a subprocess, as deployed) on a data dir holding the seed
    corpus (ingested here through the session's embedding cache)."""
    if not Path(NGINX).exists():
        pytest.skip("nginx missing: run `make test` (apt-get install nginx)")
    settings, _pipe = private_settings_and_pipeline(tmp_path_factory.mktemp("proxied"), embed_cache)
    port = _free_port()
    env = {**os.environ, "RAG_EMBED_CACHE": str(embed_cache), "RAG_EMBED_THREADS": "1"}
    env.pop("RAG_ROOT_PATH", None)
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "rag"),
            "serve",
            "--port",
            str(port),
            "--root-path",
            ROOT,
            "--data-dir",
            str(settings.data_dir),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}{ROOT}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "rag serve did not start"
            time.sleep(0.5)
        yield SimpleNamespace(port=port, settings=settings, log=log)
    finally:
        proc.terminate()
        proc.wait(30)
    assert "Traceback" not in log.read_text(errors="replace")


@pytest.fixture(scope="module")
def proxies(served, tmp_path_factory):
    """Two nginx in front of the one server: ``strip`` and ``keep``."""
    root = tmp_path_factory.mktemp("nginx")
    started = {}
    try:
        for mode in ("strip", "keep"):
            started[mode] = Nginx(root / mode, served.port, strip=mode == "strip")
        yield started
    finally:
        for n in started.values():
            n.stop()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["strip", "keep"])
def test_the_chat_its_assets_docs_and_api_through_nginx(proxies, mode):
    from gradio_client import Client

    base = proxies[mode].base
    with httpx.Client(timeout=60) as http:
        r = http.get(base)  # no trailing slash: nginx redirects
        assert r.status_code == 301 and r.headers["location"].endswith(f"{ROOT}/")
        page = http.get(base + "/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        for asset in _assets(page.text):
            url = httpx.URL(base + "/").join(asset)
            assert url.path.startswith(f"{ROOT}/") and http.get(url).status_code == 200, asset
        assert http.get(base + "/config").json()["root"] == base  # the URL the page calls back on
        assert http.get(base + "/theme.css").status_code == 200
        docs = http.get(base + "/docs")
        assert docs.status_code == 200
        for asset in _assets(docs.text):
            assert http.get(httpx.URL(base).join(asset)).status_code == 200, asset
        assert http.get(base + "/openapi.json").json()["servers"] == [{"url": ROOT}]
        answer = http.post(base + "/api/ask", json={"question": Q_SCHOOLS}).json()
        assert answer["citations"][0]["title"] == T_SCHOOLS
        with http.stream("POST", base + "/api/ask/stream", json={"question": Q_SCHOOLS}) as r:
            events = [line for line in r.iter_lines() if line.startswith("event: ")]
        assert events.count("event: delta") > 3 and events[-1] == "event: final"
    chat = Client(base + "/", verbose=False, download_files=False).predict(Q_SCHOOLS, [], api_name="/chat")
    assert "冷口中心校" in str(chat[-1]["content"])


@pytest.mark.slow
def test_browser_through_nginx_example_click_to_an_exported_feedback_line(proxies, served):
    """Chromium at http://127.0.0.1:<nginx>/rag/ (prefix stripped by nginx): clicking an
    example asks it, its source opens on the highlighted quote, 有误 with a comment is stored,
    and ``rag feedback export`` turns it into an evaluation dataset line. Every request the
    page makes goes through nginx under /rag/."""
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium missing: run `make browser` (apt-get install chromium)")
    nginx = proxies["strip"]
    stray: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
            context.set_default_timeout(90_000)

            def guard(route):
                url = urlparse(route.request.url)
                if route.request.url.startswith(("data:", "blob:")) or (
                    url.hostname == "127.0.0.1" and url.port == nginx.port and url.path.startswith(f"{ROOT}/")
                ):
                    route.continue_()
                else:
                    stray.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.goto(nginx.base + "/")
            page.get_by_text(Q_SCHOOLS, exact=True).click()  # an example question: clicking asks it
            page.wait_for_function("document.querySelectorAll('#chat .rag-sources').length >= 1")
            assert Q_SCHOOLS in page.inner_text("#chat")
            page.locator("#chat details.rag-source summary").first.click()
            marked = page.locator("#chat .rag-quote mark.rag-hl").first
            assert marked.is_visible() and "冷口中心校" in marked.inner_text()
            page.fill("#fb-comment textarea", "还应列出第三实验小学的调研内容")
            page.click("#fb-wrong")
            page.wait_for_function("document.querySelector('#fb-status')?.innerText.includes('已记录：有误')")
        finally:
            browser.close()
    assert stray == []

    out = served.settings.data_dir.parent / "from-feedback.jsonl"
    r = CliRunner().invoke(cli, ["feedback", "export", "--out", str(out), "--data-dir", str(served.settings.data_dir)])
    assert r.exit_code == 0, r.output
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert line["question"] == Q_SCHOOLS and line["facts"] == [] and line["kind"] == "fact"
    assert line["articles"] == [T_SCHOOLS] and line["id"].startswith("feedback-")
    assert line["feedback"]["comment"] == "还应列出第三实验小学的调研内容" and line["feedback"]["vote"] == "wrong"
    assert "冷口中心校" in line["feedback"]["answer"] and line["feedback"]["citations"][0]["title"] == T_SCHOOLS
    assert load_dataset(out)[0]["question"] == Q_SCHOOLS
