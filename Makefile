# Trợ lý Dịch vụ công — developer and operator entry points. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export PIP_DISABLE_PIP_VERSION_CHECK := 1

VENV := .venv
VENV_RASA := .venv-rasa
PY := $(VENV)/bin/python
RASA := $(VENV_RASA)/bin/rasa
TROLYDVC := $(VENV)/bin/trolydvc

.PHONY: help setup run test train serve cluster nginx cluster-db nlu-data nlu-eval validate lint format clean bench chromium

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# --- environments (idempotent: rebuilt only when their inputs change) ------------------
$(VENV)/.installed: pyproject.toml constraints/venv.txt
	@py=$$(scripts/find_python.sh 3.11) && { [ -x $(PY) ] || $$py -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints/venv.txt -e '.[dev]'
	@touch $@

$(VENV_RASA)/.installed: constraints/rasa.txt
	@py=$$(scripts/find_python.sh 3.10) && { [ -x $(VENV_RASA)/bin/python ] || $$py -m venv $(VENV_RASA); }
	$(VENV_RASA)/bin/python -m pip install -q -c constraints/rasa.txt rasa==3.6.21
	@# the NLU components live in this repository: make it importable from the Rasa env
	@echo "$(CURDIR)" > $$($(VENV_RASA)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/trolydvc-repo.pth
	@touch $@

# messages: the bot's own strings; answers: the labels of the assistant's answers (actions/language.py)
locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d locales -D messages -l $* -i $< -o $@

locales/%/LC_MESSAGES/answers.mo: locales/%/LC_MESSAGES/answers.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d locales -D answers -l $* -i $< -o $@

setup: $(VENV)/.installed $(VENV_RASA)/.installed $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/messages.po locales/*/LC_MESSAGES/answers.po)) ## Create both environments and compile translations

lint: $(VENV)/.installed ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup train chromium nginx ## Set up and run the whole test suite (CI runs `make lint test`)
	$(PY) -m pytest -q

chromium: ## Debian's chromium for the browser tests (tests/web), installed when missing
	scripts/ensure_chromium.sh

# --- the assistant ------------------------------------------------------------------------
train: setup ## Train models/assistant.tar.gz if any training input changed
	$(PY) scripts/train.py

serve: setup train ## Rasa on 127.0.0.1:5005 (REST, API) + action server on :5055 + web app on :8000, until Ctrl-C
	$(TROLYDVC) serve

# The production topology on this machine (deploy/README.md): PostgreSQL and Redis must run here.
CLUSTER_DB ?= trolydvc
cluster: export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/$(CLUSTER_DB)
cluster: export REDIS_URL ?= redis://127.0.0.1:6379/0
cluster: setup train nginx cluster-db ## nginx :8080 -> 2 Rasa replicas (PostgreSQL, Redis) -> action servers, until Ctrl-C
	$(TROLYDVC) cluster

nginx: ## Install nginx (Debian package) when it is missing
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || apt-get install -y nginx \
		|| { apt-get update && apt-get install -y nginx; }

cluster-db: export DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/$(CLUSTER_DB)
cluster-db: setup ## Create the cluster's PostgreSQL database when missing, and migrate it
	@psql "$${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$${DATABASE_URL##*/}'" | grep -q 1 \
		|| psql "$${DATABASE_URL%/*}/postgres" -c "CREATE DATABASE \"$${DATABASE_URL##*/}\""
	$(TROLYDVC) db upgrade

run: setup train ## Start the assistant (web page on :8000) and chat in the terminal (Telegram bot if TELEGRAM_BOT_TOKEN is set)
	$(TROLYDVC) run

nlu-eval: setup ## Train and evaluate the NLU on tests/nlu/heldout.yml against two baselines
	$(PY) bench/nlu_eval.py

nlu-data: setup ## Regenerate nlu_data/generated/ from the catalog (train does it too)
	$(TROLYDVC) nlu build

validate: nlu-data ## Check the training data (rasa data validate) and the procedure catalog
	$(RASA) data validate --fail-on-warnings --domain domain.yml --data nlu_data --config config.yml
	$(TROLYDVC) catalog validate

bench: setup train ## Run the benchmarks that take minutes, not hours (all but nlu-eval; PostgreSQL for the tracking ones)
	$(PY) bench/catalog_search.py
	$(PY) bench/tracking_import.py
	$(PY) bench/tracking_lookup.py
	$(PY) bench/tracking_stats.py
	$(PY) bench/broadcast.py
	$(PY) bench/e2e.py --start

clean: ## Remove environments, models and local data
	rm -rf $(VENV) $(VENV_RASA) models var .pytest_cache .ruff_cache
