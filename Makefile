# The README's commands. Everything installs into .venv on first use.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi:app

.PHONY: run test test-embedded test-shifted e2e unit lint bench bench-smoke bench-scale install install-test translations chromium wrk worker clean messages

$(BIN)/activate:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Parley needs Python 3.11 ($(PY) not found)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d webapp/translations >/dev/null

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask run --host 127.0.0.1 --port 5000

worker: install
	$(BIN)/python -m worker

# $(call need_package,COMMAND,what needs it): Debian's package when root, else say so.
define need_package
	@if command -v $(1) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing $(1) from Debian's packages ($(2) need it)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
	else \
		echo "Parley's $(2) need $(1): install it (Debian: sudo apt-get install $(1)) and run make again."; exit 1; \
	fi
endef

chromium:
	$(call need_package,chromium,browser tests)

wrk:
	$(call need_package,wrk,benchmarks)

test: install-test chromium
	$(BIN)/python -m pytest

# The unit and integration tests once more on the embedded default, SQLite (what `make run`
# uses, and a SQL dialect of its own): CI runs everything else on PostgreSQL.
test-embedded: install-test
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest -m "not e2e" -q

# The unit and integration tests once more with the tests' "now" moved to an edge
# (tests/clock.py): Sunday 23:45 in New York, the spring-forward or the fall-back day, or
# New Year's Eve 23:50, a different one each day; PARLEY_TEST_NOW=... chooses.
test-shifted: install-test
	PARLEY_TEST_NOW="$${PARLEY_TEST_NOW:-$$($(BIN)/python -m tests.clock)}" \
		$(BIN)/python -m pytest -m "not e2e" -q

unit: install-test
	$(BIN)/python -m pytest -m "not e2e"

e2e: install-test chromium
	$(BIN)/python -m pytest -m e2e

lint: install-test
	$(BIN)/ruff check webapp worker tests e2e bench

# Benchmarks (docs/PERFORMANCE.md): PostgreSQL and Redis on loopback, never part of `make test`.
bench: install-test chromium wrk
	$(BIN)/python -m bench.run

bench-smoke: install-test chromium wrk
	$(BIN)/python -m bench.run --smoke

bench-scale: install-test wrk
	$(BIN)/python -m bench.run --parts scale

clean:
	rm -rf $(VENV) instance e2e/artifacts .pytest_cache

messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o webapp/translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching
