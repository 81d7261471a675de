# commune-reports: `make run` (set up + run both DAGs on the sample inbox) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DEFAULT_TIMEZONE := Asia/Ho_Chi_Minh
export GX_ANALYTICS_ENABLED := False
export COMMUNE_REPORTS_HOME ?= $(CURDIR)/data

.PHONY: venv run airflow-db test-tools test lint lock lock-check bench sample-inbox clean

venv: $(STAMP)

# The virtual environment is built from the committed lock files only (no network at run time
# except the package index); `uv pip sync` makes it match them exactly: the runtime set the
# image installs (requirements.lock) plus the test and lint tools (requirements-dev.lock).
$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock requirements-dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

$(AIRFLOW_HOME)/airflow.db: $(STAMP)
	mkdir -p $(AIRFLOW_HOME)
	$(BIN)/airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/db-migrate.log; exit 1)

airflow-db: $(AIRFLOW_HOME)/airflow.db

# Copy the sample inbox in as if the units had sent it, run both DAGs over 2021-2023 with
# `airflow dags test` on the embedded defaults (SQLite warehouse in ./data), print the report.
run: venv airflow-db
	mkdir -p $(COMMUNE_REPORTS_HOME)/inbox
	cp -Rn include/sample_inbox/. $(COMMUNE_REPORTS_HOME)/inbox/
	$(BIN)/airflow dags test commune_reports_quarterly -c '{"periods": "2021Q1..2023Q4"}' \
		> $(AIRFLOW_HOME)/run-quarterly.log 2>&1 || (tail -50 $(AIRFLOW_HOME)/run-quarterly.log; exit 1)
	$(BIN)/airflow dags test commune_reports_yearly -c '{"periods": "2021..2023"}' \
		> $(AIRFLOW_HOME)/run-yearly.log 2>&1 || (tail -50 $(AIRFLOW_HOME)/run-yearly.log; exit 1)
	@grep -h "DagRun Finished" $(AIRFLOW_HOME)/run-quarterly.log $(AIRFLOW_HOME)/run-yearly.log \
		| grep -o "dag_id=[a-z_]*\|state=[a-z]*" | paste - -
	$(BIN)/commune-reports report --period 2021..2023
	@echo "Published (HTML report with a page per unit, draft document, Data Docs):"
	@ls -1 $(COMMUNE_REPORTS_HOME)/reports/2021_to_2023.html $(COMMUNE_REPORTS_HOME)/reports/2021_to_2023.docx \
		$(COMMUNE_REPORTS_HOME)/reports/data_docs/index.html

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff check --preview --select AIR .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint sql

# What the tests open the published outputs with, from Debian's packages when missing (as root,
# or through sudo): Chromium and its ChromeDriver for the pages (tests/pages), LibreOffice and
# poppler for the document (tests/integration/test_document.py), Dovecot and OpenSSH for the
# mailbox and SFTP sources (tests/intake).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-tools:
	@command -v chromium > /dev/null && command -v chromedriver > /dev/null \
		&& command -v soffice > /dev/null && command -v pdftoppm > /dev/null \
		&& test -x /usr/sbin/dovecot && test -x /usr/sbin/sshd || ( \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver fonts-dejavu-core \
			libreoffice-writer-nogui poppler-utils fonts-liberation \
			dovecot-imapd openssh-server > /dev/null)

test: venv test-tools
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -q

COMPILE = $(BIN)/uv pip compile --quiet --python-version 3.11

lock:
	$(COMPILE) requirements.in -o requirements.lock
	$(COMPILE) requirements-dev.in -o requirements-dev.lock

# Fails when a lock file no longer satisfies its .in file. uv keeps the versions already
# pinned in the output file, so new releases upstream do not count as drift.
lock-check: venv
	cp requirements.lock $(VENV)/lock-check.txt
	$(COMPILE) requirements.in -o $(VENV)/lock-check.txt
	diff <(grep -v '^#' requirements.lock) <(grep -v '^#' $(VENV)/lock-check.txt)
	cp requirements-dev.lock $(VENV)/lock-check-dev.txt
	$(COMPILE) requirements-dev.in -o $(VENV)/lock-check-dev.txt
	diff <(grep -v '^#' requirements-dev.lock) <(grep -v '^#' $(VENV)/lock-check-dev.txt)

bench: venv
	$(BIN)/python scripts/bench.py

sample-inbox: venv
	$(BIN)/python scripts/make_sample_inbox.py

clean:
	rm -rf data airflow_home .pytest_cache .ruff_cache
