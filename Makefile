# The two commands of the README are `make run` and `make test`; the other targets are their steps.
SHELL := /bin/bash
PY := .venv/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export RASA_TELEMETRY_ENABLED := false
export TOKENIZERS_PARALLELISM := false

.PHONY: run test env browser kb model lint bench bench-load clean

env:  ## create/update .venv (app, Python 3.11) and .venv-bot (Rasa, Python 3.10)
	@scripts/ensure_envs.sh

browser:  ## Debian chromium for the browser tests
	@scripts/ensure_browser.sh

kb: env  ## validate the FAQ markdown, (incrementally) rebuild the FAISS index in var/kb_index, write the ONNX export in var/kb_onnx
	@$(PY) -m knowledge_base validate
	@$(PY) -m knowledge_base build

model: env  ## train the Rasa model into var/models/bot.tar.gz (skipped when its inputs are unchanged)
	@scripts/train_bot.sh

run: kb model  ## start the service, the Rasa server and the action server; Ctrl-C stops all
	@$(PY) scripts/run_all.py

test: kb model browser  ## the whole suite on SQLite, then the database tests again on PostgreSQL if TEST_DATABASE_URL is set
	@env -u TEST_DATABASE_URL $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== database tests again on PostgreSQL ($$TEST_DATABASE_URL)"; \
	  $(PY) -m pytest -m "db and not slow and not browser" $(PYTEST_ARGS); \
	fi

lint: env  ## ruff everywhere, mypy --strict on handoff, actions, knowledge_base, contract and telemetry (settings in pyproject.toml)
	@$(PY) -m ruff check knowledge_base actions handoff contract telemetry bot tests benchmarks scripts
	@$(PY) -m mypy

bench: kb model  ## quality and speed benchmarks (numbers in benchmarks/results/)
	@$(PY) benchmarks/kb_quality.py
	@$(PY) benchmarks/kb_speed.py

bench-load: kb model  ## 50 borrowers for 60 s against bare Rasa and through the service (alternating 30 s rounds), then agent replies to borrower WebSockets (benchmarks/results/load.md, agent_delivery.md)
	@$(PY) benchmarks/load/run.py $(BENCH_LOAD_ARGS)

clean:
	rm -rf var/models var/kb_index var/kb_onnx
