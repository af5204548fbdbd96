# The two commands: `make demo` (main job on built-in data) and `make test` (the whole default suite).
# Both set up .venv from nothing first.
BIN := .venv/bin
STAMP := .venv/.installed-stamp

.PHONY: setup demo test lint bench docs docs-check clean

$(STAMP): pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/weightspace demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

bench: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow or gpu"

docs: $(STAMP)  # the documentation site, offline, into site/ (strict: a broken link or reference fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-check: $(STAMP)  # the README's numbers against reruns and the stored results (about 5 minutes)
	$(BIN)/python scripts/docs_check.py

clean:
	rm -rf .venv runs site
