# Two commands on a fresh machine: `make run` and `make test`. Each sets itself up.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench chaos histories screenshots install upgrade clean system-packages

# Installs exactly what the lock files hold: requirements-dev.lock for development and tests,
# requirements.lock (the same versions, without the dev tools) for the image. `make upgrade`
# refreshes both and runs the tests.
LOCK := requirements-dev.lock
SOURCES := *.py sequences workflows activities enrolling store api web devstack bench
UV_VERSION := $(shell sed -n 's/^uv==\([^ ]*\).*/\1/p' $(LOCK))
COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --no-header --quiet

# Bytecode is written at install, as the image does: where PYTHONDONTWRITEBYTECODE is set (CI
# machines, containers) every process would otherwise compile all it imports afresh, and a
# worker spent 8.4 s of CPU starting instead of 1.7 s.
$(STAMP): pyproject.toml requirements.lock $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --no-deps "uv==$(UV_VERSION)"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python --require-hashes --compile-bytecode $(LOCK)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(BIN)/python -m compileall -q $(SOURCES)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devstack.run

# What the tests need beyond Python: a real IMAP server (Debian's Dovecot) to read replies from,
# and a real browser (Debian's chromium, which Playwright drives; no browser is downloaded).
SYSTEM_PACKAGES := dovecot-imapd chromium
system-packages:
	@test -x /usr/sbin/dovecot && test -x /usr/bin/chromium || { \
		command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] || { \
			echo "The tests need Debian's $(SYSTEM_PACKAGES); install it (as root: apt-get install $(SYSTEM_PACKAGES))." >&2; exit 1; }; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(SYSTEM_PACKAGES) >/dev/null; }; }

test: $(STAMP) system-packages
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

bench: $(STAMP)
	$(BIN)/python -m bench.run

# The web app's main pages, as docs/screenshots/*.png, taken by its browser tests on the way.
screenshots: $(STAMP) system-packages
	mkdir -p docs/screenshots
	SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q \
		tests/integration/test_web_todo.py tests/integration/test_web_sequences.py \
		tests/integration/test_web_contacts.py tests/integration/test_web_canvas.py

# Kill the worker and restart Temporal while 500 enrollments run; fails if an email is lost or sent twice.
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos

# Newest versions that pyproject.toml allows, into both locks, then the whole suite against them.
upgrade: $(STAMP)
	$(COMPILE) --upgrade --extra dev -o $(LOCK)
	$(COMPILE) -c $(LOCK) -o requirements.lock
	$(MAKE) test

clean:
	rm -rf $(VENV) .data

# Re-record the workflow histories that replay tests guard, after a deliberate change to the
# commands workflows issue (RECORD_HISTORIES=1: only the scenarios not recorded yet).
RECORD_HISTORIES ?= all
histories: $(STAMP)
	RECORD_HISTORIES=$(RECORD_HISTORIES) $(BIN)/python -m pytest tests/integration/test_replay.py
