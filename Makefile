# Two entry points: `make demo` and `make test`. Both create .venv when needed and are idempotent.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
STAMP   := $(VENV)/.installed
RUNS    ?= runs
DEMO_RUN := demo-$(shell date -u +%Y%m%d-%H%M%S)

.PHONY: install demo test lint check bench clean

# torch first, pinned: it is the CPU build on local disk; installing it later would let pip
# resolve torch from the index and pull a multi-GB CUDA build. constraints.txt pins the rest.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	bash scripts/ensure-cjk-font
	$(VENV)/bin/tuneforge train src/tuneforge/demo/intents.csv --runs-dir $(RUNS) --name $(DEMO_RUN)
	$(VENV)/bin/tuneforge predict $(DEMO_RUN) --runs-dir $(RUNS) --top-k 2 \
		"hi, my parcel never showed up, where is order 4471?" \
		"I typed my password wrong too many times and now I'm locked out"
	@echo "report: $(RUNS)/$(DEMO_RUN)/report.html"

test: $(STAMP)
	bash scripts/ensure-postgres
	bash scripts/ensure-label-studio
	bash scripts/ensure-flower
	bash scripts/ensure-chromium
	bash scripts/ensure-cjk-font
	$(VENV)/bin/pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench examples

check: lint test
	@big=$$(find src -name '*.py' -print0 | xargs -0 wc -l | awk '$$2!="total" && $$1>800'); \
	if [ -n "$$big" ]; then echo "modules over 800 lines:"; echo "$$big"; exit 1; fi

bench: $(STAMP)
	$(PIP) install -q -c constraints.txt -e '.[dev,bench]'
	$(PY) bench/train_speed.py
	$(PY) bench/quality.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
