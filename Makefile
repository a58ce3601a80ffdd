# Two commands do all the set-up: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench validate clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "mlops-bot needs Python 3.11 or newer (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/mlops-bot run

test: $(STAMP)
	$(BIN)/ruff check bot tests bench
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot tests bench

validate: $(STAMP)
	$(BIN)/mlops-bot validate

bench: $(STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/slack_http.py
	$(BIN)/python bench/discord_interactions.py
	$(BIN)/python bench/suggestions.py
	$(BIN)/python bench/digest_fanout.py
	$(BIN)/python bench/links.py
	$(BIN)/python bench/footprint.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
