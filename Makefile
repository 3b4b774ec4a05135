# bgpmesh-agent: the two commands are `make demo` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
# The Swift runtime is linked statically: one self-contained binary, and about
# 5 MiB less resident memory than loading the runtime as shared libraries.
RELEASE := -c release --static-swift-stdlib

.PHONY: all deps revision build test bench bench-http bench-lab bench-bird bench-tinc bench-keys bench-rotate bench-idle bench-scale chaos pages fuzz fuzz-http fuzz-bird fuzz-tinc fuzz-trust fuzz-alerts demo demo-down clean help

all: build

help:
	@echo "make demo        install packages, build, start the demo, print where to look"
	@echo "make demo-down   stop the demo"
	@echo "make test        every test this machine can run (static checks, unit, end-to-end, lab integration)"
	@echo "make build       release build of bgpmesh-agent"
	@echo "make bench       every benchmark (bench-http, bench-bird, bench-tinc, bench-lab, bench-keys, bench-rotate, bench-idle)"
	@echo "make bench-idle  the agent idle against real BIRD, tincd and etcd: RSS, threads, CPU, wakeups vs bird_exporter"
	@echo "make bench-scale the lab at 16, 32 and 64 nodes, full mesh and 2 route reflectors (about 20 min; BENCH_SCALE_QUICK=1 for a check)"
	@echo "make chaos       a 4-node lab, bgpmesh-lab chaos for CHAOS_DURATION (10m) with CHAOS_SEED (1), then down"
	@echo "make pages       a 4-node lab, bgpmesh-lab pages over the fault catalogue (PAGES_FAULTS, all), then down"
	@echo "make fuzz        every fuzzer below, FUZZ_SECONDS each (default 60); a crash fails it"
	@echo "make fuzz-http   the HTTP request parser"
	@echo "make fuzz-bird   the BIRD reply framer and parsers"
	@echo "make fuzz-tinc   the tinc log, dump, config and host file parsers"
	@echo "make fuzz-trust  a nodes/ value: record check, host file, signature, trust decision; IPPrefix"
	@echo "make fuzz-alerts the Alertmanager webhook payload and its mapping to repairs"

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
	$(SWIFT) build $(RELEASE) --product bgpmesh-agent
	$(SWIFT) build $(RELEASE) --product bgpmesh-lab

test: deps revision
	$(SWIFT) build --build-tests
	python3 scripts/check-imports.py
	python3 scripts/check-docs.py
	bash scripts/check-monitoring.sh
	bash scripts/check-deploy.sh
	$(SWIFT) test --skip-build --disable-swift-testing

bench: bench-http bench-bird bench-tinc bench-lab bench-keys bench-rotate bench-idle

bench-http: build
	bash scripts/bench-http.sh

bench-bird: build
	bash scripts/bench-bird.sh

bench-tinc: build
	bash scripts/bench-tinc.sh

bench-lab: build
	bash lab/bench-lab.sh

bench-keys: build
	bash lab/bench-keys.sh

bench-rotate: build
	bash lab/bench-rotate.sh

bench-idle: build
	bash scripts/bench-idle.sh

# Not part of `make bench`: it holds the machine's one lab for about 20 minutes.
bench-scale: build
	bash lab/bench-scale.sh

# Random faults healed and checked (docs/lab.md#chaos); the lab goes down at the end, also on failure.
CHAOS_DURATION ?= 10m
CHAOS_SEED ?= 1
CHAOS_NODES ?= 4
CHAOS_KEYS ?= agent
chaos: build
	@lab=.build/release/bgpmesh-lab; trap '$$lab down >/dev/null' EXIT; \
	$$lab up --nodes $(CHAOS_NODES) --keys $(CHAOS_KEYS) && $$lab wait converged --timeout 120 --quiet && \
	$$lab chaos --duration $(CHAOS_DURATION) --seed $(CHAOS_SEED) --json .lab/chaos-seed$(CHAOS_SEED).json

# Pages per fault through the repo's rules and routes (docs/lab.md#pages); 20-40 minutes for the
# whole catalogue. The lab goes down at the end, also on failure.
PAGES_FAULTS ?= all
PAGES_HOLD ?= 5m
PAGES_NODES ?= 4
pages: build
	@lab=.build/release/bgpmesh-lab; trap '$$lab down >/dev/null' EXIT; \
	$$lab up --nodes $(PAGES_NODES) --keys agent && $$lab wait converged --timeout 120 --quiet && \
	$$lab pages --faults $(PAGES_FAULTS) --hold $(PAGES_HOLD) --json .lab/pages.json

fuzz: fuzz-http fuzz-bird fuzz-tinc fuzz-trust fuzz-alerts

fuzz-http:
	bash scripts/fuzz-http.sh

fuzz-bird:
	bash scripts/fuzz-bird.sh

fuzz-tinc:
	bash scripts/fuzz-tinc.sh

fuzz-trust:
	bash scripts/fuzz-trust.sh

fuzz-alerts:
	bash scripts/fuzz-alerts.sh

# The lab needs root (network namespaces); demo.sh installs packages and builds.
demo: revision
	bash lab/demo.sh

demo-down:
	bash lab/demo.sh down

clean:
	rm -rf .build .build-* Sources/CBuildInfo/revision.h
