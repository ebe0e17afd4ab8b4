# The README's two commands, and a few more. No hidden steps: each target
# runs exactly what it says.
GO ?= go

.PHONY: dev test vet bench postgres-bin chromium axe build build-prod fuzz chaos screenshots

# FUZZTIME is how much each fuzz target runs in `make test` (and CI): a count
# of inputs, not a duration, because duration-bounded runs can end in a
# spurious "context deadline exceeded" (golang/go#75804).
FUZZTIME ?= 15000x

## dev: run the whole stack locally (private Postgres, embedded Temporal, capture adapters)
dev: postgres-bin
	$(GO) run ./cmd/recovery dev

# The race detector runs over every package whose tests do not link the
# embedded Temporal server. Those few (the end-to-end tests in cmd/recovery
# and the history recorder) run without it: the server alone takes about
# nine minutes to build with -race from a cold cache, and under -race it
# runs many times slower. Tests that need only Postgres use pgtest, which
# does not link the server, so they stay on the race list.
SERVER_PKG = go.temporal.io/server/temporal
ALL_PKGS = $(shell $(GO) list ./...)
SERVER_TESTS = $(filter $(ALL_PKGS),$(shell $(GO) list -test -f '{{if .ForTest}}{{.ForTest}}{{else}}{{.ImportPath}}{{end}}{{range .Deps}}{{if eq . "$(SERVER_PKG)"}} links-server{{end}}{{end}}' ./... | grep links-server | cut -d' ' -f1 | sort -u))
# deploy's tests render the Helm chart and load the Compose file, and build
# and run the production binary as a subprocess: nothing of theirs runs
# concurrently, and Helm and the Kubernetes types take minutes to build
# with -race. They run with the server's tests.
NORACE_TESTS = github.com/recoveryhq/recovery/deploy
RACE_TESTS = $(filter-out $(SERVER_TESTS) $(NORACE_TESTS),$(ALL_PKGS))

## test: every test: unit, workflow, integration (real Postgres + embedded Temporal) and end to end
test: postgres-bin chromium axe build-prod
	$(GO) vet ./...
	$(GO) test -count=1 -race -timeout 15m $(RACE_TESTS)
	$(GO) test -count=1 -timeout 25m $(SERVER_TESTS) $(NORACE_TESTS)
	$(MAKE) --no-print-directory fuzz

## fuzz: run every fuzz target (parsers and signature checks) for FUZZTIME each
fuzz:
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' .); do \
	  for f in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "fuzz $$(dirname $$file) $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) ./$$(dirname $$file) >/tmp/recovery-fuzz.log 2>&1 || { cat /tmp/recovery-fuzz.log; exit 1; }; \
	  done; \
	done

## screenshots: a full-page picture of every console page on a working day's data, into docs/console (shown in docs/console.md)
screenshots: postgres-bin chromium axe
	RECOVERY_SCREENSHOTS=docs/console $(GO) test -count=1 -run '^TestEveryPageRenders$$' ./internal/console/browsertest

## chaos: the fault suite, RUNS runs from SEED, the kinds of fault rotating
RUNS ?= 12
SEED ?= 1
chaos: postgres-bin
	CHAOS_RUNS=$(RUNS) CHAOS_SEED=$(SEED) $(GO) test -count=1 -timeout 0 -run TestChaos -v ./internal/chaos | grep -E '^(chaos:|    run_test|--- |FAIL|ok)'

## bench: throughput ratios against raw baselines, measured in one run
bench: postgres-bin
	$(GO) run ./cmd/recovery bench

build:
	$(GO) build -o bin/recovery ./cmd/recovery

## build-prod: the production binary as the Dockerfile builds it (no embedded Temporal server or Postgres, static), so that it cannot rot
build-prod:
	CGO_ENABLED=0 $(GO) build -tags noembed -trimpath -ldflags='-s -w' -o /dev/null ./cmd/recovery
	$(GO) vet -tags noembed ./cmd/recovery

# postgres-bin installs the PostgreSQL server binaries when neither PATH nor
# /usr/lib/postgresql has them (Debian; needs root).
## chromium: the browser the console's tests drive (Debian's package, installed when missing)
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1 || { \
	  echo "Chromium not found; installing Debian's chromium package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# axe-core, the accessibility checker the console's browser tests run in
# each page: fetched once from the npm registry, checked against its
# published sha512, kept under .cache/ (not in the repository).
AXE_VERSION = 4.14.1
AXE_SHA512 = FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==
AXE = .cache/axe-core-$(AXE_VERSION)/axe.min.js

## axe: fetch axe-core for the console's accessibility checks
axe: $(AXE)

$(AXE):
	@mkdir -p $(dir $@)
	@echo "fetching axe-core $(AXE_VERSION) from the npm registry"
	@curl -fsSL https://registry.npmjs.org/axe-core/-/axe-core-$(AXE_VERSION).tgz -o $(dir $@)axe.tgz
	@test "$$(openssl dgst -sha512 -binary $(dir $@)axe.tgz | base64 -w0)" = "$(AXE_SHA512)" || { echo "axe-core: checksum mismatch"; rm -f $(dir $@)axe.tgz; exit 1; }
	@tar -xzf $(dir $@)axe.tgz -C $(dir $@) --strip-components=1 package/axe.min.js
	@rm -f $(dir $@)axe.tgz

postgres-bin:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "PostgreSQL server binaries not found; installing Debian's postgresql package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
