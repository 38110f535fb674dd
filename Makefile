# Two commands for a new user: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.zhongli-installed
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
REQ := $(if $(HAS_GPU),requirements-gpu.txt,requirements-cpu.txt)

.PHONY: install demo test lint system-deps clean-venv

# The pins live in pyproject.toml; requirements-{cpu,gpu}.txt install zhongli (editable) with its extras.
$(STAMP): pyproject.toml setup.py requirements.txt requirements-cpu.txt requirements-gpu.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r $(REQ) -r requirements-dev.txt
	@# PyPI's torchvision/torchaudio/torchcodec do not match the CPU torch and break
	@# `import transformers` model classes ("operator torchvision::nms does not exist").
	$(if $(HAS_GPU),,$(PY) -m pip uninstall -q -y torchvision torchaudio torchcodec)
	$(PY) -c "import torch, transformers, trl, peft, vllm, gradio, jieba, zhongli; from transformers import Qwen2ForCausalLM; print('zhongli', zhongli.__version__, 'environment ready, torch', torch.__version__, 'vllm', vllm.__version__)"
	@touch $(STAMP)

install: $(STAMP)

# System packages from Debian: Chromium for the headless browser test (Playwright drives it
# through executable_path) and a CJK font so plots and screenshots render Chinese.
SYSTEM_PKGS := chromium fonts-wqy-microhei
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then \
	  echo "installing Debian packages: $(SYSTEM_PKGS)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PKGS) >/dev/null; \
	fi

demo: install
	$(PY) -m rewards score --input assets/data/sample_train.tsv --preset default
	$(PY) -m app

test: install system-deps
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean-venv:
	rm -rf $(VENV)
