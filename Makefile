# Two commands for a new user: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.zhongli-installed
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
REQ := $(if $(HAS_GPU),requirements-gpu.txt,requirements-cpu.txt)

.PHONY: install demo test lint browser clean-venv

$(STAMP): requirements.txt requirements-cpu.txt requirements-gpu.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r $(REQ) -r requirements-dev.txt
	@# PyPI's torchvision/torchaudio/torchcodec do not match the CPU torch and break
	@# `import transformers` model classes ("operator torchvision::nms does not exist").
	$(if $(HAS_GPU),,$(PY) -m pip uninstall -q -y torchvision torchaudio torchcodec)
	$(PY) -c "import torch, transformers, trl, peft, vllm, gradio, jieba; from transformers import Qwen2ForCausalLM; print('zhongli: environment ready, torch', torch.__version__, 'vllm', vllm.__version__)"
	@touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the headless browser test (Playwright drives it via executable_path).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || sudo sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null'; }

demo: install
	$(PY) -m app

test: install browser
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean-venv:
	rm -rf $(VENV)
