# hdrpipe — two commands: `make demo` and `make test` (both create .venv themselves).
#
# The environment is locked: uv.lock pins every package (runtime + test extras) with
# hashes, and .venv is installed from it exactly (`uv sync --locked`), so a fresh
# machine months from now gets the versions CI passed with. uv itself is pinned below
# and installed into .venv-tools. "Updating dependencies" in README.md says how to
# refresh the lock.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
UV_VERSION := 0.13.9
TOOLS := .venv-tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hdrpipe-installed
DEMO_OUT ?= demo-out
FIXTURES := fixtures/generated

# uv uses this machine's Python, never one it downloads; .venv is the project venv.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: all demo test test-fast test-latest fixtures bench lint lock lock-upgrade lock-check clean browser

all: test

$(UV):
	@# Debian ships venv/ensurepip separately (python3-venv); install it when missing and we may.
	@$(PYTHON) -m venv $(TOOLS) 2>/dev/null || { \
	  echo "python venv module missing; installing python3-venv" >&2; \
	  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(TOOLS); }
	$(TOOLS)/bin/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# Exactly the locked versions; fails (instead of re-resolving) when pyproject.toml
# and uv.lock disagree: run `make lock` then.
# Byte-compiled at install: a process that may not write .pyc files
# (PYTHONDONTWRITEBYTECODE) would otherwise compile every import from source
# each time (~5 s of CPU for matplotlib alone, per QC report).
$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --extra test --compile-bytecode --python $(PYTHON)
	@touch $@

# After editing dependencies in pyproject.toml: re-resolve only what changed.
lock: $(UV)
	$(UV) lock --python $(PYTHON)

# Move every pin to the newest version pyproject.toml allows (then `make test`).
lock-upgrade: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

# Fails when pyproject.toml and uv.lock disagree (part of `make lint`).
lock-check: $(UV)
	$(UV) lock --check --python $(PYTHON)

# The tests make the small plates they need themselves (seeded, in pytest's tmp dirs);
# this writes the full test set (clean, every broken variant, every aspect) for people.
fixtures: $(STAMP)
	$(BIN)/python -m fixtures.generate --test-set $(FIXTURES)

test: $(STAMP) lint browser
	$(BIN)/python -m pytest -q

# The QC report is tested in a real browser: Debian's chromium, installed when
# missing and we may (root + apt-get). Without it those tests skip (and say why).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "chromium missing; installing Debian's chromium for the report tests" >&2; \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and cannot be installed: browser tests will skip" >&2; fi; }

# Quick loop while developing: skips the few slow end-to-end encodes.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# Early warning, not part of CI: the newest versions pyproject.toml allows, in a
# separate venv (.venv-latest), through lint and the whole suite. Prints one
# "test-latest: PASS|FAIL" line and the packages that differ from the lock.
test-latest: $(UV)
	@UV=$(UV) PYTHON=$(PYTHON) bash .ci/test-latest

demo: $(STAMP)
	$(BIN)/python -m fixtures.generate --demo $(FIXTURES)/demo
	$(BIN)/hdrpipe -v conform $(FIXTURES)/demo/plate.####.exr \
	  --deliver prores4444xq-pq1000 --deliver hevc-hdr10 --deliver h264-sdr-review --deliver exr-acescg \
	  --fps 23.976 --start-tc 01:00:00:00 --overwrite --handoff -o $(DEMO_OUT)
	@echo
	@echo "demo outputs are in $(CURDIR)/$(DEMO_OUT)/ (movies, EXR plates, manifest, QC report $(DEMO_OUT)/plate.qc.html, Nuke script, OTIO/EDL/FCPXML)"
	@echo "inspect one with: $(BIN)/hdrpipe probe $(DEMO_OUT)/plate_hevc-hdr10.mp4"

# The peer benchmark (bench/peers.py) times oiiotool + Debian's ffmpeg against hdrpipe.
bench: $(STAMP)
	@command -v ffmpeg >/dev/null || { apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null; }
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The lock agrees with pyproject.toml, then ruff (lint + format), mypy --strict and
# the import contracts ([tool.importlinter] in pyproject.toml: the layering of
# docs/design-notes.md); part of `make test`, so CI keeps them green.
lint: $(STAMP) lock-check
	$(BIN)/ruff check hdrpipe ocio_configs tests fixtures bench
	$(BIN)/ruff format --check hdrpipe ocio_configs tests fixtures bench
	$(BIN)/mypy hdrpipe ocio_configs
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) $(TOOLS) .venv-latest $(FIXTURES) $(DEMO_OUT) .pytest_cache .hypothesis
