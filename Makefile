# hdrpipe — two commands: `make demo` and `make test` (both create .venv themselves).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hdrpipe-installed
DEMO_OUT ?= demo-out
FIXTURES := fixtures/generated

.PHONY: all demo test test-fast fixtures bench lint clean

all: test

$(BIN)/python:
	@# Debian ships venv/ensurepip separately (python3-venv); install it when missing and we may.
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python venv module missing; installing python3-venv" >&2; \
	  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

# The tests make the small plates they need themselves (seeded, in pytest's tmp dirs);
# this writes the full test set (clean, every broken variant, every aspect) for people.
fixtures: $(STAMP)
	$(BIN)/python -m fixtures.generate --test-set $(FIXTURES)

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

# Quick loop while developing: skips the few slow end-to-end encodes.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

demo: $(STAMP)
	$(BIN)/python -m fixtures.generate --demo $(FIXTURES)/demo
	$(BIN)/hdrpipe -v conform $(FIXTURES)/demo/plate.####.exr \
	  --deliver prores4444xq-pq1000 --deliver hevc-hdr10 --deliver h264-sdr-review --deliver exr-acescg \
	  --fps 23.976 --start-tc 01:00:00:00 --overwrite --handoff -o $(DEMO_OUT)
	@echo
	@echo "demo outputs are in $(CURDIR)/$(DEMO_OUT)/ (movies, EXR plates, manifest, Nuke script, OTIO/EDL/FCPXML)"
	@echo "inspect one with: $(BIN)/hdrpipe probe $(DEMO_OUT)/plate_hevc-hdr10.mp4"

# The peer benchmark (bench/peers.py) times oiiotool + Debian's ffmpeg against hdrpipe.
bench: $(STAMP)
	@command -v ffmpeg >/dev/null || { apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null; }
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# ruff (lint + format) and mypy --strict; part of `make test`, so CI keeps them green.
lint: $(STAMP)
	$(BIN)/ruff check hdrpipe tests fixtures bench
	$(BIN)/ruff format --check hdrpipe tests fixtures bench
	$(BIN)/mypy hdrpipe

clean:
	rm -rf $(VENV) $(FIXTURES) $(DEMO_OUT) .pytest_cache .hypothesis
