# Loom's build, test, benchmark and fuzz entry points. `make test` is what
# CI runs (through .ci/run); it installs what its suites need first.

GO        ?= go
BIN       ?= bin/loom
PREFIX    ?= $(HOME)/.local
FUZZTIME  ?= 30s
MUTANTS_JOBS ?= 2
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)

.PHONY: build install test deps lint bench fuzz mutants clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/loom

install:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(PREFIX)/bin/loom ./cmd/loom

# Unit, fuzz-seed and end-to-end tests; then each third-party client suite
# (test/e2e/NAME/run.sh, installed by test/e2e/NAME/install.sh through
# `make deps`) drives the built binary. The fuzz targets' seed corpora
# (including every failure the fuzzer ever found, under testdata/fuzz) run
# as ordinary tests here.
test: deps lint build
	$(GO) test -count=1 ./...
	@for s in test/e2e/*/run.sh; do \
		[ -f "$$s" ] || continue; \
		echo "== $$s"; LOOM=$(CURDIR)/$(BIN) bash "$$s" || exit 1; \
	done

# What the tests need on a Debian machine: apt packages and each client
# suite's pinned tools. Quick when everything is installed.
deps:
	@bash test/install.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Benchmarks against the peer tools, run side by side on the same input.
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 20x ./workspace/
	$(GO) test -run '^$$' -bench 'BenchmarkDocumentEditOutline' ./analysis/
	$(GO) test -run '^$$' -bench 'BenchmarkAgentOverhead' -benchtime 5x ./agent/
	$(GO) test -run '^$$' -bench 'BenchmarkDocumentSymbolAfterEdit' -benchtime 300x ./lsp/
	@for s in bench/*.sh; do echo "== $$s"; LOOM=$(CURDIR)/$(BIN) bash "$$s" || exit 1; done

# Longer fuzzing of the diff parser, edit_file, and the readers of the
# protocol streams (LSP frames; the lines of MCP and ACP).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzApplyPatch$$' -fuzztime $(FUZZTIME) ./workspace/
	$(GO) test -run '^$$' -fuzz '^FuzzReplace$$' -fuzztime $(FUZZTIME) ./tools/
	$(GO) test -run '^$$' -fuzz '^FuzzLSPFraming$$' -fuzztime $(FUZZTIME) ./lsp/
	$(GO) test -run '^$$' -fuzz '^FuzzLineReader$$' -fuzztime $(FUZZTIME) ./internal/jsonrpcline/

# Mutation tests: each mutant of test/mutants/mutants.txt breaks one
# critical line (confinement, conflict check, rollback, positions, ignore
# rules, retry classification, limits, policy decisions) in an overlay, and
# the tests it names must fail. Lists the survivors and fails if any; run it
# before landing changes to those lines (about 6 minutes on 2 cores).
mutants:
	$(GO) run ./test/mutants -j $(MUTANTS_JOBS)

clean:
	rm -rf bin
