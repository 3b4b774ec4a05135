# bgpmesh-agent: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= release
BIN := .build/$(CONFIG)/bgpmesh-agent

.PHONY: all deps revision build test unit-test bench bench-http fuzz demo demo-down clean help

all: build

help:
	@echo "make demo        install packages, build, start the demo, print where to look"
	@echo "make demo-down   stop the demo"
	@echo "make test        every test this machine can run (unit, end-to-end, lab integration)"
	@echo "make build       release build of bgpmesh-agent"
	@echo "make bench       every benchmark (bench-http, ...)"
	@echo "make fuzz        fuzz the HTTP request parser for FUZZ_SECONDS (default 60)"

# Debian packages the build, the tests and the demo need (idempotent).
deps:
	@bash scripts/install-deps.sh

# Stamps the git revision into bgpmesh_build_info; rewritten only when it changes.
revision:
	@rev=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	if ! git diff --quiet HEAD 2>/dev/null; then rev="$$rev-dirty"; fi; \
	line="#define BGPMESH_REVISION \"$$rev\""; \
	if [ "$$(cat Sources/CBuildInfo/revision.h 2>/dev/null)" != "$$line" ]; then echo "$$line" > Sources/CBuildInfo/revision.h; fi

build: deps revision
	$(SWIFT) build -c release

test: deps revision
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

bench: bench-http

bench-http: deps revision
	$(SWIFT) build -c release --product bgpmesh-agent
	bash scripts/bench-http.sh

fuzz:
	bash scripts/fuzz-http.sh

demo: build
	bash scripts/demo.sh

demo-down:
	bash scripts/demo.sh down

clean:
	rm -rf .build .build-* Sources/CBuildInfo/revision.h
